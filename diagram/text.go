package diagram

// Text widths are estimated, not measured: the layout runs on a server with
// no fonts, and the browser draws the text with whatever sans-serif font it
// has. The table below holds DejaVu Sans advance widths (in em), the widest
// of the usual fallbacks, so a label drawn in Helvetica, Arial or DejaVu
// always fits the box made for it.
var charEm = [128]float64{
	' ': 0.318, '!': 0.401, '"': 0.460, '#': 0.838, '$': 0.636, '%': 0.950, '&': 0.780, '\'': 0.275,
	'(': 0.390, ')': 0.390, '*': 0.500, '+': 0.838, ',': 0.318, '-': 0.361, '.': 0.318, '/': 0.337,
	'0': 0.636, '1': 0.636, '2': 0.636, '3': 0.636, '4': 0.636, '5': 0.636, '6': 0.636, '7': 0.636,
	'8': 0.636, '9': 0.636, ':': 0.337, ';': 0.337, '<': 0.838, '=': 0.838, '>': 0.838, '?': 0.531,
	'@': 1.000, 'A': 0.684, 'B': 0.686, 'C': 0.698, 'D': 0.770, 'E': 0.632, 'F': 0.575, 'G': 0.775,
	'H': 0.752, 'I': 0.295, 'J': 0.295, 'K': 0.656, 'L': 0.557, 'M': 0.863, 'N': 0.748, 'O': 0.787,
	'P': 0.603, 'Q': 0.787, 'R': 0.695, 'S': 0.635, 'T': 0.611, 'U': 0.732, 'V': 0.684, 'W': 0.989,
	'X': 0.685, 'Y': 0.611, 'Z': 0.685, '[': 0.390, '\\': 0.337, ']': 0.390, '^': 0.838, '_': 0.500,
	'`': 0.500, 'a': 0.613, 'b': 0.635, 'c': 0.550, 'd': 0.635, 'e': 0.615, 'f': 0.352, 'g': 0.635,
	'h': 0.634, 'i': 0.278, 'j': 0.278, 'k': 0.579, 'l': 0.278, 'm': 0.974, 'n': 0.634, 'o': 0.612,
	'p': 0.635, 'q': 0.635, 'r': 0.411, 's': 0.521, 't': 0.392, 'u': 0.634, 'v': 0.592, 'w': 0.818,
	'x': 0.592, 'y': 0.592, 'z': 0.525, '{': 0.636, '|': 0.337, '}': 0.636, '~': 0.838,
}

// textWidth estimates the width in pixels of s at size px; bold text is
// taken as 10% wider.
func textWidth(s string, px float64, bold bool) float64 {
	em := 0.0
	for _, r := range s {
		w := 1.0 // wide scripts, symbols: a full em
		if r < 128 && charEm[r] > 0 {
			w = charEm[r]
		}
		em += w
	}
	if bold {
		em *= 1.1
	}
	return em * px
}
