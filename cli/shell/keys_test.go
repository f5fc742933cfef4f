package shell

import (
	"errors"
	"testing"

	prompt "github.com/c-bata/go-prompt"
	"github.com/google/go-cmp/cmp"
)

// fakeTerminal returns scripted reads, then EAGAIN as a non-blocking
// terminal with nothing to read does.
type fakeTerminal struct {
	reads  []string
	setups int
}

var errAgain = errors.New("EAGAIN")

func (f *fakeTerminal) Setup() error                { f.setups++; return nil }
func (f *fakeTerminal) TearDown() error             { return nil }
func (f *fakeTerminal) GetWinSize() *prompt.WinSize { return &prompt.WinSize{Row: 40, Col: 120} }
func (f *fakeTerminal) Read() ([]byte, error) {
	if len(f.reads) == 0 {
		return []byte{}, errAgain
	}
	r := f.reads[0]
	f.reads = f.reads[1:]
	return []byte(r), nil
}

// readKeys reads keys as go-prompt's reading goroutine does (an error:
// nothing now, try again), until two reads in a row give nothing.
func readKeys(t *testing.T, k *keys) []string {
	t.Helper()
	var out []string
	idle := 0
	for range 100 {
		b, err := k.Read()
		if err != nil {
			if idle++; idle == 2 {
				return out
			}
			continue
		}
		idle = 0
		out = append(out, string(b))
	}
	t.Fatal("keys never ran out")
	return nil
}

// A read is split into keys; after an Enter nothing comes until the next
// prompt, which gets the rest of the read first, then what came after.
func TestKeysSplitReads(t *testing.T) {
	term := &fakeTerminal{reads: []string{"nodes\rpingall\rh1 traceroute6 h2\r", "lin", "ks\r"}}
	k := &keys{in: term}
	if err := k.Setup(); err != nil {
		t.Fatal(err)
	}
	var prompts [][]string
	for range 5 {
		prompts = append(prompts, readKeys(t, k))
		k.Setup()
	}
	want := [][]string{
		{"nodes", "\r"},
		{"pingall", "\r"},
		{"h1 traceroute6 h2", "\r"},
		{"lin", "ks", "\r"},
		nil,
	}
	if diff := cmp.Diff(want, prompts); diff != "" {
		t.Errorf("keys per prompt (-want +got):\n%s", diff)
	}
	if term.setups != 6 {
		t.Errorf("the terminal was set up %d times, want 6", term.setups)
	}
}

func TestKeyLen(t *testing.T) {
	for _, c := range []struct {
		in   string
		want []string
	}{
		{"ab\x1b[Acd\x1b[3~\x7f\t\n", []string{"ab", "\x1b[A", "cd", "\x1b[3~", "\x7f", "\t", "\n"}},
		{"\x1b[1;5C\x1bOA\x1b[[A\x1b", []string{"\x1b[1;5C", "\x1bOA", "\x1b[[A", "\x1b"}},
		{"\x1b\rx", []string{"\x1b", "\r", "x"}},
		{"\x03\x04", []string{"\x03", "\x04"}},
		{"héllo wörld", []string{"héllo wörld"}},
	} {
		var got []string
		for b := []byte(c.in); len(b) > 0; {
			n := keyLen(b)
			got = append(got, string(b[:n]))
			b = b[n:]
		}
		if diff := cmp.Diff(c.want, got); diff != "" {
			t.Errorf("keys of %q (-want +got):\n%s", c.in, diff)
		}
	}
}

// A character cut in two by the end of a read is given whole.
func TestKeysKeepCutCharacters(t *testing.T) {
	k := &keys{in: &fakeTerminal{reads: []string{"ab\xc3", "\xa9c", "\xe2\x82", "\xac"}}}
	got := readKeys(t, k)
	if diff := cmp.Diff([]string{"ab", "éc", "€"}, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	// Cut and never completed: given as it is, not held for ever.
	k = &keys{in: &fakeTerminal{reads: []string{"\xc3"}}}
	if got := readKeys(t, k); len(got) != 1 || got[0] != "\xc3" {
		t.Errorf("a lone cut character: %q", got)
	}
}

// The completion menu: on Tab, while a word is typed, and while moving in
// it once open; not on an empty prompt nor after other keys.
func TestShowMenu(t *testing.T) {
	for _, c := range []struct {
		key  prompt.Key
		word string
		open bool
		want bool
	}{
		{prompt.Tab, "", false, true},
		{prompt.BackTab, "", false, true},
		{prompt.NotDefined, "pi", false, true},
		{prompt.NotDefined, "", false, false}, // a space after a word
		{prompt.Backspace, "p", true, true},
		{prompt.Backspace, "", true, false},
		{prompt.Down, "", true, true},
		{prompt.Down, "", false, false},
		{prompt.Up, "pingall", false, false}, // history, not a menu
		{prompt.Left, "pi", true, false},
		{prompt.Enter, "pingall", true, false},
		{prompt.ControlC, "", true, false},
		{prompt.Escape, "", true, false}, // go-prompt's reset after Enter
	} {
		if got := showMenu(c.key, c.word, c.open); got != c.want {
			t.Errorf("showMenu(%v, %q, open %v) = %v, want %v", c.key, c.word, c.open, got, c.want)
		}
	}
	// A prompt whose last key typed nothing shows no menu.
	s := &Shell{Info: completionInfo()}
	if got := s.complete(*document("pi")); got != nil {
		t.Errorf("the menu shows after a key that typed nothing: %v", got)
	}
}
