// Package commands is the lab daemon's command set: the shell commands
// that act on the running lab (pingall, link, wait, nodes, ...) and on its
// routers' speakers (show, clear, announce, withdraw), each with its
// FRR- or Mininet-style text and its JSON for scripts.
//
// Their words are the grammar's (lab/cli/grammar): Env.Run parses a line
// with grammar.Shell and calls the implementation registered under the
// entry's name. The client's own commands (node commands, sh, source,
// help, exit) are lab/cli/shell's.
package commands

import (
	"context"
	"fmt"
	"io"
	"sort"

	"lab/cli/grammar"
)

// output is where a command writes: text for people, or one JSON value
// for scripts.
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

// handler runs one command, its words read by the grammar.
type handler func(ctx context.Context, e *Env, a grammar.Args, o *output) error

// handlers are the implementations of the grammar's daemon-side entries,
// by entry name (a test checks they match the table one to one).
var handlers = map[string]handler{
	"nodes":               cmdNodes,
	"net":                 cmdNet,
	"links":               cmdLinks,
	"intfs":               cmdIntfs,
	"dump":                cmdDump,
	"pingall":             cmdPing(true, true, false),
	"ping4all":            cmdPing(true, false, false),
	"ping6all":            cmdPing(false, true, false),
	"pingpair":            cmdPing(true, true, true),
	"ping4pair":           cmdPing(true, false, true),
	"ping6pair":           cmdPing(false, true, true),
	"link":                cmdLink,
	"link iface":          cmdLinkIface,
	"wait":                cmdWait,
	"show bgp summary":    routerCmd(showSummary),
	"show bgp":            routerCmd(showTable),
	"show bgp prefix":     routerCmd(showRoute),
	"show bgp neighbors":  routerCmd(showNeighbors),
	"show bgp messages":   routerCmd(showMessages),
	"show log":            routerCmd(showLog),
	"clear bgp":           routerCmd(clearBGP),
	"announce":            routerCmd(announce),
	"withdraw":            routerCmd(withdraw),
	"neighbor":            routerCmd(neighborCmd),
	"graceful-shutdown":   routerCmd(gracefulShutdown),
	"show routing policy": routerCmd(showRoutingPolicy),
	"show ip route":       showKernelRoutes,
	"apply":               cmdApply,
	"check session":       cmdCheck("check session"),
	"check prefix":        cmdCheck("check prefix"),
	"check route":         cmdCheck("check route"),
	"check ping":          cmdCheck("check ping"),
	"check path":          cmdCheck("check path"),
	"check notification":  cmdCheck("check notification"),
	"check log":           cmdCheck("check log"),
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
