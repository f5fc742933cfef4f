package decision

import (
	"context"
	"net/netip"
	"slices"

	"lab/speaker/rib"
	"lab/speaker/ribwire"
	"lab/speaker/wire"
)

// Aggregate is a route the speaker originates while its table holds a
// more specific one (RFC 4271 section 9.2.2.2; FRR's aggregate-address).
type Aggregate struct {
	Prefix netip.Prefix
	// SummaryOnly suppresses the more specific routes' advertisements
	// while the aggregate is originated.
	SummaryOnly bool
	// ASSet gives the aggregate an AS_PATH made of its contributors'
	// (their common leading sequence, then an AS_SET of the rest), and
	// their communities; without it the path is ours alone and the route
	// carries ATOMIC_AGGREGATE (the paths it hides are lost).
	ASSet bool
}

// aggState is an aggregate's state on the engine's goroutine.
type aggState struct {
	Aggregate
	// active: the aggregate is originated (it has contributors).
	active bool
	attrs  *rib.Attrs // interned; nil while inactive
}

// contributes reports whether pfx is a more specific route of a.
func (a *Aggregate) contributes(pfx netip.Prefix) bool {
	return pfx.Bits() > a.Prefix.Bits() && pfx.Addr().Is4() == a.Prefix.Addr().Is4() && a.Prefix.Contains(pfx.Addr())
}

// suppressed reports whether pfx is a more specific route of an active
// summary-only aggregate: it is not advertised.
func (e *Engine) suppressed(pfx netip.Prefix) bool {
	for _, a := range e.aggs {
		if a.active && a.SummaryOnly && a.contributes(pfx) {
			return true
		}
	}
	return false
}

// updateAggregates recomputes the aggregates that changed prefixes
// (changed, by family) contribute to: originates, changes or withdraws
// them, and, when a summary-only aggregate came or went, advertises its
// contributors again (they are suppressed, or not any more). It reports
// whether it changed the table (the decision process must run again).
func (e *Engine) updateAggregates(changed map[wire.Family][]netip.Prefix) bool {
	touched := false
	for _, a := range e.aggs {
		f := famOf(a.Prefix)
		hit := false
		for _, p := range changed[f] {
			if a.contributes(p) {
				hit = true
				break
			}
		}
		if !hit {
			continue
		}
		t := e.tables[f]
		var contrib []*rib.Path
		var contribPfx []netip.Prefix
		for _, p := range t.Prefixes() {
			if !a.contributes(p) {
				continue
			}
			if best, _ := t.Dest(p).Best(); best != nil {
				contrib = append(contrib, best)
				contribPfx = append(contribPfx, p)
			}
		}
		wasActive := a.active
		if len(contrib) == 0 {
			if a.active {
				a.active = false
				e.in.Release(a.attrs)
				a.attrs = nil
				t.Remove(a.Prefix, e.local)
				touched = true
			}
		} else {
			attrs := e.aggregateAttrs(&a.Aggregate, contrib)
			if !a.active || attrs != a.attrs {
				e.in.Release(a.attrs)
				a.attrs, a.active = attrs, true
				t.Update(a.Prefix, rib.Path{Attrs: e.in.Retain(attrs), NH: e.nhs.Get(e.local, netip.Addr{}, netip.Addr{}),
					Time: e.cfg.Clock.Now().UnixNano()})
				touched = true
			} else {
				e.in.Release(attrs)
			}
		}
		if a.SummaryOnly && a.active != wasActive {
			for _, p := range e.peers {
				if p.up != nil && slices.Contains(p.up.Families, f) {
					e.advertise(p, f, contribPfx, false)
				}
			}
		}
	}
	return touched
}

// aggregateAttrs returns the interned attribute set of aggregate a with
// the contributing best paths contrib (RFC 4271 section 9.2.2.2).
func (e *Engine) aggregateAttrs(a *Aggregate, contrib []*rib.Path) *rib.Attrs {
	out := rib.Attrs{Origin: rib.OriginIGP}
	for _, p := range contrib {
		// The worst ORIGIN: INCOMPLETE, then EGP, then IGP.
		if p.Attrs.Origin > out.Origin {
			out.Origin = p.Attrs.Origin
		}
	}
	x := out.MutableExtra()
	x.Other = aggregatorOf(e.cfg.AS, e.cfg.RouterID)
	if !a.ASSet {
		out.AtomicAggregate = true
		return e.in.Intern(&out)
	}
	// The common leading sequence of every contributor's path, then the
	// set of every other AS.
	common := commonSeq(contrib)
	set := map[uint32]bool{}
	for _, p := range contrib {
		var asns []uint32
		for _, s := range p.Attrs.ASPath {
			asns = append(asns, s.ASNs...)
		}
		// The common sequence begins every path: the rest goes in the set.
		for _, as := range asns[len(common):] {
			set[as] = true
		}
	}
	if len(common) > 0 {
		out.ASPath = append(out.ASPath, rib.Segment{Type: rib.SegSequence, ASNs: common})
	}
	if len(set) > 0 {
		var asns []uint32
		for as := range set {
			asns = append(asns, as)
		}
		slices.Sort(asns)
		out.ASPath = append(out.ASPath, rib.Segment{Type: rib.SegSet, ASNs: asns})
	}
	var comms []uint32
	for _, p := range contrib {
		comms = append(comms, p.Attrs.Extra().Communities...)
	}
	slices.Sort(comms)
	x.Communities = slices.Compact(comms)
	return e.in.Intern(&out)
}

// aggregatorOf is the AGGREGATOR attribute of our aggregates (RFC 4271
// section 5.1.7), as rib.Ext.Other carries it.
func aggregatorOf(as uint32, id netip.Addr) string {
	return ribwire.Opaque([]wire.Attr{wire.Aggregator{AS: as, Addr: id}})
}

// commonSeq is the longest AS_SEQUENCE every path begins with.
func commonSeq(paths []*rib.Path) []uint32 {
	first := func(p *rib.Path) []uint32 {
		if a := p.Attrs.ASPath; len(a) > 0 && a[0].Type == rib.SegSequence {
			return a[0].ASNs
		}
		return nil
	}
	common := slices.Clone(first(paths[0]))
	for _, p := range paths[1:] {
		f := first(p)
		n := 0
		for n < len(common) && n < len(f) && common[n] == f[n] {
			n++
		}
		common = common[:n]
	}
	return common
}

// SetAggregates replaces the speaker's aggregates: the old ones are
// withdrawn, the new ones originated as their contributors say.
func (e *Engine) SetAggregates(ctx context.Context, aggs []Aggregate) error {
	return e.do(ctx, func(e *Engine) {
		for _, a := range e.aggs {
			if a.active {
				e.in.Release(a.attrs)
				e.tables[famOf(a.Prefix)].Remove(a.Prefix, e.local)
				if a.SummaryOnly {
					a.active = false
					e.resendAll()
				}
			}
		}
		e.aggs = nil
		all := map[wire.Family][]netip.Prefix{}
		for _, a := range aggs {
			e.aggs = append(e.aggs, &aggState{Aggregate: a})
			f := famOf(a.Prefix)
			all[f] = append(all[f], e.tables[f].Prefixes()...)
		}
		e.updateAggregates(all)
	})
}
