// Package cli is the lab shell: the front end a user types into (go-prompt
// on a terminal, plain lines from a pipe) and every command with its
// FRR-style text and its JSON for scripts.
//
// Commands run in one of two places. Node commands (`h1 ping h2`), `sh`
// and `source` run in the client, which enters the node's namespace so the
// program gets the user's terminal. Everything else (`pingall`, `link`,
// `as1ra show bgp summary`, ...) runs in the lab daemon through Env.Run,
// reached over the control socket.
package cli

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
)

// Command describes one shell command, for help and completion.
type Command struct {
	Name  string
	Usage string
	Help  string
	// run is the daemon-side implementation; nil for client-side commands.
	run func(ctx context.Context, e *Env, args []string, o *output) error
}

// output is where a daemon-side command writes: text for people, or one
// JSON value for scripts.
type output struct {
	w    io.Writer
	json bool
	v    any
}

func (o *output) printf(format string, a ...any) {
	if !o.json {
		fmt.Fprintf(o.w, format, a...)
	}
}

// result sets the command's JSON value.
func (o *output) result(v any) { o.v = v }

// RouterVerbs are the words that, after a router's name, make a command of
// the router's embedded speaker instead of a program run in its namespace
// (`as1ra show bgp summary`, as one would type in FRR's vtysh).
var RouterVerbs = map[string]bool{
	"show":     true,
	"clear":    true,
	"announce": true,
	"withdraw": true,
}

// commands is the shell's command table, in help order.
var commands []*Command

func init() {
	commands = []*Command{
		{Name: "help", Usage: "help [COMMAND]", Help: "list the commands, or explain one"},
		{Name: "nodes", Usage: "nodes", Help: "list the nodes", run: cmdNodes},
		{Name: "net", Usage: "net", Help: "list every node's interfaces and what they connect to", run: cmdNet},
		{Name: "links", Usage: "links", Help: "list the links and the state of both ends", run: cmdLinks},
		{Name: "intfs", Usage: "intfs", Help: "list every node's interfaces", run: cmdIntfs},
		{Name: "dump", Usage: "dump", Help: "show every node with its addresses and namespace", run: cmdDump},
		{Name: "pingall", Usage: "pingall [TIMEOUT]", Help: "ping between every pair of hosts over IPv4 and IPv6 (TIMEOUT in seconds, default 1)", run: cmdPing(true, true, false)},
		{Name: "ping4all", Usage: "ping4all [TIMEOUT]", Help: "ping between every pair of hosts over IPv4", run: cmdPing(true, false, false)},
		{Name: "ping6all", Usage: "ping6all [TIMEOUT]", Help: "ping between every pair of hosts over IPv6", run: cmdPing(false, true, false)},
		{Name: "pingpair", Usage: "pingpair", Help: "ping between the first two hosts over IPv4 and IPv6", run: cmdPing(true, true, true)},
		{Name: "ping4pair", Usage: "ping4pair", Help: "ping between the first two hosts over IPv4", run: cmdPing(true, false, true)},
		{Name: "ping6pair", Usage: "ping6pair", Help: "ping between the first two hosts over IPv6", run: cmdPing(false, true, true)},
		{Name: "link", Usage: "link NODE1 NODE2 up|down|blackhole|restore  |  link IFACE up|down",
			Help: "take a link down or up on both ends (as Mininet), one interface only (as `ip link set dev as2rb-eth0 down`), or silently drop its packets while the carrier stays up (blackhole) until restore",
			run:  cmdLink},
		{Name: "wait", Usage: "wait [TIMEOUT]", Help: "wait until every BGP session is established and every router has processed its peers' tables (TIMEOUT in seconds, default 60)", run: cmdWait},
		{Name: "NODE", Usage: "NODE COMMAND...", Help: "run COMMAND in the node's namespace; node names in it become addresses (h1 traceroute6 h4)"},
		{Name: "ROUTER show", Usage: "ROUTER show ...", Help: "the router's BGP state, as FRR shows it: `as1ra show bgp summary`, `show bgp ipv6`, `show bgp ipv6 PREFIX`, `show bgp neighbors [ADDR]`, `show bgp messages [ADDR]`, `show log`, `show ip route` (see `help show`)"},
		{Name: "ROUTER clear", Usage: "ROUTER clear bgp ADDR|* [soft]", Help: "reset BGP sessions (hard: Cease/Administrative Reset; soft: route refresh)"},
		{Name: "ROUTER announce", Usage: "ROUTER announce PREFIX [med N] [community A:B ...] [large-community A:B:C ...]", Help: "originate a route"},
		{Name: "ROUTER withdraw", Usage: "ROUTER withdraw PREFIX", Help: "stop originating a route"},
		{Name: "sh", Usage: "sh COMMAND", Help: "run COMMAND in the root namespace"},
		{Name: "source", Usage: "source FILE", Help: "run the commands in FILE"},
		{Name: "exit", Usage: "exit", Help: "leave the shell (`lab run` then tears the lab down)"},
	}
}

// Help renders the command list, or one command's help.
func Help(args []string) string {
	var b strings.Builder
	if len(args) > 0 {
		want := strings.Join(args, " ")
		for _, c := range commands {
			if c.Name == want || strings.TrimPrefix(c.Name, "ROUTER ") == want {
				fmt.Fprintf(&b, "usage: %s\n  %s\n", c.Usage, c.Help)
			}
		}
		if want == "show" {
			b.WriteString(showHelp)
		}
		if b.Len() == 0 {
			fmt.Fprintf(&b, "*** no command %q: try `help`\n", want)
		}
		return b.String()
	}
	b.WriteString("Commands (NODE is a node's name, ROUTER a router's):\n")
	tw := tabwriter.NewWriter(&b, 2, 8, 2, ' ', 0)
	for _, c := range commands {
		fmt.Fprintf(tw, "  %s\t%s\n", c.Usage, c.Help)
	}
	tw.Flush()
	return b.String()
}

func lookup(name string) *Command {
	for _, c := range commands {
		if c.Name == name && c.run != nil {
			return c
		}
	}
	return nil
}

// sortedNodeNames returns routers then hosts, each sorted by name.
func (e *Env) sortedNodeNames() []string {
	var rs, hs []string
	for _, r := range e.Lab.Routers {
		rs = append(rs, r.Name)
	}
	for _, h := range e.Lab.Hosts {
		hs = append(hs, h.Name)
	}
	sort.Strings(rs)
	sort.Strings(hs)
	return append(rs, hs...)
}
