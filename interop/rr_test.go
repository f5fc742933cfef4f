package interop

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"lab/internal/testrun"
	"lab/netemu"
	"lab/speaker"
	"lab/topo"
)

// Route reflection (RFC 4456) with FRR in the AS: FRR as a client of our
// reflector, and our speakers as clients of FRR as the reflector. The AS
// (65000) has three routers on a line, the middle one the reflector, with
// iBGP between loopbacks (the lab's underlay routes them, in FRR's
// namespace too); a customer AS (65001, router ce, host hce) hangs off the
// last one, r3. Router IDs are 10.0.0.N and loopbacks 192.168.255.N and
// fd00:255::N, N being the router's place on the line.

// The clusters: each reflector has a CLUSTER_ID other than its router ID,
// so that a CLUSTER_LIST holding a router ID would show.
var (
	ourCluster = netip.MustParseAddr("10.255.255.1")
	frrCluster = netip.MustParseAddr("10.255.255.2")
)

func rrRouterID(n int) netip.Addr { return netip.AddrFrom4([4]byte{10, 0, 0, byte(n)}) }

func rrLoopback(n int, f topo.Family) netip.Addr {
	if f == topo.IPv4 {
		return netip.AddrFrom4([4]byte{192, 168, 255, byte(n)})
	}
	return netip.MustParseAddr(fmt.Sprintf("fd00:255::%d", n))
}

// rrLab is a built lab with our speakers running in its embedded routers
// and FRR in its external one, "frr".
type rrLab struct {
	t     *testing.T
	model *topo.Lab
	net   *netemu.Lab
	sp    map[string]*speaker.Speaker
	frr   *frr
	dir   string
}

// rrTopology is the lab: names[0], names[1], names[2] on a line in AS
// 65000, names[1] the reflector (`rr: true`, cluster ID ourCluster when it
// is ours), one of them "frr", external; ce on names[2]. hosts gives the
// routers with a host (h<router>).
func rrTopology(name string, names [3]string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "name: %s\nbgp: {connect-retry: 1, hold: %d}\nases:\n  65000: {ibgp: route-reflector, cluster-id: %v}\nrouters:\n",
		name, labHold/time.Second, ourCluster)
	for i, r := range names {
		fmt.Fprintf(&b, "  %s: {as: 65000, router-id: %v, loopback: [%v, %q], hosts: [h%s]", r, rrRouterID(i+1),
			rrLoopback(i+1, topo.IPv4), rrLoopback(i+1, topo.IPv6).String(), r)
		if i == 1 {
			b.WriteString(", rr: true")
		}
		if r == "frr" {
			b.WriteString(", external: true")
		}
		b.WriteString("}\n")
	}
	fmt.Fprintf(&b, "  ce: {as: 65001, router-id: 10.0.1.1, hosts: [hce]}\nlinks:\n  - [%s, %s]\n  - [%s, %s]\n  - [%s, ce]\n",
		names[0], names[1], names[1], names[2], names[2])
	return b.String()
}

// buildRRLab builds the lab and starts our speakers; FRR is started by
// startFRRReflection.
func buildRRLab(t *testing.T, names [3]string) *rrLab {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: creates network namespaces and runs BGP daemons in them")
	}
	needBinary(t, frrBgpd, frrZebra, "vtysh")
	name := testrun.Name(t)
	src := rrTopology(name, names)
	model, err := topo.Parse("rr.yaml", []byte(src))
	if err != nil {
		var b bytes.Buffer
		topo.WriteErrors(&b, err)
		t.Fatalf("topology:\n%s\n%s", src, b.String())
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	nl, err := netemu.Build(ctx, model, netemu.Options{RunDir: t.TempDir()})
	if err != nil {
		t.Fatalf("build lab: %v", err)
	}
	testrun.Cleanup(t, func() {
		if err := nl.Close(); err != nil {
			t.Errorf("tear down lab %s: %v", name, err)
		}
	})
	l := &rrLab{t: t, model: model, net: nl, sp: map[string]*speaker.Speaker{}, dir: t.TempDir()}
	if err := os.Chmod(l.dir, 0o755); err != nil {
		t.Fatal(err)
	}
	// Reuse the common lab's speaker constructor (its logs on failure).
	tl := &testLab{t: t, model: model, net: nl}
	var sps []*speaker.Speaker
	for _, r := range model.Routers {
		if r.External {
			continue
		}
		sp := tl.newSpeaker(r)
		l.sp[r.Name] = sp
		sps = append(sps, sp)
		if err := sp.Listen(); err != nil {
			t.Fatal(err)
		}
	}
	for _, sp := range sps {
		if err := sp.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	return l
}

// startFRRReflection starts zebra and bgpd in frr's namespace: router frr
// of AS 65000 with an iBGP session per family to each of its iBGP peers
// in the lab (from its loopback), route-reflector-client when reflector
// is set (with frrCluster as its cluster ID), and its host's LAN
// announced.
func (l *rrLab) startFRRReflection(reflector bool) {
	t := l.t
	t.Helper()
	me := l.model.Router("frr")
	var b strings.Builder
	fmt.Fprintf(&b, "hostname frr\nlog file %s debugging\n!\nrouter bgp 65000\n bgp router-id %v\n",
		filepath.Join(l.dir, "bgpd.log"), me.RouterID)
	if reflector {
		fmt.Fprintf(&b, " bgp cluster-id %v\n", frrCluster)
	}
	b.WriteString(" no bgp ebgp-requires-policy\n no bgp default ipv4-unicast\n")
	type nb struct {
		addr netip.Addr
		f    topo.Family
	}
	var nbs []nb
	for _, s := range l.model.Sessions {
		local, peer, ok := s.End(me)
		if !ok {
			continue
		}
		nbs = append(nbs, nb{peer.Addr, s.Family})
		fmt.Fprintf(&b, " neighbor %v remote-as %d\n neighbor %v update-source %v\n neighbor %v timers connect 1\n",
			peer.Addr, peer.Router.AS.Number, peer.Addr, local.Addr, peer.Addr)
	}
	for _, f := range families {
		fmt.Fprintf(&b, " address-family %s unicast\n", frrAFI(f))
		for _, o := range me.Originate {
			if topo.FamilyOf(o.Prefix.Addr()) == f {
				fmt.Fprintf(&b, "  network %v\n", o.Prefix)
			}
		}
		for _, n := range nbs {
			if n.f != f {
				continue
			}
			fmt.Fprintf(&b, "  neighbor %v activate\n", n.addr)
			if reflector {
				fmt.Fprintf(&b, "  neighbor %v route-reflector-client\n", n.addr)
			}
		}
		b.WriteString(" exit-address-family\n")
	}
	b.WriteString("!\n")
	bgpConf := filepath.Join(l.dir, "bgpd.conf")
	zebraConf := filepath.Join(l.dir, "zebra.conf")
	if err := os.WriteFile(bgpConf, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(zebraConf, []byte(fmt.Sprintf("hostname frr\nlog file %s\n", filepath.Join(l.dir, "zebra.log"))), 0o644); err != nil {
		t.Fatal(err)
	}
	ns := l.net.NamespacePath("frr")
	zserv := filepath.Join(l.dir, "zserv.api")
	common := []string{"-u", "root", "-g", frrGroup(), "--vty_socket", l.dir, "-z", zserv, "-P", "0"}
	d := &frr{l: &testLab{t: t, dir: l.dir}, peerAS: 65000}
	d.zebra = startDaemon(t, ns, l.dir, "zebra", nil, frrZebra, append(common, "-f", zebraConf, "-i", filepath.Join(l.dir, "zebra.pid"))...)
	frrCrashDir(t, d.zebra)
	poll(t, 20*time.Second, "zebra's zserv socket", func() (bool, string) {
		if err := d.zebra.running(); err != nil {
			t.Fatal(err)
		}
		_, err := os.Stat(zserv)
		return err == nil, fmt.Sprint(err)
	})
	d.bgpd = startDaemon(t, ns, l.dir, "bgpd", nil, frrBgpd, append(common, "-f", bgpConf, "-i", filepath.Join(l.dir, "bgpd.pid"))...)
	frrCrashDir(t, d.bgpd)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("bgpd.conf:\n%s\nbgpd.log:\n%s", b.String(), tail(filepath.Join(l.dir, "bgpd.log"), 80))
		}
	})
	l.frr = d
	for _, n := range nbs {
		poll(t, 30*time.Second, fmt.Sprintf("FRR's session with %v", n.addr), func() (bool, string) {
			if err := d.bgpd.running(); err != nil {
				t.Fatal(err)
			}
			ok, st, err := d.established(context.Background(), n.addr)
			if err != nil {
				return false, err.Error()
			}
			return ok, st
		})
	}
}

// reflected is a path as a reflection test compares it on either side.
type reflected struct {
	Peer         netip.Addr // the neighbour it was learned from
	NextHop      netip.Addr
	Valid, Best  bool
	OriginatorID netip.Addr   // zero when absent
	ClusterList  []netip.Addr // nil when absent
}

func (p reflected) String() string {
	return fmt.Sprintf("{from %v next hop %v valid %v best %v ORIGINATOR_ID %v CLUSTER_LIST %v}",
		p.Peer, p.NextHop, p.Valid, p.Best, p.OriginatorID, p.ClusterList)
}

// frrPaths are FRR's paths to pfx (`show bgp ... PREFIX json`).
func (l *rrLab) frrPaths(pfx netip.Prefix) ([]reflected, error) {
	out, err := l.frr.vtysh(context.Background(), fmt.Sprintf("show bgp %s unicast %v json", frrAFI(topo.FamilyOf(pfx.Addr())), pfx))
	if err != nil {
		return nil, err
	}
	var r struct {
		Paths []struct {
			Valid        bool   `json:"valid"`
			OriginatorID string `json:"originatorId"`
			ClusterList  *struct {
				List []string `json:"list"`
			} `json:"clusterList"`
			Nexthops []struct {
				IP string `json:"ip"`
			} `json:"nexthops"`
			Bestpath *struct {
				Overall bool `json:"overall"`
			} `json:"bestpath"`
			Peer struct {
				PeerID string `json:"peerId"`
			} `json:"peer"`
		} `json:"paths"`
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		return nil, fmt.Errorf("show bgp %v: %w: %s", pfx, err, out)
	}
	var ps []reflected
	for _, p := range r.Paths {
		x := reflected{Valid: p.Valid, Best: p.Bestpath != nil && p.Bestpath.Overall}
		// A local path's peer is 0.0.0.0: our speaker shows none.
		if a, err := netip.ParseAddr(p.Peer.PeerID); err == nil && !a.IsUnspecified() {
			x.Peer = a
		}
		x.OriginatorID, _ = netip.ParseAddr(p.OriginatorID)
		if p.ClusterList != nil {
			for _, c := range p.ClusterList.List {
				a, err := netip.ParseAddr(c)
				if err != nil {
					return nil, fmt.Errorf("show bgp %v: cluster %q: %w", pfx, c, err)
				}
				x.ClusterList = append(x.ClusterList, a)
			}
		}
		for _, nh := range p.Nexthops {
			if a, err := netip.ParseAddr(nh.IP); err == nil && !a.IsLinkLocalUnicast() && !x.NextHop.IsValid() {
				x.NextHop = a
			}
		}
		ps = append(ps, x)
	}
	return ps, nil
}

// ourPaths are our router's paths to pfx.
func (l *rrLab) ourPaths(router string, pfx netip.Prefix) ([]reflected, error) {
	r, err := l.sp[router].Route(context.Background(), pfx)
	if err != nil || r == nil {
		return nil, err
	}
	var ps []reflected
	for _, p := range r.Paths {
		ps = append(ps, reflected{Peer: p.Peer, NextHop: p.NextHop, Valid: p.Valid, Best: p.Best,
			OriginatorID: p.OriginatorID, ClusterList: p.ClusterList})
	}
	return ps, nil
}

// expectPaths waits until the paths (from get) are exactly want.
func expectPaths(t *testing.T, what string, get func() ([]reflected, error), want ...reflected) {
	t.Helper()
	poll(t, 20*time.Second, what, func() (bool, string) {
		got, err := get()
		if err != nil {
			return false, err.Error()
		}
		ok := len(got) == len(want)
		for _, w := range want {
			ok = ok && slices.ContainsFunc(got, func(g reflected) bool {
				return g.Peer == w.Peer && g.NextHop == w.NextHop && g.Valid == w.Valid && g.Best == w.Best &&
					g.OriginatorID == w.OriginatorID && slices.Equal(g.ClusterList, w.ClusterList)
			})
		}
		return ok, fmt.Sprintf("paths %v, want %v", got, want)
	})
}

// lan is router's LAN prefix of family f (the one it originates).
func (l *rrLab) lan(router string, f topo.Family) netip.Prefix {
	for _, o := range l.model.Router(router).Originate {
		if topo.FamilyOf(o.Prefix.Addr()) == f {
			return o.Prefix
		}
	}
	l.t.Fatalf("%s originates no %v prefix", router, f)
	return netip.Prefix{}
}

// hasKernelRoute reports whether router's main table has a route to dst.
func (l *rrLab) hasKernelRoute(router string, dst netip.Prefix) (bool, error) {
	found := false
	err := l.net.Do(router, func() error {
		h, err := netlink.NewHandle()
		if err != nil {
			return err
		}
		defer h.Close()
		fam := netlink.FAMILY_V4
		if dst.Addr().Is6() {
			fam = netlink.FAMILY_V6
		}
		rs, err := h.RouteListFiltered(fam, &netlink.Route{Table: unix.RT_TABLE_MAIN}, netlink.RT_FILTER_TABLE)
		if err != nil {
			return err
		}
		for _, r := range rs {
			if r.Dst == nil {
				continue
			}
			a, _ := netip.AddrFromSlice(r.Dst.IP)
			ones, _ := r.Dst.Mask.Size()
			found = found || netip.PrefixFrom(a.Unmap(), ones) == dst
		}
		return nil
	})
	return found, err
}

// ping waits until host src reaches host dst over family f.
func (l *rrLab) ping(src, dst string, f topo.Family) {
	l.t.Helper()
	h := l.model.Host(dst)
	var addr netip.Addr
	for _, a := range h.Node.Interfaces[0].Addrs {
		if topo.FamilyOf(a.Addr()) == f {
			addr = a.Addr()
		}
	}
	poll(l.t, 20*time.Second, fmt.Sprintf("%s reaching %s (%v)", src, dst, addr), func() (bool, string) {
		out, err := netemu.Command(l.net.NamespacePath(src), "ping", "-c1", "-W1", addr.String()).CombinedOutput()
		return err == nil, fmt.Sprintf("%v: %s", err, out)
	})
}

// TestFRRClientOfOurReflector: FRR (frr) and our r3 are clients of our
// reflector rr (cluster ID 10.255.255.1). What r3 learns from ce reaches
// FRR reflected: ORIGINATOR_ID r3's router ID, CLUSTER_LIST [our cluster
// ID], r3's loopback as next hop, valid; what FRR announces reaches r3
// the same way, ORIGINATOR_ID FRR's router ID; neither gets its own routes
// back. Hosts on FRR and on ce reach each other through the AS.
func TestFRRClientOfOurReflector(t *testing.T) {
	l := buildRRLab(t, [3]string{"frr", "rr", "r3"})
	l.startFRRReflection(false)
	for _, f := range families {
		ce, mine := l.lan("ce", f), l.lan("frr", f)
		rr, r3, fr := rrLoopback(2, f), rrLoopback(3, f), rrLoopback(1, f)
		expectPaths(t, fmt.Sprintf("FRR's paths to ce's %v", ce), func() ([]reflected, error) { return l.frrPaths(ce) },
			reflected{Peer: rr, NextHop: r3, Valid: true, Best: true, OriginatorID: rrRouterID(3), ClusterList: []netip.Addr{ourCluster}})
		expectPaths(t, fmt.Sprintf("r3's paths to FRR's %v", mine), func() ([]reflected, error) { return l.ourPaths("r3", mine) },
			reflected{Peer: rr, NextHop: fr, Valid: true, Best: true, OriginatorID: rrRouterID(1), ClusterList: []netip.Addr{ourCluster}})
		// The reflector's own paths carry neither attribute: they are
		// added on reflection.
		expectPaths(t, fmt.Sprintf("rr's paths to FRR's %v", mine), func() ([]reflected, error) { return l.ourPaths("rr", mine) },
			reflected{Peer: fr, NextHop: fr, Valid: true, Best: true})
		// Nothing back to its originator: FRR has its own path only.
		expectPaths(t, fmt.Sprintf("FRR's paths to its own %v", mine), func() ([]reflected, error) { return l.frrPaths(mine) },
			reflected{NextHop: unspecified(f), Valid: true, Best: true})
		poll(t, 20*time.Second, "FRR's kernel route to "+ce.String(), func() (bool, string) {
			ok, err := l.hasKernelRoute("frr", ce)
			return ok, fmt.Sprint(err)
		})
		l.ping("hfrr", "hce", f)
		l.ping("hce", "hfrr", f)
	}
}

// TestOurClientOfFRRReflector: our r1 and r3 are clients of FRR (frr) as
// the reflector, with cluster ID 10.255.255.2. What r3 learns from ce
// reaches r1 reflected by FRR, as our speaker shows it: ORIGINATOR_ID r3's
// router ID, CLUSTER_LIST [FRR's cluster ID], next hop r3's loopback,
// valid, in r1's kernel (through the underlay, across FRR's namespace); r1's
// LAN reaches r3 the same way; FRR's own paths from its clients carry
// neither attribute; r1 does not get its LAN back from FRR. Hosts on r1
// and ce reach each other through FRR.
func TestOurClientOfFRRReflector(t *testing.T) {
	l := buildRRLab(t, [3]string{"r1", "frr", "r3"})
	l.startFRRReflection(true)
	for _, f := range families {
		ce, r1LAN := l.lan("ce", f), l.lan("r1", f)
		r1, fr, r3 := rrLoopback(1, f), rrLoopback(2, f), rrLoopback(3, f)
		expectPaths(t, fmt.Sprintf("r1's paths to ce's %v", ce), func() ([]reflected, error) { return l.ourPaths("r1", ce) },
			reflected{Peer: fr, NextHop: r3, Valid: true, Best: true, OriginatorID: rrRouterID(3), ClusterList: []netip.Addr{frrCluster}})
		expectPaths(t, fmt.Sprintf("r3's paths to r1's %v", r1LAN), func() ([]reflected, error) { return l.ourPaths("r3", r1LAN) },
			reflected{Peer: fr, NextHop: r1, Valid: true, Best: true, OriginatorID: rrRouterID(1), ClusterList: []netip.Addr{frrCluster}})
		expectPaths(t, fmt.Sprintf("FRR's paths to ce's %v", ce), func() ([]reflected, error) { return l.frrPaths(ce) },
			reflected{Peer: r3, NextHop: r3, Valid: true, Best: true})
		expectPaths(t, fmt.Sprintf("r1's paths to its own %v", r1LAN), func() ([]reflected, error) { return l.ourPaths("r1", r1LAN) },
			reflected{NextHop: unspecified(f), Valid: true, Best: true})
		poll(t, 20*time.Second, "r1's kernel route to "+ce.String(), func() (bool, string) {
			ok, err := l.hasKernelRoute("r1", ce)
			return ok, fmt.Sprint(err)
		})
		l.ping("hr1", "hce", f)
		l.ping("hce", "hr1", f)
	}
}

// unspecified is the next hop a local path shows: 0.0.0.0 or ::.
func unspecified(f topo.Family) netip.Addr {
	if f == topo.IPv4 {
		return netip.IPv4Unspecified()
	}
	return netip.IPv6Unspecified()
}
