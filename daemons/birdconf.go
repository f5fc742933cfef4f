package daemons

import (
	"fmt"
	"strings"

	"lab/topo"
)

// BIRDConfig returns BIRD 2's configuration for router r of lab l,
// logging to logFile: a kernel protocol per family that installs the BGP
// routes, a static protocol per family holding the router's prefixes
// (never installed: they are exported to BGP only), and a BGP protocol
// per session whose filters do what lab/speakerconf's policies do. An
// error lists what of r's configuration BIRD cannot express (Check's
// errors).
func BIRDConfig(l *topo.Lab, r *topo.Router, logFile string) (string, error) {
	if errs := checkRouter(l, r, topo.DaemonBIRD); len(errs) > 0 {
		return "", withSource(l, errs)
	}
	c := &birdConf{lab: l, r: r, funcs: map[string]bool{}, protos: map[string]bool{}}
	return c.build(logFile), nil
}

// birdConf builds one router's bird.conf: functions (the lists) in defs,
// protocols in body.
type birdConf struct {
	lab    *topo.Lab
	r      *topo.Router
	defs   strings.Builder
	body   strings.Builder
	funcs  map[string]bool // functions written
	protos map[string]bool // protocol names taken
}

func (c *birdConf) def(format string, a ...any) { fmt.Fprintf(&c.defs, format+"\n", a...) }
func (c *birdConf) p(format string, a ...any)   { fmt.Fprintf(&c.body, format+"\n", a...) }

func (c *birdConf) build(logFile string) string {
	r := c.r
	var top strings.Builder
	fmt.Fprintf(&top, "# BIRD configuration of %s in lab %s, written by the lab\n", r.Name, c.lab.Name)
	fmt.Fprintf(&top, "log %s all;\nrouter id %v;\n", quote(logFile), r.RouterID)
	c.p("protocol device { }")
	for _, f := range []topo.Family{topo.IPv4, topo.IPv6} {
		ch := channel(f)
		// The BGP routes go to the kernel; the prefixes the router
		// originates (static blackholes) do not.
		c.p("protocol kernel kernel%s { %s { import none; export where source = RTS_BGP; }; }", fam(f), ch)
		var routes []string
		for _, o := range r.Originate {
			if topo.FamilyOf(o.Prefix.Addr()) == f {
				routes = append(routes, fmt.Sprintf("route %v blackhole;", o.Prefix))
			}
		}
		if len(routes) > 0 {
			c.p("protocol static static%s { %s; %s }", fam(f), ch, strings.Join(routes, " "))
		}
	}
	for _, s := range c.lab.Sessions {
		local, peer, ok := s.End(r)
		if !ok {
			continue
		}
		c.session(s, local, peer)
	}
	return top.String() + c.defs.String() + c.body.String()
}

func fam(f topo.Family) string {
	if f == topo.IPv4 {
		return "4"
	}
	return "6"
}

func channel(f topo.Family) string {
	if f == topo.IPv4 {
		return "ipv4"
	}
	return "ipv6"
}

// quote writes s as a BIRD string.
func quote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

// symbol makes a BIRD symbol of a name: letters, digits and underscores.
func symbol(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			return r
		}
		return '_'
	}, s)
}

// session writes the BGP protocol of one session (eBGP: Check refuses
// iBGP for BIRD).
func (c *birdConf) session(s *topo.Session, local, peer topo.SessionEnd) {
	r := c.r
	e := local.BGP
	peerAS := peer.Router.AS.Number
	if e != nil && e.RemoteAS != 0 {
		peerAS = e.RemoteAS
	}
	name := "bgp_" + symbol(peer.Router.Name) + "_v" + fam(s.Family)
	base := name
	for i := 2; c.protos[name]; i++ {
		name = fmt.Sprintf("%s_%d", base, i)
	}
	c.protos[name] = true
	c.p("protocol bgp %s {", name)
	c.p("  description %s;", quote(peer.Router.Name+" (eBGP)"))
	c.p("  local %v as %d;", local.Addr, r.AS.Number)
	c.p("  neighbor %v as %d;", peer.Addr, peerAS)
	b := r.BGP
	if b.Hold == 0 {
		// No hold timer, no keepalives: BIRD derives them from the hold
		// time, and refuses a keepalive time of 0.
		c.p("  hold time 0; connect retry time %d;", int(b.ConnectRetry.Seconds()))
	} else {
		c.p("  hold time %d; keepalive time %d; connect retry time %d;", int(b.Hold.Seconds()), int(b.Keepalive.Seconds()), int(b.ConnectRetry.Seconds()))
	}
	// As the lab's speaker: a second after an error, doubling up to a
	// minute (BIRD's default starts at a minute).
	c.p("  error wait time 1, 60;")
	if !b.CompareRouterID {
		// The lab's speaker and FRR keep the older of two external paths
		// unless told to compare router IDs; BIRD compares them unless
		// told to prefer the older.
		c.p("  prefer older on;")
	}
	pw := s.Password
	if e != nil {
		pw = e.Password
	}
	if pw != "" {
		c.p("  password %s;", quote(pw))
	}
	var limit string
	if e != nil {
		if e.Passive {
			c.p("  passive on;")
		}
		if e.Shutdown {
			c.p("  disabled on;")
		}
		if e.AllowASIn > 0 {
			c.p("  allow local as %d;", e.AllowASIn)
		}
		if e.MaxPrefix > 0 {
			action := "disable"
			if e.MaxPrefixWarningOnly {
				action = "warn"
			}
			limit = fmt.Sprintf(" import limit %d action %s;", e.MaxPrefix, action)
		}
	}
	c.p("  %s {%s", channel(s.Family), limit)
	c.p("    import filter {")
	c.importFilter(s, e, peerAS)
	c.p("      accept;")
	c.p("    };")
	c.p("    export filter {")
	c.exportFilter(s, e, peerAS)
	c.p("      accept;")
	c.p("    };")
	c.p("  };")
	c.p("}")
}

// importFilter writes the import chain of lab/speakerconf: the end's
// local-pref, the relation's policy, the end's named policy.
func (c *birdConf) importFilter(s *topo.Session, e *topo.EndBGP, peerAS uint32) {
	if e != nil && e.LocalPref != nil {
		c.p("      bgp_local_pref = %d;", *e.LocalPref)
	}
	if role := s.PeerRole(c.r); role != topo.RoleNone {
		c.p("      # relation: from a %s", role)
		c.p("      bgp_local_pref = %d;", c.lab.RelationLocalPref.Of(role))
		c.p("      bgp_large_community.delete(%s);", c.tagSet())
		t, _ := role.Tag(c.r.AS.Number)
		c.p("      bgp_large_community.add(%s);", lc(t))
	}
	if e != nil && e.PolicyIn != nil {
		c.policy(e.PolicyIn, s.Family, peerAS)
	}
}

// exportFilter writes the export chain: the router's prefixes get their
// attributes (IGP origin, MED 0 or the one written, communities), then the
// relation's policy, the end's named policy, its MED and prepending, and
// our relation tags go.
func (c *birdConf) exportFilter(s *topo.Session, e *topo.EndBGP, peerAS uint32) {
	c.p("      if source != RTS_BGP && source != RTS_STATIC then reject;")
	c.p("      if source = RTS_STATIC then {")
	c.p("        bgp_origin = ORIGIN_IGP;")
	c.p("        bgp_med = 0;")
	for _, o := range c.r.Originate {
		if topo.FamilyOf(o.Prefix.Addr()) != s.Family || (!o.HasMED && len(o.Communities) == 0 && len(o.LargeCommunities) == 0) {
			continue
		}
		var sets []string
		if o.HasMED {
			sets = append(sets, fmt.Sprintf("bgp_med = %d;", o.MED))
		}
		for _, v := range o.Communities {
			sets = append(sets, fmt.Sprintf("bgp_community.add(%s);", cm(v)))
		}
		for _, v := range o.LargeCommunities {
			sets = append(sets, fmt.Sprintf("bgp_large_community.add(%s);", lc(v)))
		}
		c.p("        if net = %v then { %s }", o.Prefix, strings.Join(sets, " "))
	}
	c.p("      }")
	if role := s.PeerRole(c.r); role != topo.RoleNone {
		leak := e != nil && e.Leak
		c.p("      # relation: to a %s", role)
		if role != topo.RoleCustomer && !leak {
			var tags []string
			for _, x := range []topo.Role{topo.RolePeer, topo.RoleProvider} {
				t, _ := x.Tag(c.r.AS.Number)
				tags = append(tags, lc(t))
			}
			c.p("      if bgp_large_community ~ [%s] then reject;", strings.Join(tags, ", "))
		}
	}
	if e != nil && e.PolicyOut != nil {
		c.policy(e.PolicyOut, s.Family, peerAS)
	}
	if e != nil {
		if e.MED != nil {
			c.p("      bgp_med = %d;", *e.MED)
		}
		var pre []uint32
		for range e.Prepend.Count {
			pre = append(pre, c.r.AS.Number)
		}
		pre = append(pre, e.Prepend.ASNs...)
		c.prepend("      ", pre)
	}
	c.p("      bgp_large_community.delete(%s);", c.tagSet())
}

// prepend writes the statements that put asns in front of the AS_PATH,
// in their order.
func (c *birdConf) prepend(indent string, asns []uint32) {
	for i := len(asns) - 1; i >= 0; i-- {
		c.p("%sbgp_path.prepend(%d);", indent, asns[i])
	}
}

// tagSet is the set of the router's relation tags.
func (c *birdConf) tagSet() string {
	var tags []string
	for _, x := range []topo.Role{topo.RoleCustomer, topo.RolePeer, topo.RoleProvider} {
		t, _ := x.Tag(c.r.AS.Number)
		tags = append(tags, lc(t))
	}
	return "[" + strings.Join(tags, ", ") + "]"
}

func cm(v uint32) string    { return fmt.Sprintf("(%d, %d)", v>>16, v&0xffff) }
func lc(v [3]uint32) string { return fmt.Sprintf("(%d, %d, %d)", v[0], v[1], v[2]) }

// policy writes a topology policy inline, as a chain of if ... else if:
// the first entry whose match holds decides; a deny entry, or no entry,
// rejects the route. The neighbour's AS and the family are known here,
// so entries matching another AS are left out, and the prefix lists are
// tested on the family's entries only.
func (c *birdConf) policy(p *topo.Policy, f topo.Family, peerAS uint32) {
	c.p("      # policy %s", p.Name)
	open := 0
	for _, e := range p.Entries {
		m := e.Match
		if m.NeighborAS != 0 && m.NeighborAS != peerAS {
			continue
		}
		var conds []string
		if m.Prefix != nil {
			conds = append(conds, c.prefixFunc(m.Prefix, f)+"()")
		}
		if m.Community != nil {
			conds = append(conds, c.communityFunc(m.Community)+"()")
		}
		if m.Origin != nil {
			conds = append(conds, "bgp_origin = "+birdOrigin(*m.Origin))
		}
		cond := "true"
		if len(conds) > 0 {
			cond = strings.Join(conds, " && ")
		}
		indent := strings.Repeat("  ", open+3)
		if e.Deny {
			c.p("%sif %s then reject; else {", indent, cond)
		} else {
			c.p("%sif %s then {", indent, cond)
			c.sets(indent+"  ", &e.Set)
			c.p("%s} else {", indent)
		}
		open++
	}
	c.p("%sreject;", strings.Repeat("  ", open+3))
	for i := open; i > 0; i-- {
		c.p("%s}", strings.Repeat("  ", i+2))
	}
}

func birdOrigin(o uint8) string {
	switch o {
	case topo.OriginIGP:
		return "ORIGIN_IGP"
	case topo.OriginEGP:
		return "ORIGIN_EGP"
	}
	return "ORIGIN_INCOMPLETE"
}

// sets writes a permitting entry's set clauses, in the lab speaker's
// order (policy.setOps.apply): attributes, prepending, then per kind of
// community replace, delete, add.
func (c *birdConf) sets(indent string, s *topo.PolicySet) {
	if s.LocalPref != nil {
		c.p("%sbgp_local_pref = %d;", indent, *s.LocalPref)
	}
	if s.MED != nil {
		c.p("%sbgp_med = %d;", indent, *s.MED)
	}
	if s.Origin != nil {
		c.p("%sbgp_origin = %s;", indent, birdOrigin(*s.Origin))
	}
	switch p := s.Prepend; {
	case p.Count > 0:
		var pre []uint32
		for range p.Count {
			pre = append(pre, c.r.AS.Number)
		}
		c.prepend(indent, pre)
	case len(p.ASNs) > 0:
		c.prepend(indent, p.ASNs)
	}
	cs := s.Community
	if cs.Replace {
		c.p("%sbgp_community = -empty-;", indent)
		for _, v := range cs.Set {
			c.p("%sbgp_community.add(%s);", indent, cm(v))
		}
	} else {
		del := append([]uint32(nil), cs.Delete...)
		if l := cs.DeleteList; l != nil {
			del = append(del, permitted(l)...)
		}
		if len(del) > 0 {
			var vs []string
			for _, v := range del {
				vs = append(vs, cm(v))
			}
			c.p("%sbgp_community.delete([%s]);", indent, strings.Join(vs, ", "))
		}
		for _, v := range cs.Add {
			c.p("%sbgp_community.add(%s);", indent, cm(v))
		}
	}
	ls := s.LargeCommunity
	if ls.Replace {
		c.p("%sbgp_large_community = -empty-;", indent)
		for _, v := range ls.Set {
			c.p("%sbgp_large_community.add(%s);", indent, lc(v))
		}
	} else {
		var vs []string
		for _, v := range ls.Delete {
			vs = append(vs, lc(v))
		}
		if l := ls.DeleteList; l != nil {
			for _, e := range l.Entries {
				if e.IsLarge && !firstEntry(l, e).Deny {
					vs = append(vs, lc(e.Large))
				}
			}
		}
		if len(vs) > 0 {
			c.p("%sbgp_large_community.delete([%s]);", indent, strings.Join(vs, ", "))
		}
		for _, v := range ls.Add {
			c.p("%sbgp_large_community.add(%s);", indent, lc(v))
		}
	}
}

// permitted returns the RFC 1997 communities of a list that its first
// matching entry permits: those a `delete` of the list removes.
func permitted(l *topo.CommunityList) []uint32 {
	var out []uint32
	for _, e := range l.Entries {
		if !e.IsLarge && !firstEntry(l, e).Deny {
			out = append(out, e.Community)
		}
	}
	return out
}

// firstEntry returns the first entry of l with the community of e.
func firstEntry(l *topo.CommunityList, e topo.CommunityEntry) topo.CommunityEntry {
	for _, x := range l.Entries {
		if x.IsLarge == e.IsLarge && x.Community == e.Community && x.Large == e.Large {
			return x
		}
	}
	return e
}

// prefixFunc writes the function that tells whether the route's prefix
// is permitted by list l (of family f's entries: first match decides, no
// match denies) and returns its name.
func (c *birdConf) prefixFunc(l *topo.PrefixList, f topo.Family) string {
	name := "prefix_" + symbol(l.Name) + "_v" + fam(f)
	if c.funcs[name] {
		return name
	}
	c.funcs[name] = true
	c.def("function %s() {", name)
	for _, e := range l.Entries {
		if topo.FamilyOf(e.Prefix.Addr()) != f {
			continue
		}
		c.def("  if net ~ [%v{%d,%d}] then return %v;", e.Prefix, max(e.Min, e.Prefix.Bits()), e.Max, !e.Deny)
	}
	c.def("  return false;\n}")
	return name
}

// communityFunc writes the function that tells whether community list l
// permits the route (the first entry whose community the route carries
// decides; none denies) and returns its name.
func (c *birdConf) communityFunc(l *topo.CommunityList) string {
	name := "community_" + symbol(l.Name)
	if c.funcs[name] {
		return name
	}
	c.funcs[name] = true
	c.def("function %s() {", name)
	for _, e := range l.Entries {
		if e.IsLarge {
			c.def("  if %s ~ bgp_large_community then return %v;", lc(e.Large), !e.Deny)
		} else {
			c.def("  if %s ~ bgp_community then return %v;", cm(e.Community), !e.Deny)
		}
	}
	c.def("  return false;\n}")
	return name
}
