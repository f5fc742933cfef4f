package decision

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"lab/speaker/rib"
	"lab/speaker/ribwire"
	"lab/speaker/wire"
)

// The import side of routing policy: what happens to a route between the
// UPDATE that carried it and the table. A route received is kept as it was
// received (rib.Path.Pre, or the denied list when the import denied it),
// so that a changed policy runs again on what the peer sent, without a
// ROUTE-REFRESH (RFC 4271 section 3.2: the Adj-RIB-In is what was
// received; FRR calls this soft-reconfiguration inbound).

// deniedRoute is a route the import denied: as received, with its next
// hop, for `show ... received-routes` and for a later policy that may
// accept it.
type deniedRoute struct {
	attrs *rib.Attrs
	nh    *rib.NextHop
}

// plainImport reports whether routes from p enter the table as received:
// no knob, no policy, no draining. The loop check and RFC 8326's
// GRACEFUL_SHUTDOWN still apply (importRoute).
func (e *Engine) plainImport(p *peerState) bool {
	c := p.cfg
	return c.LocalPref == nil && c.Weight == nil && len(c.Import) == 0 && c.AllowASIn == 0 &&
		!(e.draining && !p.src.IBGP)
}

// importRoute runs the import pipeline on the route to pfx that p sent
// with the attribute set a (interned): the AS_PATH loop check (RFC 4271
// section 9.1.2, with allowas-in), the peer's local-pref and weight, its
// import policies in order, then RFC 8326's GRACEFUL_SHUTDOWN (local-pref
// 0, whatever the policies did) and our own draining. It returns the set
// to install, with a reference the caller owns, or false when the route
// is denied.
func (e *Engine) importRoute(p *peerState, pfx netip.Prefix, a *rib.Attrs) (*rib.Attrs, bool) {
	if n := countAS(a, e.cfg.AS); n > p.cfg.AllowASIn {
		return nil, false
	}
	if p.src.IBGP && a.Ext != nil {
		// RFC 4456 section 8: a route that left us, or our cluster,
		// coming back.
		if x := a.Ext; x.OriginatorID == e.cfg.RouterID ||
			e.cfg.ClusterID.IsValid() && slices.Contains(x.ClusterList, clusterID(e.cfg.ClusterID)) {
			return nil, false
		}
	}
	gshut := hasCommunity(a, uint32(wire.CommunityGracefulShutdown))
	if e.plainImport(p) && !gshut {
		return e.in.Retain(a), true
	}
	cur := a
	var own rib.Attrs // a set being built, when cur is not interned
	change := func() *rib.Attrs {
		if cur != &own {
			own = cur.Copy()
			cur = &own
		}
		return cur
	}
	if v := p.cfg.LocalPref; v != nil {
		x := change()
		x.HasLocalPref, x.LocalPref = true, *v
	}
	if v := p.cfg.Weight; v != nil {
		x := change()
		x.HasWeight, x.Weight = true, *v
	}
	for _, pol := range p.cfg.Import {
		out, ok, _ := pol.Apply(pfx, cur, p.cfg.PeerAS)
		if !ok {
			return nil, false
		}
		if out != cur {
			own = *out
			cur = &own
		}
	}
	if gshut || (e.draining && !p.src.IBGP) {
		x := change()
		x.HasLocalPref, x.LocalPref = true, 0
	}
	if cur == a {
		return e.in.Retain(a), true
	}
	return e.in.Intern(cur), true
}

// countAS returns how many times as appears in a's AS_PATH.
func countAS(a *rib.Attrs, as uint32) int {
	n := 0
	for _, s := range a.ASPath {
		for _, x := range s.ASNs {
			if x == as {
				n++
			}
		}
	}
	return n
}

// hasCommunity reports whether a carries the RFC 1997 community c.
func hasCommunity(a *rib.Attrs, c uint32) bool {
	if a.Ext == nil {
		return false
	}
	return slices.Contains(a.Ext.Communities, c)
}

// receive enters the route to pfx of family f that p sent with set a and
// next hop nh into table t, or into p's denied list. The caller keeps its
// references to a and nh.
func (e *Engine) receive(p *peerState, t *rib.Table, f wire.Family, pfx netip.Prefix, a *rib.Attrs, nh *rib.NextHop, now int64) {
	post, ok := e.importRoute(p, pfx, a)
	if !ok {
		t.Remove(pfx, p.src)
		p.deny(e, f, pfx, deniedRoute{attrs: e.in.Retain(a), nh: e.nhs.Retain(nh)})
		return
	}
	p.undeny(e, f, pfx)
	path := rib.Path{Attrs: post, NH: e.nhs.Retain(nh), Time: now}
	if post != a {
		path.Pre = e.in.Retain(a)
	}
	t.Update(pfx, path)
}

// withdraw removes p's route to pfx, accepted or denied.
func (e *Engine) withdraw(p *peerState, t *rib.Table, f wire.Family, pfx netip.Prefix) {
	t.Remove(pfx, p.src)
	p.undeny(e, f, pfx)
}

// deny records a denied route, replacing the one of the same prefix. It
// takes over r's references.
func (p *peerState) deny(e *Engine, f wire.Family, pfx netip.Prefix, r deniedRoute) {
	if p.denied == nil {
		p.denied = make(map[wire.Family]map[netip.Prefix]deniedRoute)
	}
	m := p.denied[f]
	if m == nil {
		m = make(map[netip.Prefix]deniedRoute)
		p.denied[f] = m
	}
	if old, ok := m[pfx]; ok {
		e.in.Release(old.attrs)
		e.nhs.Release(old.nh)
	}
	m[pfx] = r
}

// undeny forgets the denied route to pfx, if any.
func (p *peerState) undeny(e *Engine, f wire.Family, pfx netip.Prefix) {
	m := p.denied[f]
	if old, ok := m[pfx]; ok {
		e.in.Release(old.attrs)
		e.nhs.Release(old.nh)
		delete(m, pfx)
	}
}

// clearDenied forgets every denied route of p (its session went down).
func (p *peerState) clearDenied(e *Engine) {
	for _, m := range p.denied {
		for _, r := range m {
			e.in.Release(r.attrs)
			e.nhs.Release(r.nh)
		}
	}
	p.denied = nil
}

// reimport runs p's import pipeline again on every route it sent (its
// policy changed, or our draining did): from what was received, accepted
// and denied alike.
func (e *Engine) reimport(p *peerState) {
	if p.up == nil {
		return
	}
	now := e.cfg.Clock.Now().UnixNano()
	for _, f := range p.up.Families {
		t := e.tables[f]
		type held struct {
			pfx netip.Prefix
			a   *rib.Attrs
			nh  *rib.NextHop
		}
		var routes []held
		for _, pfx := range t.SourcePrefixes(p.src) {
			d := t.Dest(pfx)
			for _, path := range d.Paths() {
				if path.Src() == p.src {
					routes = append(routes, held{pfx, e.in.Retain(path.Received()), e.nhs.Retain(path.NH)})
					break
				}
			}
		}
		for pfx, r := range p.denied[f] {
			routes = append(routes, held{pfx, e.in.Retain(r.attrs), e.nhs.Retain(r.nh)})
		}
		for _, r := range routes {
			e.receive(p, t, f, r.pfx, r.a, r.nh, now)
			e.in.Release(r.a)
			e.nhs.Release(r.nh)
		}
	}
	e.checkMaxPrefix(p)
}

// checkMaxPrefix ends p's session when it has more accepted routes of a
// family than its maximum (RFC 4486 Cease subcode 1, whose data is the
// AFI, the SAFI and the limit), or logs a warning when warning-only.
func (e *Engine) checkMaxPrefix(p *peerState) {
	limit := p.cfg.MaxPrefix
	if limit <= 0 || p.up == nil {
		return
	}
	for _, f := range p.up.Families {
		n := e.tables[f].SourceCount(p.src)
		if n <= limit {
			p.maxPrefixWarned = false
			continue
		}
		if p.cfg.MaxPrefixWarningOnly {
			if !p.maxPrefixWarned {
				p.maxPrefixWarned = true
				e.cfg.Log.Printf("%%MAXPFX: No. of %s prefix received from %s reaches %d, max %d", f, p.cfg.PeerAddr, n, limit)
			}
			continue
		}
		e.cfg.Log.Printf("%%MAXPFXEXCEED: No. of %s prefix received from %s reaches %d, max %d", f, p.cfg.PeerAddr, n, limit)
		data := []byte{byte(f.AFI >> 8), byte(f.AFI), byte(f.SAFI),
			byte(limit >> 24), byte(limit >> 16), byte(limit >> 8), byte(limit)}
		e.cfg.Teardown(p.id, &wire.Notification{Code: wire.CodeCease, Subcode: wire.SubcodeMaxPrefixes, Data: data})
		// The session engine ends the session; until it says so, the
		// routes stay (its Down removes them).
		return
	}
}

// Touch is one step of the import side that changed a route: who
// (`policy RELATION-FROM-CUSTOMER entry 1`, `neighbor local-pref`,
// `graceful-shutdown`) and what (`local-pref 200`, `community add ...`).
type Touch struct {
	By   string
	What []string
}

// explainImport runs p's import pipeline on the route to pfx received
// with set a, as importRoute does, and tells which step changed what.
func (e *Engine) explainImport(p *peerState, pfx netip.Prefix, a *rib.Attrs) []Touch {
	var out []Touch
	cur := a
	note := func(by string, next *rib.Attrs) {
		if w := attrChanges(cur, next); len(w) > 0 {
			out = append(out, Touch{By: by, What: w})
		}
		cur = next
	}
	if v := p.cfg.LocalPref; v != nil {
		x := cur.Copy()
		x.HasLocalPref, x.LocalPref = true, *v
		note("neighbor local-pref", &x)
	}
	if v := p.cfg.Weight; v != nil {
		x := cur.Copy()
		x.HasWeight, x.Weight = true, *v
		note("neighbor weight", &x)
	}
	for _, pol := range p.cfg.Import {
		x, ok, entry := pol.Apply(pfx, cur, p.cfg.PeerAS)
		by := fmt.Sprintf("policy %s entry %d", pol.Name(), entry)
		if !ok {
			if entry == 0 {
				by = fmt.Sprintf("policy %s (no entry matched)", pol.Name())
			}
			out = append(out, Touch{By: by, What: []string{"denied"}})
			return out
		}
		note(by, x)
	}
	if hasCommunity(cur, uint32(wire.CommunityGracefulShutdown)) {
		x := cur.Copy()
		x.HasLocalPref, x.LocalPref = true, 0
		note("graceful-shutdown community", &x)
	} else if e.draining && !p.src.IBGP {
		x := cur.Copy()
		x.HasLocalPref, x.LocalPref = true, 0
		note("graceful-shutdown (draining)", &x)
	}
	return out
}

// attrChanges names what differs between two attribute sets, in the
// topology's words.
func attrChanges(a, b *rib.Attrs) []string {
	var out []string
	if a.HasLocalPref != b.HasLocalPref || a.LocalPref != b.LocalPref {
		out = append(out, fmt.Sprintf("local-pref %d", b.EffectiveLocalPref()))
	}
	if a.HasWeight != b.HasWeight || a.Weight != b.Weight {
		out = append(out, fmt.Sprintf("weight %d", b.Weight))
	}
	if a.HasMED != b.HasMED || a.MED != b.MED {
		out = append(out, fmt.Sprintf("med %d", b.MED))
	}
	if a.Origin != b.Origin {
		out = append(out, "origin "+strings.ToLower(b.Origin.String()))
	}
	if ribwire.ASPathString(a.ASPath) != ribwire.ASPathString(b.ASPath) {
		out = append(out, "as-path "+ribwire.ASPathString(b.ASPath))
	}
	x, y := a.Extra(), b.Extra()
	if !slices.Equal(x.Communities, y.Communities) {
		var cs []string
		for _, c := range y.Communities {
			cs = append(cs, ribwire.CommunityString(c))
		}
		out = append(out, "community "+strings.Join(cs, " "))
	}
	if !slices.Equal(x.LargeCommunities, y.LargeCommunities) {
		var cs []string
		for _, c := range y.LargeCommunities {
			cs = append(cs, c.String())
		}
		out = append(out, "large-community "+strings.Join(cs, " "))
	}
	return out
}
