package speaker

import (
	"context"
	"testing"
	"time"

	"lab/speaker/rib"
	"lab/speaker/wire"
)

// The speakers of a process share one Interner, which outlives them: a
// speaker that closes gives back every reference it held (its tables, its
// Adj-RIBs-Out, the updates still queued), so that a lab that stops leaves
// no attribute set behind.
func TestCloseReleasesSharedSets(t *testing.T) {
	before := rib.Shared().Len()
	rs := seedLab(t)
	startAll(t, rs)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, r := range rs {
		err := r.sp.WaitFor(ctx, func(s *Snapshot) bool {
			return len(bestPaths(s.Table(wire.IPv6Unicast))) == 4 && len(bestPaths(s.Table(wire.IPv4Unicast))) == 4
		})
		if err != nil {
			t.Fatalf("%s did not converge: %v", r.name, err)
		}
	}
	if n := rib.Shared().Len(); n <= before {
		t.Fatalf("the lab interned no set (%d before, %d now)", before, n)
	}
	for _, r := range rs {
		if err := r.sp.Close(); err != nil {
			t.Errorf("%s: %v", r.name, err)
		}
	}
	// A reader may hand its last update over while its speaker closes:
	// give it the time to see the end (it releases what it holds then).
	deadline := time.Now().Add(5 * time.Second)
	for rib.Shared().Len() != before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := rib.Shared().Len(); n != before {
		t.Errorf("%d attribute sets held after the lab closed, want %d", n, before)
	}
}
