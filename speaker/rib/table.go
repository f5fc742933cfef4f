package rib

import (
	"net/netip"
	"slices"
	"sync"

	"lab/speaker/internal/prefixkey"
)

// Source is where paths come from: a peer, or the speaker itself for the
// routes it originates. The speaker's RIB goroutine owns it; fields are set
// before the first path of the source enters a table (RouterID when the
// session reaches Established).
type Source struct {
	// Addr is the peer's address (invalid for Local).
	Addr netip.Addr
	// AS is the peer's AS number.
	AS uint32
	// RouterID is the peer's BGP identifier, or the local one for Local.
	RouterID netip.Addr
	// IBGP is set for a peer in the local AS.
	IBGP bool
	// RRClient is set for an iBGP peer we reflect routes for (RFC 4456).
	RRClient bool
	// Local marks the speaker's own originated routes.
	Local bool
	// Name describes the source in show output ("as2rb (eBGP)").
	Name string
}

// Weight returns FRR's weight of paths from s: 32768 for local routes, 0
// for learned ones.
func (s *Source) Weight() uint32 {
	if s.Local {
		return 32768
	}
	return 0
}

func (s *Source) external() bool { return !s.Local && !s.IBGP }

// NextHop is where a path comes from: its source, the next hop it was
// received with, and whether the kernel can reach that. Paths share
// NextHop values through NextHops, so a reachability change is one write
// that every path using the next hop sees; a speaker has a few of them
// (one or two per peer), where its paths are many. The source lives here
// rather than in every path: a path is three words, not four.
type NextHop struct {
	// Src is the source of the paths. For the speaker's own routes (Src
	// is Local) the addresses are the zero Addr and Reachable is true.
	Src *Source
	// Global is the IPv4 NEXT_HOP, or the IPv6 global next hop of
	// MP_REACH_NLRI (RFC 2545 section 3); the zero Addr when the peer
	// sent a link-local address alone.
	Global netip.Addr
	// LinkLocal is the IPv6 link-local next hop (the second address of a
	// 32-byte MP_REACH next hop), zoned with its interface's name, or the
	// zero Addr.
	LinkLocal netip.Addr
	// Addr is the address resolved: Global, unless it is missing,
	// link-local or unspecified, else LinkLocal.
	Addr netip.Addr
	// Reachable is the last resolution's answer.
	Reachable bool
	// IfIndex is the interface the next hop resolved through, or 0.
	IfIndex int
	// Metric is the IGP cost to the next hop (the metric of the route
	// that covers it; 0 when it is on a link of ours): the decision
	// process prefers the nearest exit (RFC 4271 section 9.1.2.2 e).
	Metric uint32
	// Via is the gateway of the route that covers the next hop, when it
	// has one: a next hop that is not on a link of ours (an iBGP peer's
	// loopback) is reached through it, and a kernel route names it, as
	// the kernel does not resolve gateways recursively.
	Via  netip.Addr
	refs int32
}

// nhKey is a NextHop's identity in NextHops.
type nhKey struct {
	src               *Source
	global, linkLocal netip.Addr
}

// Resolution is how the kernel reaches a next hop.
type Resolution struct {
	OK      bool
	IfIndex int
	Metric  uint32
	Via     netip.Addr
}

// Resolver answers whether a next hop is reachable, and how.
type Resolver func(netip.Addr) Resolution

// NextHops is the set of next hops the paths of a speaker use, with their
// reachability. It belongs to the RIB goroutine.
type NextHops struct {
	m       map[nhKey]*NextHop
	resolve Resolver
}

// NewNextHops returns an empty set that resolves new next hops with r; a
// nil r makes every next hop reachable.
func NewNextHops(r Resolver) *NextHops {
	if r == nil {
		r = func(netip.Addr) Resolution { return Resolution{OK: true} }
	}
	return &NextHops{m: make(map[nhKey]*NextHop), resolve: r}
}

// Get returns the shared NextHop of a path src sent with next hops global
// and linkLocal (either may be the zero Addr; both for a local route),
// with one more reference, resolving it when it is new.
func (n *NextHops) Get(src *Source, global, linkLocal netip.Addr) *NextHop {
	k := nhKey{src, global, linkLocal}
	if h, ok := n.m[k]; ok {
		h.refs++
		return h
	}
	h := &NextHop{Src: src, Global: global, LinkLocal: linkLocal, Addr: global, refs: 1}
	if !global.IsValid() || global.IsLinkLocalUnicast() || global.IsUnspecified() {
		h.Addr = linkLocal
	}
	if src.Local {
		h.Reachable = true // a local route needs no next hop
	} else {
		h.set(n.resolve(h.Addr))
	}
	n.m[k] = h
	return h
}

func (h *NextHop) set(r Resolution) {
	h.Reachable, h.IfIndex, h.Metric, h.Via = r.OK, r.IfIndex, r.Metric, r.Via
}

// Retain adds a reference to h.
func (n *NextHops) Retain(h *NextHop) *NextHop {
	if h != nil {
		h.refs++
	}
	return h
}

// Release drops a reference.
func (n *NextHops) Release(h *NextHop) {
	if h == nil {
		return
	}
	h.refs--
	if h.refs <= 0 {
		delete(n.m, nhKey{h.Src, h.Global, h.LinkLocal})
	}
}

// Refresh resolves every next hop again and returns those whose answer
// changed.
func (n *NextHops) Refresh() []*NextHop {
	var changed []*NextHop
	for _, h := range n.m {
		if h.Src.Local {
			continue
		}
		r := n.resolve(h.Addr)
		if r.OK != h.Reachable || r.IfIndex != h.IfIndex || r.Metric != h.Metric || r.Via != h.Via {
			h.set(r)
			changed = append(changed, h)
		}
	}
	return changed
}

// Len returns the number of next hops in use.
func (n *NextHops) Len() int { return len(n.m) }

// Path is one source's route to a prefix: an entry of that source's
// Adj-RIB-In (after import policy), and a candidate of the decision
// process.
type Path struct {
	Attrs *Attrs
	// NH is the path's source and next hop (never nil).
	NH *NextHop
	// Pre is the attribute set as received, before import policy, when
	// the policy changed it; nil when Attrs is what was received. It is
	// kept so that a changed policy can be run again on what the peer
	// sent, without asking it for its routes again (RFC 4271 section 3.2:
	// the Adj-RIB-In is what was received).
	Pre *Attrs
	// Time is when the path was received or last changed, in Unix
	// nanoseconds of the speaker's clock.
	Time int64
}

// Src returns the path's source.
func (p *Path) Src() *Source { return p.NH.Src }

// Received returns the attribute set as received, before import policy.
func (p *Path) Received() *Attrs {
	if p.Pre != nil {
		return p.Pre
	}
	return p.Attrs
}

// Weight returns the path's weight, the first step of the decision
// process: the one a policy set, else its source's (Source.Weight).
func (p *Path) Weight() uint32 {
	if p.Attrs.HasWeight {
		return p.Attrs.Weight
	}
	return p.Src().Weight()
}

// Valid reports whether the path may be selected: its next hop is
// reachable (RFC 4271 section 9.1.2).
func (p *Path) Valid() bool { return p.NH.Reachable }

// Dest is a prefix's paths, newest first (FRR's order, which the decision
// process walks and show commands print), and the selected best path.
type Dest struct {
	// paths grow one at a time while they are few (growPaths): a lab's
	// speakers hold hundreds of thousands of them, a few per prefix.
	paths []Path
	best  int32
	// id numbers the destination in its table, densely: Adj-RIBs-Out
	// are indexed by it. outRefs counts the Adj-RIBs-Out that hold an
	// advertisement of it: a destination without paths stays while any
	// does, so that its withdrawal can be sent.
	id      int32
	outRefs int32
	reason  Reason
	dirty   bool
	// replaced is set when the best path was replaced in place (its
	// source sent another), until Process reports it.
	replaced bool
}

// Paths returns the paths, newest first. The slice is the table's own:
// read it, don't keep it.
func (d *Dest) Paths() []Path { return d.paths }

// Best returns the best path and the reason it won, or nil.
func (d *Dest) Best() (*Path, Reason) {
	if d.best < 0 || int(d.best) >= len(d.paths) {
		return nil, ReasonNone
	}
	return &d.paths[d.best], d.reason
}

// BestIndex returns the index of the best path in Paths, or -1.
func (d *Dest) BestIndex() int { return int(d.best) }

func (d *Dest) find(src *Source) int {
	for i := range d.paths {
		if d.paths[i].NH.Src == src {
			return i
		}
	}
	return -1
}

// Table is the Loc-RIB of one address family, holding every source's
// Adj-RIB-In paths per prefix. It belongs to one goroutine.
type Table struct {
	// CompareRouterID selects between external paths on router ID instead
	// of keeping the older one (FRR's `bgp bestpath compare-routerid`).
	CompareRouterID bool

	in *Interner
	nh *NextHops
	// dests is every destination's id (its index in byID), by prefix:
	// a map of a million prefixes without pointers is a quarter smaller
	// than one of *Dest, and the garbage collector never scans it.
	dests map[prefixkey.Key]int32
	// live is the number of destinations with paths; the others wait in
	// empty for their withdrawals to be recorded (Sweep).
	live  int
	empty []netip.Prefix
	// byID is every destination by id; free are the ids of destinations
	// gone, for new ones.
	byID    []*Dest
	free    []int32
	dirty   []netip.Prefix
	paths   int
	bySrc   map[*Source]int
	scratch Path
}

// NewTable returns an empty table whose paths' attribute sets come from in
// and next hops from nh.
func NewTable(in *Interner, nh *NextHops) *Table {
	return &Table{in: in, nh: nh, dests: make(map[prefixkey.Key]int32), bySrc: make(map[*Source]int)}
}

// Len returns the number of prefixes (with paths).
func (t *Table) Len() int { return t.live }

// PathCount returns the number of paths of every source.
func (t *Table) PathCount() int { return t.paths }

// SourceCount returns the number of paths of src: its accepted prefixes.
func (t *Table) SourceCount(src *Source) int { return t.bySrc[src] }

// Dest returns the destination of pfx, or nil. A destination without
// paths may be returned between Process and Sweep: its Best is nil.
func (t *Table) Dest(pfx netip.Prefix) *Dest { return t.get(prefixkey.Of(pfx)) }

// get returns the destination of k, or nil.
func (t *Table) get(k prefixkey.Key) *Dest {
	if id, ok := t.dests[k]; ok {
		return t.byID[id]
	}
	return nil
}

// Prefixes returns every prefix with paths, sorted by address then
// length.
func (t *Table) Prefixes() []netip.Prefix {
	out := make([]netip.Prefix, 0, t.live)
	for k, id := range t.dests {
		d := t.byID[id]
		if len(d.paths) > 0 {
			out = append(out, k.Prefix())
		}
	}
	slices.SortFunc(out, ComparePrefix)
	return out
}

// ComparePrefix orders prefixes by address, then by length.
func ComparePrefix(a, b netip.Prefix) int {
	if c := a.Addr().Compare(b.Addr()); c != 0 {
		return c
	}
	return a.Bits() - b.Bits()
}

func (t *Table) mark(pfx netip.Prefix, d *Dest) {
	if !d.dirty {
		d.dirty = true
		if t.dirty == nil {
			if b, _ := dirtyLists.Get().(*[]netip.Prefix); b != nil {
				t.dirty = *b
			}
		}
		t.dirty = append(t.dirty, pfx)
	}
}

// dirtyLists hold the lists of changed prefixes too long for a table to
// keep between rounds (see Process), for the next table that needs one:
// the speakers of a lab take turns at their rounds, and growing a new
// list each round was a tenth of what BA1000 allocated while converging.
var dirtyLists sync.Pool

// Update adds p to pfx, replacing the path of the same source. The table
// takes over the caller's references to p.Attrs, p.Pre and p.NH. It
// reports whether anything changed: an update equal to the path held
// (same attributes, same next hop) is dropped, and the held path keeps its
// age.
func (t *Table) Update(pfx netip.Prefix, p Path) bool {
	k := prefixkey.Of(pfx)
	d := t.get(k)
	if d == nil {
		d = &Dest{best: -1, id: t.newID()}
		t.dests[k] = d.id
		t.byID[d.id] = d
	}
	if i := d.find(p.Src()); i >= 0 {
		old := &d.paths[i]
		if old.Attrs == p.Attrs && old.NH == p.NH && old.Pre == p.Pre {
			t.in.Release(p.Attrs)
			t.in.Release(p.Pre)
			t.nh.Release(p.NH)
			return false
		}
		t.in.Release(old.Attrs)
		t.in.Release(old.Pre)
		t.nh.Release(old.NH)
		*old = p
		if int32(i) == d.best {
			d.replaced = true
		}
		t.mark(pfx, d)
		return true
	}
	if len(d.paths) == 0 {
		t.live++
	}
	// Newest first, as FRR links a new path at the head of the list.
	if len(d.paths) == cap(d.paths) {
		d.paths = slices.Grow(d.paths, growPaths(len(d.paths)+1)-len(d.paths))
	}
	d.paths = append(d.paths, Path{})
	copy(d.paths[1:], d.paths)
	d.paths[0] = p
	if d.best >= 0 {
		d.best++
	}
	t.paths++
	t.bySrc[p.Src()]++
	t.mark(pfx, d)
	return true
}

// growPaths is the capacity to give a destination's paths when they are
// to be n: exactly n while few, then half again, so that the slices of a
// table hold little slack (append doubles: four paths would take eight
// slots).
func growPaths(n int) int {
	if n <= 4 {
		return n
	}
	return n + n/2
}

// Remove removes src's path to pfx (a withdrawal) and reports whether there
// was one.
func (t *Table) Remove(pfx netip.Prefix, src *Source) bool {
	d := t.get(prefixkey.Of(pfx))
	if d == nil {
		return false
	}
	i := d.find(src)
	if i < 0 {
		return false
	}
	t.removeAt(pfx, d, i)
	return true
}

func (t *Table) removeAt(pfx netip.Prefix, d *Dest, i int) {
	p := d.paths[i]
	t.in.Release(p.Attrs)
	t.in.Release(p.Pre)
	t.nh.Release(p.NH)
	d.paths = slices.Delete(d.paths, i, i+1)
	if len(d.paths) == 0 {
		t.live--
	}
	switch {
	case int(d.best) == i:
		// The best is gone; Process selects again, and reports the old
		// best as absent.
		d.best = -1
	case int(d.best) > i:
		d.best--
	}
	t.paths--
	if n := t.bySrc[p.Src()] - 1; n > 0 {
		t.bySrc[p.Src()] = n
	} else {
		delete(t.bySrc, p.Src())
	}
	t.mark(pfx, d)
}

// SourcePrefixes returns the prefixes src has a path to, in no order.
func (t *Table) SourcePrefixes(src *Source) []netip.Prefix {
	out := make([]netip.Prefix, 0, t.bySrc[src])
	for k, id := range t.dests {
		d := t.byID[id]
		if d.find(src) >= 0 {
			out = append(out, k.Prefix())
		}
	}
	return out
}

// RemoveSource removes every path of src (its session went down) and
// returns how many there were.
func (t *Table) RemoveSource(src *Source) int {
	if t.bySrc[src] == 0 {
		return 0
	}
	n := 0
	for k, id := range t.dests {
		d := t.byID[id]
		if i := d.find(src); i >= 0 {
			t.removeAt(k.Prefix(), d, i)
			n++
		}
	}
	return n
}

// Clear removes every path and destination, giving back their references
// (the speaker is closing: its sets are the process Interner's, which
// outlives it). Adj-RIBs-Out of the table must be cleared first.
func (t *Table) Clear() {
	for _, id := range t.dests {
		d := t.byID[id]
		for i := range d.paths {
			t.in.Release(d.paths[i].Attrs)
			t.in.Release(d.paths[i].Pre)
			t.nh.Release(d.paths[i].NH)
		}
	}
	clear(t.dests)
	clear(t.bySrc)
	t.live, t.paths = 0, 0
	t.empty, t.byID, t.free, t.dirty = nil, nil, nil, nil
}

// MarkNextHops marks for decision every prefix with a path through one of
// hs, after their reachability changed.
func (t *Table) MarkNextHops(hs []*NextHop) int {
	if len(hs) == 0 {
		return 0
	}
	set := make(map[*NextHop]bool, len(hs))
	for _, h := range hs {
		set[h] = true
	}
	n := 0
	for k, id := range t.dests {
		d := t.byID[id]
		for i := range d.paths {
			if set[d.paths[i].NH] {
				t.mark(k.Prefix(), d)
				n++
				break
			}
		}
	}
	return n
}

// MarkAll marks every prefix for decision.
func (t *Table) MarkAll() {
	for k, id := range t.dests {
		d := t.byID[id]
		t.mark(k.Prefix(), d)
	}
}

// Pending returns the number of prefixes waiting for Process.
func (t *Table) Pending() int { return len(t.dirty) }

// Process runs the decision process on every prefix changed since the last
// call, and calls fn for each with the best path before (a copy; nil when
// there was none, or it was removed or replaced by its source since) and
// after (nil when none is left). fn must not keep the pointers nor change
// the table.
func (t *Table) Process(fn func(pfx netip.Prefix, old, new *Path, reason Reason)) {
	dirty := t.dirty
	t.dirty = nil
	for _, pfx := range dirty {
		d := t.get(prefixkey.Of(pfx))
		if d == nil {
			continue
		}
		d.dirty = false
		var old *Path
		if d.best >= 0 && !d.replaced {
			t.scratch = d.paths[d.best]
			old = &t.scratch
		}
		d.replaced = false
		t.decide(d)
		nb, reason := d.Best()
		if fn != nil {
			fn(pfx, old, nb, reason)
		}
		if len(d.paths) == 0 {
			if d.outRefs == 0 {
				t.drop(pfx, d)
			} else {
				t.empty = append(t.empty, pfx)
			}
		}
	}
	// A small list is kept for the next round (a speaker has a table
	// per family, a lab hundreds of speakers); a long one goes to the
	// process's pool, cleared, as another table will take it.
	if cap(dirty) <= 128 {
		t.dirty = dirty[:0]
	} else {
		clear(dirty)
		dirty = dirty[:0]
		dirtyLists.Put(&dirty)
	}
}

// Sweep forgets the destinations left without paths whose withdrawals
// every Adj-RIB-Out has recorded since Process. The speaker calls it at
// the end of each round, once it has advertised the round's changes.
func (t *Table) Sweep() {
	keep := t.empty[:0]
	for _, pfx := range t.empty {
		d := t.get(prefixkey.Of(pfx))
		switch {
		case d == nil || len(d.paths) > 0 || d.dirty:
			// Gone already, or back (a dirty one is Process's again).
		case d.outRefs > 0:
			keep = append(keep, pfx)
		default:
			t.drop(pfx, d)
		}
	}
	clear(t.empty[len(keep):])
	t.empty = keep
}

func (t *Table) newID() int32 {
	if n := len(t.free); n > 0 {
		id := t.free[n-1]
		t.free = t.free[:n-1]
		return id
	}
	t.byID = append(t.byID, nil)
	return int32(len(t.byID) - 1)
}

// drop forgets a destination without paths nor advertisements.
func (t *Table) drop(pfx netip.Prefix, d *Dest) {
	delete(t.dests, prefixkey.Of(pfx))
	t.byID[d.id] = nil
	t.free = append(t.free, d.id)
}

// decide selects the best valid path of d, as FRR's bgp_best_selection:
// walk the paths in list order, compare each with the best so far, and keep
// the reason of the last comparison.
func (t *Table) decide(d *Dest) {
	prev := d.best
	best, reason := int32(-1), ReasonNone
	for i := range d.paths {
		p := &d.paths[i]
		if !p.Valid() {
			continue
		}
		if best < 0 {
			best, reason = int32(i), ReasonFirst
			continue
		}
		win, r := t.compare(p, &d.paths[best], int32(i) == prev, best == prev)
		reason = r
		if win {
			best = int32(i)
		}
	}
	d.best, d.reason = best, reason
}
