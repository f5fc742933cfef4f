package decision

import (
	"net/netip"
	"slices"

	"lab/speaker/peer"
	"lab/speaker/rib"
	"lab/speaker/wire"
)

// exported returns the best path of d when it is advertised to p, or nil:
// never back to the peer it came from, never from an iBGP peer to
// another, and as the well-known communities say (RFC 1997, RFC 3765).
func (e *Engine) exported(p *peerState, pfx netip.Prefix, d *rib.Dest) *rib.Path {
	if d == nil {
		return nil
	}
	best, _ := d.Best()
	if best == nil || best.Src() == p.src {
		// Never back to the peer it came from: it withdraws instead, as
		// the seed's as2rb does for 2001:1234:1::/64.
		return nil
	}
	if best.Src().IBGP && p.src.IBGP && !e.reflects(best.Src(), p) {
		return nil // iBGP-learned routes are not sent to iBGP peers
	}
	if len(e.aggs) > 0 && e.suppressed(pfx) {
		return nil // a more specific route of a summary-only aggregate
	}
	if best.Src().Local {
		// An origination limited to some neighbours.
		if o := e.orig[pfx]; len(o.Peers) > 0 && !slices.Contains(o.Peers, p.cfg.PeerAddr) {
			return nil
		}
	}
	if x := best.Attrs.Ext; x != nil && len(x.Communities) > 0 {
		for _, c := range x.Communities {
			switch wire.Community(c) {
			case wire.CommunityNoAdvertise:
				return nil
			case wire.CommunityNoExport, wire.CommunityNoExportSubconfed:
				// No confederations here: our AS is the boundary.
				if !p.src.IBGP {
					return nil
				}
			case wire.CommunityNoPeer:
				if p.cfg.Role == peer.RolePeer {
					return nil
				}
			}
		}
	}
	return best
}

// reflects reports whether a route reflector passes routes from the iBGP
// source src to the iBGP peer p (RFC 4456 section 6): a client's routes
// to every other iBGP peer, a non-client's to the clients only.
func (e *Engine) reflects(src *rib.Source, p *peerState) bool {
	return e.cfg.ClusterID.IsValid() && (src.RRClient || p.src.RRClient)
}

// ownNextHop reports whether best goes to p with a next hop that is not
// ours: a reflected route keeps its next hop (RFC 4456 section 10), and
// so does an eBGP route to an iBGP peer without next-hop-self.
func ownNextHop(p *peerState, best *rib.Path) bool {
	src := best.Src()
	if !p.src.IBGP || src.Local {
		return false
	}
	return src.IBGP || p.cfg.NextHopUnchanged
}

// plainExport reports whether what p is sent depends on nothing but the
// learned attribute set and p itself: no export policy, no knob.
func (e *Engine) plainExport(p *peerState) bool {
	c := p.cfg
	return len(c.Export) == 0 && c.MED == nil && len(c.Prepend) == 0
}

// export returns the attributes to advertise best (exported to p) with,
// after the peer's export policies and knobs, or false when a policy
// denies it: our AS prepended for an eBGP peer, LOCAL_PREF for an iBGP
// one. The next hop is self (exportNextHops).
func (e *Engine) export(p *peerState, pfx netip.Prefix, best *rib.Path) (rib.Attrs, bool) {
	out, prepend := e.exportStart(p, best)
	cur := &out
	for _, pol := range p.cfg.Export {
		x, ok, _ := pol.Apply(pfx, cur, p.cfg.PeerAS)
		if !ok {
			return rib.Attrs{}, false
		}
		if x != cur {
			out = *x
			cur = &out
		}
	}
	if v := p.cfg.MED; v != nil {
		out.HasMED, out.MED = true, *v
	}
	if len(p.cfg.Prepend) > 0 {
		out.ASPath = prependASNs(out.ASPath, p.cfg.Prepend)
	}
	if !p.src.IBGP {
		// LOCAL_PREF is not sent to an external peer (RFC 4271 section
		// 5.1.5), whatever a policy set; nor are our relation tags.
		out.HasLocalPref, out.LocalPref = false, 0
		out = e.stripTags(out)
	}
	if src := best.Src(); src.IBGP && p.src.IBGP {
		// Reflected (RFC 4456 section 8): the ORIGINATOR_ID of the route's
		// first speaker in the AS, and our cluster first in the
		// CLUSTER_LIST.
		in := best.Attrs.Extra()
		x := *out.Extra()
		x.OriginatorID = in.OriginatorID
		if !x.OriginatorID.IsValid() {
			x.OriginatorID = src.RouterID
		}
		x.ClusterList = append([]uint32{clusterID(e.cfg.ClusterID)}, in.ClusterList...)
		out.Ext = &x
	}
	if ownNextHop(p, best) && best.NH.Global.IsValid() {
		x := *out.Extra()
		x.NextHop = best.NH.Global
		out.Ext = &x
	}
	if best.Src().Local {
		o := e.orig[pfx]
		if len(o.ASPath) > 0 || len(o.ASSet) > 0 {
			// The path given is the path sent, as ExaBGP does.
			prepend = 0
		}
		if o.NextHop.IsValid() && o.NextHop.Is4() == pfx.Addr().Is4() {
			x := *out.Extra()
			x.NextHop = o.NextHop
			out.Ext = &x
		}
	}
	if prepend != 0 {
		out.ASPath = rib.Prepend(out.ASPath, prepend, 1)
	}
	return out, true
}

// prependASNs returns path with asns prepended, in their order.
func prependASNs(path []rib.Segment, asns []uint32) []rib.Segment {
	for i := len(asns) - 1; i >= 0; i-- {
		path = rib.Prepend(path, asns[i], 1)
	}
	return path
}

// stripTags removes our relation tags from a set advertised to another
// AS: they say where a route came from inside our AS, and another AS is
// not told. Export policies see them first (export calls it after them).
func (e *Engine) stripTags(out rib.Attrs) rib.Attrs {
	if x := out.Extra(); hasTag(x.LargeCommunities, e.cfg.AS) {
		y := *x
		y.LargeCommunities = nil
		for _, c := range x.LargeCommunities {
			if !isTag(c, e.cfg.AS) {
				y.LargeCommunities = append(y.LargeCommunities, c)
			}
		}
		out.Ext = &y
	}
	return out
}

// exportBase is what every peer's export starts from, depending only on
// the learned set and p: without the reflection attributes and the
// weight, with LOCAL_PREF for an iBGP peer, without a learned MED, our
// relation tags or LOCAL_PREF for an eBGP one, and GRACEFUL_SHUTDOWN
// while we drain. It returns the prepending of our AS apart (0 for none):
// the fast encoder writes it as it encodes the AS_PATH, and spares an
// allocation.
func (e *Engine) exportBase(p *peerState, best *rib.Path) (out rib.Attrs, prepend uint32) {
	out, prepend = e.exportStart(p, best)
	if !p.src.IBGP {
		out = e.stripTags(out)
	}
	return out, prepend
}

// exportStart is exportBase with our relation tags still on: what export
// policies see.
func (e *Engine) exportStart(p *peerState, best *rib.Path) (out rib.Attrs, prepend uint32) {
	out = best.Attrs.Copy()
	out.HasWeight, out.Weight = false, 0
	if x := out.Extra(); x.OriginatorID.IsValid() || len(x.ClusterList) > 0 {
		// The reflection attributes stay here (the Ext is the learned
		// set's: it is copied before it changes).
		e := *x
		e.OriginatorID, e.ClusterList = netip.Addr{}, nil
		out.Ext = &e
	}
	if p.src.IBGP {
		out.HasLocalPref, out.LocalPref = true, best.Attrs.EffectiveLocalPref()
		return out, 0
	}
	prepend = e.cfg.AS
	out.HasLocalPref, out.LocalPref = false, 0
	// A MED learned from a neighbouring AS is not passed to another
	// (RFC 4271 section 5.1.4).
	if !best.Src().Local {
		out.HasMED, out.MED = false, 0
	}
	if e.draining {
		x := *out.Extra()
		if !slices.Contains(x.Communities, uint32(wire.CommunityGracefulShutdown)) {
			x.Communities = append(slices.Clone(x.Communities), uint32(wire.CommunityGracefulShutdown))
			slices.Sort(x.Communities)
		}
		out.Ext = &x
	}
	return out, prepend
}

// clusterID returns a cluster identifier as CLUSTER_LIST carries it.
func clusterID(a netip.Addr) uint32 {
	b := a.As4()
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}

// TagFunction is the local data 1 of our relation tags: large communities
// <our AS>:1000:<role>, saying which kind of neighbour a route came from
// (1 customer, 2 peer, 3 provider).
const TagFunction = 1000

// isTag reports whether c is one of our relation tags.
func isTag(c rib.LargeCommunity, as uint32) bool { return c.Global == as && c.Local1 == TagFunction }

func hasTag(cs []rib.LargeCommunity, as uint32) bool {
	for _, c := range cs {
		if isTag(c, as) {
			return true
		}
	}
	return false
}

// exportNextHops returns the next hops of routes of family f advertised to
// p, next hop self: the NEXT_HOP attribute for IPv4 unicast (nh4), else
// the MP_REACH_NLRI next hops (global, then link-local when there is one).
func exportNextHops(p *peerState, f wire.Family) (nh4 netip.Addr, mp []netip.Addr) {
	if f == wire.IPv4Unicast {
		return p.nh4, nil
	}
	mp = []netip.Addr{p.nh6}
	if p.ll6.IsValid() && p.ll6 != p.nh6 {
		mp = append(mp, p.ll6)
	}
	return netip.Addr{}, mp
}

// outKey is what p's Adj-RIB-Out records for advertising best to pfx
// (with a reference the caller owns), and whether it is the exported set
// itself; false when p's export policy denies it. The export of a learned
// path to a peer without export policy depends on nothing but its
// attribute set and on p (whose next hops only change with a forced
// re-advertisement), so the learned path's own set, interned already,
// stands for it: a speaker does not keep a second, exported copy of every
// route it advertises. The export of a local path also depends on it
// being local (its MED is kept), and an export policy on the prefix: then
// the exported set is interned and recorded.
func (e *Engine) outKey(p *peerState, pfx netip.Prefix, best *rib.Path) (k *rib.Attrs, exported, ok bool) {
	if !best.Src().Local && e.plainExport(p) && !ownNextHop(p, best) {
		return e.in.Retain(best.Attrs), false, true
	}
	a, ok := e.export(p, pfx, best)
	if !ok {
		return nil, false, false
	}
	return e.in.Intern(&a), true, true
}

func (e *Engine) advertiseAll(p *peerState, f wire.Family, force bool) {
	e.advertise(p, f, e.tables[f].Prefixes(), force)
}

// maxKeptGroups is the number of groups whose scratch space a round keeps
// for the next one (advertise reuses it from peer to peer within a round).
const maxKeptGroups = 256

// outGroup is the prefixes advertised with one attribute set.
type outGroup struct {
	key      *rib.Attrs // what the Adj-RIB-Out records for them (outKey)
	best     *rib.Path  // one of them: all export to the same set
	exported bool       // the key is the exported set (local paths)
	pfxs     []netip.Prefix
}

// advertise brings p's Adj-RIB-Out for pfxs up to date and sends the
// difference: withdrawals first, then one group of UPDATEs per attribute
// set, many prefixes each. force resends what did not change (refresh).
func (e *Engine) advertise(p *peerState, f wire.Family, pfxs []netip.Prefix, force bool) {
	out := p.out[f]
	t := e.tables[f]
	var withdraws []netip.Prefix
	// Groups are scratch space of the RIB goroutine, reused call after
	// call: advertise runs for every peer in every round.
	if e.groupOf == nil {
		e.groupOf = make(map[*rib.Attrs]int)
	}
	groups := e.groups[:0]
	defer func() {
		clear(e.groupOf)
		for i := range groups {
			groups[i] = outGroup{pfxs: groups[i].pfxs[:0]}
		}
		e.groups = groups
	}()
	for _, pfx := range pfxs {
		d := t.Dest(pfx)
		best := e.exported(p, pfx, d)
		var k *rib.Attrs
		isExport, ok := false, false
		if best != nil {
			k, isExport, ok = e.outKey(p, pfx, best)
		}
		cur := out.Get(d)
		if !ok {
			if cur != nil {
				out.Delete(d)
				withdraws = append(withdraws, pfx)
			}
			continue
		}
		if k == cur && !force {
			e.in.Release(k)
			continue
		}
		out.Set(d, k)
		e.in.Release(k)
		i, ok := e.groupOf[k]
		if !ok {
			i = len(groups)
			e.groupOf[k] = i
			if i < cap(groups) {
				groups = groups[:i+1]
			} else {
				groups = append(groups, outGroup{})
			}
			g := &groups[i]
			g.key, g.best, g.exported = k, best, isExport
		}
		groups[i].pfxs = append(groups[i].pfxs, pfx)
	}
	if err := e.enc.Withdraws(f, withdraws, &p.up.Options, e.emit(p)); err != nil {
		e.cfg.Log.Printf("%s: cannot encode UPDATE: %v", p.cfg.PeerAddr, err)
	}
	selfNH4, selfNHs := exportNextHops(p, f)
	for i := range groups {
		g := &groups[i]
		nh4, nhs := selfNH4, selfNHs
		if nh := g.key.Extra().NextHop; nh.IsValid() {
			// An exported set with a next hop of its own.
			if f == wire.IPv4Unicast {
				nh4 = nh
			} else {
				nh4, nhs = netip.Addr{}, []netip.Addr{nh}
			}
		}
		a, prepend := g.key, uint32(0)
		if !g.exported {
			var x rib.Attrs
			x, prepend = e.exportBase(p, g.best)
			a = &x
		}
		if err := e.enc.Adverts(f, a, prepend, nh4, nhs, g.pfxs, &p.up.Options, e.emit(p)); err != nil {
			e.cfg.Log.Printf("%s: cannot encode UPDATE: %v", p.cfg.PeerAddr, err)
		}
	}
}

// emit returns the function that queues a message the encoder made for
// p.
func (e *Engine) emit(p *peerState) func([]byte) {
	if e.emitPeer != p {
		e.emitPeer = p
		e.emitFn = func(b []byte) {
			e.queuedFor(p)
			p.up.Out.Queue(b)
		}
	}
	return e.emitFn
}

// queuedFor notes that the round queued messages on p's sink: the sink
// writes them with the rest of the round's (flush), in as few system
// calls as the socket allows, instead of waking up for every message.
func (e *Engine) queuedFor(p *peerState) {
	if p.queuedOn != p.up.Out {
		p.queuedOn = p.up.Out
		e.queued = append(e.queued, p.up.Out)
		e.queuedPeers = append(e.queuedPeers, p)
	}
}

// flush has every sink the round queued on write.
func (e *Engine) flush() {
	for _, k := range e.queued {
		k.Flush()
	}
	for _, p := range e.queuedPeers {
		p.queuedOn = nil
	}
	clear(e.queued)
	clear(e.queuedPeers)
	e.queued, e.queuedPeers = e.queued[:0], e.queuedPeers[:0]
}
