package topo

import (
	"bufio"
	"fmt"
	"io"
	"net/netip"
	"strings"
)

// WriteDOT draws the lab as a Graphviz graph (`lab graph FILE | dot -Tsvg`):
// one cluster per AS holding its routers and their hosts, router links
// labelled with their subnets and, at each end, the interface and its
// addresses; external routers dashed, links with a TCP MD5 key bold.
func WriteDOT(w io.Writer, l *Lab) error {
	bw := bufio.NewWriter(w)
	p := func(format string, a ...any) { fmt.Fprintf(bw, format, a...) }
	p("graph %s {\n", dotQuote(l.Name))
	p("\tgraph [label=%s, labelloc=t, fontname=\"Helvetica\", overlap=false, splines=true, nodesep=0.8, ranksep=1.2];\n", dotQuote("lab "+l.Name))
	p("\tnode [fontname=\"Helvetica\", fontsize=10];\n")
	p("\tedge [fontname=\"Helvetica\", fontsize=8, labelfontsize=8, labeldistance=2.5];\n")
	for _, as := range l.ASes {
		label := fmt.Sprintf("AS%d", as.Number)
		if as.Name != "" {
			label += " " + as.Name
		}
		p("\tsubgraph %s {\n", dotQuote(fmt.Sprintf("cluster_AS%d", as.Number)))
		p("\t\tlabel=%s; labelloc=b; style=rounded; color=gray50;\n", dotQuote(label))
		for _, r := range as.Routers {
			style, extra := "rounded", ""
			switch {
			case r.Daemon != DaemonNone:
				style, extra = "rounded,dashed", "\n"+r.Daemon.Name()
			case r.External:
				style, extra = "rounded,dashed", "\nexternal"
			}
			if len(as.Routers) > 1 && len(r.Loopbacks) > 0 {
				// Loopbacks matter where iBGP runs between them.
				extra += "\nlo " + addrJoin(r.Loopbacks, "\nlo ")
			}
			if r.RR {
				extra += "\nroute reflector"
			}
			p("\t\t%s [shape=box, style=%s, label=%s];\n", dotQuote(r.Name), dotQuote(style),
				dotQuote(r.Name+"\n"+r.RouterID.String()+extra))
			if r.LAN == nil {
				continue
			}
			if len(r.LAN.Hosts) > 1 {
				// A bridge: one node the hosts hang from.
				nets := []netip.Prefix{}
				for _, q := range []netip.Prefix{r.LAN.Prefix4, r.LAN.Prefix6} {
					if q.IsValid() {
						nets = append(nets, q)
					}
				}
				p("\t\t%s [shape=box, style=\"rounded,filled\", fillcolor=gray92, fontsize=8, label=%s];\n",
					dotQuote("lan:"+r.Name), dotQuote("bridge "+r.LAN.Iface.Name+"\n"+addrList(nets, "\n", true)))
			}
			for _, h := range r.LAN.Hosts {
				p("\t\t%s [shape=ellipse, label=%s];\n", dotQuote(h.Name), dotQuote(h.Name+"\n"+addrList(h.Interfaces[0].Addrs, "\n", false)))
			}
		}
		p("\t}\n")
	}
	for _, lan := range l.LANs {
		if len(lan.Hosts) > 1 {
			p("\t%s -- %s [taillabel=%s, headlabel=%s, color=gray40];\n", dotQuote(lan.Router.Name), dotQuote("lan:"+lan.Router.Name),
				dotQuote(strings.TrimPrefix(lan.Iface.Name, lan.Router.Name+"-")+"\n"+addrList(lan.Iface.Addrs, "\n", false)), dotQuote(""))
		}
	}
	for _, k := range l.Links {
		if k.LAN != nil && k.BridgePort != "" {
			p("\t%s -- %s [taillabel=%s, headlabel=%s, color=gray40];\n", dotQuote("lan:"+k.LAN.Router.Name), dotQuote(k.B.Node.Name),
				dotQuote(k.BridgePort), dotQuote("eth0"))
			continue
		}
		end := func(i *Interface) string {
			s := strings.TrimPrefix(i.Name, i.Node.Name+"-")
			if k.LAN != nil {
				return s
			}
			return s + "\n" + addrList(i.Addrs, "\n", false)
		}
		attrs := fmt.Sprintf("taillabel=%s, headlabel=%s", dotQuote(end(k.A)), dotQuote(end(k.B)))
		if k.LAN == nil {
			// The subnets once, at the middle of the link.
			var nets []netip.Prefix
			for _, a := range k.A.Addrs {
				nets = append(nets, a.Masked())
			}
			label := addrList(nets, "\n", true)
			if k.Cost != DefaultCost {
				label += fmt.Sprintf("\ncost %d", k.Cost)
			}
			attrs += ", label=" + dotQuote(label)
		}
		var styles []string
		if k.LAN != nil {
			attrs += ", color=gray40"
		} else if k.Password != "" {
			styles = append(styles, "bold")
		}
		// Relations as CAIDA draws them: an arrow from provider to
		// customer; peers dashed.
		switch k.Relation {
		case RelProviderCustomer:
			attrs += ", dir=forward"
		case RelCustomerProvider:
			attrs += ", dir=back"
		case RelPeer:
			styles = append(styles, "dashed")
		}
		if len(styles) > 0 {
			attrs += ", style=" + dotQuote(strings.Join(styles, ","))
		}
		p("\t%s -- %s [%s];\n", dotQuote(k.A.Node.Name), dotQuote(k.B.Node.Name), attrs)
	}
	p("}\n")
	return bw.Flush()
}

// dotQuote makes s a DOT string; newlines become centred line breaks.
func dotQuote(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)
	return `"` + r.Replace(s) + `"`
}

// addrJoin joins addresses.
func addrJoin(as []netip.Addr, sep string) string {
	out := make([]string, len(as))
	for i, a := range as {
		out[i] = a.String()
	}
	return strings.Join(out, sep)
}

// addrList joins prefixes; bare drops the lengths.
func addrList(ps []netip.Prefix, sep string, withLen bool) string {
	out := make([]string, len(ps))
	for i, p := range ps {
		if withLen {
			out[i] = p.String()
		} else {
			out[i] = p.Addr().String()
		}
	}
	return strings.Join(out, sep)
}

// WriteText writes a plain-text description of the lab: every AS, router,
// interface with its addresses and peer, originated route, host and
// session. `lab validate` prints it for a valid file, and the tests
// compare it with golden files.
func WriteText(w io.Writer, l *Lab) error {
	bw := bufio.NewWriter(w)
	p := func(format string, a ...any) { fmt.Fprintf(bw, format, a...) }
	p("lab %s: %d routers in %d ASes, %d hosts, %d links, %d BGP sessions\n",
		l.Name, len(l.Routers), len(l.ASes), len(l.Hosts), len(l.Links), len(l.Sessions))
	for _, as := range l.ASes {
		p("AS%d", as.Number)
		if as.Name != "" {
			p(" %q", as.Name)
		}
		if len(as.Routers) > 1 {
			p("  ibgp %s", as.IBGP)
			if as.ClusterID.IsValid() {
				p(" cluster-id %s", as.ClusterID)
			}
		}
		p("\n")
		for _, r := range as.Routers {
			p("  router %s  id %s  keepalive %s hold %s connect-retry %s", r.Name, r.RouterID,
				secs(r.BGP.Keepalive), secs(r.BGP.Hold), secs(r.BGP.ConnectRetry))
			if r.BGP.CompareRouterID {
				p("  compare-routerid")
			}
			switch {
			case r.Daemon != DaemonNone:
				p("  kind %s", r.Daemon)
			case r.External:
				p("  external")
			}
			if r.RR {
				p("  rr cluster-id %s", r.ClusterID)
			}
			if !r.NextHopSelf {
				p("  no next-hop-self")
			}
			p("\n")
			if len(r.Loopbacks) > 0 {
				p("    loopback    %s\n", addrJoin(r.Loopbacks, " "))
			}
			for _, i := range r.Interfaces {
				p("    %-11s %-40s", i.Name, addrList(i.Addrs, " ", true))
				switch {
				case r.LAN != nil && i == r.LAN.Iface:
					names := make([]string, len(r.LAN.Hosts))
					for j, h := range r.LAN.Hosts {
						names[j] = h.Name
					}
					p(" LAN %s", strings.Join(names, " "))
				default:
					k := i.Link
					p(" to %s", k.Other(i).Name)
					if role := k.RoleOf(k.Other(i).Node); role != RoleNone {
						p(" %s", role)
					}
					if k.Cost != DefaultCost {
						p(" cost %d", k.Cost)
					}
					if e := k.BGPOf(i.Node); e != nil {
						if d := e.describe(k.Password); d != "" {
							p("\n      bgp%s", d)
						}
					}
				}
				p("\n")
			}
			for _, o := range r.Originate {
				p("    originates %s\n", o.describe())
			}
			for _, pr := range r.API {
				p("    runs %s\n", pr.describe())
			}
			for _, a := range r.Aggregates {
				p("    aggregates %s", a.Prefix)
				if a.SummaryOnly {
					p(" summary-only")
				}
				if a.ASSet {
					p(" as-set")
				}
				p("\n")
			}
		}
	}
	for _, h := range l.Hosts {
		i := h.Interfaces[0]
		p("host %s  on %s  %s %s  gateways", h.Name, h.Router.Name, i.Name, addrList(i.Addrs, " ", true))
		for _, g := range []netip.Addr{h.Gateway4, h.Gateway6} {
			if g.IsValid() {
				p(" %s", g)
			}
		}
		if k := i.Link; k.BridgePort != "" {
			p("  bridge port %s", k.BridgePort)
		}
		p("\n")
	}
	writeRouting(p, l)
	for _, s := range l.Sessions {
		kind := "eBGP"
		if s.IBGP() {
			kind = "iBGP"
		}
		end := func(e SessionEnd) string {
			if e.Iface == nil {
				return e.Router.Name + ":lo"
			}
			return e.Iface.Name
		}
		p("session %d %s %s  %s %s AS%d  --  %s %s AS%d", s.Index, s.Family, kind,
			end(s.A), s.A.Addr, s.A.Router.AS.Number, end(s.B), s.B.Addr, s.B.Router.AS.Number)
		pa, pb := s.Password, s.Password
		if s.A.BGP != nil {
			pa, pb = s.A.BGP.Password, s.B.BGP.Password
		}
		switch {
		case pa != pb:
			p("  md5 keys differ")
		case pa != "":
			p("  md5")
		}
		if s.RRClient != nil {
			p("  rr-client %s", s.RRClient.Name)
		}
		p("\n")
	}
	return bw.Flush()
}

// describe renders an origination as the file could write it.
func (o Origination) describe() string {
	var b strings.Builder
	b.WriteString(o.Prefix.String())
	if o.HasMED {
		fmt.Fprintf(&b, " med %d", o.MED)
	}
	for _, c := range o.Communities {
		b.WriteString(" community " + CommunityString(c))
	}
	for _, c := range o.LargeCommunities {
		fmt.Fprintf(&b, " large-community %d:%d:%d", c[0], c[1], c[2])
	}
	return b.String() + o.describeAPI()
}

// CommunityString renders an RFC 1997 community as FRR shows it: a
// well-known name, or "AS:VALUE".
func CommunityString(c uint32) string {
	switch c {
	case 0xFFFF0000:
		return "graceful-shutdown"
	case 0xFFFF0001:
		return "accept-own"
	case 0xFFFF029A:
		return "blackhole"
	case 0xFFFFFF01:
		return "no-export"
	case 0xFFFFFF02:
		return "no-advertise"
	case 0xFFFFFF03:
		return "local-AS"
	case 0xFFFFFF04:
		return "no-peer"
	}
	return fmt.Sprintf("%d:%d", c>>16, c&0xFFFF)
}
