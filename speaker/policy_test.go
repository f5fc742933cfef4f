package speaker

import (
	"context"
	"net/netip"
	"slices"
	"testing"
	"time"

	"lab/speaker/wire"
)

// policyLab is a speaker (as1ra, AS 1) with three scripted neighbours
// over pipes: b (AS 2, where routes come from), c (AS 3) and d (AS 1,
// iBGP), all Established, their initial tables read.
type policyLab struct {
	h       *harness
	b, c, d *scripted
}

var (
	addrC = netip.MustParseAddr("2001:13::c")
	addrD = netip.MustParseAddr("2001:14::d")
)

func newPolicyLab(t *testing.T, mod func(b, c, d *PeerConfig)) *policyLab {
	t.Helper()
	return newTrio(t, 2, 3, nil, mod)
}

// newTrio is newPolicyLab with b in AS asB and c in AS asC (d is always
// in AS 1), and a change of the speaker's own configuration.
func newTrio(t *testing.T, asB, asC uint32, modSpeaker func(*Config), mod func(b, c, d *PeerConfig)) *policyLab {
	t.Helper()
	h := newHarness(t, func(cfg *Config) {
		cfg.Peers[0].Passive = true
		cfg.Peers[0].PeerAS = asB
		cfg.Peers = append(cfg.Peers,
			PeerConfig{Description: "as3rc (eBGP)", LocalAddr: netip.MustParseAddr("2001:13::a"), PeerAddr: addrC,
				PeerAS: asC, Interface: "as1ra-eth1", NextHop6: netip.MustParseAddr("2001:13::a"), Passive: true},
			PeerConfig{Description: "as1rd (iBGP)", LocalAddr: netip.MustParseAddr("2001:14::a"), PeerAddr: addrD,
				PeerAS: 1, Interface: "as1ra-eth2", NextHop6: netip.MustParseAddr("2001:14::a"), Passive: true})
		cfg.Originate = nil
		if modSpeaker != nil {
			modSpeaker(cfg)
		}
		if mod != nil {
			mod(&cfg.Peers[0], &cfg.Peers[1], &cfg.Peers[2])
		}
	})
	up := func(addr netip.Addr, o *wire.Open) *scripted {
		t.Helper()
		p := h.inbound(addr)
		got := expect[*wire.Open](p)
		p.send(o)
		p.opts = wire.Negotiate(o, got)
		expect[*wire.Keepalive](p)
		p.send(&wire.Keepalive{})
		h.waitState(addr, Established)
		if _, _, ok := expect[*wire.Update](p).IsEndOfRIB(); !ok {
			t.Fatalf("%v: the first UPDATE is not End-of-RIB", addr)
		}
		return p
	}
	l := &policyLab{h: h, b: up(addrB, peerOpen(asB, 180, "0.0.0.3")), c: up(addrC, peerOpen(asC, 180, "0.0.0.4")),
		d: up(addrD, peerOpen(1, 180, "0.0.0.5"))}
	// Before the speaker closes (cleanups run last first): its Ceases
	// are not waited for by a peer that stopped reading.
	t.Cleanup(func() {
		for _, p := range []*scripted{l.b, l.c, l.d} {
			p.c.Close()
		}
	})
	return l
}

// announce sends pfx from p with the AS path and communities given.
func announce(p *scripted, nh netip.Addr, pfx netip.Prefix, path []uint32, comms ...wire.Community) {
	attrs := []wire.Attr{
		wire.MPReachNLRI{AFI: wire.AFIIPv6, SAFI: wire.SAFIUnicast, NextHops: []netip.Addr{nh}, NLRI: []netip.Prefix{pfx}},
		wire.Origin{}, wire.ASPath{Segments: []wire.ASSegment{{Type: wire.ASSequence, ASNs: path}}},
	}
	if len(comms) > 0 {
		attrs = append(attrs, wire.Communities{Values: comms})
	}
	p.send(&wire.Update{Attrs: attrs})
}

var marker = netip.MustParsePrefix("2001:db8:ffff::/48")

// nextAdvertised returns the prefixes of the next UPDATE p receives.
func nextAdvertised(t *testing.T, p *scripted) []string {
	t.Helper()
	return summarize(expect[*wire.Update](p)).nlri
}

// Well-known communities (RFC 1997, RFC 3765): a route from b tagged
// NO_EXPORT goes to the iBGP neighbour d, not to the eBGP c;
// NO_ADVERTISE to neither; NO_PEER to c only when c is a peer. The
// marker route, sent after, is then the next thing a neighbour that got
// nothing receives.
func TestWellKnownCommunities(t *testing.T) {
	pfx := netip.MustParsePrefix("2001:db8:1::/48")
	for _, c := range []struct {
		name       string
		comm       wire.Community
		cIsPeer    bool
		toC, toD   bool
		wantReason string
	}{
		{name: "none", toC: true, toD: true},
		{name: "no-export", comm: wire.CommunityNoExport, toD: true},
		{name: "no-export-subconfed", comm: wire.CommunityNoExportSubconfed, toD: true},
		{name: "no-advertise", comm: wire.CommunityNoAdvertise},
		{name: "no-peer to a customer", comm: wire.CommunityNoPeer, toC: true, toD: true},
		{name: "no-peer to a peer", comm: wire.CommunityNoPeer, cIsPeer: true, toD: true},
	} {
		t.Run(c.name, func(t *testing.T) {
			l := newPolicyLab(t, func(b, cc, d *PeerConfig) {
				if c.cIsPeer {
					cc.Role = RolePeer
				}
			})
			var comms []wire.Community
			if c.comm != 0 {
				comms = append(comms, c.comm)
			}
			announce(l.b, addrB, pfx, []uint32{2}, comms...)
			announce(l.b, addrB, marker, []uint32{2})
			for _, x := range []struct {
				name string
				p    *scripted
				want bool
			}{{"c", l.c, c.toC}, {"d", l.d, c.toD}} {
				// The two routes may come in one UPDATE (same attributes).
				got := nextAdvertised(t, x.p)
				if x.want && !slices.Contains(got, pfx.String()) {
					t.Errorf("%s got %v first, want %v", x.name, got, pfx)
				}
				if !x.want && !slices.Equal(got, []string{marker.String()}) {
					t.Errorf("%s got %v first, want only the marker %v", x.name, got, marker)
				}
			}
		})
	}
}

// A route carrying GRACEFUL_SHUTDOWN gets local-pref 0 (RFC 8326), and a
// draining router tags its eBGP advertisements with it.
func TestGracefulShutdown(t *testing.T) {
	l := newPolicyLab(t, nil)
	pfx := netip.MustParsePrefix("2001:db8:1::/48")
	announce(l.b, addrB, pfx, []uint32{2}, wire.CommunityGracefulShutdown)
	nextAdvertised(t, l.c)
	r, err := l.h.sp.Route(l.h.ctx(), pfx)
	if err != nil || r == nil {
		t.Fatalf("route %v: %v, %v", pfx, r, err)
	}
	if p := r.Paths[0]; !p.HasLocPrf || p.LocPrf != 0 {
		t.Errorf("path with GRACEFUL_SHUTDOWN: local-pref %v (shown %v), want 0", p.LocPrf, p.HasLocPrf)
	}

	if err := l.h.sp.SetGracefulShutdown(l.h.ctx(), true); err != nil {
		t.Fatal(err)
	}
	u := expect[*wire.Update](l.c)
	var got []wire.Community
	for _, a := range u.Attrs {
		if cs, ok := a.(wire.Communities); ok {
			got = cs.Values
		}
	}
	if !slices.Contains(got, wire.CommunityGracefulShutdown) {
		t.Errorf("draining: UPDATE to c carries %v, want graceful-shutdown", got)
	}
}

// The per-neighbour knobs: local-pref and weight on what b sends, MED and
// a prepend on what c is sent.
func TestPeerKnobs(t *testing.T) {
	lp, w, med := uint32(200), uint32(50), uint32(10)
	l := newPolicyLab(t, func(b, c, d *PeerConfig) {
		b.LocalPref, b.Weight = &lp, &w
		c.MED, c.Prepend = &med, []uint32{1, 1}
	})
	pfx := netip.MustParsePrefix("2001:db8:1::/48")
	announce(l.b, addrB, pfx, []uint32{2})
	got := summarize(expect[*wire.Update](l.c))
	if got.path != "1 1 1 2" || got.med != "10" {
		t.Errorf("to c: path %q MED %s, want path \"1 1 1 2\" and MED 10", got.path, got.med)
	}
	r, err := l.h.sp.Route(l.h.ctx(), pfx)
	if err != nil || r == nil {
		t.Fatalf("route %v: %v, %v", pfx, r, err)
	}
	if p := r.Paths[0]; p.LocPrf != 200 || p.Weight != 50 {
		t.Errorf("path from b: local-pref %d weight %d, want 200 and 50", p.LocPrf, p.Weight)
	}
}

// allowas-in: a path with our own AS is refused (kept among the received
// routes, marked denied), unless the neighbour may send it.
func TestAllowASIn(t *testing.T) {
	pfx := netip.MustParsePrefix("2001:db8:1::/48")
	for _, allow := range []int{0, 1} {
		l := newPolicyLab(t, func(b, c, d *PeerConfig) { b.AllowASIn = allow })
		announce(l.b, addrB, pfx, []uint32{2, 1})
		announce(l.b, addrB, marker, []uint32{2})
		first := nextAdvertised(t, l.c)
		if accepted := slices.Contains(first, pfx.String()); accepted != (allow > 0) {
			t.Errorf("allowas-in %d: c got %v first", allow, first)
		}
		rcv, err := l.h.sp.NeighborRoutes(l.h.ctx(), addrB, wire.IPv6Unicast, ReceivedRoutes)
		if err != nil {
			t.Fatal(err)
		}
		rt := rcv.Route(pfx)
		if rt == nil || rt.Paths[0].Denied != (allow == 0) {
			t.Errorf("allowas-in %d: received-routes has %+v for %v", allow, rt, pfx)
		}
	}
}

// Maximum prefixes (RFC 4486): one prefix more than allowed ends the
// session with Cease 6/1, whose data says the family and the limit, and
// it stays down, however long, until it is cleared.
func TestMaxPrefix(t *testing.T) {
	l := newPolicyLab(t, func(b, c, d *PeerConfig) { b.MaxPrefix = 1 })
	announce(l.b, addrB, netip.MustParsePrefix("2001:db8:1::/48"), []uint32{2})
	announce(l.b, addrB, netip.MustParsePrefix("2001:db8:2::/48"), []uint32{2})
	n := l.b.expectNotification(wire.CodeCease, wire.SubcodeMaxPrefixes)
	if want := []byte{0, 2, 1, 0, 0, 0, 1}; !slices.Equal(n.Data, want) {
		t.Errorf("NOTIFICATION data % x, want % x (IPv6 unicast, limit 1)", n.Data, want)
	}
	l.h.waitState(addrB, Idle)
	l.h.clock.Advance(10 * time.Minute)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	err := l.h.sp.WaitFor(ctx, func(s *Snapshot) bool { return s.Neighbor(addrB).State != Idle })
	if err == nil {
		t.Fatal("the session left Idle by itself after exceeding its maximum")
	}
	nb, _ := l.h.sp.Neighbor(l.h.ctx(), addrB)
	if want := "BGP Notification send (Cease/Maximum Number of Prefixes Reached (6/1): IPv6 Unicast, limit 1)"; nb.LastReset != want {
		t.Errorf("last reset %q, want %q", nb.LastReset, want)
	}
	if err := l.h.sp.ResetPeer(addrB, true); err != nil {
		t.Fatal(err)
	}
	l.h.waitState(addrB, Active)
}

// Originations carry the attributes of ExaBGP's static routes: an AS path
// given is the path sent (our AS is not prepended again), a next hop of
// their own, ORIGIN, extended communities, AGGREGATOR; one limited to some
// neighbours reaches those only, and a second announcement of the same
// route to another neighbour adds it.
func TestOriginationAttributes(t *testing.T) {
	l := newPolicyLab(t, nil)
	pfx := netip.MustParsePrefix("2001:db8:9::/48")
	nh := netip.MustParseAddr("2001:db8::99")
	if err := l.h.sp.Announce(Origination{Prefix: pfx, ASPath: []uint32{1, 1, 1}, NextHop: nh, Origin: 2,
		MED: 50, HasMED: true, AggregatorAS: 1, AggregatorAddr: netip.MustParseAddr("0.0.0.2"),
		ExtCommunities: []wire.ExtendedCommunity{{0, 2, 0, 1, 0, 0, 0, 7}}, Peers: []netip.Addr{addrC}}); err != nil {
		t.Fatal(err)
	}
	u := expect[*wire.Update](l.c)
	got := summarize(u)
	if got.path != "1 1 1" || got.nh != nh.String() || got.med != "50" || !slices.Equal(got.nlri, []string{pfx.String()}) {
		t.Errorf("to c: %+v, want %v with path \"1 1 1\", next hop %v and MED 50", got, pfx, nh)
	}
	var origin wire.OriginValue
	var agg, ext bool
	for _, a := range u.Attrs {
		switch a := a.(type) {
		case wire.Origin:
			origin = a.Value
		case wire.Aggregator:
			agg = a.AS == 1
		case wire.ExtendedCommunities:
			ext = len(a.Values) == 1
		}
	}
	if origin != 2 || !agg || !ext {
		t.Errorf("to c: origin %v, aggregator %v, extended communities %v", origin, agg, ext)
	}
	// d was not named: it gets the marker first. Then named too, it gets
	// the route, and c keeps it.
	announce(l.b, addrB, marker, []uint32{2})
	if got := nextAdvertised(t, l.d); !slices.Equal(got, []string{marker.String()}) {
		t.Errorf("d got %v first, want only the marker", got)
	}
	nextAdvertised(t, l.c) // the marker
	if err := l.h.sp.Announce(Origination{Prefix: pfx, ASPath: []uint32{1, 1, 1}, NextHop: nh, Origin: 2,
		MED: 50, HasMED: true, AggregatorAS: 1, AggregatorAddr: netip.MustParseAddr("0.0.0.2"),
		ExtCommunities: []wire.ExtendedCommunity{{0, 2, 0, 1, 0, 0, 0, 7}}, Peers: []netip.Addr{addrD}}); err != nil {
		t.Fatal(err)
	}
	if got := nextAdvertised(t, l.d); !slices.Equal(got, []string{pfx.String()}) {
		t.Errorf("d got %v, want %v", got, pfx)
	}
	// Withdrawn towards c only: c sees the withdrawal, d keeps it.
	if err := l.h.sp.Withdraw(pfx, addrC); err != nil {
		t.Fatal(err)
	}
	if got := summarize(expect[*wire.Update](l.c)); !slices.Equal(got.withdrawn, []string{pfx.String()}) {
		t.Errorf("c got %+v, want the withdrawal of %v", got, pfx)
	}
}

// Aggregation (RFC 4271 section 9.2.2.2): the aggregate is originated
// while a more specific route is in the table, with ATOMIC_AGGREGATE and
// our AGGREGATOR; summary-only keeps the more specific routes to
// ourselves; as-set gives it its contributors' common sequence and the
// set of the rest instead of ATOMIC_AGGREGATE; gone with the last of
// them.
func TestAggregate(t *testing.T) {
	agg := netip.MustParsePrefix("2001:db8::/32")
	p1, p2 := netip.MustParsePrefix("2001:db8:1::/48"), netip.MustParsePrefix("2001:db8:2::/48")
	for _, asSet := range []bool{false, true} {
		l := newTrio(t, 2, 3, func(c *Config) {
			c.Aggregates = []Aggregate{{Prefix: agg, SummaryOnly: true, ASSet: asSet}}
		}, nil)
		announce(l.b, addrB, p1, []uint32{2, 7})
		announce(l.b, addrB, p2, []uint32{2, 8})
		wantPath := "1"
		if asSet {
			wantPath = "1 2 7 8"
		}
		// The two routes come in two UPDATEs: c may hear the aggregate of
		// the first alone before it hears that of both (with as-set,
		// path "1 2 7" first). It hears nothing but the aggregate.
		var u *wire.Update
		for i := 0; ; i++ {
			u = expect[*wire.Update](l.c)
			got := summarize(u)
			if !slices.Equal(got.nlri, []string{agg.String()}) || i == 2 {
				t.Fatalf("as-set %v: c got %+v, want the aggregate alone with path %q", asSet, got, wantPath)
			}
			if got.path == wantPath {
				break
			}
		}
		var atomic, aggregator bool
		for _, a := range u.Attrs {
			switch a := a.(type) {
			case wire.AtomicAggregate:
				atomic = true
			case wire.Aggregator:
				aggregator = a.AS == 1 && a.Addr == idA
			}
		}
		if atomic == asSet || !aggregator {
			t.Errorf("as-set %v: ATOMIC_AGGREGATE %v, AGGREGATOR 1 %v %v", asSet, atomic, idA, aggregator)
		}
		// The more specific routes stay ours: the next thing c hears is
		// the withdrawal of the aggregate, when they go.
		l.b.send(&wire.Update{Attrs: []wire.Attr{wire.MPUnreachNLRI{AFI: wire.AFIIPv6, SAFI: wire.SAFIUnicast, Withdrawn: []netip.Prefix{p1, p2}}}})
		if got := summarize(expect[*wire.Update](l.c)); !slices.Equal(got.withdrawn, []string{agg.String()}) {
			t.Errorf("as-set %v: c got %+v, want the aggregate's withdrawal", asSet, got)
		}
	}
}

// show bgp PREFIX says what the import side did to each path, and names
// the setting a best path won by.
func TestRouteExplainsPolicy(t *testing.T) {
	lp := uint32(300)
	l := newPolicyLab(t, func(b, c, d *PeerConfig) { b.LocalPref = &lp })
	pfx := netip.MustParsePrefix("2001:db8:1::/48")
	announce(l.b, addrB, pfx, []uint32{2})
	announce(l.c, addrC, pfx, []uint32{3})
	nextAdvertised(t, l.d)
	// The two announcements may be decided in two rounds: d hears the
	// first path's before the second arrives.
	var r *Route
	for deadline := time.Now().Add(10 * time.Second); ; {
		var err error
		r, err = l.h.sp.Route(l.h.ctx(), pfx)
		if err != nil {
			t.Fatalf("route: %v", err)
		}
		if r != nil && len(r.Paths) == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("route: %+v, want two paths", r)
		}
		time.Sleep(10 * time.Millisecond)
	}
	best := r.Best()
	if best == nil || best.Peer != addrB || !slices.Equal(best.Policy, []string{"neighbor local-pref: local-pref 300"}) {
		t.Errorf("best path %+v: want b's, changed by the neighbor local-pref", best)
	}
	if want := "Local Pref (local-pref 300 from neighbor local-pref)"; r.BestReason != want {
		t.Errorf("reason %q, want %q", r.BestReason, want)
	}
}
