package grammar

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
)

// Value is what one word (or, for a Rest, the rest of the line) bound.
type Value struct {
	Text string // as typed (a keyword: in full)
	// V is the value read: netip.Addr, netip.Prefix, uint32, float64
	// (Seconds), [3]uint32 (LargeCommunity), a community's uint32, or the
	// text itself.
	V any
}

// Args are the values a parsed line bound, by name.
type Args struct {
	m map[string][]Value
}

// Has reports whether name was bound (an optional part was given).
func (a Args) Has(name string) bool { return len(a.m[name]) > 0 }

// Text returns name's first value as typed, or "".
func (a Args) Text(name string) string {
	if v := a.m[name]; len(v) > 0 {
		return v[0].Text
	}
	return ""
}

// All returns every value bound under name, in order (a List's).
func (a Args) All(name string) []Value { return a.m[name] }

// Addr returns name's address, or the zero Addr.
func (a Args) Addr(name string) netip.Addr {
	v, _ := a.first(name).(netip.Addr)
	return v
}

// Prefix returns name's prefix, or the zero Prefix.
func (a Args) Prefix(name string) netip.Prefix {
	v, _ := a.first(name).(netip.Prefix)
	return v
}

// Uint32 returns name's number and whether it was given.
func (a Args) Uint32(name string) (uint32, bool) {
	v, ok := a.first(name).(uint32)
	return v, ok
}

// Float returns name's number (Seconds) and whether it was given.
func (a Args) Float(name string) (float64, bool) {
	v, ok := a.first(name).(float64)
	return v, ok
}

func (a Args) first(name string) any {
	if v := a.m[name]; len(v) > 0 {
		return v[0].V
	}
	return nil
}

// Parsed is a line the grammar accepted: which command, with what.
type Parsed struct {
	Entry *Entry
	Args  Args
}

// Parse reads one command line. An empty line gives nil and no error. A
// word no command accepts at its place is an error that lists the words
// accepted there; so is a line that ends too early. When two entries
// accept the whole line, the first in the table wins.
func (g *Grammar) Parse(lab *Lab, line string) (*Parsed, error) {
	toks := tokenize(line)
	if len(toks) == 0 {
		return nil, nil
	}
	r := &run{g: g, lab: lab, line: line}
	states := []state{{node: g.start}}
	for i, tok := range toks {
		waiting, ends := r.closure(states)
		next, serr := r.step(waiting, tok)
		if serr != nil {
			return nil, r.wordError(toks, i, waiting, ends, serr)
		}
		states = next
	}
	waiting, ends := r.closure(states)
	if len(ends) == 0 {
		return nil, fmt.Errorf("incomplete command %q: expected %s%s", strings.TrimSpace(line), r.expected(waiting, false), r.hint(waiting))
	}
	s := ends[0]
	p := &Parsed{Entry: &g.entries[g.nodes[s.node].entry], Args: Args{m: map[string][]Value{}}}
	var bs []*binding
	for b := s.b; b != nil; b = b.prev {
		if !strings.HasPrefix(b.name, "\x00") {
			bs = append(bs, b)
		}
	}
	for i := len(bs) - 1; i >= 0; i-- {
		p.Args.m[bs[i].name] = append(p.Args.m[bs[i].name], bs[i].val)
	}
	return p, nil
}

// wordError explains why word i was not accepted.
func (r *run) wordError(toks []token, i int, waiting, ends []state, serr *stepError) error {
	w := toks[i].text
	before := strings.TrimSpace(r.line[:toks[i].start])
	if len(serr.ambiguous) > 0 {
		return fmt.Errorf("ambiguous %q after %q: it may be %s", w, before, orList(serr.ambiguous))
	}
	if i == 0 {
		return fmt.Errorf("unknown command: %s (try `help`)", w)
	}
	exp := r.expected(waiting, len(ends) > 0)
	why := ""
	if len(serr.rejected) == 1 {
		why = fmt.Sprintf(" (%s: %v)", w, serr.rejected[0])
	}
	return fmt.Errorf("unexpected %q after %q: expected %s%s%s", w, before, exp, why, r.hint(waiting))
}

// expected lists what the waiting states accept: keywords first, sorted,
// then values with what they are, in the table's order; and the end of
// the line when the line may end there.
func (r *run) expected(waiting []state, end bool) string {
	var words, values []string
	for _, s := range waiting {
		e := r.g.nodes[s.node].elem
		switch e.form {
		case fKeyword, fPunct:
			for _, w := range e.words {
				if !slices.Contains(words, w.Text) {
					words = append(words, w.Text)
				}
			}
		case fValue, fRest:
			v := e.label + " (" + kinds[e.kind].desc + ")"
			if !slices.Contains(values, v) {
				values = append(values, v)
			}
		}
	}
	slices.Sort(words)
	all := append(words, values...)
	if end {
		all = append(all, "the end of the line")
	}
	return orList(all)
}

// hint names the help topic of the commands still possible, when they
// share one: ` (help show)`.
func (r *run) hint(waiting []state) string {
	topic := ""
	for i, s := range waiting {
		t := r.g.topicOf(r.g.nodes[s.node].entry)
		if t == "" || (i > 0 && t != topic) {
			return ""
		}
		topic = t
	}
	if topic == "" {
		return ""
	}
	return " (help " + topic + ")"
}

// topicOf is what `help` calls entry i: its group, or its first keyword.
func (g *Grammar) topicOf(i int) string {
	if i < 0 {
		return ""
	}
	e := &g.entries[i]
	if e.Group != "" {
		return e.Group
	}
	for j := range e.Syntax {
		if e.Syntax[j].form == fKeyword {
			return e.Syntax[j].words[0].Text
		}
		if e.Syntax[j].form != fValue {
			break
		}
	}
	return ""
}

func orList(items []string) string {
	switch len(items) {
	case 0:
		return "nothing"
	case 1:
		return items[0]
	}
	return strings.Join(items[:len(items)-1], ", ") + " or " + items[len(items)-1]
}
