package commands

import (
	"context"
	"fmt"
	"strings"

	"lab/cli/grammar"
	"lab/exabgp"
)

// exabgpCmd runs `ROUTER announce|withdraw route|attributes|eor|route-refresh
// ...` with ExaBGP 4's grammar, parsed by the same code as the programs'
// commands (package exabgp), so that a line a program prints works typed
// in the shell too.
func exabgpCmd(ctx context.Context, name string, sp Router, verb string, a grammar.Args, o *output) error {
	line := strings.TrimSpace(verb + " " + a.Text("api") + " " + a.Text("exabgp"))
	c, err := exabgp.ParseCommand(line)
	if err != nil {
		return err
	}
	var shown []string
	if err := c.Run(ctx, sp, func(s string) { shown = append(shown, s) }); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	for _, s := range shown {
		o.printf("%s\n", s)
	}
	switch c.Kind {
	case exabgp.AnnounceRoute:
		for _, r := range c.Routes {
			o.printf("*** %s announcing %s\n", name, r.Prefix)
		}
		o.result(c.Routes)
	case exabgp.WithdrawRoute:
		var ps []string
		for _, r := range c.Routes {
			o.printf("*** %s withdraws %s\n", name, r.Prefix)
			ps = append(ps, r.Prefix.String())
		}
		o.result(map[string][]string{"withdrawn": ps})
	default:
		o.printf("*** %s: %s done\n", name, line)
		o.result(map[string]string{"done": line})
	}
	return nil
}
