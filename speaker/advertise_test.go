package speaker

import (
	"net/netip"
	"slices"
	"strconv"
	"testing"

	"github.com/google/go-cmp/cmp"

	"lab/speaker/wire"
)

// The Adj-RIB-Out records what each advertisement was made from (the
// learned path's attribute set), not a second, exported copy: a path
// received again unchanged is not sent again, a changed one is, with next
// hop self, our AS prepended and the neighbour's MED removed; a local
// route keeps its MED.
func TestAdvertiseOnlyChanges(t *testing.T) {
	addrC := netip.MustParseAddr("2001:13::c")
	h := newHarness(t, func(c *Config) {
		c.Peers[0].Passive = true
		c.Peers = append(c.Peers, PeerConfig{Description: "as3rc (eBGP)", LocalAddr: netip.MustParseAddr("2001:13::a"), PeerAddr: addrC,
			PeerAS: 3, Interface: "as1ra-eth1", NextHop6: netip.MustParseAddr("2001:13::a"), Passive: true})
		c.Originate[0].MED, c.Originate[0].HasMED = 7, true
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
		return p
	}
	b := up(addrB, peerOpen(2, 180, "0.0.0.3"))
	c := up(addrC, peerOpen(3, 180, "0.0.0.4"))

	// The initial table: the local route with its MED, then End-of-RIB.
	for _, p := range []*scripted{b, c} {
		u := expect[*wire.Update](p)
		if got := summarize(u); got.med != "7" || !slices.Equal(got.nlri, []string{"2001:1234:1::/64"}) || got.path != "1" {
			t.Errorf("initial UPDATE %+v, want the local route with MED 7 and path 1", got)
		}
		if _, _, ok := expect[*wire.Update](p).IsEndOfRIB(); !ok {
			t.Error("no End-of-RIB after the initial table")
		}
	}

	pfxP, pfxQ := netip.MustParsePrefix("2001:1234:2::/64"), netip.MustParsePrefix("2001:1234:3::/64")
	announce := func(pfx netip.Prefix, med uint32, path ...uint32) {
		b.send(&wire.Update{Attrs: []wire.Attr{
			wire.MPReachNLRI{AFI: wire.AFIIPv6, SAFI: wire.SAFIUnicast, NextHops: []netip.Addr{addrB}, NLRI: []netip.Prefix{pfx}},
			wire.Origin{}, wire.ASPath{Segments: []wire.ASSegment{{Type: wire.ASSequence, ASNs: path}}}, wire.MED{Value: med},
		}})
	}
	want := func(pfx netip.Prefix, path string) {
		t.Helper()
		got := summarize(expect[*wire.Update](c))
		w := advSummary{nlri: []string{pfx.String()}, path: path, nh: "2001:13::a", med: "-"}
		if diff := cmp.Diff(w, got, cmp.AllowUnexported(advSummary{})); diff != "" {
			t.Errorf("UPDATE to C (-want +got):\n%s", diff)
		}
	}
	announce(pfxP, 5, 2)
	want(pfxP, "1 2")
	// The same path again changes nothing: C's next UPDATE is Q's.
	announce(pfxP, 5, 2)
	announce(pfxQ, 0, 2, 9)
	want(pfxQ, "1 2 9")
	// A new path for P is sent.
	announce(pfxP, 5, 2, 7)
	want(pfxP, "1 2 7")
	// And its withdrawal.
	b.send(&wire.Update{Attrs: []wire.Attr{wire.MPUnreachNLRI{AFI: wire.AFIIPv6, SAFI: wire.SAFIUnicast, Withdrawn: []netip.Prefix{pfxP}}}})
	u := expect[*wire.Update](c)
	if got := summarize(u); !slices.Equal(got.withdrawn, []string{pfxP.String()}) || len(got.nlri) != 0 {
		t.Errorf("UPDATE to C %+v, want the withdrawal of %v", got, pfxP)
	}
}

// advSummary is what TestAdvertiseOnlyChanges compares of an UPDATE.
type advSummary struct {
	nlri, withdrawn []string
	path, nh, med   string
}

func summarize(u *wire.Update) advSummary {
	s := advSummary{med: "-"}
	for _, a := range u.Attrs {
		switch a := a.(type) {
		case wire.MPReachNLRI:
			for _, p := range a.NLRI {
				s.nlri = append(s.nlri, p.String())
			}
			if len(a.NextHops) > 0 {
				s.nh = a.NextHops[0].String()
			}
		case wire.MPUnreachNLRI:
			for _, p := range a.Withdrawn {
				s.withdrawn = append(s.withdrawn, p.String())
			}
		case wire.ASPath:
			for _, seg := range a.Segments {
				for _, as := range seg.ASNs {
					if s.path != "" {
						s.path += " "
					}
					s.path += itoa(as)
				}
			}
		case wire.MED:
			s.med = itoa(a.Value)
		}
	}
	return s
}

func itoa(v uint32) string { return strconv.FormatUint(uint64(v), 10) }

// A group of prefixes with one attribute set that does not fit one
// message is split into as few UPDATEs as fit 4096 bytes; one that fits
// goes in one UPDATE.
func TestAdvertisePacking(t *testing.T) {
	var local []netip.Prefix
	h := newHarness(t, func(c *Config) {
		c.Originate = nil
		for i := range 1000 {
			p := netip.PrefixFrom(netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, byte(i >> 8), byte(i)}), 64)
			local = append(local, p)
			c.Originate = append(c.Originate, Origination{Prefix: p})
		}
	})
	p := h.remote()
	h.establish(p, peerOpen(2, 180, "0.0.0.3"))
	var got []netip.Prefix
	var sizes []int
	for {
		u := expect[*wire.Update](p)
		if _, _, ok := u.IsEndOfRIB(); ok {
			break
		}
		b, err := u.AppendTo(nil, &p.opts)
		if err != nil {
			t.Fatal(err)
		}
		sizes = append(sizes, len(b))
		r, _ := u.MPReach()
		got = append(got, r.NLRI...)
	}
	slices.SortFunc(got, func(a, b netip.Prefix) int { return a.Addr().Compare(b.Addr()) })
	if diff := cmp.Diff(local, got, cmp.Comparer(func(a, b netip.Prefix) bool { return a == b })); diff != "" {
		t.Errorf("advertised prefixes (-want +got):\n%s", diff)
	}
	// 1000 prefixes of 9 bytes: 3 messages of at most 4096 bytes.
	if len(sizes) != 3 {
		t.Errorf("%d UPDATEs of %v bytes, want 3", len(sizes), sizes)
	}
	for _, n := range sizes {
		if n > wire.MaxMessageLen {
			t.Errorf("UPDATE of %d bytes", n)
		}
	}
}
