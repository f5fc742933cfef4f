package netemu

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"lab/topo"
)

// ulRouter adds a router with the loopbacks 10.255.X.Y and
// 2001:db8:ffff::N, N being its position among the lab's routers.
func ulRouter(b *modelBuilder, name string, as uint32) *topo.Router {
	r := b.router(name, as)
	i := len(b.m.Routers)
	r.Loopbacks = []netip.Addr{
		netip.MustParseAddr(fmt.Sprintf("10.255.%d.%d", i/256, i%256)),
		netip.MustParseAddr(fmt.Sprintf("2001:db8:ffff::%x", i)),
	}
	return r
}

// ulLink links x and y with cost (0: the default) over the link's
// subnets 10.J/24 and 2001:db8:J::/64, J being the link's index: x is .1
// and ::1, y .2 and ::2. fams limits the families (default both).
func ulLink(b *modelBuilder, x, y *topo.Router, cost int, fams ...topo.Family) *topo.Link {
	j := len(b.m.Links)
	if len(fams) == 0 {
		fams = []topo.Family{topo.IPv4, topo.IPv6}
	}
	addrs := func(host int) []string {
		var out []string
		for _, f := range fams {
			if f == topo.IPv4 {
				out = append(out, fmt.Sprintf("10.%d.%d.%d/24", j/256, j%256, host))
			} else {
				out = append(out, fmt.Sprintf("2001:db8:%x::%d/64", j, host))
			}
		}
		return out
	}
	k := b.link(b.iface(&x.Node, addrs(1)...), b.iface(&y.Node, addrs(2)...))
	k.Cost = cost
	return k
}

// routeStrings renders routes as `ip route` would, one string each.
func routeStrings(rs []UnderlayRoute) []string {
	out := []string{}
	for _, r := range rs {
		out = append(out, fmt.Sprintf("%v via %v dev %s metric %d", r.Dst, r.Via, r.Dev, r.Metric))
	}
	return out
}

// computed runs the underlay computation of the AS of router name with
// the links in down out of the graph, and returns every router's routes
// by name.
func computed(t *testing.T, m *topo.Lab, name string, down ...*topo.Link) map[string][]string {
	t.Helper()
	p, err := makePlan(m)
	if err != nil {
		t.Fatal(err)
	}
	u, err := newUnderlay(m, p)
	if err != nil {
		t.Fatal(err)
	}
	ua := u.of[m.Router(name).AS]
	if ua == nil {
		t.Fatalf("AS of %s has no underlay", name)
	}
	rs := ua.compute(func(k *topo.Link) bool { return !slices.Contains(down, k) })
	out := map[string][]string{}
	for i, r := range ua.routers {
		out[r.Name] = routeStrings(rs[i])
	}
	return out
}

// chainModel is AS 65000 of four routers in a chain, r1 - r2 - r3 - r4
// (costs 10, 20, 5), and x in AS 65001 linked to r4 (cost 7).
func chainModel(name string) *topo.Lab {
	b := newModel(name)
	r1, r2, r3, r4 := ulRouter(b, "r1", 65000), ulRouter(b, "r2", 65000), ulRouter(b, "r3", 65000), ulRouter(b, "r4", 65000)
	x := ulRouter(b, "x", 65001)
	ulLink(b, r1, r2, 10)
	ulLink(b, r2, r3, 20)
	ulLink(b, r3, r4, 5)
	ulLink(b, r4, x, 7)
	return b.done()
}

// ringModel is AS 65000 of four routers in a ring, r1 - r2 - r3 - r4 -
// r1, with the given costs (links 0 to 3).
func ringModel(name string, costs [4]int) *topo.Lab {
	b := newModel(name)
	r := []*topo.Router{ulRouter(b, "r1", 65000), ulRouter(b, "r2", 65000), ulRouter(b, "r3", 65000), ulRouter(b, "r4", 65000)}
	for i := range 4 {
		ulLink(b, r[i], r[(i+1)%4], costs[i])
	}
	return b.done()
}

func TestUnderlayComputeChain(t *testing.T) {
	m := chainModel("ul")
	got := computed(t, m, "r1")
	want := map[string][]string{
		"r1": {
			"10.0.1.0/24 via 10.0.0.2 dev r1-eth0 metric 30",
			"10.0.2.0/24 via 10.0.0.2 dev r1-eth0 metric 35",
			"10.0.3.0/24 via 10.0.0.2 dev r1-eth0 metric 42", // r4's border link
			"10.255.0.2/32 via 10.0.0.2 dev r1-eth0 metric 10",
			"10.255.0.3/32 via 10.0.0.2 dev r1-eth0 metric 30",
			"10.255.0.4/32 via 10.0.0.2 dev r1-eth0 metric 35",
			"2001:db8:1::/64 via 2001:db8::2 dev r1-eth0 metric 30",
			"2001:db8:2::/64 via 2001:db8::2 dev r1-eth0 metric 35",
			"2001:db8:3::/64 via 2001:db8::2 dev r1-eth0 metric 42",
			"2001:db8:ffff::2/128 via 2001:db8::2 dev r1-eth0 metric 10",
			"2001:db8:ffff::3/128 via 2001:db8::2 dev r1-eth0 metric 30",
			"2001:db8:ffff::4/128 via 2001:db8::2 dev r1-eth0 metric 35",
		},
		"r3": {
			"10.0.0.0/24 via 10.0.1.1 dev r3-eth0 metric 30",
			"10.0.3.0/24 via 10.0.2.2 dev r3-eth1 metric 12",
			"10.255.0.1/32 via 10.0.1.1 dev r3-eth0 metric 30",
			"10.255.0.2/32 via 10.0.1.1 dev r3-eth0 metric 20",
			"10.255.0.4/32 via 10.0.2.2 dev r3-eth1 metric 5",
			"2001:db8::/64 via 2001:db8:1::1 dev r3-eth0 metric 30",
			"2001:db8:3::/64 via 2001:db8:2::2 dev r3-eth1 metric 12",
			"2001:db8:ffff::1/128 via 2001:db8:1::1 dev r3-eth0 metric 30",
			"2001:db8:ffff::2/128 via 2001:db8:1::1 dev r3-eth0 metric 20",
			"2001:db8:ffff::4/128 via 2001:db8:2::2 dev r3-eth1 metric 5",
		},
	}
	for _, r := range []string{"r1", "r3"} {
		if diff := cmp.Diff(want[r], got[r]); diff != "" {
			t.Errorf("%s (-want +got):\n%s", r, diff)
		}
	}
	// r4 is on the border link: no route to it.
	for _, s := range got["r4"] {
		if strings.HasPrefix(s, "10.0.3.0/24") || strings.HasPrefix(s, "2001:db8:3::/64") {
			t.Errorf("r4 has a route to its own border link: %s", s)
		}
	}
	// The border link down: its subnet leaves every table.
	got = computed(t, m, "r1", m.Links[3])
	wantDown := slices.DeleteFunc(slices.Clone(want["r1"]), func(s string) bool {
		return strings.HasPrefix(s, "10.0.3.0/24") || strings.HasPrefix(s, "2001:db8:3::/64")
	})
	if diff := cmp.Diff(wantDown, got["r1"]); diff != "" {
		t.Errorf("r1 with the border link down (-want +got):\n%s", diff)
	}
}

func TestUnderlayComputeRing(t *testing.T) {
	m := ringModel("ul", [4]int{10, 10, 10, 50})
	route := func(routes []string, dst string) string {
		for _, s := range routes {
			if strings.HasPrefix(s, dst+" ") {
				return s
			}
		}
		return ""
	}
	got := computed(t, m, "r1")
	for _, c := range []struct{ at, dst, want string }{
		{"r1", "10.255.0.4/32", "10.255.0.4/32 via 10.0.0.2 dev r1-eth0 metric 30"}, // the cheap way round
		{"r1", "10.255.0.3/32", "10.255.0.3/32 via 10.0.0.2 dev r1-eth0 metric 20"},
		{"r4", "10.255.0.1/32", "10.255.0.1/32 via 10.0.2.1 dev r4-eth0 metric 30"},
		{"r1", "10.0.2.0/24", "10.0.2.0/24 via 10.0.0.2 dev r1-eth0 metric 30"},
		{"r1", "10.0.3.0/24", ""}, // r1 is on it
	} {
		if s := route(got[c.at], c.dst); s != c.want {
			t.Errorf("%s to %s: %q, want %q", c.at, c.dst, s, c.want)
		}
	}
	// r1 - r2 down: round the other way.
	got = computed(t, m, "r1", m.Links[0])
	for _, c := range []struct{ at, dst, want string }{
		{"r1", "10.255.0.4/32", "10.255.0.4/32 via 10.0.3.1 dev r1-eth1 metric 50"},
		{"r1", "10.255.0.2/32", "10.255.0.2/32 via 10.0.3.1 dev r1-eth1 metric 70"},
		{"r2", "10.255.0.1/32", "10.255.0.1/32 via 10.0.1.2 dev r2-eth1 metric 70"},
		{"r3", "10.0.0.0/24", ""}, // the link down is in no table
		{"r1", "2001:db8:ffff::2/128", "2001:db8:ffff::2/128 via 2001:db8:3::1 dev r1-eth1 metric 70"},
	} {
		if s := route(got[c.at], c.dst); s != c.want {
			t.Errorf("link 0 down: %s to %s: %q, want %q", c.at, c.dst, s, c.want)
		}
	}

	// Equal costs: the path whose first link comes first in the topology.
	got = computed(t, ringModel("ul", [4]int{10, 10, 10, 10}), "r1")
	for _, c := range []struct{ at, dst, want string }{
		{"r1", "10.255.0.3/32", "10.255.0.3/32 via 10.0.0.2 dev r1-eth0 metric 20"}, // link 0 before link 3
		{"r2", "10.255.0.4/32", "10.255.0.4/32 via 10.0.0.1 dev r2-eth0 metric 20"}, // link 0 before link 1
		{"r3", "10.255.0.1/32", "10.255.0.1/32 via 10.0.1.1 dev r3-eth0 metric 20"}, // link 1 before link 2
		{"r4", "10.255.0.2/32", "10.255.0.2/32 via 10.0.2.1 dev r4-eth0 metric 20"}, // link 2 before link 3
		// A subnet's nearer end wins: r3 - r4 is 10 away through r4.
		{"r1", "10.0.2.0/24", "10.0.2.0/24 via 10.0.3.1 dev r1-eth1 metric 20"},
	} {
		if s := route(got[c.at], c.dst); s != c.want {
			t.Errorf("equal costs: %s to %s: %q, want %q", c.at, c.dst, s, c.want)
		}
	}
}

// Parallel links: the cheaper, else the first; a family goes only over
// links that have it.
func TestUnderlayComputeParallelAndFamilies(t *testing.T) {
	b := newModel("ul")
	r1, r2, r3 := ulRouter(b, "r1", 1), ulRouter(b, "r2", 1), ulRouter(b, "r3", 1)
	ulLink(b, r1, r2, 10)
	ulLink(b, r1, r2, 10)
	ulLink(b, r2, r3, 10, topo.IPv6)
	m := b.done()
	got := computed(t, m, "r1")
	want := []string{
		"10.255.0.2/32 via 10.0.0.2 dev r1-eth0 metric 10",
		"2001:db8:2::/64 via 2001:db8::2 dev r1-eth0 metric 20",
		"2001:db8:ffff::2/128 via 2001:db8::2 dev r1-eth0 metric 10",
		"2001:db8:ffff::3/128 via 2001:db8::2 dev r1-eth0 metric 20",
	}
	if diff := cmp.Diff(want, got["r1"]); diff != "" {
		t.Errorf("r1 (-want +got):\n%s", diff)
	}
	if slices.ContainsFunc(got["r3"], func(s string) bool { return strings.HasPrefix(s, "10.") }) {
		t.Errorf("r3 has IPv4 routes without an IPv4 link: %v", got["r3"])
	}
	m.Links[0].Cost = 20
	if got := computed(t, m, "r1")["r1"]; !strings.Contains(got[0], "dev r1-eth1 metric 10") {
		t.Errorf("r1 with link 0 dearer: %v, want r1-eth1", got)
	}
	// Routers alone in their AS have no underlay.
	seed := seedModel("ul")
	p, err := makePlan(seed)
	if err != nil {
		t.Fatal(err)
	}
	if u, err := newUnderlay(seed, p); err != nil || len(u.ases) != 0 {
		t.Errorf("seed lab: an underlay (%v), want none", err)
	}
}

func TestDiffUnderlay(t *testing.T) {
	rt := func(dst, via string, metric uint32) UnderlayRoute {
		return UnderlayRoute{Dst: netip.MustParsePrefix(dst), Via: netip.MustParseAddr(via), Dev: "r1-eth0", Metric: metric}
	}
	cur := []UnderlayRoute{
		rt("10.255.0.2/32", "10.0.0.2", 10), // kept
		rt("10.255.0.3/32", "10.0.0.2", 20), // new next hop, same metric: replaced in place
		rt("10.255.0.4/32", "10.0.0.2", 30), // new metric: added, then the old deleted
		rt("10.255.0.5/32", "10.0.0.2", 40), // gone
	}
	want := []UnderlayRoute{
		rt("10.255.0.2/32", "10.0.0.2", 10),
		rt("10.255.0.3/32", "10.0.3.1", 20),
		rt("10.255.0.4/32", "10.0.3.1", 50),
		rt("10.255.0.6/32", "10.0.3.1", 60), // new
	}
	adds, dels := diffUnderlay(cur, want)
	if diff := cmp.Diff(routeStrings(want[1:]), routeStrings(adds)); diff != "" {
		t.Errorf("adds (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(routeStrings([]UnderlayRoute{cur[2], cur[3]}), routeStrings(dels)); diff != "" {
		t.Errorf("dels (-want +got):\n%s", diff)
	}
	if adds, dels := diffUnderlay(want, want); len(adds)+len(dels) != 0 {
		t.Errorf("no change: adds %v, dels %v", adds, dels)
	}
}

// kernelUnderlay reads node's routes of protocol UnderlayProtocol through
// a socket of the test's own, and checks they are on-link.
func kernelUnderlay(t *testing.T, l *Lab, node string) []UnderlayRoute {
	t.Helper()
	var out []UnderlayRoute
	nodeHandle(t, l, node, func(h *netlink.Handle) error {
		rs, err := h.RouteListFiltered(netlink.FAMILY_ALL, &netlink.Route{Protocol: UnderlayProtocol}, netlink.RT_FILTER_PROTOCOL)
		if err != nil {
			return err
		}
		for _, r := range rs {
			dev, err := h.LinkByIndex(r.LinkIndex)
			if err != nil {
				return err
			}
			if r.Flags&unix.RTNH_F_ONLINK == 0 || r.Table != unix.RT_TABLE_MAIN {
				t.Errorf("%s: %v: flags %#x table %d, want onlink in main", node, r, r.Flags, r.Table)
			}
			dst, _ := netip.AddrFromSlice(r.Dst.IP)
			bits, _ := r.Dst.Mask.Size()
			gw, _ := netip.AddrFromSlice(r.Gw)
			out = append(out, UnderlayRoute{netip.PrefixFrom(dst.Unmap(), bits), gw.Unmap(), dev.Attrs().Name, uint32(r.Priority)})
		}
		return nil
	})
	slices.SortFunc(out, func(a, b UnderlayRoute) int { return comparePrefix(a.Dst, b.Dst) })
	return out
}

// checkKernel checks that every router's kernel has exactly the routes
// Underlay reports.
func checkKernel(t *testing.T, l *Lab) {
	t.Helper()
	for _, r := range l.model.Routers {
		if diff := cmp.Diff(routeStrings(l.Underlay(r.Name)), routeStrings(kernelUnderlay(t, l, r.Name))); diff != "" {
			t.Errorf("%s: kernel routes differ from Underlay (-Underlay +kernel):\n%s", r.Name, diff)
		}
	}
}

// pingFrom sends one echo from node to dst with source address src.
func pingFrom(l *Lab, node string, src, dst netip.Addr) error {
	out, err := Command(l.NamespacePath(node), "ping", "-n", "-c1", "-W1", "-I", src.String(), dst.String()).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s ping -I %s %s: %v: %s", node, src, dst, err, strings.TrimSpace(string(out)))
	}
	return nil
}

// pingLoopbacks checks that every router of as reaches every other
// router's loopback of each family from its own.
func pingLoopbacks(t *testing.T, l *Lab, as *topo.AS) {
	t.Helper()
	for _, a := range as.Routers {
		for _, b := range as.Routers {
			if a == b {
				continue
			}
			for _, f := range []topo.Family{topo.IPv4, topo.IPv6} {
				src, ok1 := a.Loopback(f)
				dst, ok2 := b.Loopback(f)
				if ok1 && ok2 {
					poll(t, 10*time.Second, "loopback ping", func() error { return pingFrom(l, a.Name, src, dst) })
				}
			}
		}
	}
}

func TestUnderlayChain(t *testing.T) {
	needRoot(t)
	m := chainModel(newLabName(t))
	l, _ := buildLab(t, m)
	checkKernel(t, l)
	if got, want := len(l.Underlay("r1")), 12; got != want {
		t.Errorf("r1: %d underlay routes, want %d", got, want)
	}
	if rs := l.Underlay("x"); rs != nil {
		t.Errorf("x, alone in its AS: %v", rs)
	}
	// The loopbacks are on lo.
	nodeHandle(t, l, "r1", func(h *netlink.Handle) error {
		lo, err := h.LinkByName("lo")
		if err != nil {
			return err
		}
		as, err := h.AddrList(lo, netlink.FAMILY_ALL)
		if err != nil {
			return err
		}
		var got []string
		for _, a := range as {
			if a.Scope == unix.RT_SCOPE_UNIVERSE {
				got = append(got, a.IPNet.String())
			}
		}
		if diff := cmp.Diff([]string{"10.255.0.1/32", "2001:db8:ffff::1/128"}, got); diff != "" {
			t.Errorf("r1 lo addresses (-want +got):\n%s", diff)
		}
		return nil
	})
	pingLoopbacks(t, l, m.Router("r1").AS)
	// The border subnet: r1 reaches r4's address on it.
	for _, f := range []topo.Family{topo.IPv4, topo.IPv6} {
		p, _ := m.Links[3].A.Addr(f)
		src, _ := m.Router("r1").Loopback(f)
		poll(t, 10*time.Second, "ping to the border link", func() error { return pingFrom(l, "r1", src, p.Addr()) })
	}
}

func TestUnderlayRing(t *testing.T) {
	needRoot(t)
	m := ringModel(newLabName(t), [4]int{10, 10, 10, 50})
	l, _ := buildLab(t, m)
	noSocketsIn(t, l)
	checkKernel(t, l)
	lo := func(r string, f topo.Family) netip.Addr { a, _ := m.Router(r).Loopback(f); return a }
	route := func(at, to string, f topo.Family) string {
		dst := lo(to, f)
		for _, s := range routeStrings(l.Underlay(at)) {
			if strings.HasPrefix(s, netip.PrefixFrom(dst, dst.BitLen()).String()+" ") {
				return s
			}
		}
		return ""
	}
	if got, want := route("r1", "r4", topo.IPv4), "10.255.0.4/32 via 10.0.0.2 dev r1-eth0 metric 30"; got != want {
		t.Errorf("r1 to r4: %q, want %q (the cheap way round)", got, want)
	}
	pingLoopbacks(t, l, m.Router("r1").AS)
	before := map[string][]UnderlayRoute{}
	for _, r := range m.Routers {
		before[r.Name] = l.Underlay(r.Name)
	}

	// r1 - r2 down: everything goes round the other way.
	k := m.Links[0]
	changed, err := l.SetLinkChanged(k, false)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"r1", "r2", "r3", "r4"}, changed); diff != "" {
		t.Errorf("routers changed by r1 - r2 down (-want +got):\n%s", diff)
	}
	checkKernel(t, l)
	for _, c := range []struct {
		at, to string
		f      topo.Family
		want   string
	}{
		{"r1", "r4", topo.IPv4, "10.255.0.4/32 via 10.0.3.1 dev r1-eth1 metric 50"},
		{"r1", "r2", topo.IPv4, "10.255.0.2/32 via 10.0.3.1 dev r1-eth1 metric 70"},
		{"r2", "r1", topo.IPv6, "2001:db8:ffff::1/128 via 2001:db8:1::2 dev r2-eth1 metric 70"},
	} {
		if got := route(c.at, c.to, c.f); got != c.want {
			t.Errorf("r1 - r2 down: %s to %s: %q, want %q", c.at, c.to, got, c.want)
		}
	}
	pingLoopbacks(t, l, m.Router("r1").AS)

	// Up again: the routes are back as they were.
	changed, err = l.SetLinkChanged(k, true)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"r1", "r2", "r3", "r4"}, changed); diff != "" {
		t.Errorf("routers changed by r1 - r2 up (-want +got):\n%s", diff)
	}
	for _, r := range m.Routers {
		if diff := cmp.Diff(routeStrings(before[r.Name]), routeStrings(l.Underlay(r.Name))); diff != "" {
			t.Errorf("%s after down and up (-before +after):\n%s", r.Name, diff)
		}
	}
	checkKernel(t, l)
	pingLoopbacks(t, l, m.Router("r1").AS)

	// One end down takes the link out as well; r3 - r4 is on no path
	// from r1 to r2, so only the routes to it and through it change.
	k = m.Links[2]
	changed, err = l.SetInterfaceChanged(k.B, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(changed) == 0 {
		t.Error("r3 - r4 down on one side changed no router")
	}
	checkKernel(t, l)
	if got, want := route("r3", "r4", topo.IPv4), "10.255.0.4/32 via 10.0.1.1 dev r3-eth0 metric 70"; got != want {
		t.Errorf("r4-eth0 down: r3 to r4: %q, want %q", got, want)
	}
	pingLoopbacks(t, l, m.Router("r1").AS)
	if _, err := l.SetInterfaceChanged(k.B, true); err != nil {
		t.Fatal(err)
	}
	checkKernel(t, l)
	if got, want := route("r3", "r4", topo.IPv4), "10.255.0.4/32 via 10.0.2.2 dev r3-eth1 metric 10"; got != want {
		t.Errorf("r4-eth0 up: r3 to r4: %q, want %q", got, want)
	}
	// A change that changes nothing: a link that is up set up again.
	if changed, err := l.SetLinkChanged(m.Links[1], true); err != nil || len(changed) != 0 {
		t.Errorf("r2 - r3 up again: changed %v, %v; want none", changed, err)
	}

	// A blackholed link keeps its carrier: the underlay keeps using it,
	// and what it carries is lost.
	if err := l.Blackhole(m.Links[0], true); err != nil {
		t.Fatal(err)
	}
	for _, r := range m.Routers {
		if diff := cmp.Diff(routeStrings(before[r.Name]), routeStrings(l.Underlay(r.Name))); diff != "" {
			t.Errorf("%s with r1 - r2 blackholed (-before +after):\n%s", r.Name, diff)
		}
	}
	checkKernel(t, l)
	if err := noPing(l, "r1", lo("r2", topo.IPv4).String()); err != nil {
		t.Error(err)
	}
	if err := l.Blackhole(m.Links[0], false); err != nil {
		t.Fatal(err)
	}
	poll(t, 10*time.Second, "ping after restore", func() error {
		return pingFrom(l, "r1", lo("r1", topo.IPv4), lo("r2", topo.IPv4))
	})
	// Each operation closed the sockets it opened.
	if st := l.LinkStatus(m.Links[0]); !st.Up() {
		t.Errorf("r1 - r2 after all that: %+v", st)
	}
	noSocketsIn(t, l)
}

// TestUnderlayRepairs: a route deleted by hand comes back at the next
// recomputation, and one added by hand with our protocol goes.
func TestUnderlayRepairs(t *testing.T) {
	needRoot(t)
	m := ringModel(newLabName(t), [4]int{10, 10, 10, 10})
	l, _ := buildLab(t, m)
	nodeHandle(t, l, "r3", func(h *netlink.Handle) error {
		rs, err := h.RouteListFiltered(netlink.FAMILY_V4, &netlink.Route{Protocol: UnderlayProtocol}, netlink.RT_FILTER_PROTOCOL)
		if err != nil || len(rs) == 0 {
			return fmt.Errorf("%d routes, %v", len(rs), err)
		}
		if err := h.RouteDel(&rs[0]); err != nil {
			return err
		}
		extra := rs[0]
		extra.Dst = prefixIPNet(netip.MustParsePrefix("192.0.2.0/24"))
		return h.RouteAdd(&extra)
	})
	// Both ends of r1 - r2 are up already: nothing changes but the repair.
	changed, err := l.SetLinkChanged(m.Links[0], true)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"r3"}, changed); diff != "" {
		t.Errorf("changed (-want +got):\n%s", diff)
	}
	checkKernel(t, l)
}

// TestUnderlayTransitAS builds topologies/transit-as.yaml: every loopback
// of AS 65000 is reachable from every router of it, the border subnets are
// carried, and p1 reaches p4 the cheap way (a tie at 30 both ways round:
// the first link of the file, p1 - p2, wins).
func TestUnderlayTransitAS(t *testing.T) {
	needRoot(t)
	m, err := topo.LoadAs("../topologies/transit-as.yaml", newLabName(t))
	if err != nil {
		t.Fatal(err)
	}
	l, _ := buildLab(t, m)
	checkKernel(t, l)
	var as *topo.AS
	for _, a := range m.ASes {
		if a.Number == 65000 {
			as = a
		}
	}
	if as == nil || len(as.Routers) != 4 {
		t.Fatalf("AS 65000: %v", as)
	}
	pingLoopbacks(t, l, as)
	p4 := netip.MustParsePrefix("192.168.255.4/32")
	i := slices.IndexFunc(l.Underlay("p1"), func(r UnderlayRoute) bool { return r.Dst == p4 })
	if i < 0 {
		t.Fatalf("p1 has no route to %v", p4)
	}
	if r := l.Underlay("p1")[i]; r.Dev != "p1-eth0" || r.Metric != 30 {
		t.Errorf("p1 to p4: %+v, want dev p1-eth0 (towards p2) metric 30", r)
	}
	// p2 reaches the customers' side of both border links.
	for _, k := range append(m.LinkBetween("ca", "p1"), m.LinkBetween("p3", "cb")...) {
		for _, f := range []topo.Family{topo.IPv4, topo.IPv6} {
			p, ok := k.A.Addr(f)
			if !ok {
				continue
			}
			if !slices.ContainsFunc(l.Underlay("p2"), func(r UnderlayRoute) bool { return r.Dst == p.Masked() }) {
				t.Errorf("p2 has no route to the border subnet %v of %v", p.Masked(), k)
			}
		}
	}
	for _, r := range []string{"ca", "cb"} {
		if rs := l.Underlay(r); rs != nil {
			t.Errorf("%s, alone in its AS: %v", r, rs)
		}
	}
}
