package grammar

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// seedLab is the seed's lab as the grammar sees it, with an external
// router (no speaker of ours) added.
func seedLab() *Lab {
	router := func(name string, speaker bool, peers ...string) LabNode {
		n := LabNode{Name: name, Kind: "router", Speaker: speaker}
		for i, p := range peers {
			n.Interfaces = append(n.Interfaces, LabIface{Name: fmt.Sprintf("%s-eth%d", name, i), Peer: p})
		}
		return n
	}
	host := func(name, peer string) LabNode {
		return LabNode{Name: name, Kind: "host", Interfaces: []LabIface{{Name: name + "-eth0", Peer: peer}}}
	}
	return NewLab([]LabNode{
		router("as1ra", true, "as2rb-eth0", "as3rc-eth0", "h1-eth0"),
		router("as2rb", true, "as1ra-eth0", "as3rc-eth1", "as4rd-eth0", "h2-eth0"),
		router("as3rc", true, "as1ra-eth1", "as2rb-eth1"),
		router("as4rd", true, "as2rb-eth2", "ext1-eth0"),
		router("ext1", false, "as4rd-eth1"),
		host("h1", "as1ra-eth2"),
		host("h2", "as2rb-eth3"),
	})
}

// parsed renders a parse as `entry key=value,value ...`, keys sorted, or
// the error.
func parsed(g *Grammar, lab *Lab, line string) string {
	p, err := g.Parse(lab, line)
	if err != nil {
		return "error: " + err.Error()
	}
	if p == nil {
		return "<nil>"
	}
	var keys []string
	for k := range p.Args.m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := p.Entry.Name
	for _, k := range keys {
		var vs []string
		for _, v := range p.Args.All(k) {
			vs = append(vs, v.Text)
		}
		out += " " + k + "=" + strings.Join(vs, ",")
	}
	return out
}

type parseCase struct {
	line string
	want string // the rendering of parsed, or for an error "error: " and a part of it
}

func runParseCases(t *testing.T, g *Grammar, lab *Lab, cases []parseCase) {
	t.Helper()
	for _, c := range cases {
		got := parsed(g, lab, c.line)
		if strings.HasPrefix(c.want, "error: ") {
			if !strings.HasPrefix(got, "error: ") || !strings.Contains(got, strings.TrimPrefix(c.want, "error: ")) {
				t.Errorf("%q:\n got %s\nwant an error containing %q", c.line, got, strings.TrimPrefix(c.want, "error: "))
			}
			continue
		}
		if got != c.want {
			t.Errorf("%q:\n got %s\nwant %s", c.line, got, c.want)
		}
	}
}

// Every command of the shell as people type it (the README's, the seed
// story's, FRR's abbreviations), and the errors for words the table does
// not accept.
func TestParseShell(t *testing.T) {
	runParseCases(t, Shell, seedLab(), []parseCase{
		{"", "<nil>"},
		{"   ", "<nil>"},
		{"help", "help"},
		{"help show", "help topic=show"},
		{"? link", "help topic=link"},
		{"help show bgp   neighbors", "help topic=show bgp   neighbors"},
		{"nodes", "nodes"},
		{"net", "net"},
		{"pingall", "pingall"},
		{"pingall 2.5", "pingall timeout=2.5"},
		{"ping6all 1", "ping6all timeout=1"},
		{"pingpair", "pingpair"},
		{"wait", "wait"},
		{"wait 30", "wait timeout=30"},
		{"link as1ra as2rb down", "link node1=as1ra node2=as2rb op=down"},
		{"link as1ra as2rb blackhole", "link node1=as1ra node2=as2rb op=blackhole"},
		{"link as2rb-eth0 down", "link iface iface=as2rb-eth0 op=down"},
		{"h1 traceroute6 -n -q1 h2", "node command=traceroute6 -n -q1 h2 node=h1"},
		{"h1   ping  -c1 [x]  'a b'", "node command=ping  -c1 [x]  'a b' node=h1"},
		// A router's program, when its word is none of the speaker's.
		{"as1ra ip -6 route", "node command=ip -6 route node=as1ra"},
		// A host and an external router have no speaker: `show` is a program.
		{"h1 show bgp", "node command=show bgp node=h1"},
		{"ext1 show bgp summary", "node command=show bgp summary node=ext1"},
		{"as1ra show bgp summary", "show bgp summary router=as1ra"},
		{"as1ra sh ip b sum", "node command=sh ip b sum node=as1ra"}, // `sh` is not `show`
		{"as1ra show ip b sum", "show bgp summary afi=ip router=as1ra"},
		{"as1ra show bgp ipv6 unicast summary json", "show bgp summary family=ipv6 json=json router=as1ra"},
		{"as1ra show bgp ipv6", "show bgp family=ipv6 router=as1ra"},
		{"as1ra show ipv6 bgp", "show bgp afi=ipv6 router=as1ra"},
		{"as1ra show ip bgp", "show bgp afi=ip router=as1ra"},
		{"as1ra show bgp ipv6 2001:1234:2::/64", "show bgp prefix family=ipv6 prefix=2001:1234:2::/64 router=as1ra"},
		{"as1ra show bgp 2001:1234:2::2", "show bgp prefix prefix=2001:1234:2::2 router=as1ra"},
		{"as1ra show bgp neighbors", "show bgp neighbors router=as1ra"},
		{"as1ra show bgp ne 2001:13::c", "show bgp neighbors addr=2001:13::c router=as1ra"},
		{"as1ra show bgp messages 2001:12::b follow", "show bgp messages addr=2001:12::b follow=follow router=as1ra"},
		{"as1ra show bgp mes follow", "show bgp messages follow=follow router=as1ra"},
		{"as1ra show log", "show log router=as1ra"},
		{"as1ra clear bgp * soft", "clear bgp *=* router=as1ra soft=soft"},
		{"as1ra clear 2001:12::b", "clear bgp addr=2001:12::b router=as1ra"},
		{"as1ra announce 10.9.0.0/16", "announce prefix=10.9.0.0/16 router=as1ra"},
		{"as1ra announce 10.9.0.0/16 community 1:1 no-export med 5 large-community 1:2:3 community [ 2:2 ]",
			"announce community=1:1,no-export,2:2 large-community=1:2:3 med=5 prefix=10.9.0.0/16 router=as1ra"},
		{"as1ra withdraw 10.9.0.0/16", "withdraw prefix=10.9.0.0/16 router=as1ra"},
		{"sh echo [hello]", "sh command=echo [hello]"},
		{"source /tmp/x.txt", "source file=/tmp/x.txt"},
		{"exit", "exit"},
		{"quit", "exit"},
		{"EOF", "exit"},

		// Errors: each names the word and what is accepted there.
		{"nosuchcommand", `error: unknown command: nosuchcommand (try ` + "`help`)"},
		{"as1ra show bgp neighbors 2001:12::b bestpath",
			`error: unexpected "bestpath" after "as1ra show bgp neighbors 2001:12::b": expected advertised-routes, json, received-routes, routes or the end of the line (help show)`},
		{"as1ra show bgp summary extra", `error: unexpected "extra" after "as1ra show bgp summary": expected json or the end of the line`},
		{"as1ra show", `error: incomplete command "as1ra show": expected bgp, ip, ipv6, log or routing (help show)`},
		{"as1ra show bgp nonsense", `error: unexpected "nonsense" after "as1ra show bgp": expected ipv4, ipv6, json, messages, neighbors, summary, unicast, PREFIX (an IP prefix or address) or the end of the line (nonsense: neither a prefix nor an address) (help show)`},
		{"as1ra show bgp s", `error: unexpected "s" after "as1ra show bgp"`}, // summary needs 3 letters
		{"as1ra show bgp neighbors 2001:12::x", `error: unexpected "2001:12::x"`},
		{"as1ra", `error: incomplete command "as1ra": expected announce, clear, graceful-shutdown, neighbor, show, withdraw or COMMAND... (a program and its arguments)`},
		{"h1", `error: incomplete command "h1": expected COMMAND... (a program and its arguments)`},
		{"pingall abc", `error: unexpected "abc" after "pingall": expected TIMEOUT (seconds) or the end of the line (abc: expected seconds, more than 0)`},
		{"pingall 0", `error: (0: expected seconds, more than 0) (help pingall)`},
		{"pingpair 2", `error: unexpected "2" after "pingpair": expected the end of the line`},
		{"link as1ra", `error: incomplete command "link as1ra": expected NODE2 (a node)`},
		{"link as1ra h9 down", `error: unexpected "h9" after "link as1ra": expected NODE2 (a node) (h9: no node "h9")`},
		{"link as1ra as2rb sideways", `error: unexpected "sideways" after "link as1ra as2rb": expected blackhole, down, restore or up (help link)`},
		{"link as2rb-eth0 blackhole", `error: unexpected "blackhole" after "link as2rb-eth0": expected down or up (help link)`},
		{"link h9-eth0 up", `error: unexpected "h9-eth0" after "link": expected NODE1 (a node) or IFACE (an interface) (help link)`},
		{"as1ra clear bgp", `error: incomplete command "as1ra clear bgp": expected * or ADDR (an IP address) (help clear)`},
		{"as1ra announce 10.9.0.0/33", `error: unexpected "10.9.0.0/33" after "as1ra announce": expected attributes, eor, route, route-refresh or PREFIX (an IP prefix) (10.9.0.0/33: netip.ParsePrefix("10.9.0.0/33"): prefix length out of range)`},
		{"as1ra announce 10.9.0.0/16 med 5 med 6", `error: unexpected "med" after "as1ra announce 10.9.0.0/16 med 5": expected community, json, large-community or the end of the line`},
		{"as1ra announce 10.9.0.0/16 community", `error: incomplete command "as1ra announce 10.9.0.0/16 community": expected [ or A:B (a community, or a well-known community's name) (help announce)`},
		{"as1ra announce 10.9.0.0/16 community 70000:1", `error: (70000:1: expected AS:VALUE, each 0..65535)`},
		{"as1ra withdraw", `error: incomplete command "as1ra withdraw": expected attributes, route or PREFIX (an IP prefix)`},
		{"as1ra announce route 10.9.0.0/24 next-hop self as-path [ 2 2 2 ] med 10",
			"announce api=route exabgp=10.9.0.0/24 next-hop self as-path [ 2 2 2 ] med 10 router=as1ra"},
		{"as1ra withdraw route 10.9.0.0/24", "withdraw api=route exabgp=10.9.0.0/24 router=as1ra"},
		{"as1ra announce eor", "announce api=eor router=as1ra"},
		{"sh", `error: incomplete command "sh": expected COMMAND (a program and its arguments)`},
		{"source a b", `error: unexpected "b" after "source a": expected the end of the line`},
		{"exit now", `error: unexpected "now" after "exit"`},
	})
}

// syntheticEntries are commands the table must be able to take as they
// are planned: ExaBGP-style announcements with options in
// any order and bracketed lists, a neighbour shutdown with a free-text
// message, on|off choices, per-neighbour route views, a policy view.
var syntheticEntries = []Entry{
	{Name: "announce route", Syntax: router(K("announce"), K("route"), Arg("prefix", Prefix), Options(
		Seq(K("next-hop"), Alt(Flag("self").Bind("next-hop"), Arg("next-hop", Addr))),
		Seq(K("as-path"), List("as-path", ASN)),
		Seq(K("med"), Arg("med", Uint32)),
		Seq(K("local-preference"), Arg("local-preference", Uint32)),
		Seq(K("community"), List("community", Community)).Repeat(),
	))},
	{Name: "neighbor shutdown", Syntax: []Elem{Arg("router", Router), K("neighbor"), Arg("addr", Addr),
		Alt(Seq(Flag("shutdown"), Opt(K("message"), Rest("message", Text))), Flag("enable"))}},
	{Name: "show neighbor routes", Group: "show", Syntax: router(K("show"), Abbr("bgp", 1), Choice("family", "ipv4", "ipv6"), Abbr("neighbors", 2), Arg("addr", Addr),
		Choice("view", "received-routes", "advertised-routes", "routes"))},
}

func syntheticGrammar(t *testing.T) *Grammar {
	t.Helper()
	g, err := New(append(slices.Clone(commands), syntheticEntries...), groups)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// The planned commands parse with the shell's own beside them: options
// in any order, repeated where allowed, lists bare or bracketed (with or
// without spaces), free text that may hold any word, brackets included.
func TestParseSynthetic(t *testing.T) {
	g := syntheticGrammar(t)
	runParseCases(t, g, seedLab(), []parseCase{
		{"apply exercises/3.yaml", "apply file=exercises/3.yaml"},
		{"apply a b", `error: unexpected "b" after "apply a"`},
		{"as1ra announce route 10.9.0.0/16 next-hop self as-path [ 2 2 2 ] med 10 community [65000:1]",
			"announce route as-path=2,2,2 community=65000:1 med=10 next-hop=self prefix=10.9.0.0/16 router=as1ra"},
		{"as1ra announce route 10.9.0.0/16 community [65000:1 65000:2] med 10 next-hop 2001:12::a as-path [2 3] community no-export",
			"announce route as-path=2,3 community=65000:1,65000:2,no-export med=10 next-hop=2001:12::a prefix=10.9.0.0/16 router=as1ra"},
		{"as1ra announce route 10.9.0.0/16 as-path [ ]", "announce route prefix=10.9.0.0/16 router=as1ra"},
		{"as1ra announce route 10.9.0.0/16 as-path 2 2 med 1 json", "announce route as-path=2,2 json=json med=1 prefix=10.9.0.0/16 router=as1ra"},
		{"as1ra announce route 10.9.0.0/16 med 10 med 20", `error: unexpected "med" after "as1ra announce route 10.9.0.0/16 med 10": expected as-path, community, json, local-preference, next-hop or the end of the line`},
		{"as1ra announce route 10.9.0.0/16 as-path [ 2 x ]", `error: unexpected "x" after "as1ra announce route 10.9.0.0/16 as-path [ 2": expected ] or ASN (an AS number) (x: expected 1..4294967295)`},
		{"as1ra announce route 10.9.0.0/16 as-path [ 2 2", `error: incomplete command`},
		{"as1ra announce route 10.9.0.0/16 next-hop", `error: incomplete command "as1ra announce route 10.9.0.0/16 next-hop": expected self or NEXT-HOP (an IP address)`},
		{"as1ra announce 10.9.0.0/16", "announce prefix=10.9.0.0/16 router=as1ra"}, // the shell's own stays
		{"as1ra neighbor 2001:12::b shutdown", "neighbor addr=2001:12::b router=as1ra shutdown=shutdown"},
		{"as1ra neighbor 2001:12::b shutdown message maintenance [ticket 42] json until 5pm",
			"neighbor addr=2001:12::b message=maintenance [ticket 42] json until 5pm router=as1ra shutdown=shutdown"},
		{"as1ra neighbor 2001:12::b enable", "neighbor addr=2001:12::b enable=enable router=as1ra"},
		{"as1ra neighbor 2001:12::b shutdown message", `error: incomplete command "as1ra neighbor 2001:12::b shutdown message": expected MESSAGE (text)`},
		{"as1ra neighbor 2001:12::b enable message hi", `error: unexpected "message" after "as1ra neighbor 2001:12::b enable": expected the end of the line`},
		{"as1ra graceful-shutdown on", "graceful-shutdown router=as1ra state=on"},
		{"as1ra graceful-shutdown maybe", `error: unexpected "maybe" after "as1ra graceful-shutdown": expected off or on`},
		{"as1ra show bgp ipv6 neighbors 2001:12::b received-routes", "show bgp neighbors addr=2001:12::b family=ipv6 router=as1ra view=received-routes"},
		{"as1ra show b ipv4 ne 10.12.0.2 routes json", "show bgp neighbors addr=10.12.0.2 family=ipv4 json=json router=as1ra view=routes"},
		// The existing view is still there, and the new one is its extension.
		{"as1ra show bgp ipv6 neighbors 2001:12::b", "show bgp neighbors addr=2001:12::b family=ipv6 router=as1ra"},
		{"as1ra show bgp ipv6 neighbors 2001:12::b sent", `error: expected advertised-routes, json, received-routes, routes or the end of the line`},
		{"as1ra show routing policy", "show routing policy router=as1ra"},
		{"as1ra show routing policy EXPORT-AS2", "show routing policy name=EXPORT-AS2 router=as1ra"},
		{"as1ra show routing policy json", "show routing policy json=json router=as1ra"}, // a keyword wins over a name
	})
}

// Adding a view to an existing command is one change of its entry: the
// neighbours entry takes the policy issue's views.
func TestAddingAViewIsOneEntry(t *testing.T) {
	tab := slices.Clone(commands)
	for i := range tab {
		if tab[i].Name == "show bgp neighbors" {
			tab[i].Syntax = router(bgpHead, Abbr("neighbors", 2),
				Opt(Arg("addr", Addr), Opt(Choice("view", "received-routes", "advertised-routes", "routes"))))
		}
	}
	g, err := New(tab, groups)
	if err != nil {
		t.Fatal(err)
	}
	lab := seedLab()
	for line, want := range map[string]string{
		"as1ra show bgp neighbors 2001:12::b received-routes":       "show bgp neighbors addr=2001:12::b router=as1ra view=received-routes",
		"as1ra show bgp ipv4 neighbors 10.12.0.2 advertised-routes": "show bgp neighbors addr=10.12.0.2 family=ipv4 router=as1ra view=advertised-routes",
		"as1ra show bgp neighbors":                                  "show bgp neighbors router=as1ra",
	} {
		if got := parsed(g, lab, line); got != want {
			t.Errorf("%q: got %s, want %s", line, got, want)
		}
	}
	// The shell's table has the views now: the same words, the same
	// reading.
	if got, want := parsed(Shell, lab, "as1ra show bgp neighbors 2001:12::b received-routes"), "show bgp neighbors addr=2001:12::b router=as1ra view=received-routes"; got != want {
		t.Errorf("the shell's table: got %s, want %s", got, want)
	}
}

// Parsed values have their types.
func TestArgsValues(t *testing.T) {
	g := syntheticGrammar(t)
	p, err := g.Parse(seedLab(), "as1ra announce route 10.9.1.0/16 next-hop 2001:12::a as-path [2 4] med 7 community no-export")
	if err != nil {
		t.Fatal(err)
	}
	a := p.Args
	if got := a.Prefix("prefix").String(); got != "10.9.1.0/16" {
		t.Errorf("prefix %s", got)
	}
	if got := a.Addr("next-hop").String(); got != "2001:12::a" {
		t.Errorf("next-hop %s", got)
	}
	if med, ok := a.Uint32("med"); !ok || med != 7 {
		t.Errorf("med %d %v", med, ok)
	}
	var path []uint32
	for _, v := range a.All("as-path") {
		path = append(path, v.V.(uint32))
	}
	if diff := cmp.Diff([]uint32{2, 4}, path); diff != "" {
		t.Errorf("as-path (-want +got):\n%s", diff)
	}
	if c := a.All("community"); len(c) != 1 || c[0].V.(uint32) != 0xFFFFFF01 {
		t.Errorf("community %v", c)
	}
	if a.Has("json") || a.Text("nothing") != "" {
		t.Error("an absent value is there")
	}
	p, _ = Shell.Parse(seedLab(), "pingall 2.5")
	if s, ok := p.Args.Float("timeout"); !ok || s != 2.5 {
		t.Errorf("timeout %v %v", s, ok)
	}
	p, _ = Shell.Parse(seedLab(), "as1ra show bgp 2001:1234:2::2")
	if got := p.Args.Prefix("prefix").String(); got != "2001:1234:2::2/128" {
		t.Errorf("an address is its host prefix: %s", got)
	}
}

// Tables the automaton cannot run are refused when compiled.
func TestNewRefusesBadTables(t *testing.T) {
	for _, c := range []struct {
		entries []Entry
		want    string
	}{
		{[]Entry{{Name: "a", Syntax: []Elem{K("a")}}, {Name: "a", Syntax: []Elem{K("b")}}}, "duplicate name"},
		{[]Entry{{Name: "a", Syntax: []Elem{K("a"), Rest("t", Text), K("b")}}}, "must come last"},
		{[]Entry{{Name: "a", Syntax: []Elem{K("a"), Options(Opt(K("x")))}}}, "may match nothing"},
		{[]Entry{{Name: "a", Syntax: []Elem{Abbr("apply", 2)}}}, "may not be abbreviated"},
		{[]Entry{{Name: "a", Group: "nope", Syntax: []Elem{K("a")}}}, "unknown group"},
		{[]Entry{{Name: "a", Syntax: []Elem{K("a"), {}}}}, "zero Elem"},
		{[]Entry{{Name: "a"}}, "no syntax"},
	} {
		_, err := New(c.entries, nil)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("New(%v) = %v, want an error with %q", c.entries, err, c.want)
		}
	}
}

func TestTokenize(t *testing.T) {
	var got []string
	for _, tok := range tokenize("  a [b]  [ c]d\te ") {
		got = append(got, tok.text)
	}
	if diff := cmp.Diff([]string{"a", "[", "b", "]", "[", "c", "]", "d", "e"}, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestCommunityParsing(t *testing.T) {
	if c, err := ParseCommunity("65001:100"); err != nil || c != 65001<<16|100 {
		t.Errorf("65001:100 = %#x, %v", c, err)
	}
	if c, err := ParseCommunity("no-export"); err != nil || c != 0xFFFFFF01 {
		t.Errorf("no-export = %#x, %v", c, err)
	}
	for _, bad := range []string{"65536:1", "1", "a:b"} {
		if _, err := ParseCommunity(bad); err == nil {
			t.Errorf("ParseCommunity(%q) succeeded", bad)
		}
	}
	if c, err := ParseLargeCommunity("4200000000:1:2"); err != nil || c != [3]uint32{4200000000, 1, 2} {
		t.Errorf("large = %v, %v", c, err)
	}
}
