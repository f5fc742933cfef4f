package speaker

import (
	"context"
	"net/netip"
	"slices"
	"testing"

	"lab/speaker/wire"
)

// A message the FSM does not expect in its state is answered with the
// Finite State Machine Error of RFC 6608 for that state, and the session
// goes back to Idle.
func TestFSMErrors(t *testing.T) {
	t.Run("KEEPALIVE in OpenSent", func(t *testing.T) {
		h := newHarness(t, nil)
		p := h.remote()
		expect[*wire.Open](p)
		p.send(&wire.Keepalive{})
		p.expectNotification(wire.CodeFSM, wire.SubcodeUnexpectedInOpenSent)
		h.waitState(addrB, Idle)
	})
	t.Run("UPDATE in OpenConfirm", func(t *testing.T) {
		h := newHarness(t, nil)
		p := h.remote()
		expect[*wire.Open](p)
		p.send(peerOpen(2, 180, "0.0.0.3"))
		expect[*wire.Keepalive](p)
		p.send(wire.NewEndOfRIB(wire.AFIIPv4, wire.SAFIUnicast))
		p.expectNotification(wire.CodeFSM, wire.SubcodeUnexpectedInOpenConfirm)
		h.waitState(addrB, Idle)
	})
	t.Run("OPEN in Established", func(t *testing.T) {
		h := newHarness(t, nil)
		p := h.remote()
		h.establish(p, peerOpen(2, 180, "0.0.0.3"))
		p.send(peerOpen(2, 180, "0.0.0.3"))
		p.expectNotification(wire.CodeFSM, wire.SubcodeUnexpectedInEstablished)
		h.waitState(addrB, Idle)
		// The writer counts a message once it is written, which the
		// peer's read above may precede by a moment: poll.
		err := h.sp.WaitFor(h.ctx(), func(s *Snapshot) bool { return s.Neighbor(addrB).Sent.Notifications == 1 })
		if err != nil {
			n, _ := h.sp.Neighbor(context.Background(), addrB)
			t.Errorf("the NOTIFICATION sent is not counted: %+v (%v)", n.Sent, err)
		}
	})
}

// A ROUTE-REFRESH for a negotiated family is answered with the routes
// advertised to the peer (RFC 2918 section 4); one for a family not
// negotiated is ignored.
func TestRouteRefreshAnswered(t *testing.T) {
	h := newHarness(t, nil)
	p := h.remote()
	h.establish(p, peerOpen(2, 180, "0.0.0.3"))
	own := netip.MustParsePrefix("2001:1234:1::/64")
	// The initial table, then End-of-RIB.
	if got := advertised(expect[*wire.Update](p)); !slices.Contains(got, own) {
		t.Fatalf("first UPDATE advertises %v, want %v", got, own)
	}
	expect[*wire.Update](p)

	p.send(&wire.RouteRefresh{AFI: wire.AFIIPv4, SAFI: wire.SAFIUnicast}) // not negotiated: ignored
	p.send(&wire.RouteRefresh{AFI: wire.AFIIPv6, SAFI: wire.SAFIUnicast})
	for {
		m := p.recv()
		u, ok := m.(*wire.Update)
		if !ok {
			continue // keepalives
		}
		if got := advertised(u); slices.Contains(got, own) {
			break
		}
		t.Fatalf("after ROUTE-REFRESH: %v, want %v advertised again", wire.Summary(u), own)
	}
	n, err := h.sp.Neighbor(h.ctx(), addrB)
	if err != nil {
		t.Fatal(err)
	}
	if n.Rcvd.RouteRefresh != 2 {
		t.Errorf("ROUTE-REFRESH not counted: %+v", n.Sent)
	}
	if st := n.State; st != Established {
		t.Errorf("state %v after ROUTE-REFRESH, want Established", st)
	}
}

// advertised returns the prefixes an UPDATE announces, in either form.
func advertised(u *wire.Update) []netip.Prefix {
	out := slices.Clone(u.NLRI)
	if mp, ok := u.MPReach(); ok {
		out = append(out, mp.NLRI...)
	}
	return out
}
