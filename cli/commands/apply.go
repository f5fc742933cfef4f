package commands

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"lab/cli/grammar"
	"lab/daemons"
	"lab/speaker"
	"lab/speakerconf"
	"lab/topo"
)

// ApplyResult is `apply`'s JSON: what changed on each router.
type ApplyResult struct {
	File    string                 `json:"file"`
	Routers map[string]RouterApply `json:"routers"`
	// Reset and Soft count the sessions that started again and those
	// that only had their routes run through a new policy.
	Reset int `json:"reset"`
	Soft  int `json:"soft"`
}

// RouterApply is what changed on one router.
type RouterApply struct {
	Neighbors []NeighborApply `json:"neighbors,omitempty"`
	Router    []string        `json:"router,omitempty"`
}

// NeighborApply is what changed of one neighbour.
type NeighborApply struct {
	Neighbor netip.Addr `json:"neighbor"`
	Changed  []string   `json:"changed"`
	// How is "reset" (a new session), "soft" (routes run through the new
	// policy), "shutdown" or "enabled".
	How string `json:"how"`
}

// cmdApply is `apply FILE`: the running lab takes the policies, settings,
// relations, prefixes and timers of FILE, a topology of the same nodes and
// links (the shell client makes FILE's path absolute).
func cmdApply(ctx context.Context, e *Env, a grammar.Args, o *output) error {
	file := a.Text("file")
	model, err := topo.LoadAs(file, e.Lab.Name)
	if err != nil {
		return err
	}
	if diff := topo.ShapeDiff(e.Lab, model); len(diff) > 0 {
		return fmt.Errorf("apply: %s changes the lab's nodes or links, which a running lab cannot take (stop it and start the new file):\n  %s",
			file, strings.Join(diff, "\n  "))
	}
	// Every router's new configuration first: nothing is applied unless
	// all of them can be.
	type next struct {
		name string
		sp   Router
		cfg  speaker.Config
	}
	var todo []next
	for _, r := range model.Routers {
		sp, ok := e.Routers[r.Name]
		if !ok {
			continue // an external router: its daemon is the user's, or one of e.Daemons
		}
		cfg, err := speakerconf.Config(model, r, e.Net.NamespacePath(r.Name))
		if err != nil {
			return err
		}
		cur := sp.Config()
		// What the lab adds when it starts a speaker stays.
		cfg.Log, cfg.Clock, cfg.Dialer, cfg.Port = cur.Log, cur.Clock, cur.Dialer, cur.Port
		cfg.IdleHold, cfg.TraceLen = cur.IdleHold, cur.TraceLen
		todo = append(todo, next{r.Name, sp, cfg})
	}
	// The FRR and BIRD routers: BIRD takes a new configuration, FRR
	// does not, and a change there stops everything.
	type reload struct {
		d    *daemons.Router
		conf string
	}
	var reloads []reload
	for _, r := range model.Routers {
		d := e.Daemons[r.Name]
		if d == nil {
			continue
		}
		conf, changed, err := d.NewConfig(model, r)
		if err != nil {
			return err
		}
		if !changed {
			continue
		}
		if !d.CanReload() {
			return fmt.Errorf("apply: %s runs %s, whose configuration the lab cannot change while it runs, and %s changes it: stop the lab and start the new file",
				r.Name, d.Daemon.Name(), file)
		}
		reloads = append(reloads, reload{d, conf})
	}
	res := ApplyResult{File: file, Routers: map[string]RouterApply{}}
	for _, rl := range reloads {
		if err := rl.d.Reload(ctx, rl.conf); err != nil {
			return fmt.Errorf("apply: %w", err)
		}
		o.printf("*** %s: %s took its new configuration\n", rl.d.Name, rl.d.Daemon.Name())
		res.Routers[rl.d.Name] = RouterApply{Router: []string{rl.d.Daemon.String() + " configuration reloaded"}}
	}
	for _, n := range todo {
		rc, err := n.sp.Reconfigure(ctx, n.cfg)
		if err != nil {
			return fmt.Errorf("apply: %s: %w", n.name, err)
		}
		if rc.Empty() {
			continue
		}
		var ra RouterApply
		ra.Router = rc.Router
		for _, p := range rc.Peers {
			na := NeighborApply{Neighbor: p.Peer, Changed: p.What, How: "soft"}
			switch {
			case p.Shutdown != nil && *p.Shutdown:
				na.How = "shutdown"
			case p.Shutdown != nil:
				na.How = "enabled"
			case p.Reset:
				na.How = "reset"
				res.Reset++
			default:
				res.Soft++
			}
			ra.Neighbors = append(ra.Neighbors, na)
			o.printf("*** %s: neighbor %s: %s (%s)\n", n.name, p.Peer, strings.Join(p.What, ", "), howText(na.How))
		}
		for _, c := range rc.Router {
			o.printf("*** %s: %s\n", n.name, c)
		}
		res.Routers[n.name] = ra
	}
	routers := slices.Sorted(func(yield func(string) bool) {
		for k := range res.Routers {
			if !yield(k) {
				return
			}
		}
	})
	if len(routers) == 0 {
		o.printf("*** %s: nothing to change\n", file)
	} else {
		o.printf("*** Applied %s: %d routers changed (%s), %d sessions reset, %d updated without a reset\n",
			file, len(routers), strings.Join(routers, " "), res.Reset, res.Soft)
	}
	o.result(res)
	return nil
}

func howText(how string) string {
	switch how {
	case "reset":
		return "session reset"
	case "soft":
		return "routes updated, no reset"
	}
	return how
}
