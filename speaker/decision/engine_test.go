package decision

import (
	"context"
	"io"
	"net/netip"
	"sync"
	"testing"
	"time"

	"lab/speaker/clock"
	"lab/speaker/internal/bgplog"
	"lab/speaker/peer"
	"lab/speaker/rib"
	"lab/speaker/ribwire"
	"lab/speaker/wire"
)

// countSink counts the UPDATEs queued on it.
type countSink struct {
	mu      sync.Mutex
	updates int
}

func (s *countSink) Queue([]byte) {
	s.mu.Lock()
	s.updates++
	s.mu.Unlock()
}

func (s *countSink) EndOfRIB(wire.Family) {}
func (s *countSink) Flush()               {}

func (s *countSink) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.updates
}

// An engine waiting for its round's turn takes the UPDATEs that keep
// coming into the Adj-RIB-In, far more than its queue holds, and its
// round then decides the prefix once: a peer is sent the last path, not
// every one in between. Queued is not 0 until then. The test takes every
// token of the process's rounds (rounds): no other test of the package
// may run an engine beside it (t.Parallel).
func TestWaitRoundTakesUpdates(t *testing.T) {
	in := rib.NewInterner()
	e := New(Config{
		Name: "r", AS: 65000, RouterID: netip.MustParseAddr("10.0.0.0"),
		Peers: []peer.Config{
			{PeerAddr: netip.MustParseAddr("10.0.0.1"), PeerAS: 65001},
			{PeerAddr: netip.MustParseAddr("10.0.0.2"), PeerAS: 65002},
		},
		Clock: clock.System{}, Log: bgplog.New(io.Discard, clock.System{}), Interner: in,
		Kick: func(peer.ID) {}, Teardown: func(peer.ID, *wire.Notification) {}, OnRound: func(int) {},
	})
	e.Start(nil, nil)
	defer e.Close()
	sinks := []*countSink{{}, {}}
	for i, s := range sinks {
		e.Deliver(peer.Event{Kind: peer.Up, Peer: peer.ID(i), Up: &peer.Established{
			Out: s, Families: []wire.Family{wire.IPv4Unicast},
			RouterID: netip.AddrFrom4([4]byte{10, 0, 0, byte(i + 1)}), Local: netip.MustParseAddr("10.0.0.0"),
		}})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := e.Query(ctx, func(*View) {}); err != nil {
		t.Fatal(err)
	}

	// Every round's token is the test's: the engine cannot decide.
	for range cap(rounds) {
		rounds <- struct{}{}
	}
	released := false
	release := func() {
		if !released {
			released = true
			for range cap(rounds) {
				<-rounds
			}
		}
	}
	defer release()
	const n = 4 * queueLen
	pfx := netip.MustParsePrefix("192.0.2.0/24")
	delivered := make(chan struct{})
	go func() {
		defer close(delivered)
		for i := range n {
			a := rib.Attrs{ASPath: []rib.Segment{{Type: rib.SegSequence, ASNs: []uint32{65001, uint32(100 + i)}}}}
			u := &ribwire.Update{Parts: []ribwire.Part{{
				Family: wire.IPv4Unicast, Attrs: in.Intern(&a), NextHop: netip.MustParseAddr("10.0.0.1"),
				NLRI: []netip.Prefix{pfx},
			}}}
			e.Deliver(peer.Event{Kind: peer.Update, Peer: 0, Update: u})
		}
	}()
	select {
	case <-delivered:
	case <-time.After(10 * time.Second):
		t.Fatalf("the engine's queue stayed full (%d events) while it waited for its round: it took no UPDATE", len(e.events))
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(e.events) > 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if q := e.Queued(); q == 0 {
		t.Error("Queued is 0 while UPDATEs taken wait for the round")
	}
	before := sinks[1].count()
	release()
	var last []uint32
	if err := e.Query(ctx, func(v *View) {
		if best, _ := v.Table(wire.IPv4Unicast).Dest(pfx).Best(); best != nil {
			last = best.Attrs.ASPath[0].ASNs
		}
	}); err != nil {
		t.Fatal(err)
	}
	if len(last) != 2 || last[1] != 100+n-1 {
		t.Errorf("best path %v, want the last one received (65001 %d)", last, 100+n-1)
	}
	if got := sinks[1].count() - before; got != 1 {
		t.Errorf("the other peer was sent %d UPDATEs for %d paths received in a row, want 1", got, n)
	}
	if q := e.Queued(); q != 0 {
		t.Errorf("Queued is %d after the round", q)
	}
}
