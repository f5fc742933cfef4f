package speaker

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"sync"

	"lab/speaker/fib"
	"lab/speaker/rib"
	"lab/speaker/wire"
)

type ribKind uint8

const (
	ribPeerUp ribKind = iota + 1
	ribPeerDown
	ribUpdate
	ribRefresh    // the peer asked for our routes again
	ribRefreshOut // soft reset: advertise everything again
	ribAnnounce
	ribWithdraw
	ribFunc // run fn in the RIB goroutine (snapshots)
)

// ribEvent is one event for the RIB goroutine. Every slot of its queue
// (ribQueueLen, per speaker) has room for each field: rare, large ones are
// behind pointers (a withdrawn origination is an orig with its prefix
// alone).
type ribEvent struct {
	kind ribKind
	s    *session
	up   *peerUp
	upd  *inUpdate
	fam  wire.Family
	orig *Origination
	fn   func(*ribState)
}

// peerUp is what the RIB goroutine needs of an Established session.
type peerUp struct {
	w        *writer
	opts     wire.Options
	families []wire.Family
	routerID netip.Addr
	local    netip.Addr
	refresh  bool
}

// ribPeer is the RIB goroutine's view of a peer.
type ribPeer struct {
	s   *session
	src *rib.Source
	up  *peerUp // nil while the session is down
	// out is the Adj-RIB-Out of each family: for every prefix advertised,
	// the attribute set its advertisement was made from (outKey).
	out map[wire.Family]*rib.AdjOut
	// Next-hop-self addresses, set when the session comes up.
	nh4, nh6, ll6 netip.Addr
	// queuedOn is the writer this round queued UPDATEs on (flushWriters).
	queuedOn *writer
}

// ribState is owned by the RIB goroutine.
type ribState struct {
	sp      *Speaker
	in      *rib.Interner
	nhs     *rib.NextHops
	tables  map[wire.Family]*rib.Table
	local   *rib.Source
	peers   map[*session]*ribPeer
	orig    map[netip.Prefix]Origination
	changed map[wire.Family][]netip.Prefix
	fibOps  []fib.Op
	version uint64
	fns     []func(*ribState)
	enc     []byte // scratch encoding buffer of send
	fast    fastEncoder
	// emitFn queues fastAdverts' messages for emitPeer (emit).
	emitFn   func([]byte)
	emitPeer *ribPeer
	// groups and groupOf are advertise's scratch space.
	groups  []outGroup
	groupOf map[*rib.Attrs]int
	// queued are the writers a round queued UPDATEs on, flushed together
	// at its end (flushWriters).
	queued      []*writer
	queuedPeers []*ribPeer
}

var families = []wire.Family{wire.IPv4Unicast, wire.IPv6Unicast}

func famOf(p netip.Prefix) wire.Family {
	if p.Addr().Is4() {
		return wire.IPv4Unicast
	}
	return wire.IPv6Unicast
}

func newRIBState(sp *Speaker) *ribState {
	r := &ribState{
		sp:      sp,
		in:      rib.Shared(),
		tables:  make(map[wire.Family]*rib.Table),
		peers:   make(map[*session]*ribPeer),
		orig:    make(map[netip.Prefix]Origination),
		changed: make(map[wire.Family][]netip.Prefix),
		local:   &rib.Source{Local: true, AS: sp.cfg.AS, RouterID: sp.cfg.RouterID, Name: "local"},
	}
	for _, s := range sp.sessions {
		r.peers[s] = &ribPeer{s: s, src: &rib.Source{
			Addr: s.cfg.PeerAddr, AS: s.cfg.PeerAS, IBGP: s.ibgp, Name: s.cfg.Description,
		}, out: make(map[wire.Family]*rib.AdjOut)}
	}
	return r
}

// releaseAll gives back every reference the RIBs hold, once the RIB
// goroutine is gone (Close): the attribute sets are the process
// Interner's, which outlives the speaker.
func (r *ribState) releaseAll() {
	for _, p := range r.peers {
		for _, o := range p.out {
			o.Clear()
		}
	}
	for _, t := range r.tables {
		t.Clear()
	}
}

// init runs once the kernel side exists, before the goroutine starts.
func (r *ribState) init() {
	var resolve rib.Resolver
	if t := r.sp.track; t != nil {
		resolve = t.Resolve
	}
	r.nhs = rib.NewNextHops(resolve)
	for _, f := range families {
		t := rib.NewTable(r.in, r.nhs)
		t.CompareRouterID = r.sp.cfg.CompareRouterID
		r.tables[f] = t
	}
	for _, o := range r.sp.cfg.Originate {
		r.announce(o)
	}
}

// run is the RIB goroutine.
func (r *ribState) run() {
	defer r.sp.wg.Done()
	var trackC <-chan struct{}
	if r.sp.track != nil {
		trackC = r.sp.track.Changes()
	}
	r.process()
	r.flushWriters()
	for {
		select {
		case <-r.sp.ctx.Done():
			r.runFns()
			return
		case ev := <-r.sp.ribIn:
			r.handle(ev)
		case <-trackC:
			r.nextHopsChanged()
		}
		// Coalesce: take whatever else is queued before deciding, so a
		// burst of UPDATEs costs one decision and one UPDATE per prefix.
		// A round stops at roundPrefixes changed prefixes, so that a full
		// table is decided, installed and passed on while it still
		// arrives, instead of all at once after its last UPDATE, and show
		// commands (which wait for the round) keep answering.
	drain:
		for i := 0; i < 4096 && r.pending() < roundPrefixes; i++ {
			select {
			case ev := <-r.sp.ribIn:
				r.handle(ev)
			default:
				break drain
			}
		}
		r.process()
		r.runFns()
		r.flushWriters()
	}
}

// roundPrefixes bounds the prefixes one round of the RIB goroutine
// decides (see run): large enough that bursts coalesce, small enough that
// a round of a full table takes tens of milliseconds.
const roundPrefixes = 1 << 15

// pending returns the number of prefixes waiting for the decision process.
func (r *ribState) pending() int {
	n := 0
	for _, t := range r.tables {
		n += t.Pending()
	}
	return n
}

func (r *ribState) runFns() {
	for _, fn := range r.fns {
		fn(r)
	}
	// The list is kept for the next round, but not the requests: each
	// holds its caller's result (a snapshot of whole tables), which would
	// stay reachable until another request took its slot.
	clear(r.fns)
	r.fns = r.fns[:0]
}

func (r *ribState) handle(ev ribEvent) {
	switch ev.kind {
	case ribPeerUp:
		r.peerUp(r.peers[ev.s], ev.up)
	case ribPeerDown:
		r.peerDown(r.peers[ev.s])
	case ribUpdate:
		r.update(r.peers[ev.s], ev.upd)
	case ribRefresh:
		if p := r.peers[ev.s]; p.up != nil {
			r.advertiseAll(p, ev.fam, true)
		}
	case ribRefreshOut:
		if p := r.peers[ev.s]; p.up != nil {
			for _, f := range p.up.families {
				r.advertiseAll(p, f, true)
			}
		}
	case ribAnnounce:
		r.announce(*ev.orig)
	case ribWithdraw:
		pfx := ev.orig.Prefix
		delete(r.orig, pfx)
		if t := r.tables[famOf(pfx)]; t != nil {
			t.Remove(pfx, r.local)
		}
	case ribFunc:
		r.fns = append(r.fns, ev.fn)
	}
}

func (r *ribState) announce(o Origination) {
	r.orig[o.Prefix] = o
	a := rib.Attrs{Origin: rib.OriginIGP, MED: o.MED, HasMED: true}
	if len(o.Communities) > 0 {
		a.MutableExtra().Communities = o.Communities
	}
	for _, l := range o.LargeCommunities {
		x := a.MutableExtra()
		x.LargeCommunities = append(x.LargeCommunities, rib.LargeCommunity{Global: l[0], Local1: l[1], Local2: l[2]})
	}
	r.tables[famOf(o.Prefix)].Update(o.Prefix, rib.Path{Attrs: r.in.Intern(&a), NH: r.nhs.Get(r.local, netip.Addr{}, netip.Addr{}), Time: r.sp.clock.Now().UnixNano()})
}

func (r *ribState) peerUp(p *ribPeer, up *peerUp) {
	if p.up != nil {
		r.peerDown(p)
	}
	p.up = up
	p.src.RouterID = up.routerID
	cfg := &p.s.cfg
	p.nh4, p.nh6, p.ll6 = cfg.NextHop4, cfg.NextHop6, netip.Addr{}
	if up.local.Is4() {
		p.nh4 = up.local
	} else if up.local.IsValid() && !up.local.IsLinkLocalUnicast() {
		p.nh6 = up.local.WithZone("")
	}
	if r.sp.track != nil && cfg.Interface != "" {
		p.ll6 = r.sp.track.LinkLocal(cfg.Interface).WithZone("")
	}
	if !p.nh6.IsValid() {
		p.nh6 = p.ll6
	}
	for _, f := range up.families {
		if p.out[f] == nil {
			p.out[f] = rib.NewAdjOut(r.tables[f])
		}
		r.advertiseAll(p, f, false)
		// End-of-RIB after the initial table (RFC 4724 section 2).
		r.send(p, wire.NewEndOfRIB(f.AFI, f.SAFI))
		p.s.stats.mu.Lock()
		p.s.stats.eorSent = append(p.s.stats.eorSent, f)
		p.s.stats.mu.Unlock()
	}
}

func (r *ribState) peerDown(p *ribPeer) {
	if p.up == nil {
		return
	}
	p.up = nil
	for _, t := range r.tables {
		t.RemoveSource(p.src)
	}
	for _, o := range p.out {
		o.Clear()
	}
}

// linkLocalsChanged re-advertises a peer's IPv6 routes when the
// link-local address of its interface appeared or changed. A session can
// come up before the kernel has given the interface its link-local address
// (a lab's links and sessions start within milliseconds); its routes then
// carried the global next hop only, and the peer installed them through
// it. The seed's Quagga sends both, and so do we as soon as we can.
func (r *ribState) linkLocalsChanged() {
	if r.sp.track == nil {
		return
	}
	for _, p := range r.peers {
		if p.up == nil || p.s.cfg.Interface == "" {
			continue
		}
		ll := r.sp.track.LinkLocal(p.s.cfg.Interface).WithZone("")
		if ll == p.ll6 {
			continue
		}
		if p.nh6 == p.ll6 {
			p.nh6 = ll
		}
		p.ll6 = ll
		for _, f := range p.up.families {
			if f.AFI == wire.AFIIPv6 {
				// Every export changed (its next hop), so every route
				// is sent again. The Adj-RIB-Out records the learned
				// sets an export is made of, which did not change: the
				// new exports are forced out.
				r.advertiseAll(p, f, true)
			}
		}
	}
}

// update applies a received UPDATE. Its attribute sets are interned
// already (by the reader), with a reference each that update takes over
// and gives back when done.
func (r *ribState) update(p *ribPeer, u *inUpdate) {
	defer func() {
		u.release(r.in)
		u.done()
	}()
	if p.up == nil || u == nil {
		return
	}
	now := r.sp.clock.Now().UnixNano()
	for i := range u.parts {
		part := &u.parts[i]
		t := r.tables[part.fam]
		if t == nil || !slices.Contains(p.up.families, part.fam) {
			continue
		}
		if part.eor {
			p.s.stats.mu.Lock()
			if !slices.Contains(p.s.stats.eorRcvd, part.fam) {
				p.s.stats.eorRcvd = append(p.s.stats.eorRcvd, part.fam)
			}
			p.s.stats.mu.Unlock()
			continue
		}
		for _, w := range part.withdrawn {
			t.Remove(w, p.src)
		}
		if part.attrs == nil || len(part.nlri) == 0 {
			continue
		}
		// AS_PATH loop detection (RFC 4271 section 9.1.2): a path with our
		// own AS is not accepted, and replaces (withdraws) an earlier one.
		if part.attrs.HasAS(r.sp.cfg.AS) {
			for _, n := range part.nlri {
				t.Remove(n, p.src)
			}
			continue
		}
		a := part.attrs
		nh := r.nhs.Get(p.src, part.nh, part.ll)
		for _, n := range part.nlri {
			if famOf(n) != part.fam {
				continue
			}
			t.Update(n, rib.Path{Attrs: r.in.Retain(a), NH: r.nhs.Retain(nh), Time: now})
		}
		r.nhs.Release(nh)
	}
}

func (r *ribState) nextHopsChanged() {
	changed := r.nhs.Refresh()
	for _, t := range r.tables {
		t.MarkNextHops(changed)
	}
	r.linkLocalsChanged()
	// A peer waiting in Active whose address is reachable again is tried
	// at once instead of at its next ConnectRetry.
	for _, s := range r.sp.sessions {
		if _, ok := r.sp.track.Resolve(s.cfg.PeerAddr); ok {
			select {
			case s.events <- sessEvent{kind: evKick}:
			default:
			}
		}
	}
}

// process runs the decision process, then pushes the results to the
// kernel and to the peers.
func (r *ribState) process() {
	// Destinations left without paths go once the round has recorded
	// their withdrawals in every Adj-RIB-Out.
	defer func() {
		for _, t := range r.tables {
			t.Sweep()
		}
	}()
	n := 0
	for _, f := range families {
		t := r.tables[f]
		if t.Pending() == 0 {
			continue
		}
		if r.sp.fib != nil && r.fibOps == nil {
			// One slice for the round's operations, of their number.
			if r.fibOps = r.sp.fib.NewBatch(); cap(r.fibOps) < t.Pending() {
				r.fibOps = make([]fib.Op, 0, t.Pending()+r.tables[wire.IPv6Unicast].Pending())
			}
		}
		t.Process(func(pfx netip.Prefix, old, nb *rib.Path, _ rib.Reason) {
			n++
			// What peers are sent depends on the best path's source and
			// attribute set only (next hop self): most decisions of a
			// busy speaker keep the best (a new path that lost), and its
			// peers need not be looked at. A nil old best may be one
			// just removed: it always counts as a change.
			if old == nil || nb == nil || old.Src() != nb.Src() || old.Attrs != nb.Attrs {
				r.changed[f] = append(r.changed[f], pfx)
			}
			if r.sp.fib == nil {
				return
			}
			if rt, ok := r.kernelRoute(pfx, nb); ok {
				r.fibOps = append(r.fibOps, fib.Op{Route: rt})
			} else {
				// Whatever the kernel holds for pfx goes, even when the
				// old best is reported nil: Process reports a best path
				// that was removed (withdrawn, or its session went down)
				// as nil, and its route is installed. The FIB ignores
				// deletes of routes it never installed.
				r.fibOps = append(r.fibOps, fib.Op{Route: fib.Route{Dst: pfx}, Delete: true})
			}
		})
	}
	if n == 0 {
		return
	}
	r.version++
	if len(r.fibOps) > 0 {
		r.sp.fib.Apply(r.fibOps)
		r.fibOps = nil
	}
	for _, p := range r.peers {
		if p.up == nil {
			continue
		}
		for _, f := range p.up.families {
			if ch := r.changed[f]; len(ch) > 0 {
				r.advertise(p, f, ch, false)
			}
		}
	}
	for _, f := range families {
		if cap(r.changed[f]) > 1024 {
			r.changed[f] = nil // the list of a large round is not kept
		} else {
			r.changed[f] = r.changed[f][:0]
		}
	}
	if len(r.groups) > maxKeptGroups {
		// Nor a large round's groups: a lab has hundreds of speakers.
		r.groups, r.groupOf = nil, nil
	}
	r.sp.notify(Event{Kind: EventRIB, Changed: n})
	r.sp.changed()
}

// kernelRoute is the kernel route of a best path: through the peer's
// link-local next hop on the session's interface for IPv6 (as the seed's
// `via fe80::… dev as1ra-eth1`), else through the next hop.
func (r *ribState) kernelRoute(pfx netip.Prefix, p *rib.Path) (fib.Route, bool) {
	if p == nil || p.Src().Local {
		return fib.Route{}, false
	}
	nh := p.NH
	if pfx.Addr().Is6() && nh.LinkLocal.IsValid() {
		idx := r.sp.track.IfIndex(nh.LinkLocal.Zone())
		if idx == 0 {
			return fib.Route{}, false
		}
		return fib.Route{Dst: pfx, Gw: nh.LinkLocal.WithZone(""), IfIndex: idx}, true
	}
	if !nh.Global.IsValid() {
		return fib.Route{}, false
	}
	return fib.Route{Dst: pfx, Gw: nh.Global, IfIndex: nh.IfIndex}, true
}

// exported returns the best path of d when it is advertised to p, or nil.
func exported(p *ribPeer, d *rib.Dest) *rib.Path {
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
func (r *ribState) export(p *ribPeer, best *rib.Path) rib.Attrs {
	out, prepend := r.exportBase(p, best)
	if prepend != 0 {
		out.ASPath = rib.Prepend(out.ASPath, prepend, 1)
	}
	return out
}

// exportBase is export without the prepending of our AS, which it
// returns (0 for none): the fast encoder writes it as it encodes the
// AS_PATH, and spares an allocation.
func (r *ribState) exportBase(p *ribPeer, best *rib.Path) (out rib.Attrs, prepend uint32) {
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
		prepend = r.sp.cfg.AS
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
func exportNextHops(p *ribPeer, f wire.Family) (nh4 netip.Addr, mp []netip.Addr) {
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
func (r *ribState) outKey(p *ribPeer, f wire.Family, best *rib.Path) (*rib.Attrs, bool) {
	if best.Src().Local {
		a := r.export(p, best)
		return r.in.Intern(&a), true
	}
	return r.in.Retain(best.Attrs), false
}

func (r *ribState) advertiseAll(p *ribPeer, f wire.Family, force bool) {
	r.advertise(p, f, r.tables[f].Prefixes(), force)
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
func (r *ribState) advertise(p *ribPeer, f wire.Family, pfxs []netip.Prefix, force bool) {
	out := p.out[f]
	t := r.tables[f]
	var withdraws []netip.Prefix
	// Groups are scratch space of the RIB goroutine, reused call after
	// call: advertise runs for every peer in every round.
	if r.groupOf == nil {
		r.groupOf = make(map[*rib.Attrs]int)
	}
	groups := r.groups[:0]
	defer func() {
		clear(r.groupOf)
		for i := range groups {
			groups[i] = outGroup{pfxs: groups[i].pfxs[:0]}
		}
		r.groups = groups
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
		k, isExport := r.outKey(p, f, best)
		if k == cur && !force {
			r.in.Release(k)
			continue
		}
		out.Set(d, k)
		r.in.Release(k)
		i, ok := r.groupOf[k]
		if !ok {
			i = len(groups)
			r.groupOf[k] = i
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
	for _, u := range buildWithdraws(f, withdraws, &p.up.opts) {
		r.send(p, u)
	}
	nh4, nhs := exportNextHops(p, f)
	for i := range groups {
		g := &groups[i]
		a, prepend := g.key, uint32(0)
		if !g.exported {
			var e rib.Attrs
			e, prepend = r.exportBase(p, g.best)
			a = &e
		}
		if fastEncodable(a, &p.up.opts) && r.fast.fastAdverts(f, a, prepend, nh4, nhs, g.pfxs, &p.up.opts, r.emit(p)) {
			continue
		}
		if prepend != 0 {
			e := a.Copy()
			e.ASPath = rib.Prepend(e.ASPath, prepend, 1)
			a = &e
		}
		attrs := wireAttrs(a, nh4)
		if !p.up.opts.AS4 {
			attrs = wire.For2OctetPeer(attrs)
		}
		// Most groups fit one message: encode it once. Those that do not
		// are split to the session's maximum message size.
		if !r.trySend(p, newUpdate(f, attrs, nhs, g.pfxs)) {
			for _, u := range buildUpdates(f, attrs, nhs, g.pfxs, &p.up.opts) {
				r.send(p, u)
			}
		}
	}
}

// emit returns the function that queues a message fastAdverts encoded for
// p.
func (r *ribState) emit(p *ribPeer) func([]byte) {
	if r.emitPeer != p {
		r.emitPeer = p
		r.emitFn = func(b []byte) { r.queue(p, b) }
	}
	return r.emitFn
}

// trySend sends u to p when it can be encoded (it fits the session's
// maximum message size), and reports whether it did.
func (r *ribState) trySend(p *ribPeer, u *wire.Update) bool {
	b, err := u.AppendTo(r.enc[:0], &p.up.opts)
	r.enc = b
	if err != nil {
		return false
	}
	r.queue(p, b)
	return true
}

// queue queues a copy of an encoded UPDATE for p; the writer writes it
// with the rest of the round's (flushWriters), in as few system calls as
// the socket allows, instead of waking up for every message.
func (r *ribState) queue(p *ribPeer, b []byte) {
	w := p.up.w
	if p.queuedOn != w {
		p.queuedOn = w
		r.queued = append(r.queued, w)
		r.queuedPeers = append(r.queuedPeers, p)
	}
	w.queue(b, p.up.opts)
}

// flushWriters has every writer the round queued on write.
func (r *ribState) flushWriters() {
	for _, w := range r.queued {
		w.flush()
	}
	for _, p := range r.queuedPeers {
		p.queuedOn = nil
	}
	clear(r.queued)
	clear(r.queuedPeers)
	r.queued, r.queuedPeers = r.queued[:0], r.queuedPeers[:0]
}

func (r *ribState) send(p *ribPeer, u *wire.Update) {
	var err error
	r.enc, err = u.AppendTo(r.enc[:0], &p.up.opts)
	if err != nil {
		r.sp.log.printf("%s: cannot encode UPDATE: %v", p.s.name, err)
		return
	}
	r.queue(p, r.enc)
}

// inRIB runs fn in the RIB goroutine, after its current round, and waits.
func (sp *Speaker) inRIB(ctx context.Context, fn func(*ribState)) error {
	sp.mu.Lock()
	started, closed := sp.started, sp.closed
	sp.mu.Unlock()
	if !started || closed {
		return fmt.Errorf("speaker %s: not running", sp.cfg.Name)
	}
	// fn writes the caller's variables, which the caller reads as it
	// returns. A caller that gives up (ctx, or the speaker closing) while
	// fn waits in the queue marks it abandoned, under mu: fn then never
	// runs, or has run already and mu orders its writes before the
	// caller's reads.
	var mu sync.Mutex
	abandoned := false
	done := make(chan struct{})
	ev := ribEvent{kind: ribFunc, fn: func(r *ribState) {
		mu.Lock()
		if !abandoned {
			fn(r)
		}
		mu.Unlock()
		close(done)
	}}
	abandon := func(err error) error {
		mu.Lock()
		abandoned = true
		mu.Unlock()
		return err
	}
	closedErr := func() error { return fmt.Errorf("speaker %s: closed", sp.cfg.Name) }
	select {
	case sp.ribIn <- ev:
	case <-ctx.Done():
		return ctx.Err()
	case <-sp.ctx.Done():
		return closedErr()
	}
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return abandon(ctx.Err())
	case <-sp.ctx.Done():
		return abandon(closedErr())
	}
}
