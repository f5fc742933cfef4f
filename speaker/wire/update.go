package wire

import (
	"encoding/binary"
	"fmt"
	"net/netip"
)

// Update is an UPDATE message (RFC 4271 §4.3). Withdrawn and NLRI are the
// IPv4 unicast routes of the classic fields; other families travel in the
// MPReachNLRI and MPUnreachNLRI attributes. Attrs are in wire order.
type Update struct {
	Withdrawn []netip.Prefix
	Attrs     []Attr
	NLRI      []netip.Prefix
}

// NewEndOfRIB returns the End-of-RIB marker of a family (RFC 4724 §2): an
// empty UPDATE for IPv4 unicast, else an UPDATE with only an empty
// MP_UNREACH_NLRI of the family.
func NewEndOfRIB(afi AFI, safi SAFI) *Update {
	if afi == AFIIPv4 && safi == SAFIUnicast {
		return &Update{}
	}
	return &Update{Attrs: []Attr{MPUnreachNLRI{AFI: afi, SAFI: safi}}}
}

// Type returns TypeUpdate.
func (*Update) Type() Type { return TypeUpdate }

// IsEndOfRIB reports whether u is an End-of-RIB marker, and of which
// family (RFC 4724 §2).
func (u *Update) IsEndOfRIB() (AFI, SAFI, bool) {
	if len(u.Withdrawn) != 0 || len(u.NLRI) != 0 {
		return 0, 0, false
	}
	switch len(u.Attrs) {
	case 0:
		return AFIIPv4, SAFIUnicast, true
	case 1:
		if a, ok := u.Attrs[0].(MPUnreachNLRI); ok && len(a.Withdrawn) == 0 && len(a.Raw) == 0 {
			return a.AFI, a.SAFI, true
		}
	}
	return 0, 0, false
}

func findAttr[T Attr](attrs []Attr) (T, bool) {
	for _, a := range attrs {
		if t, ok := a.(T); ok {
			return t, true
		}
	}
	var zero T
	return zero, false
}

// Attr returns the attribute with type code c.
func (u *Update) Attr(c AttrCode) (Attr, bool) {
	for _, a := range u.Attrs {
		if a.Code() == c {
			return a, true
		}
	}
	return nil, false
}

// Origin returns the ORIGIN attribute.
func (u *Update) Origin() (Origin, bool) { return findAttr[Origin](u.Attrs) }

// ASPath returns the AS_PATH attribute as received; from a 2-octet peer,
// EffectiveASPath merges AS4_PATH into it.
func (u *Update) ASPath() (ASPath, bool) { return findAttr[ASPath](u.Attrs) }

// NextHop returns the NEXT_HOP attribute.
func (u *Update) NextHop() (NextHop, bool) { return findAttr[NextHop](u.Attrs) }

// MED returns the MULTI_EXIT_DISC attribute.
func (u *Update) MED() (MED, bool) { return findAttr[MED](u.Attrs) }

// LocalPref returns the LOCAL_PREF attribute.
func (u *Update) LocalPref() (LocalPref, bool) { return findAttr[LocalPref](u.Attrs) }

// AtomicAggregate reports whether ATOMIC_AGGREGATE is present.
func (u *Update) AtomicAggregate() (AtomicAggregate, bool) {
	return findAttr[AtomicAggregate](u.Attrs)
}

// Aggregator returns the AGGREGATOR attribute as received; from a
// 2-octet peer, EffectiveAggregator merges AS4_AGGREGATOR into it.
func (u *Update) Aggregator() (Aggregator, bool) { return findAttr[Aggregator](u.Attrs) }

// Communities returns the COMMUNITIES attribute.
func (u *Update) Communities() (Communities, bool) { return findAttr[Communities](u.Attrs) }

// OriginatorID returns the ORIGINATOR_ID attribute.
func (u *Update) OriginatorID() (OriginatorID, bool) { return findAttr[OriginatorID](u.Attrs) }

// ClusterList returns the CLUSTER_LIST attribute.
func (u *Update) ClusterList() (ClusterList, bool) { return findAttr[ClusterList](u.Attrs) }

// ExtendedCommunities returns the EXTENDED_COMMUNITIES attribute.
func (u *Update) ExtendedCommunities() (ExtendedCommunities, bool) {
	return findAttr[ExtendedCommunities](u.Attrs)
}

// LargeCommunities returns the LARGE_COMMUNITY attribute.
func (u *Update) LargeCommunities() (LargeCommunities, bool) {
	return findAttr[LargeCommunities](u.Attrs)
}

// MPReach returns the MP_REACH_NLRI attribute.
func (u *Update) MPReach() (MPReachNLRI, bool) { return findAttr[MPReachNLRI](u.Attrs) }

// MPUnreach returns the MP_UNREACH_NLRI attribute.
func (u *Update) MPUnreach() (MPUnreachNLRI, bool) { return findAttr[MPUnreachNLRI](u.Attrs) }

// AS4Path returns the AS4_PATH attribute.
func (u *Update) AS4Path() (AS4Path, bool) { return findAttr[AS4Path](u.Attrs) }

// AS4Aggregator returns the AS4_AGGREGATOR attribute.
func (u *Update) AS4Aggregator() (AS4Aggregator, bool) { return findAttr[AS4Aggregator](u.Attrs) }

// errorSink keeps the most severe UPDATE error seen (RFC 7606 §3: the
// strongest approach wins); among equals, the first.
type errorSink struct{ worst *Error }

func (s *errorSink) add(e *Error) {
	if s.worst == nil || e.Action.severity() > s.worst.Action.severity() {
		s.worst = e
	}
}

func (s *errorSink) fatal() bool { return s.worst != nil && s.worst.Action == ActionSessionReset }

// Decode decodes an UPDATE body (the message without its header), reusing
// u's slices — Withdrawn, NLRI, Attrs, and the prefix slices of a previous
// MP_REACH_NLRI and MP_UNREACH_NLRI — so that decoding into the same Update
// allocates nothing per prefix. A caller that keeps any of them across
// calls must copy them first.
//
// Errors follow RFC 4271 §6.3 as revised by RFC 7606: an *Error whose Action
// is ActionTreatAsWithdraw or ActionAttributeDiscard leaves a usable u (the
// faulty attribute left out); after any other error u's content is
// unspecified. Checks that need the session's context are the speaker's:
// the first AS of the path against the peer's AS, a NEXT_HOP that is the
// speaker's own address (a martian one is checked here), LOCAL_PREF from
// an eBGP peer, families that were not negotiated.
func (u *Update) Decode(body []byte, o *Options) error {
	var reachBuf, unreachBuf []netip.Prefix
	for i, a := range u.Attrs {
		switch a := a.(type) {
		case MPReachNLRI:
			reachBuf = a.NLRI[:0]
		case MPUnreachNLRI:
			unreachBuf = a.Withdrawn[:0]
		}
		u.Attrs[i] = nil
	}
	u.Withdrawn, u.Attrs, u.NLRI = u.Withdrawn[:0], u.Attrs[:0], u.NLRI[:0]

	fatal := func(sub uint8, format string, args ...any) error {
		return &Error{Code: CodeUpdateMessage, Subcode: sub, Reason: fmt.Sprintf(format, args...)}
	}
	if len(body) < 4 {
		return &Error{Code: CodeMessageHeader, Subcode: SubcodeBadMessageLength,
			Data:   binary.BigEndian.AppendUint16(nil, uint16(HeaderLen+len(body))),
			Reason: fmt.Sprintf("UPDATE length %d is below %d", HeaderLen+len(body), minUpdateLen)}
	}
	// RFC 4271 §6.3: lengths that overrun the message make the attribute
	// list malformed; RFC 7606 §4 keeps that a session reset, as neither the
	// attributes nor the NLRI can be located.
	wlen := int(binary.BigEndian.Uint16(body))
	if len(body)-4 < wlen {
		return fatal(SubcodeMalformedAttributeList, "withdrawn routes length %d overruns the %d-byte body", wlen, len(body))
	}
	alen := int(binary.BigEndian.Uint16(body[2+wlen:]))
	if len(body)-4-wlen < alen {
		return fatal(SubcodeMalformedAttributeList, "total path attribute length %d overruns the %d bytes after the withdrawn routes", alen, len(body)-4-wlen)
	}
	var err error
	if u.Withdrawn, err = decodePrefixes(u.Withdrawn, body[2:2+wlen], false); err != nil {
		return fatal(SubcodeInvalidNetworkField, "withdrawn routes: %v", err)
	}
	if u.NLRI, err = decodePrefixes(u.NLRI, body[4+wlen+alen:], false); err != nil {
		// RFC 7606 §5.3: an NLRI field that cannot be parsed is a session reset.
		return fatal(SubcodeInvalidNetworkField, "NLRI: %v", err)
	}

	var errs errorSink
	var seen [4]uint64
	attrs := body[4+wlen : 4+wlen+alen]
	hasReach := false
	for i := 0; i < len(attrs); {
		if len(attrs)-i < 3 {
			// RFC 7606 §4: too few bytes for an attribute header.
			errs.add(&Error{Code: CodeUpdateMessage, Subcode: SubcodeMalformedAttributeList,
				Action: ActionTreatAsWithdraw,
				Reason: fmt.Sprintf("%d trailing bytes cannot hold an attribute header", len(attrs)-i)})
			break
		}
		flags := AttrFlags(attrs[i]) & 0xf0 // the low bits are ignored (RFC 4271 §4.3)
		code := AttrCode(attrs[i+1])
		hl := 3
		if flags&FlagExtendedLength != 0 {
			hl = 4
		}
		if len(attrs)-i < hl {
			errs.add(&Error{Code: CodeUpdateMessage, Subcode: SubcodeMalformedAttributeList,
				Action: ActionTreatAsWithdraw, Attr: code,
				Reason: fmt.Sprintf("%s (%d) header truncated", code, code)})
			break
		}
		var vlen int
		if hl == 4 {
			vlen = int(binary.BigEndian.Uint16(attrs[i+2:]))
		} else {
			vlen = int(attrs[i+2])
		}
		if len(attrs)-i-hl < vlen {
			e := &Error{Code: CodeUpdateMessage, Subcode: SubcodeAttributeLengthError,
				Action: ActionTreatAsWithdraw, Attr: code, Data: append([]byte(nil), attrs[i:]...),
				Reason: fmt.Sprintf("%s (%d) length %d overruns the %d bytes left in the path attributes", code, code, vlen, len(attrs)-i-hl)}
			if code == AttrMPReachNLRI || code == AttrMPUnreachNLRI {
				// Its routes cannot be located to withdraw them.
				e.Action = ActionSessionReset
			}
			errs.add(e)
			break
		}
		raw := attrs[i : i+hl+vlen]
		i += hl + vlen
		if seen[code/64]&(1<<(code%64)) != 0 {
			if code == AttrMPReachNLRI || code == AttrMPUnreachNLRI {
				return fatal(SubcodeMalformedAttributeList, "%s (%d) appears twice", code, code)
			}
			// RFC 7606 §3 g: later copies are discarded.
			errs.add(&Error{Code: CodeUpdateMessage, Subcode: SubcodeMalformedAttributeList,
				Action: ActionAttributeDiscard, Attr: code,
				Reason: fmt.Sprintf("%s (%d) appears twice; the second is discarded", code, code)})
			continue
		}
		seen[code/64] |= 1 << (code % 64)
		a, e := decodeAttr(flags, code, raw[hl:], raw, o, &reachBuf, &unreachBuf)
		if e != nil {
			errs.add(e)
			if errs.fatal() {
				return errs.worst
			}
		}
		if a != nil {
			u.Attrs = append(u.Attrs, a)
			if code == AttrMPReachNLRI {
				hasReach = true
			}
		}
	}

	// RFC 4271 §6.3 as revised by RFC 7606 §3 d: mandatory attributes are
	// only required when the UPDATE carries reachable routes, and NEXT_HOP
	// only for the classic NLRI field (RFC 4760 §3).
	if len(u.NLRI) > 0 || hasReach {
		need := [3]AttrCode{AttrOrigin, AttrASPath, AttrNextHop}
		n := 2
		if len(u.NLRI) > 0 {
			n = 3
		}
		for _, c := range need[:n] {
			if seen[c/64]&(1<<(c%64)) == 0 {
				errs.add(&Error{Code: CodeUpdateMessage, Subcode: SubcodeMissingWellKnownAttribute,
					Action: ActionTreatAsWithdraw, Attr: c, Data: []byte{byte(c)},
					Reason: fmt.Sprintf("%s (%d) is missing", c, c)})
				break
			}
		}
	}
	if errs.worst != nil {
		return errs.worst
	}
	return nil
}

// decodeAttr decodes one attribute value v (raw is the whole attribute,
// the data of most errors). It returns the attribute to keep, if any, and
// the error, if any.
func decodeAttr(flags AttrFlags, code AttrCode, v, raw []byte, o *Options, reachBuf, unreachBuf *[]netip.Prefix) (Attr, *Error) {
	mkErr := func(sub uint8, act Action, format string, args ...any) *Error {
		return &Error{Code: CodeUpdateMessage, Subcode: sub, Action: act, Attr: code,
			Data:   append([]byte(nil), raw...),
			Reason: fmt.Sprintf("%s (%d): ", code, code) + fmt.Sprintf(format, args...)}
	}
	want, known := canonicalFlags(code)
	if !known {
		if flags&FlagOptional == 0 {
			return nil, mkErr(SubcodeUnrecognizedWellKnownAttribute, ActionSessionReset,
				"unrecognized well-known attribute, flags [%s]", flags)
		}
		return UnknownAttr{TypeCode: code, WireFlags: flags, Value: append([]byte(nil), v...)}, nil
	}
	var flagErr *Error
	if flags&(FlagOptional|FlagTransitive) != want {
		// RFC 7606 §3 c: treat-as-withdraw. The MP attributes are still
		// decoded, since their routes are the ones to withdraw.
		flagErr = mkErr(SubcodeAttributeFlagsError, ActionTreatAsWithdraw, "flags [%s], want [%s]", flags, want)
		if code != AttrMPReachNLRI && code != AttrMPUnreachNLRI {
			return nil, flagErr
		}
	}
	lenErr := func(act Action, want string) *Error {
		return mkErr(SubcodeAttributeLengthError, act, "length %d, want %s", len(v), want)
	}
	as4 := o.as4()
	switch code {
	case AttrOrigin:
		if len(v) != 1 {
			return nil, lenErr(ActionTreatAsWithdraw, "1") // RFC 7606 §7.1
		}
		if v[0] > 2 {
			return nil, mkErr(SubcodeInvalidOrigin, ActionTreatAsWithdraw, "undefined value %d", v[0])
		}
		return Origin{Value: OriginValue(v[0]), WireFlags: flags}, nil
	case AttrASPath:
		segs, err := decodeSegments(v, as4)
		if err != nil {
			// RFC 7606 §7.2; RFC 4271 §6.3 gives no data.
			e := mkErr(SubcodeMalformedASPath, ActionTreatAsWithdraw, "%v", err)
			e.Data = nil
			return nil, e
		}
		return ASPath{Segments: segs, WireFlags: flags}, nil
	case AttrNextHop:
		if len(v) != 4 {
			return nil, lenErr(ActionTreatAsWithdraw, "4") // RFC 7606 §7.3
		}
		nh := netip.AddrFrom4([4]byte(v))
		if martianNextHop(nh) {
			// RFC 4271 §6.3: not a valid host address. The route is
			// ignored, which RFC 7606's treat-as-withdraw achieves.
			return nil, mkErr(SubcodeInvalidNextHop, ActionTreatAsWithdraw, "%v is not a host address", nh)
		}
		return NextHop{Addr: nh, WireFlags: flags}, nil
	case AttrMED:
		if len(v) != 4 {
			return nil, lenErr(ActionTreatAsWithdraw, "4") // RFC 7606 §7.4
		}
		return MED{Value: binary.BigEndian.Uint32(v), WireFlags: flags}, nil
	case AttrLocalPref:
		if len(v) != 4 {
			return nil, lenErr(ActionTreatAsWithdraw, "4") // RFC 7606 §7.5
		}
		return LocalPref{Value: binary.BigEndian.Uint32(v), WireFlags: flags}, nil
	case AttrAtomicAggregate:
		if len(v) != 0 {
			return nil, lenErr(ActionAttributeDiscard, "0") // RFC 7606 §7.6
		}
		return AtomicAggregate{WireFlags: flags}, nil
	case AttrAggregator:
		n := 6
		if as4 {
			n = 8
		}
		if len(v) != n {
			return nil, lenErr(ActionAttributeDiscard, fmt.Sprint(n)) // RFC 7606 §7.7
		}
		a := Aggregator{WireFlags: flags}
		if as4 {
			a.AS = binary.BigEndian.Uint32(v)
		} else {
			a.AS = uint32(binary.BigEndian.Uint16(v))
		}
		a.Addr = netip.AddrFrom4([4]byte(v[n-4:]))
		if a.AS == 0 {
			// RFC 7607 §2 forbids AS 0; as FRR, drop the attribute.
			return nil, mkErr(SubcodeOptionalAttributeError, ActionAttributeDiscard, "AS 0")
		}
		return a, nil
	case AttrCommunities:
		if len(v) == 0 || len(v)%4 != 0 {
			return nil, lenErr(ActionTreatAsWithdraw, "a non-zero multiple of 4") // RFC 7606 §7.8
		}
		c := Communities{Values: make([]Community, len(v)/4), WireFlags: flags}
		for i := range c.Values {
			c.Values[i] = Community(binary.BigEndian.Uint32(v[4*i:]))
		}
		return c, nil
	case AttrOriginatorID:
		if len(v) != 4 {
			return nil, lenErr(ActionTreatAsWithdraw, "4") // RFC 7606 §7.9
		}
		return OriginatorID{ID: netip.AddrFrom4([4]byte(v)), WireFlags: flags}, nil
	case AttrClusterList:
		if len(v) == 0 || len(v)%4 != 0 {
			return nil, lenErr(ActionTreatAsWithdraw, "a non-zero multiple of 4") // RFC 7606 §7.10
		}
		c := ClusterList{IDs: make([]netip.Addr, len(v)/4), WireFlags: flags}
		for i := range c.IDs {
			c.IDs[i] = netip.AddrFrom4([4]byte(v[4*i:]))
		}
		return c, nil
	case AttrMPReachNLRI:
		a, err := decodeMPReach(v, *reachBuf, mkErr)
		if err != nil {
			return nil, err
		}
		a.WireFlags = flags
		*reachBuf = nil
		if flagErr != nil {
			return a, flagErr
		}
		return a, nil
	case AttrMPUnreachNLRI:
		a, err := decodeMPUnreach(v, *unreachBuf, mkErr)
		if err != nil {
			return nil, err
		}
		a.WireFlags = flags
		*unreachBuf = nil
		if flagErr != nil {
			return a, flagErr
		}
		return a, nil
	case AttrExtendedCommunities:
		if len(v) == 0 || len(v)%8 != 0 {
			return nil, lenErr(ActionTreatAsWithdraw, "a non-zero multiple of 8") // RFC 7606 §7.14
		}
		c := ExtendedCommunities{Values: make([]ExtendedCommunity, len(v)/8), WireFlags: flags}
		for i := range c.Values {
			c.Values[i] = ExtendedCommunity(v[8*i:])
		}
		return c, nil
	case AttrAS4Path:
		segs, err := decodeSegments(v, true)
		if err != nil {
			// RFC 6793 §6 (and RFC 7606 §7.2): a malformed AS4_PATH is
			// discarded and the UPDATE processed without it.
			e := mkErr(SubcodeMalformedASPath, ActionAttributeDiscard, "%v", err)
			return nil, e
		}
		return AS4Path{Segments: segs, WireFlags: flags}, nil
	case AttrAS4Aggregator:
		if len(v) != 8 {
			return nil, lenErr(ActionAttributeDiscard, "8") // RFC 6793 §6
		}
		a := AS4Aggregator{AS: binary.BigEndian.Uint32(v), Addr: netip.AddrFrom4([4]byte(v[4:])), WireFlags: flags}
		if a.AS == 0 {
			return nil, mkErr(SubcodeOptionalAttributeError, ActionAttributeDiscard, "AS 0")
		}
		return a, nil
	case AttrLargeCommunity:
		if len(v) == 0 || len(v)%12 != 0 {
			return nil, lenErr(ActionTreatAsWithdraw, "a non-zero multiple of 12") // RFC 8092 §5
		}
		c := LargeCommunities{Values: make([]LargeCommunity, len(v)/12), WireFlags: flags}
		for i := range c.Values {
			c.Values[i] = LargeCommunity{
				GlobalAdmin: binary.BigEndian.Uint32(v[12*i:]),
				LocalData1:  binary.BigEndian.Uint32(v[12*i+4:]),
				LocalData2:  binary.BigEndian.Uint32(v[12*i+8:]),
			}
		}
		return c, nil
	}
	// canonicalFlags knows exactly the codes above.
	return nil, mkErr(SubcodeUnspecific, ActionSessionReset, "no decoder")
}

// decodeSegments decodes AS_PATH or AS4_PATH segments (RFC 4271 §4.3),
// checking them as RFC 7606 §7.2 and RFC 7607 §2 say. It validates first
// and then fills one slice of AS numbers shared by all segments, so a path
// costs two allocations.
func decodeSegments(v []byte, as4 bool) ([]ASSegment, error) {
	w := 2
	if as4 {
		w = 4
	}
	total, nseg := 0, 0
	for i := 0; i < len(v); {
		if len(v)-i < 2 {
			return nil, fmt.Errorf("a single byte left after %d segments", nseg)
		}
		t, n := SegmentType(v[i]), int(v[i+1])
		if t < ASSet || t > ASConfedSet {
			return nil, fmt.Errorf("segment %d has unknown type %d", nseg+1, t)
		}
		if n == 0 {
			return nil, fmt.Errorf("segment %d is empty", nseg+1)
		}
		if len(v)-i-2 < n*w {
			return nil, fmt.Errorf("segment %d of %d ASes needs %d bytes but %d remain", nseg+1, n, n*w, len(v)-i-2)
		}
		total += n
		nseg++
		i += 2 + n*w
	}
	if nseg == 0 {
		return nil, nil
	}
	asns := make([]uint32, total)
	segs := make([]ASSegment, nseg)
	k := 0
	for i, s := 0, 0; i < len(v); s++ {
		n := int(v[i+1])
		seg := asns[k : k+n : k+n]
		for j := range seg {
			if as4 {
				seg[j] = binary.BigEndian.Uint32(v[i+2+4*j:])
			} else {
				seg[j] = uint32(binary.BigEndian.Uint16(v[i+2+2*j:]))
			}
			if seg[j] == 0 {
				return nil, fmt.Errorf("segment %d holds AS 0", s+1) // RFC 7607 §2
			}
		}
		segs[s] = ASSegment{Type: SegmentType(v[i]), ASNs: seg}
		k += n
		i += 2 + n*w
	}
	return segs, nil
}

// martianNextHop reports whether an IPv4 NEXT_HOP cannot be a host
// address: "this network" 0/8, loopback 127/8, multicast 224/4 and the
// reserved 240/4 with the broadcast address, as FRR's martian check.
func martianNextHop(a netip.Addr) bool {
	b := a.As4()
	return b[0] == 0 || b[0] == 127 || b[0] >= 224
}

type errFunc func(sub uint8, act Action, format string, args ...any) *Error

// decodeMPReach decodes MP_REACH_NLRI (RFC 4760 §3), reusing buf for the
// prefixes. Errors follow RFC 7606 §7.11: without a readable AFI/SAFI, a
// session reset; with one, AFI/SAFI disable.
func decodeMPReach(v []byte, buf []netip.Prefix, mkErr errFunc) (MPReachNLRI, *Error) {
	if len(v) < 3 {
		return MPReachNLRI{}, mkErr(SubcodeOptionalAttributeError, ActionSessionReset, "length %d leaves no AFI/SAFI", len(v))
	}
	a := MPReachNLRI{AFI: AFI(binary.BigEndian.Uint16(v)), SAFI: SAFI(v[2])}
	disable := func(sub uint8, format string, args ...any) *Error {
		e := mkErr(sub, ActionAFISAFIDisable, "%s: ", Family{a.AFI, a.SAFI})
		e.Reason += fmt.Sprintf(format, args...)
		e.AFI, e.SAFI = a.AFI, a.SAFI
		return e
	}
	if len(v) < 5 {
		return a, disable(SubcodeOptionalAttributeError, "length %d leaves no next hop length and reserved byte", len(v))
	}
	nhl := int(v[3])
	if len(v)-5 < nhl {
		return a, disable(SubcodeOptionalAttributeError, "next hop length %d overruns the attribute", nhl)
	}
	fam := Family{a.AFI, a.SAFI}
	if !fam.prefixFamily() {
		a.Raw = append([]byte(nil), v[3:]...)
		return a, nil
	}
	nh := v[4 : 4+nhl]
	switch {
	case nhl == 4 && a.AFI == AFIIPv4:
		a.NextHops = []netip.Addr{netip.AddrFrom4([4]byte(nh))}
	case nhl == 16:
		a.NextHops = []netip.Addr{netip.AddrFrom16([16]byte(nh))}
	case nhl == 32:
		a.NextHops = []netip.Addr{netip.AddrFrom16([16]byte(nh)), netip.AddrFrom16([16]byte(nh[16:]))}
	default:
		return a, disable(SubcodeOptionalAttributeError, "next hop length %d is not valid for the family", nhl)
	}
	// v[4+nhl] is the Reserved byte (RFC 4760 §3), ignored.
	var err error
	if a.NLRI, err = decodePrefixes(buf, v[5+nhl:], a.AFI == AFIIPv6); err != nil {
		return a, disable(SubcodeInvalidNetworkField, "NLRI: %v", err) // RFC 7606 §5.3
	}
	return a, nil
}

// decodeMPUnreach decodes MP_UNREACH_NLRI (RFC 4760 §4), reusing buf.
func decodeMPUnreach(v []byte, buf []netip.Prefix, mkErr errFunc) (MPUnreachNLRI, *Error) {
	if len(v) < 3 {
		return MPUnreachNLRI{}, mkErr(SubcodeOptionalAttributeError, ActionSessionReset, "length %d leaves no AFI/SAFI", len(v))
	}
	a := MPUnreachNLRI{AFI: AFI(binary.BigEndian.Uint16(v)), SAFI: SAFI(v[2])}
	fam := Family{a.AFI, a.SAFI}
	if !fam.prefixFamily() {
		if len(v) > 3 {
			a.Raw = append([]byte(nil), v[3:]...)
		}
		return a, nil
	}
	var err error
	if a.Withdrawn, err = decodePrefixes(buf, v[3:], a.AFI == AFIIPv6); err != nil {
		e := mkErr(SubcodeInvalidNetworkField, ActionAFISAFIDisable, "%s: withdrawn routes: %v", fam, err)
		e.AFI, e.SAFI = a.AFI, a.SAFI
		return a, e
	}
	return a, nil
}

// AppendTo appends the UPDATE. Attributes are written in the order of
// Attrs (RFC 7606 §5.1 asks senders to put MP_REACH_NLRI and
// MP_UNREACH_NLRI first); an attribute type that appears twice is an
// error. It fails with ErrTooLong when the message exceeds the session's
// maximum length.
func (u *Update) AppendTo(b []byte, o *Options) ([]byte, error) {
	start := len(b)
	b = appendHeader(b, TypeUpdate)
	wpos := len(b)
	b = append(b, 0, 0)
	var err error
	if b, err = appendPrefixes(b, u.Withdrawn, false, "UPDATE withdrawn routes"); err != nil {
		return b[:start], err
	}
	putLen16(b, wpos)
	apos := len(b)
	b = append(b, 0, 0)
	var seen [4]uint64
	for _, a := range u.Attrs {
		c := a.Code()
		if seen[c/64]&(1<<(c%64)) != 0 {
			// RFC 4271 §5 and RFC 7606 §3 g: each attribute at most once.
			return b[:start], fmt.Errorf("UPDATE: %s (%d) appears twice", c, uint8(c))
		}
		seen[c/64] |= 1 << (c % 64)
		if b, err = appendAttr(b, a, o); err != nil {
			return b[:start], fmt.Errorf("UPDATE: %w", err)
		}
	}
	putLen16(b, apos)
	if b, err = appendPrefixes(b, u.NLRI, false, "UPDATE NLRI"); err != nil {
		return b[:start], err
	}
	return finishMessage(b, start, o.MaxLen())
}

// putLen16 writes at b[pos:] the length of what follows the 2 bytes there;
// a length too large for them only happens in a message that
// finishMessage then rejects as too long.
func putLen16(b []byte, pos int) {
	binary.BigEndian.PutUint16(b[pos:], uint16(len(b)-pos-2))
}

// appendAttr appends one attribute: flags, type, length (1 byte, or 2 with
// Extended Length, which is set when the value needs it or the attribute
// was received with it), value.
func appendAttr(b []byte, a Attr, o *Options) ([]byte, error) {
	start := len(b)
	flags := a.Flags() & 0xf0
	code := a.Code()
	b = append(b, 0, byte(code), 0, 0)
	vstart := len(b)
	var err error
	as4 := o.as4()
	switch a := a.(type) {
	case Origin:
		b = append(b, byte(a.Value))
	case ASPath:
		b, err = appendSegments(b, a.Segments, as4)
	case NextHop:
		if !a.Addr.Is4() {
			return b[:start], fmt.Errorf("NEXT_HOP %v is not an IPv4 address", a.Addr)
		}
		ip := a.Addr.As4()
		b = append(b, ip[:]...)
	case MED:
		b = binary.BigEndian.AppendUint32(b, a.Value)
	case LocalPref:
		b = binary.BigEndian.AppendUint32(b, a.Value)
	case AtomicAggregate:
	case Aggregator:
		b, err = appendAggregator(b, a.AS, a.Addr, as4)
	case Communities:
		for _, c := range a.Values {
			b = binary.BigEndian.AppendUint32(b, uint32(c))
		}
	case OriginatorID:
		if !a.ID.Is4() {
			return b[:start], fmt.Errorf("ORIGINATOR_ID %v is not an IPv4 address", a.ID)
		}
		ip := a.ID.As4()
		b = append(b, ip[:]...)
	case ClusterList:
		for _, id := range a.IDs {
			if !id.Is4() {
				return b[:start], fmt.Errorf("CLUSTER_LIST id %v is not an IPv4 address", id)
			}
			ip := id.As4()
			b = append(b, ip[:]...)
		}
	case MPReachNLRI:
		b, err = appendMPReach(b, a)
	case MPUnreachNLRI:
		b = binary.BigEndian.AppendUint16(b, uint16(a.AFI))
		b = append(b, byte(a.SAFI))
		if (Family{a.AFI, a.SAFI}).prefixFamily() {
			b, err = appendPrefixes(b, a.Withdrawn, a.AFI == AFIIPv6, "MP_UNREACH_NLRI")
		} else {
			b = append(b, a.Raw...)
		}
	case ExtendedCommunities:
		for _, c := range a.Values {
			b = append(b, c[:]...)
		}
	case AS4Path:
		b, err = appendSegments(b, a.Segments, true)
	case AS4Aggregator:
		b, err = appendAggregator(b, a.AS, a.Addr, true)
	case LargeCommunities:
		for _, c := range a.Values {
			b = binary.BigEndian.AppendUint32(b, c.GlobalAdmin)
			b = binary.BigEndian.AppendUint32(b, c.LocalData1)
			b = binary.BigEndian.AppendUint32(b, c.LocalData2)
		}
	case UnknownAttr:
		b = append(b, a.Value...)
	default:
		return b[:start], fmt.Errorf("attribute type %T cannot be encoded", a)
	}
	if err != nil {
		return b[:start], fmt.Errorf("%s: %w", code, err)
	}
	n := len(b) - vstart
	if n > 0xffff {
		return b[:start], fmt.Errorf("%s: value of %d bytes exceeds 65535", code, n)
	}
	if n > 255 || flags&FlagExtendedLength != 0 {
		b[start] = byte(flags | FlagExtendedLength)
		binary.BigEndian.PutUint16(b[start+2:], uint16(n))
		return b, nil
	}
	b[start] = byte(flags)
	b[start+2] = byte(n)
	copy(b[start+3:], b[vstart:])
	return b[:len(b)-1], nil
}

func appendAggregator(b []byte, as uint32, addr netip.Addr, as4 bool) ([]byte, error) {
	if !addr.Is4() {
		return b, fmt.Errorf("address %v is not IPv4", addr)
	}
	if as4 {
		b = binary.BigEndian.AppendUint32(b, as)
	} else {
		b = binary.BigEndian.AppendUint16(b, as2(as))
	}
	ip := addr.As4()
	return append(b, ip[:]...), nil
}

// as2 is the 2-octet form of as: AS_TRANS when it does not fit (RFC 6793
// §4.2.2).
func as2(as uint32) uint16 {
	if as > 0xffff {
		return ASTrans
	}
	return uint16(as)
}

// appendSegments appends AS path segments, 4- or 2-octet, splitting
// sequences longer than 255 ASes into several segments (RFC 4271 §5.1.2)
// and leaving out empty ones, which RFC 7606 §7.2 makes malformed.
func appendSegments(b []byte, segs []ASSegment, as4 bool) ([]byte, error) {
	for _, s := range segs {
		if s.Type < ASSet || s.Type > ASConfedSet {
			return b, fmt.Errorf("segment type %d", s.Type)
		}
		asns := s.ASNs
		if len(asns) > 255 && (s.Type == ASSet || s.Type == ASConfedSet) {
			return b, fmt.Errorf("%s of %d ASes exceeds 255", s.Type, len(asns))
		}
		for len(asns) > 0 {
			n := min(len(asns), 255)
			b = append(b, byte(s.Type), byte(n))
			for _, a := range asns[:n] {
				if as4 {
					b = binary.BigEndian.AppendUint32(b, a)
				} else {
					b = binary.BigEndian.AppendUint16(b, as2(a))
				}
			}
			asns = asns[n:]
		}
	}
	return b, nil
}

func appendMPReach(b []byte, a MPReachNLRI) ([]byte, error) {
	b = binary.BigEndian.AppendUint16(b, uint16(a.AFI))
	b = append(b, byte(a.SAFI))
	if !(Family{a.AFI, a.SAFI}).prefixFamily() {
		if len(a.Raw) == 0 {
			return b, fmt.Errorf("%s needs Raw", Family{a.AFI, a.SAFI})
		}
		return append(b, a.Raw...), nil
	}
	if len(a.NextHops) == 0 || len(a.NextHops) > 2 {
		return b, fmt.Errorf("%d next hops, want 1 or 2", len(a.NextHops))
	}
	v4 := a.NextHops[0].Is4()
	if v4 && (a.AFI != AFIIPv4 || len(a.NextHops) != 1) {
		return b, fmt.Errorf("IPv4 next hop %v for %s", a.NextHops[0], Family{a.AFI, a.SAFI})
	}
	nhl := 16 * len(a.NextHops)
	if v4 {
		nhl = 4
	}
	b = append(b, byte(nhl))
	for _, nh := range a.NextHops {
		if v4 {
			ip := nh.As4()
			b = append(b, ip[:]...)
			continue
		}
		if !nh.Is6() {
			return b, fmt.Errorf("next hop %v is not IPv6", nh)
		}
		ip := nh.As16()
		b = append(b, ip[:]...)
	}
	b = append(b, 0) // Reserved (RFC 4760 §3)
	return appendPrefixes(b, a.NLRI, a.AFI == AFIIPv6, "MP_REACH_NLRI")
}
