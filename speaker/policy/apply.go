package policy

import (
	"bytes"
	"cmp"
	"net/netip"
	"slices"
	"sync"

	"lab/speaker/rib"
	"lab/speaker/wire"
)

// Route is what a policy is applied to.
type Route struct {
	Prefix netip.Prefix
	// Attrs are the route's attributes (never nil), usually interned:
	// Apply never changes them.
	Attrs *rib.Attrs
	// PeerAS is the AS of the session's peer: the one the route was
	// learnt from (import) or is sent to (export). Match.NeighborAS
	// compares it.
	PeerAS uint32
	// LocalAS is our own AS, which Prepend.Count prepends.
	LocalAS uint32
}

// NoEntry is the entry Apply reports when no entry decided: the implicit
// deny, or no policy (a nil *RouteMap).
const NoEntry = -1

// Apply runs the policy on r as FRR runs a route-map: the first entry
// whose match clauses all hold decides (entry, counted from 0, and its
// hit counter counts it); a permit entry applies its set clauses and
// permits, a deny entry denies; when no entry matches, the route is
// denied (entry NoEntry). Each list a clause names decides as FRR's do:
// its first matching entry permits or denies, and a route no entry
// matches is denied (the clause does not hold). Continue, call and
// on-match are not supported.
//
// attrs is nil when the route is denied. When permitted, attrs is
// r.Attrs itself when the set clauses change nothing (no allocation),
// else a new set, not interned, that shares r.Attrs' unchanged slices:
// the caller interns it (rib.Interner.InternOwned) and never changes it.
//
// A nil *RouteMap permits every route unchanged. Apply is safe for
// concurrent use.
func (m *RouteMap) Apply(r Route) (attrs *rib.Attrs, permit bool, entry int) {
	if m == nil {
		return r.Attrs, true, NoEntry
	}
	var pt pathText
	for i := range m.entries {
		e := &m.entries[i]
		if !e.matches(&r, &pt) {
			continue
		}
		pt.release()
		e.hits.Add(1)
		if e.deny {
			return nil, false, i
		}
		return e.set.apply(&r), true, i
	}
	pt.release()
	m.noMatch.Add(1)
	return nil, false, NoEntry
}

// matches reports whether every match clause of e holds for r, the
// cheapest first.
func (e *entry) matches(r *Route, pt *pathText) bool {
	a := r.Attrs
	if e.neighborAS != 0 && r.PeerAS != e.neighborAS {
		return false
	}
	if e.hasOrigin && a.Origin != e.origin {
		return false
	}
	if e.prefix != nil && !e.prefix.permits(r.Prefix) {
		return false
	}
	if e.community != nil {
		x := a.Extra()
		if !e.community.permits(x.Communities, x.LargeCommunities) {
			return false
		}
	}
	if e.aspath != nil && !e.aspath.permits(pt.text(a.ASPath)) {
		return false
	}
	return true
}

// permits reports whether the first entry matching p permits it. An entry
// matches the prefixes of its family inside its prefix with a length in
// [min, max].
func (l *prefixList) permits(p netip.Prefix) bool {
	addr, bits, is4 := p.Addr(), p.Bits(), p.Addr().Is4()
	for i := range l.entries {
		e := &l.entries[i]
		if e.is4 == is4 && bits >= e.min && bits <= e.max && e.prefix.Contains(addr) {
			return !e.deny
		}
	}
	return false
}

// permits reports whether the first entry whose expression matches the
// rendered path permits it.
func (l *asPathList) permits(path []byte) bool {
	for i := range l.entries {
		e := &l.entries[i]
		if (e.lit == nil || bytes.Contains(path, e.lit)) && e.re.Match(path) {
			return !e.deny
		}
	}
	return false
}

// permits reports whether the first entry whose community the route
// carries permits it.
func (l *communityList) permits(comms []uint32, large []rib.LargeCommunity) bool {
	for i := range l.entries {
		e := &l.entries[i]
		if e.IsLarge && slices.Contains(large, e.Large) || !e.IsLarge && slices.Contains(comms, e.Community) {
			return e.Action == Permit
		}
	}
	return false
}

// pathBufs holds the buffers AS_PATHs are rendered in to be matched: a
// regexp keeps the bytes it matches in its (pooled) machine, so a buffer
// on the stack would move to the heap at every evaluation.
var pathBufs = sync.Pool{New: func() any { return new([]byte) }}

// pathText renders an AS_PATH once for all the as-path clauses of one
// evaluation, when the first one needs it.
type pathText struct {
	buf  *[]byte
	b    []byte
	done bool
}

// text renders segs as ribwire.ASPathString does (FRR's rendering), in a
// pooled buffer rather than a new string: TestPathTextMatchesRibwire.
func (t *pathText) text(segs []rib.Segment) []byte {
	if t.done {
		return t.b
	}
	t.buf = pathBufs.Get().(*[]byte)
	b := (*t.buf)[:0]
	for i, s := range segs {
		if i > 0 {
			b = append(b, ' ')
		}
		b = wire.AppendSegment(b, wire.SegmentType(s.Type), s.ASNs)
	}
	*t.buf = b // keep what it grew to
	t.b, t.done = b, true
	return b
}

func (t *pathText) release() {
	if t.buf != nil {
		pathBufs.Put(t.buf)
		t.buf = nil
	}
}

// apply returns r's attributes with the set clauses applied: r.Attrs
// itself when they change nothing.
func (s *setOps) apply(r *Route) *rib.Attrs {
	a := r.Attrs
	if s.none {
		return a
	}
	out := a.Copy()
	changed := false
	if s.hasLocalPref && !(a.HasLocalPref && a.LocalPref == s.localPref) {
		out.HasLocalPref, out.LocalPref, changed = true, s.localPref, true
	}
	if s.hasMED && !(a.HasMED && a.MED == s.med) {
		out.HasMED, out.MED, changed = true, s.med, true
	}
	if s.hasWeight && !(a.HasWeight && a.Weight == s.weight) {
		out.HasWeight, out.Weight, changed = true, s.weight, true
	}
	if s.hasOrigin && a.Origin != s.origin {
		out.Origin, changed = s.origin, true
	}
	switch {
	case s.prependCount > 0:
		out.ASPath, changed = rib.Prepend(a.ASPath, r.LocalAS, s.prependCount), true
	case len(s.prependASNs) > 0:
		out.ASPath, changed = prependASNs(a.ASPath, s.prependASNs), true
	}
	if s.hasCommunity || s.hasLarge {
		x := a.Extra()
		comms, ch1 := x.Communities, false
		if s.hasCommunity {
			comms, ch1 = edit(&s.community, comms, cmp.Compare[uint32])
		}
		large, ch2 := x.LargeCommunities, false
		if s.hasLarge {
			large, ch2 = edit(&s.large, large, compareLarge)
		}
		if ch1 || ch2 {
			changed = true
			// The Ext is the input's (shared, immutable): change a copy.
			ext := *x
			ext.Communities, ext.LargeCommunities = comms, large
			out.Ext = &ext
			if len(comms) == 0 && len(large) == 0 && !ext.OriginatorID.IsValid() && len(ext.ClusterList) == 0 && ext.Other == "" {
				out.Ext = nil
			}
		}
	}
	if !changed {
		return a
	}
	res := out
	return &res
}

// prependASNs returns path with asns in front, in their order, in the
// leading AS_SEQUENCE when it has room, as rib.Prepend does.
func prependASNs(path []rib.Segment, asns []uint32) []rib.Segment {
	out := make([]rib.Segment, 0, len(path)+1)
	if len(path) > 0 && path[0].Type == rib.SegSequence && len(path[0].ASNs)+len(asns) <= maxPrepend {
		seq := make([]uint32, 0, len(asns)+len(path[0].ASNs))
		seq = append(seq, asns...)
		seq = append(seq, path[0].ASNs...)
		out = append(out, rib.Segment{Type: rib.SegSequence, ASNs: seq})
		return append(out, path[1:]...)
	}
	// asns is the compiled policy's, never changed: the new set may
	// share it.
	out = append(out, rib.Segment{Type: rib.SegSequence, ASNs: asns})
	return append(out, path...)
}

// edit applies o to the communities cur: replace, then delete, then add
// (see CommunitySet). It allocates only when the result differs from
// cur, and reports whether it does.
func edit[T comparable](o *commOps[T], cur []T, compare func(a, b T) int) ([]T, bool) {
	res := cur
	if o.replace {
		res = o.set
	}
	if len(o.del) > 0 {
		n := 0
		for _, v := range res {
			if in(o.del, v, compare) {
				n++
			}
		}
		if n > 0 {
			var kept []T
			if n < len(res) {
				kept = make([]T, 0, len(res)-n)
			}
			for _, v := range res {
				if !in(o.del, v, compare) {
					kept = append(kept, v)
				}
			}
			res = kept
		}
	}
	if len(o.add) > 0 && !(sortedUnique(res, compare) && allIn(o.add, res, compare)) {
		merged := make([]T, 0, len(res)+len(o.add))
		merged = append(merged, res...)
		merged = append(merged, o.add...)
		slices.SortFunc(merged, compare)
		res = slices.Compact(merged)
	}
	return res, !slices.Equal(res, cur)
}

// in reports whether v is in the sorted set s.
func in[T any](s []T, v T, compare func(a, b T) int) bool {
	_, found := slices.BinarySearchFunc(s, v, compare)
	return found
}

// allIn reports whether every element of vs is in the sorted set s.
func allIn[T any](vs, s []T, compare func(a, b T) int) bool {
	for _, v := range vs {
		if !in(s, v, compare) {
			return false
		}
	}
	return true
}

func sortedUnique[T any](s []T, compare func(a, b T) int) bool {
	for i := 1; i < len(s); i++ {
		if compare(s[i-1], s[i]) >= 0 {
			return false
		}
	}
	return true
}
