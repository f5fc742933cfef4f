package speaker

import (
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"

	"lab/speaker/wire"
)

// An unknown optional transitive attribute is passed on to other peers
// with the Partial bit set; an unknown optional non-transitive one is
// not passed on (RFC 4271 section 5).
func TestUnknownTransitivePassedOnPartial(t *testing.T) {
	addrC := netip.MustParseAddr("2001:13::c")
	h := newHarness(t, func(c *Config) {
		c.Peers = append(c.Peers, PeerConfig{Description: "as3rc (eBGP)", LocalAddr: netip.MustParseAddr("2001:13::a"),
			PeerAddr: addrC, PeerAS: 3, Interface: "as1ra-eth1", NextHop6: netip.MustParseAddr("2001:13::a"), Passive: true})
	})
	b := h.remote()
	h.establish(b, peerOpen(2, 180, "0.0.0.3"))
	expect[*wire.Update](b)
	expect[*wire.Update](b) // End-of-RIB

	c := h.inbound(addrC)
	c.send(peerOpen(3, 180, "0.0.0.4"))
	o := expect[*wire.Open](c)
	c.opts = wire.Negotiate(peerOpen(3, 180, "0.0.0.4"), o)
	expect[*wire.Keepalive](c)
	c.send(&wire.Keepalive{})
	h.waitState(addrC, Established)
	expect[*wire.Update](c)
	expect[*wire.Update](c) // End-of-RIB

	pfx := netip.MustParsePrefix("2001:1234:2::/64")
	transitive := wire.UnknownAttr{WireFlags: wire.FlagOptional | wire.FlagTransitive, TypeCode: 240, Value: []byte{1, 2, 3}}
	b.send(&wire.Update{Attrs: []wire.Attr{
		wire.Origin{}, wire.ASPath{Segments: []wire.ASSegment{{Type: wire.ASSequence, ASNs: []uint32{2}}}},
		wire.MPReachNLRI{AFI: wire.AFIIPv6, SAFI: wire.SAFIUnicast, NextHops: []netip.Addr{addrB}, NLRI: []netip.Prefix{pfx}},
		transitive,
		wire.UnknownAttr{WireFlags: wire.FlagOptional, TypeCode: 241, Value: []byte{4}},
	}})
	var got *wire.Update
	for got == nil {
		if u, ok := c.recv().(*wire.Update); ok {
			got = u
		}
	}
	if mp, ok := got.MPReach(); !ok || len(mp.NLRI) != 1 || mp.NLRI[0] != pfx {
		t.Fatalf("as3rc got %v, want %v", wire.Summary(got), pfx)
	}
	var unknown []wire.UnknownAttr
	for _, a := range got.Attrs {
		if u, ok := a.(wire.UnknownAttr); ok {
			unknown = append(unknown, u)
		}
	}
	want := []wire.UnknownAttr{{WireFlags: wire.FlagOptional | wire.FlagTransitive | wire.FlagPartial, TypeCode: 240, Value: []byte{1, 2, 3}}}
	if diff := cmp.Diff(want, unknown); diff != "" {
		t.Errorf("unknown attributes passed on (-want +got):\n%s", diff)
	}
}
