package speaker

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"lab/speaker/wire"
)

// observed records what an observer saw, in order.
type observed struct {
	mu  sync.Mutex
	log []string
}

func (o *observed) add(ob Observation) {
	var s string
	if ob.IsMessage() {
		m, err := ob.Message()
		if err != nil {
			s = fmt.Sprintf("%s %v error %v", ob.Dir, ob.Type(), err)
		} else {
			s = fmt.Sprintf("%s %s", ob.Dir, wire.Summary(m))
		}
	} else {
		s = "state " + ob.State.String()
		if ob.State < OpenSent && ob.Reset.Kind != ResetNone {
			s += " (" + ob.Reset.String() + ")"
		}
	}
	o.mu.Lock()
	o.log = append(o.log, ob.Peer.String()+" "+s)
	o.mu.Unlock()
}

func (o *observed) lines() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]string(nil), o.log...)
}

// newObservedHarness is newHarness with an observer registered before
// the speaker starts.
func newObservedHarness(t *testing.T) (*harness, *observed) {
	t.Helper()
	h := &harness{t: t, clock: NewFakeClock(time.Date(2017, 12, 15, 14, 14, 40, 0, time.UTC)), dial: newPipeDialer(), log: &bytes.Buffer{}}
	sp, err := New(Config{
		Name: "as1ra", AS: 1, RouterID: idA, NoKernel: true, Timers: DefaultTimers, Clock: h.clock, Dialer: h.dial,
		Log:   &syncWriter{w: h.log},
		Peers: []PeerConfig{{LocalAddr: addrA, PeerAddr: addrB, PeerAS: 2, Interface: "as1ra-eth0", NextHop6: addrA}},
	})
	if err != nil {
		t.Fatal(err)
	}
	o := &observed{}
	if err := sp.Observe(o.add); err != nil {
		t.Fatal(err)
	}
	h.sp = sp
	if err := sp.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := sp.Observe(o.add); err == nil {
		t.Error("Observe after Start: no error")
	}
	t.Cleanup(func() { sp.Close() })
	return h, o
}

// waitObserved waits until the observer saw a line containing want.
func waitObserved(t *testing.T, o *observed, want string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		for _, l := range o.lines() {
			if strings.Contains(l, want) {
				return
			}
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatalf("the observer never saw %q; it saw:\n%s", want, strings.Join(o.lines(), "\n"))
}

// The observer sees every message both ways and every state change, and
// a peer's UPDATE sent right after its KEEPALIVE comes after the state
// change that KEEPALIVE caused.
func TestObserve(t *testing.T) {
	h, o := newObservedHarness(t)
	p := h.remote()
	got := expect[*wire.Open](p)
	op := peerOpen(2, 180, "0.0.0.3")
	p.send(op)
	p.opts = wire.Negotiate(op, got)
	expect[*wire.Keepalive](p)
	p.send(&wire.Keepalive{})
	p.send(&wire.Update{Attrs: []wire.Attr{wire.Origin{}, wire.ASPath{Segments: []wire.ASSegment{{Type: wire.ASSequence, ASNs: []uint32{2}}}},
		wire.MPReachNLRI{AFI: wire.AFIIPv6, SAFI: wire.SAFIUnicast, NextHops: []netip.Addr{addrB},
			NLRI: []netip.Prefix{netip.MustParsePrefix("2001:db8::/32")}}}})
	waitObserved(t, o, "rcvd UPDATE")
	var order []string
	for _, l := range o.lines() {
		if strings.Contains(l, "rcvd") || strings.Contains(l, "state") {
			order = append(order, strings.Fields(l)[1]+" "+strings.Fields(l)[2])
		}
	}
	want := []string{"state Connect", "state OpenSent", "rcvd OPEN", "state OpenConfirm", "rcvd KEEPALIVE", "state Established", "rcvd UPDATE"}
	if strings.Join(order, ", ") != strings.Join(want, ", ") {
		t.Errorf("order:\n got %s\nwant %s", strings.Join(order, ", "), strings.Join(want, ", "))
	}
	waitObserved(t, o, "sent OPEN")

	// The peer closes: the session goes down, and says why.
	p.send(&wire.Notification{Code: wire.CodeCease, Subcode: wire.SubcodeAdminShutdown})
	waitObserved(t, o, "state Idle (BGP Notification received (Cease/Administrative Shutdown")
}

// ExaBGP's commands to a peer: an End-of-RIB after the routes announced
// before it, a ROUTE-REFRESH, and a teardown with a Cease subcode of the
// caller's, after which the session starts again.
func TestPeerCommands(t *testing.T) {
	h, _ := newObservedHarness(t)
	ctx := h.ctx()
	if err := h.sp.SendRouteRefresh(addrB, wire.IPv6Unicast); !errors.Is(err, ErrNotEstablished) {
		t.Errorf("route refresh before Established: %v, want ErrNotEstablished", err)
	}
	p := h.remote()
	h.establish(p, peerOpen(2, 180, "0.0.0.3"))
	// The initial table: empty, then its End-of-RIB.
	if u := expect[*wire.Update](p); !isEoR(u) {
		t.Fatalf("first UPDATE %v, want the End-of-RIB", wire.Summary(u))
	}
	pfx := netip.MustParsePrefix("2001:db8:1::/48")
	if err := h.sp.Announce(Origination{Prefix: pfx}); err != nil {
		t.Fatal(err)
	}
	if err := h.sp.SendEndOfRIB(ctx, addrB, wire.IPv6Unicast); err != nil {
		t.Fatal(err)
	}
	if u := expect[*wire.Update](p); isEoR(u) {
		t.Fatal("the End-of-RIB came before the route announced first")
	}
	if u := expect[*wire.Update](p); !isEoR(u) {
		t.Fatalf("UPDATE %v, want the End-of-RIB", wire.Summary(u))
	}
	if err := h.sp.SendEndOfRIB(ctx, addrB, wire.IPv4Unicast); err == nil {
		t.Error("End-of-RIB of a family not negotiated: no error")
	}
	if err := h.sp.SendRouteRefresh(addrB, wire.IPv6Unicast); err != nil {
		t.Fatal(err)
	}
	if rr := expect[*wire.RouteRefresh](p); rr.AFI != wire.AFIIPv6 || rr.SAFI != wire.SAFIUnicast {
		t.Errorf("ROUTE-REFRESH %v/%v", rr.AFI, rr.SAFI)
	}
	if err := h.sp.TeardownPeer(addrB, wire.SubcodeAdminReset); err != nil {
		t.Fatal(err)
	}
	p.expectNotification(wire.CodeCease, wire.SubcodeAdminReset)
	p.expectClosed()
	// And it starts again at once.
	p = h.remote()
	h.establish(p, peerOpen(2, 180, "0.0.0.3"))
	if err := h.sp.TeardownPeer(netip.MustParseAddr("2001:12::99"), 2); err == nil {
		t.Error("teardown of an unknown neighbour: no error")
	}
}

func isEoR(u *wire.Update) bool {
	_, _, ok := u.IsEndOfRIB()
	return ok
}
