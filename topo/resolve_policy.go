package topo

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
)

// This file resolves what issues 9 and 10 added: references to routing
// objects, link settings and relations, iBGP modes and route reflectors,
// loopbacks (checked, then allocated after every other address), and
// builds the sessions between loopbacks.

// Default loopback pools: one address each, from the second on.
var (
	DefaultLoopbackIPv4 = netip.MustParsePrefix("10.253.0.0/16")
	DefaultLoopbackIPv6 = netip.MustParsePrefix("fd00:fffe::/64")
)

// resolveRouting indexes the named routing objects and resolves the
// policies' references to lists.
func (b *builder) resolveRouting() {
	raw := b.raw.routing
	rt := &Routing{
		Prefix:    map[string]*PrefixList{},
		ASPath:    map[string]*ASPathList{},
		Community: map[string]*CommunityList{},
		Policy:    map[string]*Policy{},
	}
	b.lab.Routing = rt
	for _, l := range raw.prefix {
		rt.Prefix[l.Name] = l
		rt.PrefixLists = append(rt.PrefixLists, l)
	}
	for _, l := range raw.aspath {
		rt.ASPath[l.Name] = l
		rt.ASPathLists = append(rt.ASPathLists, l)
	}
	for _, l := range raw.community {
		rt.Community[l.Name] = l
		rt.CommunityLists = append(rt.CommunityLists, l)
	}
	prefixNames := names(rt.PrefixLists, func(l *PrefixList) string { return l.Name })
	aspathNames := names(rt.ASPathLists, func(l *ASPathList) string { return l.Name })
	communityNames := names(rt.CommunityLists, func(l *CommunityList) string { return l.Name })
	b.rawPolicies = map[string]*rawPolicy{}
	for _, rp := range raw.policy {
		p := &Policy{Name: rp.name, Pos: rp.pos}
		b.rawPolicies[rp.name] = rp
		for _, re := range rp.entries {
			e := re.e
			where := fmt.Sprintf("policy %q", rp.name)
			if re.prefix.set {
				e.Match.Prefix = lookupRef(b, rt.Prefix, prefixNames, "prefix list", "prefix", re.prefix, where)
			}
			if re.aspath.set {
				e.Match.ASPath = lookupRef(b, rt.ASPath, aspathNames, "AS-path list", "aspath", re.aspath, where)
			}
			if re.community.set {
				e.Match.Community = lookupRef(b, rt.Community, communityNames, "community list", "community", re.community, where)
			}
			if re.commDelete.set {
				l := lookupRef(b, rt.Community, communityNames, "community list", "community", re.commDelete, where)
				if l != nil && !slices.ContainsFunc(l.Entries, func(c CommunityEntry) bool { return !c.IsLarge }) {
					b.errorf(re.commDelete.pos, ErrValue, "community list %q (line %d) has only large communities, so set.community.delete in %s would delete nothing; use set.large-community.delete", l.Name, l.Pos.Line, where)
				}
				e.Set.Community.DeleteList = l
			}
			if re.largeDelete.set {
				l := lookupRef(b, rt.Community, communityNames, "community list", "community", re.largeDelete, where)
				if l != nil && !slices.ContainsFunc(l.Entries, func(c CommunityEntry) bool { return c.IsLarge }) {
					b.errorf(re.largeDelete.pos, ErrValue, "community list %q (line %d) has no large community, so set.large-community.delete in %s would delete nothing; use set.community.delete", l.Name, l.Pos.Line, where)
				}
				e.Set.LargeCommunity.DeleteList = l
			}
			p.Entries = append(p.Entries, e)
		}
		rt.Policy[p.Name] = p
		rt.Policies = append(rt.Policies, p)
	}
}

func names[T any](list []T, name func(T) string) []string {
	out := make([]string, len(list))
	for i, x := range list {
		out[i] = name(x)
	}
	return out
}

// lookupRef returns the object ref names, or reports it unknown. kind
// names the kind in messages ("prefix list"), key its section of
// `routing:`, where the place of the reference.
func lookupRef[T any](b *builder, m map[string]*T, known []string, kind, key string, ref setting[string], where string) *T {
	if v, ok := m[ref.v]; ok {
		return v
	}
	msg := fmt.Sprintf("unknown %s %q in %s", kind, ref.v, where)
	switch s := suggest(ref.v, known); {
	case len(known) == 0:
		msg += fmt.Sprintf("; `routing: {%s: ...}` defines none", key)
	case s != "":
		msg += fmt.Sprintf(" (did you mean %q?)", s)
	case len(known) <= 8:
		msg += "; defined: " + strings.Join(known, ", ")
	}
	b.errorf(ref.pos, ErrReference, "%s", msg)
	return nil
}

// resolveIBGP resolves every AS's iBGP mode and checks the route
// reflection settings against it.
func (b *builder) resolveIBGP() {
	b.ibgp = map[uint32]IBGPMode{}
	b.asRouters = map[uint32][]*rRouter{}
	for _, rr := range b.rlist {
		if rr.asn == 0 {
			continue
		}
		if _, seen := b.asRouters[rr.asn]; !seen {
			b.asOrder = append(b.asOrder, rr.asn)
		}
		b.asRouters[rr.asn] = append(b.asRouters[rr.asn], rr)
	}
	for _, asn := range b.asOrder {
		mode := IBGPFullMesh
		a := b.ases[asn]
		if a != nil && a.ibgp.set {
			mode = a.ibgp.v
		}
		b.ibgp[asn] = mode
		hasRR := false
		for _, rr := range b.asRouters[asn] {
			isRR := rr.raw.rr.set && rr.raw.rr.v
			if isRR && mode != IBGPRouteReflector {
				b.errorf(rr.raw.rr.pos, ErrValue, "router %q has rr: true but the iBGP of AS %d is %s; route reflectors need `ases: {%d: {ibgp: route-reflector}}`",
					rr.raw.name, asn, mode, asn)
			}
			hasRR = hasRR || isRR
			if c := rr.raw.clusterID; c.set && !isRR {
				b.errorf(c.pos, ErrValue, "router %q has a cluster-id but is not a route reflector; a cluster-id goes with rr: true", rr.raw.name)
			}
		}
		if mode == IBGPRouteReflector && !hasRR {
			b.errorf(a.ibgp.pos, ErrMissing, "AS %d uses route-reflector iBGP but none of its routers has rr: true; mark at least one reflector", asn)
		}
		if a != nil && a.clusterID.set && mode != IBGPRouteReflector {
			b.errorf(a.clusterID.pos, ErrValue, "AS %d has a cluster-id but its iBGP is %s; a cluster-id is for route-reflector ASes", asn, mode)
		}
	}
}

// checkIBGPConnected reports the routers of a full-mesh or
// route-reflector AS that no chain of links inside the AS joins: the
// sessions between their loopbacks could never come up.
func (b *builder) checkIBGPConnected() {
	parent := map[*rRouter]*rRouter{}
	var find func(r *rRouter) *rRouter
	find = func(r *rRouter) *rRouter {
		p, ok := parent[r]
		if !ok || p == r {
			return r
		}
		root := find(p)
		parent[r] = root
		return root
	}
	for _, rk := range b.links {
		x, y := rk.ends[0], rk.ends[1]
		if x.asn == y.asn {
			parent[find(x)] = find(y)
		}
	}
	for _, asn := range b.asOrder {
		mode := b.ibgp[asn]
		if mode == IBGPPerLink {
			continue
		}
		// A router without interfaces has no loopback and no session: it
		// is alone by design (a file being written), not cut off.
		var routers []*rRouter
		for _, r := range b.asRouters[asn] {
			if len(r.links) > 0 || len(r.hosts) > 0 {
				routers = append(routers, r)
			}
		}
		if len(routers) < 2 {
			continue
		}
		rr := routers[0]
		reported := map[*rRouter]bool{find(rr): true}
		for _, o := range routers[1:] {
			if root := find(o); !reported[root] {
				reported[root] = true
				b.errorf(o.raw.pos, ErrReference, "router %q has no path through links inside AS %d to router %q: the iBGP sessions between their loopbacks (%s) could never come up; link them inside the AS, or set `ibgp: per-link` on AS %d",
					o.raw.name, asn, rr.raw.name, mode, asn)
			}
		}
	}
}

// resolveLinkSettings resolves every router link's relation, cost and
// per-end BGP settings.
func (b *builder) resolveLinkSettings() {
	lp := RelationLocalPref{Customer: DefaultLocalPrefCustomer, Peer: DefaultLocalPrefPeer, Provider: DefaultLocalPrefProvider}
	if s := b.raw.relLP.customer; s.set {
		lp.Customer = s.v
	}
	if s := b.raw.relLP.peer; s.set {
		lp.Peer = s.v
	}
	if s := b.raw.relLP.provider; s.set {
		lp.Provider = s.v
	}
	b.lab.RelationLocalPref = lp

	// Hosts named under bgp: of any link, including the links already
	// refused for having a host as an endpoint.
	for _, k := range b.raw.links {
		for _, e := range k.bgp {
			if _, isHost := b.hosts[e.end.name]; isHost {
				b.errorf(e.end.pos, ErrReference, "%q is a host: hosts run no BGP, so there is nothing for bgp settings to configure", e.end.name)
			}
		}
	}

	policyNames := names(b.lab.Routing.Policies, func(p *Policy) string { return p.Name })
	for _, rk := range b.links {
		k := rk.raw
		x, y := rk.ends[0], rk.ends[1]
		if x.asn == 0 || y.asn == 0 {
			continue // a router without a valid AS: reported, and nothing to check against
		}
		intra := x.asn == y.asn
		mode := b.ibgp[x.asn]
		// Inside a full-mesh or route-reflector AS, the iBGP sessions run
		// between loopbacks: the link itself carries none.
		noSession := intra && mode != IBGPPerLink
		noSessionWhy := fmt.Sprintf("%s carries no BGP session: the routers of AS %d peer between loopbacks (ibgp %s)", rk, x.asn, mode)
		if k.relation.set && intra {
			b.errorf(k.relation.pos, ErrValue, "relation %s on %s, inside AS %d; relations are between ASes (a link inside an AS is iBGP)", k.relation.v, rk, x.asn)
		}
		if noSession && k.password != "" {
			b.errorf(k.passwordPos, ErrValue, "%s, so its password would do nothing; set `ibgp: per-link` on AS %d for sessions over its links", noSessionWhy, x.asn)
		}
		rk.bgp = [2]*EndBGP{{Password: k.password, Pos: k.pos}, {Password: k.password, Pos: k.pos}}
		for _, e := range k.bgp {
			side := slices.IndexFunc(rk.ends[:], func(r *rRouter) bool { return r.raw.name == e.end.name })
			if side < 0 {
				if _, isHost := b.hosts[e.end.name]; !isHost {
					b.errorf(e.end.pos, ErrReference, "%q is not an endpoint of %s; bgp settings are keyed by the link's two routers", e.end.name, rk)
				}
				continue
			}
			if r := rk.ends[side]; r.raw.external {
				b.errorf(e.end.pos, ErrValue, "router %q is external: the lab does not configure its daemon, so bgp settings for it would do nothing; configure them in its own daemon", r.raw.name)
				continue
			}
			if noSession {
				b.errorf(e.end.pos, ErrValue, "%s, so bgp settings on it would do nothing; set `ibgp: per-link` on AS %d for sessions over its links", noSessionWhy, x.asn)
				continue
			}
			v := e.v
			v.Password = k.password
			where := fmt.Sprintf("the bgp settings of %s on %s", e.end.name, rk)
			if e.password.set {
				v.Password = e.password.v
			}
			if e.policyIn.set {
				v.PolicyIn = lookupRef(b, b.lab.Routing.Policy, policyNames, "policy", "policy", e.policyIn, where)
			}
			if e.policyOut.set {
				v.PolicyOut = lookupRef(b, b.lab.Routing.Policy, policyNames, "policy", "policy", e.policyOut, where)
				if rp := b.rawPolicies[e.policyOut.v]; rp != nil {
					b.checkOutPolicy(rp, e.policyOut.pos, intra)
				}
			}
			if e.leak.set {
				if !k.relation.set && !k.relationGiven {
					b.errorf(e.leak.pos, ErrValue, "leak in %s, which has no relation: leak turns off the export rule of a relation; add `relation: provider-customer` (customer-provider, peer)", where)
				}
				v.Leak = e.leak.v
			}
			rk.bgp[side] = &v
		}
	}
}

// checkOutPolicy reports what an export policy sets that never reaches the
// peer.
func (b *builder) checkOutPolicy(rp *rawPolicy, at Pos, intra bool) {
	for _, re := range rp.entries {
		if re.setWeight.set {
			b.errorf(at, ErrValue, "policy %q sets weight (line %d), which is local to the router that sets it and never sent: use it as an in policy", rp.name, re.setWeight.pos.Line)
			return
		}
		if re.setLocalPref.set && !intra {
			b.errorf(at, ErrValue, "policy %q sets local-pref (line %d), which is not sent to another AS (RFC 4271 §5.1.5): use it as an in policy, or set med", rp.name, re.setLocalPref.pos.Line)
			return
		}
	}
}

// checkLoopbacks checks the written loopbacks (one per family, unique,
// outside every written link and LAN subnet) and reserves them, so that
// allocation puts no subnet around them.
func (b *builder) checkLoopbacks() {
	type lo struct {
		a   netip.Addr
		rr  *rRouter
		pos Pos
	}
	var all []lo
	for _, rr := range b.rlist {
		rr.loopbacks = map[Family]rawAddr{}
		for _, a := range rr.raw.loopbacks {
			f := FamilyOf(a.p.Addr())
			if _, dup := rr.loopbacks[f]; dup {
				b.errorf(a.pos, ErrAddress, "router %q has two %s loopbacks; expected at most one of each family", rr.raw.name, f)
				continue
			}
			rr.loopbacks[f] = a
			all = append(all, lo{a.p.Addr(), rr, a.pos})
		}
	}
	if len(all) == 0 {
		return
	}
	slices.SortStableFunc(all, func(x, y lo) int { return comparePos(x.pos, y.pos) })
	first := map[netip.Addr]lo{}
	for _, l := range all {
		if f, dup := first[l.a]; dup {
			b.errorf(l.pos, ErrDuplicate, "loopback %s is already the loopback of router %q (line %d); loopbacks are unique", l.a, f.rr.raw.name, f.pos.Line)
			continue
		}
		first[l.a] = l
	}

	type subnet struct {
		what string
		pos  Pos
	}
	nets := map[netip.Prefix]subnet{}
	var lens [129]bool
	addNet := func(a rawAddr, what string) {
		m := a.p.Masked()
		if _, ok := nets[m]; !ok {
			nets[m] = subnet{what, a.pos}
			lens[m.Bits()] = true
		}
	}
	for _, rk := range b.links {
		if rk.noAuto {
			continue
		}
		for _, f := range []Family{IPv4, IPv6} {
			if a, ok := rk.addrs[0][f]; ok {
				addNet(a, rk.String())
			}
		}
	}
	for _, rr := range b.rlist {
		if len(rr.hosts) == 0 {
			continue
		}
		for _, f := range []Family{IPv4, IPv6} {
			if a, ok := rr.lan[f]; ok {
				addNet(a, fmt.Sprintf("the LAN of router %q", rr.raw.name))
			}
		}
	}
	for _, l := range all {
		for n := range lens {
			if !lens[n] || n > l.a.BitLen() {
				continue
			}
			m, _ := l.a.Prefix(n)
			if s, ok := nets[m]; ok {
				b.errorf(l.pos, ErrAddress, "loopback %s of router %q is inside subnet %s of %s (line %d); a loopback must lie outside every link and LAN subnet",
					l.a, l.rr.raw.name, m, s.what, s.pos.Line)
				break
			}
		}
		b.used.add(netip.PrefixFrom(l.a, l.a.BitLen()), false)
	}
}

// usesFamily reports whether router rr has an interface address of
// family f.
func (rr *rRouter) usesFamily(f Family) bool {
	for _, rk := range rr.links {
		side := 0
		if rk.ends[1] == rr {
			side = 1
		}
		if _, ok := rk.addrs[side][f]; ok {
			return true
		}
	}
	if len(rr.hosts) > 0 {
		if _, ok := rr.lan[f]; ok {
			return true
		}
	}
	return false
}

// allocateLoopbacks gives every router a loopback of each family it uses
// and has none written of, after every other allocation (so that adding
// loopbacks moved no link or LAN): the pool's addresses from its second
// on, in router order, skipping the written loopbacks and every subnet in
// use.
func (b *builder) allocateLoopbacks() {
	pools := b.lab.Pools
	for _, f := range []Family{IPv4, IPv6} {
		pool, key := pools.LoopbackIPv4, b.raw.addressing.lo4
		if f == IPv6 {
			pool, key = pools.LoopbackIPv6, b.raw.addressing.lo6
		}
		var need []*rRouter
		for _, rr := range b.rlist {
			if _, ok := rr.loopbacks[f]; !ok && rr.usesFamily(f) {
				need = append(need, rr)
			}
		}
		if len(need) == 0 {
			continue
		}
		bits := pool.Addr().BitLen()
		// The pool's own first address (.0, ::) is never handed out.
		b.used.add(netip.PrefixFrom(pool.Addr(), bits), false)
		al := newSubnetAlloc(pool, bits, b.used)
		for _, rr := range need {
			p, ok := al.alloc()
			if !ok {
				b.errorf(b.poolPos(key), ErrAddress, "the %s loopback pool %s is exhausted at router %q; give a larger pool in addressing ipv%d-loopbacks",
					f, pool, rr.raw.name, f)
				break
			}
			rr.loopbacks[f] = rawAddr{p: p, pos: rr.raw.pos}
		}
	}
}

// aggregates returns a router's aggregates, reporting any written twice.
func (b *builder) aggregates(rr *rRouter) []Aggregate {
	var out []Aggregate
	seen := map[netip.Prefix]Pos{}
	for _, a := range rr.raw.aggregates {
		if first, dup := seen[a.Prefix]; dup {
			b.errorf(a.Pos, ErrDuplicate, "router %q aggregates %s twice (first at line %d)", rr.raw.name, a.Prefix, first.Line)
			continue
		}
		seen[a.Prefix] = a.Pos
		out = append(out, a)
	}
	return out
}

// assemblePolicy fills the model's routing, iBGP and link settings; the
// routers, ASes and links exist.
func (b *builder) assemblePolicy() {
	lab := b.lab
	for _, rr := range b.rlist {
		r := rr.r
		for _, f := range []Family{IPv4, IPv6} {
			if a, ok := rr.loopbacks[f]; ok {
				r.Loopbacks = append(r.Loopbacks, a.p.Addr())
			}
		}
		r.RR = rr.raw.rr.set && rr.raw.rr.v
		r.NextHopSelf = !rr.raw.nextHopSelf.set || rr.raw.nextHopSelf.v
		r.Aggregates = rr.aggregates
	}
	for _, a := range lab.ASes {
		a.IBGP = b.ibgp[a.Number]
		if a.IBGP != IBGPRouteReflector {
			continue
		}
		if ra := b.ases[a.Number]; ra != nil && ra.clusterID.set {
			a.ClusterID = ra.clusterID.v
		} else {
			for _, r := range a.Routers {
				if r.RR && (!a.ClusterID.IsValid() || r.RouterID.Less(a.ClusterID)) {
					a.ClusterID = r.RouterID
				}
			}
		}
		for _, r := range a.Routers {
			if !r.RR {
				continue
			}
			r.ClusterID = a.ClusterID
			if c := b.routers[r.Name].raw.clusterID; c.set {
				r.ClusterID = c.v
			}
		}
	}
	for _, rk := range b.links {
		k := rk.k
		k.Cost = DefaultCost
		if rk.raw.cost.set {
			k.Cost = rk.raw.cost.v
		}
		k.Relation = rk.raw.relation.v
		k.BGP = rk.bgp
	}
	for _, k := range lab.Links {
		if k.LAN != nil {
			k.Cost = DefaultCost
		}
	}
}

// sessions generates the lab's BGP sessions: over the router links (all
// but the links inside full-mesh and route-reflector ASes), then between
// the loopbacks of those ASes' routers.
func (b *builder) sessions() {
	lab := b.lab
	for _, k := range lab.Links {
		if k.LAN != nil {
			continue
		}
		ra, rb := k.A.Node.Router(), k.B.Node.Router()
		if ra.AS == rb.AS && ra.AS.IBGP != IBGPPerLink {
			continue
		}
		for _, f := range []Family{IPv4, IPv6} {
			pa, okA := k.A.Addr(f)
			pb, okB := k.B.Addr(f)
			if !okA || !okB {
				continue
			}
			lab.Sessions = append(lab.Sessions, &Session{
				Index:    len(lab.Sessions),
				Family:   f,
				Link:     k,
				A:        SessionEnd{Router: ra, Iface: k.A, Addr: pa.Addr(), BGP: k.BGP[0]},
				B:        SessionEnd{Router: rb, Iface: k.B, Addr: pb.Addr(), BGP: k.BGP[1]},
				Password: k.Password,
			})
		}
	}
	for _, a := range lab.ASes {
		if a.IBGP == IBGPPerLink {
			continue
		}
		for i, x := range a.Routers {
			for _, y := range a.Routers[i+1:] {
				var client *Router
				if a.IBGP == IBGPRouteReflector {
					switch {
					case !x.RR && !y.RR:
						continue // clients peer with reflectors only
					case x.RR && !y.RR:
						client = y
					case y.RR && !x.RR:
						client = x
					}
				}
				for _, f := range []Family{IPv4, IPv6} {
					la, okA := x.Loopback(f)
					lb, okB := y.Loopback(f)
					if !okA || !okB {
						continue
					}
					lab.Sessions = append(lab.Sessions, &Session{
						Index:    len(lab.Sessions),
						Family:   f,
						A:        SessionEnd{Router: x, Addr: la, Loopback: true},
						B:        SessionEnd{Router: y, Addr: lb, Loopback: true},
						RRClient: client,
					})
				}
			}
		}
	}
}
