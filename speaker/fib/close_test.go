package fib

import (
	"errors"
	"testing"

	"lab/speaker/internal/nstest"
)

// A Sync after Close (a `link` command racing the lab's teardown) says so,
// rather than reading through a closed handle, which would read the
// caller's namespace instead of the tracked one.
func TestTrackerSyncAfterClose(t *testing.T) {
	nstest.NeedRoot(t)
	a, _, _ := pair(t)
	tr, err := NewTracker(a.Path)
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.Sync(); err != nil {
		t.Fatalf("Sync before Close: %v", err)
	}
	if err := tr.Close(); err != nil {
		t.Fatal(err)
	}
	if err := tr.Sync(); !errors.Is(err, ErrClosed) {
		t.Errorf("Sync after Close: %v, want ErrClosed", err)
	}
}
