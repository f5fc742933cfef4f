package ribwire

import (
	"math/rand/v2"
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"lab/speaker/rib"
	"lab/speaker/wire"
)

// randomUpdate builds an UPDATE of the kinds a lab and its external peers
// send: the attributes the fast decoder takes, in any order, and now and
// then one it leaves to the general path.
func randomUpdate(rng *rand.Rand) *wire.Update {
	u := &wire.Update{}
	pfx4 := func() netip.Prefix {
		return netip.PrefixFrom(netip.AddrFrom4([4]byte{byte(1 + rng.IntN(223)), byte(rng.IntN(256)), byte(rng.IntN(256)), byte(rng.IntN(256))}), rng.IntN(33)).Masked()
	}
	pfx6 := func() netip.Prefix {
		var b [16]byte
		b[0], b[1] = 0x20, 0x01
		for i := 2; i < 16; i++ {
			b[i] = byte(rng.IntN(256))
		}
		return netip.PrefixFrom(netip.AddrFrom16(b), rng.IntN(129)).Masked()
	}
	some := func(f func() netip.Prefix) []netip.Prefix {
		out := make([]netip.Prefix, rng.IntN(5))
		for i := range out {
			out[i] = f()
		}
		return out
	}
	switch rng.IntN(12) {
	case 0: // End-of-RIB markers
		if rng.IntN(2) == 0 {
			return wire.NewEndOfRIB(wire.AFIIPv4, wire.SAFIUnicast)
		}
		return wire.NewEndOfRIB(wire.AFIIPv6, wire.SAFIUnicast)
	case 1: // withdrawals only
		u.Withdrawn = some(pfx4)
		if rng.IntN(2) == 0 {
			u.Attrs = append(u.Attrs, wire.MPUnreachNLRI{AFI: wire.AFIIPv6, SAFI: wire.SAFIUnicast, Withdrawn: some(pfx6)})
		}
		return u
	}
	var attrs []wire.Attr
	attrs = append(attrs, wire.Origin{Value: wire.OriginValue(rng.IntN(3))})
	var segs []wire.ASSegment
	for range rng.IntN(4) {
		t := wire.ASSequence
		if rng.IntN(5) == 0 {
			t = wire.SegmentType(1 + rng.IntN(4))
		}
		asns := make([]uint32, 1+rng.IntN(6))
		for i := range asns {
			asns[i] = 1 + rng.Uint32N(1<<31)
		}
		segs = append(segs, wire.ASSegment{Type: t, ASNs: asns})
	}
	attrs = append(attrs, wire.ASPath{Segments: segs})
	if rng.IntN(2) == 0 {
		attrs = append(attrs, wire.MED{Value: rng.Uint32()})
	}
	if rng.IntN(2) == 0 {
		attrs = append(attrs, wire.LocalPref{Value: rng.Uint32()})
	}
	if rng.IntN(4) == 0 {
		attrs = append(attrs, wire.AtomicAggregate{})
	}
	if rng.IntN(3) == 0 {
		cs := make([]wire.Community, 1+rng.IntN(4))
		for i := range cs {
			cs[i] = wire.Community(rng.Uint32())
		}
		attrs = append(attrs, wire.Communities{Values: cs})
	}
	if rng.IntN(3) == 0 {
		ls := make([]wire.LargeCommunity, 1+rng.IntN(3))
		for i := range ls {
			ls[i] = wire.LargeCommunity{GlobalAdmin: rng.Uint32(), LocalData1: rng.Uint32(), LocalData2: rng.Uint32()}
		}
		attrs = append(attrs, wire.LargeCommunities{Values: ls})
	}
	// Attributes the fast path leaves to the general one.
	switch rng.IntN(10) {
	case 0:
		attrs = append(attrs, wire.Aggregator{AS: 1 + rng.Uint32N(1000), Addr: netip.AddrFrom4([4]byte{10, 0, 0, 1})})
	case 1:
		attrs = append(attrs, wire.ExtendedCommunities{Values: []wire.ExtendedCommunity{{0, 2, 0, 1, 0, 0, 0, 7}}})
	case 2:
		attrs = append(attrs, wire.UnknownAttr{TypeCode: 99, WireFlags: wire.FlagOptional | wire.FlagTransitive, Value: []byte{1, 2}})
	case 3:
		attrs = append(attrs, wire.OriginatorID{ID: netip.AddrFrom4([4]byte{10, 0, 0, 9})})
	}
	if rng.IntN(2) == 0 {
		u.NLRI = some(pfx4)
		u.Withdrawn = some(pfx4)
		nh := netip.AddrFrom4([4]byte{byte(1 + rng.IntN(230)), 0, 0, 1}) // 224 and up are martians
		attrs = append(attrs, wire.NextHop{Addr: nh})
	} else {
		nhs := []netip.Addr{netip.MustParseAddr("2001:db8::1")}
		switch rng.IntN(4) {
		case 0:
			nhs = append(nhs, netip.MustParseAddr("fe80::1"))
		case 1:
			nhs = []netip.Addr{netip.MustParseAddr("fe80::2")}
		case 2:
			nhs = []netip.Addr{netip.MustParseAddr("::ffff:10.0.0.1")}
		}
		attrs = append([]wire.Attr{wire.MPReachNLRI{AFI: wire.AFIIPv6, SAFI: wire.SAFIUnicast, NextHops: nhs, NLRI: some(pfx6)}}, attrs...)
		if rng.IntN(4) == 0 {
			attrs = append(attrs, wire.MPUnreachNLRI{AFI: wire.AFIIPv6, SAFI: wire.SAFIUnicast, Withdrawn: some(pfx6)})
		}
	}
	rng.Shuffle(len(attrs), func(i, j int) { attrs[i], attrs[j] = attrs[j], attrs[i] })
	u.Attrs = attrs
	return u
}

// The fast decoder's result is the general path's (wire.Parse, then
// convertIn), on well-formed UPDATEs and on damaged ones; and what it
// takes, the general path takes without error.
func TestFastDecodeMatch(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	in := rib.NewInterner()
	cfg := struct{ Interface string }{"eth0"}
	var d Decoder
	cmpOpts := []cmp.Option{
		cmp.AllowUnexported(Part{}, Update{}),
		cmpopts.IgnoreFields(Update{}, "pooled", "partBuf", "pfxBuf"),
		cmpopts.IgnoreUnexported(rib.Attrs{}),
		cmpopts.EquateEmpty(),
		cmp.Comparer(func(a, b netip.Addr) bool { return a == b }),
		cmp.Comparer(func(a, b netip.Prefix) bool { return a == b }),
		cmp.Transformer("attrs", func(a *rib.Attrs) *rib.Attrs {
			if a == nil {
				return nil
			}
			c := a.Copy()
			return &c
		}),
	}
	fast, general := 0, 0
	for i := range 20000 {
		u := randomUpdate(rng)
		o := &wire.Options{AS4: rng.IntN(8) != 0}
		b, err := u.AppendTo(nil, o)
		if err != nil {
			t.Fatalf("case %d: encoding: %v", i, err)
		}
		if rng.IntN(3) == 0 {
			// Damage: a byte changed, or the message cut short (its
			// length fixed up, as the reader checked it).
			if rng.IntN(2) == 0 && len(b) > wire.HeaderLen {
				b[wire.HeaderLen+rng.IntN(len(b)-wire.HeaderLen)] = byte(rng.IntN(256))
			} else if len(b) > wire.HeaderLen+4 {
				b = b[:wire.HeaderLen+4+rng.IntN(len(b)-wire.HeaderLen-4)]
				b[16], b[17] = byte(len(b)>>8), byte(len(b))
			}
		}
		ibgp := rng.IntN(2) == 0
		got, ok := d.Decode(in, b, o, cfg.Interface, ibgp)
		if !ok {
			general++
			continue
		}
		fast++
		m, perr := wire.Parse(b, o)
		if perr != nil {
			t.Fatalf("case %d: the fast path took an UPDATE the general one finds faulty (%v):\n%x", i, perr, b)
		}
		want := Convert(m.(*wire.Update), o, nil, cfg.Interface, ibgp)
		if diff := cmp.Diff(want, got, cmpOpts...); diff != "" {
			t.Fatalf("case %d (ibgp %v) (-general +fast):\n%s\n%x", i, ibgp, diff, b)
		}
		got.Release(in)
		got.Done()
	}
	if fast < 5000 || general < 2000 {
		t.Errorf("fast path took %d UPDATEs, the general one %d: the cases do not exercise both", fast, general)
	}
	if n := in.Len(); n != 0 {
		t.Errorf("%d sets left interned after every update was released", n)
	}
}

func BenchmarkDecodeUpdate(b *testing.B) {
	u := &wire.Update{Attrs: []wire.Attr{
		wire.MPReachNLRI{AFI: wire.AFIIPv6, SAFI: wire.SAFIUnicast, NextHops: []netip.Addr{netip.MustParseAddr("2001:db8::1"), netip.MustParseAddr("fe80::1")},
			NLRI: []netip.Prefix{netip.MustParsePrefix("2001:db8:7::/48")}},
		wire.Origin{}, wire.ASPath{Segments: []wire.ASSegment{{Type: wire.ASSequence, ASNs: []uint32{4200000001, 4200000003, 4200000017}}}},
	}}
	o := &wire.Options{AS4: true}
	msg, err := u.AppendTo(nil, o)
	if err != nil {
		b.Fatal(err)
	}
	in := rib.NewInterner()
	cfg := struct{ Interface string }{"eth0"}
	b.Run("fast", func(b *testing.B) {
		var d Decoder
		b.ReportAllocs()
		for b.Loop() {
			u, _ := d.Decode(in, msg, o, cfg.Interface, false)
			u.Release(in)
			u.Done()
		}
	})
	b.Run("general", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			m, err := wire.Parse(msg, o)
			u := Convert(m.(*wire.Update), o, err, cfg.Interface, false)
			u.Intern(in)
			u.Release(in)
		}
	})
}
