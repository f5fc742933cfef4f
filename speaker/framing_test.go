package speaker

import (
	"encoding/binary"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"lab/speaker/wire"
)

// RFC 7606 section 4: a path attribute whose header is cut short by the
// end of the attribute list (fewer than 3 bytes left, or 3 when the
// Extended Length bit asks for 4) makes the UPDATE a treat-as-withdraw:
// its routes are withdrawn, the session stays up, and the NLRI is found
// through the Total Path Attribute Length. Each case: a route from b,
// then the same route in an UPDATE whose attribute list ends with a cut
// header; c must see the withdrawal.
func TestTruncatedAttributeHeader(t *testing.T) {
	pfx := netip.MustParsePrefix("2001:db8:1::/48")
	for _, tail := range [][]byte{{0x40}, {0x40, 0x04}, {0x90, 0x04, 0x00}} {
		l := newPolicyLab(t, nil)
		announce(l.b, addrB, pfx, []uint32{2})
		if got := nextAdvertised(t, l.c); !slices.Contains(got, pfx.String()) {
			t.Fatalf("c got %v, want %v", got, pfx)
		}
		good, err := (&wire.Update{Attrs: []wire.Attr{
			wire.MPReachNLRI{AFI: wire.AFIIPv6, SAFI: wire.SAFIUnicast, NextHops: []netip.Addr{addrB}, NLRI: []netip.Prefix{pfx}},
			wire.Origin{}, wire.ASPath{Segments: []wire.ASSegment{{Type: wire.ASSequence, ASNs: []uint32{2, 7}}}},
		}}).AppendTo(nil, &l.b.opts)
		if err != nil {
			t.Fatal(err)
		}
		// Append the cut header to the attributes (there is no classic
		// NLRI: they end the message) and fix both lengths.
		b := append(good, tail...)
		binary.BigEndian.PutUint16(b[16:], uint16(len(b)))
		alen := binary.BigEndian.Uint16(b[wire.HeaderLen+2:])
		binary.BigEndian.PutUint16(b[wire.HeaderLen+2:], alen+uint16(len(tail)))
		l.b.sendRaw(b)
		u := summarize(expect[*wire.Update](l.c))
		if !slices.Equal(u.withdrawn, []string{pfx.String()}) || len(u.nlri) != 0 {
			t.Errorf("tail % x: c got %+v, want the withdrawal of %v", tail, u, pfx)
		}
		if n, _ := l.h.sp.Neighbor(l.h.ctx(), addrB); n.State != Established {
			t.Errorf("tail % x: session with b is %v, want it Established", tail, n.State)
		}
		if logs := strings.Join(l.h.sp.LogLines(), "\n"); !strings.Contains(logs, "treat-as-withdraw") {
			t.Errorf("tail % x: the log says nothing of the error:\n%s", tail, logs)
		}
	}
}
