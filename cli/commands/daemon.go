package commands

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"lab/cli/grammar"
	"lab/daemons"
	"lab/speaker/wire"
	"lab/topo"
)

// The ROUTER commands of a router the lab runs FRR or BIRD on go to the
// daemon's own command line, so that a class with mixed routers types
// the same words everywhere. FRR's vtysh takes the shell's words as they
// are (they are FRR's), with `json` for the JSON form; BIRD's birdc gets
// the nearest command of its own, and has no JSON.

// frrCommands are the shell's router commands vtysh runs as typed; the
// others of the lab's speaker alone are refused.
var frrCommands = map[string]bool{
	"show bgp summary": true, "show bgp": true, "show bgp prefix": true, "show bgp neighbors": true,
	"show ip route": true, "clear bgp": true,
}

// runOnDaemon runs the router command p (the line as typed) on d.
func (e *Env) runOnDaemon(ctx context.Context, d *daemons.Router, p *grammar.Parsed, line string, w io.Writer, asJSON bool) (any, error) {
	asJSON = asJSON || p.Args.Has("json")
	words := strings.Fields(line)[1:] // the router's name first
	if p.Args.Has("json") && len(words) > 0 && words[len(words)-1] == "json" {
		words = words[:len(words)-1]
	}
	var cmd string
	var err error
	if d.Daemon == topo.DaemonFRR {
		cmd, err = e.frrCommand(d, p, words, asJSON)
	} else {
		cmd, err = e.birdCommand(d, p, asJSON)
	}
	if err != nil {
		return nil, err
	}
	out, err := d.Run(ctx, cmd)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", d.Name, err)
	}
	if !asJSON {
		_, err := io.WriteString(w, out)
		return nil, err
	}
	if strings.TrimSpace(out) == "" {
		return nil, nil // `clear bgp` says nothing
	}
	if !json.Valid([]byte(out)) {
		return nil, fmt.Errorf("%s: `%s` did not answer JSON: %s", d.Name, cmd, strings.TrimSpace(out))
	}
	return json.RawMessage(out), nil
}

// frrCommand is the vtysh command of p.
func (e *Env) frrCommand(d *daemons.Router, p *grammar.Parsed, words []string, asJSON bool) (string, error) {
	cmd := strings.Join(words, " ")
	switch name := p.Entry.Name; {
	case name == "show routing policy":
		// FRR's route maps are the topology's policies (lab/daemons).
		cmd = strings.TrimSpace("show route-map " + p.Args.Text("name"))
	case !frrCommands[name]:
		return "", e.notOnDaemon(d, p)
	}
	if asJSON && p.Entry.Name != "clear bgp" {
		cmd += " json"
	}
	return cmd, nil
}

// birdCommand is the birdc command nearest to p: `show bgp summary` is
// `show protocols`, a table or the kernel's routes `show route` of the
// family's table, a prefix `show route for PREFIX all`, the neighbours
// `show protocols all`.
func (e *Env) birdCommand(d *daemons.Router, p *grammar.Parsed, asJSON bool) (string, error) {
	if asJSON {
		return "", fmt.Errorf("%s runs BIRD, whose birdc has no JSON output; ask without json, or `lab exec %s %s birdc`", d.Name, e.Lab.Name, d.Name)
	}
	table := "master6"
	if f, ok := bgpFamily(p.Args); ok && f == wire.IPv4Unicast {
		table = "master4"
	}
	switch p.Entry.Name {
	case "show bgp summary":
		return "show protocols", nil
	case "show bgp":
		return "show route table " + table, nil
	case "show ip route":
		if p.Args.Text("afi") == "ip" {
			table = "master4"
		}
		return "show route table " + table, nil
	case "show bgp prefix":
		pfx := p.Args.Prefix("prefix")
		table = "master6"
		if pfx.Addr().Is4() {
			table = "master4"
		}
		return fmt.Sprintf("show route for %v table %s all", pfx, table), nil
	case "show bgp neighbors":
		if !p.Args.Has("view") {
			return "show protocols all", nil
		}
	}
	return "", e.notOnDaemon(d, p)
}

// notOnDaemon is the error for a command d's daemon has no form of.
func (e *Env) notOnDaemon(d *daemons.Router, p *grammar.Parsed) error {
	tool := "vtysh"
	if d.Daemon == topo.DaemonBIRD {
		tool = "birdc"
	}
	return fmt.Errorf("%s runs %s: `%s` is a command of the lab's speaker only; `lab exec %s %s %s` opens %s's own shell",
		d.Name, d.Daemon.Name(), p.Entry.Name, e.Lab.Name, d.Name, tool, d.Daemon.Name())
}
