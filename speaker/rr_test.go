package speaker

import (
	"net/netip"
	"slices"
	"testing"

	"lab/speaker/wire"
)

// reflection is what an UPDATE says of route reflection.
type reflection struct {
	originator netip.Addr
	clusters   []netip.Addr
	nh         netip.Addr
	nlri       []string
}

func reflected(u *wire.Update) reflection {
	var r reflection
	for _, a := range u.Attrs {
		switch a := a.(type) {
		case wire.OriginatorID:
			r.originator = a.ID
		case wire.ClusterList:
			r.clusters = a.IDs
		case wire.MPReachNLRI:
			r.nh = a.NextHops[0]
			for _, p := range a.NLRI {
				r.nlri = append(r.nlri, p.String())
			}
		}
	}
	return r
}

// A route reflector (RFC 4456) passes its client b's routes to the
// non-client d with ORIGINATOR_ID b, its cluster in CLUSTER_LIST and b's
// next hop, and to the eBGP c as its own; d's routes go to the client b
// only (and to c); a route that comes back with our identifier as
// originator, or our cluster in its list, is refused.
func TestRouteReflection(t *testing.T) {
	cluster := netip.MustParseAddr("0.0.0.9")
	l := newTrio(t, 1, 3, func(c *Config) { c.ClusterID = cluster }, func(b, c, d *PeerConfig) { b.RRClient = true })
	p := netip.MustParsePrefix("2001:db8:1::/48")
	q := netip.MustParsePrefix("2001:db8:2::/48")
	l.b.send(&wire.Update{Attrs: []wire.Attr{
		wire.MPReachNLRI{AFI: wire.AFIIPv6, SAFI: wire.SAFIUnicast, NextHops: []netip.Addr{addrB}, NLRI: []netip.Prefix{p}},
		wire.Origin{}, wire.ASPath{}, wire.LocalPref{Value: 100},
	}})
	got := reflected(expect[*wire.Update](l.d))
	if got.originator != netip.MustParseAddr("0.0.0.3") || !slices.Equal(got.clusters, []netip.Addr{cluster}) || got.nh != addrB ||
		!slices.Equal(got.nlri, []string{p.String()}) {
		t.Errorf("reflected to d: %+v, want originator 0.0.0.3, cluster list [%v], next hop %v", got, cluster, addrB)
	}
	if got := summarize(expect[*wire.Update](l.c)); got.path != "1" || got.nh != "2001:13::a" {
		t.Errorf("to eBGP c: %+v, want path \"1\" and next hop self", got)
	}
	// From the non-client d: to the client b, not back to d.
	l.d.send(&wire.Update{Attrs: []wire.Attr{
		wire.MPReachNLRI{AFI: wire.AFIIPv6, SAFI: wire.SAFIUnicast, NextHops: []netip.Addr{addrD}, NLRI: []netip.Prefix{q}},
		wire.Origin{}, wire.ASPath{}, wire.LocalPref{Value: 100},
	}})
	if got := reflected(expect[*wire.Update](l.b)); !slices.Equal(got.nlri, []string{q.String()}) || got.originator != netip.MustParseAddr("0.0.0.5") {
		t.Errorf("reflected to b: %+v, want %v with originator 0.0.0.5", got, q)
	}
	// Loops: our identifier as originator, our cluster in the list.
	for _, attr := range []wire.Attr{wire.OriginatorID{ID: idA}, wire.ClusterList{IDs: []netip.Addr{cluster}}} {
		l.b.send(&wire.Update{Attrs: []wire.Attr{
			wire.MPReachNLRI{AFI: wire.AFIIPv6, SAFI: wire.SAFIUnicast, NextHops: []netip.Addr{addrB}, NLRI: []netip.Prefix{p}},
			wire.Origin{}, wire.ASPath{}, wire.LocalPref{Value: 100}, attr,
		}})
		// p is withdrawn: the looped path replaced the good one.
		if got := summarize(expect[*wire.Update](l.d)); !slices.Equal(got.withdrawn, []string{p.String()}) {
			t.Errorf("%v: d got %+v, want the withdrawal of %v", attr, got, p)
		}
		rcv, err := l.h.sp.NeighborRoutes(l.h.ctx(), addrB, wire.IPv6Unicast, ReceivedRoutes)
		if err != nil {
			t.Fatal(err)
		}
		if r := rcv.Route(p); r == nil || !r.Paths[0].Denied {
			t.Errorf("%v: received-routes has %+v, want it denied", attr, r)
		}
		// Back to a good path for the next case.
		l.b.send(&wire.Update{Attrs: []wire.Attr{
			wire.MPReachNLRI{AFI: wire.AFIIPv6, SAFI: wire.SAFIUnicast, NextHops: []netip.Addr{addrB}, NLRI: []netip.Prefix{p}},
			wire.Origin{}, wire.ASPath{}, wire.LocalPref{Value: 100},
		}})
		expect[*wire.Update](l.d)
	}
}
