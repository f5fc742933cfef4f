package speaker

import (
	"context"
	"errors"
	"runtime"
	"testing"
	"time"
	"weak"

	"lab/speaker/decision"
	"lab/speaker/wire"
)

// A show command whose caller gives up (its context ends: the client
// went away, a WaitFor deadline) while its request waits behind a busy
// RIB round returns with the context's error, and its snapshot function
// does not run as the caller returns: it would write the caller's
// variables while the caller reads them (the race detector reports it).
// Either the caller gets its result, or it gets the error.
func TestShowAbandonedWhileRIBBusy(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.Peers[0].Passive = true })
	shows := []func(context.Context) (bool, error){
		func(ctx context.Context) (bool, error) { s, err := h.sp.Snapshot(ctx); return s != nil, err },
		func(ctx context.Context) (bool, error) {
			s, err := h.sp.Summary(ctx, wire.IPv6Unicast)
			return s != nil, err
		},
		func(ctx context.Context) (bool, error) {
			n, err := h.sp.Neighbor(ctx, addrB)
			return n != nil && n.Addr == addrB, err
		},
		func(ctx context.Context) (bool, error) {
			tb, err := h.sp.Table(ctx, wire.IPv6Unicast)
			return tb != nil && len(tb.Routes) == 1, err
		},
		func(ctx context.Context) (bool, error) {
			r, err := h.sp.Route(ctx, h.sp.cfg.Originate[0].Prefix)
			return r != nil, err
		},
	}
	abandoned := 0
	for i := range 10 * len(shows) {
		// The RIB goroutine is busy until release.
		release, busy := make(chan struct{}), make(chan struct{})
		go h.sp.dec.Query(context.Background(), func(*decision.View) {
			close(busy)
			<-release
		})
		<-busy

		ctx, cancel := context.WithCancel(context.Background())
		queued := h.sp.dec.Queued()
		type result struct {
			ok  bool
			err error
		}
		res := make(chan result, 1)
		go func() {
			ok, err := shows[i%len(shows)](ctx)
			res <- result{ok, err}
		}()
		deadline := time.Now().Add(5 * time.Second)
		for h.sp.dec.Queued() == queued {
			if time.Now().After(deadline) {
				t.Fatal("the show request was never queued")
			}
			time.Sleep(100 * time.Microsecond)
		}
		// The caller gives up as the RIB goroutine goes on.
		cancel()
		close(release)
		r := <-res
		switch {
		case errors.Is(r.err, context.Canceled):
			abandoned++
		case r.err != nil:
			t.Errorf("show %d: error %v, want its result or %v", i%len(shows), r.err, context.Canceled)
		case !r.ok:
			t.Errorf("show %d: no error and no result", i%len(shows))
		}
	}
	if abandoned == 0 {
		t.Error("no show was abandoned: the test exercised nothing")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := h.sp.Snapshot(ctx); err != nil {
		t.Fatalf("after the abandoned shows: %v", err)
	}
}

// Once a show has returned, the RIB goroutine keeps nothing of it: a
// finished request's function (which holds the caller's result) is not
// left in the RIB goroutine's list of requests. The shell's `wait` takes
// a snapshot of every router of a lab each tick; each speaker kept its
// last one, whole tables included, until its next show.
func TestShowResultNotKept(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.Peers[0].Passive = true })
	snapshot := func() weak.Pointer[Snapshot] {
		s, err := h.sp.Snapshot(h.ctx())
		if err != nil {
			t.Fatal(err)
		}
		return weak.Make(s)
	}
	w := snapshot()
	deadline := time.Now().Add(5 * time.Second)
	for w.Value() != nil {
		if time.Now().After(deadline) {
			t.Fatal("the snapshot a show returned is still referenced by the speaker")
		}
		runtime.GC()
	}
}
