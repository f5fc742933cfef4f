package topo

import (
	"fmt"
	"slices"
)

// ShapeDiff lists how the nodes and links of two labs differ: routers,
// hosts, their ASes, router IDs, interfaces, addresses, loopbacks, links
// and their costs, and the BGP sessions they make. What it does not
// compare (timers, policies, relations, a link end's settings, originated
// prefixes, route reflection options) is what `lab apply` may change on
// a running lab; a lab whose shape changed must be started again. Empty
// when the shapes are the same.
func ShapeDiff(old, new *Lab) []string {
	var out []string
	add := func(format string, args ...any) { out = append(out, fmt.Sprintf(format, args...)) }
	names := func(ns []*Node) []string {
		var s []string
		for _, n := range ns {
			s = append(s, n.Name)
		}
		return s
	}
	if a, b := names(old.Nodes()), names(new.Nodes()); !slices.Equal(a, b) {
		add("the nodes changed: %v to %v", a, b)
		return out
	}
	for i, r := range old.Routers {
		n := new.Routers[i]
		switch {
		case r.AS.Number != n.AS.Number:
			add("router %s: AS %d to %d", r.Name, r.AS.Number, n.AS.Number)
		case r.RouterID != n.RouterID:
			add("router %s: router-id %v to %v", r.Name, r.RouterID, n.RouterID)
		case r.External != n.External:
			add("router %s: external %v to %v", r.Name, r.External, n.External)
		case r.Daemon != n.Daemon:
			add("router %s: kind %s to %s", r.Name, r.Daemon, n.Daemon)
		case !slices.Equal(r.Loopbacks, n.Loopbacks):
			add("router %s: loopbacks %v to %v", r.Name, r.Loopbacks, n.Loopbacks)
		}
	}
	for i, h := range old.Hosts {
		if n := new.Hosts[i]; h.Router.Name != n.Router.Name {
			add("host %s: router %s to %s", h.Name, h.Router.Name, n.Router.Name)
		}
	}
	for i, a := range old.Nodes() {
		b := new.Nodes()[i]
		if len(a.Interfaces) != len(b.Interfaces) {
			add("node %s: %d interfaces to %d", a.Name, len(a.Interfaces), len(b.Interfaces))
			continue
		}
		for j, x := range a.Interfaces {
			y := b.Interfaces[j]
			if x.Name != y.Name || !slices.Equal(x.Addrs, y.Addrs) {
				add("interface %s: %v to %s %v", x.Name, x.Addrs, y.Name, y.Addrs)
			}
		}
	}
	if len(old.Links) != len(new.Links) {
		add("%d links to %d", len(old.Links), len(new.Links))
	} else {
		for i, k := range old.Links {
			n := new.Links[i]
			switch {
			case k.String() != n.String():
				add("link %d: %s to %s", i+1, k, n)
			case k.Cost != n.Cost:
				add("link %s: cost %d to %d (the underlay's paths)", k, k.Cost, n.Cost)
			}
		}
	}
	sess := func(l *Lab) []string {
		var s []string
		for _, x := range l.Sessions {
			s = append(s, fmt.Sprintf("%s %v-%v", x.Family, x.A.Addr, x.B.Addr))
		}
		return s
	}
	if a, b := sess(old), sess(new); !slices.Equal(a, b) {
		add("the BGP sessions changed (an AS's ibgp mode, route reflectors?): %d sessions to %d", len(a), len(b))
	}
	return out
}
