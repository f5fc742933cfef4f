package topo

import (
	"bytes"
	"errors"
	"io/fs"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// ifaceAddrs maps every interface of l to its addresses, for compact
// comparisons.
func ifaceAddrs(l *Lab) map[string]string {
	out := map[string]string{}
	for _, n := range l.Nodes() {
		for _, i := range n.Interfaces {
			out[i.Name] = addrList(i.Addrs, " ", true)
		}
	}
	return out
}

func TestAllocationSkipsExplicit(t *testing.T) {
	l := mustParse(t, `
routers:
  r1: {as: 1, router-id: 10.254.0.1, hosts: [h1, h2, h3], lan: [10.0.0.1/24, 2001:db8:1::a/64]}
  r2: {as: 2, hosts: [h4], prefixes: [10.0.1.0/24, 0.0.0.0/0, "::/0"]}
  r3: {as: 3}
hosts:
  h2: {addresses: [10.0.0.2/24, 2001:db8:1::1/64]}
links:
  - endpoints: [r1, r2]
    addresses: {r1: [10.255.0.1/30], r2: [10.255.0.2/30]}
  - [r2, r3]
  - endpoints: [r1, r3]
    addresses: {r1: [10.255.0.9/29], r3: [10.255.0.10/29]}
  - [r1, r3]
`)
	want := map[string]string{
		// Explicit IPv4, allocated IPv6 (the first /64 of the pool).
		"r1-eth0": "10.255.0.1/30 fd00:ffff::1/64",
		"r2-eth0": "10.255.0.2/30 fd00:ffff::2/64",
		// 10.255.0.0/30 is taken and 10.255.0.8/29 is explicit: the
		// allocator hands out 10.255.0.4/30, then skips to 10.255.0.16/30.
		"r2-eth1": "10.255.0.5/30 fd00:ffff:0:1::1/64",
		"r3-eth0": "10.255.0.6/30 fd00:ffff:0:1::2/64",
		"r1-eth1": "10.255.0.9/29 fd00:ffff:0:2::1/64",
		"r3-eth1": "10.255.0.10/29 fd00:ffff:0:2::2/64",
		"r1-eth2": "10.255.0.17/30 fd00:ffff:0:3::1/64",
		"r3-eth2": "10.255.0.18/30 fd00:ffff:0:3::2/64",
		// r1's LAN is explicit; h2 is explicit, h1 and h3 take the first
		// free addresses, skipping the router's and h2's.
		"r1-eth3": "10.0.0.1/24 2001:db8:1::a/64",
		"h1-eth0": "10.0.0.3/24 2001:db8:1::2/64",
		"h2-eth0": "10.0.0.2/24 2001:db8:1::1/64",
		"h3-eth0": "10.0.0.4/24 2001:db8:1::3/64",
		// r2's LAN skips 10.0.0.0/24 (r1's LAN) and 10.0.1.0/24 (which r2
		// originates); the default routes it originates block nothing.
		"r2-eth2": "10.0.2.1/24 fd00::1/64",
		"h4-eth0": "10.0.2.2/24 fd00::2/64",
	}
	if diff := cmp.Diff(want, ifaceAddrs(l)); diff != "" {
		t.Errorf("addresses (-want +got):\n%s", diff)
	}
	var ids []string
	for _, r := range l.Routers {
		ids = append(ids, r.RouterID.String())
	}
	// r1's explicit ID is the pool's first: the others skip it.
	if diff := cmp.Diff([]string{"10.254.0.1", "10.254.0.2", "10.254.0.3"}, ids); diff != "" {
		t.Errorf("router IDs (-want +got):\n%s", diff)
	}
	var orig []string
	for _, o := range l.Router("r2").Originate {
		orig = append(orig, o.Prefix.String())
	}
	if diff := cmp.Diff([]string{"10.0.1.0/24", "0.0.0.0/0", "::/0", "10.0.2.0/24", "fd00::/64"}, orig); diff != "" {
		t.Errorf("r2 originates (-want +got):\n%s", diff)
	}
	if got := l.Host("h3").Gateway6; got != netip.MustParseAddr("2001:db8:1::a") {
		t.Errorf("h3 gateway6 = %v", got)
	}
}

func TestAllocationPoolsAndFamilies(t *testing.T) {
	l := mustParse(t, `
addressing:
  ipv4-links: 192.168.100.0/24
  ipv4-link-length: 31
  ipv6-links: 2001:db8:ff::/48
  ipv4-lans: 172.16.0.0/16
  ipv4-lan-length: 28
  router-ids: 192.0.2.0/24
  families: [ipv4]
routers:
  a: {as: 65001, hosts: [ha]}
  b: {as: 65002}
links:
  - [a, b]
  - endpoints: [a, b]
    addresses: {a: [2001:db8:ab::1/64], b: [2001:db8:ab::2/64]}
`)
	want := map[string]string{
		"a-eth0":  "192.168.100.0/31",
		"b-eth0":  "192.168.100.1/31",
		"a-eth1":  "192.168.100.2/31 2001:db8:ab::1/64",
		"b-eth1":  "192.168.100.3/31 2001:db8:ab::2/64",
		"a-eth2":  "172.16.0.1/28",
		"ha-eth0": "172.16.0.2/28",
	}
	if diff := cmp.Diff(want, ifaceAddrs(l)); diff != "" {
		t.Errorf("addresses (-want +got):\n%s", diff)
	}
	if got := l.Router("b").RouterID; got != netip.MustParseAddr("192.0.2.2") {
		t.Errorf("b's router ID = %v, want 192.0.2.2", got)
	}
	if h := l.Host("ha"); h.Gateway6.IsValid() || h.Gateway4 != netip.MustParseAddr("172.16.0.1") {
		t.Errorf("ha gateways = %v, %v", h.Gateway4, h.Gateway6)
	}
	if got := l.Router("a").LAN.Prefix6; got.IsValid() {
		t.Errorf("LAN Prefix6 = %v, want none (families: [ipv4])", got)
	}
	var fams []Family
	for _, s := range l.Sessions {
		fams = append(fams, s.Family)
	}
	// The first link has IPv4 only; the second IPv4 and its explicit IPv6.
	if diff := cmp.Diff([]Family{IPv4, IPv4, IPv6}, fams); diff != "" {
		t.Errorf("session families (-want +got):\n%s", diff)
	}
	wantPools := Pools{
		LinkIPv4: netip.MustParsePrefix("192.168.100.0/24"), LinkIPv6: netip.MustParsePrefix("2001:db8:ff::/48"),
		LANIPv4: netip.MustParsePrefix("172.16.0.0/16"), LANIPv6: DefaultLANIPv6,
		RouterID: netip.MustParsePrefix("192.0.2.0/24"), LinkIPv4Len: 31, LANIPv4Len: 28,
		LoopbackIPv4: DefaultLoopbackIPv4, LoopbackIPv6: DefaultLoopbackIPv6,
		Families: []Family{IPv4},
	}
	if diff := cmp.Diff(wantPools, l.Pools, cmp.Comparer(func(a, b netip.Prefix) bool { return a == b })); diff != "" {
		t.Errorf("pools (-want +got):\n%s", diff)
	}
}

// A huge explicit subnet inside a pool must be jumped over, not walked
// subnet by subnet (2^47 /64s here).
func TestAllocationJumpsOverContainers(t *testing.T) {
	l := mustParse(t, `
addressing: {ipv6-links: "fd00::/16", families: [ipv6]}
routers: {a: {as: 1}, b: {as: 2}, c: {as: 3}}
links:
  - endpoints: [a, b]
    addresses: {a: ["fd00::1/17"], b: ["fd00::2/17"]}
  - [b, c]
`)
	if got := l.Interface("b-eth1").Addrs; len(got) != 1 || got[0] != netip.MustParsePrefix("fd00:8000::1/64") {
		t.Errorf("b-eth1 = %v, want fd00:8000::1/64", got)
	}
}

func TestAllocationLANFull(t *testing.T) {
	_, err := Parse("full.yaml", []byte(`
routers:
  r1: {as: 1, lan: [10.1.0.1/30], hosts: [h1, h2]}
`))
	if !errors.Is(err, ErrAddress) || !strings.Contains(err.Error(), `full.yaml:3:47: the LAN 10.1.0.0/30 of router "r1" has no free address left for host "h2"`) {
		t.Errorf("err = %v, want the LAN to be full at h2", err)
	}
}

// TestDeterminism parses the same files many times: the whole model, as
// rendered, must never change (no map iteration order may leak).
func TestDeterminism(t *testing.T) {
	ba, err := GenerateBA(60, 2, 7)
	if err != nil {
		t.Fatal(err)
	}
	srcs := map[string][]byte{"ba.yaml": ba}
	for _, f := range []string{"minimal", "shared-lan", "hold-timer", "relations", "transit-as"} {
		srcs[f+".yaml"] = mustRead(t, "../topologies/"+f+".yaml")
	}
	for name, src := range srcs {
		var first string
		for i := 0; i < 20; i++ {
			l, err := Parse(name, src)
			if err != nil {
				t.Fatal(err)
			}
			var b bytes.Buffer
			WriteText(&b, l)
			WriteDOT(&b, l)
			if i == 0 {
				first = b.String()
			} else if b.String() != first {
				t.Fatalf("%s: parse %d differs from the first:\n%s", name, i, cmp.Diff(first, b.String()))
			}
		}
	}
	// Errors too come out in the same order every time.
	bad := mustRead(t, "testdata/bad/overlap.yaml")
	_, err1 := Parse("overlap.yaml", bad)
	for i := 0; i < 20; i++ {
		if _, err := Parse("overlap.yaml", bad); err.Error() != err1.Error() {
			t.Fatalf("errors differ between runs:\n%v\n---\n%v", err1, err)
		}
	}
}

// TestSessions checks the sessions over links; AS 65000's iBGP is
// per-link, as every AS's was before loopbacks (TestIBGPSessions has the
// other modes).
func TestSessions(t *testing.T) {
	l := mustParse(t, `
ases:
  65000: {ibgp: per-link}
routers:
  a1: {as: 65000}
  a2: {as: 65000}
  b:  {as: 4200000001, external: true}
  c:  {as: 65002, hosts: [h]}
links:
  - [a1, a2]
  - endpoints: [a2, b]
    password: s3cret
  - [a2, b]
  - endpoints: [b, c]
    addresses: {b: [2001:db8:bc::b/64], c: [2001:db8:bc::c/64]}
addressing: {families: [ipv4]}
`)
	type sv struct {
		Fam      Family
		IBGP     bool
		A, B     string
		Password string
	}
	var got []sv
	for _, s := range l.Sessions {
		got = append(got, sv{s.Family, s.IBGP(), s.A.Router.Name + " " + s.A.Addr.String(), s.B.Router.Name + " " + s.B.Addr.String(), s.Password})
	}
	want := []sv{
		{IPv4, true, "a1 10.255.0.1", "a2 10.255.0.2", ""},
		{IPv4, false, "a2 10.255.0.5", "b 10.255.0.6", "s3cret"},
		// Parallel links: one session each.
		{IPv4, false, "a2 10.255.0.9", "b 10.255.0.10", ""},
		// Explicit IPv6 and allocated IPv4: two sessions.
		{IPv4, false, "b 10.255.0.13", "c 10.255.0.14", ""},
		{IPv6, false, "b 2001:db8:bc::b", "c 2001:db8:bc::c", ""},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("sessions (-want +got):\n%s", diff)
	}
	s := l.Sessions[1]
	local, peer, ok := s.End(l.Router("b"))
	if !ok || local.Router.Name != "b" || peer.Router.Name != "a2" || local.Iface.Name != "b-eth0" || peer.Iface.Name != "a2-eth1" {
		t.Errorf("End(b) = %+v, %+v, %v", local, peer, ok)
	}
	if _, _, ok := s.End(l.Router("c")); ok {
		t.Errorf("End(c) on a session c is not in: ok")
	}
	if !l.Router("b").External || l.Router("a1").External {
		t.Errorf("External flags wrong")
	}
	if got := len(l.LinkBetween("b", "a2")); got != 2 {
		t.Errorf("LinkBetween(b, a2) = %d links, want 2", got)
	}
	for _, s := range l.Sessions {
		if s.A.Iface.Node.Kind != KindRouter || s.B.Iface.Node.Kind != KindRouter {
			t.Errorf("session %d has a host end", s.Index)
		}
		if s.A.Loopback || s.B.Loopback || s.A.BGP != s.Link.BGP[0] || s.B.BGP != s.Link.BGP[1] || s.A.BGP == nil {
			t.Errorf("session %d: loopback flags or BGP settings wrong", s.Index)
		}
	}
}

func TestBGPPrecedence(t *testing.T) {
	l := mustParse(t, `
bgp: {keepalive: 10, hold: 30s, compare-routerid: true}
ases:
  2: {bgp: {hold: 1m, keepalive: 20}}
  3: {bgp: {hold: 0}}
routers:
  lab: {as: 1}
  asl: {as: 2}
  rtr: {as: 2, bgp: {keepalive: 5, connect-retry: 7, compare-routerid: false}}
  nohold: {as: 3}
`)
	d := func(ka, hold, cr int, cmpID bool) BGPConfig {
		return BGPConfig{Keepalive: time.Duration(ka) * time.Second, Hold: time.Duration(hold) * time.Second, ConnectRetry: time.Duration(cr) * time.Second, CompareRouterID: cmpID}
	}
	want := map[string]BGPConfig{
		"lab":    d(10, 30, 120, true),
		"asl":    d(20, 60, 120, true),
		"rtr":    d(5, 60, 7, false),
		"nohold": d(0, 0, 120, true),
	}
	got := map[string]BGPConfig{}
	for _, r := range l.Routers {
		got[r.Name] = r.BGP
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("BGP (-want +got):\n%s", diff)
	}

	// Without a keepalive anywhere, it is a third of the hold time.
	l = mustParse(t, "routers: {r1: {as: 1, bgp: {hold: 9}}, r2: {as: 2}, r3: {as: 3, bgp: {hold: 4}}}\n")
	for name, ka := range map[string]time.Duration{"r1": 3 * time.Second, "r2": 60 * time.Second, "r3": time.Second} {
		if got := l.Router(name).BGP.Keepalive; got != ka {
			t.Errorf("%s keepalive = %v, want %v", name, got, ka)
		}
	}
}

func TestHostAttachment(t *testing.T) {
	// Both ways of attaching a host, consistent with each other, and a
	// host named only in a router's list.
	l := mustParse(t, `
hosts:
  h2: {router: r1}
  h1: {router: r1}
routers:
  r1: {as: 1, hosts: [h1, h3]}
`)
	var names []string
	for _, h := range l.Hosts {
		names = append(names, h.Name+"@"+h.Router.Name)
	}
	// Hosts are in file order of their first definition.
	if diff := cmp.Diff([]string{"h2@r1", "h1@r1", "h3@r1"}, names); diff != "" {
		t.Errorf("hosts (-want +got):\n%s", diff)
	}
	lan := l.Router("r1").LAN
	var ports []string
	for _, k := range lan.Links {
		ports = append(ports, k.BridgePort)
	}
	if diff := cmp.Diff([]string{"r1-eth0p1", "r1-eth0p2", "r1-eth0p3"}, ports); diff != "" {
		t.Errorf("bridge ports (-want +got):\n%s", diff)
	}
	if lan.Iface.Name != "r1-eth0" || lan.Iface.Link != lan.Links[0] {
		t.Errorf("LAN interface %s, link %v", lan.Iface.Name, lan.Iface.Link)
	}
}

func TestDefaultName(t *testing.T) {
	src := []byte("routers: {r1: {as: 1}}\n")
	for file, want := range map[string]string{"/x/y/my-lab.yaml": "my-lab", "lab2.yml": "lab2", "": "lab"} {
		l, err := Parse(file, src)
		if err != nil {
			t.Fatalf("Parse(%q): %v", file, err)
		}
		if l.Name != want || l.Router("r1").Namespace != want+"-r1" {
			t.Errorf("Parse(%q): name %q, namespace %q; want %q", file, l.Name, l.Router("r1").Namespace, want)
		}
	}
}

func TestErrorAPI(t *testing.T) {
	src := "routers:\n  r1: {as: 1}\n\tr2: {as: 2}\n"
	_, err := Parse("tab.yaml", []byte(src))
	if !errors.Is(err, ErrSyntax) {
		t.Fatalf("err = %v, want ErrSyntax", err)
	}
	src = "routers:\n  r1: {as: 1, router-id: 0.0.0.1}\n  r2: {as: 2, router-id: 0.0.0.1, asn: 3}\n"
	_, err = Parse("t.yaml", []byte(src))
	var e *Error
	if !errors.As(err, &e) || e.Pos != (Pos{"t.yaml", 3, 26}) || !errors.Is(e, ErrDuplicate) {
		t.Fatalf("first error = %#v, want a duplicate at t.yaml:3:26", e)
	}
	if !errors.Is(err, ErrUnknownField) || errors.Is(err, ErrAddress) {
		t.Errorf("errors.Is over the list: want ErrUnknownField and not ErrAddress in %v", err)
	}
	var b bytes.Buffer
	if err := WriteErrors(&b, err); err != nil {
		t.Fatal(err)
	}
	want := `t.yaml:3:26: router-id 0.0.0.1 is already used (line 2); BGP identifiers must be unique
    3 |   r2: {as: 2, router-id: 0.0.0.1, asn: 3}
      |                          ^
t.yaml:3:35: unknown field "asn" in router "r2"; expected one of: as, router-id, prefixes, lan, hosts, bgp, external, kind, loopback, rr, cluster-id, next-hop-self, aggregate, api (did you mean "as"?)
    3 |   r2: {as: 2, router-id: 0.0.0.1, asn: 3}
      |                                   ^
2 errors
`
	if diff := cmp.Diff(want, b.String()); diff != "" {
		t.Errorf("WriteErrors (-want +got):\n%s", diff)
	}
	// Tabs before the column are kept so the caret lines up; columns count
	// characters, not bytes.
	e = &Error{Pos: Pos{"f", 1, 5}, Msg: "m", Source: "\té: x"}
	if got, want := e.Pretty(), "f:1:5: m\n    1 | \té: x\n      | \t   ^\n"; got != want {
		t.Errorf("Pretty = %q, want %q", got, want)
	}
	_, err = Load("/nonexistent/topology.yaml")
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Load of a missing file: %v, want fs.ErrNotExist", err)
	}
}

func mustRead(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestAnchorsAndMerge(t *testing.T) {
	l := mustParse(t, `
routers:
  r1: &edge {as: 65001, bgp: &fast {keepalive: 3, hold: 9}}
  r2: {<<: *edge, router-id: 10.0.0.2}
  r3: {<<: [*edge], as: 65003, bgp: *fast}
links:
  - [r1, r2]
  - [r2, r3]
`)
	for name, as := range map[string]uint32{"r1": 65001, "r2": 65001, "r3": 65003} {
		r := l.Router(name)
		if r.AS.Number != as || r.BGP.Hold != 9*time.Second || r.BGP.Keepalive != 3*time.Second {
			t.Errorf("%s: AS %d, timers %v", name, r.AS.Number, r.BGP)
		}
	}
	if got := l.Router("r2").RouterID; got != netip.MustParseAddr("10.0.0.2") {
		t.Errorf("r2 router ID %v", got)
	}
	// r1 and r2 share an AS: iBGP between their loopbacks, after the
	// eBGP sessions over links.
	if s := l.Sessions[len(l.Sessions)-1]; !s.IBGP() || s.A.Router.Name != "r1" || s.B.Router.Name != "r2" || !s.A.Loopback {
		t.Errorf("last session %s-%s: want iBGP r1-r2 between loopbacks", s.A.Router.Name, s.B.Router.Name)
	}
	_, err := Parse("m.yaml", []byte("routers:\n  r1: {<<: 5, as: 1}\n"))
	if err == nil || !strings.Contains(err.Error(), "m.yaml:2:12: expected a mapping (or a list of mappings) to merge") {
		t.Errorf("merging a number: %v", err)
	}
}

func TestLoadAs(t *testing.T) {
	l, err := LoadAs("../topologies/simple-bgp.yaml", "t-42")
	if err != nil {
		t.Fatal(err)
	}
	if l.Name != "t-42" || l.Router("as1ra").Namespace != "t-42-as1ra" || l.File != "../topologies/simple-bgp.yaml" {
		t.Errorf("name %q, namespace %q, file %q", l.Name, l.Router("as1ra").Namespace, l.File)
	}
	_, err = LoadAs("../topologies/simple-bgp.yaml", "Bad Name")
	if !errors.Is(err, ErrValue) || !strings.Contains(err.Error(), `--name: lab name "Bad Name" is invalid`) {
		t.Errorf("LoadAs with a bad name: %v", err)
	}
}
