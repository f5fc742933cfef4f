package topo

import (
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// The flat views below let go-cmp show a readable diff of a whole lab
// without walking its cycles (interfaces point at nodes and links).

type ifaceView struct {
	Name  string
	Addrs []string
	Peer  string // the other end's interface, or "" for a LAN interface
}

type routerView struct {
	Name, Namespace string
	AS              uint32
	RouterID        string
	Ifaces          []ifaceView
	Originate       []string
	BGP             BGPConfig
	LANHosts        []string
	External        bool
}

type hostView struct {
	Name, Namespace, Router string
	Iface                   ifaceView
	Gateway4, Gateway6      string
}

type sessionView struct {
	Family         Family
	IBGP           bool
	AIface, AAddr  string
	BIface, BAddr  string
	LinkA, LinkB   string
	RouterA, PeerB string
}

func viewIface(i *Interface) ifaceView {
	v := ifaceView{Name: i.Name}
	for _, p := range i.Addrs {
		v.Addrs = append(v.Addrs, p.String())
	}
	if i.Link != nil && i.Link.LAN == nil || i.Node.Kind == KindHost {
		v.Peer = i.Link.Other(i).Name
	}
	return v
}

func viewRouters(l *Lab) []routerView {
	var out []routerView
	for _, r := range l.Routers {
		v := routerView{Name: r.Name, Namespace: r.Namespace, AS: r.AS.Number, RouterID: r.RouterID.String(), BGP: r.BGP, External: r.External}
		for _, i := range r.Interfaces {
			v.Ifaces = append(v.Ifaces, viewIface(i))
		}
		for _, o := range r.Originate {
			v.Originate = append(v.Originate, o.describe())
		}
		if r.LAN != nil {
			for _, h := range r.LAN.Hosts {
				v.LANHosts = append(v.LANHosts, h.Name)
			}
		}
		out = append(out, v)
	}
	return out
}

func viewHosts(l *Lab) []hostView {
	var out []hostView
	for _, h := range l.Hosts {
		out = append(out, hostView{
			Name: h.Name, Namespace: h.Namespace, Router: h.Router.Name,
			Iface:    viewIface(h.Interfaces[0]),
			Gateway4: h.Gateway4.String(), Gateway6: h.Gateway6.String(),
		})
	}
	return out
}

func viewSessions(l *Lab) []sessionView {
	var out []sessionView
	for _, s := range l.Sessions {
		out = append(out, sessionView{
			Family: s.Family, IBGP: s.IBGP(),
			AIface: s.A.Iface.Name, AAddr: s.A.Addr.String(),
			BIface: s.B.Iface.Name, BAddr: s.B.Addr.String(),
			LinkA: s.Link.A.Name, LinkB: s.Link.B.Name,
			RouterA: s.A.Router.Name, PeerB: s.B.Router.Name,
		})
	}
	return out
}

func mustLoad(t testing.TB, path string) *Lab {
	t.Helper()
	l, err := Load(path)
	if err != nil {
		var list ErrorList
		if errors.As(err, &list) {
			t.Fatalf("Load(%s):\n%s", path, list.Pretty())
		}
		t.Fatalf("Load(%s): %v", path, err)
	}
	return l
}

func mustParse(t testing.TB, src string) *Lab {
	t.Helper()
	l, err := Parse("test.yaml", []byte(src))
	if err != nil {
		var list ErrorList
		if errors.As(err, &list) {
			t.Fatalf("Parse:\n%s", list.Pretty())
		}
		t.Fatalf("Parse: %v", err)
	}
	return l
}

// TestSeedLab checks the full model of topologies/simple-bgp.yaml against
// the seed: every router, interface, address, host, gateway, originated
// prefix, timer and session.
func TestSeedLab(t *testing.T) {
	l := mustLoad(t, "../topologies/simple-bgp.yaml")
	if l.Name != "simple-bgp" {
		t.Errorf("Name = %q, want simple-bgp", l.Name)
	}
	seedBGP := BGPConfig{Keepalive: 60 * time.Second, Hold: 180 * time.Second, ConnectRetry: 120 * time.Second, CompareRouterID: true}
	wantRouters := []routerView{
		{
			Name: "as1ra", Namespace: "simple-bgp-as1ra", AS: 1, RouterID: "0.0.0.2", BGP: seedBGP,
			Ifaces: []ifaceView{
				{"as1ra-eth0", []string{"10.12.0.1/24", "2001:12::a/64"}, "as2rb-eth0"},
				{"as1ra-eth1", []string{"10.13.0.1/24", "2001:13::a/64"}, "as3rc-eth0"},
				{"as1ra-eth2", []string{"10.1.0.1/24", "2001:1234:1::a/64"}, ""},
			},
			Originate: []string{"2001:1234:1::/64", "10.1.0.0/24"},
			LANHosts:  []string{"h1"},
		},
		{
			Name: "as2rb", Namespace: "simple-bgp-as2rb", AS: 2, RouterID: "0.0.0.3", BGP: seedBGP,
			Ifaces: []ifaceView{
				{"as2rb-eth0", []string{"10.12.0.2/24", "2001:12::b/64"}, "as1ra-eth0"},
				{"as2rb-eth1", []string{"10.23.0.2/24", "2001:23::b/64"}, "as3rc-eth1"},
				{"as2rb-eth2", []string{"10.24.0.2/24", "2001:24::c/64"}, "as4rd-eth0"},
				{"as2rb-eth3", []string{"10.2.0.1/24", "2001:1234:2::b/64"}, ""},
			},
			Originate: []string{"2001:1234:2::/64", "10.2.0.0/24"},
			LANHosts:  []string{"h2"},
		},
		{
			Name: "as3rc", Namespace: "simple-bgp-as3rc", AS: 3, RouterID: "0.0.0.4", BGP: seedBGP,
			Ifaces: []ifaceView{
				{"as3rc-eth0", []string{"10.13.0.3/24", "2001:13::c/64"}, "as1ra-eth1"},
				{"as3rc-eth1", []string{"10.23.0.3/24", "2001:23::c/64"}, "as2rb-eth1"},
				{"as3rc-eth2", []string{"10.3.0.1/24", "2001:1234:3::c/64"}, ""},
			},
			Originate: []string{"2001:1234:3::/64", "10.3.0.0/24"},
			LANHosts:  []string{"h3"},
		},
		{
			Name: "as4rd", Namespace: "simple-bgp-as4rd", AS: 4, RouterID: "0.0.0.5", BGP: seedBGP,
			Ifaces: []ifaceView{
				{"as4rd-eth0", []string{"10.24.0.4/24", "2001:24::d/64"}, "as2rb-eth2"},
				{"as4rd-eth1", []string{"10.4.0.1/24", "2001:1234:4::d/64"}, ""},
			},
			Originate: []string{"2001:1234:4::/64", "10.4.0.0/24"},
			LANHosts:  []string{"h4"},
		},
	}
	if diff := cmp.Diff(wantRouters, viewRouters(l)); diff != "" {
		t.Errorf("routers (-want +got):\n%s", diff)
	}

	wantHosts := []hostView{
		{"h1", "simple-bgp-h1", "as1ra", ifaceView{"h1-eth0", []string{"10.1.0.11/24", "2001:1234:1::1/64"}, "as1ra-eth2"}, "10.1.0.1", "2001:1234:1::a"},
		{"h2", "simple-bgp-h2", "as2rb", ifaceView{"h2-eth0", []string{"10.2.0.12/24", "2001:1234:2::2/64"}, "as2rb-eth3"}, "10.2.0.1", "2001:1234:2::b"},
		{"h3", "simple-bgp-h3", "as3rc", ifaceView{"h3-eth0", []string{"10.3.0.13/24", "2001:1234:3::3/64"}, "as3rc-eth2"}, "10.3.0.1", "2001:1234:3::c"},
		{"h4", "simple-bgp-h4", "as4rd", ifaceView{"h4-eth0", []string{"10.4.0.14/24", "2001:1234:4::4/64"}, "as4rd-eth1"}, "10.4.0.1", "2001:1234:4::d"},
	}
	if diff := cmp.Diff(wantHosts, viewHosts(l)); diff != "" {
		t.Errorf("hosts (-want +got):\n%s", diff)
	}

	// The seed's four eBGP peerings, each now one IPv4 and one IPv6
	// session, in link order.
	s := func(f Family, ai, aa, bi, ba, ra, rb string) sessionView {
		return sessionView{Family: f, AIface: ai, AAddr: aa, BIface: bi, BAddr: ba, LinkA: ai, LinkB: bi, RouterA: ra, PeerB: rb}
	}
	wantSessions := []sessionView{
		s(IPv4, "as1ra-eth0", "10.12.0.1", "as2rb-eth0", "10.12.0.2", "as1ra", "as2rb"),
		s(IPv6, "as1ra-eth0", "2001:12::a", "as2rb-eth0", "2001:12::b", "as1ra", "as2rb"),
		s(IPv4, "as1ra-eth1", "10.13.0.1", "as3rc-eth0", "10.13.0.3", "as1ra", "as3rc"),
		s(IPv6, "as1ra-eth1", "2001:13::a", "as3rc-eth0", "2001:13::c", "as1ra", "as3rc"),
		s(IPv4, "as2rb-eth1", "10.23.0.2", "as3rc-eth1", "10.23.0.3", "as2rb", "as3rc"),
		s(IPv6, "as2rb-eth1", "2001:23::b", "as3rc-eth1", "2001:23::c", "as2rb", "as3rc"),
		s(IPv4, "as2rb-eth2", "10.24.0.2", "as4rd-eth0", "10.24.0.4", "as2rb", "as4rd"),
		s(IPv6, "as2rb-eth2", "2001:24::c", "as4rd-eth0", "2001:24::d", "as2rb", "as4rd"),
	}
	if diff := cmp.Diff(wantSessions, viewSessions(l)); diff != "" {
		t.Errorf("sessions (-want +got):\n%s", diff)
	}
	for i, s := range l.Sessions {
		if s.Index != i {
			t.Errorf("session %d has Index %d", i, s.Index)
		}
	}

	// Links: the four router links in the seed's order, then one per host.
	var links []string
	for i, k := range l.Links {
		if k.Index != i {
			t.Errorf("link %d has Index %d", i, k.Index)
		}
		links = append(links, k.String())
	}
	wantLinks := []string{
		"as1ra-eth0 <-> as2rb-eth0", "as1ra-eth1 <-> as3rc-eth0", "as2rb-eth1 <-> as3rc-eth1", "as2rb-eth2 <-> as4rd-eth0",
		"as1ra-eth2 <-> h1-eth0", "as2rb-eth3 <-> h2-eth0", "as3rc-eth2 <-> h3-eth0", "as4rd-eth1 <-> h4-eth0",
	}
	if diff := cmp.Diff(wantLinks, links); diff != "" {
		t.Errorf("links (-want +got):\n%s", diff)
	}

	// LANs and their prefixes.
	var lans []string
	for _, n := range l.LANs {
		lans = append(lans, n.Router.Name+" "+n.Iface.Name+" "+n.Prefix4.String()+" "+n.Prefix6.String())
		if n.Iface.Link != n.Links[0] || n.Links[0].LAN != n || n.Links[0].BridgePort != "" {
			t.Errorf("LAN of %s: interface link, LAN pointer or bridge port wrong", n.Router.Name)
		}
	}
	wantLANs := []string{
		"as1ra as1ra-eth2 10.1.0.0/24 2001:1234:1::/64",
		"as2rb as2rb-eth3 10.2.0.0/24 2001:1234:2::/64",
		"as3rc as3rc-eth2 10.3.0.0/24 2001:1234:3::/64",
		"as4rd as4rd-eth1 10.4.0.0/24 2001:1234:4::/64",
	}
	if diff := cmp.Diff(wantLANs, lans); diff != "" {
		t.Errorf("LANs (-want +got):\n%s", diff)
	}

	// Lookups.
	if r := l.Router("as2rb"); r == nil || r.AS.Number != 2 || l.Host("as2rb") != nil {
		t.Errorf("Router(as2rb) = %v, Host(as2rb) = %v", r, l.Host("as2rb"))
	}
	if h := l.Host("h4"); h == nil || h.Router != l.Router("as4rd") || l.Router("h4") != nil {
		t.Errorf("Host(h4) wrong")
	}
	if i := l.Interface("as2rb-eth0"); i == nil || i.Link.Other(i).Name != "as1ra-eth0" {
		t.Errorf("Interface(as2rb-eth0) = %v", i)
	}
	if got := l.LinkBetween("as4rd", "as2rb"); len(got) != 1 || got[0].A.Name != "as2rb-eth2" {
		t.Errorf("LinkBetween(as4rd, as2rb) = %v", got)
	}
	var ases []uint32
	for _, a := range l.ASes {
		ases = append(ases, a.Number)
		if len(a.Routers) != 1 || a.Routers[0].AS != a {
			t.Errorf("AS%d routers wrong", a.Number)
		}
	}
	if diff := cmp.Diff([]uint32{1, 2, 3, 4}, ases); diff != "" {
		t.Errorf("ASes (-want +got):\n%s", diff)
	}
	wantAddrs := []netip.Addr{
		netip.MustParseAddr("10.12.0.1"), netip.MustParseAddr("10.13.0.1"), netip.MustParseAddr("10.1.0.1"),
		netip.MustParseAddr("2001:12::a"), netip.MustParseAddr("2001:13::a"), netip.MustParseAddr("2001:1234:1::a"),
	}
	if diff := cmp.Diff(wantAddrs, l.Router("as1ra").Addrs(), cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); diff != "" {
		t.Errorf("as1ra Addrs (-want +got):\n%s", diff)
	}
}
