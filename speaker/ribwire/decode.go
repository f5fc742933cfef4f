package ribwire

import (
	"encoding/binary"
	"net/netip"
	"slices"

	"lab/speaker/rib"
	"lab/speaker/wire"
)

// A connection's reader decodes the commonest UPDATEs straight into RIB
// terms (Decoder), without a wire.Update of wire.Attr values in
// between: a 200-router lab receives hundreds of thousands of UPDATEs,
// and the general path (wire.Parse, convertIn) allocates a dozen objects
// for each. The fast path takes only well-formed UPDATEs of a 4-octet AS
// session made of the attributes a lab's routes carry; anything else —
// an error of any kind, another attribute, another family — goes the
// general way, which handles it as RFC 7606 says. Its result is the
// general path's (TestFastDecodeMatch).

// Decoder holds the scratch space of one reader goroutine.
type Decoder struct {
	asns  []uint32
	segs  []rib.Segment
	comms []uint32
	large []rib.LargeCommunity
	// ll is the last link-local next hop zoned, and llRaw and llIface
	// what it was made of: a session's UPDATEs carry the same one, and
	// zoning an address interns its zone's name (a lookup in a map the
	// whole process shares) every time.
	ll, llRaw netip.Addr
	llIface   string
}

// Attribute type codes the fast decoder knows.
const (
	attrOrigin      = byte(wire.AttrOrigin)
	attrASPath      = byte(wire.AttrASPath)
	attrNextHop     = byte(wire.AttrNextHop)
	attrMED         = byte(wire.AttrMED)
	attrLocalPref   = byte(wire.AttrLocalPref)
	attrAtomicAggr  = byte(wire.AttrAtomicAggregate)
	attrCommunities = byte(wire.AttrCommunities)
	attrMPReach     = byte(wire.AttrMPReachNLRI)
	attrMPUnreach   = byte(wire.AttrMPUnreachNLRI)
	attrLargeComm   = byte(wire.AttrLargeCommunity)
)

// Decode decodes the UPDATE b (the whole message, header included, its
// length checked) received on a session with options o, over interface
// iface, from an iBGP peer when ibgp. It returns the update in RIB terms
// — its attribute sets interned in in, a reference each that the update
// owns (Update.Release) — or false when the general path must decode
// it.
func (d *Decoder) Decode(in *rib.Interner, b []byte, o *wire.Options, iface string, ibgp bool) (*Update, bool) {
	if !o.AS4 || len(b) < wire.HeaderLen+4 || b[wire.HeaderLen-1] != byte(wire.TypeUpdate) {
		return nil, false
	}
	body := b[wire.HeaderLen:]
	wlen := int(binary.BigEndian.Uint16(body))
	if len(body)-4 < wlen {
		return nil, false
	}
	alen := int(binary.BigEndian.Uint16(body[2+wlen:]))
	if len(body)-4-wlen < alen {
		return nil, false
	}
	u := updatePool.Get().(*Update)
	u.pooled = true
	ok := false
	defer func() {
		if !ok {
			u.Done()
		}
	}()
	// Every prefix of the UPDATE goes to u.pfxBuf; the lists are cut out
	// of it at the end, once it no longer moves.
	var withdrawn, nlri, reachNLRI, unreachNLRI span
	if withdrawn, ok = u.decodePrefixes(body[2:2+wlen], false); !ok {
		return nil, false
	}
	if nlri, ok = u.decodePrefixes(body[4+wlen+alen:], false); !ok {
		return nil, false
	}
	ok = false

	var (
		a                rib.Attrs
		seen             uint64 // by type code, all below 64
		nh4              netip.Addr
		reach, unreach   bool
		reachNH, reachLL netip.Addr
	)
	d.asns, d.segs, d.comms, d.large = d.asns[:0], d.segs[:0], d.comms[:0], d.large[:0]
	attrs := body[4+wlen : 4+wlen+alen]
	for i := 0; i < len(attrs); {
		if len(attrs)-i < 3 {
			return nil, false
		}
		flags, code := attrs[i], attrs[i+1]
		hl, vlen := 3, int(attrs[i+2])
		if flags&flagExtLen != 0 {
			if len(attrs)-i < 4 {
				return nil, false
			}
			hl, vlen = 4, int(binary.BigEndian.Uint16(attrs[i+2:]))
		}
		if len(attrs)-i-hl < vlen || code >= 64 || seen&(1<<code) != 0 {
			return nil, false
		}
		seen |= 1 << code
		v := attrs[i+hl : i+hl+vlen]
		i += hl + vlen
		// The Optional and Transitive bits must be the attribute's own
		// (RFC 7606 section 3 c); the Partial bit is ignored, as the
		// general decoder does.
		ot := flags & (flagOptional | flagTransitive)
		switch code {
		case attrOrigin:
			if ot != flagTransitive || len(v) != 1 || v[0] > 2 {
				return nil, false
			}
			a.Origin = rib.Origin(v[0])
		case attrASPath:
			if ot != flagTransitive || !d.segments(v) {
				return nil, false
			}
		case attrNextHop:
			if ot != flagTransitive || len(v) != 4 || v[0] == 0 || v[0] == 127 || v[0] >= 224 {
				return nil, false // a martian next hop: the general path's error
			}
			nh4 = netip.AddrFrom4([4]byte(v))
		case attrMED:
			if ot != flagOptional || len(v) != 4 {
				return nil, false
			}
			a.MED, a.HasMED = binary.BigEndian.Uint32(v), true
		case attrLocalPref:
			if ot != flagTransitive || len(v) != 4 {
				return nil, false
			}
			// LOCAL_PREF from an external peer is ignored (RFC 4271
			// section 5.1.5).
			if ibgp {
				a.LocalPref, a.HasLocalPref = binary.BigEndian.Uint32(v), true
			}
		case attrAtomicAggr:
			if ot != flagTransitive || len(v) != 0 {
				return nil, false
			}
			a.AtomicAggregate = true
		case attrCommunities:
			if ot != flagOptional|flagTransitive || len(v) == 0 || len(v)%4 != 0 {
				return nil, false
			}
			for j := 0; j < len(v); j += 4 {
				d.comms = append(d.comms, binary.BigEndian.Uint32(v[j:]))
			}
		case attrLargeComm:
			if ot != flagOptional|flagTransitive || len(v) == 0 || len(v)%12 != 0 {
				return nil, false
			}
			for j := 0; j < len(v); j += 12 {
				d.large = append(d.large, rib.LargeCommunity{Global: binary.BigEndian.Uint32(v[j:]),
					Local1: binary.BigEndian.Uint32(v[j+4:]), Local2: binary.BigEndian.Uint32(v[j+8:])})
			}
		case attrMPReach:
			// IPv6 unicast with a 16- or 32-byte next hop only.
			if ot != flagOptional || len(v) < 5 || binary.BigEndian.Uint16(v) != uint16(wire.AFIIPv6) || v[2] != byte(wire.SAFIUnicast) {
				return nil, false
			}
			nhl := int(v[3])
			if (nhl != 16 && nhl != 32) || len(v)-5 < nhl {
				return nil, false
			}
			nhs := [2]netip.Addr{netip.AddrFrom16([16]byte(v[4:]))}
			if nhl == 32 {
				nhs[1] = netip.AddrFrom16([16]byte(v[20:]))
			}
			reachNH, reachLL = mpNextHops(nhs[:nhl/16], "")
			if reachLL.IsValid() && iface != "" {
				if reachLL != d.llRaw || iface != d.llIface {
					d.ll, d.llRaw, d.llIface = reachLL.WithZone(iface), reachLL, iface
				}
				reachLL = d.ll
			}
			var good bool
			if reachNLRI, good = u.decodePrefixes(v[5+nhl:], true); !good {
				return nil, false
			}
			reach = true
		case attrMPUnreach:
			if ot != flagOptional || len(v) < 3 || binary.BigEndian.Uint16(v) != uint16(wire.AFIIPv6) || v[2] != byte(wire.SAFIUnicast) {
				return nil, false
			}
			var good bool
			if unreachNLRI, good = u.decodePrefixes(v[3:], true); !good {
				return nil, false
			}
			unreach = true
		default:
			return nil, false
		}
	}
	v6fam := wire.IPv6Unicast
	u.Parts = u.partBuf[:0]
	// End-of-RIB (RFC 4724 section 2): an empty UPDATE, or one with an
	// empty MP_UNREACH_NLRI alone.
	if withdrawn.empty() && nlri.empty() {
		switch {
		case seen == 0:
			u.Parts = append(u.Parts, Part{Family: wire.IPv4Unicast, EndOfRIB: true})
			ok = true
			return u, true
		case seen == 1<<attrMPUnreach && unreachNLRI.empty():
			u.Parts = append(u.Parts, Part{Family: v6fam, EndOfRIB: true})
			ok = true
			return u, true
		}
	}
	// Mandatory attributes (RFC 4271 section 6.3, RFC 7606 section 3 d):
	// their absence is the general path's treat-as-withdraw.
	const origin, path, nh = 1 << attrOrigin, 1 << attrASPath, 1 << attrNextHop
	if !nlri.empty() && seen&(origin|path|nh) != origin|path|nh || reach && seen&(origin|path) != origin|path {
		return nil, false
	}
	if len(d.segs) > 0 {
		a.ASPath = d.segs
	}
	if len(d.comms) > 0 || len(d.large) > 0 {
		// Rare in a lab; Intern copies it when the set is new.
		a.Ext = &rib.Ext{}
		if len(d.comms) > 0 {
			a.Ext.Communities = d.comms
		}
		if len(d.large) > 0 {
			a.Ext.LargeCommunities = d.large
		}
	}
	if !nlri.empty() || !withdrawn.empty() {
		part := Part{Family: wire.IPv4Unicast, Withdrawn: u.cut(withdrawn)}
		if !nlri.empty() {
			// Intern copies a set it does not hold yet: the scratch
			// slices are the decoder's again for the next UPDATE.
			part.Attrs, part.NextHop, part.NLRI = in.Intern(&a), nh4, u.cut(nlri)
		}
		u.Parts = append(u.Parts, part)
	}
	if reach {
		u.Parts = append(u.Parts, Part{Family: v6fam, Attrs: in.Intern(&a), NextHop: reachNH, LinkLocal: reachLL, NLRI: u.cut(reachNLRI)})
	}
	if unreach {
		u.Parts = append(u.Parts, Part{Family: v6fam, Withdrawn: u.cut(unreachNLRI)})
	}
	ok = true
	return u, true
}

// span is a range of an update's prefix buffer.
type span struct{ start, end int }

func (s span) empty() bool { return s.start == s.end }

// cut returns the prefixes of s, or nil for none (as the general path).
func (u *Update) cut(s span) []netip.Prefix {
	if s.empty() {
		return nil
	}
	return u.pfxBuf[s.start:s.end:s.end]
}

// segments decodes a 4-octet AS_PATH into d.segs and d.asns, as the
// general decoder does; false for what it finds malformed.
func (d *Decoder) segments(v []byte) bool {
	for i := 0; i < len(v); {
		if len(v)-i < 2 {
			return false
		}
		t, n := v[i], int(v[i+1])
		if t < rib.SegSet || t > rib.SegConfedSet || n == 0 || len(v)-i-2 < 4*n {
			return false
		}
		start := len(d.asns)
		for j := range n {
			as := binary.BigEndian.Uint32(v[i+2+4*j:])
			if as == 0 {
				return false // RFC 7607 section 2
			}
			d.asns = append(d.asns, as)
		}
		d.segs = append(d.segs, rib.Segment{Type: t, ASNs: d.asns[start:len(d.asns):len(d.asns)]})
		i += 2 + 4*n
	}
	// d.asns may have moved while growing: point the segments at its
	// final array.
	k := 0
	for j := range d.segs {
		n := len(d.segs[j].ASNs)
		d.segs[j].ASNs = d.asns[k : k+n : k+n]
		k += n
	}
	return true
}

// decodePrefixes decodes NLRI as the general decoder does (host bits
// past the length cleared), appending them to u's prefix buffer, and
// returns their span; false for what it finds malformed.
func (u *Update) decodePrefixes(b []byte, v6 bool) (span, bool) {
	start := len(u.pfxBuf)
	if len(b) == 0 {
		return span{start, start}, true
	}
	maxBits := 32
	if v6 {
		maxBits = 128
	}
	n := 0
	for i := 0; i < len(b); i += 1 + (int(b[i])+7)/8 {
		n++
	}
	out := slices.Grow(u.pfxBuf, n)
	defer func() { u.pfxBuf = out }()
	for i := 0; i < len(b); {
		bits := int(b[i])
		nb := (bits + 7) / 8
		if bits > maxBits || len(b)-i-1 < nb {
			return span{}, false
		}
		var a [16]byte
		copy(a[:nb], b[i+1:i+1+nb])
		if r := bits % 8; r != 0 {
			a[nb-1] &= 0xff << (8 - r)
		}
		var addr netip.Addr
		if v6 {
			addr = netip.AddrFrom16(a)
		} else {
			addr = netip.AddrFrom4([4]byte(a[:4]))
		}
		out = append(out, netip.PrefixFrom(addr, bits))
		i += 1 + nb
	}
	return span{start, len(out)}, true
}
