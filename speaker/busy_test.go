package speaker

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"lab/speaker/decision"
	"lab/speaker/wire"
)

// A decision engine busy for longer than the hold time costs no session
// (issue 15: at the start of a lab of a thousand routers, the engines are
// seconds behind): the session still sends its KEEPALIVEs on time, and
// the time the speaker keeps the peer's UPDATEs waiting, its reader held
// back, does not count against the peer's hold timer. Once the engine is
// free, every UPDATE is taken in.
func TestBusyDecisionEngineKeepsSession(t *testing.T) {
	h := newHarness(t, nil)
	p := h.remote()
	h.establish(p, peerOpen(2, 9, "0.0.0.3"))
	expect[*wire.Update](p) // our route
	expect[*wire.Update](p) // End-of-RIB

	release := make(chan struct{})
	defer func() {
		select {
		case <-release:
		default:
			close(release)
		}
	}()
	busy := make(chan struct{})
	go h.sp.query(context.Background(), func(*decision.View) {
		close(busy)
		<-release
	})
	<-busy

	// More UPDATEs than the engine's queue, the events the session holds
	// and its reads take: the reader ends up waiting, and so does the
	// peer (a pipe holds nothing).
	const n = 400
	sent := make(chan error, 1)
	go func() {
		for i := range n {
			pfx := netip.PrefixFrom(netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, byte(i >> 8), byte(i)}), 48)
			u := &wire.Update{Attrs: []wire.Attr{
				wire.MPReachNLRI{AFI: wire.AFIIPv6, SAFI: wire.SAFIUnicast, NextHops: []netip.Addr{addrB}, NLRI: []netip.Prefix{pfx}},
				wire.Origin{}, wire.ASPath{Segments: []wire.ASSegment{{Type: wire.ASSequence, ASNs: []uint32{2}}}},
			}}
			b, err := u.AppendTo(nil, &p.opts)
			if err == nil {
				p.c.SetWriteDeadline(time.Now().Add(30 * time.Second))
				_, err = p.c.Write(b)
			}
			if err != nil {
				sent <- err
				return
			}
		}
		sent <- nil
	}()
	// Held back: 16 messages read wait for the session goroutine, which
	// holds 4 events the engine has no room for (session/session.go).
	deadline := time.Now().Add(5 * time.Second)
	for h.sp.Peers()[0].InQ < 16+4 {
		if time.Now().After(deadline) {
			t.Fatalf("the session's reader is not held back: InQ %d", h.sp.Peers()[0].InQ)
		}
		time.Sleep(time.Millisecond)
	}
	// Five keepalive intervals (3 s, a third of the hold time), 15 s
	// without a message taken from the peer.
	for range 5 {
		h.advance(3 * time.Second)
		expect[*wire.Keepalive](p)
	}
	if st := h.sp.Peers()[0].State; st != Established {
		t.Fatalf("session %v while the engine is busy", st)
	}
	close(release)
	if err := <-sent; err != nil {
		t.Fatalf("the peer's UPDATEs: %v", err)
	}
	for {
		sum, err := h.sp.Summary(h.ctx(), wire.IPv6Unicast)
		if err != nil {
			t.Fatal(err)
		}
		if sum.Prefixes == n+1 {
			break
		}
		if time.Now().After(deadline.Add(10 * time.Second)) {
			t.Fatalf("%d prefixes in the table, want %d", sum.Prefixes, n+1)
		}
		time.Sleep(time.Millisecond)
	}
	nb, err := h.sp.Neighbor(h.ctx(), addrB)
	if err != nil {
		t.Fatal(err)
	}
	if nb.State != Established || nb.ConnectionsDropped != 0 || nb.Rcvd.Updates != n {
		t.Errorf("session %v, %d dropped, %d UPDATEs received; want Established, 0, %d", nb.State, nb.ConnectionsDropped, nb.Rcvd.Updates, n)
	}
}
