package policy

import (
	"encoding/binary"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"lab/speaker/rib"
	"lab/speaker/ribwire"
)

// FuzzASPathRegexp checks that any expression either compiles to the
// POSIX expression with every `_` replaced, or fails as that one does,
// and that a compiled one can be matched against a rendered path.
func FuzzASPathRegexp(f *testing.F) {
	for _, s := range []string{"_65001_", "^65001_", "_65001$", "^$", ".*", "^(1|2)_[0-9]+$", `\{3,4\}`, "(", "_[_", `\d`, "a{2,1}"} {
		f.Add(s)
	}
	paths := []string{"", "1", "65001 2 {3,4}", "(65001) 2 3", "2 [3,4] 5", "4200000000 65001"}
	f.Fuzz(func(t *testing.T, s string) {
		re, err := ASPathRegexp(s)
		want, werr := regexp.CompilePOSIX(strings.ReplaceAll(s, "_", separator))
		if s != "" && (err == nil) != (werr == nil) {
			t.Fatalf("%q: ASPathRegexp error %v, POSIX translation error %v", s, err, werr)
		}
		if err != nil {
			if !strings.Contains(err.Error(), strconv.Quote(s)) && s != "" {
				t.Fatalf("%q: the error %q does not name the expression", s, err)
			}
			return
		}
		// The list's literal check must not change what matches.
		l := &asPathList{entries: []asPathEntry{{re: re, lit: requiredLiteral(s)}}}
		for _, p := range paths {
			if got := l.permits([]byte(p)); got != want.MatchString(p) {
				t.Fatalf("%q on %q: %v, want %v", s, p, got, !got)
			}
		}
	})
}

// FuzzSeparator checks what `_` means on any path: `_N_` finds N in any
// segment, `^N_` only as the first AS of a leading AS_SEQUENCE, `_N$` only
// as the last of a trailing one. Confederation sets are left out: FRR
// renders them "[5,6]" and its `_` knows no square bracket, so `_5_` does
// not find 5 there (in FRR either).
func FuzzSeparator(f *testing.F) {
	f.Add([]byte{2, 2, 0, 0, 0, 7, 0, 0, 0, 8, 1, 1, 0, 0, 0, 9}, uint32(7))
	f.Add([]byte{3, 1, 0, 0, 0, 77, 2, 1, 0, 0, 0, 7}, uint32(7))
	f.Fuzz(func(t *testing.T, data []byte, n uint32) {
		// data: segments of (type 1..3, count 1..8, count big-endian ASNs).
		var path []rib.Segment
		for len(data) >= 2 {
			typ, cnt := data[0]%3+1, int(data[1]%8)+1
			data = data[2:]
			var asns []uint32
			for range cnt {
				if len(data) < 4 {
					break
				}
				asns = append(asns, binary.BigEndian.Uint32(data)%100)
				data = data[4:]
			}
			if len(asns) == 0 {
				break
			}
			path = append(path, rib.Segment{Type: typ, ASNs: asns})
		}
		n %= 100
		a := &rib.Attrs{ASPath: path}
		text := ribwire.ASPathString(path)
		anywhere := slices.ContainsFunc(path, func(s rib.Segment) bool { return slices.Contains(s.ASNs, n) })
		first := len(path) > 0 && path[0].Type == rib.SegSequence && path[0].ASNs[0] == n
		last := len(path) > 0 && path[len(path)-1].Type == rib.SegSequence && path[len(path)-1].ASNs[len(path[len(path)-1].ASNs)-1] == n
		ns := strconv.FormatUint(uint64(n), 10)
		for _, tt := range []struct {
			re   string
			want bool
		}{{"_" + ns + "_", anywhere}, {"^" + ns + "_", first}, {"_" + ns + "$", last}} {
			ps, err := Compile(Config{
				ASPathLists: []ASPathList{{Name: "A", Entries: []ASPathEntry{{Regex: tt.re}}}},
				Policies:    []Policy{{Name: "P", Entries: []Entry{{Match: Match{ASPathList: "A"}}}}},
			})
			if err != nil {
				t.Fatal(err)
			}
			m, _ := ps.Lookup("P")
			if _, got, _ := m.Apply(Route{Attrs: a}); got != tt.want {
				t.Fatalf("%q on %q: %v, want %v", tt.re, text, got, tt.want)
			}
		}
	})
}
