package ribwire

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"testing"

	"lab/speaker/rib"
	"lab/speaker/wire"
)

// generalAdverts is what advertise sends without the fast encoder: the
// attribute set rendered as wire.Attrs, one UPDATE when it fits, else the
// UPDATEs buildUpdates splits.
func generalAdverts(t *testing.T, fam wire.Family, a *rib.Attrs, prepend uint32, nh4 netip.Addr, mp []netip.Addr, pfxs []netip.Prefix, o *wire.Options) [][]byte {
	t.Helper()
	e := a.Copy()
	if prepend != 0 {
		e.ASPath = rib.Prepend(e.ASPath, prepend, 1)
	}
	attrs := wireAttrs(&e, nh4)
	if b, err := newUpdate(fam, attrs, mp, pfxs).AppendTo(nil, o); err == nil {
		return [][]byte{b}
	}
	us, err := buildUpdates(fam, attrs, mp, pfxs, o)
	if err != nil {
		t.Fatalf("general path: %v", err)
	}
	var out [][]byte
	for _, u := range us {
		b, err := u.AppendTo(nil, o)
		if err != nil {
			t.Fatalf("general path: %v", err)
		}
		out = append(out, b)
	}
	return out
}

// The fast encoder writes the general path's bytes, for every kind of
// attribute set it accepts, both families, both message sizes, and groups
// of prefixes that need splitting.
func TestFastAdvertsMatch(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	asns := func(n int) []uint32 {
		out := make([]uint32, n)
		for i := range out {
			out[i] = rng.Uint32N(1 << 31)
		}
		return out
	}
	var e Encoder
	for i := range 3000 {
		a := &rib.Attrs{Origin: rib.Origin(rng.IntN(3))}
		switch rng.IntN(6) {
		case 0: // empty path (local route)
		case 1:
			a.ASPath = []rib.Segment{{Type: rib.SegSequence, ASNs: asns(1 + rng.IntN(6))}}
		case 2: // a full leading sequence: the prepend starts a new one
			a.ASPath = []rib.Segment{{Type: rib.SegSequence, ASNs: asns(255)}}
		case 3: // longer than a segment holds: split
			a.ASPath = []rib.Segment{{Type: rib.SegSequence, ASNs: asns(300)}}
		case 4:
			a.ASPath = []rib.Segment{{Type: rib.SegSet, ASNs: asns(3)}, {Type: rib.SegSequence, ASNs: asns(2)}}
		case 5:
			a.ASPath = []rib.Segment{{Type: rib.SegConfedSequence, ASNs: asns(2)}, {Type: rib.SegSequence, ASNs: asns(3)},
				{Type: rib.SegSequence}, {Type: rib.SegConfedSet, ASNs: asns(1)}}
		}
		a.HasMED, a.MED = rng.IntN(2) == 0, rng.Uint32()
		a.HasLocalPref, a.LocalPref = rng.IntN(2) == 0, rng.Uint32()
		a.AtomicAggregate = rng.IntN(4) == 0
		if rng.IntN(3) == 0 {
			a.MutableExtra().Communities = asns([]int{1, 3, 70}[rng.IntN(3)])
		}
		if rng.IntN(3) == 0 {
			for range []int{1, 2, 30}[rng.IntN(3)] {
				x := a.MutableExtra()
				x.LargeCommunities = append(x.LargeCommunities, rib.LargeCommunity{Global: rng.Uint32(), Local1: rng.Uint32(), Local2: rng.Uint32()})
			}
		}
		var prepend uint32
		if rng.IntN(3) > 0 {
			prepend = rng.Uint32N(1 << 31)
		}
		o := &wire.Options{AS4: true, ExtendedMessage: rng.IntN(4) == 0}
		n := []int{1, 2, 5, 40, 300, 2000}[rng.IntN(6)]
		fam := wire.IPv4Unicast
		var nh4 netip.Addr
		var mp []netip.Addr
		pfxs := make([]netip.Prefix, n)
		if rng.IntN(2) == 0 {
			nh4 = netip.AddrFrom4([4]byte{10, 0, byte(i), 1})
			for j := range pfxs {
				bits := 8 + rng.IntN(25)
				pfxs[j] = netip.PrefixFrom(netip.AddrFrom4([4]byte{byte(rng.IntN(224)), byte(j >> 8), byte(j), byte(rng.IntN(256))}), bits).Masked()
			}
		} else {
			fam = wire.IPv6Unicast
			mp = []netip.Addr{netip.MustParseAddr(fmt.Sprintf("2001:db8:%x::1", i))}
			if rng.IntN(2) == 0 {
				mp = append(mp, netip.MustParseAddr(fmt.Sprintf("fe80::%x", i+1)))
			}
			for j := range pfxs {
				var b [16]byte
				b[0], b[1], b[2], b[3], b[4], b[5] = 0x20, 0x01, 0x0d, byte(j>>8), byte(j), byte(rng.IntN(256))
				pfxs[j] = netip.PrefixFrom(netip.AddrFrom16(b), 16+rng.IntN(113)).Masked()
			}
		}
		want := generalAdverts(t, fam, a, prepend, nh4, mp, pfxs, o)
		var got [][]byte
		if !e.fastAdverts(fam, a, prepend, nh4, mp, pfxs, o, func(b []byte) { got = append(got, bytes.Clone(b)) }) {
			t.Fatalf("case %d: the fast encoder refused %+v", i, a)
		}
		if len(got) != len(want) {
			t.Fatalf("case %d (%v, %d prefixes, max %d): %d messages, want %d", i, fam, n, o.MaxLen(), len(got), len(want))
		}
		for j := range want {
			if !bytes.Equal(got[j], want[j]) {
				t.Fatalf("case %d (%v, %+v, prepend %d), message %d:\n got %x\nwant %x", i, fam, a, prepend, j, got[j], want[j])
			}
		}
	}
}

// What the fast encoder does not handle, it leaves to the general path
// without emitting anything.
func TestFastAdvertsRefuses(t *testing.T) {
	var e Encoder
	pfx4 := []netip.Prefix{netip.MustParsePrefix("10.1.0.0/24")}
	pfx6 := []netip.Prefix{netip.MustParsePrefix("2001:db8:1::/48")}
	nh4 := netip.MustParseAddr("10.0.0.1")
	mp := []netip.Addr{netip.MustParseAddr("2001:db8::1")}
	as4 := &wire.Options{AS4: true}
	a := &rib.Attrs{ASPath: []rib.Segment{{Type: rib.SegSequence, ASNs: []uint32{2}}}}
	if fastEncodable(a, &wire.Options{}) {
		t.Error("a 2-octet AS session is fast-encodable")
	}
	if fastEncodable(&rib.Attrs{Ext: &rib.Ext{Other: "\xc0\x10\x08"}}, as4) {
		t.Error("a set with opaque attributes is fast-encodable")
	}
	for name, c := range map[string]struct {
		fam  wire.Family
		a    *rib.Attrs
		nh4  netip.Addr
		mp   []netip.Addr
		pfxs []netip.Prefix
	}{
		"no IPv4 next hop":          {wire.IPv4Unicast, a, netip.Addr{}, nil, pfx4},
		"no IPv6 next hop":          {wire.IPv6Unicast, a, netip.Addr{}, nil, pfx6},
		"IPv4 next hop in MP_REACH": {wire.IPv6Unicast, a, netip.Addr{}, []netip.Addr{nh4}, pfx6},
		"prefix of another family":  {wire.IPv4Unicast, a, nh4, nil, pfx6},
		"other family":              {wire.Family{AFI: wire.AFIIPv4, SAFI: 2}, a, netip.Addr{}, mp, pfx4},
		"AS_SET over 255":           {wire.IPv4Unicast, &rib.Attrs{ASPath: []rib.Segment{{Type: rib.SegSet, ASNs: make([]uint32, 256)}}}, nh4, nil, pfx4},
		"bad segment type":          {wire.IPv4Unicast, &rib.Attrs{ASPath: []rib.Segment{{Type: 9, ASNs: []uint32{1}}}}, nh4, nil, pfx4},
	} {
		emitted := false
		if e.fastAdverts(c.fam, c.a, 0, c.nh4, c.mp, c.pfxs, as4, func([]byte) { emitted = true }) || emitted {
			t.Errorf("%s: encoded", name)
		}
	}
}

func BenchmarkFastAdverts(b *testing.B) {
	a := &rib.Attrs{Origin: rib.OriginIGP, ASPath: []rib.Segment{{Type: rib.SegSequence, ASNs: []uint32{4200000003, 4200000017}}}}
	pfxs := []netip.Prefix{netip.MustParsePrefix("2001:db8:7::/48")}
	mp := []netip.Addr{netip.MustParseAddr("2001:db8:ffff::1"), netip.MustParseAddr("fe80::1")}
	o := &wire.Options{AS4: true}
	b.Run("fast", func(b *testing.B) {
		var e Encoder
		b.ReportAllocs()
		for b.Loop() {
			e.fastAdverts(wire.IPv6Unicast, a, 4200000001, netip.Addr{}, mp, pfxs, o, func([]byte) {})
		}
	})
	b.Run("general", func(b *testing.B) {
		var enc []byte
		b.ReportAllocs()
		for b.Loop() {
			e := a.Copy()
			e.ASPath = rib.Prepend(e.ASPath, 4200000001, 1)
			enc, _ = newUpdate(wire.IPv6Unicast, wireAttrs(&e, netip.Addr{}), mp, pfxs).AppendTo(enc[:0], o)
		}
	})
}
