package exabgp

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	"lab/speaker"
	"lab/speaker/wire"
)

// Run does the command on sp, as ExaBGP does it on its neighbours, and
// passes what a show command prints to out, a line at a time (without
// the `done` that ends the answer: the caller acknowledges). Where
// ExaBGP answers `done` to a command that did nothing, Run returns an
// error instead when nothing it names exists (a neighbour, a session up
// for an End-of-RIB); see the package documentation.
func (c *Command) Run(ctx context.Context, sp *speaker.Speaker, out func(string)) error {
	if out == nil {
		out = func(string) {}
	}
	peers, err := c.selected(sp)
	if err != nil {
		return err
	}
	var addrs []netip.Addr
	if len(c.Neighbors) > 0 {
		for _, p := range peers {
			addrs = append(addrs, p.PeerAddr)
		}
	}
	switch c.Kind {
	case Comment:
		return nil
	case AnnounceRoute:
		for _, o := range c.Routes {
			if len(addrs) > 0 && !slices.ContainsFunc(peers, func(p speaker.PeerConfig) bool {
				return slices.Contains(p.AddressFamilies(), famOf(o.Prefix))
			}) {
				return fmt.Errorf("route %v: no selected neighbor carries %s", o.Prefix, familyName(famOf(o.Prefix)))
			}
			o.Peers = addrs
			if err := sp.Announce(o); err != nil {
				return err
			}
		}
		return nil
	case WithdrawRoute:
		for _, o := range c.Routes {
			if err := sp.Withdraw(o.Prefix, addrs...); err != nil {
				return err
			}
		}
		return nil
	case AnnounceEOR, AnnounceRefresh:
		return c.perSession(ctx, sp, peers)
	case Teardown:
		for _, p := range peers {
			// Only Established sessions, as ExaBGP: the others have
			// nothing to tear down.
			if err := sp.TeardownPeer(p.PeerAddr, c.Subcode); err != nil && !errors.Is(err, speaker.ErrNotEstablished) {
				return err
			}
		}
		return nil
	case Shutdown:
		out("shutdown in progress")
		for _, p := range peers {
			if err := sp.SetPeerShutdown(p.PeerAddr, true, ""); err != nil {
				return err
			}
		}
		return nil
	case ShowNeighbor:
		return c.showNeighbor(ctx, sp, peers, out)
	case ShowAdjRIB:
		return c.showAdjRIB(ctx, sp, peers, out)
	}
	return fmt.Errorf("%v: nothing to run", c.Kind)
}

// selected returns the configured neighbours the command's selectors
// (and a show command's filter) name, all of them without selectors.
func (c *Command) selected(sp *speaker.Speaker) ([]speaker.PeerConfig, error) {
	cfg := sp.Config()
	var out []speaker.PeerConfig
	for _, p := range cfg.Peers {
		if c.Filter.IsValid() && p.PeerAddr != c.Filter {
			continue
		}
		if len(c.Neighbors) == 0 || slices.ContainsFunc(c.Neighbors, func(s Selector) bool { return s.matches(&cfg, &p) }) {
			out = append(out, p)
		}
	}
	if len(out) == 0 && (len(c.Neighbors) > 0 || c.Filter.IsValid()) {
		var names []string
		for _, s := range c.Neighbors {
			names = append(names, s.String())
		}
		if c.Filter.IsValid() {
			names = append(names, "neighbor "+c.Filter.String())
		}
		return nil, fmt.Errorf("no neighbor matching %s", strings.Join(names, ", "))
	}
	return out, nil
}

func (s Selector) matches(cfg *speaker.Config, p *speaker.PeerConfig) bool {
	return s.Neighbor == p.PeerAddr &&
		(!s.LocalIP.IsValid() || s.LocalIP == p.LocalAddr) &&
		(s.LocalAS == 0 || s.LocalAS == cfg.AS) &&
		(s.PeerAS == 0 || s.PeerAS == p.PeerAS) &&
		(!s.RouterID.IsValid() || s.RouterID == cfg.RouterID)
}

// perSession sends an End-of-RIB or a ROUTE-REFRESH of the command's
// family on every selected session that is Established and carries it.
func (c *Command) perSession(ctx context.Context, sp *speaker.Speaker, peers []speaker.PeerConfig) error {
	sent := 0
	for _, p := range peers {
		if !slices.Contains(p.AddressFamilies(), c.Family) {
			continue
		}
		var err error
		if c.Kind == AnnounceEOR {
			err = sp.SendEndOfRIB(ctx, p.PeerAddr, c.Family)
		} else {
			err = sp.SendRouteRefresh(p.PeerAddr, c.Family)
		}
		switch {
		case errors.Is(err, speaker.ErrNotEstablished):
		case err != nil:
			return err
		default:
			sent++
		}
	}
	if sent == 0 {
		return fmt.Errorf("%v %s: no Established session carries it", c.Kind, familyName(c.Family))
	}
	return nil
}

// famOf is the family of a prefix.
func famOf(p netip.Prefix) wire.Family {
	if p.Addr().Is4() {
		return wire.IPv4Unicast
	}
	return wire.IPv6Unicast
}

// familyName is ExaBGP's name of a family: "ipv4 unicast".
func familyName(f wire.Family) string { return strings.ToLower(f.String()) }

// duration renders d as Python's timedelta does: "0:00:15", "1 day,
// 2:03:04".
func duration(d time.Duration) string {
	s := int64(d / time.Second)
	days := s / 86400
	s %= 86400
	out := fmt.Sprintf("%d:%02d:%02d", s/3600, s/60%60, s%60)
	switch {
	case days == 1:
		out = "1 day, " + out
	case days > 1:
		out = fmt.Sprintf("%d days, %s", days, out)
	}
	return out
}

func (c *Command) showNeighbor(ctx context.Context, sp *speaker.Speaker, peers []speaker.PeerConfig, out func(string)) error {
	switch {
	case c.Summary:
		// As ExaBGP: the Established sessions only.
		out("Peer            AS        up/down state       |     #sent     #recvd")
		for _, p := range peers {
			n, err := sp.Neighbor(ctx, p.PeerAddr)
			if err != nil {
				return err
			}
			if n.State != speaker.Established {
				continue
			}
			out(fmt.Sprintf("%-15s %-7d %9s %-12s %10d %10d", n.Addr, n.RemoteAS, duration(n.Uptime),
				strings.ToLower(n.State.String()), n.Sent.Updates, n.Rcvd.Updates))
		}
	case c.Extensive:
		for _, p := range peers {
			n, err := sp.Neighbor(ctx, p.PeerAddr)
			if err != nil {
				return err
			}
			for _, l := range strings.Split(extensive(sp.Config(), &p, n), "\n") {
				out(l)
			}
		}
	default:
		out("please specify summary or extensive")
		out("you can filter by peer ip address adding it after the word neighbor")
	}
	return nil
}

// extensive renders `show neighbor extensive` for one neighbour, in
// ExaBGP's layout.
func extensive(cfg speaker.Config, p *speaker.PeerConfig, n *speaker.Neighbor) string {
	kv := func(k, l, r, x string) string { return fmt.Sprintf("   %-20s %15s %15s %15s", k, l, r, x) }
	up := n.State == speaker.Established
	var b strings.Builder
	fmt.Fprintf(&b, "Neighbor %v\n\n", n.Addr)
	b.WriteString("  Session                         Local\n")
	b.WriteString(kv("local", p.LocalAddr.String(), "", "") + "\n")
	b.WriteString(kv("state", strings.ToUpper(n.State.String()), "", "") + "\n")
	if up {
		b.WriteString(kv("up for", duration(n.Uptime), "", "") + "\n")
	} else {
		b.WriteString(kv("down for", duration(n.Uptime), "", "") + "\n")
	}
	na := func(s string) string {
		if !up {
			return "n/a"
		}
		return s
	}
	hold := cfg.Timers.Hold
	if p.Timers != nil {
		hold = p.Timers.Hold
	}
	b.WriteString("\n  Setup                           Local          Remote\n")
	b.WriteString(kv("AS", fmt.Sprint(cfg.AS), fmt.Sprint(n.RemoteAS), "") + "\n")
	b.WriteString(kv("ID", cfg.RouterID.String(), na(n.RemoteRouterID.String()), "") + "\n")
	b.WriteString(kv("hold-time", fmt.Sprint(int(hold/time.Second)), na(fmt.Sprint(int(n.HoldTime/time.Second))), "") + "\n")
	caps := map[string]speaker.CapabilityStatus{}
	for _, c := range n.Capabilities {
		caps[c.Name] = c
	}
	en := func(v bool) string {
		if v {
			return "enabled"
		}
		return "disabled"
	}
	b.WriteString("\n  Capability                      Local          Remote\n")
	for _, row := range [][2]string{{"asn4", "4 Byte AS"}, {"route-refresh", "Route refresh"}, {"multi-session", ""},
		{"operational", ""}, {"add-path", ""}, {"extended-message", "Extended Message"}, {"graceful-restart", "Graceful Restart"}} {
		c := caps[row[1]]
		b.WriteString(kv(row[0]+":", na(en(c.Advertised)), na(en(c.Received)), "") + "\n")
	}
	b.WriteString("\n  Families                        Local          Remote        Add-Path\n")
	for _, f := range p.AddressFamilies() {
		c := caps["Address Family "+f.String()]
		b.WriteString(kv(familyName(f)+":", en(true), na(en(c.Received)), en(false)) + "\n")
	}
	b.WriteString("\n  Message Statistic                Sent        Received\n")
	for _, row := range []struct {
		name       string
		sent, rcvd uint64
	}{
		{"open", n.Sent.Opens, n.Rcvd.Opens}, {"notification", n.Sent.Notifications, n.Rcvd.Notifications},
		{"keepalive", n.Sent.Keepalives, n.Rcvd.Keepalives}, {"update", n.Sent.Updates, n.Rcvd.Updates},
		{"refresh", n.Sent.RouteRefresh, n.Rcvd.RouteRefresh}, {"total", n.Sent.Total, n.Rcvd.Total},
	} {
		b.WriteString(kv(row.name+":", fmt.Sprint(row.sent), fmt.Sprint(row.rcvd), "") + "\n")
	}
	return b.String()
}

func (c *Command) showAdjRIB(ctx context.Context, sp *speaker.Speaker, peers []speaker.PeerConfig, out func(string)) error {
	view := speaker.AdvertisedRoutes
	if c.In {
		view = speaker.ReceivedRoutes
	}
	cfg := sp.Config()
	for _, p := range peers {
		for _, f := range p.AddressFamilies() {
			t, err := sp.NeighborRoutes(ctx, p.PeerAddr, f, view)
			if err != nil {
				return err
			}
			for _, r := range t.Routes {
				for _, pv := range r.Paths {
					if c.Extensive {
						s := Selector{Neighbor: p.PeerAddr, LocalIP: p.LocalAddr, LocalAS: cfg.AS, PeerAS: p.PeerAS, RouterID: cfg.RouterID}
						out(fmt.Sprintf("%s %s %v next-hop %v%s", s, familyName(f), r.Prefix, pv.NextHop, pathText(&pv)))
					} else {
						out(fmt.Sprintf("neighbor %v %s %v next-hop %v", p.PeerAddr, familyName(f), r.Prefix, pv.NextHop))
					}
				}
			}
		}
	}
	return nil
}

// pathText renders a path's attributes in ExaBGP's text words.
func pathText(p *speaker.PathView) string {
	var b strings.Builder
	switch p.Origin {
	case "i":
		b.WriteString(" origin igp")
	case "e":
		b.WriteString(" origin egp")
	case "?":
		b.WriteString(" origin incomplete")
	}
	if p.ASPath != "" {
		path := strings.NewReplacer("{", "( ", "}", " )").Replace(p.ASPath)
		fmt.Fprintf(&b, " as-path [ %s ]", path)
	}
	if p.HasMetric {
		fmt.Fprintf(&b, " med %d", p.Metric)
	}
	if p.HasLocPrf {
		fmt.Fprintf(&b, " local-preference %d", p.LocPrf)
	}
	if len(p.Communities) > 0 {
		fmt.Fprintf(&b, " community [ %s ]", strings.Join(p.Communities, " "))
	}
	if len(p.LargeCommunities) > 0 {
		fmt.Fprintf(&b, " large-community [ %s ]", strings.Join(p.LargeCommunities, " "))
	}
	return b.String()
}
