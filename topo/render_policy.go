package topo

import (
	"fmt"
	"strings"
)

// writeRouting writes the relation local-prefs (when a link has a
// relation) and every routing object, as WriteText shows them.
func writeRouting(p func(format string, a ...any), l *Lab) {
	for _, k := range l.Links {
		if k.Relation != RelNone {
			lp := l.RelationLocalPref
			p("relation local-pref customer %d peer %d provider %d\n", lp.Customer, lp.Peer, lp.Provider)
			break
		}
	}
	rt := l.Routing
	if rt == nil {
		return
	}
	for _, pl := range rt.PrefixLists {
		p("prefix-list %s\n", pl.Name)
		for _, e := range pl.Entries {
			p("  %s %s", action(e.Deny), e.Prefix)
			if e.Min != e.Prefix.Bits() || e.Max != e.Prefix.Bits() {
				p(" min %d max %d", e.Min, e.Max)
			}
			p("\n")
		}
	}
	for _, al := range rt.ASPathLists {
		p("aspath-list %s\n", al.Name)
		for _, e := range al.Entries {
			p("  %s %q\n", action(e.Deny), e.Path)
		}
	}
	for _, cl := range rt.CommunityLists {
		p("community-list %s\n", cl.Name)
		for _, e := range cl.Entries {
			p("  %s %s\n", action(e.Deny), e.describe())
		}
	}
	for _, pol := range rt.Policies {
		p("policy %s\n", pol.Name)
		for i, e := range pol.Entries {
			p("  %d %s%s\n", i+1, action(e.Deny), e.describe())
		}
	}
}

func action(deny bool) string {
	if deny {
		return "deny"
	}
	return "permit"
}

func (e CommunityEntry) describe() string {
	if e.IsLarge {
		return fmt.Sprintf("large %d:%d:%d", e.Large[0], e.Large[1], e.Large[2])
	}
	return CommunityString(e.Community)
}

func (pp Prepend) describe() string {
	if pp.Count > 0 {
		return fmt.Sprint(pp.Count)
	}
	return fmt.Sprint(pp.ASNs)
}

func largeList(cs [][3]uint32) string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = fmt.Sprintf("%d:%d:%d", c[0], c[1], c[2])
	}
	return "[" + strings.Join(out, " ") + "]"
}

func communityList(cs []uint32) string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = CommunityString(c)
	}
	return "[" + strings.Join(out, " ") + "]"
}

// describe renders a policy entry's match and set, each part prefixed by
// a space.
func (e PolicyEntry) describe() string {
	var b strings.Builder
	w := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	m := e.Match
	if m.Prefix != nil || m.ASPath != nil || m.Community != nil || m.Origin != nil || m.NeighborAS != 0 {
		w(" match")
		if m.Prefix != nil {
			w(" prefix %s", m.Prefix.Name)
		}
		if m.ASPath != nil {
			w(" aspath %s", m.ASPath.Name)
		}
		if m.Community != nil {
			w(" community %s", m.Community.Name)
		}
		if m.Origin != nil {
			w(" origin %s", OriginString(*m.Origin))
		}
		if m.NeighborAS != 0 {
			w(" neighbor-as %d", m.NeighborAS)
		}
	}
	s := e.Set
	var set strings.Builder
	ws := func(format string, a ...any) { fmt.Fprintf(&set, format, a...) }
	if s.LocalPref != nil {
		ws(" local-pref %d", *s.LocalPref)
	}
	if s.MED != nil {
		ws(" med %d", *s.MED)
	}
	if s.Weight != nil {
		ws(" weight %d", *s.Weight)
	}
	if !s.Prepend.IsZero() {
		ws(" prepend %s", s.Prepend.describe())
	}
	if s.Origin != nil {
		ws(" origin %s", OriginString(*s.Origin))
	}
	if c := s.Community; !c.IsZero() {
		ws(" community")
		if c.Replace {
			ws(" set %s", communityList(c.Set))
		}
		if len(c.Delete) > 0 {
			ws(" delete %s", communityList(c.Delete))
		}
		if c.DeleteList != nil {
			ws(" delete %s", c.DeleteList.Name)
		}
		if len(c.Add) > 0 {
			ws(" add %s", communityList(c.Add))
		}
	}
	if c := s.LargeCommunity; !c.IsZero() {
		ws(" large-community")
		if c.Replace {
			ws(" set %s", largeList(c.Set))
		}
		if len(c.Delete) > 0 {
			ws(" delete %s", largeList(c.Delete))
		}
		if c.DeleteList != nil {
			ws(" delete %s", c.DeleteList.Name)
		}
		if len(c.Add) > 0 {
			ws(" add %s", largeList(c.Add))
		}
	}
	if set.Len() > 0 {
		w(" set%s", set.String())
	}
	return b.String()
}

// describe renders the settings of a link end, each prefixed by a space;
// the password only when it is not the link's.
func (e *EndBGP) describe(linkPassword string) string {
	var b strings.Builder
	w := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	if e.LocalPref != nil {
		w(" local-pref %d", *e.LocalPref)
	}
	if e.MED != nil {
		w(" med %d", *e.MED)
	}
	if e.Weight != nil {
		w(" weight %d", *e.Weight)
	}
	if !e.Prepend.IsZero() {
		w(" prepend %s", e.Prepend.describe())
	}
	if e.PolicyIn != nil {
		w(" policy-in %s", e.PolicyIn.Name)
	}
	if e.PolicyOut != nil {
		w(" policy-out %s", e.PolicyOut.Name)
	}
	if e.MaxPrefix != 0 {
		w(" max-prefix %d", e.MaxPrefix)
		if e.MaxPrefixWarningOnly {
			w(" warning-only")
		}
	}
	if e.Passive {
		w(" passive")
	}
	if e.Shutdown {
		w(" shutdown")
		if e.ShutdownMessage != "" {
			w(" %q", e.ShutdownMessage)
		}
	}
	if e.Password != linkPassword {
		w(" password %q", e.Password)
	}
	if e.RemoteAS != 0 {
		w(" remote-as %d", e.RemoteAS)
	}
	if e.DefaultOriginate {
		w(" default-originate")
	}
	if e.AllowASIn != 0 {
		w(" allowas-in %d", e.AllowASIn)
	}
	if e.Leak {
		w(" leak")
	}
	return b.String()
}
