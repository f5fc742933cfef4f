package commands

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"

	"lab/cli/grammar"
	"lab/daemons"
	"lab/netemu"
	"lab/topo"
)

// Env is what the commands act on: the running lab.
type Env struct {
	Lab *topo.Lab
	Net *netemu.Lab
	// Routers are the embedded speakers, by router name (external routers
	// have none).
	Routers map[string]Router
	// Daemons are the routers the lab runs FRR or BIRD on (kind: frr,
	// kind: bird), by name: their ROUTER commands go to the daemon's own
	// command line (daemon.go).
	Daemons map[string]*daemons.Router

	// lab is names' answer, computed at the first Run: the lab's shape
	// does not change while it runs (apply refuses a change of shape), and
	// a command a script runs in a loop (wait) should not rebuild it for a
	// lab of a thousand nodes every time.
	labOnce sync.Once
	lab     *grammar.Lab

	// idleWaiter is the waiter the last wait left (takeWaiter), under
	// waitMu.
	waitMu     sync.Mutex
	idleWaiter *waiter
}

// ErrFailed is returned by a command whose work ran but did not succeed
// (a pingall with drops): its output says why.
var ErrFailed = errors.New("command failed")

// Run runs one command line. Text goes to w; with asJSON (or a
// command's trailing `json`) the command's JSON value is returned
// instead, and nothing is returned without. The error says why a command
// failed; for `lab cmd` it becomes the exit status.
func (e *Env) Run(ctx context.Context, line string, w io.Writer, asJSON bool) (any, error) {
	e.labOnce.Do(func() { e.lab = e.names() })
	p, err := grammar.Shell.Parse(e.lab, line)
	if err != nil || p == nil {
		return nil, err
	}
	if p.Entry.Client {
		if p.Entry.Name == "node" {
			return nil, fmt.Errorf("%s: node commands run in the shell client (lab shell, lab cmd), not in the daemon", p.Args.Text("node"))
		}
		return nil, fmt.Errorf("%s: runs in the shell client (lab shell, lab cmd), not in the daemon", strings.Fields(line)[0])
	}
	if d := e.Daemons[p.Args.Text("router")]; d != nil {
		return e.runOnDaemon(ctx, d, p, line, w, asJSON)
	}
	h, ok := handlers[p.Entry.Name]
	if !ok {
		return nil, fmt.Errorf("%s: not implemented in the daemon", p.Entry.Name)
	}
	o := &output{w: w, json: asJSON || p.Args.Has("json")}
	err = h(ctx, e, p.Args, o)
	if !o.json {
		// The text went to w: no value to encode and send.
		return nil, err
	}
	return o.v, err
}

// names is the lab as the grammar reads words: its nodes, which routers
// run our speaker, and every interface with the ones at its other end.
// Routers and Daemons must be complete when it runs (Run calls it once).
func (e *Env) names() *grammar.Lab {
	var nodes []grammar.LabNode
	for _, n := range e.Lab.Nodes() {
		ln := grammar.LabNode{Name: n.Name, Kind: n.Kind.String()}
		_, ln.Speaker = e.Routers[n.Name]
		ln.Daemon = n.Router() != nil && e.Daemons[n.Name] != nil
		for _, i := range n.Interfaces {
			ln.Interfaces = append(ln.Interfaces, grammar.LabIface{Name: i.Name, Peer: strings.Join(peersOf(i), ",")})
		}
		nodes = append(nodes, ln)
	}
	return grammar.NewLab(nodes)
}
