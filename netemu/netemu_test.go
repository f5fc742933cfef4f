package netemu

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/nftables"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"lab/internal/nsthread"
	"lab/topo"
)

type exitError = exec.ExitError

// addrsOf returns the global addresses of every device of a namespace,
// "dev addr/len" sorted, and fails on a tentative (DAD pending) one.
func addrsOf(t *testing.T, h *netlink.Handle) []string {
	t.Helper()
	as, err := h.AddrList(nil, netlink.FAMILY_ALL)
	if err != nil {
		t.Fatal(err)
	}
	links, err := h.LinkList()
	if err != nil {
		t.Fatal(err)
	}
	names := map[int]string{}
	for _, k := range links {
		names[k.Attrs().Index] = k.Attrs().Name
	}
	var out []string
	for _, a := range as {
		if a.Scope != unix.RT_SCOPE_UNIVERSE {
			continue
		}
		if a.Flags&unix.IFA_F_TENTATIVE != 0 {
			t.Errorf("%s on %s is tentative", a.IPNet, names[a.LinkIndex])
		}
		out = append(out, names[a.LinkIndex]+" "+a.IPNet.String())
	}
	slices.Sort(out)
	return out
}

// wantAddrs is what the model says a node's addresses are: its
// interfaces', and a router's loopbacks on lo.
func wantAddrs(n *topo.Node) []string {
	var out []string
	for _, i := range n.Interfaces {
		for _, p := range i.Addrs {
			out = append(out, i.Name+" "+p.String())
		}
	}
	if r := n.Router(); r != nil {
		for _, a := range r.Loopbacks {
			out = append(out, "lo "+netip.PrefixFrom(a, a.BitLen()).String())
		}
	}
	slices.Sort(out)
	return out
}

// TestSeedBuild builds the seed topology and checks what a user of the
// seed checks: addresses, forwarding, default routes, pings over every
// link, registered namespaces usable by ip(8); then that teardown leaves
// nothing, not even a process started in a node.
func TestSeedBuild(t *testing.T) {
	needRoot(t)
	m := seedModel(newLabName(t))
	l, w := buildLab(t, m)

	st, err := ReadStates(l.opts.RunDir)
	if err != nil || len(st) != 1 || !st[0].Alive || st[0].PID != os.Getpid() {
		t.Fatalf("ReadStates = %+v, %v; want one live lab owned by us", st, err)
	}
	if diff := cmp.Diff(l.plan.namespaces(), st[0].Namespaces); diff != "" {
		t.Errorf("state namespaces (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(st[0], l.State()); diff != "" {
		t.Errorf("Lab.State and the state file (-file +State):\n%s", diff)
	}

	// The host's neighbour tables, shared by every namespace, are big
	// enough.
	for _, key := range []string{"ipv4/neigh/default/gc_thresh3", "ipv6/neigh/default/gc_thresh3"} {
		if v, err := readSysctl(key); err != nil || atoi(t, v) < minGCThresh3 {
			t.Errorf("net.%s = %s, %v; want at least %d", key, v, err, minGCThresh3)
		}
	}

	for _, n := range m.Nodes() {
		if got, want := l.NamespacePath(n.Name), "/run/netns/"+m.Name+"-"+n.Name; got != want {
			t.Errorf("NamespacePath(%s) = %s, want %s", n.Name, got, want)
		}
		nodeHandle(t, l, n.Name, func(h *netlink.Handle) error {
			if diff := cmp.Diff(wantAddrs(n), addrsOf(t, h)); diff != "" {
				t.Errorf("%s addresses (-want +got):\n%s", n.Name, diff)
			}
			fwd := "0"
			if n.Kind == topo.KindRouter {
				fwd = "1"
			}
			for key, want := range map[string]string{
				"ipv4/ip_forward":                                   fwd,
				"ipv6/conf/all/forwarding":                          fwd,
				"ipv6/conf/all/accept_dad":                          "0",
				"ipv6/conf/all/keep_addr_on_down":                   "1",
				"ipv4/conf/all/rp_filter":                           "0",
				"ipv4/ping_group_range":                             "0\t2147483647",
				"ipv6/conf/" + n.Interfaces[0].Name + "/accept_dad": "0",
			} {
				if got, err := readSysctl(key); err != nil || got != want {
					t.Errorf("%s: net.%s = %q, %v; want %q", n.Name, key, got, err, want)
				}
			}
			lo, err := h.LinkByName("lo")
			if err != nil || lo.Attrs().Flags&net.FlagUp == 0 {
				t.Errorf("%s: lo not up: %v", n.Name, err)
			}
			for _, i := range n.Interfaces {
				k, err := h.LinkByName(i.Name)
				if err != nil {
					t.Errorf("%s: %v", i.Name, err)
					continue
				}
				if k.Attrs().OperState != netlink.OperUp {
					t.Errorf("%s: operstate %v, want up", i.Name, k.Attrs().OperState)
				}
				if k.Type() != "veth" {
					t.Errorf("%s: type %s, want veth (one-host LANs are veth pairs)", i.Name, k.Type())
				}
				if k.Attrs().Index != i.Index+2 {
					t.Errorf("%s: ifindex %d, want %d", i.Name, k.Attrs().Index, i.Index+2)
				}
			}
			if hst := n.Host(); hst != nil {
				for _, fam := range []int{netlink.FAMILY_V4, netlink.FAMILY_V6} {
					rs, err := h.RouteListFiltered(fam, &netlink.Route{Table: unix.RT_TABLE_MAIN}, netlink.RT_FILTER_TABLE)
					if err != nil {
						return err
					}
					found := false
					for _, r := range rs {
						if (r.Dst == nil || r.Dst.IP.IsUnspecified()) && r.Gw != nil {
							gw, _ := netip.AddrFromSlice(r.Gw)
							want := hst.Gateway4
							if fam == netlink.FAMILY_V6 {
								want = hst.Gateway6
							}
							found = gw.Unmap() == want
						}
					}
					if !found {
						t.Errorf("%s: no default route via its router (family %d): %v", n.Name, fam, rs)
					}
				}
			}
			return nil
		})
	}
	// Fixed MACs, hence fixed link-local addresses.
	nodeHandle(t, l, "as1ra", func(h *netlink.Handle) error {
		k, err := h.LinkByName("as1ra-eth0")
		if err != nil {
			return err
		}
		if got, want := k.Attrs().HardwareAddr.String(), "02:00:01:00:00:00"; got != want {
			t.Errorf("as1ra-eth0 MAC %s, want %s", got, want)
		}
		as, err := h.AddrList(k, netlink.FAMILY_V6)
		if err != nil {
			return err
		}
		var ll []string
		for _, a := range as {
			if a.Scope == unix.RT_SCOPE_LINK {
				ll = append(ll, a.IPNet.String())
			}
		}
		if diff := cmp.Diff([]string{"fe80::1ff:fe00:0/64"}, ll); diff != "" {
			t.Errorf("as1ra-eth0 link-local (-want +got):\n%s", diff)
		}
		return nil
	})
	if t.Failed() {
		t.FailNow()
	}

	// Each router pings its neighbours across every link, both families,
	// both ways; hosts ping their router. At once: when Build returns,
	// every address answers neighbour discovery.
	for _, k := range m.Links {
		for _, pair := range [][2]*topo.Interface{{k.A, k.B}, {k.B, k.A}} {
			for _, p := range pair[1].Addrs {
				if err := ping(l, pair[0].Node.Name, p.Addr().String()); err != nil {
					t.Error(err)
				}
			}
		}
	}

	// ip(8) finds the namespaces: the registration is the real one.
	out, err := exec.Command("ip", "netns", "exec", m.Name+"-as1ra", "ip", "-br", "link").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "as1ra-eth0@") {
		t.Errorf("ip netns exec %s-as1ra ip -br link: %v\n%s", m.Name, err, out)
	}

	// A process left running in a node is ended by Close.
	sleep := Command(l.NamespacePath("h2"), "sleep", "600")
	if err := sleep.Start(); err != nil {
		t.Fatal(err)
	}
	waited := make(chan error, 1)
	go func() { waited <- sleep.Wait() }()

	if err := l.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	select {
	case <-waited:
	case <-time.After(10 * time.Second):
		t.Errorf("sleep in h2 still running after Close")
	}
	w.assertGone(t)
	if st := l.State(); st.Alive || st.Path != "" {
		t.Errorf("State after Close: alive %v, path %q", st.Alive, st.Path)
	}
	if err := l.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if err := l.SetLink(m.Links[0], false); !errors.Is(err, ErrClosed) {
		t.Errorf("SetLink after Close = %v, want ErrClosed", err)
	}
	if err := l.Do("as1ra", func() error { return nil }); !errors.Is(err, ErrClosed) {
		t.Errorf("Do after Close = %v, want ErrClosed", err)
	}
}

// TestLinkDownUp takes a link down on both ends, then one end only, and
// checks that traffic stops, the carrier follows, and that up restores the
// same addresses, IPv6 included, and traffic.
func TestLinkDownUp(t *testing.T) {
	needRoot(t)
	m := seedModel(newLabName(t))
	l, _ := buildLab(t, m)
	k := m.LinkBetween("as1ra", "as2rb")[0]
	b6, _ := k.B.Addr(topo.IPv6)
	b4, _ := k.B.Addr(topo.IPv4)
	addrs := func(node string) []string {
		var out []string
		nodeHandle(t, l, node, func(h *netlink.Handle) error { out = addrsOf(t, h); return nil })
		return out
	}
	beforeA, beforeB := addrs("as1ra"), addrs("as2rb")
	// At once: SetLink and SetInterface return when the addresses answer
	// neighbour discovery again.
	reachable := func() {
		t.Helper()
		for _, a := range []netip.Prefix{b6, b4} {
			if err := ping(l, "as1ra", a.Addr().String()); err != nil {
				t.Error(err)
			}
		}
	}
	unreachable := func() {
		t.Helper()
		for _, a := range []netip.Prefix{b6, b4} {
			if err := noPing(l, "as1ra", a.Addr().String()); err != nil {
				t.Error(err)
			}
		}
	}
	reachable()

	if err := l.SetLink(k, false); err != nil {
		t.Fatal(err)
	}
	st := l.LinkStatus(k)
	if st.A.AdminUp || st.B.AdminUp || st.Up() || st.A.String() != "down" {
		t.Errorf("after SetLink down: %+v", st)
	}
	unreachable()
	if err := l.SetLink(k, true); err != nil {
		t.Fatal(err)
	}
	poll(t, 10*time.Second, "link status", func() error {
		if st := l.LinkStatus(k); !st.Up() {
			return errors.New(st.A.String() + " " + st.B.String())
		}
		return nil
	})
	if diff := cmp.Diff(beforeA, addrs("as1ra")); diff != "" {
		t.Errorf("as1ra addresses after down/up (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(beforeB, addrs("as2rb")); diff != "" {
		t.Errorf("as2rb addresses after down/up (-want +got):\n%s", diff)
	}
	reachable()

	// The seed's one-sided form: ip link set dev as2rb-eth0 down.
	if err := l.SetInterface(k.B, false); err != nil {
		t.Fatal(err)
	}
	poll(t, 10*time.Second, "carrier loss", func() error {
		st := l.LinkStatus(k)
		if !st.A.AdminUp || st.A.Carrier || st.B.AdminUp || st.A.String() != "no-carrier" {
			return errors.New("A " + st.A.String() + " " + st.A.OperState + ", B " + st.B.String())
		}
		return nil
	})
	unreachable()
	if err := l.SetInterface(k.B, true); err != nil {
		t.Fatal(err)
	}
	// Polled: as1ra-eth0 stayed up, so the pings above left an incomplete
	// neighbour entry for 2001:12::b whose last solicitation may still be
	// due; a packet queued on it fails with "Address unreachable" when it
	// runs out, as on any Linux router.
	for _, a := range []netip.Prefix{b6, b4} {
		poll(t, 10*time.Second, "ping after one-sided up", func() error { return ping(l, "as1ra", a.Addr().String()) })
	}
	if diff := cmp.Diff(beforeB, addrs("as2rb")); diff != "" {
		t.Errorf("as2rb addresses after one-sided down/up (-want +got):\n%s", diff)
	}
	// The built lab holds no socket in its namespaces, and the
	// operations above closed theirs.
	noSocketsIn(t, l)
}

// TestBlackhole checks that a blackholed link drops packets while both
// ends stay up with carrier, and works again once restored.
func TestBlackhole(t *testing.T) {
	needRoot(t)
	m := seedModel(newLabName(t))
	l, _ := buildLab(t, m)
	k := m.LinkBetween("as2rb", "as3rc")[0]
	a6, _ := k.A.Addr(topo.IPv6)
	b4, _ := k.B.Addr(topo.IPv4)
	poll(t, 10*time.Second, "ping", func() error { return ping(l, "as3rc", a6.Addr().String()) })
	poll(t, 10*time.Second, "ping", func() error { return ping(l, "as2rb", b4.Addr().String()) })

	for range 2 { // twice: idempotent
		if err := l.Blackhole(k, true); err != nil {
			t.Fatal(err)
		}
	}
	// The operational state follows the carrier through the kernel's
	// link watcher, up to a second after the build.
	var st LinkStatus
	poll(t, 5*time.Second, "both ends up with carrier, blackholed", func() error {
		st = l.LinkStatus(k)
		for _, e := range []EndStatus{st.A, st.B} {
			if e.Err != nil || !e.AdminUp || !e.Carrier || e.OperState != "UP" || !e.Blackholed {
				return fmt.Errorf("blackholed end %s: err %v, admin up %v, carrier %v, %s, blackholed %v; want admin up, carrier, UP, blackholed", e.Device, e.Err, e.AdminUp, e.Carrier, e.OperState, e.Blackholed)
			}
		}
		return nil
	})
	if !st.Blackholed || st.Up() {
		t.Errorf("LinkStatus.Blackholed = %v, Up = %v", st.Blackholed, st.Up())
	}
	// One rule per end, in the lab's netdev table, on the ingress hook.
	for _, e := range []end{l.plan.links[k].a, l.plan.links[k].b} {
		c, err := nftables.New(nftables.WithNetNSFd(e.ns.fd))
		if err != nil {
			t.Fatal(err)
		}
		tb := l.blackholeTable()
		ch, err := c.ListChain(tb, blackholeChain(tb, e.dev).Name)
		if err != nil {
			t.Fatalf("%s: %v", e.dev, err)
		}
		if ch.Hooknum == nil || *ch.Hooknum != *nftables.ChainHookIngress {
			t.Errorf("%s: chain hook %v, want ingress", e.dev, ch.Hooknum)
		}
		rules, err := c.GetRules(tb, ch)
		if err != nil || len(rules) != 1 {
			t.Errorf("%s: %d rules (%v), want 1", e.dev, len(rules), err)
		}
	}
	if err := noPing(l, "as3rc", a6.Addr().String()); err != nil {
		t.Error(err)
	}
	if err := noPing(l, "as2rb", b4.Addr().String()); err != nil {
		t.Error(err)
	}
	// Other links are unaffected.
	if err := ping(l, "as2rb", "2001:12::a"); err != nil {
		t.Error(err)
	}

	for range 2 {
		if err := l.Blackhole(k, false); err != nil {
			t.Fatal(err)
		}
	}
	if st := l.LinkStatus(k); st.Blackholed || !st.Up() {
		t.Errorf("after restore: %+v", st)
	}
	poll(t, 10*time.Second, "ping after restore", func() error { return ping(l, "as3rc", a6.Addr().String()) })
	poll(t, 10*time.Second, "ping after restore", func() error { return ping(l, "as2rb", b4.Addr().String()) })
	// The table is gone with its last chain.
	c, err := nftables.New(nftables.WithNetNSFd(l.plan.byName["as2rb"].fd))
	if err != nil {
		t.Fatal(err)
	}
	if tbs, err := c.ListTablesOfFamily(nftables.TableFamilyNetdev); err != nil || len(tbs) != 0 {
		t.Errorf("netdev tables after restore: %v, %v", tbs, err)
	}
}

// TestBridgedLAN checks a LAN of three hosts: a bridge in the router's
// namespace named as its LAN interface, hosts reaching the router and each
// other, and a host's link taken down alone.
func TestBridgedLAN(t *testing.T) {
	needRoot(t)
	m := lanModel(newLabName(t))
	l, w := buildLab(t, m)
	lan := m.LANs[0]
	nodeHandle(t, l, "r1", func(h *netlink.Handle) error {
		br, err := h.LinkByName(lan.Iface.Name)
		if err != nil {
			return err
		}
		if br.Type() != "bridge" {
			t.Errorf("%s is a %s, want bridge", lan.Iface.Name, br.Type())
		}
		if s := br.(*netlink.Bridge).MulticastSnooping; s == nil || *s {
			t.Errorf("%s multicast snooping %v, want off", lan.Iface.Name, s)
		}
		for k := 1; k <= 3; k++ {
			p, err := h.LinkByName(bridgePortName(lan.Iface.Name, k))
			if err != nil {
				return err
			}
			if p.Attrs().MasterIndex != br.Attrs().Index {
				t.Errorf("port %s not in the bridge", p.Attrs().Name)
			}
		}
		if diff := cmp.Diff(wantAddrs(&lan.Router.Node), addrsOf(t, h)); diff != "" {
			t.Errorf("r1 addresses (-want +got):\n%s", diff)
		}
		return nil
	})
	for _, hst := range lan.Hosts {
		for _, p := range lan.Iface.Addrs {
			poll(t, 10*time.Second, "host to router", func() error { return ping(l, hst.Name, p.Addr().String()) })
		}
	}
	poll(t, 10*time.Second, "host to host", func() error { return ping(l, "ha", "2001:db8:100::b") })
	poll(t, 10*time.Second, "host to host", func() error { return ping(l, "hc", "10.100.0.11") })
	// Through the router, to the other router.
	poll(t, 10*time.Second, "host to r2", func() error { return ping(l, "hb", "10.0.12.1") })

	kb := lan.Links[1]
	if err := l.SetLink(kb, false); err != nil {
		t.Fatal(err)
	}
	if st := l.LinkStatus(kb); st.A.AdminUp || st.B.AdminUp || st.A.Device != bridgePortName(lan.Iface.Name, 2) {
		t.Errorf("LinkStatus after down: %+v", st)
	}
	if err := noPing(l, "hb", "10.100.0.1"); err != nil {
		t.Error(err)
	}
	if err := ping(l, "ha", "10.100.0.1"); err != nil {
		t.Errorf("another host lost its link: %v", err)
	}
	if err := l.SetLink(kb, true); err != nil {
		t.Fatal(err)
	}
	poll(t, 10*time.Second, "ping after up", func() error { return ping(l, "hb", "2001:db8:100::1") })

	if err := l.Blackhole(lan.Links[2], true); err != nil {
		t.Fatal(err)
	}
	if err := noPing(l, "hc", "2001:db8:100::1"); err != nil {
		t.Error(err)
	}
	if err := ping(l, "ha", "2001:db8:100::1"); err != nil {
		t.Errorf("another host is blackholed too: %v", err)
	}

	// The router's LAN interface is the bridge: down, no host reaches it.
	if err := l.SetInterface(lan.Iface, false); err != nil {
		t.Fatal(err)
	}
	if st := l.LinkStatus(lan.Links[0]); st.A.AdminUp {
		t.Errorf("bridge down but port reported up: %+v", st.A)
	}
	if err := noPing(l, "ha", "10.100.0.1"); err != nil {
		t.Error(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	w.assertGone(t)
}

// TestCommand checks Command: the program runs in the namespace, sees the
// node's interfaces in /sys, and exit codes are the program's.
func TestCommand(t *testing.T) {
	needRoot(t)
	m := seedModel(newLabName(t))
	l, _ := buildLab(t, m)
	ns := l.NamespacePath("as3rc")
	out, err := Command(ns, "cat", "/sys/class/net/as3rc-eth1/address").Output()
	if err != nil {
		t.Fatalf("cat: %v", err)
	}
	if got, want := strings.TrimSpace(string(out)), l.plan.links[m.LinkBetween("as2rb", "as3rc")[0]].b.mac.String(); got != want {
		t.Errorf("MAC in /sys = %s, want %s", got, want)
	}
	out, err = Command(ns, "sh", "-c", "ip -o link show | cut -d: -f2 | tr -d ' '; exit 3").Output()
	var ee *exitError
	if !errors.As(err, &ee) || ee.ExitCode() != 3 {
		t.Errorf("exit status: %v, want 3", err)
	}
	got := strings.Fields(string(out))
	want := []string{"lo", "as3rc-eth0@if2", "as3rc-eth1@if3", "as3rc-eth2@if2"}
	for i := range got {
		got[i], _, _ = strings.Cut(got[i], "@")
	}
	for i := range want {
		want[i], _, _ = strings.Cut(want[i], "@")
	}
	slices.Sort(got)
	slices.Sort(want)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("interfaces seen by ip in the namespace (-want +got):\n%s", diff)
	}
	if err := Command(ns, "no-such-program-xyz").Run(); !errors.As(err, &ee) || ee.ExitCode() != 127 {
		t.Errorf("missing program: %v, want exit status 127", err)
	}
	if err := Command("/nonexistent/ns", "true").Run(); !errors.As(err, &ee) || ee.ExitCode() != 126 {
		t.Errorf("bad namespace: %v, want exit status 126", err)
	}
	// Our own /sys is untouched.
	if _, err := os.Stat("/sys/class/net/as3rc-eth1"); err == nil {
		t.Errorf("the namespace's /sys leaked into ours")
	}
}

// TestBuildFailures checks that every way Build can fail leaves nothing
// behind and names the problem.
func TestBuildFailures(t *testing.T) {
	needRoot(t)
	t.Run("invalid name", func(t *testing.T) {
		m := seedModel("Bad_Name")
		_, err := Build(context.Background(), m, Options{RunDir: t.TempDir()})
		if !errors.Is(err, ErrBadModel) {
			t.Errorf("err = %v, want ErrBadModel", err)
		}
	})
	t.Run("interface name too long", func(t *testing.T) {
		m := seedModel(newLabName(t))
		m.Routers[0].Interfaces[0].Name = "averyveryverylongname"
		m.Routers[0].Pos = topo.Pos{File: "seed.yaml", Line: 7, Col: 3}
		dir := t.TempDir()
		_, err := Build(context.Background(), m, Options{RunDir: dir})
		if !errors.Is(err, ErrBadModel) || !strings.Contains(err.Error(), "seed.yaml:7:3") {
			t.Errorf("err = %v, want ErrBadModel at seed.yaml:7:3", err)
		}
		if ents, _ := os.ReadDir(dir); len(ents) != 0 {
			t.Errorf("state dir not empty: %v", ents)
		}
	})
	t.Run("kernel refuses mid-build", func(t *testing.T) {
		// A gateway on no connected subnet: the route fails in the last
		// phase, after every namespace and veth exists.
		m := seedModel(newLabName(t))
		m.Hosts[3].Gateway4 = netip.MustParseAddr("192.0.2.1")
		dir := t.TempDir()
		var created []string
		l, err := Build(context.Background(), m, Options{RunDir: dir})
		if err == nil {
			l.Close()
			t.Fatal("Build succeeded")
		}
		if !strings.Contains(err.Error(), "h4") || !strings.Contains(err.Error(), "192.0.2.1") {
			t.Errorf("err = %v, want it to name h4 and the gateway", err)
		}
		ents, _ := os.ReadDir(netnsDir)
		for _, e := range ents {
			if strings.HasPrefix(e.Name(), m.Name+"-") {
				created = append(created, e.Name())
			}
		}
		if len(created) > 0 {
			t.Errorf("left registered: %v", created)
		}
		if ents, _ := os.ReadDir(dir); len(ents) != 0 {
			t.Errorf("state dir not empty: %v", ents)
		}
	})
	t.Run("cancelled", func(t *testing.T) {
		m := seedModel(newLabName(t))
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := Build(ctx, m, Options{RunDir: t.TempDir()})
		if !errors.Is(err, context.Canceled) {
			t.Errorf("err = %v, want context.Canceled", err)
		}
		if _, err := os.Stat(filepath.Join(netnsDir, m.Name+"-as1ra")); err == nil {
			t.Errorf("namespace left")
		}
	})
	t.Run("namespace exists", func(t *testing.T) {
		m := seedModel(newLabName(t))
		foreign := foreignNamespace(t, m.Name+"-as3rc")
		dir := t.TempDir()
		_, err := Build(context.Background(), m, Options{RunDir: dir})
		if !errors.Is(err, ErrNamespaceExists) || !strings.Contains(err.Error(), "as3rc") {
			t.Errorf("err = %v, want ErrNamespaceExists naming as3rc", err)
		}
		if id, ok := nsIDOfPath(filepath.Join(netnsDir, m.Name+"-as3rc")); !ok || id != foreign {
			t.Errorf("the existing namespace was touched")
		}
		if _, err := os.Stat(filepath.Join(netnsDir, m.Name+"-as1ra")); err == nil {
			t.Errorf("namespace created anyway")
		}
	})
	t.Run("dead lab of the same name", func(t *testing.T) {
		// What a SIGKILLed daemon leaves: a state file naming a dead pid,
		// and a registered namespace.
		m := seedModel(newLabName(t))
		dir := t.TempDir()
		old := foreignNamespace(t, m.Name+"-as1ra")
		st := `{"name":"` + m.Name + `","pid":999999999,"pid_start":1,"namespaces":["` + m.Name + `-as1ra","` + m.Name + `-h1"]}`
		if err := os.WriteFile(statePath(dir, m.Name), []byte(st), 0o644); err != nil {
			t.Fatal(err)
		}
		l, err := Build(context.Background(), m, Options{RunDir: dir})
		if err != nil {
			t.Fatalf("Build over a dead lab: %v", err)
		}
		defer l.Close()
		if id, ok := nsIDOfPath(l.NamespacePath("as1ra")); !ok || id == old {
			t.Errorf("as1ra's namespace is the dead lab's (%v), want a new one", id)
		}
		if err := ping(l, "as1ra", "10.0.12.2"); err != nil {
			t.Error(err)
		}
	})
	t.Run("running", func(t *testing.T) {
		m := seedModel(newLabName(t))
		l, _ := buildLab(t, m)
		_, err := Build(context.Background(), seedModel(m.Name), Options{RunDir: l.opts.RunDir})
		if !errors.Is(err, ErrRunning) {
			t.Errorf("second Build = %v, want ErrRunning", err)
		}
		if err := ping(l, "as1ra", "2001:12::b"); err != nil {
			t.Errorf("the running lab was disturbed: %v", err)
		}
	})
	t.Run("not in lab", func(t *testing.T) {
		m := seedModel(newLabName(t))
		l, _ := buildLab(t, m)
		other := seedModel("other")
		if err := l.SetLink(other.Links[0], false); !errors.Is(err, ErrNotInLab) {
			t.Errorf("SetLink = %v, want ErrNotInLab", err)
		}
		if err := l.SetInterface(other.Links[0].A, false); !errors.Is(err, ErrNotInLab) {
			t.Errorf("SetInterface = %v, want ErrNotInLab", err)
		}
		if err := l.Blackhole(other.Links[0], true); !errors.Is(err, ErrNotInLab) {
			t.Errorf("Blackhole = %v, want ErrNotInLab", err)
		}
		if st := l.LinkStatus(other.Links[0]); !errors.Is(st.A.Err, ErrNotInLab) {
			t.Errorf("LinkStatus = %+v, want ErrNotInLab", st)
		}
		if err := l.Do("nobody", func() error { return nil }); !errors.Is(err, ErrNotInLab) {
			t.Errorf("Do = %v, want ErrNotInLab", err)
		}
		if p := l.NamespacePath("nobody"); p != "" {
			t.Errorf("NamespacePath(nobody) = %q", p)
		}
	})
}

// foreignNamespace registers a namespace the way `ip netns add` would,
// outside any lab, and removes it at the end of the test.
func foreignNamespace(t *testing.T, name string) nsID {
	t.Helper()
	if err := prepareNetnsDir(); err != nil {
		t.Fatal(err)
	}
	run.Namespace(t, name)
	err := nsthread.Throwaway(func() error {
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			return err
		}
		return registerThreadNS(name)
	})
	if err != nil {
		t.Fatal(err)
	}
	id, ok := nsIDOfPath(filepath.Join(netnsDir, name))
	if !ok {
		t.Fatal("foreign namespace not mounted")
	}
	return id
}

// TestTopologyFiles builds every topology of topologies/ as topo.Load
// makes it: each node gets its addresses, and every link carries traffic
// in each family both of its ends have.
func TestTopologyFiles(t *testing.T) {
	needRoot(t)
	files, err := filepath.Glob("../topologies/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no topology files: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			m, err := topo.LoadAs(f, newLabName(t))
			if err != nil {
				t.Fatalf("topo.LoadAs: %v", err)
			}
			l, w := buildLab(t, m)
			for _, n := range m.Nodes() {
				nodeHandle(t, l, n.Name, func(h *netlink.Handle) error {
					if diff := cmp.Diff(wantAddrs(n), addrsOf(t, h)); diff != "" {
						t.Errorf("%s addresses (-want +got):\n%s", n.Name, diff)
					}
					return nil
				})
			}
			for _, k := range m.Links {
				for _, fam := range []topo.Family{topo.IPv4, topo.IPv6} {
					if _, ok := k.A.Addr(fam); !ok {
						continue
					}
					if p, ok := k.B.Addr(fam); ok {
						if err := ping(l, k.A.Node.Name, p.Addr().String()); err != nil {
							t.Errorf("link %v: %v", k, err)
						}
					}
				}
			}
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
			w.assertGone(t)
		})
	}
}

// TestConcurrentClose runs link operations, status reads and Do from
// several goroutines while the lab is closed under them: each either works
// or reports ErrClosed, and nothing is left (run with -race).
func TestConcurrentClose(t *testing.T) {
	needRoot(t)
	m := seedModel(newLabName(t))
	l, w := buildLab(t, m)
	k := m.Links[0]
	stop := make(chan struct{})
	errs := make(chan error, 64)
	ok := func(err error) {
		if err != nil && !errors.Is(err, ErrClosed) {
			errs <- err
		}
	}
	var running sync.WaitGroup
	var done atomic.Int64
	for g := range 4 {
		running.Add(1)
		go func() {
			defer running.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				done.Add(1)
				switch (g + i) % 4 {
				case 0:
					ok(l.SetLink(k, i%8 != 0))
				case 1:
					st := l.LinkStatus(k)
					ok(st.A.Err)
				case 2:
					ok(l.Blackhole(m.Links[1], i%2 == 0))
				case 3:
					ok(l.Do("h1", func() error {
						fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM, 0)
						if err == nil {
							unix.Close(fd)
						}
						return err
					}))
				}
			}
		}()
	}
	// Let every goroutine run its operations a few times first.
	poll(t, 30*time.Second, "operations running", func() error {
		if n := done.Load(); n < 40 {
			return fmt.Errorf("%d operations so far", n)
		}
		return nil
	})
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	close(stop)
	running.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	w.assertGone(t)
}
