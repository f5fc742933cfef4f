package topo

import (
	"bytes"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestASPathRegexp(t *testing.T) {
	for _, c := range []struct {
		re, path string
		want     bool
	}{
		// `_` is a delimiter: start, end, space, comma, brace, parenthesis.
		{"_65001_", "65001", true},
		{"_65001_", "3 65001 4", true},
		{"_65001_", "165001", false},
		{"_65001_", "650012", false},
		{"_65001_", "{3,65001}", true},
		{"_65001_", "(65001 3) 4", true},
		{"_65001$", "3 65001", true},
		{"_65001$", "65001 3", false},
		{"^65002_", "65002 1", true},
		{"^65002_", "165002 1", false},
		{"^$", "", true},
		{"^$", "1", false},
		// Unanchored, as FRR: a bare number matches inside another.
		{"6500", "65001", true},
		{"^65001 65002$", "65001 65002", true},
		{"_(3|4)_", "1 4 5", true},
		{"_(3|4)_", "1 43 5", false},
		{"^[0-9]+$", "65001", true},
		{"^[0-9]+$", "65001 2", false},
		{".*", "", true},
	} {
		re, err := ASPathRegexp(c.re)
		if err != nil {
			t.Errorf("ASPathRegexp(%q): %v", c.re, err)
			continue
		}
		if got := re.MatchString(c.path); got != c.want {
			t.Errorf("%q matches %q = %v, want %v", c.re, c.path, got, c.want)
		}
	}
	for _, bad := range []string{"_(65001", "[", "a**", `\8`} {
		if _, err := ASPathRegexp(bad); err == nil {
			t.Errorf("ASPathRegexp(%q) compiled", bad)
		}
	}
}

// parseErr parses src and returns its error list rendered, or "".
func parseErr(src string) string {
	_, err := Parse("t.yaml", []byte(src))
	if err == nil {
		return ""
	}
	return err.Error()
}

func TestPrefixEntryResolution(t *testing.T) {
	for _, c := range []struct {
		entry    string
		min, max int
		err      string
	}{
		{"10.0.0.0/8", 8, 8, ""},
		{"{prefix: 10.0.0.0/8}", 8, 8, ""},
		{"{prefix: 10.0.0.0/8, min: 16}", 16, 32, ""},
		{"{prefix: 10.0.0.0/8, max: 24}", 8, 24, ""},
		{"{prefix: 10.0.0.0/8, min: 8, max: 8}", 8, 8, ""},
		{"{prefix: 10.0.0.0/8, min: 24, max: 24}", 24, 24, ""},
		{"{prefix: 0.0.0.0/0, max: 32}", 0, 32, ""},
		{"{prefix: 0.0.0.0/0}", 0, 0, ""},
		{`{prefix: "2001:db8::/32", min: 48}`, 48, 128, ""},
		{`{prefix: "::/0", max: 128}`, 0, 128, ""},
		{"{prefix: 10.0.0.0/8, min: 25, max: 24}", 0, 0, "min 25 is greater than max 24"},
		{"{prefix: 10.0.0.0/16, min: 15}", 0, 0, "min 15 of entry 1 of prefix list \"P\" is shorter than 10.0.0.0/16"},
		{"{prefix: 10.0.0.0/16, max: 15}", 0, 0, "max 15 of entry 1 of prefix list \"P\" is shorter than 10.0.0.0/16"},
		{"{prefix: 10.0.0.0/16, max: 33}", 0, 0, "max 33 of entry 1 of prefix list \"P\" is longer than an IPv4 prefix can be (/32)"},
		{"{prefix: 10.0.0.0/16, min: 33}", 0, 0, "min 33 of entry 1 of prefix list \"P\" is longer than an IPv4 prefix can be (/32)"},
		{"{prefix: 10.0.0.1/16}", 0, 0, "has host bits set"},
	} {
		src := "routing: {prefix: {P: [" + c.entry + "]}}\nrouters: {r1: {as: 1}}\n"
		l, err := Parse("t.yaml", []byte(src))
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%s: error %v, want one containing %q", c.entry, err, c.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", c.entry, err)
			continue
		}
		e := l.Routing.Prefix["P"].Entries[0]
		if e.Min != c.min || e.Max != c.max {
			t.Errorf("%s: min %d max %d, want %d %d", c.entry, e.Min, e.Max, c.min, c.max)
		}
	}
}

func TestPrefixEntryMatches(t *testing.T) {
	e := PrefixEntry{Prefix: netip.MustParsePrefix("10.0.0.0/8"), Min: 16, Max: 24}
	for p, want := range map[string]bool{
		"10.0.0.0/8": false, "10.1.0.0/16": true, "10.1.2.0/24": true, "10.1.2.0/25": false,
		"11.1.0.0/16": false, "::/16": false,
	} {
		if got := e.Matches(netip.MustParsePrefix(p)); got != want {
			t.Errorf("%v matches %s = %v, want %v", e.Prefix, p, got, want)
		}
	}
}

const routingLab = `
bgp:
  relation-local-pref: {peer: 120}
routing:
  prefix:
    CUST: [10.0.0.0/8, {prefix: "2001:db8::/32", max: 48, action: deny}]
  aspath:
    LONG: [{path: "_65001_.*_65001_", action: deny}, ".*"]
  community:
    TAGS: ["65001:100", no-export, {large: "65001:1:2", action: deny}]
    BIG: ["1:2:3"]
  policy:
    IN:
      - {action: deny, match: {aspath: LONG}}
      - match: {prefix: CUST, community: TAGS, origin: igp, neighbor-as: 65002}
        set:
          local-pref: 300
          weight: 7
          origin: egp
          community: {add: ["65001:1", no-export], delete: TAGS}
          large-community: {delete: BIG}
      - set: {community: {set: []}, large-community: {set: ["1:1:1"]}}
    OUT:
      - set: {med: 10, prepend: 2}
      - set: {prepend: [65009, 65008], community: {delete: ["1:1"]}, large-community: {add: ["9:9:9"]}}
routers:
  r1: {as: 65001}
  r2: {as: 65002}
  r3: {as: 65003, external: true}
links:
  - endpoints: [r1, r2]
    relation: customer-provider
    password: linkkey
    bgp:
      r1:
        local-pref: 50
        med: 0
        weight: 65535
        prepend: 3
        policy: {in: IN, out: OUT}
        max-prefix: 100
        passive: true
        password: ""
        remote-as: 4200000000
        default-originate: true
        allowas-in: true
        leak: true
      r2:
        prepend: [65002, 65002]
        max-prefix: {limit: 5, warning-only: true}
        shutdown: "maintenance: back at 5pm"
        allowas-in: 2
  - endpoints: [r2, r3]
    relation: peer
    bgp:
      r2: {shutdown: true, allowas-in: false}
  - {endpoints: [r1, r3], relation: provider-customer}
`

func u32(v uint32) *uint32 { return &v }
func u8(v uint8) *uint8    { return &v }

func TestRoutingModel(t *testing.T) {
	l := mustParse(t, routingLab)
	rt := l.Routing
	if got := names(rt.Policies, func(p *Policy) string { return p.Name }); !slicesEqual(got, []string{"IN", "OUT"}) {
		t.Errorf("policies in file order: %v", got)
	}
	if got := names(rt.CommunityLists, func(c *CommunityList) string { return c.Name }); !slicesEqual(got, []string{"TAGS", "BIG"}) {
		t.Errorf("community lists in file order: %v", got)
	}
	for name, p := range rt.Policy {
		if p.Name != name {
			t.Errorf("policy map key %s holds %s", name, p.Name)
		}
	}
	cust := rt.Prefix["CUST"]
	wantCust := []PrefixEntry{
		{Prefix: netip.MustParsePrefix("10.0.0.0/8"), Min: 8, Max: 8},
		{Prefix: netip.MustParsePrefix("2001:db8::/32"), Min: 32, Max: 48, Deny: true},
	}
	noPos := cmp.Comparer(func(a, b Pos) bool { return true })
	addrs := cmp.Comparer(func(a, b netip.Prefix) bool { return a == b })
	if diff := cmp.Diff(wantCust, cust.Entries, noPos, addrs); diff != "" {
		t.Errorf("CUST (-want +got):\n%s", diff)
	}
	tags := rt.Community["TAGS"]
	wantTags := []CommunityEntry{
		{Community: 65001<<16 | 100}, {Community: 0xFFFFFF01}, {Large: [3]uint32{65001, 1, 2}, IsLarge: true, Deny: true},
	}
	if diff := cmp.Diff(wantTags, tags.Entries, noPos); diff != "" {
		t.Errorf("TAGS (-want +got):\n%s", diff)
	}
	if e := rt.ASPath["LONG"].Entries; len(e) != 2 || !e[0].Deny || e[0].Path != "_65001_.*_65001_" || e[1].Path != ".*" || e[1].Deny {
		t.Errorf("LONG = %+v", e)
	}

	in := rt.Policy["IN"]
	if len(in.Entries) != 3 {
		t.Fatalf("IN has %d entries", len(in.Entries))
	}
	if e := in.Entries[0]; !e.Deny || e.Match.ASPath != rt.ASPath["LONG"] || e.Match.Prefix != nil {
		t.Errorf("IN 1 = %+v", e)
	}
	e := in.Entries[1]
	if e.Deny || e.Match.Prefix != cust || e.Match.Community != tags || *e.Match.Origin != OriginIGP || e.Match.NeighborAS != 65002 {
		t.Errorf("IN 2 match = %+v", e.Match)
	}
	wantSet := PolicySet{
		LocalPref: u32(300), Weight: u32(7), Origin: u8(OriginEGP),
		Community:      CommunitySet{Add: []uint32{65001<<16 | 1, 0xFFFFFF01}, DeleteList: tags},
		LargeCommunity: LargeCommunitySet{DeleteList: rt.Community["BIG"]},
	}
	ptrs := cmp.Comparer(func(a, b *CommunityList) bool { return a == b })
	if diff := cmp.Diff(wantSet, e.Set, ptrs); diff != "" {
		t.Errorf("IN 2 set (-want +got):\n%s", diff)
	}
	s3 := in.Entries[2].Set
	if !s3.Community.Replace || len(s3.Community.Set) != 0 || !s3.LargeCommunity.Replace || s3.LargeCommunity.Set[0] != [3]uint32{1, 1, 1} || s3.Community.IsZero() {
		t.Errorf("IN 3 set = %+v", s3)
	}
	out := rt.Policy["OUT"].Entries
	if out[0].Set.Prepend.Count != 2 || *out[0].Set.MED != 10 || !slicesEqual(out[1].Set.Prepend.ASNs, []uint32{65009, 65008}) ||
		!slicesEqual(out[1].Set.Community.Delete, []uint32{1<<16 | 1}) || out[1].Set.LargeCommunity.Add[0] != [3]uint32{9, 9, 9} {
		t.Errorf("OUT = %+v", out)
	}

	if want := (RelationLocalPref{Customer: 200, Peer: 120, Provider: 100}); l.RelationLocalPref != want {
		t.Errorf("relation local-pref %+v, want %+v", l.RelationLocalPref, want)
	}
	// Text output renders every object; parsing twice renders the same.
	var b1, b2 bytes.Buffer
	WriteText(&b1, l)
	WriteText(&b2, mustParse(t, routingLab))
	if b1.String() != b2.String() || !strings.Contains(b1.String(), "policy IN\n  1 deny match aspath LONG\n") {
		t.Errorf("text:\n%s", b1.String())
	}
}

func slicesEqual[T comparable](a, b []T) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestLinkBGPSettings(t *testing.T) {
	l := mustParse(t, routingLab)
	r1, r2, r3 := l.Router("r1"), l.Router("r2"), l.Router("r3")
	k := l.LinkBetween("r1", "r2")[0]
	e1, e2 := k.BGPOf(&r1.Node), k.BGPOf(&r2.Node)
	if e1 != k.BGP[0] || e2 != k.BGP[1] || k.BGPOf(&r3.Node) != nil {
		t.Fatalf("BGPOf does not return Link.BGP")
	}
	want1 := EndBGP{
		LocalPref: u32(50), MED: u32(0), Weight: u32(65535), Prepend: Prepend{Count: 3},
		PolicyIn: l.Routing.Policy["IN"], PolicyOut: l.Routing.Policy["OUT"],
		MaxPrefix: 100, Passive: true, Password: "", RemoteAS: 4200000000,
		DefaultOriginate: true, AllowASIn: 3, Leak: true,
	}
	want2 := EndBGP{
		Prepend: Prepend{ASNs: []uint32{65002, 65002}}, MaxPrefix: 5, MaxPrefixWarningOnly: true,
		Shutdown: true, ShutdownMessage: "maintenance: back at 5pm", Password: "linkkey", AllowASIn: 2,
	}
	opts := []cmp.Option{
		cmp.Comparer(func(a, b Pos) bool { return true }),
		cmp.Comparer(func(a, b *Policy) bool { return a == b }),
	}
	if diff := cmp.Diff(want1, *e1, opts...); diff != "" {
		t.Errorf("r1's end (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want2, *e2, opts...); diff != "" {
		t.Errorf("r2's end (-want +got):\n%s", diff)
	}
	if e1.Pos.Line == 0 || e1.Pos == e2.Pos {
		t.Errorf("end positions %v %v", e1.Pos, e2.Pos)
	}
	k23 := l.LinkBetween("r2", "r3")[0]
	if e := k23.BGP[0]; !e.Shutdown || e.ShutdownMessage != "" || e.AllowASIn != 0 {
		t.Errorf("r2's end to r3: %+v", e)
	}
	// The external end has no settings written: the zero value, with the
	// link's password.
	if e := k23.BGP[1]; e == nil || !cmp.Equal(*e, EndBGP{Pos: k23.Pos}) {
		t.Errorf("r3's end to r2: %+v", e)
	}

	// Relations and roles.
	roles := []struct {
		k          *Link
		rel        Relation
		roleA      Role // what A is to B
		roleB      Role // what B is to A
		localPrefA uint32
	}{
		{k, RelCustomerProvider, RoleCustomer, RoleProvider, 200},
		{k23, RelPeer, RolePeer, RolePeer, 120},
		{l.LinkBetween("r1", "r3")[0], RelProviderCustomer, RoleProvider, RoleCustomer, 100},
	}
	for _, c := range roles {
		if c.k.Relation != c.rel || c.k.RoleOf(c.k.A.Node) != c.roleA || c.k.RoleOf(c.k.B.Node) != c.roleB {
			t.Errorf("%v: relation %v, roles %v %v; want %v %v %v", c.k, c.k.Relation, c.k.RoleOf(c.k.A.Node), c.k.RoleOf(c.k.B.Node), c.rel, c.roleA, c.roleB)
		}
		if got := l.RelationLocalPref.Of(c.k.RoleOf(c.k.A.Node)); got != c.localPrefA {
			t.Errorf("%v: B imports from A with local-pref %d, want %d", c.k, got, c.localPrefA)
		}
	}
	if k.RoleOf(&r3.Node) != RoleNone {
		t.Errorf("RoleOf a node not on the link")
	}
	// Sessions carry their ends' settings and see the peer's role.
	for _, s := range l.Sessions {
		if s.A.BGP != s.Link.BGP[0] || s.B.BGP != s.Link.BGP[1] {
			t.Errorf("session %d: BGP settings are not the link's", s.Index)
		}
		if s.Link == k {
			if s.PeerRole(r1) != RoleProvider || s.PeerRole(r2) != RoleCustomer || s.PeerRole(r3) != RoleNone {
				t.Errorf("session %d: peer roles %v %v", s.Index, s.PeerRole(r1), s.PeerRole(r2))
			}
			if s.Password != "linkkey" {
				t.Errorf("session %d: password %q is the link's", s.Index, s.Password)
			}
		}
	}
	if c, ok := RoleCustomer.Tag(65001); !ok || c != [3]uint32{65001, 1000, 1} {
		t.Errorf("customer tag %v", c)
	}
	if c, _ := RoleProvider.Tag(7); c != [3]uint32{7, 1000, 3} {
		t.Errorf("provider tag %v", c)
	}
	if _, ok := RoleNone.Tag(7); ok {
		t.Errorf("RoleNone has a tag")
	}
}

// ibgpView is a session as the iBGP tests compare it.
func ibgpView(l *Lab) []string {
	var out []string
	for _, s := range l.Sessions {
		if !s.IBGP() {
			continue
		}
		v := fmt.Sprintf("%s %s-%s %s-%s", s.Family, s.A.Router.Name, s.B.Router.Name, s.A.Addr, s.B.Addr)
		if s.Link == nil {
			v += " lo"
			if s.A.Iface != nil || s.B.Iface != nil || !s.A.Loopback || !s.B.Loopback || s.A.BGP != nil {
				v += " BAD"
			}
		}
		if s.RRClient != nil {
			v += " client " + s.RRClient.Name
		}
		out = append(out, v)
	}
	return out
}

func TestIBGPSessions(t *testing.T) {
	// A ring of four routers in AS 1, an external AS 2 on r1 and r3.
	const base = `
routers:
  r1: {as: 1}
  r2: {as: 1%s}
  r3: {as: 1}
  r4: {as: 1%s}
  x:  {as: 2}
links:
  - [r1, r2]
  - [r2, r3]
  - [r3, r4]
  - [r4, r1]
  - [r1, x]
  - [x, r3]
addressing: {families: [ipv4]}
`
	for _, c := range []struct {
		name   string
		ases   string
		r2, r4 string
		want   []string
	}{
		{"full-mesh by default", "", "", "", []string{
			"IPv4 r1-r2 10.253.0.1-10.253.0.2 lo",
			"IPv4 r1-r3 10.253.0.1-10.253.0.3 lo",
			"IPv4 r1-r4 10.253.0.1-10.253.0.4 lo",
			"IPv4 r2-r3 10.253.0.2-10.253.0.3 lo",
			"IPv4 r2-r4 10.253.0.2-10.253.0.4 lo",
			"IPv4 r3-r4 10.253.0.3-10.253.0.4 lo",
		}},
		{"full-mesh written", "ases: {1: {ibgp: full-mesh}}", "", "", []string{
			"IPv4 r1-r2 10.253.0.1-10.253.0.2 lo",
			"IPv4 r1-r3 10.253.0.1-10.253.0.3 lo",
			"IPv4 r1-r4 10.253.0.1-10.253.0.4 lo",
			"IPv4 r2-r3 10.253.0.2-10.253.0.3 lo",
			"IPv4 r2-r4 10.253.0.2-10.253.0.4 lo",
			"IPv4 r3-r4 10.253.0.3-10.253.0.4 lo",
		}},
		{"one reflector", "ases: {1: {ibgp: route-reflector}}", ", rr: true", "", []string{
			"IPv4 r1-r2 10.253.0.1-10.253.0.2 lo client r1",
			"IPv4 r2-r3 10.253.0.2-10.253.0.3 lo client r3",
			"IPv4 r2-r4 10.253.0.2-10.253.0.4 lo client r4",
		}},
		{"two reflectors", "ases: {1: {ibgp: route-reflector}}", ", rr: true", ", rr: true", []string{
			"IPv4 r1-r2 10.253.0.1-10.253.0.2 lo client r1",
			"IPv4 r1-r4 10.253.0.1-10.253.0.4 lo client r1",
			"IPv4 r2-r3 10.253.0.2-10.253.0.3 lo client r3",
			"IPv4 r2-r4 10.253.0.2-10.253.0.4 lo", // reflectors: non-clients
			"IPv4 r3-r4 10.253.0.3-10.253.0.4 lo client r3",
		}},
		{"per-link", "ases: {1: {ibgp: per-link}}", "", "", []string{
			"IPv4 r1-r2 10.255.0.1-10.255.0.2",
			"IPv4 r2-r3 10.255.0.5-10.255.0.6",
			"IPv4 r3-r4 10.255.0.9-10.255.0.10",
			"IPv4 r4-r1 10.255.0.13-10.255.0.14",
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			l := mustParse(t, fmt.Sprintf(base, c.r2, c.r4)+c.ases+"\n")
			if diff := cmp.Diff(c.want, ibgpView(l)); diff != "" {
				t.Errorf("iBGP sessions (-want +got):\n%s", diff)
			}
			// eBGP sessions are over links, first, in link order.
			var ebgp []string
			for i, s := range l.Sessions {
				if !s.IBGP() {
					ebgp = append(ebgp, fmt.Sprintf("%d %s-%s", i, s.A.Router.Name, s.B.Router.Name))
				}
			}
			want := []string{"0 r1-x", "1 x-r3"}
			if strings.Contains(c.name, "per-link") {
				// Link sessions keep link order, iBGP ones included.
				want = []string{"4 r1-x", "5 x-r3"}
			}
			if diff := cmp.Diff(want, ebgp); diff != "" {
				t.Errorf("eBGP sessions (-want +got):\n%s", diff)
			}
			for i, s := range l.Sessions {
				if s.Index != i {
					t.Errorf("session %d has index %d", i, s.Index)
				}
			}
		})
	}
}

func TestRouteReflectorModel(t *testing.T) {
	l := mustParse(t, `
ases:
  1: {ibgp: route-reflector}
  2: {ibgp: route-reflector, cluster-id: 192.0.2.1}
routers:
  a1: {as: 1, router-id: 10.0.0.9, rr: true}
  a2: {as: 1, router-id: 10.0.0.5, rr: true}
  a3: {as: 1, router-id: 10.0.0.1, next-hop-self: false}
  a4: {as: 1, router-id: 10.0.0.7, rr: true, cluster-id: 1.1.1.1}
  b1: {as: 2, rr: true}
  b2: {as: 2}
  c:  {as: 3, next-hop-self: true}
links:
  - [a1, a2]
  - [a2, a3]
  - [a3, a4]
  - [b1, b2]
  - [a1, b1]
  - [b2, c]
`)
	as1, as2 := l.ASes[0], l.ASes[1]
	if as1.IBGP != IBGPRouteReflector || as1.ClusterID != netip.MustParseAddr("10.0.0.5") {
		t.Errorf("AS1: %v, cluster-id %v (want the lowest reflector ID, 10.0.0.5)", as1.IBGP, as1.ClusterID)
	}
	if as2.ClusterID != netip.MustParseAddr("192.0.2.1") || l.ASes[2].IBGP != IBGPFullMesh || l.ASes[2].ClusterID.IsValid() {
		t.Errorf("AS2 cluster-id %v; AS3 %v %v", as2.ClusterID, l.ASes[2].IBGP, l.ASes[2].ClusterID)
	}
	for name, want := range map[string]string{
		"a1": "10.0.0.5", "a2": "10.0.0.5", "a3": "invalid IP", "a4": "1.1.1.1", "b1": "192.0.2.1", "b2": "invalid IP", "c": "invalid IP",
	} {
		if got := l.Router(name).ClusterID.String(); got != want {
			t.Errorf("%s cluster-id %s, want %s", name, got, want)
		}
	}
	for name, want := range map[string]bool{"a1": true, "a3": false, "c": true} {
		if got := l.Router(name).NextHopSelf; got != want {
			t.Errorf("%s next-hop-self %v, want %v", name, got, want)
		}
	}
	for _, s := range l.Sessions {
		a, b := s.A.Router, s.B.Router
		switch {
		case s.Link != nil:
			if s.RRClient != nil || s.RRClientOf(a) || s.RRClientOf(b) {
				t.Errorf("session %d over a link has a client", s.Index)
			}
		case a.RR && b.RR:
			if s.RRClient != nil {
				t.Errorf("reflectors %s and %s: client %s", a.Name, b.Name, s.RRClient.Name)
			}
		case a.RR:
			if !s.RRClientOf(a) || s.RRClientOf(b) || s.RRClient != b {
				t.Errorf("%s reflects for %s: RRClientOf wrong", a.Name, b.Name)
			}
		case b.RR:
			if !s.RRClientOf(b) || s.RRClientOf(a) {
				t.Errorf("%s reflects for %s: RRClientOf wrong", b.Name, a.Name)
			}
		default:
			t.Errorf("session %d between two clients %s and %s", s.Index, a.Name, b.Name)
		}
		if s.RRClientOf(l.Router("c")) {
			t.Errorf("RRClientOf a router not in the session")
		}
	}
}

func TestLoopbackAllocation(t *testing.T) {
	src := `
addressing:
  ipv4-links: 10.253.0.0/29
  ipv4-link-length: 30
routers:
  r1: {as: 1}
  r2: {as: 1, loopback: [10.253.0.9, "2001:db8::2/128"]}
  r3: {as: 1, hosts: [h3], lan: [10.3.0.1/24]}
  r4: {as: 2}
  lone: {as: 3}
links:
  - [r1, r2]
  - endpoints: [r2, r3]
    addresses: {r2: [10.23.0.2/24], r3: [10.23.0.3/24]}
  - [r3, r4]
`
	l := mustParse(t, src)
	got := map[string]string{}
	for _, r := range l.Routers {
		got[r.Name] = addrJoin(r.Loopbacks, " ")
	}
	want := map[string]string{
		// The link pool is inside the loopback pool here: allocation
		// skips the link subnets (10.253.0.0/30, .4/30), the pool's first
		// address and r2's written loopback.
		"r1": "10.253.0.8 fd00:fffe::1",
		"r2": "10.253.0.9 2001:db8::2",
		"r3": "10.253.0.10 fd00:fffe::2",
		"r4": "10.253.0.11 fd00:fffe::3",
		// No interface, no family: no loopback.
		"lone": "",
	}
	// r3's IPv6 comes from its link to r4 (allocated IPv6); r2-r3 is
	// IPv4 only but r2 has IPv6 on its link to r1.
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("loopbacks (-want +got):\n%s", diff)
	}
	if a, ok := l.Router("r2").Loopback(IPv6); !ok || a != netip.MustParseAddr("2001:db8::2") {
		t.Errorf("Loopback(IPv6) = %v %v", a, ok)
	}
	if _, ok := l.Router("lone").Loopback(IPv4); ok {
		t.Errorf("lone has a loopback")
	}
	// Deterministic, and the same as rendered.
	for range 5 {
		l2 := mustParse(t, src)
		for i, r := range l2.Routers {
			if !slicesEqual(r.Loopbacks, l.Routers[i].Loopbacks) {
				t.Fatalf("%s: %v then %v", r.Name, l.Routers[i].Loopbacks, r.Loopbacks)
			}
		}
	}

	// Written loopbacks move link allocation out of their way.
	l = mustParse(t, "routers: {a: {as: 1, loopback: 10.255.0.1}, b: {as: 2}}\nlinks: [[a, b]]\n")
	if got := l.Links[0].A.Addrs[0].String(); got != "10.255.0.5/30" {
		t.Errorf("link a-b got %s; want the /30 after the written loopback 10.255.0.1", got)
	}
	// Pools and families.
	l = mustParse(t, `
addressing: {families: [ipv6], ipv6-loopbacks: "2001:db8:ff::/120", ipv4-loopbacks: 192.0.2.0/24}
routers: {a: {as: 1}, b: {as: 1}}
links: [[a, b]]
`)
	if got := addrJoin(l.Router("b").Loopbacks, " "); got != "2001:db8:ff::2" {
		t.Errorf("b's loopbacks %s, want only IPv6 from the pool", got)
	}
	if l.Pools.LoopbackIPv4 != netip.MustParsePrefix("192.0.2.0/24") || l.Pools.LoopbackIPv6 != netip.MustParsePrefix("2001:db8:ff::/120") {
		t.Errorf("pools %v %v", l.Pools.LoopbackIPv4, l.Pools.LoopbackIPv6)
	}
	if v := ibgpView(l); len(v) != 1 || v[0] != "IPv6 a-b 2001:db8:ff::1-2001:db8:ff::2 lo" {
		t.Errorf("sessions %v", v)
	}
}

// TestLoopbacksKeepAddresses: adding loopbacks changed no other address
// or session of a lab whose ASes have one router each.
func TestLoopbacksKeepAddresses(t *testing.T) {
	l := mustLoad(t, "../topologies/minimal.yaml")
	if got := l.Links[0].A.Addrs[0].String(); got != "10.255.0.1/30" {
		t.Errorf("first link %s", got)
	}
	if len(l.Sessions) != 8 {
		t.Errorf("%d sessions", len(l.Sessions))
	}
	for _, s := range l.Sessions {
		if s.Link == nil || s.IBGP() {
			t.Errorf("session %d: %v", s.Index, s)
		}
	}
	for i, r := range l.Routers {
		if want := fmt.Sprintf("10.253.0.%d", i+1); r.Loopbacks[0].String() != want {
			t.Errorf("%s loopback %v, want %s", r.Name, r.Loopbacks, want)
		}
	}
}

func TestCostsAndAggregates(t *testing.T) {
	l := mustParse(t, `
routers:
  a: {as: 1, hosts: [h], aggregate: [10.0.0.0/8, {prefix: "2001:db8::/32", summary-only: true, as-set: true}]}
  b: {as: 1}
links:
  - {endpoints: [a, b], cost: 100}
  - [a, b]
`)
	var costs []int
	for _, k := range l.Links {
		costs = append(costs, k.Cost)
	}
	if !slicesEqual(costs, []int{100, DefaultCost, DefaultCost}) {
		t.Errorf("costs %v (two router links, one host link)", costs)
	}
	if l.Links[2].BGP != [2]*EndBGP{} {
		t.Errorf("host link has BGP settings")
	}
	want := []Aggregate{
		{Prefix: netip.MustParsePrefix("10.0.0.0/8")},
		{Prefix: netip.MustParsePrefix("2001:db8::/32"), SummaryOnly: true, ASSet: true},
	}
	if diff := cmp.Diff(want, l.Router("a").Aggregates, cmp.Comparer(func(a, b Pos) bool { return true }),
		cmp.Comparer(func(a, b netip.Prefix) bool { return a == b })); diff != "" {
		t.Errorf("aggregates (-want +got):\n%s", diff)
	}
}

// TestPolicyErrorsAreTyped checks the kinds the new errors carry.
func TestPolicyErrorsAreTyped(t *testing.T) {
	for _, c := range []struct {
		src  string
		kind error
	}{
		{"routing: {policy: {P: [{match: {prefix: NOPE}}]}}\nrouters: {r: {as: 1}}\n", ErrReference},
		{"routing: {aspath: {A: [\"(\"]}}\nrouters: {r: {as: 1}}\n", ErrValue},
		{"routers: {a: {as: 1, rr: true}}\n", ErrValue},
		{"ases: {1: {ibgp: route-reflector}}\nrouters: {a: {as: 1}}\n", ErrMissing},
		{"routers: {a: {as: 1, loopback: 10.0.0.1}, b: {as: 2, loopback: 10.0.0.1}}\n", ErrDuplicate},
		{"routers: {a: {as: 1}, b: {as: 2}}\nlinks: [{endpoints: [a, b], cost: 0}]\n", ErrValue},
		{"routers: {a: {as: 1}, b: {as: 2}}\nlinks: [{endpoints: [a, b], bgp: {c: {med: 1}}}]\n", ErrReference},
	} {
		_, err := Parse("t.yaml", []byte(c.src))
		if !errors.Is(err, c.kind) {
			t.Errorf("%s: %v, want kind %v", c.src, err, c.kind)
		}
	}
	if s := parseErr("routers: {a: {as: 1}, b: {as: 2}}\nlinks: [{endpoints: [a, b], relation: peer, bgp: {a: {leak: true}}}]\n"); s != "" {
		t.Errorf("leak on a relation link: %s", s)
	}
}
