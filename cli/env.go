package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"lab/netemu"
	"lab/topo"
)

// Env is what daemon-side commands act on: the running lab.
type Env struct {
	Lab *topo.Lab
	Net *netemu.Lab
	// Routers are the embedded speakers, by router name (external routers
	// have none).
	Routers map[string]Router
}

// ErrFailed is returned by a command whose work ran but did not succeed
// (a pingall with drops): its output says why.
var ErrFailed = errors.New("command failed")

// Run runs one daemon-side command line. Text goes to w; with asJSON the
// command's JSON value is returned instead. The error says why a command
// failed; for `lab cmd` it becomes the exit status.
func (e *Env) Run(ctx context.Context, line string, w io.Writer, asJSON bool) (any, error) {
	args := strings.Fields(line)
	if len(args) == 0 {
		return nil, nil
	}
	o := &output{w: w, json: asJSON}
	if n := e.Lab.Node(args[0]); n != nil {
		if len(args) < 2 || !RouterVerbs[args[1]] {
			return nil, fmt.Errorf("%s: node commands run in the shell client (lab shell, lab cmd), not in the daemon", args[0])
		}
		r := n.Router()
		if r == nil {
			return nil, fmt.Errorf("%s is a host: `%s` is a router command", args[0], args[1])
		}
		sp, ok := e.Routers[r.Name]
		if !ok {
			return nil, fmt.Errorf("%s is an external router: its daemon is yours, not ours", r.Name)
		}
		err := routerCommand(ctx, e, r, sp, args[1:], o)
		return o.v, err
	}
	c := lookup(args[0])
	if c == nil {
		return nil, fmt.Errorf("unknown command: %s (try `help`)", args[0])
	}
	err := c.run(ctx, e, args[1:], o)
	return o.v, err
}
