package commands

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"lab/cli/grammar"
	"lab/netemu"
	"lab/speaker"
	"lab/speaker/fib"
	"lab/speaker/policy"
	"lab/speaker/rib"
	"lab/speaker/wire"
)

// unquote takes off one pair of quotes around a whole message: FRR
// takes the words as they are, but a user who writes `message "going
// down"` means the words inside.
func unquote(s string) string {
	if len(s) >= 2 && (s[0] == '"' || s[0] == '\'') && s[len(s)-1] == s[0] {
		return s[1 : len(s)-1]
	}
	return s
}

// neighborCmd is `ROUTER neighbor ADDR shutdown [message TEXT] | enable`.
func neighborCmd(_ context.Context, name string, sp Router, a grammar.Args, o *output) error {
	addr := a.Addr("addr")
	down := a.Has("shutdown")
	msg := unquote(a.Text("message"))
	if err := sp.SetPeerShutdown(addr, down, msg); err != nil {
		return err
	}
	state := "enabled"
	if down {
		state = "shut down"
		if msg != "" {
			state += fmt.Sprintf(" (%q)", msg)
		}
	}
	o.printf("*** %s: neighbor %s %s\n", name, addr, state)
	o.result(map[string]any{"router": name, "neighbor": addr, "shutdown": down, "message": msg})
	return nil
}

// gracefulShutdown is `ROUTER graceful-shutdown on|off`.
func gracefulShutdown(ctx context.Context, name string, sp Router, a grammar.Args, o *output) error {
	on := a.Text("state") == "on"
	if err := sp.SetGracefulShutdown(ctx, on); err != nil {
		return err
	}
	if on {
		o.printf("*** %s drains: eBGP advertisements carry graceful-shutdown, routes from eBGP peers get local-pref 0\n", name)
	} else {
		o.printf("*** %s no longer drains\n", name)
	}
	o.result(map[string]any{"router": name, "graceful-shutdown": on})
	return nil
}

// showNeighborRoutes is `show bgp [FAMILY] neighbors ADDR
// received-routes|advertised-routes|routes`, in the table's layout.
func showNeighborRoutes(ctx context.Context, name string, sp Router, a grammar.Args, o *output) error {
	addr := a.Addr("addr")
	fam, ok := bgpFamily(a)
	if !ok {
		// The neighbour's own family: a lab's sessions carry one each.
		fam = wire.IPv6Unicast
		if addr.Is4() {
			fam = wire.IPv4Unicast
		}
	}
	view := speaker.NeighborView(a.Text("view"))
	t, err := sp.NeighborRoutes(ctx, addr, fam, view)
	if err != nil {
		return err
	}
	o.result(neighborRoutesJSON(t, view, name))
	if !o.json {
		writeNeighborRoutes(o, t)
	}
	return nil
}

// writeNeighborRoutes lays a per-neighbour view out as FRR does: the
// table, then the count, with how many of the routes received the import
// policy refused, "(N filtered)", so that a class sees its filter work
// (the JSON marks each one `denied`).
func writeNeighborRoutes(o *output, t *speaker.Table) {
	writeTable(o, t)
	filtered := 0
	for _, rt := range t.Routes {
		for _, p := range rt.Paths {
			if p.Denied {
				filtered++
			}
		}
	}
	if filtered > 0 {
		o.printf("\nTotal number of prefixes %d (%d filtered)\n", len(t.Routes), filtered)
	} else {
		o.printf("\nTotal number of prefixes %d\n", len(t.Routes))
	}
}

// showRoutingPolicy is `show routing policy [NAME]`: each policy entry by
// entry, as FRR's `show route-map`, with how many routes each decided.
func showRoutingPolicy(_ context.Context, name string, sp Router, a grammar.Args, o *output) error {
	ps := sp.Config().Policies
	want := a.Text("name")
	var infos []policy.Info
	if ps != nil {
		infos = ps.Show(want)
	}
	if want != "" && len(infos) == 0 {
		return fmt.Errorf("%% %s has no policy %q", name, want)
	}
	o.result(policiesJSON(infos))
	if len(infos) == 0 {
		o.printf("%% %s has no routing policy\n", name)
		return nil
	}
	for _, in := range infos {
		o.printf("policy: %s\n", in.Name)
		for i, e := range in.Entries {
			o.printf(" %s, entry %d, hits %d\n", e.Action, i+1, e.Hits)
			if m := matchText(e.Match); len(m) > 0 {
				o.printf("  Match clauses:\n")
				for _, l := range m {
					o.printf("    %s\n", l)
				}
			}
			if s := setText(e.Set); len(s) > 0 {
				o.printf("  Set clauses:\n")
				for _, l := range s {
					o.printf("    %s\n", l)
				}
			}
		}
		o.printf(" no entry matched: %d (denied)\n\n", in.NoMatch)
	}
	return nil
}

func matchText(m policy.Match) []string {
	var out []string
	if m.PrefixList != "" {
		out = append(out, "prefix "+m.PrefixList)
	}
	if m.ASPathList != "" {
		out = append(out, "aspath "+m.ASPathList)
	}
	if m.CommunityList != "" {
		out = append(out, "community "+m.CommunityList)
	}
	if m.Origin != nil {
		out = append(out, "origin "+strings.ToLower(m.Origin.String()))
	}
	if m.NeighborAS != 0 {
		out = append(out, fmt.Sprintf("neighbor-as %d", m.NeighborAS))
	}
	return out
}

func setText(s policy.Set) []string {
	var out []string
	if s.LocalPref != nil {
		out = append(out, fmt.Sprintf("local-pref %d", *s.LocalPref))
	}
	if s.MED != nil {
		out = append(out, fmt.Sprintf("med %d", *s.MED))
	}
	if s.Weight != nil {
		out = append(out, fmt.Sprintf("weight %d", *s.Weight))
	}
	if s.Origin != nil {
		out = append(out, "origin "+strings.ToLower(s.Origin.String()))
	}
	if s.Prepend.Count > 0 {
		out = append(out, fmt.Sprintf("prepend %d", s.Prepend.Count))
	}
	if len(s.Prepend.ASNs) > 0 {
		out = append(out, fmt.Sprintf("prepend %v", s.Prepend.ASNs))
	}
	comm := func(what string, vs []uint32) {
		if len(vs) > 0 {
			var ws []string
			for _, c := range vs {
				ws = append(ws, policy.CommunityString(c))
			}
			out = append(out, what+" "+strings.Join(ws, " "))
		}
	}
	if s.Community.Set != nil {
		comm("community set", s.Community.Set)
		if len(s.Community.Set) == 0 {
			out = append(out, "community set none")
		}
	}
	comm("community add", s.Community.Add)
	comm("community delete", s.Community.Delete)
	if s.Community.DeleteList != "" {
		out = append(out, "community delete "+s.Community.DeleteList)
	}
	large := func(what string, vs []rib.LargeCommunity) {
		if len(vs) > 0 {
			var ws []string
			for _, c := range vs {
				ws = append(ws, c.String())
			}
			out = append(out, what+" "+strings.Join(ws, " "))
		}
	}
	large("large-community set", s.LargeCommunity.Set)
	large("large-community add", s.LargeCommunity.Add)
	large("large-community delete", s.LargeCommunity.Delete)
	if s.LargeCommunity.DeleteList != "" {
		out = append(out, "large-community delete "+s.LargeCommunity.DeleteList)
	}
	return out
}

// KernelRoute is one route of `show ip route`.
type KernelRoute struct {
	// Code is FRR's letter: B BGP, G the lab's IGP underlay, C connected,
	// K any other kernel route.
	Code     string
	Prefix   netip.Prefix
	Via      netip.Addr `json:",omitzero"`
	Dev      string
	Ifindex  int
	Metric   int
	Protocol int
}

// kernelRoutes lists the unicast routes of a node's main table (link-local
// ones aside), sorted by prefix, with FRR's codes.
func (e *Env) kernelRoutes(name string, v6 bool) ([]KernelRoute, error) {
	fam := netlink.FAMILY_V4
	if v6 {
		fam = netlink.FAMILY_V6
	}
	var routes []KernelRoute
	err := e.Net.Do(name, func() error {
		h, err := netlink.NewHandle()
		if err != nil {
			return err
		}
		defer h.Close()
		links, err := h.LinkList()
		if err != nil {
			return err
		}
		names := map[int]string{}
		for _, l := range links {
			names[l.Attrs().Index] = l.Attrs().Name
		}
		rs, err := h.RouteListFiltered(fam, &netlink.Route{Table: unix.RT_TABLE_MAIN}, netlink.RT_FILTER_TABLE)
		if err != nil {
			return err
		}
		for _, r := range rs {
			if r.Type != unix.RTN_UNICAST {
				continue
			}
			// A default route (a host's) comes without a destination.
			pfx := netip.PrefixFrom(netip.IPv4Unspecified(), 0)
			if v6 {
				pfx = netip.PrefixFrom(netip.IPv6Unspecified(), 0)
			}
			if r.Dst != nil {
				ip, _ := netip.AddrFromSlice(r.Dst.IP)
				ones, _ := r.Dst.Mask.Size()
				pfx = netip.PrefixFrom(ip.Unmap(), ones)
			}
			kr := KernelRoute{Prefix: pfx, Dev: names[r.LinkIndex], Ifindex: r.LinkIndex, Metric: r.Priority, Protocol: int(r.Protocol)}
			if gw, ok := netip.AddrFromSlice(r.Gw); ok && r.Gw != nil {
				kr.Via = gw.Unmap()
			}
			switch {
			case int(r.Protocol) == fib.Protocol:
				kr.Code = "B"
			case int(r.Protocol) == netemu.UnderlayProtocol:
				kr.Code = "G"
			case r.Protocol == unix.RTPROT_KERNEL:
				kr.Code = "C"
				if kr.Prefix.Addr().IsLinkLocalUnicast() {
					continue // fe80::/64 on every interface
				}
			default:
				kr.Code = "K"
			}
			routes = append(routes, kr)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(routes, func(x, y KernelRoute) int {
		if c := x.Prefix.Addr().Compare(y.Prefix.Addr()); c != 0 {
			return c
		}
		return x.Prefix.Bits() - y.Prefix.Bits()
	})
	return routes, nil
}

// showKernelRoutes is `show ip|ipv6 route`: the routes of the router's
// kernel table, as FRR's zebra would list them.
func showKernelRoutes(_ context.Context, e *Env, a grammar.Args, o *output) error {
	routes, err := e.kernelRoutes(a.Text("router"), a.Text("afi") == "ipv6")
	if err != nil {
		return err
	}
	o.result(kernelRoutesJSON(routes))
	o.printf("Codes: K - kernel route, C - connected, B - BGP, G - the lab's IGP underlay\n\n")
	for _, r := range routes {
		switch {
		case r.Code == "C":
			o.printf("C>* %s is directly connected, %s\n", r.Prefix, r.Dev)
		case r.Via.IsValid():
			o.printf("%s>* %s [%d] via %s, %s\n", r.Code, r.Prefix, r.Metric, r.Via, r.Dev)
		default:
			o.printf("%s>* %s [%d] dev %s\n", r.Code, r.Prefix, r.Metric, r.Dev)
		}
	}
	return nil
}
