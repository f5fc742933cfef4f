package commands

import (
	"context"
	"fmt"
	"net/netip"
	"strings"

	"lab/cli/grammar"
	"lab/topo"
)

func cmdNodes(_ context.Context, e *Env, _ grammar.Args, o *output) error {
	names := e.sortedNodeNames()
	o.printf("available nodes are: \n%s\n", strings.Join(names, " "))
	o.result(names)
	return nil
}

type netJSON struct {
	Node       string            `json:"node"`
	Kind       string            `json:"kind"`
	Interfaces map[string]string `json:"interfaces"` // interface -> peer interface
}

// cmdNet prints, as Mininet's `net`, each node with its interfaces and
// the interface at the other end.
func cmdNet(_ context.Context, e *Env, _ grammar.Args, o *output) error {
	var res []netJSON
	for _, n := range e.Lab.Nodes() {
		j := netJSON{Node: n.Name, Kind: n.Kind.String(), Interfaces: map[string]string{}}
		var parts []string
		for _, i := range n.Interfaces {
			peers := peersOf(i)
			parts = append(parts, i.Name+":"+strings.Join(peers, ","))
			j.Interfaces[i.Name] = strings.Join(peers, ",")
		}
		o.printf("%s %s\n", n.Name, strings.Join(parts, " "))
		res = append(res, j)
	}
	o.result(res)
	return nil
}

// peersOf returns the interfaces at the other end of i: one for a link,
// every host for a router's LAN interface.
func peersOf(i *topo.Interface) []string {
	if i.Link == nil {
		return nil
	}
	if l := i.Link.LAN; l != nil && i == l.Iface {
		var out []string
		for _, k := range l.Links {
			out = append(out, k.Other(i).Name)
		}
		return out
	}
	return []string{i.Link.Other(i).Name}
}

type linkJSON struct {
	A          string `json:"a"`
	B          string `json:"b"`
	AState     string `json:"a_state"`
	BState     string `json:"b_state"`
	Blackholed bool   `json:"blackholed"`
}

func cmdLinks(_ context.Context, e *Env, _ grammar.Args, o *output) error {
	var res []linkJSON
	for _, st := range e.Net.LinkStatuses(e.Lab.Links) {
		k := st.Link
		j := linkJSON{A: k.A.Name, B: k.B.Name, AState: endState(st.A), BState: endState(st.B), Blackholed: st.Blackholed}
		extra := ""
		if st.Blackholed {
			extra = " blackholed"
		}
		o.printf("%s<->%s (%s %s)%s\n", k.A.Name, k.B.Name, j.AState, j.BState, extra)
		res = append(res, j)
	}
	o.result(res)
	return nil
}

func cmdIntfs(_ context.Context, e *Env, _ grammar.Args, o *output) error {
	res := map[string][]string{}
	for _, n := range e.Lab.Nodes() {
		var names []string
		for _, i := range n.Interfaces {
			names = append(names, i.Name)
		}
		o.printf("%s: %s\n", n.Name, strings.Join(names, ","))
		res[n.Name] = names
	}
	o.result(res)
	return nil
}

type dumpJSON struct {
	Node       string                    `json:"node"`
	Kind       string                    `json:"kind"`
	Namespace  string                    `json:"namespace"`
	AS         uint32                    `json:"as,omitempty"`
	RouterID   string                    `json:"router_id,omitempty"`
	External   bool                      `json:"external,omitempty"`
	Interfaces map[string][]netip.Prefix `json:"interfaces"`
}

func cmdDump(_ context.Context, e *Env, _ grammar.Args, o *output) error {
	var res []dumpJSON
	for _, n := range e.Lab.Nodes() {
		j := dumpJSON{Node: n.Name, Kind: n.Kind.String(), Namespace: n.Namespace, Interfaces: map[string][]netip.Prefix{}}
		var parts []string
		for _, i := range n.Interfaces {
			var as []string
			for _, p := range i.Addrs {
				as = append(as, p.String())
			}
			parts = append(parts, i.Name+":"+strings.Join(as, ","))
			j.Interfaces[i.Name] = i.Addrs
		}
		kind := "Host"
		extra := ""
		if r := n.Router(); r != nil {
			kind = "Router"
			j.AS, j.RouterID, j.External = r.AS.Number, r.RouterID.String(), r.External
			extra = fmt.Sprintf(" AS%d id=%s", r.AS.Number, r.RouterID)
			switch {
			case r.Daemon != topo.DaemonNone:
				extra += " " + r.Daemon.String()
			case r.External:
				extra += " external"
			}
		}
		o.printf("<%s %s: %s%s netns=%s>\n", kind, n.Name, strings.Join(parts, " "), extra, n.Namespace)
		res = append(res, j)
	}
	o.result(res)
	return nil
}

// cmdLinkIface takes one interface down or up: `link IFACE down|up`.
func cmdLinkIface(ctx context.Context, e *Env, a grammar.Args, o *output) error {
	i := e.Lab.Interface(a.Text("iface"))
	if i == nil {
		return fmt.Errorf("link: no interface %q", a.Text("iface"))
	}
	op := a.Text("op")
	moved, err := e.Net.SetInterfaceChanged(i, op == "up")
	if err != nil {
		return err
	}
	// The far end loses its carrier too: both routers take it in, and
	// every router whose underlay routes moved.
	if err := e.syncKernel(ctx, i.Link, moved); err != nil {
		return err
	}
	o.printf("*** %s %s\n", i.Name, op)
	o.result(map[string]string{"interface": i.Name, "state": op})
	return nil
}

// cmdLink acts on every link between two nodes, on both ends:
// `link NODE1 NODE2 down|up|blackhole|restore`.
func cmdLink(ctx context.Context, e *Env, args grammar.Args, o *output) error {
	a, b, op := args.Text("node1"), args.Text("node2"), args.Text("op")
	links := e.Lab.LinkBetween(a, b)
	if len(links) == 0 {
		return fmt.Errorf("link: %s and %s are not linked", a, b)
	}
	var res []string
	for _, k := range links {
		var err error
		switch op {
		case "up", "down":
			var moved []string
			moved, err = e.Net.SetLinkChanged(k, op == "up")
			if err == nil {
				err = e.syncKernel(ctx, k, moved)
			}
		case "blackhole", "restore":
			err = e.Net.Blackhole(k, op == "blackhole")
		}
		if err != nil {
			return err
		}
		o.printf("*** %s<->%s %s\n", k.A.Name, k.B.Name, op)
		res = append(res, k.A.Name+"<->"+k.B.Name)
	}
	o.result(map[string]any{"links": res, "state": op})
	return nil
}

// syncKernel has the speakers at both ends of k, and the routers whose
// underlay routes moved, act on the kernel's state now, so the command
// after `link` already sees the paths through k invalid or valid again
// (and iBGP next hops at their new IGP cost), not a view a few
// milliseconds old: a speaker does not watch route changes.
func (e *Env) syncKernel(ctx context.Context, k *topo.Link, moved []string) error {
	var names []string
	if k != nil {
		names = append(names, k.A.Node.Name, k.B.Node.Name)
	}
	names = append(names, moved...)
	done := map[string]bool{}
	for _, name := range names {
		if done[name] {
			continue
		}
		done[name] = true
		if sp, ok := e.Routers[name]; ok {
			if err := sp.SyncKernel(ctx); err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
		}
	}
	return nil
}
