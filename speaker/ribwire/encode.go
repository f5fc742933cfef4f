package ribwire

import (
	"encoding/binary"
	"net/netip"

	"lab/speaker/rib"
	"lab/speaker/wire"
)

// The decision engine encodes the UPDATEs it advertises straight from the
// attribute set it exports (fastAdverts), without building a wire.Update
// of wire.Attr values first: a 200-router lab sends hundreds of thousands
// of UPDATEs, and the general path (wireAttrs, newUpdate, AppendTo) costs
// a dozen allocations each. The bytes are the general path's, to the bit
// (TestFastAdvertsMatch); whatever this encoder does not handle (2-octet
// AS sessions, attributes carried opaquely) goes the general way.

// Attribute flags and type codes the fast encoder writes (RFC 4271
// section 5, RFC 1997, RFC 4760, RFC 8092).
const (
	flagTransitive = byte(wire.FlagTransitive)
	flagOptional   = byte(wire.FlagOptional)
	flagExtLen     = byte(wire.FlagExtendedLength)
)

// fastEncodable reports whether fastAdverts can encode a's UPDATEs on a
// session with options o.
func fastEncodable(a *rib.Attrs, o *wire.Options) bool {
	x := a.Extra()
	return o.AS4 && x.Other == "" && !x.OriginatorID.IsValid() && len(x.ClusterList) == 0
}

// Encoder encodes the UPDATEs a speaker advertises. It keeps scratch
// buffers from call to call: it belongs to one goroutine (the decision
// engine's).
type Encoder struct {
	attrs, msg, enc []byte
}

// Adverts encodes the UPDATEs that advertise pfxs, of family fam, with
// the attribute set a, prepend (when not 0) prepended to its AS_PATH as
// rib.Prepend does, and next hops nh4 (the NEXT_HOP of IPv4 unicast) or mp
// (the MP_REACH_NLRI next hops of other families), for a session with
// options o: one message when they fit, else as many as the session's
// maximum message size needs. emit gets each message, in e's scratch
// space: it copies what it keeps. The fast encoder writes what it can;
// the rest (2-octet AS sessions, attributes carried opaquely) goes through
// wire.Attr values. An attribute set that cannot be encoded is an error,
// and nothing is emitted.
func (e *Encoder) Adverts(fam wire.Family, a *rib.Attrs, prepend uint32, nh4 netip.Addr, mp []netip.Addr,
	pfxs []netip.Prefix, o *wire.Options, emit func([]byte)) error {
	if fastEncodable(a, o) && e.fastAdverts(fam, a, prepend, nh4, mp, pfxs, o, emit) {
		return nil
	}
	if prepend != 0 {
		c := a.Copy()
		c.ASPath = rib.Prepend(c.ASPath, prepend, 1)
		a = &c
	}
	attrs := wireAttrs(a, nh4)
	if !o.AS4 {
		attrs = wire.For2OctetPeer(attrs)
	}
	// Most groups fit one message: encode it once. Those that do not are
	// split to the session's maximum message size.
	if b, err := newUpdate(fam, attrs, mp, pfxs).AppendTo(e.enc[:0], o); err == nil {
		e.enc = b
		emit(b)
		return nil
	}
	us, err := buildUpdates(fam, attrs, mp, pfxs, o)
	if err != nil {
		return err
	}
	return e.emitAll(us, o, emit)
}

// Withdraws encodes the UPDATEs that withdraw pfxs, of family fam, and
// calls emit with each (see Adverts).
func (e *Encoder) Withdraws(fam wire.Family, pfxs []netip.Prefix, o *wire.Options, emit func([]byte)) error {
	return e.emitAll(buildWithdraws(fam, pfxs, o), o, emit)
}

func (e *Encoder) emitAll(us []*wire.Update, o *wire.Options, emit func([]byte)) error {
	for _, u := range us {
		b, err := u.AppendTo(e.enc[:0], o)
		if err != nil {
			return err
		}
		e.enc = b
		emit(b)
	}
	return nil
}

// fastAdverts encodes the UPDATEs that advertise pfxs, of family fam,
// with the attributes a (with prepend, when not 0, prepended to the
// AS_PATH, as rib.Prepend does) and next hop self: nh4, the NEXT_HOP of
// IPv4 unicast, or mp, the MP_REACH_NLRI next hops of other families. It
// calls emit with each message (e's scratch: emit copies what it keeps), as
// many as the session's maximum message length needs, split where
// buildUpdates splits them. It reports false, having emitted nothing,
// when it cannot encode them (the general path then reports why).
func (e *Encoder) fastAdverts(fam wire.Family, a *rib.Attrs, prepend uint32, nh4 netip.Addr, mp []netip.Addr,
	pfxs []netip.Prefix, o *wire.Options, emit func([]byte)) bool {
	v4 := fam == wire.IPv4Unicast
	if !v4 && (fam != wire.IPv6Unicast || len(mp) == 0 || len(mp) > 2) {
		return false
	}
	for _, nh := range mp {
		if !nh.Is6() {
			return false
		}
	}
	if v4 && !nh4.Is4() {
		return false
	}
	for _, p := range pfxs {
		if !p.IsValid() || p.Addr().Is4() != v4 || p.Addr().Zone() != "" {
			return false
		}
	}
	// The attributes after MP_REACH_NLRI, encoded once for every message.
	attrs, ok := appendFastAttrs(e.attrs[:0], a, prepend, nh4)
	e.attrs = attrs
	if !ok {
		return false
	}
	nlriLen := 0
	for _, p := range pfxs {
		nlriLen += 1 + (p.Bits()+7)/8
	}
	mpFixed := 0 // MP_REACH_NLRI without its NLRI: header (3), AFI, SAFI, next hops, reserved
	if !v4 {
		mpFixed = 3 + 2 + 1 + 1 + 16*len(mp) + 1
	}
	base := wire.HeaderLen + 4 + mpFixed + len(attrs)
	maxLen := o.MaxLen()
	total := base + nlriLen
	if !v4 && mpFixed-3+nlriLen > 255 {
		total++ // the extended length of MP_REACH_NLRI
	}
	build := func(batch []netip.Prefix) {
		e.msg = appendFastUpdate(e.msg[:0], v4, attrs, mp, batch)
		emit(e.msg)
	}
	if total <= maxLen {
		build(pfxs)
		return true
	}
	// As buildUpdates: 2 bytes of slack for an extended length.
	pack(pfxs, maxLen-base-2, build)
	return true
}

// appendFastUpdate appends one UPDATE of batch with the encoded
// attributes attrs, as newUpdate and Update.AppendTo do: MP_REACH_NLRI
// first for IPv6.
func appendFastUpdate(b []byte, v4 bool, attrs []byte, mp []netip.Addr, batch []netip.Prefix) []byte {
	b = append(b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, byte(wire.TypeUpdate))
	b = append(b, 0, 0) // no withdrawn routes
	apos := len(b)
	b = append(b, 0, 0)
	if !v4 {
		start := len(b)
		b = append(b, 0, byte(wire.AttrMPReachNLRI), 0, 0)
		b = binary.BigEndian.AppendUint16(b, uint16(wire.AFIIPv6))
		b = append(b, byte(wire.SAFIUnicast), byte(16*len(mp)))
		for _, nh := range mp {
			ip := nh.As16()
			b = append(b, ip[:]...)
		}
		b = append(b, 0) // reserved
		for _, p := range batch {
			b = wire.AppendPrefix(b, p)
		}
		b = endAttr(b, start, flagOptional)
	}
	b = append(b, attrs...)
	binary.BigEndian.PutUint16(b[apos:], uint16(len(b)-apos-2))
	if v4 {
		for _, p := range batch {
			b = wire.AppendPrefix(b, p)
		}
	}
	binary.BigEndian.PutUint16(b[16:], uint16(len(b)))
	return b
}

// appendFastAttrs appends the attributes wireAttrs renders, in its order,
// for a 4-octet AS session: ORIGIN, AS_PATH, NEXT_HOP (nh4, when valid),
// MULTI_EXIT_DISC, LOCAL_PREF, ATOMIC_AGGREGATE, COMMUNITIES,
// LARGE_COMMUNITY.
func appendFastAttrs(b []byte, a *rib.Attrs, prepend uint32, nh4 netip.Addr) ([]byte, bool) {
	b = append(b, flagTransitive, byte(wire.AttrOrigin), 1, byte(a.Origin))

	start := len(b)
	b = append(b, 0, byte(wire.AttrASPath), 0, 0)
	segs := a.ASPath
	if prepend != 0 {
		// rib.Prepend: into the leading AS_SEQUENCE when it has room,
		// else as a sequence of its own.
		if len(segs) > 0 && segs[0].Type == rib.SegSequence && len(segs[0].ASNs)+1 <= 255 {
			b = append(b, rib.SegSequence, byte(len(segs[0].ASNs)+1))
			b = binary.BigEndian.AppendUint32(b, prepend)
			for _, as := range segs[0].ASNs {
				b = binary.BigEndian.AppendUint32(b, as)
			}
			segs = segs[1:]
		} else {
			b = append(b, rib.SegSequence, 1)
			b = binary.BigEndian.AppendUint32(b, prepend)
		}
	}
	for _, s := range segs {
		// appendSegments: sequences longer than 255 split, sets that long
		// refused, empty segments left out.
		if s.Type < rib.SegSet || s.Type > rib.SegConfedSet ||
			len(s.ASNs) > 255 && (s.Type == rib.SegSet || s.Type == rib.SegConfedSet) {
			return b, false
		}
		for asns := s.ASNs; len(asns) > 0; {
			n := min(len(asns), 255)
			b = append(b, s.Type, byte(n))
			for _, as := range asns[:n] {
				b = binary.BigEndian.AppendUint32(b, as)
			}
			asns = asns[n:]
		}
	}
	if len(b)-start-4 > 0xffff {
		return b, false
	}
	b = endAttr(b, start, flagTransitive)

	if nh4.IsValid() {
		ip := nh4.As4()
		b = append(b, flagTransitive, byte(wire.AttrNextHop), 4, ip[0], ip[1], ip[2], ip[3])
	}
	if a.HasMED {
		b = append(b, flagOptional, byte(wire.AttrMED), 4)
		b = binary.BigEndian.AppendUint32(b, a.MED)
	}
	if a.HasLocalPref {
		b = append(b, flagTransitive, byte(wire.AttrLocalPref), 4)
		b = binary.BigEndian.AppendUint32(b, a.LocalPref)
	}
	if a.AtomicAggregate {
		b = append(b, flagTransitive, byte(wire.AttrAtomicAggregate), 0)
	}
	x := a.Extra()
	if len(x.Communities) > 0 {
		if 4*len(x.Communities) > 0xffff {
			return b, false
		}
		start := len(b)
		b = append(b, 0, byte(wire.AttrCommunities), 0, 0)
		for _, c := range x.Communities {
			b = binary.BigEndian.AppendUint32(b, c)
		}
		b = endAttr(b, start, flagOptional|flagTransitive)
	}
	if len(x.LargeCommunities) > 0 {
		if 12*len(x.LargeCommunities) > 0xffff {
			return b, false
		}
		start := len(b)
		b = append(b, 0, byte(wire.AttrLargeCommunity), 0, 0)
		for _, c := range x.LargeCommunities {
			b = binary.BigEndian.AppendUint32(b, c.Global)
			b = binary.BigEndian.AppendUint32(b, c.Local1)
			b = binary.BigEndian.AppendUint32(b, c.Local2)
		}
		b = endAttr(b, start, flagOptional|flagTransitive)
	}
	return b, true
}

// endAttr finishes an attribute begun at start with a 4-byte header
// placeholder: a 1-byte length when the value fits (the value moves back
// a byte), else the extended length.
func endAttr(b []byte, start int, flags byte) []byte {
	n := len(b) - start - 4
	if n > 255 {
		b[start] = flags | flagExtLen
		binary.BigEndian.PutUint16(b[start+2:], uint16(n))
		return b
	}
	b[start] = flags
	b[start+2] = byte(n)
	copy(b[start+3:], b[start+4:])
	return b[:len(b)-1]
}
