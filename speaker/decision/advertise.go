package decision

import (
	"net/netip"

	"lab/speaker/rib"
	"lab/speaker/wire"
)

// exported returns the best path of d when it is advertised to p, or nil.
func exported(p *peerState, d *rib.Dest) *rib.Path {
	if d == nil {
		return nil
	}
	best, _ := d.Best()
	if best == nil || best.Src() == p.src {
		// Never back to the peer it came from: it withdraws instead, as
		// the seed's as2rb does for 2001:1234:1::/64.
		return nil
	}
	if best.Src().IBGP && p.src.IBGP {
		return nil // iBGP-learned routes are not sent to iBGP peers
	}
	return best
}

// export returns the attributes to advertise best (exported to p) with:
// our AS prepended for an eBGP peer, LOCAL_PREF for an iBGP one. The next
// hop is self (exportNextHops).
func (e *Engine) export(p *peerState, best *rib.Path) rib.Attrs {
	out, prepend := e.exportBase(p, best)
	if prepend != 0 {
		out.ASPath = rib.Prepend(out.ASPath, prepend, 1)
	}
	return out
}

// exportBase is export without the prepending of our AS, which it
// returns (0 for none): the fast encoder writes it as it encodes the
// AS_PATH, and spares an allocation.
func (e *Engine) exportBase(p *peerState, best *rib.Path) (out rib.Attrs, prepend uint32) {
	out = best.Attrs.Copy()
	if x := out.Extra(); x.OriginatorID.IsValid() || len(x.ClusterList) > 0 {
		// The reflection attributes stay here (the Ext is the learned
		// set's: it is copied before it changes).
		e := *x
		e.OriginatorID, e.ClusterList = netip.Addr{}, nil
		out.Ext = &e
	}
	if p.src.IBGP {
		out.HasLocalPref, out.LocalPref = true, best.Attrs.EffectiveLocalPref()
	} else {
		prepend = e.cfg.AS
		out.HasLocalPref, out.LocalPref = false, 0
		// A MED learned from a neighbouring AS is not passed to another
		// (RFC 4271 section 5.1.4).
		if !best.Src().Local {
			out.HasMED, out.MED = false, 0
		}
	}
	return out, prepend
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

// outKey is what p's Adj-RIB-Out records for advertising best (with a
// reference the caller owns), and whether it is the exported set itself.
// The export of a learned path depends on nothing but its attribute set
// and on p (whose next hops only change with a forced re-advertisement),
// so the learned path's own set, interned already, stands for it: a
// speaker does not keep a second, exported copy of every route it
// advertises. The export of a local path also depends on it being local
// (its MED is kept), so its exported set is interned and recorded; there
// are a few of them.
func (e *Engine) outKey(p *peerState, f wire.Family, best *rib.Path) (*rib.Attrs, bool) {
	if best.Src().Local {
		a := e.export(p, best)
		return e.in.Intern(&a), true
	}
	return e.in.Retain(best.Attrs), false
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
		best := exported(p, d)
		cur := out.Get(d)
		if best == nil {
			if cur != nil {
				out.Delete(d)
				withdraws = append(withdraws, pfx)
			}
			continue
		}
		k, isExport := e.outKey(p, f, best)
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
	nh4, nhs := exportNextHops(p, f)
	for i := range groups {
		g := &groups[i]
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
