package main

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netlink"

	"lab/grade"
	"lab/speaker"
	"lab/topo"
)

// The tests of this file run transit ASes of several routers (iBGP between
// loopbacks over the lab's underlay): full mesh, one route reflector, two
// reflectors of one cluster, next-hop-self off, and hot-potato routing.

// The transit AS of the chain labs: p1 - p2 - p3 - p4, router IDs 10.0.0.N
// and loopbacks 192.168.255.N and fd00:255::N, so that ORIGINATOR_ID and
// CLUSTER_LIST can be written in the tests.
const transitAS = 65000

func routerID(n int) netip.Addr { return netip.AddrFrom4([4]byte{10, 0, 0, byte(n)}) }
func loop4(n int) netip.Addr    { return netip.AddrFrom4([4]byte{192, 168, 255, byte(n)}) }
func loop6(n int) netip.Addr {
	return netip.MustParseAddr("fd00:255::" + strconv.Itoa(n))
}

// chainOpts says how the chain lab's transit AS runs iBGP.
type chainOpts struct {
	ibgp  string   // full-mesh or route-reflector
	rr    []string // reflectors
	nhOff []string // routers with next-hop-self: false
}

// chainYAML is an AS of four routers in a chain, p1 - p2 - p3 - p4, and
// two customer ASes at its ends: ca (AS 65001, host ha) on p1 and cb (AS
// 65002, host hb) on p4; p2 has a host, hp. Addresses are allocated
// (IPv4 and IPv6).
func chainYAML(o chainOpts) string {
	var b strings.Builder
	fmt.Fprintf(&b, "name: chain\nases:\n  %d: {name: transit, ibgp: %s}\nrouters:\n", transitAS, o.ibgp)
	for n := 1; n <= 4; n++ {
		name := fmt.Sprintf("p%d", n)
		fmt.Fprintf(&b, "  %s: {as: %d, router-id: %v, loopback: [%v, %q]", name, transitAS, routerID(n), loop4(n), loop6(n).String())
		if slices.Contains(o.rr, name) {
			b.WriteString(", rr: true")
		}
		if slices.Contains(o.nhOff, name) {
			b.WriteString(", next-hop-self: false")
		}
		if n == 2 {
			b.WriteString(", hosts: [hp]")
		}
		b.WriteString("}\n")
	}
	b.WriteString(`  ca: {as: 65001, router-id: 10.0.1.1, hosts: [ha]}
  cb: {as: 65002, router-id: 10.0.2.1, hosts: [hb]}
links:
  - [p1, p2]
  - [p2, p3]
  - [p3, p4]
  - [ca, p1]
  - [p4, cb]
`)
	return b.String()
}

// writeTopo writes a topology to a file of the test's and returns its
// path.
func writeTopo(t *testing.T, name, src string) string {
	t.Helper()
	f := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(f, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return f
}

// upFile starts the lab detached from a topology file, waits until it has
// converged, and returns its model; the lab is taken down, and checked
// gone, at the end of the test.
func (l *testLab) upFile(file string) *topo.Lab {
	l.t.Helper()
	m, err := topo.LoadAs(file, l.name)
	if err != nil {
		l.t.Fatal(err)
	}
	l.must("up", "-d", "--name", l.name, file)
	pid := l.daemonPID()
	l.t.Cleanup(func() {
		if l.t.Failed() {
			l.t.Log(l.daemonLog())
		}
		l.must("down", l.name)
		l.assertGone(pid)
	})
	l.must("cmd", l.name, "wait 30")
	return m
}

// bgpRoutes is a router's `show bgp ipv4|ipv6 PREFIX` for each prefix,
// in one `lab cmd`; a prefix the router does not have gives a Route
// without paths.
func (l *testLab) bgpRoutes(router string, ps ...netip.Prefix) []speaker.Route {
	l.t.Helper()
	var lines []string
	for _, p := range ps {
		fam := "ipv4"
		if p.Addr().Is6() {
			fam = "ipv6"
		}
		lines = append(lines, fmt.Sprintf("%s show bgp %s %v", router, fam, p))
	}
	out := make([]speaker.Route, len(ps))
	for i, raw := range l.jsonLines(lines...) {
		rt, err := routeFromJSON(raw)
		if err != nil || (len(rt.Paths) > 0 && rt.Prefix != ps[i]) {
			l.t.Fatalf("%s: %v: %s", lines[i], err, raw)
		}
		out[i] = rt
	}
	return out
}

// jsonLines runs shell command lines in one `lab cmd --json` (a process
// per command would cost a second each under the race detector) and
// returns each one's JSON result, null for one that failed.
func (l *testLab) jsonLines(lines ...string) []json.RawMessage {
	l.t.Helper()
	out, errs, _ := l.run(nil, append([]string{"cmd", "--json", l.name}, lines...)...)
	dec := json.NewDecoder(strings.NewReader(out))
	var res []json.RawMessage
	for dec.More() {
		var m json.RawMessage
		if err := dec.Decode(&m); err != nil {
			l.t.Fatalf("%q: bad JSON: %v\n%s%s", lines, err, out, errs)
		}
		res = append(res, m)
	}
	if len(res) != len(lines) {
		l.t.Fatalf("%q: %d results\n%s%s", lines, len(res), out, errs)
	}
	return res
}

// bgpTables is routers' BGP tables, both families: their routes by
// router and prefix.
type bgpTables map[string]map[netip.Prefix]speaker.Route

// tables reads the routers' tables.
func (l *testLab) tables(routers ...string) bgpTables {
	l.t.Helper()
	var lines []string
	for _, r := range routers {
		lines = append(lines, r+" show bgp ipv4", r+" show bgp ipv6")
	}
	// The table's JSON (FRR's) lacks what the tests look at (route
	// reflection's attributes, IGP costs): each prefix's is read too.
	out := bgpTables{}
	var detail []string
	var owners []string
	for i, raw := range l.jsonLines(lines...) {
		tab, err := grade.ParseTable(raw)
		if err != nil {
			l.t.Fatalf("%s: %v: %s", lines[i], err, raw)
		}
		r := routers[i/2]
		if out[r] == nil {
			out[r] = map[netip.Prefix]speaker.Route{}
		}
		for _, rt := range tab.Routes {
			p := rt.Prefix
			fam := "ipv4"
			if p.Addr().Is6() {
				fam = "ipv6"
			}
			detail = append(detail, fmt.Sprintf("%s show bgp %s %v", r, fam, p))
			owners = append(owners, r)
		}
	}
	if len(detail) == 0 {
		return out
	}
	for i, raw := range l.jsonLines(detail...) {
		rt, err := routeFromJSON(raw)
		if err != nil {
			l.t.Fatalf("%s: %v", detail[i], err)
		}
		if len(rt.Paths) > 0 {
			out[owners[i]][rt.Prefix] = rt
		}
	}
	return out
}

// route is router's route to p: no paths when it has none.
func (b bgpTables) route(router string, p netip.Prefix) speaker.Route { return b[router][p] }

// routerNames are the names of the lab's routers.
func routerNames(m *topo.Lab) []string {
	var out []string
	for _, r := range m.Routers {
		out = append(out, r.Name)
	}
	return out
}

// lanPrefixes returns the prefixes the routers originate (their hosts'
// LANs), by router.
func lanPrefixes(m *topo.Lab) map[string][]netip.Prefix {
	out := map[string][]netip.Prefix{}
	for _, r := range m.Routers {
		for _, o := range r.Originate {
			out[r.Name] = append(out[r.Name], o.Prefix)
		}
	}
	return out
}

// everyRouterHasEveryPrefix checks that each router of the lab has a valid
// best path to every prefix another router originates, and a kernel route
// of ours (protocol 200) to it.
func (l *testLab) everyRouterHasEveryPrefix(m *topo.Lab) {
	l.t.Helper()
	pfx := lanPrefixes(m)
	tb := l.tables(routerNames(m)...)
	for _, r := range m.Routers {
		var want []netip.Prefix
		for o, ps := range pfx {
			if o != r.Name {
				want = append(want, ps...)
			}
		}
		for _, p := range want {
			rt := tb.route(r.Name, p)
			if b := rt.Best(); b == nil || !b.Valid {
				l.t.Errorf("%s has no valid best path to %v: %+v", r.Name, p, rt.Paths)
			}
		}
		eventually(l.t, 10*time.Second, r.Name+"'s kernel routes to every prefix", func() error {
			for _, fam := range []int{netlink.FAMILY_V4, netlink.FAMILY_V6} {
				rs, err := l.kernelRoutes(r.Name, fam)
				if err != nil {
					return err
				}
				for _, p := range want {
					if _, ok := rs[p]; !ok && (p.Addr().Is4() == (fam == netlink.FAMILY_V4)) {
						return fmt.Errorf("no kernel route to %v", p)
					}
				}
			}
			return nil
		})
	}
}

// pingallClean runs pingall and fails the test unless nothing is lost.
func (l *testLab) pingallClean() {
	l.t.Helper()
	out := l.must("cmd", l.name, "pingall")
	if !strings.Contains(out, "*** Results: 0% dropped") {
		l.t.Errorf("pingall:\n%s", out)
	}
}

// ibgpPeers returns each router's Established iBGP neighbours (both
// families), with how many times each reached Established; a neighbour
// in another state fails the test.
func (l *testLab) ibgpPeers(routers ...string) map[string]map[netip.Addr]int {
	l.t.Helper()
	var lines []string
	for _, r := range routers {
		lines = append(lines, r+" show bgp neighbors")
	}
	out := map[string]map[netip.Addr]int{}
	for i, raw := range l.jsonLines(lines...) {
		ns, err := grade.ParseNeighbors(raw)
		if err != nil {
			l.t.Fatalf("%s: %v: %s", lines[i], err, raw)
		}
		r := routers[i]
		out[r] = map[netip.Addr]int{}
		for _, n := range ns {
			if !n.Internal {
				continue
			}
			if n.State != "Established" {
				l.t.Errorf("%s: iBGP neighbour %v is %v", r, n.Addr, n.State)
				continue
			}
			out[r][n.Addr] = n.ConnectionsEstablished
		}
	}
	return out
}

// loopbacks returns the loopbacks of the transit routers named, both
// families, sorted.
func loopbacks(routers ...int) []netip.Addr {
	var out []netip.Addr
	for _, n := range routers {
		out = append(out, loop4(n), loop6(n))
	}
	slices.SortFunc(out, netip.Addr.Compare)
	return out
}

func sortedKeys(m map[netip.Addr]int) []netip.Addr {
	var out []netip.Addr
	for a := range m {
		out = append(out, a)
	}
	slices.SortFunc(out, netip.Addr.Compare)
	return out
}

// TestTransitChain: an AS of four routers in a chain carries two customer
// ASes' routes and traffic, run three ways. In each, the iBGP sessions
// are the mode's (between loopbacks, over the underlay), every router has
// a valid path and a kernel route to every prefix, and every host reaches
// every host over IPv4 and IPv6.
//
//   - full-mesh: six sessions per family; every path is learned from its
//     border router and carries no ORIGINATOR_ID nor CLUSTER_LIST.
//   - one reflector (p2): the clients peer with p2 only; a route learned
//     by a client reaches the other clients reflected, with the client as
//     ORIGINATOR_ID, CLUSTER_LIST [p2's router ID] and the border router's
//     next hop kept; nothing comes back to the client it came from.
//   - two reflectors of one cluster (p2, p3; cluster ID the lower router
//     ID, p2's): clients get each route from both reflectors; a reflector
//     drops the copy the other reflects to it (its cluster ID is in the
//     CLUSTER_LIST, RFC 4456 section 8); nothing comes back to the router
//     it came from; between two copies of p2's own route at p4, the one
//     not reflected wins on CLUSTER_LIST length; neither attribute leaves
//     the AS.
func TestTransitChain(t *testing.T) {
	for _, tc := range []struct {
		name  string
		opts  chainOpts
		peers map[string][]int // each transit router's iBGP peers
		check func(t *testing.T, tb bgpTables, m *topo.Lab)
	}{
		{
			name:  "full-mesh",
			opts:  chainOpts{ibgp: "full-mesh"},
			peers: map[string][]int{"p1": {2, 3, 4}, "p2": {1, 3, 4}, "p3": {1, 2, 4}, "p4": {1, 2, 3}},
			check: checkFullMesh,
		},
		{
			name:  "one-reflector",
			opts:  chainOpts{ibgp: "route-reflector", rr: []string{"p2"}},
			peers: map[string][]int{"p1": {2}, "p2": {1, 3, 4}, "p3": {2}, "p4": {2}},
			check: checkOneReflector,
		},
		{
			name:  "two-reflectors",
			opts:  chainOpts{ibgp: "route-reflector", rr: []string{"p2", "p3"}},
			peers: map[string][]int{"p1": {2, 3}, "p2": {1, 3, 4}, "p3": {1, 2, 4}, "p4": {2, 3}},
			check: checkTwoReflectors,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := newTestLab(t)
			m := l.upFile(writeTopo(t, "chain.yaml", chainYAML(tc.opts)))
			peers := l.ibgpPeers("p1", "p2", "p3", "p4")
			for r, ns := range tc.peers {
				if got, want := sortedKeys(peers[r]), loopbacks(ns...); !slices.Equal(got, want) {
					t.Errorf("%s's Established iBGP neighbours: %v, want %v", r, got, want)
				}
			}
			l.everyRouterHasEveryPrefix(m)
			l.pingallClean()
			tc.check(t, l.tables("p1", "p2", "p3", "p4", "cb"), m)
		})
	}
}

// chainPrefixes are the LAN prefixes of ca, cb and p2 in the chain lab.
func chainPrefixes(t *testing.T, m *topo.Lab) (ca, cb, p2 []netip.Prefix) {
	t.Helper()
	pfx := lanPrefixes(m)
	if len(pfx["ca"]) != 2 || len(pfx["cb"]) != 2 || len(pfx["p2"]) != 2 {
		t.Fatalf("the chain lab's LAN prefixes: %v", pfx)
	}
	return pfx["ca"], pfx["cb"], pfx["p2"]
}

// loopOf is transit router n's loopback of p's family.
func loopOf(n int, p netip.Prefix) netip.Addr {
	if p.Addr().Is4() {
		return loop4(n)
	}
	return loop6(n)
}

// pathFrom returns the path of r learned from peer, or nil.
func pathFrom(r speaker.Route, peer netip.Addr) *speaker.PathView {
	for i := range r.Paths {
		if r.Paths[i].Peer == peer {
			return &r.Paths[i]
		}
	}
	return nil
}

// describe lists a route's paths for failure messages.
func describe(r speaker.Route) string {
	var b strings.Builder
	for _, p := range r.Paths {
		fmt.Fprintf(&b, "\n  from %v nh %v valid %v best %v originator %v clusters %v igp %d reason %q",
			p.Peer, p.NextHop, p.Valid, p.Best, p.OriginatorID, p.ClusterList, p.IGPMetric, p.SelectionReason)
	}
	return b.String()
}

func checkFullMesh(t *testing.T, tb bgpTables, m *topo.Lab) {
	ca, cb, _ := chainPrefixes(t, m)
	for _, r := range []string{"p2", "p3", "p4"} {
		for _, p := range ca {
			rt := tb.route(r, p)
			b := rt.Best()
			if len(rt.Paths) != 1 || b == nil || b.Peer != loopOf(1, p) || b.NextHop != loopOf(1, p) ||
				b.OriginatorID.IsValid() || len(b.ClusterList) > 0 {
				t.Errorf("%s's paths to %v: want one, from p1, next hop p1's loopback, not reflected:%s", r, p, describe(rt))
			}
		}
	}
	for _, p := range cb {
		rt := tb.route("p1", p)
		if b := rt.Best(); len(rt.Paths) != 1 || b == nil || b.Peer != loopOf(4, p) || b.NextHop != loopOf(4, p) {
			t.Errorf("p1's paths to %v: want one, from p4, next hop p4's loopback:%s", p, describe(rt))
		}
	}
}

func checkOneReflector(t *testing.T, tb bgpTables, m *topo.Lab) {
	ca, cb, _ := chainPrefixes(t, m)
	cluster := []netip.Addr{routerID(2)}
	// ca's routes: learned by the client p1, reflected by p2 to p3 and p4.
	for _, p := range ca {
		rt := tb.route("p2", p)
		if b := rt.Best(); len(rt.Paths) != 1 || b == nil || b.Peer != loopOf(1, p) || b.OriginatorID.IsValid() || len(b.ClusterList) > 0 {
			t.Errorf("the reflector p2's paths to %v: want one, from p1, no reflection attributes:%s", p, describe(rt))
		}
		for _, r := range []string{"p3", "p4"} {
			rt := tb.route(r, p)
			b := rt.Best()
			if len(rt.Paths) != 1 || b == nil || b.Peer != loopOf(2, p) || b.NextHop != loopOf(1, p) ||
				b.OriginatorID != routerID(1) || !slices.Equal(b.ClusterList, cluster) {
				t.Errorf("%s's paths to %v: want one, from p2, next hop p1's loopback, ORIGINATOR_ID %v, CLUSTER_LIST %v:%s",
					r, p, routerID(1), cluster, describe(rt))
			}
		}
		// Not reflected back to where it came from.
		if rt := tb.route("p1", p); len(rt.Paths) != 1 || rt.Paths[0].Internal {
			t.Errorf("p1's paths to %v: want only its eBGP one:%s", p, describe(rt))
		}
	}
	// cb's routes, the other way.
	for _, p := range cb {
		rt := tb.route("p1", p)
		if b := rt.Best(); len(rt.Paths) != 1 || b == nil || b.NextHop != loopOf(4, p) ||
			b.OriginatorID != routerID(4) || !slices.Equal(b.ClusterList, cluster) {
			t.Errorf("p1's paths to %v: want one, next hop p4's loopback, ORIGINATOR_ID %v, CLUSTER_LIST %v:%s",
				p, routerID(4), cluster, describe(rt))
		}
	}
}

func checkTwoReflectors(t *testing.T, tb bgpTables, m *topo.Lab) {
	ca, _, p2 := chainPrefixes(t, m)
	// The AS's cluster ID: the lower router ID of the two reflectors.
	cluster := []netip.Addr{routerID(2)}
	for _, p := range ca {
		// The client p4 gets p1's route from both reflectors.
		rt := tb.route("p4", p)
		if len(rt.Paths) != 2 {
			t.Errorf("p4's paths to %v: want two, from p2 and p3:%s", p, describe(rt))
		}
		for _, rr := range []int{2, 3} {
			x := pathFrom(rt, loopOf(rr, p))
			if x == nil || !x.Valid || x.NextHop != loopOf(1, p) || x.OriginatorID != routerID(1) || !slices.Equal(x.ClusterList, cluster) {
				t.Errorf("p4's path to %v from p%d: want valid, next hop p1's loopback, ORIGINATOR_ID %v, CLUSTER_LIST %v:%s",
					p, rr, routerID(1), cluster, describe(rt))
			}
		}
		// Each reflector has p1's path only: the other's reflected copy
		// carries their common cluster ID.
		for _, rr := range []string{"p2", "p3"} {
			rt := tb.route(rr, p)
			if len(rt.Paths) != 1 || rt.Paths[0].Peer != loopOf(1, p) {
				t.Errorf("the reflector %s's paths to %v: want p1's only (the other reflector's copy is a cluster loop):%s", rr, p, describe(rt))
			}
		}
		if rt := tb.route("p1", p); len(rt.Paths) != 1 || rt.Paths[0].Internal {
			t.Errorf("p1's paths to %v: want only its eBGP one:%s", p, describe(rt))
		}
		// ORIGINATOR_ID and CLUSTER_LIST stay in the AS (RFC 4456 section
		// 8: p4 does not send them to cb).
		if rt := tb.route("cb", p); len(rt.Paths) != 1 || rt.Paths[0].OriginatorID.IsValid() || len(rt.Paths[0].ClusterList) > 0 {
			t.Errorf("cb's paths to %v: want one, without reflection attributes:%s", p, describe(rt))
		}
	}
	for _, p := range p2 {
		// p2's own route: sent by p2 to its clients as it is, and
		// reflected by p3 (p2 is p3's non-client peer) to them too.
		rt := tb.route("p4", p)
		direct, refl := pathFrom(rt, loopOf(2, p)), pathFrom(rt, loopOf(3, p))
		switch {
		case len(rt.Paths) != 2 || direct == nil || refl == nil:
			t.Errorf("p4's paths to p2's %v: want two, from p2 and from p3:%s", p, describe(rt))
		case direct.OriginatorID.IsValid() || len(direct.ClusterList) > 0 || !direct.Best:
			t.Errorf("p4's path to %v from p2: want best, not reflected:%s", p, describe(rt))
		case refl.OriginatorID != routerID(2) || !slices.Equal(refl.ClusterList, cluster):
			t.Errorf("p4's path to %v from p3: want ORIGINATOR_ID %v, CLUSTER_LIST %v:%s", p, routerID(2), cluster, describe(rt))
		case direct.SelectionReason != "Cluster length":
			t.Errorf("p4's best path to %v: chosen by %q, want \"Cluster length\":%s", p, direct.SelectionReason, describe(rt))
		}
		// p3 reflects it to its clients but not back to p2 (a non-client),
		// and p2 would drop it anyway: it is the ORIGINATOR_ID.
		if rt := tb.route("p2", p); len(rt.Paths) != 1 || !rt.Paths[0].Local {
			t.Errorf("p2's paths to its own %v: want its own only:%s", p, describe(rt))
		}
	}
}

// shownRoute is a route of `ROUTER show ip|ipv6 route`.
type shownRoute struct {
	Code   string
	Prefix netip.Prefix
	Via    netip.Addr
	Dev    string
	Metric uint32
}

// shownRoute returns router's route to p as `show ip route` shows it, or
// nil.
func (l *testLab) shownRoute(router string, p netip.Prefix) *shownRoute {
	l.t.Helper()
	cmd := " show ip route"
	if p.Addr().Is6() {
		cmd = " show ipv6 route"
	}
	var raw json.RawMessage
	l.jsonCmd(router+cmd, &raw)
	rs, err := grade.ParseKernelRoutes(raw)
	if err != nil {
		l.t.Fatalf("%s%s: %v", router, cmd, err)
	}
	for _, r := range rs {
		if r.Prefix != p {
			continue
		}
		// The text's codes: G for the lab's underlay, as FRR's zebra
		// writes O for OSPF.
		codes := map[string]string{"underlay": "G", "bgp": "B", "connected": "C", "kernel": "K", "static": "S"}
		sr := &shownRoute{Code: codes[r.Protocol], Prefix: r.Prefix, Metric: uint32(r.Metric)}
		if len(r.Via) > 0 {
			sr.Via = r.Via[0]
		}
		if len(r.Devs) > 0 {
			sr.Dev = r.Devs[0]
		}
		return sr
	}
	return nil
}

// bestVia waits until router's best path to each prefix is valid and
// has the next hop given, and is in the kernel; a zero next hop waits
// until the prefix has one path, invalid, and no kernel route.
func (l *testLab) bestVia(router string, want map[netip.Prefix]netip.Addr) {
	l.t.Helper()
	var ps []netip.Prefix
	for p := range want {
		ps = append(ps, p)
	}
	slices.SortFunc(ps, func(a, b netip.Prefix) int { return a.Addr().Compare(b.Addr()) })
	eventually(l.t, 10*time.Second, fmt.Sprintf("%s's paths to %v via %v", router, ps, want), func() error {
		k4, err := l.kernelRoutes(router, netlink.FAMILY_V4)
		if err != nil {
			return err
		}
		k6, err := l.kernelRoutes(router, netlink.FAMILY_V6)
		if err != nil {
			return err
		}
		for i, rt := range l.bgpRoutes(router, ps...) {
			p, nh := ps[i], want[ps[i]]
			b := rt.Best()
			switch {
			case !nh.IsValid() && b != nil:
				return fmt.Errorf("%v: a best path:%s", p, describe(rt))
			case !nh.IsValid() && (len(rt.Paths) != 1 || rt.Paths[0].Valid):
				return fmt.Errorf("%v: not one invalid path:%s", p, describe(rt))
			case nh.IsValid() && (b == nil || !b.Valid || b.NextHop != nh):
				return fmt.Errorf("%v: paths:%s", p, describe(rt))
			case nh.IsValid() && b.LinkLocal.IsValid():
				// iBGP between loopbacks: no link is shared.
				return fmt.Errorf("%v: best path with a link-local next hop %v", p, b.LinkLocal)
			}
			_, in4 := k4[p]
			_, in6 := k6[p]
			if in := in4 || in6; in != nh.IsValid() {
				return fmt.Errorf("kernel route to %v: %v", p, in)
			}
		}
		return nil
	})
}

// TestNextHopSelfOff: with `next-hop-self: false` on the border router p1,
// p2's path to ca's LAN keeps ca's own address (on the p1-ca link) as its
// next hop, and is valid only because the underlay carries that border
// subnet to p2. The test takes that route out of p2's kernel by hand, as
// an IGP that did not carry the subnet would leave p2 (a user types the
// same: `p2 ip route del SUBNET`, then `p2 clear bgp * soft` so that the
// speaker reads its kernel again):
//
//   - the path goes invalid, its kernel route goes, hp no longer reaches
//     ha; cb's path (p4 keeps next-hop-self, next hop p4's loopback) stays
//     valid, and p3's path to ca stays valid (its kernel still has the
//     subnet);
//   - next-hop-self put back on p1 (`lab apply`, no session reset) makes
//     the path valid again through p1's loopback, without the subnet;
//   - next-hop-self off again: invalid again;
//   - the subnet's route put back (as the underlay had it): valid again,
//     through ca's address, and hp reaches ha.
//
// Both families, the IPv6 next hop being ca's global address (the
// link-local one is dropped on the way to iBGP).
func TestNextHopSelfOff(t *testing.T) {
	l := newTestLab(t)
	src := chainYAML(chainOpts{ibgp: "full-mesh", nhOff: []string{"p1"}})
	file := writeTopo(t, "chain.yaml", src)
	m := l.upFile(file)
	ca, cb, _ := chainPrefixes(t, m)

	// ca's address on the p1-ca link is the next hop; its subnet is a G
	// (underlay) route of p2's.
	var border []netip.Prefix
	viaCA, viaP1, viaP4 := map[netip.Prefix]netip.Addr{}, map[netip.Prefix]netip.Addr{}, map[netip.Prefix]netip.Addr{}
	invalid := map[netip.Prefix]netip.Addr{}
	for _, p := range ca {
		a := linkPrefix(t, m, "ca", "p1", topo.FamilyOf(p.Addr()))
		viaCA[p], viaP1[p], invalid[p] = a.Addr(), loopOf(1, p), netip.Addr{}
		border = append(border, a.Masked())
	}
	for _, p := range cb {
		viaP4[p] = loopOf(4, p)
	}
	l.bestVia("p2", viaCA)
	saved := map[netip.Prefix]*shownRoute{}
	for _, b := range border {
		g := l.shownRoute("p2", b)
		if g == nil || g.Code != "G" {
			t.Fatalf("p2 has no underlay route to the border subnet %v: %+v", b, g)
		}
		saved[b] = g
	}
	ping := func() error {
		_, _, code := l.run(nil, "cmd", l.name, "hp ping -c1 -W1 ha")
		if code != 0 {
			return fmt.Errorf("hp ping ha: exit %d", code)
		}
		return nil
	}
	if err := ping(); err != nil {
		t.Fatal(err)
	}

	// Without the border subnets, p2 cannot resolve ca's address.
	var del []string
	for _, b := range border {
		del = append(del, fmt.Sprintf("p2 ip route del %v", b))
	}
	l.must(append([]string{"cmd", l.name}, append(del, "p2 clear bgp * soft")...)...)
	l.bestVia("p2", invalid)
	l.bestVia("p2", viaP4)
	for i, rt := range l.bgpRoutes("p3", ca...) {
		if b := rt.Best(); b == nil || !b.Valid || b.NextHop != viaCA[ca[i]] {
			t.Errorf("p3's path to %v is not valid through ca's address: the subnet is gone from p2 only:%s", ca[i], describe(rt))
		}
	}
	if err := ping(); err == nil {
		t.Error("hp reaches ha without a route to ca's LAN")
	}

	// next-hop-self on p1 again: p1's loopback is the next hop.
	withNHS := writeTopo(t, "nhs.yaml", chainYAML(chainOpts{ibgp: "full-mesh"}))
	out := l.must("apply", l.name, withNHS)
	if !strings.Contains(out, "next-hop-self") || !strings.Contains(out, "0 sessions reset") {
		t.Errorf("apply next-hop-self said:\n%s", out)
	}
	l.bestVia("p2", viaP1)
	eventually(t, 10*time.Second, "hp reaching ha with next-hop-self", ping)
	l.must("apply", l.name, file)
	l.bestVia("p2", invalid)

	// The border subnets reachable again.
	var add []string
	for _, b := range border {
		g := saved[b]
		add = append(add, fmt.Sprintf("p2 ip route add %v via %v dev %s proto 201 metric %d onlink", b, g.Via, g.Dev, g.Metric))
	}
	l.must(append([]string{"cmd", l.name}, append(add, "p2 clear bgp * soft")...)...)
	l.bestVia("p2", viaCA)
	eventually(t, 10*time.Second, "hp reaching ha again", ping)
}

// hotPotatoYAML is a ring of four routers, p1 - p2 - p3 - p4 - p1, with
// the given cost on p1-p2, 20 on p2-p3 and 10 on the others; a customer
// AS, cd (AS 65003, host hd), is linked to both p1 and p3, and p2 has a
// host, hs. From p2, cd's routes arrive through p1 and through p3, equal
// in everything but the IGP cost to their next hops (the two borders'
// loopbacks).
// With reflector, p2 is the AS's route reflector instead of a full mesh.
func hotPotatoYAML(cost12 int, reflector bool) string {
	var b strings.Builder
	ibgp := "full-mesh"
	if reflector {
		ibgp = "route-reflector"
	}
	fmt.Fprintf(&b, "name: hot-potato\nases:\n  %d: {name: transit, ibgp: %s}\nrouters:\n", transitAS, ibgp)
	for n := 1; n <= 4; n++ {
		fmt.Fprintf(&b, "  p%d: {as: %d, router-id: %v, loopback: [%v, %q]", n, transitAS, routerID(n), loop4(n), loop6(n).String())
		if n == 2 {
			b.WriteString(", hosts: [hs]")
			if reflector {
				b.WriteString(", rr: true")
			}
		}
		b.WriteString("}\n")
	}
	fmt.Fprintf(&b, `  cd: {as: 65003, router-id: 10.0.3.1, hosts: [hd]}
links:
  - {endpoints: [p1, p2], cost: %d}
  - {endpoints: [p2, p3], cost: 20}
  - [p3, p4]
  - [p4, p1]
  - [cd, p1]
  - [cd, p3]
`, cost12)
	return b.String()
}

// linkPrefix is router's address of family f on its link to peer, with
// the link's prefix length.
func linkPrefix(t *testing.T, m *topo.Lab, router, peer string, f topo.Family) netip.Prefix {
	t.Helper()
	for _, i := range m.Router(router).Node.Interfaces {
		if i.Link != nil && i.Link.LAN == nil && i.Link.Other(i).Node.Name == peer {
			if a, ok := i.Addr(f); ok {
				return a
			}
		}
	}
	t.Fatalf("%s has no %v address towards %s", router, f, peer)
	return netip.Prefix{}
}

// linkAddr is linkPrefix's address.
func linkAddr(t *testing.T, m *topo.Lab, router, peer string, f topo.Family) netip.Addr {
	t.Helper()
	return linkPrefix(t, m, router, peer, f).Addr()
}

// traceHops runs `SRC traceroute -n -q1 -w1 DST` in the lab and returns
// the address of every hop ("*" for one that did not answer).
func (l *testLab) traceHops(src, dst string) []string {
	l.t.Helper()
	out := l.must("cmd", l.name, fmt.Sprintf("%s traceroute -n -q1 -w1 %s", src, dst))
	var hops []string
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		if _, err := strconv.Atoi(f[0]); err == nil {
			hops = append(hops, f[1])
		}
	}
	return hops
}

// exitThrough waits until hs's traceroute to hd leaves the transit AS at
// border (p1 or p3): four hops, p2, then border's address on its link to
// p2 (the address it answers from), then cd, then hd.
func (l *testLab) exitThrough(m *topo.Lab, border string) {
	l.t.Helper()
	hop2 := linkAddr(l.t, m, border, "p2", topo.IPv4).String()
	eventually(l.t, 15*time.Second, "hs's traffic to hd leaving through "+border, func() error {
		hops := l.traceHops("hs", "hd")
		if len(hops) != 4 || hops[1] != hop2 {
			return fmt.Errorf("hops %v, want 4 with %s (%s) second", hops, hop2, border)
		}
		return nil
	})
}

// exitPath checks p2's best path to cd's prefixes: through border's
// loopback, at IGP cost igp, chosen on IGP Metric over the other border's
// path, of cost other.
func (l *testLab) exitPath(m *topo.Lab, border, igp, other int) {
	l.t.Helper()
	ps := lanPrefixes(m)["cd"]
	eventually(l.t, 10*time.Second, fmt.Sprintf("p2's exit to %v at p%d", ps, border), func() error {
		for i, rt := range l.bgpRoutes("p2", ps...) {
			b := rt.Best()
			var o *speaker.PathView
			for i := range rt.Paths {
				if !rt.Paths[i].Best {
					o = &rt.Paths[i]
				}
			}
			if len(rt.Paths) != 2 || b == nil || o == nil || b.NextHop != loopOf(border, ps[i]) ||
				b.IGPMetric != uint32(igp) || o.IGPMetric != uint32(other) || !o.Valid || b.SelectionReason != "IGP Metric" {
				return fmt.Errorf("%v: want best via p%d's loopback at IGP cost %d, chosen on IGP Metric over a valid path at %d:%s",
					ps[i], border, igp, other, describe(rt))
			}
		}
		return nil
	})
}

// TestHotPotato: between two exits equal in everything else, a router
// takes the nearer one in IGP cost (RFC 4271 section 9.1.2.2 e), and the
// exit moves when the costs change. The lab's link costs are fixed while
// it runs (`apply` refuses a cost change), so the costs change two ways:
//
//   - at run time, by a link going down: with p1-p2 at cost 10, p2 leaves
//     through p1 (IGP cost 10; p3 is at 20); `link p1 p2 down` makes p1 40
//     away (p2-p3-p4-p1) while p3 stays at 20, and p2 now leaves through
//     p3, straight to cd, not around the ring to p1 (traceroute: four
//     hops, p3 second); `link p1 p2 up` brings the exit back to p1.
//   - by the topology: the same lab with p1-p2 at cost 50 leaves through
//     p3 with every link up, though p1 is p2's direct neighbour.
//   - through a reflector: with p2 the AS's route reflector, its clients
//     get the exit p2 chooses by p2's IGP costs, not by their own: p4,
//     as near to p3 as to p1, follows p2 from p1 to p3 and back as the
//     link goes down and up (p2's best path changes without an UPDATE,
//     by the IGP alone, and p2 must send the change to its clients).
func TestHotPotato(t *testing.T) {
	t.Run("link-down", func(t *testing.T) {
		l := newTestLab(t)
		m := l.upFile(writeTopo(t, "hot-potato.yaml", hotPotatoYAML(10, false)))
		l.exitPath(m, 1, 10, 20)
		l.exitThrough(m, "p1")
		l.must("cmd", l.name, "link p1 p2 down")
		l.exitPath(m, 3, 20, 40)
		l.exitThrough(m, "p3")
		l.must("cmd", l.name, "link p1 p2 up")
		l.exitPath(m, 1, 10, 20)
		l.exitThrough(m, "p1")
		l.pingallClean()
	})
	t.Run("reflector", func(t *testing.T) {
		l := newTestLab(t)
		m := l.upFile(writeTopo(t, "hot-potato.yaml", hotPotatoYAML(10, true)))
		cd := lanPrefixes(m)["cd"]
		exit := func(border int) {
			t.Helper()
			want := map[netip.Prefix]netip.Addr{}
			for _, p := range cd {
				want[p] = loopOf(border, p)
			}
			l.bestVia("p4", want)
			for i, rt := range l.bgpRoutes("p4", cd...) {
				if b := rt.Best(); len(rt.Paths) != 1 || b.Peer != loopOf(2, cd[i]) || b.OriginatorID != routerID(border) {
					t.Errorf("p4's paths to %v: want one, from p2, ORIGINATOR_ID p%d's:%s", cd[i], border, describe(rt))
				}
			}
		}
		l.exitPath(m, 1, 10, 20)
		exit(1)
		l.must("cmd", l.name, "link p1 p2 down")
		l.exitPath(m, 3, 20, 40)
		exit(3)
		l.must("cmd", l.name, "link p1 p2 up")
		l.exitPath(m, 1, 10, 20)
		exit(1)
	})
	t.Run("cost-50", func(t *testing.T) {
		l := newTestLab(t)
		m := l.upFile(writeTopo(t, "hot-potato.yaml", hotPotatoYAML(50, false)))
		l.exitPath(m, 3, 20, 40)
		l.exitThrough(m, "p3")
		l.pingallClean()
	})
}

// TestTransitASExample runs topologies/transit-as.yaml and checks what its
// comments say: the full mesh (six sessions per family between the
// loopbacks of p1..p4), traffic between the customers through p1, p2 and
// p3 (the cheaper side of the ring); `link p1 p2 down` moves the underlay
// to the p4 side and every iBGP session stays up, still carrying updates
// (a route p2 announces after the failure reaches p1 over their session,
// now routed p2-p3-p4-p1); and the route-reflector variant the comment
// gives has 3 sessions per family instead of 6.
func TestTransitASExample(t *testing.T) {
	const file = "../../topologies/transit-as.yaml"
	l := newTestLab(t)
	if out := l.must("validate", file); !strings.Contains(out, "16 BGP sessions") {
		t.Errorf("validate transit-as.yaml: %s", out)
	}
	src, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	rr := strings.Replace(string(src), "65000: {name: transit, ibgp: full-mesh}", "65000: {name: transit, ibgp: route-reflector}", 1)
	rr = strings.Replace(rr, "p2: {as: 65000,", "p2: {as: 65000, rr: true,", 1)
	if rr == string(src) {
		t.Fatal("transit-as.yaml: the AS or p2 is not written as the test expects")
	}
	// 2 links to customers and 3 client sessions, per family.
	if out := l.must("validate", writeTopo(t, "transit-rr.yaml", rr)); !strings.Contains(out, "10 BGP sessions") {
		t.Errorf("validate the route-reflector variant: %s", out)
	}

	m := l.upFile(file)
	before := l.ibgpPeers("p1", "p2", "p3", "p4")
	for r := range before {
		if len(before[r]) != 6 {
			t.Errorf("%s has %d Established iBGP sessions, want 6 (3 peers, 2 families): %v", r, len(before[r]), before[r])
		}
	}
	l.everyRouterHasEveryPrefix(m)
	l.pingallClean()
	path := func(hops ...[2]string) []string {
		var out []string
		for _, h := range hops {
			out = append(out, linkAddr(t, m, h[0], h[1], topo.IPv4).String())
		}
		return out
	}
	trace := func(want []string) {
		t.Helper()
		eventually(t, 15*time.Second, "ha's traceroute to hb", func() error {
			hops := l.traceHops("ha", "hb")
			// The last hop is hb, the first ca's LAN address.
			if len(hops) != len(want)+2 || !slices.Equal(hops[1:len(hops)-1], want) {
				return fmt.Errorf("hops %v, want ca's, %v, hb's", hops, want)
			}
			return nil
		})
	}
	trace(path([2]string{"p1", "ca"}, [2]string{"p2", "p1"}, [2]string{"p3", "p2"}, [2]string{"cb", "p3"}))

	l.must("cmd", l.name, "link p1 p2 down")
	trace(path([2]string{"p1", "ca"}, [2]string{"p4", "p1"}, [2]string{"p3", "p4"}, [2]string{"cb", "p3"}))
	probe := netip.MustParsePrefix("10.99.0.0/24")
	l.must("cmd", l.name, "p2 announce "+probe.String())
	l.bestVia("p1", map[netip.Prefix]netip.Addr{probe: loop4(2)})
	after := l.ibgpPeers("p1", "p2", "p3", "p4")
	for r, peers := range before {
		if now := after[r]; !maps.Equal(now, peers) {
			t.Errorf("%s's iBGP sessions after link p1 p2 down: %v, were %v (Established counts)", r, now, peers)
		}
	}
	l.pingallClean()

	l.must("cmd", l.name, "link p1 p2 up")
	trace(path([2]string{"p1", "ca"}, [2]string{"p2", "p1"}, [2]string{"p3", "p2"}, [2]string{"cb", "p3"}))
	l.pingallClean()
}
