package grammar

import (
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// `help` lists every command, a group as one line, each with what it
// does.
func TestHelpListsEveryCommand(t *testing.T) {
	h := Shell.Help(nil)
	for _, e := range Shell.Entries() {
		want := e.Usage()
		if e.Group != "" {
			want = Shell.groupUsage(e.Group)
		}
		if !strings.Contains(h, want) {
			t.Errorf("help lacks %q", want)
		}
	}
	for _, line := range []string{
		"Commands (NODE is a node's name, ROUTER a router's):\n",
		"\n  pingall [TIMEOUT]  ",
		"\n  link NODE1 NODE2 down|up|blackhole|restore  ",
		"\n  link IFACE up|down  ",
		"\n  NODE COMMAND...  ",
		"\n  ROUTER show ...  ",
		"\n  ROUTER clear [bgp] ADDR|* [soft]  ",
		"\n  ROUTER announce (PREFIX [med N] [community A:B ...] [large-community A:B:C ...] | route|attributes|eor|route-refresh [EXABGP])  originate a route; ",
		"\n  exit  ",
	} {
		if !strings.Contains(h, line) {
			t.Errorf("help lacks %q:\n%s", line, h)
		}
	}
	if strings.Contains(h, "[json]") {
		t.Errorf("the hidden json shows in help:\n%s", h)
	}
	if n := strings.Count(h, "ROUTER show"); n != 1 {
		t.Errorf("the show group takes %d lines of help, want 1:\n%s", n, h)
	}
}

// `help WORDS` explains the commands those words begin.
func TestHelpTopics(t *testing.T) {
	for _, c := range []struct {
		words []string
		want  []string // entries explained, in order
	}{
		{[]string{"pingall"}, []string{"pingall [TIMEOUT]"}},
		{[]string{"?"}, []string{"help [COMMAND]"}},
		{[]string{"link"}, []string{"link NODE1 NODE2 down|up|blackhole|restore", "link IFACE up|down"}},
		{[]string{"show"}, []string{
			"ROUTER show [ip|ipv6] bgp [ipv4|ipv6] [unicast] summary",
			"ROUTER show [ip|ipv6] bgp [ipv4|ipv6] [unicast]",
			"ROUTER show [ip|ipv6] bgp [ipv4|ipv6] [unicast] PREFIX",
			"ROUTER show [ip|ipv6] bgp [ipv4|ipv6] [unicast] neighbors [ADDR [received-routes|advertised-routes|routes]]",
			"ROUTER show [ip|ipv6] bgp [ipv4|ipv6] [unicast] messages [ADDR] [follow]",
			"ROUTER show log",
			"ROUTER show routing policy [NAME]",
			"ROUTER show ip|ipv6 route",
		}},
		{[]string{"show", "bgp", "sum"}, []string{"ROUTER show [ip|ipv6] bgp [ipv4|ipv6] [unicast] summary"}},
		{[]string{"show", "log"}, []string{"ROUTER show log"}},
		{[]string{"ROUTER", "clear"}, []string{"ROUTER clear [bgp] ADDR|* [soft]"}},
		{[]string{"NODE"}, []string{"NODE COMMAND..."}},
		{[]string{"announce"}, []string{"ROUTER announce (PREFIX [med N] [community A:B ...] [large-community A:B:C ...] | route|attributes|eor|route-refresh [EXABGP])"}},
		{[]string{"quit"}, []string{"exit"}},
	} {
		h := Shell.Help(c.words)
		var got []string
		for _, l := range strings.Split(h, "\n") {
			if u, ok := strings.CutPrefix(l, "usage: "); ok && !strings.HasSuffix(u, " ...") {
				got = append(got, u)
			}
		}
		if diff := cmp.Diff(c.want, got); diff != "" {
			t.Errorf("help %s (-want +got):\n%s\n%s", strings.Join(c.words, " "), diff, h)
		}
	}
	show := Shell.Help([]string{"show"})
	for _, want := range []string{
		"usage: ROUTER show ...\n  the router's BGP state",
		"ROUTER show commands (FRR's words",
		"show bgp summary",
		"\nAdd json at the end (or use lab cmd --json) for the machine-readable form.\n",
	} {
		if !strings.Contains(show, want) {
			t.Errorf("help show lacks %q:\n%s", want, show)
		}
	}
	if got := Shell.Help([]string{"pingall"}); got != "usage: pingall [TIMEOUT]\n  ping between every pair of hosts over each address family of the lab (TIMEOUT in seconds, default 1)\n" {
		t.Errorf("help pingall = %q", got)
	}
	if got := Shell.Help([]string{"nosuch"}); got != "*** no command \"nosuch\": try `help`\n" {
		t.Errorf("help nosuch = %q", got)
	}
}

// A node may not be called like a command: the table's first words are
// the reserved names, aliases included.
func TestReserved(t *testing.T) {
	r := Reserved()
	for _, e := range Shell.Entries() {
		if x := &e.Syntax[0]; x.form == fKeyword {
			for _, w := range x.words {
				if !slices.Contains(r, w.Text) {
					t.Errorf("%q is not reserved", w.Text)
				}
			}
		}
	}
	for _, w := range []string{"help", "?", "nodes", "pingall", "link", "wait", "sh", "source", "exit", "quit", "EOF"} {
		if !slices.Contains(r, w) {
			t.Errorf("%q is not reserved", w)
		}
	}
	for _, w := range []string{"show", "clear", "announce", "withdraw", "json"} {
		if slices.Contains(r, w) {
			t.Errorf("%q is reserved: it is a router's word, not a line's first", w)
		}
	}
	g := syntheticGrammar(t)
	if r := g.Reserved(); !slices.Contains(r, "check") || !slices.Contains(r, "apply") {
		t.Errorf("new commands are not reserved: %v", r)
	}
}
