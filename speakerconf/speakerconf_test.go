package speakerconf

import (
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"lab/speaker"
	"lab/speaker/wire"
	"lab/topo"
)

func TestConfig(t *testing.T) {
	as1 := &topo.AS{Number: 1}
	as2 := &topo.AS{Number: 2}
	ra := &topo.Router{Node: topo.Node{Name: "as1ra", Namespace: "lab-as1ra"}, AS: as1, RouterID: netip.MustParseAddr("0.0.0.2"),
		BGP:       topo.BGPConfig{Keepalive: 60 * time.Second, Hold: 180 * time.Second, ConnectRetry: 120 * time.Second, CompareRouterID: true},
		Originate: []topo.Origination{{Prefix: netip.MustParsePrefix("2001:1234:1::/64")}}}
	rb := &topo.Router{Node: topo.Node{Name: "as2rb", Namespace: "lab-as2rb"}, AS: as2, RouterID: netip.MustParseAddr("0.0.0.3")}
	ia := &topo.Interface{Name: "as1ra-eth0", Node: &ra.Node, Addrs: []netip.Prefix{netip.MustParsePrefix("10.0.12.1/30"), netip.MustParsePrefix("2001:12::a/64")}}
	ib := &topo.Interface{Name: "as2rb-eth0", Node: &rb.Node, Addrs: []netip.Prefix{netip.MustParsePrefix("10.0.12.2/30"), netip.MustParsePrefix("2001:12::b/64")}}
	ra.Interfaces, rb.Interfaces = []*topo.Interface{ia}, []*topo.Interface{ib}
	link := &topo.Link{A: ia, B: ib, Password: "pw"}
	ia.Link, ib.Link = link, link
	lab := &topo.Lab{Name: "lab", Routers: []*topo.Router{ra, rb}, Links: []*topo.Link{link}, Sessions: []*topo.Session{
		{Family: topo.IPv6, Link: link, A: topo.SessionEnd{Router: ra, Iface: ia, Addr: netip.MustParseAddr("2001:12::a")},
			B: topo.SessionEnd{Router: rb, Iface: ib, Addr: netip.MustParseAddr("2001:12::b")}, Password: "pw"},
		{Index: 1, Family: topo.IPv4, Link: link, A: topo.SessionEnd{Router: ra, Iface: ia, Addr: netip.MustParseAddr("10.0.12.1")},
			B: topo.SessionEnd{Router: rb, Iface: ib, Addr: netip.MustParseAddr("10.0.12.2")}, Password: "pw"},
	}}
	lab.Index()
	cfg, err := Config(lab, ra, "/run/netns/lab-as1ra")
	if err != nil {
		t.Fatal(err)
	}
	want := speaker.Config{
		Name: "as1ra", AS: 1, RouterID: netip.MustParseAddr("0.0.0.2"), Namespace: "/run/netns/lab-as1ra", CompareRouterID: true,
		Timers: speaker.DefaultTimers,
		Peers: []speaker.PeerConfig{
			{Description: "as2rb (eBGP)", LocalAddr: netip.MustParseAddr("2001:12::a"), PeerAddr: netip.MustParseAddr("2001:12::b"),
				Interface: "as1ra-eth0", PeerAS: 2, Families: []wire.Family{wire.IPv6Unicast}, Password: "pw", DialDelay: DialDelay,
				NextHop4: netip.MustParseAddr("10.0.12.1"), NextHop6: netip.MustParseAddr("2001:12::a")},
			{Description: "as2rb (eBGP)", LocalAddr: netip.MustParseAddr("10.0.12.1"), PeerAddr: netip.MustParseAddr("10.0.12.2"),
				Interface: "as1ra-eth0", PeerAS: 2, Families: []wire.Family{wire.IPv4Unicast}, Password: "pw", DialDelay: DialDelay,
				NextHop4: netip.MustParseAddr("10.0.12.1"), NextHop6: netip.MustParseAddr("2001:12::a")},
		},
		Originate: []speaker.Origination{{Prefix: netip.MustParsePrefix("2001:1234:1::/64")}},
		TraceLen:  256,
	}
	if diff := cmp.Diff(want, cfg, cmp.Comparer(func(a, b netip.Addr) bool { return a == b }),
		cmp.Comparer(func(a, b netip.Prefix) bool { return a == b })); diff != "" {
		t.Errorf("Config (-want +got):\n%s", diff)
	}
	if _, err := speaker.New(cfg); err != nil {
		t.Errorf("speaker.New(Config(...)): %v", err)
	}
	// The side with the higher identifier dials at once; the lower one
	// (as1ra) lets it.
	cb, err := Config(lab, rb, "/run/netns/lab-as2rb")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range cb.Peers {
		if p.DialDelay != 0 {
			t.Errorf("as2rb waits %v before dialling %v; the higher identifier dials at once", p.DialDelay, p.PeerAddr)
		}
	}
}

// A lab's traces share TraceMessages: a class lab keeps the default
// 256 messages per peer, a large generated one fewer, never under 32.
func TestTraceLen(t *testing.T) {
	for _, c := range []struct{ sessions, want int }{
		{0, 256}, {6, 256}, {128, 256}, {129, 254}, {792, 41}, {1000, 32}, {5000, 32},
	} {
		if got := TraceLen(c.sessions); got != c.want {
			t.Errorf("TraceLen(%d) = %d, want %d", c.sessions, got, c.want)
		}
	}
}

// The example topologies' routers get their policy from relations and
// settings, and their route reflection and loopback sessions from their
// AS's iBGP.
func TestConfigPolicyAndIBGP(t *testing.T) {
	l, err := topo.Load("../topologies/relations.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := Config(l, l.Router("multi"), "")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Policies == nil {
		t.Fatal("no compiled policies for a router with relations")
	}
	for _, p := range cfg.Peers {
		if p.Role != speaker.RoleProvider {
			t.Errorf("multi's neighbour %v (%s) has role %v, want provider", p.PeerAddr, p.Description, p.Role)
		}
		var in, out []string
		for _, x := range p.Import {
			in = append(in, x.Name())
		}
		for _, x := range p.Export {
			out = append(out, x.Name())
		}
		if !slices.Equal(in, []string{"RELATION-FROM-PROVIDER"}) || !slices.Equal(out, []string{"RELATION-TO-PROVIDER"}) {
			t.Errorf("multi's neighbour %v: import %v, export %v", p.PeerAddr, in, out)
		}
	}

	l, err = topo.Load("../topologies/transit-as.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err = Config(l, l.Router("p1"), "")
	if err != nil {
		t.Fatal(err)
	}
	loopback := 0
	for _, p := range cfg.Peers {
		if p.PeerAS == 65000 {
			loopback++
			if p.Interface != "" || !(p.LocalAddr == netip.MustParseAddr("192.168.255.1") || p.LocalAddr == netip.MustParseAddr("fd00:255::1")) {
				t.Errorf("p1's iBGP neighbour %v: from %v over %q, want from its loopback", p.PeerAddr, p.LocalAddr, p.Interface)
			}
		}
	}
	if loopback != 6 {
		t.Errorf("p1 has %d iBGP sessions, want 6 (full mesh of 4 routers, both families)", loopback)
	}
}
