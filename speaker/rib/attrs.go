// Package rib holds a BGP speaker's routing information bases and its
// decision process (RFC 4271 sections 3.2 and 9.1): the Adj-RIB-In paths of
// every peer, the Loc-RIB with the best path of every prefix and the reason
// it won, the Adj-RIB-Out of every peer, and the interning of path
// attribute sets shared by all of them.
//
// The package is pure data: no goroutines, no kernel. A Table and
// everything reachable from it belongs to one goroutine (the speaker's RIB
// goroutine); only the Interner, which the speakers of a process share,
// is safe for concurrent use.
//
// Memory is the design constraint (a full table is about a million paths):
// attribute sets are interned and reference counted, so a path is a small
// struct of three pointers and a timestamp inside its destination, and the
// Adj-RIB-In of a peer is not a separate map but the set of paths whose
// source is that peer.
package rib

import (
	"encoding/binary"
	"fmt"
	"hash/maphash"
	"net/netip"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
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
	HasMED bool
	// HasLocalPref is set when LOCAL_PREF was received (iBGP) or set
	// locally; the decision process uses DefaultLocalPref otherwise.
	HasLocalPref    bool
	AtomicAggregate bool
	// HasWeight is set when a policy gave the path a weight (FRR's
	// `set weight`, `neighbor ... weight`): local to the speaker, never
	// sent. Without it a path has its source's weight (Source.Weight).
	HasWeight bool
	MED       uint32
	LocalPref uint32
	Weight    uint32
	ASPath    []Segment
	// The next hop is not an attribute of the set but of the path
	// (Path.NH): with next hop self, every peer's routes carry its own
	// address, and sets without it are shared by the routes of every
	// speaker of the process that learnt the same path.

	// Ext holds the attributes most routes lack, or nil (see Extra and
	// MutableExtra): a lab's speakers hold tens of thousands of sets, and
	// a set with room for each of them is twice as large.
	Ext *Ext

	// refs is the number of holders of this set (paths, Adj-RIB-Out
	// entries), changed atomically by any goroutine holding a reference;
	// hash is its key's hash in the Interner (fixed once interned); next,
	// the next set with the same hash, and linked, whether the set is in
	// the Interner, are guarded by the lock of the set's shard.
	refs   int32
	linked bool
	hash   uint64
	next   *Attrs
}

// Ext is the part of an attribute set that most routes lack. Once the set
// is interned, it is as immutable as the set, and may be shared by sets
// derived from it (Copy).
type Ext struct {
	Communities      []uint32
	LargeCommunities []LargeCommunity
	// OriginatorID and ClusterList are the RFC 4456 attributes; the
	// decision process uses them when present.
	OriginatorID netip.Addr
	ClusterList  []uint32
	// NextHop is set on exported sets only: the next hop a route is
	// advertised with when it is not the session's own address (an
	// origination with a next hop of its own; reflected routes), so that
	// a change of next hop is a change of the set an Adj-RIB-Out
	// records. Never on a set learned or in a table.
	NextHop netip.Addr
	// Other holds the attributes the speaker carries without interpreting
	// them (AGGREGATOR, extended communities, unknown optional transitive
	// attributes), each encoded as on the wire (flags, type, length, value),
	// concatenated. The speaker owns the encoding.
	Other string
}

func (e *Ext) empty() bool {
	return len(e.Communities) == 0 && len(e.LargeCommunities) == 0 && !e.OriginatorID.IsValid() &&
		len(e.ClusterList) == 0 && e.Other == "" && !e.NextHop.IsValid()
}

var noExt Ext

// Extra returns the set's Ext, or an empty one when it has none: read it,
// never change it.
func (a *Attrs) Extra() *Ext {
	if a.Ext != nil {
		return a.Ext
	}
	return &noExt
}

// MutableExtra returns the Ext of a set being built (not interned, not
// sharing its Ext with another), creating it when the set has none.
func (a *Attrs) MutableExtra() *Ext {
	if a.Ext == nil {
		a.Ext = new(Ext)
	}
	return a.Ext
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
	if a.HasWeight {
		fl |= 8
	}
	b = append(b, fl)
	b = binary.BigEndian.AppendUint32(b, a.MED)
	b = binary.BigEndian.AppendUint32(b, a.LocalPref)
	b = binary.BigEndian.AppendUint32(b, a.Weight)
	x := a.Extra()
	b = appendAddr(b, x.OriginatorID)
	b = appendAddr(b, x.NextHop)
	b = binary.BigEndian.AppendUint16(b, uint16(len(a.ASPath)))
	for _, s := range a.ASPath {
		b = append(b, s.Type)
		b = binary.BigEndian.AppendUint16(b, uint16(len(s.ASNs)))
		for _, as := range s.ASNs {
			b = binary.BigEndian.AppendUint32(b, as)
		}
	}
	b = binary.BigEndian.AppendUint32(b, uint32(len(x.Communities)))
	for _, c := range x.Communities {
		b = binary.BigEndian.AppendUint32(b, c)
	}
	b = binary.BigEndian.AppendUint32(b, uint32(len(x.LargeCommunities)))
	for _, c := range x.LargeCommunities {
		b = binary.BigEndian.AppendUint32(b, c.Global)
		b = binary.BigEndian.AppendUint32(b, c.Local1)
		b = binary.BigEndian.AppendUint32(b, c.Local2)
	}
	b = binary.BigEndian.AppendUint32(b, uint32(len(x.ClusterList)))
	for _, c := range x.ClusterList {
		b = binary.BigEndian.AppendUint32(b, c)
	}
	b = binary.BigEndian.AppendUint32(b, uint32(len(x.Other)))
	return append(b, x.Other...)
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

// Interner shares equal attribute sets. It is safe for concurrent use:
// the speakers of a lab run in one process and share one Interner (see
// Shared), so that the set a router advertises to all its neighbours is
// held once, however many of them hold it.
//
// Sets are found by the hash of their canonical key (appendKey) and
// compared field by field on a match; the key itself is not kept. The
// table is split in shards by hash, each with its own lock, so that the
// RIB goroutines of hundreds of speakers seldom wait for one another.
// References are counted atomically: Retain and Release of a set that
// stays held touch no lock.
type Interner struct {
	seed   maphash.Seed
	n      atomic.Int64
	shards [internShards]internShard
	// sum replaces the key hash in tests (to make sets collide).
	sum func([]byte) uint64
}

const (
	internShardBits = 6
	internShards    = 1 << internShardBits
)

type internShard struct {
	mu sync.Mutex
	m  map[uint64]*Attrs // by key hash; equal hashes chained through next
	// Shards are written by different goroutines: keep each on its own
	// cache line.
	_ [64 - 16]byte
}

// NewInterner returns an empty Interner.
func NewInterner() *Interner {
	in := &Interner{seed: maphash.MakeSeed()}
	for i := range in.shards {
		in.shards[i].m = make(map[uint64]*Attrs)
	}
	return in
}

var shared = NewInterner()

// Shared returns the process's Interner, which every speaker uses.
func Shared() *Interner { return shared }

// Intern returns the shared set equal to a, with one more reference that
// the caller owns and gives back with Release. a is copied when it is new:
// the caller may reuse a and its slices afterwards, and a may live on the
// caller's stack (it does not escape).
func (in *Interner) Intern(a *Attrs) *Attrs {
	h := in.hash(a)
	sh := in.shard(h)
	sh.mu.Lock()
	if s := sh.find(h, a); s != nil {
		sh.mu.Unlock()
		return s
	}
	s := a.clone()
	in.insert(sh, h, s)
	sh.mu.Unlock()
	return s
}

// InternOwned is Intern for a set the caller gives away: when it is new,
// a itself becomes the shared set (no copy), so neither a nor the slices
// it refers to may change afterwards.
func (in *Interner) InternOwned(a *Attrs) *Attrs {
	h := in.hash(a)
	sh := in.shard(h)
	sh.mu.Lock()
	if s := sh.find(h, a); s != nil {
		sh.mu.Unlock()
		return s
	}
	in.insert(sh, h, a)
	sh.mu.Unlock()
	return a
}

func (in *Interner) shard(h uint64) *internShard {
	return &in.shards[h>>(64-internShardBits)]
}

// hash returns the hash of a's key.
func (in *Interner) hash(a *Attrs) uint64 {
	// Most keys fit the stack buffer; a long AS_PATH or many communities
	// spill to the heap.
	var kb [256]byte
	key := a.appendKey(kb[:0])
	if in.sum != nil {
		// A copy: the key must not leave this frame, or kb would move to
		// the heap on every call.
		return in.sum(slices.Clone(key))
	}
	return maphash.Bytes(in.seed, key)
}

// find returns the set equal to a with hash h, with one more reference,
// or nil. Called with the shard's lock held.
func (sh *internShard) find(h uint64, a *Attrs) *Attrs {
	for s := sh.m[h]; s != nil; s = s.next {
		if s.equal(a) {
			// A set whose count just fell to zero is still linked until
			// its releaser takes the lock, and may be taken again: the
			// releaser then finds it held and leaves it.
			atomic.AddInt32(&s.refs, 1)
			return s
		}
	}
	return nil
}

// insert links the new set s, with one reference. Called with the
// shard's lock held.
func (in *Interner) insert(sh *internShard, h uint64, s *Attrs) {
	s.hash, s.next, s.linked = h, sh.m[h], true
	atomic.StoreInt32(&s.refs, 1)
	sh.m[h] = s
	in.n.Add(1)
}

// Retain adds a reference to an interned set the caller holds.
func (in *Interner) Retain(s *Attrs) *Attrs {
	if s != nil {
		atomic.AddInt32(&s.refs, 1)
	}
	return s
}

// Release drops a reference; the set is forgotten when none is left.
func (in *Interner) Release(s *Attrs) {
	if s == nil || atomic.AddInt32(&s.refs, -1) != 0 {
		return // still held (or released once too often: leave the table be)
	}
	sh := in.shard(s.hash)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if !s.linked || atomic.LoadInt32(&s.refs) != 0 {
		return // taken again by Intern meanwhile, or unlinked already
	}
	switch first := sh.m[s.hash]; {
	case first == s && s.next == nil:
		delete(sh.m, s.hash)
	case first == s:
		sh.m[s.hash] = s.next
	default:
		for p := first; p != nil; p = p.next {
			if p.next == s {
				p.next = s.next
				break
			}
		}
	}
	s.next, s.linked = nil, false
	in.n.Add(-1)
}

// Len returns the number of distinct sets held.
func (in *Interner) Len() int { return int(in.n.Load()) }

// equal reports whether a and b hold the same attributes: exactly when
// their keys (appendKey) are equal.
func (a *Attrs) equal(b *Attrs) bool {
	if a.Origin != b.Origin || a.HasMED != b.HasMED || a.HasLocalPref != b.HasLocalPref ||
		a.AtomicAggregate != b.AtomicAggregate || a.MED != b.MED || a.LocalPref != b.LocalPref ||
		a.HasWeight != b.HasWeight || a.Weight != b.Weight ||
		len(a.ASPath) != len(b.ASPath) {
		return false
	}
	for i := range a.ASPath {
		if a.ASPath[i].Type != b.ASPath[i].Type || !slices.Equal(a.ASPath[i].ASNs, b.ASPath[i].ASNs) {
			return false
		}
	}
	if a.Ext == b.Ext {
		return true
	}
	x, y := a.Extra(), b.Extra()
	return x.OriginatorID == y.OriginatorID && x.NextHop == y.NextHop && x.Other == y.Other &&
		slices.Equal(x.Communities, y.Communities) &&
		slices.Equal(x.LargeCommunities, y.LargeCommunities) &&
		slices.Equal(x.ClusterList, y.ClusterList)
}

// Copy returns a's attributes in a new set that is not interned (the
// interning state is not copied). It shares a's slices: change them by
// replacing them, never in place. Use it to derive a set from an
// interned one: copying the struct itself would read its reference count,
// which other speakers change concurrently.
//
// The copy shares a's Ext too: to change one of its attributes, give the
// copy an Ext of its own first.
func (a *Attrs) Copy() Attrs {
	return Attrs{
		Origin: a.Origin, ASPath: a.ASPath, MED: a.MED, HasMED: a.HasMED,
		LocalPref: a.LocalPref, HasLocalPref: a.HasLocalPref, AtomicAggregate: a.AtomicAggregate,
		Weight: a.Weight, HasWeight: a.HasWeight, Ext: a.Ext,
	}
}

// clone makes a deep copy, packing the slices into as few allocations as
// possible.
func (a *Attrs) clone() *Attrs {
	c := a.Copy()
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
	c.Ext = nil
	if x := a.Extra(); !x.empty() {
		c.Ext = &Ext{OriginatorID: x.OriginatorID, NextHop: x.NextHop, Other: x.Other}
		if len(x.Communities) > 0 {
			c.Ext.Communities = append([]uint32(nil), x.Communities...)
		}
		if len(x.LargeCommunities) > 0 {
			c.Ext.LargeCommunities = append([]LargeCommunity(nil), x.LargeCommunities...)
		}
		if len(x.ClusterList) > 0 {
			c.Ext.ClusterList = append([]uint32(nil), x.ClusterList...)
		}
	}
	return &c
}
