package daemons

import (
	"fmt"
	"strings"

	"lab/topo"
)

// FRRConfig returns bgpd's configuration for router r of lab l, logging
// to logFile. It gives FRR the behaviour lab/speakerconf gives the lab's
// speaker (see the package comment for how each setting maps); an error
// lists what of r's configuration FRR cannot express (Check's errors).
func FRRConfig(l *topo.Lab, r *topo.Router, logFile string) (string, error) {
	if errs := checkRouter(l, r, topo.DaemonFRR); len(errs) > 0 {
		return "", withSource(l, errs)
	}
	c := &frrConf{lab: l, r: r, done: map[string]bool{}}
	return c.build(logFile), nil
}

// frrConf builds one router's bgpd.conf. The policy objects (lists and
// route maps) are written to defs as the neighbours need them, each once;
// the `router bgp` block to body.
type frrConf struct {
	lab  *topo.Lab
	r    *topo.Router
	defs strings.Builder
	body strings.Builder
	done map[string]bool // objects written to defs, by kind and name
	// mapNames are the per-neighbour route maps' names, to keep them
	// unique.
	mapNames map[string]bool
}

func (c *frrConf) def(format string, a ...any) { fmt.Fprintf(&c.defs, format+"\n", a...) }
func (c *frrConf) p(format string, a ...any)   { fmt.Fprintf(&c.body, format+"\n", a...) }

// once reports whether the object key is new, and marks it written.
func (c *frrConf) once(key string) bool {
	if c.done[key] {
		return false
	}
	c.done[key] = true
	return true
}

// neighbor is one session of the router as bgpd configures it.
type frrNeighbor struct {
	s           *topo.Session
	local, peer topo.SessionEnd
	in, out     string // route maps, "" for none
}

func (c *frrConf) build(logFile string) string {
	r := c.r
	var top strings.Builder
	fmt.Fprintf(&top, "! bgpd configuration of %s in lab %s, written by the lab\n", r.Name, c.lab.Name)
	fmt.Fprintf(&top, "frr defaults traditional\nhostname %s\nlog file %s\n!\n", r.Name, logFile)

	var ns []frrNeighbor
	for _, s := range c.lab.Sessions {
		local, peer, ok := s.End(r)
		if !ok {
			continue
		}
		n := frrNeighbor{s: s, local: local, peer: peer}
		n.in, n.out = c.neighborMaps(&n)
		ns = append(ns, n)
	}

	c.p("router bgp %d", r.AS.Number)
	c.p(" bgp router-id %v", r.RouterID)
	// The lab's speaker sends and accepts routes without policy, announces
	// prefixes that are not in its table, and compares MEDs pairwise.
	c.p(" no bgp ebgp-requires-policy")
	c.p(" no bgp default ipv4-unicast")
	c.p(" no bgp network import-check")
	c.p(" no bgp deterministic-med")
	if r.BGP.CompareRouterID {
		c.p(" bgp bestpath compare-routerid")
	}
	if r.RR {
		c.p(" bgp cluster-id %v", r.ClusterID)
	}
	c.p(" timers bgp %d %d", int(r.BGP.Keepalive.Seconds()), int(r.BGP.Hold.Seconds()))
	for _, n := range ns {
		a := n.peer.Addr
		kind := "eBGP"
		if n.s.IBGP() {
			kind = "iBGP"
		}
		peerAS := n.peer.Router.AS.Number
		e := n.local.BGP
		if e != nil && e.RemoteAS != 0 {
			peerAS = e.RemoteAS
		}
		c.p(" neighbor %v remote-as %d", a, peerAS)
		c.p(" neighbor %v description %s (%s)", a, n.peer.Router.Name, kind)
		c.p(" neighbor %v update-source %v", a, n.local.Addr)
		c.p(" neighbor %v timers connect %d", a, int(r.BGP.ConnectRetry.Seconds()))
		pw := n.s.Password
		if e != nil {
			pw = e.Password
		}
		if pw != "" {
			c.p(" neighbor %v password %s", a, pw)
		}
		if e == nil {
			continue
		}
		if e.Passive {
			c.p(" neighbor %v passive", a)
		}
		switch {
		case e.Shutdown && e.ShutdownMessage != "":
			c.p(" neighbor %v shutdown message %s", a, e.ShutdownMessage)
		case e.Shutdown:
			c.p(" neighbor %v shutdown", a)
		}
	}
	for _, f := range []topo.Family{topo.IPv4, topo.IPv6} {
		c.addressFamily(f, ns)
	}
	c.p("exit")
	c.p("!")
	return top.String() + c.defs.String() + "!\n" + c.body.String()
}

// addressFamily writes the `address-family` block of family f: the
// router's prefixes and aggregates of that family, and its neighbours of
// that family (every session carries its own family only).
func (c *frrConf) addressFamily(f topo.Family, ns []frrNeighbor) {
	var lines []string
	add := func(format string, a ...any) { lines = append(lines, "  "+fmt.Sprintf(format, a...)) }
	for i, o := range c.r.Originate {
		if topo.FamilyOf(o.Prefix.Addr()) != f {
			continue
		}
		if m := c.originMap(i, o); m != "" {
			add("network %v route-map %s", o.Prefix, m)
		} else {
			add("network %v", o.Prefix)
		}
	}
	for _, g := range c.r.Aggregates {
		if topo.FamilyOf(g.Prefix.Addr()) != f {
			continue
		}
		line := fmt.Sprintf("aggregate-address %v", g.Prefix)
		if g.ASSet {
			line += " as-set"
		}
		if g.SummaryOnly {
			line += " summary-only"
		}
		add("%s", line)
	}
	for _, n := range ns {
		if n.s.Family != f {
			continue
		}
		a := n.peer.Addr
		add("neighbor %v activate", a)
		// The lab's speakers keep what each neighbour sent (before
		// import policy); FRR does with this, and then answers `show ip
		// bgp neighbor ADDR received-routes` as in seed 002.
		add("neighbor %v soft-reconfiguration inbound", a)
		if n.s.RRClientOf(c.r) {
			add("neighbor %v route-reflector-client", a)
		}
		if n.s.IBGP() && c.r.NextHopSelf {
			add("neighbor %v next-hop-self", a)
		}
		if e := n.local.BGP; e != nil {
			if e.AllowASIn > 0 {
				add("neighbor %v allowas-in %d", a, e.AllowASIn)
			}
			if e.MaxPrefix > 0 {
				w := ""
				if e.MaxPrefixWarningOnly {
					w = " warning-only"
				}
				add("neighbor %v maximum-prefix %d%s", a, e.MaxPrefix, w)
			}
			if e.DefaultOriginate {
				add("neighbor %v default-originate", a)
			}
		}
		if n.in != "" {
			add("neighbor %v route-map %s in", a, n.in)
		}
		if n.out != "" {
			add("neighbor %v route-map %s out", a, n.out)
		}
	}
	if len(lines) == 0 {
		return
	}
	c.p(" address-family %s unicast", afi(f))
	for _, l := range lines {
		c.p("%s", l)
	}
	c.p(" exit-address-family")
}

func afi(f topo.Family) string {
	if f == topo.IPv4 {
		return "ipv4"
	}
	return "ipv6"
}

// originMap writes the route map that gives the router's i-th
// origination its attributes, and returns its name ("" when it has none
// to give: FRR's `network` sends MED 0, as the lab's speaker does).
func (c *frrConf) originMap(i int, o topo.Origination) string {
	if !o.HasMED && len(o.Communities) == 0 && len(o.LargeCommunities) == 0 {
		return ""
	}
	name := fmt.Sprintf("ORIGINATE-%d", i+1)
	c.def("route-map %s permit 10", name)
	if o.HasMED {
		c.def(" set metric %d", o.MED)
	}
	if len(o.Communities) > 0 {
		c.def(" set community %s", communities(o.Communities))
	}
	if len(o.LargeCommunities) > 0 {
		c.def(" set large-community %s", larges(o.LargeCommunities))
	}
	c.def("exit")
	return name
}

// step is one entry of a neighbour's route map: the set lines it applies,
// then the route map it calls.
type step struct {
	sets []string
	call string
}

// neighborMaps writes the route maps of a neighbour and returns their
// names ("" for a direction with nothing to do). bgpd takes one route
// map per direction, and the lab's speaker runs a chain: on import, the
// end's local-pref and weight, then its relation's policy, then its
// named policy; on export, the relation's policy, the named policy, then
// the end's MED and prepending, and, towards another AS, our relation
// tags removed. Each link of the chain is an entry of the neighbour's
// route map that calls the policy's route map (whose denial ends the
// chain) and goes on to the next entry (`on-match next`).
func (c *frrConf) neighborMaps(n *frrNeighbor) (in, out string) {
	e := n.local.BGP
	role := n.s.PeerRole(c.r)
	fam := n.s.Family
	peerAS := n.peer.Router.AS.Number
	if e != nil && e.RemoteAS != 0 {
		peerAS = e.RemoteAS
	}
	var ins, outs []step
	if e != nil {
		var sets []string
		if e.LocalPref != nil {
			sets = append(sets, fmt.Sprintf("set local-preference %d", *e.LocalPref))
		}
		if e.Weight != nil {
			sets = append(sets, fmt.Sprintf("set weight %d", *e.Weight))
		}
		if len(sets) > 0 {
			ins = append(ins, step{sets: sets})
		}
	}
	if role != topo.RoleNone {
		ins = append(ins, step{call: c.relationIn(role)})
		outs = append(outs, step{call: c.relationOut(role, e != nil && e.Leak)})
	}
	if e != nil && e.PolicyIn != nil {
		ins = append(ins, step{call: c.policyMap(e.PolicyIn, fam, peerAS)})
	}
	if e != nil && e.PolicyOut != nil {
		outs = append(outs, step{call: c.policyMap(e.PolicyOut, fam, peerAS)})
	}
	var sets []string
	if e != nil {
		if e.MED != nil {
			sets = append(sets, fmt.Sprintf("set metric %d", *e.MED))
		}
		var pre []uint32
		for range e.Prepend.Count {
			pre = append(pre, c.r.AS.Number)
		}
		pre = append(pre, e.Prepend.ASNs...)
		if len(pre) > 0 {
			sets = append(sets, "set as-path prepend "+asns(pre))
		}
	}
	if !n.s.IBGP() && c.tagsInAS() {
		sets = append(sets, "set large-comm-list "+c.relationTags()+" delete")
	}
	if len(sets) > 0 {
		outs = append(outs, step{sets: sets})
	}
	peer := n.peer.Router.Name + "-" + strings.ToUpper(afi(fam))
	return c.chain("FROM-"+peer, ins), c.chain("TO-"+peer, outs)
}

// chain writes a neighbour's route map of the steps given, and returns
// its name ("" for no steps).
func (c *frrConf) chain(name string, steps []step) string {
	// An entry's sets run before its call: a step of sets alone goes
	// into the next one.
	for i := 0; i+1 < len(steps); {
		if steps[i].call == "" {
			steps[i+1].sets = append(steps[i].sets, steps[i+1].sets...)
			steps = append(steps[:i], steps[i+1:]...)
			continue
		}
		i++
	}
	if len(steps) == 0 {
		return ""
	}
	if c.mapNames == nil {
		c.mapNames = map[string]bool{}
	}
	base := name
	for i := 2; c.mapNames[name]; i++ {
		name = fmt.Sprintf("%s-%d", base, i)
	}
	c.mapNames[name] = true
	for i, s := range steps {
		c.def("route-map %s permit %d", name, (i+1)*10)
		for _, l := range s.sets {
			c.def(" %s", l)
		}
		if s.call != "" {
			c.def(" call %s", s.call)
		}
		if i < len(steps)-1 {
			c.def(" on-match next")
		}
		c.def("exit")
	}
	return name
}

// tagsInAS reports whether routes of the router's AS may carry relation
// tags: some link of a router of the AS has a relation.
func (c *frrConf) tagsInAS() bool {
	for _, k := range c.lab.Links {
		if k.Relation == topo.RelNone || k.LAN != nil {
			continue
		}
		if k.A.Node.Router().AS == c.r.AS || k.B.Node.Router().AS == c.r.AS {
			return true
		}
	}
	return false
}

// Names of the relation policy's objects, as lab/speaker/policy names
// them, so that FRR's `show route-map` reads as `show routing policy`.
const (
	relationNotFromCustomer = "RELATION-FROM-PEER-OR-PROVIDER"
	relationTagsList        = "RELATION-TAGS"
)

func roleName(r topo.Role) string { return strings.ToUpper(r.String()) }

// relationTags writes the large-community list of the router's relation
// tags (AS:1000:1..3) and returns its name.
func (c *frrConf) relationTags() string {
	if c.once("lcl " + relationTagsList) {
		for _, r := range []topo.Role{topo.RoleCustomer, topo.RolePeer, topo.RoleProvider} {
			t, _ := r.Tag(c.r.AS.Number)
			c.def("bgp large-community-list standard %s permit %s", relationTagsList, large(t))
		}
	}
	return relationTagsList
}

// relationIn writes the import policy of a neighbour of role r: the
// role's local-pref, our tags removed, the role's tag added (two entries:
// FRR does not say in which order one entry's deletion and addition
// run), and returns its name.
func (c *frrConf) relationIn(r topo.Role) string {
	name := "RELATION-FROM-" + roleName(r)
	if !c.once("rm " + name) {
		return name
	}
	tags := c.relationTags()
	t, _ := r.Tag(c.r.AS.Number)
	c.def("route-map %s permit 10", name)
	c.def(" set local-preference %d", c.lab.RelationLocalPref.Of(r))
	c.def(" set large-comm-list %s delete", tags)
	c.def(" on-match next")
	c.def("exit")
	c.def("route-map %s permit 20", name)
	c.def(" set large-community %s additive", large(t))
	c.def("exit")
	return name
}

// relationOut writes the export policy towards a neighbour of role r
// (every route to a customer, or with leak; to a peer or a provider, not
// the routes learned from peers and providers) and returns its name.
func (c *frrConf) relationOut(r topo.Role, leak bool) string {
	name := "RELATION-TO-" + roleName(r)
	switch {
	case r == topo.RoleCustomer:
	case leak:
		name += "-LEAK"
	default:
		if !c.once("rm " + name) {
			return name
		}
		if c.once("lcl " + relationNotFromCustomer) {
			for _, x := range []topo.Role{topo.RolePeer, topo.RoleProvider} {
				t, _ := x.Tag(c.r.AS.Number)
				c.def("bgp large-community-list standard %s permit %s", relationNotFromCustomer, large(t))
			}
		}
		c.def("route-map %s deny 10", name)
		c.def(" match large-community %s", relationNotFromCustomer)
		c.def("exit")
		c.def("route-map %s permit 20", name)
		c.def("exit")
		return name
	}
	if c.once("rm " + name) {
		c.def("route-map %s permit 10", name)
		c.def("exit")
	}
	return name
}

// policyMap writes the route map of a topology policy as a neighbour of
// family fam in AS peerAS runs it, and returns its name: the policy's,
// with -IPV4 or -IPV6 when it matches a prefix list (FRR's prefix lists
// and their match clauses are per family), and -AS<n> when it matches the
// neighbour's AS (FRR has no such match: the entries are kept or dropped
// here, for the neighbour's AS).
func (c *frrConf) policyMap(p *topo.Policy, fam topo.Family, peerAS uint32) string {
	name := p.Name
	byFamily, byAS := false, false
	for _, e := range p.Entries {
		byFamily = byFamily || e.Match.Prefix != nil
		byAS = byAS || e.Match.NeighborAS != 0
	}
	if byFamily {
		name += "-" + strings.ToUpper(afi(fam))
	}
	if byAS {
		name += fmt.Sprintf("-AS%d", peerAS)
	}
	if !c.once("rm " + name) {
		return name
	}
	seq := 0
	for i, e := range p.Entries {
		if e.Match.NeighborAS != 0 && e.Match.NeighborAS != peerAS {
			continue // never matches this neighbour
		}
		seq = (i + 1) * 10
		action := "permit"
		if e.Deny {
			action = "deny"
		}
		m := e.Match
		var lines []string
		if m.Prefix != nil {
			kw := "ip"
			if fam == topo.IPv6 {
				kw = "ipv6"
			}
			lines = append(lines, fmt.Sprintf("match %s address prefix-list %s", kw, c.prefixList(m.Prefix, fam)))
		}
		if m.ASPath != nil {
			lines = append(lines, "match as-path "+c.asPathList(m.ASPath))
		}
		if m.Community != nil {
			std, lg := c.communityList(m.Community)
			if std != "" {
				lines = append(lines, "match community "+std)
			} else {
				lines = append(lines, "match large-community "+lg)
			}
		}
		if m.Origin != nil {
			lines = append(lines, "match origin "+topo.OriginString(*m.Origin))
		}
		var adds []string
		if !e.Deny {
			var more []string
			more, adds = c.sets(name, seq, &e.Set)
			lines = append(lines, more...)
		}
		if len(adds) > 0 {
			sub := fmt.Sprintf("%s-%d-ADD", name, seq)
			c.def("route-map %s permit 10", sub)
			for _, l := range adds {
				c.def(" %s", l)
			}
			c.def("exit")
			lines = append(lines, "call "+sub)
		}
		c.def("route-map %s %s %d", name, action, seq)
		for _, l := range lines {
			c.def(" %s", l)
		}
		c.def("exit")
	}
	if seq == 0 {
		// No entry can match: a route map of no entry would be missing,
		// and a call of a missing route map permits.
		c.def("route-map %s deny 10", name)
		c.def("exit")
	}
	return name
}

// sets returns the set lines of a permitting policy entry (of route map
// name, entry seq), and apart the communities it adds when it also
// deletes some: those go to a route map the entry calls, so that they
// are added after the deletion, as the lab's speaker does.
func (c *frrConf) sets(name string, seq int, s *topo.PolicySet) (lines, adds []string) {
	add := func(format string, a ...any) { lines = append(lines, fmt.Sprintf(format, a...)) }
	if s.LocalPref != nil {
		add("set local-preference %d", *s.LocalPref)
	}
	if s.MED != nil {
		add("set metric %d", *s.MED)
	}
	if s.Weight != nil {
		add("set weight %d", *s.Weight)
	}
	if s.Origin != nil {
		add("set origin %s", topo.OriginString(*s.Origin))
	}
	switch p := s.Prepend; {
	case p.Count > 0:
		var pre []uint32
		for range p.Count {
			pre = append(pre, c.r.AS.Number)
		}
		add("set as-path prepend %s", asns(pre))
	case len(p.ASNs) > 0:
		add("set as-path prepend %s", asns(p.ASNs))
	}
	cs := s.Community
	deleted := false
	switch {
	case cs.Replace && len(cs.Set) == 0:
		add("set community none")
	case cs.Replace:
		add("set community %s", communities(cs.Set))
	default:
		if len(cs.Delete) > 0 || cs.DeleteList != nil {
			add("set comm-list %s delete", c.deleteList(name, seq, "cl", cs.Delete, nil, cs.DeleteList))
			deleted = true
		}
		if len(cs.Add) > 0 {
			l := fmt.Sprintf("set community %s additive", communities(cs.Add))
			if deleted {
				adds = append(adds, l)
			} else {
				lines = append(lines, l)
			}
		}
	}
	ls := s.LargeCommunity
	deleted = false
	switch {
	case ls.Replace && len(ls.Set) == 0:
		add("set large-community none")
	case ls.Replace:
		add("set large-community %s", larges(ls.Set))
	default:
		if len(ls.Delete) > 0 || ls.DeleteList != nil {
			add("set large-comm-list %s delete", c.deleteList(name, seq, "lcl", nil, ls.Delete, ls.DeleteList))
			deleted = true
		}
		if len(ls.Add) > 0 {
			l := fmt.Sprintf("set large-community %s additive", larges(ls.Add))
			if deleted {
				adds = append(adds, l)
			} else {
				lines = append(lines, l)
			}
		}
	}
	return lines, adds
}

// deleteList returns the community list (kind "cl") or large-community
// list ("lcl") that a `delete` of entry seq of route map name uses: the
// topology's list when only it is given, else a list of the entry's own
// of the values written and the topology list's permitted ones of that
// kind, in its order.
func (c *frrConf) deleteList(name string, seq int, kind string, std []uint32, lg [][3]uint32, l *topo.CommunityList) string {
	if l != nil && len(std) == 0 && len(lg) == 0 {
		s, g := c.communityList(l)
		if kind == "cl" && s != "" {
			return s
		}
		if kind == "lcl" && g != "" {
			return g
		}
	}
	list := fmt.Sprintf("%s-%d-DELETE", name, seq)
	if !c.once(kind + " " + list) {
		return list
	}
	var entries []string
	for _, v := range std {
		entries = append(entries, "permit "+community(v))
	}
	for _, v := range lg {
		entries = append(entries, "permit "+large(v))
	}
	if l != nil {
		for _, e := range l.Entries {
			if e.IsLarge != (kind == "lcl") {
				continue
			}
			v := community(e.Community)
			if e.IsLarge {
				v = large(e.Large)
			}
			entries = append(entries, permitDeny(e.Deny)+" "+v)
		}
	}
	if len(entries) == 0 {
		// A list of nothing of this kind deletes nothing.
		entries = append(entries, "deny "+map[string]string{"cl": "0:0", "lcl": "0:0:0"}[kind])
	}
	head := "bgp community-list standard"
	if kind == "lcl" {
		head = "bgp large-community-list standard"
	}
	for _, e := range entries {
		c.def("%s %s %s", head, list, e)
	}
	return list
}

// prefixList writes the prefix list l of family fam (FRR's ip and ipv6
// prefix lists are apart; the topology's holds both) and returns its
// name. A list with no entry of the family matches nothing of it.
func (c *frrConf) prefixList(l *topo.PrefixList, fam topo.Family) string {
	kw := "ip"
	if fam == topo.IPv6 {
		kw = "ipv6"
	}
	if !c.once(kw + " pl " + l.Name) {
		return l.Name
	}
	n := 0
	for _, e := range l.Entries {
		if topo.FamilyOf(e.Prefix.Addr()) != fam {
			continue
		}
		n++
		c.def("%s prefix-list %s seq %d %s %s", kw, l.Name, n*5, permitDeny(e.Deny), prefixRange(e))
	}
	if n == 0 {
		c.def("%s prefix-list %s seq 5 deny any", kw, l.Name)
	}
	return l.Name
}

// prefixRange writes an entry's prefix and length range as FRR's ge/le.
func prefixRange(e topo.PrefixEntry) string {
	bits, top := e.Prefix.Bits(), e.Prefix.Addr().BitLen()
	lo, hi := max(e.Min, bits), e.Max
	s := e.Prefix.String()
	switch {
	case lo == bits && hi == bits:
	case lo == bits:
		s += fmt.Sprintf(" le %d", hi)
	case hi == top:
		s += fmt.Sprintf(" ge %d", lo)
	default:
		s += fmt.Sprintf(" ge %d le %d", lo, hi)
	}
	return s
}

// asPathList writes an AS-path list and returns its name. Its regular
// expressions are FRR's syntax already.
func (c *frrConf) asPathList(l *topo.ASPathList) string {
	if c.once("al " + l.Name) {
		for _, e := range l.Entries {
			c.def("bgp as-path access-list %s %s %s", l.Name, permitDeny(e.Deny), e.Path)
		}
	}
	return l.Name
}

// communityList writes the community list of l's RFC 1997 entries and
// the large-community list of its large ones (FRR keeps them apart), and
// returns their names ("" for a kind l has no entry of).
func (c *frrConf) communityList(l *topo.CommunityList) (std, lg string) {
	for _, e := range l.Entries {
		if e.IsLarge {
			lg = l.Name
		} else {
			std = l.Name
		}
	}
	if c.once("cl " + l.Name) {
		for _, e := range l.Entries {
			if e.IsLarge {
				c.def("bgp large-community-list standard %s %s %s", l.Name, permitDeny(e.Deny), large(e.Large))
			} else {
				c.def("bgp community-list standard %s %s %s", l.Name, permitDeny(e.Deny), community(e.Community))
			}
		}
	}
	return std, lg
}

func permitDeny(deny bool) string {
	if deny {
		return "deny"
	}
	return "permit"
}

// community writes an RFC 1997 community as FRR reads it: AS:VALUE,
// well-known ones included (65535:65281 is no-export).
func community(v uint32) string { return fmt.Sprintf("%d:%d", v>>16, v&0xffff) }

func communities(vs []uint32) string {
	var out []string
	for _, v := range vs {
		out = append(out, community(v))
	}
	return strings.Join(out, " ")
}

func large(v [3]uint32) string { return fmt.Sprintf("%d:%d:%d", v[0], v[1], v[2]) }

func larges(vs [][3]uint32) string {
	var out []string
	for _, v := range vs {
		out = append(out, large(v))
	}
	return strings.Join(out, " ")
}

func asns(vs []uint32) string {
	var out []string
	for _, v := range vs {
		out = append(out, fmt.Sprint(v))
	}
	return strings.Join(out, " ")
}

// zebraConfig is zebra's configuration: a log file; the interfaces and
// addresses are the lab's, already in the namespace.
func zebraConfig(r *topo.Router, logFile string) string {
	return fmt.Sprintf("! zebra configuration of %s, written by the lab\nhostname %s\nlog file %s\n!\n", r.Name, r.Name, logFile)
}
