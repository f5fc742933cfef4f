package bgplog

import (
	"fmt"
	"testing"

	"lab/speaker/clock"
)

// The log ring keeps the last logRingLen lines, oldest first, growing as
// lines come.
func TestLogRing(t *testing.T) {
	l := New(nil, clock.System{})
	for i := range 3 {
		l.Printf("line %d", i)
	}
	if got := l.Lines(); len(got) != 3 || cap(l.ring) > 16 {
		t.Fatalf("3 lines: got %d, ring capacity %d", len(got), cap(l.ring))
	}
	for i := 3; i < logRingLen+5; i++ {
		l.Printf("line %d", i)
	}
	got := l.Lines()
	if len(got) != logRingLen {
		t.Fatalf("%d lines, want %d", len(got), logRingLen)
	}
	for i, line := range got {
		if want := fmt.Sprintf("BGP: line %d", i+5); line[len(line)-len(want):] != want {
			t.Fatalf("line %d = %q, want it to end with %q", i, line, want)
		}
	}
}
