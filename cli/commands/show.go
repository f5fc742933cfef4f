package commands

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"lab/cli/grammar"
	"lab/speaker"
	"lab/speaker/wire"
)

// Router is a router's embedded speaker, as the shell uses it.
type Router = *speaker.Speaker

// routerHandler runs a command of one router's speaker.
type routerHandler func(ctx context.Context, name string, sp Router, a grammar.Args, o *output) error

// routerCmd finds the speaker of the command's ROUTER.
func routerCmd(h routerHandler) handler {
	return func(ctx context.Context, e *Env, a grammar.Args, o *output) error {
		name := a.Text("router")
		sp, ok := e.Routers[name]
		if !ok {
			return fmt.Errorf("%s is not a router running the lab's speaker", name)
		}
		return h(ctx, name, sp, a, o)
	}
}

// bgpFamily reads `show [ip|ipv6] bgp [ipv4|ipv6]`: the family named
// last, and false when none is.
func bgpFamily(a grammar.Args) (wire.Family, bool) {
	w := a.Text("family")
	if w == "" {
		w = a.Text("afi")
	}
	switch w {
	case "ipv6":
		return wire.IPv6Unicast, true
	case "ip", "ipv4":
		return wire.IPv4Unicast, true
	}
	return wire.Family{}, false
}

// showTable is `show bgp [ipv4|ipv6]`: IPv6 unless IPv4 is asked for (FRR's
// `show bgp` alone is IPv6 in recent versions, `show ip bgp` IPv4).
func showTable(ctx context.Context, name string, sp Router, a grammar.Args, o *output) error {
	fam, ok := bgpFamily(a)
	if !ok {
		fam = wire.IPv6Unicast
	}
	t, err := sp.Table(ctx, fam)
	if err != nil {
		return err
	}
	o.result(tableJSON(t, name))
	if !o.json {
		writeTable(o, t)
	}
	return nil
}

// showSummary is `show bgp [FAMILY] summary`: every family with sessions
// when none is named.
func showSummary(ctx context.Context, _ string, sp Router, a grammar.Args, o *output) error {
	fam, one := bgpFamily(a)
	fams := []wire.Family{fam}
	if !one {
		fams = []wire.Family{wire.IPv4Unicast, wire.IPv6Unicast}
	}
	var res []*speaker.Summary
	shown := 0
	for _, f := range fams {
		s, err := sp.Summary(ctx, f)
		if err != nil {
			return err
		}
		if !one && len(s.Peers) == 0 {
			continue
		}
		res = append(res, s)
		if shown > 0 {
			o.printf("\n")
		}
		shown++
		if !o.json {
			writeSummary(o, s)
		}
	}
	if shown == 0 {
		o.printf("%% No BGP neighbors found\n")
	}
	if o.json {
		snap, err := sp.Neighbors(ctx)
		if err != nil {
			return err
		}
		o.result(summariesJSON(res, snap, time.Now()))
	}
	return nil
}

// showNeighbors is `show bgp neighbors [ADDR]`.
func showNeighbors(ctx context.Context, name string, sp Router, a grammar.Args, o *output) error {
	if a.Has("view") {
		return showNeighborRoutes(ctx, name, sp, a, o)
	}
	snap, err := sp.Neighbors(ctx)
	if err != nil {
		return err
	}
	peers := snap.Peers
	if a.Has("addr") {
		n := snap.Neighbor(a.Addr("addr"))
		if n == nil {
			return fmt.Errorf("%% No such neighbor %s", a.Addr("addr"))
		}
		peers = []speaker.Neighbor{*n}
	}
	o.result(neighborsJSON(peers, snap.RouterID, time.Now()))
	for i := range peers {
		if !o.json {
			writeNeighbor(o, &peers[i])
		}
	}
	return nil
}

// showRoute is `show bgp [FAMILY] PREFIX`: one prefix, every path. A
// prefix not in the table is an error, but for JSON: `{}`, as FRR says
// it.
func showRoute(ctx context.Context, name string, sp Router, a grammar.Args, o *output) error {
	rt, err := sp.Route(ctx, a.Prefix("prefix"))
	if err != nil {
		return err
	}
	if rt == nil || len(rt.Paths) == 0 {
		if o.json {
			o.result(bgpRouteJSON{})
			return nil
		}
		return fmt.Errorf("%% Network not in table")
	}
	o.result(routeJSON(rt, name, sp.Config().RouterID))
	if !o.json {
		writeRoute(o, rt)
	}
	return nil
}

// showLog is `show log`.
func showLog(_ context.Context, _ string, sp Router, _ grammar.Args, o *output) error {
	lines := sp.LogLines()
	for _, l := range lines {
		o.printf("%s\n", l)
	}
	o.result(lines)
	return nil
}

// withdraw is `withdraw PREFIX`.
func withdraw(ctx context.Context, name string, sp Router, a grammar.Args, o *output) error {
	if a.Has("api") {
		return exabgpCmd(ctx, name, sp, "withdraw", a, o)
	}
	p := a.Prefix("prefix").Masked()
	if err := sp.Withdraw(p); err != nil {
		return err
	}
	o.printf("*** %s withdraws %s\n", name, p)
	o.result(map[string]string{"withdrawn": p.String()})
	return nil
}

// familyTitle is the heading Quagga prints above a family's summary.
func familyTitle(f string) string {
	switch f {
	case wire.IPv4Unicast.String():
		return "IPv4 Unicast"
	case wire.IPv6Unicast.String():
		return "IPv6 Unicast"
	}
	return f
}

// writeSummary lays the summary out as the seed's `sh bgp summary`.
func writeSummary(o *output, s *speaker.Summary) {
	title := familyTitle(s.Family) + " Summary:"
	o.printf("%s\n%s\n", title, strings.Repeat("-", len(title)))
	o.printf("BGP router identifier %s, local AS number %d\n", s.RouterID, s.AS)
	o.printf("RIB entries %d, %d prefixes\n", s.RIBEntries, s.Prefixes)
	o.printf("Peers %d\n\n", len(s.Peers))
	o.printf("Neighbor        V         AS MsgRcvd MsgSent   TblVer  InQ OutQ Up/Down  State/PfxRcd\n")
	for _, p := range s.Peers {
		addr := p.Addr.String()
		if len(addr) > 15 {
			o.printf("%s\n%16s", addr, "")
		} else {
			o.printf("%-15s ", addr)
		}
		o.printf("%d %5d %7d %7d %8d %4d %4d %8s", p.Version, p.AS, p.MsgRcvd, p.MsgSent, p.TblVer, p.InQ, p.OutQ, upDown(p.UpDown, p.State, p.MsgRcvd+p.MsgSent))
		if p.State == speaker.Established {
			o.printf(" %8d\n", p.PfxRcd)
		} else {
			o.printf(" %s\n", p.State)
		}
	}
	o.printf("\nTotal number of neighbors %d\n\n", len(s.Peers))
	o.printf("Total num. Established sessions %d\n", s.Established)
	o.printf("Total num. of routes received     %d\n", s.RoutesReceived)
}

// upDown renders a duration as Quagga's peer_uptime does: hh:mm:ss under
// a day, then 1d02h03m, then 01w2d03h; "never" for a session that never
// exchanged anything.
func upDown(d time.Duration, st speaker.State, msgs uint64) string {
	if d == 0 && msgs == 0 && st != speaker.Established {
		return "never"
	}
	s := int64(d / time.Second)
	const day, week = 86400, 7 * 86400
	switch {
	case s < day:
		return fmt.Sprintf("%02d:%02d:%02d", s/3600, s/60%60, s%60)
	case s < week:
		return fmt.Sprintf("%dd%02dh%02dm", s/day, s/3600%24, s/60%60)
	default:
		return fmt.Sprintf("%02dw%dd%02dh", s/week, s/day%7, s/3600%24)
	}
}

// writeTable lays a table out as the seed's `show ipv6 bgp`.
func writeTable(o *output, t *speaker.Table) {
	o.printf("BGP table version is %d, local router ID is %s\n", t.TableVersion, t.RouterID)
	o.printf("Status codes: s suppressed, d damped, h history, * valid, > best, = multipath,\n")
	o.printf("              i internal, r RIB-failure, S Stale, R Removed\n")
	o.printf("Origin codes: i - IGP, e - EGP, ? - incomplete\n\n")
	o.printf("   Network          Next Hop            Metric LocPrf Weight Path\n")
	paths := 0
	for _, rt := range t.Routes {
		for i, p := range rt.Paths {
			paths++
			status := []byte("   ")
			if p.Valid {
				status[0] = '*'
			}
			if p.Best {
				status[1] = '>'
			}
			if p.Internal {
				status[2] = 'i'
			}
			o.printf("%s", status)
			if i == 0 {
				n := rt.Prefix.String()
				if len(n) > 16 {
					o.printf("%s\n%20s", n, "")
				} else {
					o.printf("%-17s", n)
				}
			} else {
				o.printf("%17s", "")
			}
			nh := p.NextHop.String()
			if len(nh) > 16 {
				o.printf("%s\n%36s", nh, "")
			} else {
				o.printf("%-16s", nh)
			}
			if p.HasMetric {
				o.printf("%10d", p.Metric)
			} else {
				o.printf("%10s", "")
			}
			if p.HasLocPrf {
				o.printf("%7d", p.LocPrf)
			} else {
				o.printf("%7s", "")
			}
			o.printf("%7d ", p.Weight)
			if p.ASPath != "" {
				o.printf("%s ", p.ASPath)
			}
			o.printf("%s\n", originCode(p.Origin))
		}
	}
	o.printf("\nDisplayed  %d out of %d total prefixes\n", len(t.Routes), paths)
}

func originCode(origin string) string {
	switch strings.ToLower(origin) {
	case "igp", "i":
		return "i"
	case "egp", "e":
		return "e"
	}
	return "?"
}

func originName(origin string) string {
	switch originCode(origin) {
	case "i":
		return "IGP"
	case "e":
		return "EGP"
	}
	return "incomplete"
}

// writeRoute lays one prefix out as FRR's `show bgp ipv6 PREFIX`.
func writeRoute(o *output, rt *speaker.Route) {
	o.printf("BGP routing table entry for %s\n", rt.Prefix)
	best := 0
	for i, p := range rt.Paths {
		if p.Best {
			best = i + 1
		}
	}
	if best > 0 {
		o.printf("Paths: (%d available, best #%d, table default)\n", len(rt.Paths), best)
	} else {
		o.printf("Paths: (%d available, no best path)\n", len(rt.Paths))
	}
	for _, p := range rt.Paths {
		path := p.ASPath
		if path == "" {
			path = "Local"
		}
		o.printf("  %s\n", path)
		switch {
		case p.Local:
			o.printf("    %s from 0.0.0.0 (%s)\n", p.NextHop, p.PeerRouterID)
		default:
			// FRR shows the IGP cost to the next hop (the nearest-exit
			// step of the decision) when there is one.
			metric := ""
			if p.IGPMetric > 0 {
				metric = fmt.Sprintf(" (metric %d)", p.IGPMetric)
			}
			o.printf("    %s%s from %s (%s)\n", p.NextHop, metric, p.Peer, p.PeerRouterID)
			if p.LinkLocal.IsValid() {
				o.printf("    (%s)\n", p.LinkLocal)
			}
		}
		var attrs []string
		attrs = append(attrs, "Origin "+originName(p.Origin))
		if p.HasMetric {
			attrs = append(attrs, fmt.Sprintf("metric %d", p.Metric))
		}
		if p.HasLocPrf {
			attrs = append(attrs, fmt.Sprintf("localpref %d", p.LocPrf))
		}
		attrs = append(attrs, fmt.Sprintf("weight %d", p.Weight))
		if p.Valid {
			attrs = append(attrs, "valid")
		} else {
			attrs = append(attrs, "invalid (next hop unreachable)")
		}
		switch {
		case p.Local:
			attrs = append(attrs, "sourced, local")
		case p.Internal:
			attrs = append(attrs, "internal")
		default:
			attrs = append(attrs, "external")
		}
		if p.Best {
			b := "best"
			if p.SelectionReason != "" {
				b += " (" + p.SelectionReason + ")"
			}
			attrs = append(attrs, b)
		}
		o.printf("      %s\n", strings.Join(attrs, ", "))
		if len(p.Communities) > 0 {
			o.printf("      Community: %s\n", strings.Join(p.Communities, " "))
		}
		if len(p.LargeCommunities) > 0 {
			o.printf("      Large Community: %s\n", strings.Join(p.LargeCommunities, " "))
		}
		// Route reflection's attributes (RFC 4456), on FRR's line.
		var rr []string
		if p.OriginatorID.IsValid() {
			rr = append(rr, "Originator: "+p.OriginatorID.String())
		}
		if len(p.ClusterList) > 0 {
			var cs []string
			for _, c := range p.ClusterList {
				cs = append(cs, c.String())
			}
			rr = append(rr, "Cluster list: "+strings.Join(cs, " "))
		}
		if len(rr) > 0 {
			o.printf("      %s\n", strings.Join(rr, ", "))
		}
		for _, pol := range p.Policy {
			o.printf("      Policy: %s\n", pol)
		}
		if !p.LastUpdate.IsZero() {
			o.printf("      Last update: %s\n", p.LastUpdate.Format(time.ANSIC))
		}
	}
}

// writeNeighbor lays a neighbour out as the seed's `show bgp neighbors`.
func writeNeighbor(o *output, n *speaker.Neighbor) {
	link := "external link"
	if !n.External {
		link = "internal link"
	}
	o.printf("BGP neighbor is %s, remote AS %d, local AS %d, %s\n", n.Addr, n.RemoteAS, n.LocalAS, link)
	if n.Description != "" {
		o.printf(" Description: %s\n", n.Description)
	}
	rid := "0.0.0.0"
	if n.RemoteRouterID.IsValid() {
		rid = n.RemoteRouterID.String()
	}
	o.printf("  BGP version 4, remote router ID %s\n", rid)
	state := fmt.Sprintf("  BGP state = %s", n.State)
	if n.State == speaker.Established {
		state += ", up for " + upDown(n.Uptime, n.State, 1)
	}
	if n.AdminDown {
		state += " (Admin. shutdown)"
	}
	o.printf("%s\n", state)
	lastRead := "never"
	if n.LastRead > 0 {
		lastRead = upDown(n.LastRead, speaker.Established, 1)
	}
	o.printf("  Last read %s, hold time is %d, keepalive interval is %d seconds\n", lastRead, int(n.HoldTime.Seconds()), int(n.Keepalive.Seconds()))
	if len(n.Capabilities) > 0 {
		o.printf("  Neighbor capabilities:\n")
		for _, c := range n.Capabilities {
			var how []string
			if c.Advertised {
				how = append(how, "advertised")
			}
			if c.Received {
				how = append(how, "received")
			}
			if len(how) == 0 {
				continue
			}
			o.printf("    %s: %s\n", c.Name, strings.Join(how, " and "))
		}
		if n.PeerRestartTime >= 0 {
			o.printf("      Remote Restart timer is %d seconds\n", n.PeerRestartTime)
		}
	}
	o.printf("  Graceful restart informations:\n")
	o.printf("    End-of-RIB send: %s\n", strings.Join(n.EndOfRIBSent, ", "))
	o.printf("    End-of-RIB received: %s\n", strings.Join(n.EndOfRIBReceived, ", "))
	o.printf("  Message statistics:\n")
	o.printf("    Inq depth is %d\n", n.InQ)
	o.printf("    Outq depth is %d\n", n.OutQ)
	o.printf("                         Sent       Rcvd\n")
	row := func(name string, s, r uint64) { o.printf("    %-18s %7d %10d\n", name+":", s, r) }
	row("Opens", n.Sent.Opens, n.Rcvd.Opens)
	row("Notifications", n.Sent.Notifications, n.Rcvd.Notifications)
	row("Updates", n.Sent.Updates, n.Rcvd.Updates)
	row("Keepalives", n.Sent.Keepalives, n.Rcvd.Keepalives)
	row("Route Refresh", n.Sent.RouteRefresh, n.Rcvd.RouteRefresh)
	row("Capability", n.Sent.Capability, n.Rcvd.Capability)
	row("Total", n.Sent.Total, n.Rcvd.Total)
	for _, f := range n.Families {
		o.printf("\n For address family: %s\n", familyTitle(f.Family))
		if n.External {
			o.printf("  NEXT_HOP is always this router\n")
		}
		o.printf("  %d accepted prefixes\n", f.AcceptedPrefixes)
	}
	o.printf("\n  Connections established %d; dropped %d\n", n.ConnectionsEstablished, n.ConnectionsDropped)
	if n.LastReset == "" || n.LastReset == "never" {
		o.printf("  Last reset never\n")
	} else {
		o.printf("  Last reset %s, due to %s\n", upDown(n.LastResetAgo, speaker.Established, 1), n.LastReset)
	}
	if n.LastNotification != "" {
		o.printf("  Last NOTIFICATION: %s\n", n.LastNotification)
	}
	if n.LocalHost.IsValid() {
		o.printf("Local host: %s, Local port: %d\n", n.LocalHost.Addr(), n.LocalHost.Port())
		o.printf("Foreign host: %s, Foreign port: %d\n", n.ForeignHost.Addr(), n.ForeignHost.Port())
	}
	if n.NextHop.IsValid() {
		o.printf("Nexthop: %s\n", n.NextHop)
	}
	if n.NextHopGlobal.IsValid() {
		o.printf("Nexthop global: %s\n", n.NextHopGlobal)
	}
	if n.NextHopLocal.IsValid() {
		o.printf("Nexthop local: %s\n", n.NextHopLocal)
	}
	o.printf("\n")
}

// showMessages prints a peer's message trace (every peer's when no
// address is given); `follow` streams new messages until the client goes.
func showMessages(ctx context.Context, _ string, sp Router, a grammar.Args, o *output) error {
	follow := a.Has("follow")
	var peers []netip.Addr
	if a.Has("addr") {
		peers = []netip.Addr{a.Addr("addr")}
	} else {
		for _, p := range sp.Config().Peers {
			peers = append(peers, p.PeerAddr)
		}
	}
	var all []speaker.TraceEntry
	for _, a := range peers {
		tr, err := sp.Trace(a)
		if err != nil {
			return err
		}
		all = append(all, tr...)
	}
	sortTrace(all)
	for _, e := range all {
		writeTrace(o, e)
	}
	if !follow {
		o.result(all)
		return nil
	}
	if o.json {
		return errors.New("follow streams text; it has no JSON form")
	}
	chans := make([]<-chan speaker.TraceEntry, 0, len(peers))
	for _, a := range peers {
		ch, stop, err := sp.FollowTrace(a)
		if err != nil {
			return err
		}
		defer stop()
		chans = append(chans, ch)
	}
	merged := make(chan speaker.TraceEntry, 64)
	for _, ch := range chans {
		go func() {
			for e := range ch {
				select {
				case merged <- e:
				case <-ctx.Done():
					return
				}
			}
		}()
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case e := <-merged:
			writeTrace(o, e)
		}
	}
}

func sortTrace(es []speaker.TraceEntry) {
	// Insertion sort: traces are per-peer sorted already and short.
	for i := 1; i < len(es); i++ {
		for j := i; j > 0 && es[j].Time.Before(es[j-1].Time); j-- {
			es[j], es[j-1] = es[j-1], es[j]
		}
	}
}

func writeTrace(o *output, e speaker.TraceEntry) {
	dir := "to"
	if e.Dir == speaker.Received {
		dir = "from"
	}
	o.printf("%s %s %s %s\n", e.Time.Format("15:04:05.000000"), e.Dir, dir, e.Peer)
	if e.Msg != nil {
		for _, l := range strings.Split(strings.TrimRight(wire.Format(e.Msg), "\n"), "\n") {
			o.printf("        %s\n", l)
		}
	}
}

// clearBGP resets sessions: `clear [bgp] ADDR|* [soft]`. A soft clear also
// has the speaker re-read its namespace's kernel table, so next hops made
// reachable by hand (a static route) are seen at once (docs/design.md,
// Next-hop tracking).
func clearBGP(ctx context.Context, _ string, sp Router, a grammar.Args, o *output) error {
	hard := !a.Has("soft")
	var addrs []netip.Addr
	if a.Has("*") {
		for _, p := range sp.Config().Peers {
			addrs = append(addrs, p.PeerAddr)
		}
	} else {
		addrs = []netip.Addr{a.Addr("addr")}
	}
	for _, p := range addrs {
		if err := sp.ResetPeer(p, hard); err != nil {
			return err
		}
	}
	kind := "hard"
	if !hard {
		kind = "soft"
		if err := sp.SyncKernel(ctx); err != nil {
			return err
		}
	}
	o.printf("*** %s reset of %d session(s)\n", kind, len(addrs))
	o.result(map[string]any{"reset": addrs, "hard": hard})
	return nil
}

// announce originates a route: `announce PREFIX [med N] [community A:B ...] [large-community A:B:C ...]`.
func announce(ctx context.Context, name string, sp Router, a grammar.Args, o *output) error {
	if a.Has("api") {
		return exabgpCmd(ctx, name, sp, "announce", a, o)
	}
	og := speaker.Origination{Prefix: a.Prefix("prefix").Masked()}
	og.MED, og.HasMED = a.Uint32("med")
	for _, v := range a.All("community") {
		og.Communities = append(og.Communities, v.V.(uint32))
	}
	for _, v := range a.All("large-community") {
		og.LargeCommunities = append(og.LargeCommunities, v.V.([3]uint32))
	}
	if err := sp.Announce(og); err != nil {
		return err
	}
	o.printf("*** announcing %s\n", og.Prefix)
	o.result(og)
	return nil
}
