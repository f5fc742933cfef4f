package ribwire

import (
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"

	"lab/speaker/wire"
)

// The reflection attributes (RFC 4456) of an iBGP UPDATE reach the RIB
// and come back out as they were, and every attribute is sent in type
// code order, those carried opaquely included (an unknown optional
// transitive one above LARGE_COMMUNITY's code goes after it).
func TestReflectionAttrsRoundTrip(t *testing.T) {
	o := &wire.Options{AS4: true}
	in := &wire.Update{Attrs: []wire.Attr{
		wire.Origin{}, wire.ASPath{Segments: []wire.ASSegment{{Type: wire.ASSequence, ASNs: []uint32{65002}}}},
		wire.NextHop{Addr: netip.MustParseAddr("10.0.0.2")}, wire.LocalPref{Value: 120},
		wire.Communities{Values: []wire.Community{65002<<16 | 7}},
		wire.OriginatorID{ID: netip.MustParseAddr("10.0.0.9")},
		wire.ClusterList{IDs: []netip.Addr{netip.MustParseAddr("1.1.1.1"), netip.MustParseAddr("2.2.2.2")}},
		wire.LargeCommunities{Values: []wire.LargeCommunity{{GlobalAdmin: 65002, LocalData1: 1, LocalData2: 2}}},
		wire.UnknownAttr{TypeCode: 99, WireFlags: wire.FlagOptional | wire.FlagTransitive, Value: []byte{1, 2}},
	}, NLRI: []netip.Prefix{netip.MustParsePrefix("10.9.0.0/16")}}
	b, err := in.AppendTo(nil, o)
	if err != nil {
		t.Fatal(err)
	}
	m, err := wire.Parse(b, o)
	if err != nil {
		t.Fatal(err)
	}
	u := Convert(m.(*wire.Update), o, nil, "", true)
	a := u.Parts[0].Attrs
	x := a.Extra()
	if x.OriginatorID != netip.MustParseAddr("10.0.0.9") || !cmp.Equal(x.ClusterList, []uint32{0x01010101, 0x02020202}) {
		t.Fatalf("reflection attributes in the RIB: originator %v, cluster list %x", x.OriginatorID, x.ClusterList)
	}
	out := wireAttrs(a, netip.MustParseAddr("10.0.0.2"))
	var codes []wire.AttrCode
	for _, at := range out {
		codes = append(codes, at.Code())
	}
	want := []wire.AttrCode{wire.AttrOrigin, wire.AttrASPath, wire.AttrNextHop, wire.AttrLocalPref, wire.AttrCommunities,
		wire.AttrOriginatorID, wire.AttrClusterList, wire.AttrLargeCommunity, 99}
	if diff := cmp.Diff(want, codes); diff != "" {
		t.Errorf("attribute order (-want +got):\n%s", diff)
	}
	rb, err := (&wire.Update{Attrs: out, NLRI: in.NLRI}).AppendTo(nil, o)
	if err != nil {
		t.Fatal(err)
	}
	back, err := wire.Parse(rb, o)
	if err != nil {
		t.Fatal(err)
	}
	// Passed on, the unknown optional transitive attribute gets the
	// Partial bit (RFC 4271 section 5): set it on what was received.
	recv := m.(*wire.Update)
	for i, at := range recv.Attrs {
		if u, ok := at.(wire.UnknownAttr); ok {
			u.WireFlags |= wire.FlagPartial
			recv.Attrs[i] = u
		}
	}
	if diff := cmp.Diff(recv, back, cmp.Comparer(func(a, b netip.Addr) bool { return a == b }),
		cmp.Comparer(func(a, b netip.Prefix) bool { return a == b })); diff != "" {
		t.Errorf("re-encoded UPDATE (-received +sent):\n%s", diff)
	}
}
