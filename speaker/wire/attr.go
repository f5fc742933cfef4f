package wire

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// AttrCode is a path attribute type code (RFC 4271 §4.3, IANA registry).
type AttrCode uint8

// Path attribute type codes.
const (
	AttrOrigin              AttrCode = 1  // RFC 4271 §5.1.1
	AttrASPath              AttrCode = 2  // RFC 4271 §5.1.2
	AttrNextHop             AttrCode = 3  // RFC 4271 §5.1.3
	AttrMED                 AttrCode = 4  // RFC 4271 §5.1.4
	AttrLocalPref           AttrCode = 5  // RFC 4271 §5.1.5
	AttrAtomicAggregate     AttrCode = 6  // RFC 4271 §5.1.6
	AttrAggregator          AttrCode = 7  // RFC 4271 §5.1.7
	AttrCommunities         AttrCode = 8  // RFC 1997
	AttrOriginatorID        AttrCode = 9  // RFC 4456
	AttrClusterList         AttrCode = 10 // RFC 4456
	AttrMPReachNLRI         AttrCode = 14 // RFC 4760 §3
	AttrMPUnreachNLRI       AttrCode = 15 // RFC 4760 §4
	AttrExtendedCommunities AttrCode = 16 // RFC 4360
	AttrAS4Path             AttrCode = 17 // RFC 6793
	AttrAS4Aggregator       AttrCode = 18 // RFC 6793
	AttrLargeCommunity      AttrCode = 32 // RFC 8092
)

var attrNames = map[AttrCode]string{
	AttrOrigin:              "Origin",
	AttrASPath:              "AS Path",
	AttrNextHop:             "Next Hop",
	AttrMED:                 "Multi Exit Discriminator",
	AttrLocalPref:           "Local Preference",
	AttrAtomicAggregate:     "Atomic Aggregate",
	AttrAggregator:          "Aggregator",
	AttrCommunities:         "Community",
	AttrOriginatorID:        "Originator ID",
	AttrClusterList:         "Cluster List",
	11:                      "DPA",
	12:                      "Advertiser",
	13:                      "RCID Path / Cluster ID",
	AttrMPReachNLRI:         "Multi-Protocol Reach NLRI",
	AttrMPUnreachNLRI:       "Multi-Protocol Unreach NLRI",
	AttrExtendedCommunities: "Extended Community",
	AttrAS4Path:             "AS4 Path",
	AttrAS4Aggregator:       "AS4 Aggregator",
	22:                      "PMSI Tunnel",
	23:                      "Tunnel Encapsulation",
	25:                      "IPv6 Extended Community",
	26:                      "AIGP",
	29:                      "BGP-LS",
	AttrLargeCommunity:      "Large Community",
	33:                      "BGPsec Path",
	35:                      "Only to Customer",
	40:                      "Prefix-SID",
	128:                     "Attribute Set",
}

// String returns the attribute's name as tcpdump prints it, e.g. "AS Path".
func (c AttrCode) String() string {
	if n, ok := attrNames[c]; ok {
		return n
	}
	return fmt.Sprintf("Unknown Attribute %d", uint8(c))
}

// AttrFlags are the attribute flags (RFC 4271 §4.3).
type AttrFlags uint8

// Attribute flag bits.
const (
	FlagOptional       AttrFlags = 0x80
	FlagTransitive     AttrFlags = 0x40
	FlagPartial        AttrFlags = 0x20
	FlagExtendedLength AttrFlags = 0x10
)

// String returns the flags as tcpdump prints them: "OTPE" letters, "" for
// none.
func (f AttrFlags) String() string {
	var sb strings.Builder
	for _, x := range []struct {
		f AttrFlags
		c byte
	}{{FlagOptional, 'O'}, {FlagTransitive, 'T'}, {FlagPartial, 'P'}, {FlagExtendedLength, 'E'}} {
		if f&x.f != 0 {
			sb.WriteByte(x.c)
		}
	}
	if f&0x0f != 0 {
		fmt.Fprintf(&sb, "+%x", uint8(f&0x0f))
	}
	return sb.String()
}

// canonicalFlags are the Optional and Transitive bits each attribute is
// defined with; a received attribute whose bits differ is malformed
// (RFC 7606 §3 c). ok is false for attributes this codec does not know.
func canonicalFlags(c AttrCode) (f AttrFlags, ok bool) {
	switch c {
	case AttrOrigin, AttrASPath, AttrNextHop, AttrLocalPref, AttrAtomicAggregate:
		return FlagTransitive, true
	case AttrMED, AttrOriginatorID, AttrClusterList, AttrMPReachNLRI, AttrMPUnreachNLRI:
		return FlagOptional, true
	case AttrAggregator, AttrCommunities, AttrExtendedCommunities, AttrAS4Path, AttrAS4Aggregator, AttrLargeCommunity:
		return FlagOptional | FlagTransitive, true
	}
	return FlagOptional | FlagTransitive, false
}

func flagsOr(wire AttrFlags, c AttrCode) AttrFlags {
	if wire != 0 {
		return wire
	}
	f, _ := canonicalFlags(c)
	return f
}

// Attr is one path attribute. The concrete types are used as values:
// Origin, ASPath, NextHop, MED, LocalPref, AtomicAggregate, Aggregator,
// Communities, OriginatorID, ClusterList, MPReachNLRI, MPUnreachNLRI,
// ExtendedCommunities, AS4Path, AS4Aggregator, LargeCommunities and
// UnknownAttr.
//
// Each has a WireFlags field: the flags it was received with, so that a
// decoded message re-encodes byte for byte (the seed's Quagga sets Extended
// Length on short attributes). Zero, as in an attribute built by hand,
// means the canonical flags; AppendTo adds Extended Length whenever the
// value needs it. (An MP attribute received with no flag at all, an
// Attribute Flags Error kept for treat-as-withdraw, thus re-encodes with
// its canonical flags.)
type Attr interface {
	Code() AttrCode
	Flags() AttrFlags
}

// OriginValue is the value of ORIGIN.
type OriginValue uint8

// ORIGIN values (RFC 4271 §4.3).
const (
	OriginIGP        OriginValue = 0
	OriginEGP        OriginValue = 1
	OriginIncomplete OriginValue = 2
)

// String returns "IGP", "EGP" or "Incomplete".
func (v OriginValue) String() string {
	switch v {
	case OriginIGP:
		return "IGP"
	case OriginEGP:
		return "EGP"
	case OriginIncomplete:
		return "Incomplete"
	}
	return fmt.Sprintf("Origin(%d)", uint8(v))
}

// Origin is the ORIGIN attribute (RFC 4271 §5.1.1).
type Origin struct {
	Value     OriginValue
	WireFlags AttrFlags `json:",omitempty"`
}

// SegmentType is the type of an AS_PATH segment (RFC 4271 §4.3, RFC 5065 §3).
type SegmentType uint8

// AS_PATH segment types.
const (
	ASSet            SegmentType = 1
	ASSequence       SegmentType = 2
	ASConfedSequence SegmentType = 3
	ASConfedSet      SegmentType = 4
)

// String returns "AS_SET", "AS_SEQUENCE", ...
func (t SegmentType) String() string {
	switch t {
	case ASSet:
		return "AS_SET"
	case ASSequence:
		return "AS_SEQUENCE"
	case ASConfedSequence:
		return "AS_CONFED_SEQUENCE"
	case ASConfedSet:
		return "AS_CONFED_SET"
	}
	return fmt.Sprintf("SegmentType(%d)", uint8(t))
}

// ASSegment is one AS_PATH or AS4_PATH segment.
type ASSegment struct {
	Type SegmentType
	ASNs []uint32
}

// ASPath is the AS_PATH attribute (RFC 4271 §5.1.2). Its AS numbers are 4
// octets in memory; on a session without the 4-octet AS capability they are
// 2 octets on the wire, with AS_TRANS standing for those that do not fit
// (RFC 6793 §4.2.2); see EffectiveASPath and For2OctetPeer.
type ASPath struct {
	Segments  []ASSegment
	WireFlags AttrFlags `json:",omitempty"`
}

// NextHop is the NEXT_HOP attribute (RFC 4271 §5.1.3), an IPv4 address.
type NextHop struct {
	Addr      netip.Addr
	WireFlags AttrFlags `json:",omitempty"`
}

// MED is the MULTI_EXIT_DISC attribute (RFC 4271 §5.1.4).
type MED struct {
	Value     uint32
	WireFlags AttrFlags `json:",omitempty"`
}

// LocalPref is the LOCAL_PREF attribute (RFC 4271 §5.1.5).
type LocalPref struct {
	Value     uint32
	WireFlags AttrFlags `json:",omitempty"`
}

// AtomicAggregate is the ATOMIC_AGGREGATE attribute (RFC 4271 §5.1.6).
type AtomicAggregate struct {
	WireFlags AttrFlags `json:",omitempty"`
}

// Aggregator is the AGGREGATOR attribute (RFC 4271 §5.1.7): 2-octet AS on
// a 2-octet session (AS_TRANS when AS does not fit), 4-octet otherwise.
type Aggregator struct {
	AS        uint32
	Addr      netip.Addr
	WireFlags AttrFlags `json:",omitempty"`
}

// Community is one RFC 1997 community.
type Community uint32

// Well-known communities (RFC 1997, RFC 3765, RFC 7611, RFC 7999, RFC 8326,
// RFC 9494).
const (
	CommunityGracefulShutdown  Community = 0xFFFF0000
	CommunityAcceptOwn         Community = 0xFFFF0001
	CommunityLLGRStale         Community = 0xFFFF0006
	CommunityNoLLGR            Community = 0xFFFF0007
	CommunityBlackhole         Community = 0xFFFF029A
	CommunityNoExport          Community = 0xFFFFFF01
	CommunityNoAdvertise       Community = 0xFFFFFF02
	CommunityNoExportSubconfed Community = 0xFFFFFF03
	CommunityNoPeer            Community = 0xFFFFFF04
)

var communityNames = map[Community]string{
	CommunityGracefulShutdown:  "graceful-shutdown",
	CommunityAcceptOwn:         "accept-own",
	CommunityLLGRStale:         "llgr-stale",
	CommunityNoLLGR:            "no-llgr",
	CommunityBlackhole:         "blackhole",
	CommunityNoExport:          "no-export",
	CommunityNoAdvertise:       "no-advertise",
	CommunityNoExportSubconfed: "local-AS",
	CommunityNoPeer:            "no-peer",
}

// String returns the well-known name FRR uses ("no-export", "local-AS",
// ...) or "AS:value".
func (c Community) String() string {
	if n, ok := communityNames[c]; ok {
		return n
	}
	return fmt.Sprintf("%d:%d", uint32(c)>>16, uint32(c)&0xffff)
}

// Communities is the COMMUNITIES attribute (RFC 1997).
type Communities struct {
	Values    []Community
	WireFlags AttrFlags `json:",omitempty"`
}

// OriginatorID is the ORIGINATOR_ID attribute (RFC 4456 §8).
type OriginatorID struct {
	ID        netip.Addr
	WireFlags AttrFlags `json:",omitempty"`
}

// ClusterList is the CLUSTER_LIST attribute (RFC 4456 §8).
type ClusterList struct {
	IDs       []netip.Addr
	WireFlags AttrFlags `json:",omitempty"`
}

// MPReachNLRI is the MP_REACH_NLRI attribute (RFC 4760 §3). For IPv4 and
// IPv6 unicast and multicast, NextHops holds the next hop (for IPv6 the
// global address and, when 32 bytes were sent, the link-local one, as
// RFC 2545 §3 orders them; for IPv4 a 4-byte address or the IPv6 ones of
// RFC 8950) and NLRI the prefixes. For other families Raw holds everything
// after the AFI and SAFI, undecoded.
type MPReachNLRI struct {
	AFI       AFI
	SAFI      SAFI
	NextHops  []netip.Addr
	NLRI      []netip.Prefix
	Raw       []byte    `json:",omitempty"`
	WireFlags AttrFlags `json:",omitempty"`
}

// MPUnreachNLRI is the MP_UNREACH_NLRI attribute (RFC 4760 §4). For other
// families than IPv4/IPv6 unicast and multicast, Raw holds the withdrawn
// routes undecoded.
type MPUnreachNLRI struct {
	AFI       AFI
	SAFI      SAFI
	Withdrawn []netip.Prefix
	Raw       []byte    `json:",omitempty"`
	WireFlags AttrFlags `json:",omitempty"`
}

// ExtendedCommunity is one RFC 4360 extended community, as on the wire.
type ExtendedCommunity [8]byte

// Type returns the type and subtype octets.
func (c ExtendedCommunity) Type() (typ, subtype uint8) { return c[0], c[1] }

// String renders route targets and origins as FRR does ("RT:65001:100",
// "SoO:1.2.3.4:5") and other communities in hex.
func (c ExtendedCommunity) String() string {
	var kind string
	switch c[1] {
	case 0x02:
		kind = "RT"
	case 0x03:
		kind = "SoO"
	}
	if kind != "" {
		switch c[0] & 0x3f {
		case 0x00: // 2-octet AS specific
			return fmt.Sprintf("%s:%d:%d", kind, binary.BigEndian.Uint16(c[2:]), binary.BigEndian.Uint32(c[4:]))
		case 0x01: // IPv4 address specific
			return fmt.Sprintf("%s:%v:%d", kind, netip.AddrFrom4([4]byte(c[2:6])), binary.BigEndian.Uint16(c[6:]))
		case 0x02: // 4-octet AS specific
			return fmt.Sprintf("%s:%d:%d", kind, binary.BigEndian.Uint32(c[2:]), binary.BigEndian.Uint16(c[6:]))
		}
	}
	return fmt.Sprintf("0x%02x%02x:%x", c[0], c[1], c[2:])
}

// ExtendedCommunities is the EXTENDED_COMMUNITIES attribute (RFC 4360).
type ExtendedCommunities struct {
	Values    []ExtendedCommunity
	WireFlags AttrFlags `json:",omitempty"`
}

// AS4Path is the AS4_PATH attribute (RFC 6793 §3): the 4-octet path an
// old (2-octet) speaker carries beside its AS_PATH.
type AS4Path struct {
	Segments  []ASSegment
	WireFlags AttrFlags `json:",omitempty"`
}

// AS4Aggregator is the AS4_AGGREGATOR attribute (RFC 6793 §3).
type AS4Aggregator struct {
	AS        uint32
	Addr      netip.Addr
	WireFlags AttrFlags `json:",omitempty"`
}

// LargeCommunity is one RFC 8092 large community.
type LargeCommunity struct {
	GlobalAdmin uint32
	LocalData1  uint32
	LocalData2  uint32
}

// String returns "global:local1:local2".
func (c LargeCommunity) String() string {
	return fmt.Sprintf("%d:%d:%d", c.GlobalAdmin, c.LocalData1, c.LocalData2)
}

// LargeCommunities is the LARGE_COMMUNITY attribute (RFC 8092).
type LargeCommunities struct {
	Values    []LargeCommunity
	WireFlags AttrFlags `json:",omitempty"`
}

// UnknownAttr is an optional attribute this codec does not decode, kept
// as raw bytes. A speaker passes it on if it is transitive, with the
// Partial bit set (RFC 4271 §5: see Propagate), and drops it otherwise.
type UnknownAttr struct {
	TypeCode  AttrCode
	WireFlags AttrFlags
	Value     []byte
}

// Code returns AttrOrigin.
func (Origin) Code() AttrCode { return AttrOrigin }

// Code returns AttrASPath.
func (ASPath) Code() AttrCode { return AttrASPath }

// Code returns AttrNextHop.
func (NextHop) Code() AttrCode { return AttrNextHop }

// Code returns AttrMED.
func (MED) Code() AttrCode { return AttrMED }

// Code returns AttrLocalPref.
func (LocalPref) Code() AttrCode { return AttrLocalPref }

// Code returns AttrAtomicAggregate.
func (AtomicAggregate) Code() AttrCode { return AttrAtomicAggregate }

// Code returns AttrAggregator.
func (Aggregator) Code() AttrCode { return AttrAggregator }

// Code returns AttrCommunities.
func (Communities) Code() AttrCode { return AttrCommunities }

// Code returns AttrOriginatorID.
func (OriginatorID) Code() AttrCode { return AttrOriginatorID }

// Code returns AttrClusterList.
func (ClusterList) Code() AttrCode { return AttrClusterList }

// Code returns AttrMPReachNLRI.
func (MPReachNLRI) Code() AttrCode { return AttrMPReachNLRI }

// Code returns AttrMPUnreachNLRI.
func (MPUnreachNLRI) Code() AttrCode { return AttrMPUnreachNLRI }

// Code returns AttrExtendedCommunities.
func (ExtendedCommunities) Code() AttrCode { return AttrExtendedCommunities }

// Code returns AttrAS4Path.
func (AS4Path) Code() AttrCode { return AttrAS4Path }

// Code returns AttrAS4Aggregator.
func (AS4Aggregator) Code() AttrCode { return AttrAS4Aggregator }

// Code returns AttrLargeCommunity.
func (LargeCommunities) Code() AttrCode { return AttrLargeCommunity }

// Code returns TypeCode.
func (a UnknownAttr) Code() AttrCode { return a.TypeCode }

// Flags returns the received flags, or Transitive.
func (a Origin) Flags() AttrFlags { return flagsOr(a.WireFlags, AttrOrigin) }

// Flags returns the received flags, or Transitive.
func (a ASPath) Flags() AttrFlags { return flagsOr(a.WireFlags, AttrASPath) }

// Flags returns the received flags, or Transitive.
func (a NextHop) Flags() AttrFlags { return flagsOr(a.WireFlags, AttrNextHop) }

// Flags returns the received flags, or Optional.
func (a MED) Flags() AttrFlags { return flagsOr(a.WireFlags, AttrMED) }

// Flags returns the received flags, or Transitive.
func (a LocalPref) Flags() AttrFlags { return flagsOr(a.WireFlags, AttrLocalPref) }

// Flags returns the received flags, or Transitive.
func (a AtomicAggregate) Flags() AttrFlags { return flagsOr(a.WireFlags, AttrAtomicAggregate) }

// Flags returns the received flags, or Optional|Transitive.
func (a Aggregator) Flags() AttrFlags { return flagsOr(a.WireFlags, AttrAggregator) }

// Flags returns the received flags, or Optional|Transitive.
func (a Communities) Flags() AttrFlags { return flagsOr(a.WireFlags, AttrCommunities) }

// Flags returns the received flags, or Optional.
func (a OriginatorID) Flags() AttrFlags { return flagsOr(a.WireFlags, AttrOriginatorID) }

// Flags returns the received flags, or Optional.
func (a ClusterList) Flags() AttrFlags { return flagsOr(a.WireFlags, AttrClusterList) }

// Flags returns the received flags, or Optional.
func (a MPReachNLRI) Flags() AttrFlags { return flagsOr(a.WireFlags, AttrMPReachNLRI) }

// Flags returns the received flags, or Optional.
func (a MPUnreachNLRI) Flags() AttrFlags { return flagsOr(a.WireFlags, AttrMPUnreachNLRI) }

// Flags returns the received flags, or Optional|Transitive.
func (a ExtendedCommunities) Flags() AttrFlags { return flagsOr(a.WireFlags, AttrExtendedCommunities) }

// Flags returns the received flags, or Optional|Transitive.
func (a AS4Path) Flags() AttrFlags { return flagsOr(a.WireFlags, AttrAS4Path) }

// Flags returns the received flags, or Optional|Transitive.
func (a AS4Aggregator) Flags() AttrFlags { return flagsOr(a.WireFlags, AttrAS4Aggregator) }

// Flags returns the received flags, or Optional|Transitive.
func (a LargeCommunities) Flags() AttrFlags { return flagsOr(a.WireFlags, AttrLargeCommunity) }

// Flags returns the received flags, or Optional|Transitive.
func (a UnknownAttr) Flags() AttrFlags { return flagsOr(a.WireFlags, a.TypeCode) }

// Propagate returns the attribute as a speaker passes it on (RFC 4271
// §5): with the Partial bit set if it is optional transitive, and false if
// it is non-transitive and must be dropped.
func (a UnknownAttr) Propagate() (UnknownAttr, bool) {
	f := a.Flags()
	if f&FlagTransitive == 0 {
		return a, false
	}
	a.WireFlags = f | FlagPartial
	return a, true
}

// Len is the path length the decision process compares (RFC 4271
// §9.1.2.2 a): each AS of a sequence counts, a set counts one, and
// confederation segments do not count (RFC 5065 §5.3).
func (p ASPath) Len() int { return pathLen(p.Segments) }

func pathLen(segs []ASSegment) int {
	n := 0
	for _, s := range segs {
		switch s.Type {
		case ASSequence:
			n += len(s.ASNs)
		case ASSet:
			n++
		}
	}
	return n
}

// First returns the leftmost AS of the path outside confederation
// segments: the neighbouring AS an eBGP speaker checks (RFC 4271 §6.3).
func (p ASPath) First() (uint32, bool) {
	for _, s := range p.Segments {
		if s.Type == ASSequence && len(s.ASNs) > 0 {
			return s.ASNs[0], true
		}
		if s.Type == ASSet {
			return 0, false
		}
	}
	return 0, false
}

// Origin returns the AS that originated the route: the last AS of the last
// AS_SEQUENCE segment (none if the path ends in a set).
func (p ASPath) Origin() (uint32, bool) {
	if len(p.Segments) == 0 {
		return 0, false
	}
	s := p.Segments[len(p.Segments)-1]
	if s.Type != ASSequence || len(s.ASNs) == 0 {
		return 0, false
	}
	return s.ASNs[len(s.ASNs)-1], true
}

// Contains reports whether as appears anywhere in the path, the loop check
// of RFC 4271 §9.1.2.
func (p ASPath) Contains(as uint32) bool {
	for _, s := range p.Segments {
		for _, a := range s.ASNs {
			if a == as {
				return true
			}
		}
	}
	return false
}

// Prepend returns a new path with as prepended n times, as an eBGP speaker
// does (RFC 4271 §5.1.2): into the leading AS_SEQUENCE while it has room for
// 255, else in a new segment. p is not modified.
func (p ASPath) Prepend(as uint32, n int) ASPath {
	segs := make([]ASSegment, 0, len(p.Segments)+1)
	rest := p.Segments
	var lead []uint32
	if len(rest) > 0 && rest[0].Type == ASSequence {
		lead = rest[0].ASNs
		rest = rest[1:]
	}
	asns := make([]uint32, 0, n+len(lead))
	for range n {
		asns = append(asns, as)
	}
	asns = append(asns, lead...)
	for len(asns) > 255 {
		// Keep the leftmost segment full; the overflow goes in the segments
		// that follow, in order.
		segs = append(segs, ASSegment{Type: ASSequence, ASNs: asns[:255:255]})
		asns = asns[255:]
	}
	if len(asns) > 0 {
		segs = append(segs, ASSegment{Type: ASSequence, ASNs: asns})
	}
	segs = append(segs, rest...)
	return ASPath{Segments: segs}
}

// String renders the path as FRR does: "3 2 1", "{4,5}", "(65001 65002)",
// "[65003]" for a confederation set; "" for an empty path.
func (p ASPath) String() string { return segmentsString(p.Segments) }

// String renders the path as ASPath.String does.
func (p AS4Path) String() string { return segmentsString(p.Segments) }

func segmentsString(segs []ASSegment) string {
	var b []byte
	for i, s := range segs {
		if i > 0 {
			b = append(b, ' ')
		}
		b = AppendSegment(b, s.Type, s.ASNs)
	}
	return string(b)
}

// AppendSegment appends one AS_PATH segment as FRR renders it: a sequence
// as space-separated numbers, a set in braces with commas, a
// confederation sequence in parentheses, a confederation set in brackets.
func AppendSegment(b []byte, t SegmentType, asns []uint32) []byte {
	open, sep, closing := byte(0), byte(' '), byte(0)
	switch t {
	case ASSet:
		open, sep, closing = '{', ',', '}'
	case ASConfedSequence:
		open, closing = '(', ')'
	case ASConfedSet:
		open, sep, closing = '[', ',', ']'
	}
	if open != 0 {
		b = append(b, open)
	}
	for j, a := range asns {
		if j > 0 {
			b = append(b, sep)
		}
		b = strconv.AppendUint(b, uint64(a), 10)
	}
	if closing != 0 {
		b = append(b, closing)
	}
	return b
}
