package grammar

import (
	"sort"
	"strings"
)

// Lab is what the grammar knows of a running lab: the names of its nodes
// and interfaces, to check NODE, ROUTER and IFACE words and to complete
// them. The client builds it from the daemon's control.Info, the daemon
// from its topology. It is not changed after NewLab.
type Lab struct {
	nodes  []LabNode
	byName map[string]*LabNode
	ifaces map[string]*LabNode // interface name -> its node
}

// LabNode is one node of a Lab.
type LabNode struct {
	Name string
	Kind string // "router" or "host": Tab shows it beside the name
	// Speaker is set for a router running the lab's BGP speaker: the
	// ROUTER commands apply to it (not to hosts nor external routers).
	Speaker bool
	// Daemon is set for a router the lab runs FRR or BIRD on: ROUTER
	// commands apply to it too, and its daemon answers them.
	Daemon     bool
	Interfaces []LabIface
}

// LabIface is one interface of a LabNode.
type LabIface struct {
	Name string
	Peer string // the interfaces at the other end, comma-separated
}

// NewLab indexes nodes.
func NewLab(nodes []LabNode) *Lab {
	l := &Lab{nodes: nodes, byName: map[string]*LabNode{}, ifaces: map[string]*LabNode{}}
	for i := range l.nodes {
		n := &l.nodes[i]
		l.byName[n.Name] = n
		for _, f := range n.Interfaces {
			l.ifaces[f.Name] = n
		}
	}
	return l
}

// Node returns the node called name, or nil.
func (l *Lab) Node(name string) *LabNode {
	if l == nil {
		return nil
	}
	return l.byName[name]
}

func (l *Lab) ifaceNode(name string) *LabNode {
	if l == nil {
		return nil
	}
	return l.ifaces[name]
}

// Nodes returns the lab's nodes in their order.
func (l *Lab) Nodes() []LabNode {
	if l == nil {
		return nil
	}
	return l.nodes
}

// Neighbours returns the names of the nodes linked to the node called
// name, sorted.
func (l *Lab) Neighbours(name string) []string {
	n := l.Node(name)
	if n == nil {
		return nil
	}
	set := map[string]bool{}
	for _, f := range n.Interfaces {
		for _, p := range strings.Split(f.Peer, ",") {
			if o := l.ifaceNode(p); o != nil && o != n {
				set[o.Name] = true
			}
		}
	}
	out := make([]string, 0, len(set))
	for k := range set {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
