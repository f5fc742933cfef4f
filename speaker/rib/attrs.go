// Package rib holds a BGP speaker's routing information bases and its
// decision process (RFC 4271 sections 3.2 and 9.1): the Adj-RIB-In paths of
// every peer, the Loc-RIB with the best path of every prefix and the reason
// it won, the Adj-RIB-Out of every peer, and the interning of path
// attribute sets shared by all of them.
//
// The package is pure data: no goroutines, no locks, no kernel. A Table and
// everything reachable from it belongs to one goroutine (the speaker's RIB
// goroutine); nothing here may be used from two goroutines at once.
//
// Memory is the design constraint (a full table is about a million paths):
// attribute sets are interned and reference counted, so a path is a small
// struct of three pointers and a timestamp inside its destination, and the
// Adj-RIB-In of a peer is not a separate map but the set of paths whose
// source is that peer.
package rib

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/maphash"
	"net/netip"
	"strconv"
	"strings"
)

// Origin is the ORIGIN attribute (RFC 4271 section 5.1.1).
type Origin uint8

// Origin values.
const (
	OriginIGP        Origin = 0
	OriginEGP        Origin = 1
	OriginIncomplete Origin = 2
)

// Code returns the origin code FRR prints at the end of a table line.
func (o Origin) Code() string {
	switch o {
	case OriginIGP:
		return "i"
	case OriginEGP:
		return "e"
	}
	return "?"
}

func (o Origin) String() string {
	switch o {
	case OriginIGP:
		return "IGP"
	case OriginEGP:
		return "EGP"
	case OriginIncomplete:
		return "incomplete"
	}
	return "Origin(" + strconv.Itoa(int(o)) + ")"
}

// AS_PATH segment types (RFC 4271 section 4.3, RFC 5065 section 3).
const (
	SegSet            uint8 = 1
	SegSequence       uint8 = 2
	SegConfedSequence uint8 = 3
	SegConfedSet      uint8 = 4
)

// Segment is one AS_PATH segment with 4-octet AS numbers.
type Segment struct {
	Type uint8
	ASNs []uint32
}

// LargeCommunity is an RFC 8092 large community.
type LargeCommunity struct {
	Global, Local1, Local2 uint32
}

func (c LargeCommunity) String() string {
	return fmt.Sprintf("%d:%d:%d", c.Global, c.Local1, c.Local2)
}

// Attrs is a set of path attributes. Once interned (Interner.Intern) it is
// immutable and shared by every path that carries the same attributes;
// compare interned sets by pointer.
type Attrs struct {
	Origin Origin
	ASPath []Segment
	// NextHop is the IPv4 NEXT_HOP, or the IPv6 global next hop of
	// MP_REACH_NLRI (RFC 2545 section 3). It is the address the decision
	// process resolves.
	NextHop netip.Addr
	// LinkLocal is the IPv6 link-local next hop (the second address of a
	// 32-byte MP_REACH next hop), or the zero Addr.
	LinkLocal netip.Addr
	MED       uint32
	HasMED    bool
	LocalPref uint32
	// HasLocalPref is set when LOCAL_PREF was received (iBGP) or set
	// locally; the decision process uses DefaultLocalPref otherwise.
	HasLocalPref     bool
	AtomicAggregate  bool
	Communities      []uint32
	LargeCommunities []LargeCommunity
	// OriginatorID and ClusterList are the RFC 4456 attributes; the
	// decision process uses them when present.
	OriginatorID netip.Addr
	ClusterList  []uint32
	// Other holds the attributes the speaker carries without interpreting
	// them (AGGREGATOR, extended communities, unknown optional transitive
	// attributes), each encoded as on the wire (flags, type, length, value),
	// concatenated. The speaker owns the encoding.
	Other string

	// refs is the number of holders of this set (paths, Adj-RIB-Out
	// entries); hash is its key's hash in the Interner, next the next set
	// with the same hash. Owned by the goroutine that owns the Interner.
	refs int32
	hash uint64
	next *Attrs
}

// DefaultLocalPref is the LOCAL_PREF assumed when none was received, as
// FRR's `bgp default local-preference`.
const DefaultLocalPref = 100

// EffectiveLocalPref returns LOCAL_PREF, or DefaultLocalPref when absent.
func (a *Attrs) EffectiveLocalPref() uint32 {
	if a.HasLocalPref {
		return a.LocalPref
	}
	return DefaultLocalPref
}

// PathLen returns the AS_PATH length the decision process compares
// (RFC 4271 section 9.1.2.2 a: an AS_SET counts as one, RFC 5065 section
// 5.3: confederation segments count as zero).
func (a *Attrs) PathLen() int {
	n := 0
	for _, s := range a.ASPath {
		switch s.Type {
		case SegSequence:
			n += len(s.ASNs)
		case SegSet:
			n++
		}
	}
	return n
}

// NeighborAS returns the first AS of the AS_PATH, the AS the path was
// learned from, or 0 for an empty path (a locally originated or iBGP-only
// path). MEDs are only compared between paths with the same neighbour AS
// (RFC 4271 section 9.1.2.2 c).
func (a *Attrs) NeighborAS() uint32 {
	for _, s := range a.ASPath {
		if s.Type == SegConfedSequence || s.Type == SegConfedSet {
			continue
		}
		if s.Type == SegSequence && len(s.ASNs) > 0 {
			return s.ASNs[0]
		}
		return 0
	}
	return 0
}

// HasAS reports whether as appears anywhere in the AS_PATH: the loop check
// of RFC 4271 section 9.1.2.
func (a *Attrs) HasAS(as uint32) bool {
	for _, s := range a.ASPath {
		for _, x := range s.ASNs {
			if x == as {
				return true
			}
		}
	}
	return false
}

// PathString renders the AS_PATH as FRR does: sequences as space-separated
// numbers, sets in braces, confederation segments in parentheses.
func (a *Attrs) PathString() string {
	var b strings.Builder
	for i, s := range a.ASPath {
		if i > 0 {
			b.WriteByte(' ')
		}
		open, sep, close := "", " ", ""
		switch s.Type {
		case SegSet:
			open, sep, close = "{", ",", "}"
		case SegConfedSequence:
			open, close = "(", ")"
		case SegConfedSet:
			open, sep, close = "[", ",", "]"
		}
		b.WriteString(open)
		for j, as := range s.ASNs {
			if j > 0 {
				b.WriteString(sep)
			}
			b.WriteString(strconv.FormatUint(uint64(as), 10))
		}
		b.WriteString(close)
	}
	return b.String()
}

// Prepend returns a copy of the AS_PATH with as prepended n times to the
// leading AS_SEQUENCE, starting a new one when the path begins with another
// segment type or the leading segment is full (RFC 4271 section 5.1.2).
func Prepend(path []Segment, as uint32, n int) []Segment {
	out := make([]Segment, 0, len(path)+1)
	if len(path) > 0 && path[0].Type == SegSequence && len(path[0].ASNs)+n <= 255 {
		asns := make([]uint32, 0, len(path[0].ASNs)+n)
		for i := 0; i < n; i++ {
			asns = append(asns, as)
		}
		asns = append(asns, path[0].ASNs...)
		out = append(out, Segment{Type: SegSequence, ASNs: asns})
		return append(out, path[1:]...)
	}
	asns := make([]uint32, n)
	for i := range asns {
		asns[i] = as
	}
	out = append(out, Segment{Type: SegSequence, ASNs: asns})
	return append(out, path...)
}

// appendKey appends a canonical encoding of every field of a, the
// interning key: two sets have the same key exactly when they are equal.
func (a *Attrs) appendKey(b []byte) []byte {
	b = append(b, byte(a.Origin))
	var fl byte
	if a.HasMED {
		fl |= 1
	}
	if a.HasLocalPref {
		fl |= 2
	}
	if a.AtomicAggregate {
		fl |= 4
	}
	b = append(b, fl)
	b = binary.BigEndian.AppendUint32(b, a.MED)
	b = binary.BigEndian.AppendUint32(b, a.LocalPref)
	b = appendAddr(b, a.NextHop)
	b = appendAddr(b, a.LinkLocal)
	b = appendAddr(b, a.OriginatorID)
	b = binary.BigEndian.AppendUint16(b, uint16(len(a.ASPath)))
	for _, s := range a.ASPath {
		b = append(b, s.Type)
		b = binary.BigEndian.AppendUint16(b, uint16(len(s.ASNs)))
		for _, as := range s.ASNs {
			b = binary.BigEndian.AppendUint32(b, as)
		}
	}
	b = binary.BigEndian.AppendUint32(b, uint32(len(a.Communities)))
	for _, c := range a.Communities {
		b = binary.BigEndian.AppendUint32(b, c)
	}
	b = binary.BigEndian.AppendUint32(b, uint32(len(a.LargeCommunities)))
	for _, c := range a.LargeCommunities {
		b = binary.BigEndian.AppendUint32(b, c.Global)
		b = binary.BigEndian.AppendUint32(b, c.Local1)
		b = binary.BigEndian.AppendUint32(b, c.Local2)
	}
	b = binary.BigEndian.AppendUint32(b, uint32(len(a.ClusterList)))
	for _, c := range a.ClusterList {
		b = binary.BigEndian.AppendUint32(b, c)
	}
	b = binary.BigEndian.AppendUint32(b, uint32(len(a.Other)))
	return append(b, a.Other...)
}

func appendAddr(b []byte, a netip.Addr) []byte {
	switch {
	case !a.IsValid():
		return append(b, 0)
	case a.Is4():
		b = append(b, 4)
		s := a.As4()
		return append(b, s[:]...)
	}
	b = append(b, 6)
	s := a.As16()
	b = append(b, s[:]...)
	z := a.Zone()
	b = append(b, byte(len(z)))
	return append(b, z...)
}

// Interner shares equal attribute sets. It belongs to one goroutine.
//
// Sets are found by the hash of their canonical key (appendKey), and
// compared by key on a match; the key itself is not kept. A speaker of a
// lab holds hundreds of thousands of sets, nearly all different, and a
// key is about as large as the set's own fields.
type Interner struct {
	m    map[uint64]*Attrs // by key hash; equal hashes chained through next
	n    int
	seed maphash.Seed
	buf  []byte
	buf2 []byte
	// sum replaces the key hash in tests (to make sets collide).
	sum func([]byte) uint64
}

// NewInterner returns an empty Interner.
func NewInterner() *Interner {
	return &Interner{m: make(map[uint64]*Attrs), seed: maphash.MakeSeed()}
}

// Intern returns the shared set equal to a, with one more reference that
// the caller owns and gives back with Release. a is copied when it is new:
// the caller may reuse a and its slices afterwards.
func (in *Interner) Intern(a *Attrs) *Attrs { return in.intern(a, false) }

// InternOwned is Intern for a set the caller gives away: when it is new,
// a itself becomes the shared set (no copy), so neither a nor the slices
// it refers to may change afterwards. A speaker interns every attribute
// set it receives: most are new, and copying them is garbage.
func (in *Interner) InternOwned(a *Attrs) *Attrs { return in.intern(a, true) }

func (in *Interner) intern(a *Attrs, owned bool) *Attrs {
	in.buf = a.appendKey(in.buf[:0])
	var h uint64
	if in.sum != nil {
		h = in.sum(in.buf)
	} else {
		h = maphash.Bytes(in.seed, in.buf)
	}
	first := in.m[h]
	for s := first; s != nil; s = s.next {
		in.buf2 = s.appendKey(in.buf2[:0])
		if bytes.Equal(in.buf, in.buf2) {
			s.refs++
			return s
		}
	}
	s := a
	if owned {
		a.refs = 0
	} else {
		s = a.clone()
	}
	s.hash, s.next, s.refs = h, first, 1
	in.m[h] = s
	in.n++
	return s
}

// Retain adds a reference to an interned set.
func (in *Interner) Retain(s *Attrs) *Attrs {
	if s != nil {
		s.refs++
	}
	return s
}

// Release drops a reference; the set is forgotten when none is left.
func (in *Interner) Release(s *Attrs) {
	if s == nil {
		return
	}
	s.refs--
	if s.refs != 0 {
		return // still held (or released once too often: leave the table be)
	}
	switch first := in.m[s.hash]; {
	case first == s && s.next == nil:
		delete(in.m, s.hash)
	case first == s:
		in.m[s.hash] = s.next
	default:
		for p := first; p != nil; p = p.next {
			if p.next == s {
				p.next = s.next
				break
			}
		}
	}
	s.next = nil
	in.n--
}

// Len returns the number of distinct sets held.
func (in *Interner) Len() int { return in.n }

// clone makes a deep copy, packing the slices into as few allocations as
// possible.
func (a *Attrs) clone() *Attrs {
	c := *a
	c.refs, c.hash, c.next = 0, 0, nil
	if len(a.ASPath) > 0 {
		n := 0
		for _, s := range a.ASPath {
			n += len(s.ASNs)
		}
		all := make([]uint32, 0, n)
		c.ASPath = make([]Segment, len(a.ASPath))
		for i, s := range a.ASPath {
			start := len(all)
			all = append(all, s.ASNs...)
			c.ASPath[i] = Segment{Type: s.Type, ASNs: all[start:len(all):len(all)]}
		}
	}
	if len(a.Communities) > 0 {
		c.Communities = append([]uint32(nil), a.Communities...)
	} else {
		c.Communities = nil
	}
	if len(a.LargeCommunities) > 0 {
		c.LargeCommunities = append([]LargeCommunity(nil), a.LargeCommunities...)
	} else {
		c.LargeCommunities = nil
	}
	if len(a.ClusterList) > 0 {
		c.ClusterList = append([]uint32(nil), a.ClusterList...)
	} else {
		c.ClusterList = nil
	}
	return &c
}
