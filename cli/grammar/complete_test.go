package grammar

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// What Tab offers at each point of a line, for the shell's commands and
// the planned ones.
func TestComplete(t *testing.T) {
	g := syntheticGrammar(t)
	lab := seedLab()
	for _, c := range []struct {
		line string
		want []string
	}{
		{"pi", []string{"pingall", "ping4all", "ping6all", "pingpair", "ping4pair", "ping6pair"}},
		{"as", []string{"as1ra", "as2rb", "as3rc", "as4rd"}},
		{"e", []string{"exit", "ext1"}}, // aliases are not offered
		{"h1 tr", []string{"traceroute", "traceroute6"}},
		{"h1 traceroute6 ", []string{"as1ra", "as2rb", "as3rc", "as4rd", "ext1", "h1", "h2"}},
		{"as1ra s", []string{"show", "ss"}},
		{"ext1 s", []string{"ss"}}, // an external router has no words of ours
		{"as1ra show ", []string{"bgp", "ip", "ipv6", "log", "routing"}},
		{"as1ra show bgp s", []string{"summary"}},
		{"as1ra show bgp summary ", []string{"json"}},
		{"as1ra show bgp ipv6 ne 2001:12::b ", []string{"json", "received-routes", "advertised-routes", "routes"}},
		{"as1ra show bgp nonsense ", nil},      // wrong before the cursor: nothing
		{"as1ra clear ", []string{"*", "bgp"}}, // what follows first, then the optional word before it
		{"link ", []string{"as1ra", "as2rb", "as3rc", "as4rd", "ext1", "h1", "h2",
			"as1ra-eth0", "as1ra-eth1", "as1ra-eth2", "as2rb-eth0", "as2rb-eth1", "as2rb-eth2", "as2rb-eth3",
			"as3rc-eth0", "as3rc-eth1", "as4rd-eth0", "as4rd-eth1", "ext1-eth0", "h1-eth0", "h2-eth0"}},
		{"link as1ra ", []string{"as2rb", "as3rc", "h1"}},
		{"link as1ra as2rb ", []string{"down", "up", "blackhole", "restore"}},
		{"link as2rb-eth", []string{"as2rb-eth0", "as2rb-eth1", "as2rb-eth2", "as2rb-eth3"}},
		{"link as2rb-eth0 ", []string{"up", "down"}},
		{"help pinga", []string{"pingall"}},
		{"help s", []string{"show", "sh", "source"}},
		{"as1ra announce route 10.9.0.0/16 ", []string{"next-hop", "as-path", "med", "local-preference", "community", "json"}},
		{"as1ra announce route 10.9.0.0/16 med 1 ", []string{"next-hop", "as-path", "local-preference", "community", "json"}},
		{"as1ra announce route 10.9.0.0/16 next-hop ", []string{"self"}},
		{"as1ra announce route 10.9.0.0/16 as-path ", []string{"["}},
		{"as1ra announce route 10.9.0.0/16 as-path [ 2 ", []string{"]"}},
		{"as1ra announce route 10.9.0.0/16 community 1:1 ", []string{"next-hop", "as-path", "med", "local-preference", "community", "json"}},
		{"check as1ra ", []string{"session", "prefix", "route", "ping", "path", "notification", "log"}},
		{"check as1ra session ", []string{"as2rb", "as3rc", "h1"}}, // the node's neighbours
		{"check as1ra session as2rb ", []string{"established", "down", "idle", "connect", "active", "opensent", "openconfirm", "ipv4", "ipv6", "wait"}},
		{"check as1ra prefix 10.4.0.0/24 best ", []string{"present", "missing", "nexthop", "local-pref", "med", "aspath", "community", "large-community", "origin", "peer", "wait", "aspath-regex"}},
		{"as1ra graceful-shutdown ", []string{"on", "off"}},
		{"as1ra neighbor 2001:12::b shutdown message going ", nil},
	} {
		var got []string
		for _, s := range g.Complete(lab, c.line) {
			got = append(got, s.Text)
		}
		if diff := cmp.Diff(c.want, got); diff != "" {
			t.Errorf("Complete(%q) (-want +got):\n%s", c.line, diff)
		}
	}
	// A command's own word says what it does; a node, what it is.
	for _, s := range Shell.Complete(lab, "pingal") {
		if s.Description != Shell.Entry("pingall").Help {
			t.Errorf("pingall's description %q", s.Description)
		}
	}
	if s := Shell.Complete(lab, "h"); len(s) != 3 || s[0].Text != "help" || s[1] != (Suggestion{"h1", "host"}) {
		t.Errorf("Complete(h) = %v", s)
	}
	if s := Shell.Complete(lab, "link as1ra-eth0"); len(s) != 1 || s[0].Description != "to as2rb-eth0" {
		t.Errorf("an interface's description: %v", s)
	}
}
