package commands

import (
	"context"
	"strings"
	"testing"

	"lab/topo"
)

// Run parses with the shell's grammar: an unknown or extra word is an
// error naming what is accepted, client commands are refused, and a
// command's text or JSON comes out.
func TestRun(t *testing.T) {
	m, err := topo.Load("../../topologies/simple-bgp.yaml")
	if err != nil {
		t.Fatal(err)
	}
	// The speakers are never reached: every line here fails to parse or
	// needs only the topology.
	e := &Env{Lab: m, Routers: map[string]Router{"as1ra": nil, "as2rb": nil, "as3rc": nil, "as4rd": nil}}
	run := func(line string, asJSON bool) (string, any, error) {
		var b strings.Builder
		v, err := e.Run(context.Background(), line, &b, asJSON)
		return b.String(), v, err
	}
	out, _, err := run("nodes", false)
	if err != nil || out != "available nodes are: \nas1ra as2rb as3rc as4rd h1 h2 h3 h4\n" {
		t.Errorf("nodes: %q, %v", out, err)
	}
	out, v, err := run("nodes", true)
	if err != nil || out != "" || len(v.([]string)) != 8 {
		t.Errorf("nodes as JSON: %q, %v, %v", out, v, err)
	}
	for line, want := range map[string]string{
		"nosuchcommand": "unknown command: nosuchcommand (try `help`)",
		"as1ra show bgp neighbors 2001:12::b bestpath": `unexpected "bestpath" after "as1ra show bgp neighbors 2001:12::b": expected advertised-routes, json, received-routes, routes or the end of the line (help show)`,
		"nodes all":        `unexpected "all" after "nodes": expected the end of the line`,
		"pingall 61":       `timeout "61": expected seconds, more than 0 and at most 60`,
		"link as1ra h2 up": `link: as1ra and h2 are not linked`,
		"h1 ping h2":       "h1: node commands run in the shell client (lab shell, lab cmd), not in the daemon",
		"help":             "help: runs in the shell client (lab shell, lab cmd), not in the daemon",
	} {
		if _, _, err := run(line, false); err == nil || err.Error() != want {
			t.Errorf("%s: error %v, want %q", line, err, want)
		}
	}
	if out, v, err := run("  ", false); out != "" || v != nil || err != nil {
		t.Errorf("an empty line: %q %v %v", out, v, err)
	}
}
