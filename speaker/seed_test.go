package speaker

import (
	"context"
	"fmt"
	"net/netip"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/vishvananda/netlink"

	"lab/speaker/fib"
	"lab/speaker/internal/nstest"
	"lab/speaker/wire"
)

type seedRouter struct {
	name string
	as   uint32
	id   string
	lan6 string // router's LAN address
	lan4 string
	ns   *nstest.NS
	cfg  Config
	sp   *Speaker
}

type seedLink struct {
	a, b         string // router names
	ia, ib       string // interface names
	a6, b6       string
	a4, b4       string
	password     string
	passwordPeer string
}

// seedLab builds the seed 000 lab: four routers in four ASes, with the
// seed's IPv6 addresses plus IPv4 ones, a dummy LAN interface per router,
// one IPv6 and one IPv4 eBGP session per link.
func seedLab(t *testing.T) map[string]*seedRouter {
	nstest.NeedRoot(t)
	sfx := nstest.Suffix()
	rs := map[string]*seedRouter{
		"as1ra": {name: "as1ra", as: 1, id: "0.0.0.2", lan6: "2001:1234:1::a/64", lan4: "10.1.0.1/24"},
		"as2rb": {name: "as2rb", as: 2, id: "0.0.0.3", lan6: "2001:1234:2::b/64", lan4: "10.2.0.1/24"},
		"as3rc": {name: "as3rc", as: 3, id: "0.0.0.4", lan6: "2001:1234:3::c/64", lan4: "10.3.0.1/24"},
		"as4rd": {name: "as4rd", as: 4, id: "0.0.0.5", lan6: "2001:1234:4::d/64", lan4: "10.4.0.1/24"},
	}
	links := []seedLink{
		{"as1ra", "as2rb", "as1ra-eth0", "as2rb-eth0", "2001:12::a/64", "2001:12::b/64", "10.12.0.1/24", "10.12.0.2/24", "", ""},
		{"as1ra", "as3rc", "as1ra-eth1", "as3rc-eth0", "2001:13::a/64", "2001:13::c/64", "10.13.0.1/24", "10.13.0.3/24", "", ""},
		{"as2rb", "as3rc", "as2rb-eth1", "as3rc-eth1", "2001:23::b/64", "2001:23::c/64", "10.23.0.2/24", "10.23.0.3/24", "", ""},
		{"as2rb", "as4rd", "as2rb-eth2", "as4rd-eth0", "2001:24::c/64", "2001:24::d/64", "10.24.0.2/24", "10.24.0.4/24", "", ""},
	}
	for _, n := range []string{"as1ra", "as2rb", "as3rc", "as4rd"} {
		r := rs[n]
		r.ns = nstest.New(t, "spk-"+sfx+"-"+n)
		r.cfg = Config{Name: n, AS: r.as, RouterID: netip.MustParseAddr(r.id), Namespace: r.ns.Path, CompareRouterID: true,
			Timers: DefaultTimers}
	}
	for _, l := range links {
		a, b := rs[l.a], rs[l.b]
		nstest.Veth(t, a.ns, l.ia, b.ns, l.ib)
		for _, x := range []struct {
			r         *seedRouter
			iface     string
			a6, a4    string
			p6, p4    string
			peer      *seedRouter
			peerIface string
		}{{a, l.ia, l.a6, l.a4, l.b6, l.b4, b, l.ib}, {b, l.ib, l.b6, l.b4, l.a6, l.a4, a, l.ia}} {
			x.r.ns.Addr(t, x.iface, netip.MustParsePrefix(x.a6))
			x.r.ns.Addr(t, x.iface, netip.MustParsePrefix(x.a4))
			for _, fam := range []struct{ local, peer string }{{x.a6, x.p6}, {x.a4, x.p4}} {
				x.r.cfg.Peers = append(x.r.cfg.Peers, PeerConfig{
					Description: x.peer.name + " (eBGP)",
					LocalAddr:   netip.MustParsePrefix(fam.local).Addr(),
					PeerAddr:    netip.MustParsePrefix(fam.peer).Addr(),
					PeerAS:      x.peer.as, Interface: x.iface,
					NextHop4: netip.MustParsePrefix(x.a4).Addr(), NextHop6: netip.MustParsePrefix(x.a6).Addr(),
				})
			}
		}
	}
	for _, r := range rs {
		// The LAN: a veth pair inside the router (this kernel has no dummy
		// interfaces), holding the gateway addresses.
		nstest.Veth(t, r.ns, r.name+"-eth9", r.ns, r.name+"-lan")
		r.ns.Addr(t, r.name+"-eth9", netip.MustParsePrefix(r.lan6))
		r.ns.Addr(t, r.name+"-eth9", netip.MustParsePrefix(r.lan4))
		r.cfg.Originate = []Origination{{Prefix: netip.MustParsePrefix(r.lan6).Masked()}, {Prefix: netip.MustParsePrefix(r.lan4).Masked()}}
	}
	return rs
}

func startAll(t *testing.T, rs map[string]*seedRouter) {
	var order []*seedRouter
	var cfgs []Config
	for _, r := range rs {
		order = append(order, r)
		cfgs = append(cfgs, r.cfg)
	}
	for i, sp := range runSpeakers(t, cfgs...) {
		order[i].sp = sp
	}
}

// runSpeakers makes a speaker of each configuration (closed when the test
// ends), opens every listener, then starts them all, so that the first
// connection of every session finds its peer listening.
func runSpeakers(t *testing.T, cfgs ...Config) []*Speaker {
	t.Helper()
	sps := make([]*Speaker, len(cfgs))
	for i, cfg := range cfgs {
		sp, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { sp.Close() })
		sps[i] = sp
	}
	for _, sp := range sps {
		if err := sp.Listen(); err != nil {
			t.Fatal(err)
		}
	}
	for _, sp := range sps {
		if err := sp.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	return sps
}

func bestPaths(t *Table) map[string]string {
	out := map[string]string{}
	for _, r := range t.Routes {
		if b := r.Best(); b != nil {
			out[r.Prefix.String()] = fmt.Sprintf("%v %s", b.NextHop, b.ASPath)
		}
	}
	return out
}

type kroute struct{ Dst, Gw, Dev string }

func kernelRoutes(t *testing.T, r *seedRouter, family int) []kroute {
	var out []kroute
	for _, x := range r.ns.Routes(t, family, fib.Protocol) {
		l, _ := r.ns.H.LinkByIndex(x.LinkIndex)
		k := kroute{Dst: x.Dst.String(), Gw: x.Gw.String()}
		if l != nil {
			k.Dev = l.Attrs().Name
		}
		out = append(out, k)
	}
	return out
}

// waitKernel polls the kernel table (it has no change feed of our own
// routes that a test could wait on) until it equals want, or fails.
func waitKernel(t *testing.T, r *seedRouter, family int, want []kroute) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		got := kernelRoutes(t, r, family)
		diff := cmp.Diff(want, got)
		if diff == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s kernel routes (-want +got):\n%s", r.name, diff)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestSeedLab(t *testing.T) {
	rs := seedLab(t)
	startAll(t, rs)
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, r := range rs {
		err := r.sp.WaitFor(ctx, func(s *Snapshot) bool {
			return len(bestPaths(s.Table(wire.IPv6Unicast))) == 4 && len(bestPaths(s.Table(wire.IPv4Unicast))) == 4
		})
		if err != nil {
			t.Fatalf("%s did not converge: %v", r.name, err)
		}
	}
	t.Logf("converged in %v", time.Since(start))

	a := rs["as1ra"]
	// As in the seed, as1ra ends with 7 paths per family: its own route
	// and two paths to each other LAN.
	err := a.sp.WaitFor(ctx, func(s *Snapshot) bool {
		return s.Table(wire.IPv6Unicast).Paths == 7 && s.Table(wire.IPv4Unicast).Paths == 7
	})
	if err != nil {
		t.Fatalf("as1ra: %v", err)
	}
	t.Logf("as1ra has all its paths after %v", time.Since(start))
	tb, err := a.sp.Table(ctx, wire.IPv6Unicast)
	if err != nil {
		t.Fatal(err)
	}
	// The seed's `show ipv6 bgp` on as1ra.
	want := map[string]string{
		"2001:1234:1::/64": ":: ",
		"2001:1234:2::/64": "2001:12::b 2",
		"2001:1234:3::/64": "2001:13::c 3",
		"2001:1234:4::/64": "2001:12::b 2 4",
	}
	if diff := cmp.Diff(want, bestPaths(tb)); diff != "" {
		t.Errorf("as1ra best paths (-want +got):\n%s", diff)
	}
	r2 := tb.Route(netip.MustParsePrefix("2001:1234:2::/64"))
	if len(r2.Paths) != 2 || r2.BestReason != "AS Path" {
		t.Errorf("2001:1234:2::/64: %d paths, reason %q", len(r2.Paths), r2.BestReason)
	}
	local := tb.Route(netip.MustParsePrefix("2001:1234:1::/64")).Best()
	if local.Weight != 32768 || !local.HasMetric || local.Metric != 0 || local.Origin != "i" {
		t.Errorf("local route %+v", local)
	}
	ll := func(r *seedRouter, iface string) string { return r.ns.LinkLocal(t, iface).String() }
	llB, llC := ll(rs["as2rb"], "as2rb-eth0"), ll(rs["as3rc"], "as3rc-eth0")
	waitKernel(t, a, netlink.FAMILY_V6, []kroute{
		{"2001:1234:2::/64", llB, "as1ra-eth0"},
		{"2001:1234:3::/64", llC, "as1ra-eth1"},
		{"2001:1234:4::/64", llB, "as1ra-eth0"},
	})
	waitKernel(t, a, netlink.FAMILY_V4, []kroute{
		{"10.2.0.0/24", "10.12.0.2", "as1ra-eth0"},
		{"10.3.0.0/24", "10.13.0.3", "as1ra-eth1"},
		{"10.4.0.0/24", "10.12.0.2", "as1ra-eth0"},
	})
	n, err := a.sp.Neighbor(ctx, netip.MustParseAddr("2001:13::c"))
	if err != nil {
		t.Fatal(err)
	}
	if n.Description != "as3rc (eBGP)" || n.RemoteRouterID != netip.MustParseAddr("0.0.0.4") || n.State != Established ||
		n.NextHopGlobal != netip.MustParseAddr("2001:13::a") || !n.NextHopLocal.IsLinkLocalUnicast() || n.Families[0].AcceptedPrefixes != 3 ||
		n.LocalHost.Addr() != netip.MustParseAddr("2001:13::a") || n.ForeignHost.Addr() != netip.MustParseAddr("2001:13::c") {
		t.Errorf("neighbor 2001:13::c: %+v", n)
	}

	// Every LAN reaches every other over IPv6 and IPv4.
	for _, from := range rs {
		for _, to := range rs {
			if from == to {
				continue
			}
			for _, pair := range [][2]string{{from.lan6, to.lan6}, {from.lan4, to.lan4}} {
				src, dst := netip.MustParsePrefix(pair[0]).Addr(), netip.MustParsePrefix(pair[1]).Addr()
				out, err := exec.Command("ip", "netns", "exec", from.ns.Name, "ping", "-c", "1", "-W", "2", "-I", src.String(), dst.String()).CombinedOutput()
				if err != nil {
					t.Errorf("%s ping %v from %v: %v\n%s", from.name, dst, src, err, out)
				}
			}
		}
	}

	// The seed's `ip link set dev as2rb-eth0 down` on as2rb: as1ra keeps
	// the paths learned from 2001:12::b but they are invalid, and the
	// kernel routes move to as3rc.
	rs["as2rb"].ns.SetUp(t, "as2rb-eth0", false)
	err = a.sp.WaitFor(ctx, func(s *Snapshot) bool {
		tb := s.Table(wire.IPv6Unicast)
		for _, r := range tb.Routes {
			for _, p := range r.Paths {
				if p.Peer == netip.MustParseAddr("2001:12::b") && (p.Valid || p.Best) {
					return false
				}
			}
		}
		return bestPaths(tb)["2001:1234:4::/64"] == "2001:13::c 3 2 4"
	})
	if err != nil {
		tb, _ := a.sp.Table(context.Background(), wire.IPv6Unicast)
		var lines []string
		for _, r := range tb.Routes {
			for _, p := range r.Paths {
				lines = append(lines, r.Prefix.String()+" "+p.String())
			}
		}
		t.Fatalf("after linkdown: %v\n%s", err, strings.Join(lines, "\n"))
	}
	tb, _ = a.sp.Table(ctx, wire.IPv6Unicast)
	want = map[string]string{
		"2001:1234:1::/64": ":: ",
		"2001:1234:2::/64": "2001:13::c 3 2",
		"2001:1234:3::/64": "2001:13::c 3",
		"2001:1234:4::/64": "2001:13::c 3 2 4",
	}
	if diff := cmp.Diff(want, bestPaths(tb)); diff != "" {
		t.Errorf("as1ra best paths after linkdown (-want +got):\n%s", diff)
	}
	if r2 := tb.Route(netip.MustParsePrefix("2001:1234:2::/64")); len(r2.Paths) != 2 {
		t.Errorf("the invalid path via 2001:12::b was dropped: %+v", r2.Paths)
	}
	waitKernel(t, a, netlink.FAMILY_V6, []kroute{
		{"2001:1234:2::/64", llC, "as1ra-eth1"},
		{"2001:1234:3::/64", llC, "as1ra-eth1"},
		{"2001:1234:4::/64", llC, "as1ra-eth1"},
	})
	// Close removes the kernel routes.
	a.sp.Close()
	if got := kernelRoutes(t, a, netlink.FAMILY_V6); len(got) != 0 {
		t.Errorf("routes left after Close: %v", got)
	}
}

// TCP MD5 (RFC 2385): matching keys bring the session up, mismatching
// keys never let the TCP connection open.
func TestMD5(t *testing.T) {
	nstest.NeedRoot(t)
	sfx := nstest.Suffix()
	a := nstest.New(t, "spk-"+sfx+"-m1")
	b := nstest.New(t, "spk-"+sfx+"-m2")
	nstest.Veth(t, a, "m1-eth0", b, "m2-eth0")
	a.Addr(t, "m1-eth0", netip.MustParsePrefix("2001:db8:1::1/64"))
	b.Addr(t, "m2-eth0", netip.MustParsePrefix("2001:db8:1::2/64"))
	a.Addr(t, "m1-eth0", netip.MustParsePrefix("10.9.0.1/24"))
	b.Addr(t, "m2-eth0", netip.MustParsePrefix("10.9.0.2/24"))
	fast := Timers{Keepalive: time.Second, Hold: 3 * time.Second, ConnectRetry: time.Second}
	mk := func(ns *nstest.NS, as uint32, id string, peers ...PeerConfig) Config {
		return Config{Name: ns.Name, AS: as, RouterID: netip.MustParseAddr(id), Namespace: ns.Path, Timers: fast, Peers: peers}
	}
	// IPv6 session: same key. IPv4 session: different keys.
	ca := mk(a, 1, "1.1.1.1",
		PeerConfig{LocalAddr: netip.MustParseAddr("2001:db8:1::1"), PeerAddr: netip.MustParseAddr("2001:db8:1::2"), PeerAS: 2, Password: "s3cret", Interface: "m1-eth0"},
		PeerConfig{LocalAddr: netip.MustParseAddr("10.9.0.1"), PeerAddr: netip.MustParseAddr("10.9.0.2"), PeerAS: 2, Password: "one", Interface: "m1-eth0"})
	cb := mk(b, 2, "2.2.2.2",
		PeerConfig{LocalAddr: netip.MustParseAddr("2001:db8:1::2"), PeerAddr: netip.MustParseAddr("2001:db8:1::1"), PeerAS: 1, Password: "s3cret", Interface: "m2-eth0"},
		PeerConfig{LocalAddr: netip.MustParseAddr("10.9.0.2"), PeerAddr: netip.MustParseAddr("10.9.0.1"), PeerAS: 1, Password: "two", Interface: "m2-eth0"})
	sa := runSpeakers(t, ca, cb)[0]
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := sa.WaitFor(ctx, func(s *Snapshot) bool { return s.Neighbor(netip.MustParseAddr("2001:db8:1::2")).State == Established }); err != nil {
		t.Fatalf("session with matching MD5 keys: %v", err)
	}
	// The mismatching session gets several connect retries (1 s each) and
	// must never get past them.
	deadline := time.After(4 * time.Second)
	events, stop := sa.Subscribe()
	defer stop()
	for done := false; !done; {
		select {
		case e := <-events:
			if e.Kind == EventPeerState && e.Peer == netip.MustParseAddr("10.9.0.2") && e.State >= OpenSent {
				t.Fatalf("session with mismatching MD5 keys reached %v", e.State)
			}
		case <-deadline:
			done = true
		}
	}
	n, _ := sa.Neighbor(ctx, netip.MustParseAddr("10.9.0.2"))
	if n.State >= OpenSent || n.Sent.Opens != 0 {
		t.Errorf("mismatching keys: state %v, %d OPENs sent", n.State, n.Sent.Opens)
	}
}
