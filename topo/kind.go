package topo

import (
	"fmt"

	"go.yaml.in/yaml/v3"
)

// Daemon is a BGP daemon the lab configures and runs for a router instead
// of its embedded speaker: a router's `kind:`.
type Daemon uint8

const (
	// DaemonNone: no daemon of the lab's; the router runs the lab's
	// speaker (`kind: lab`, the default), or the user's daemon
	// (`external: true`).
	DaemonNone Daemon = iota
	// DaemonFRR: FRR's zebra and bgpd (`kind: frr`).
	DaemonFRR
	// DaemonBIRD: BIRD 2 (`kind: bird`).
	DaemonBIRD
)

func (d Daemon) String() string {
	switch d {
	case DaemonNone:
		return "lab"
	case DaemonFRR:
		return "frr"
	case DaemonBIRD:
		return "bird"
	}
	return fmt.Sprintf("Daemon(%d)", uint8(d))
}

// Name is how people call the daemon: "FRR", "BIRD", "the lab's speaker".
func (d Daemon) Name() string {
	switch d {
	case DaemonFRR:
		return "FRR"
	case DaemonBIRD:
		return "BIRD"
	}
	return "the lab's speaker"
}

// kinds are the values of a router's `kind:`.
var kinds = map[string]Daemon{"lab": DaemonNone, "frr": DaemonFRR, "bird": DaemonBIRD}

// decodeKind reads a router's `kind:`; with `external: true` it is an
// error, since a router runs one daemon: the lab's or the user's.
func (d *decoder) decodeKind(r *rawRouter, n *yaml.Node, what string) {
	const expected = "lab, frr or bird"
	s, ok := d.scalar(n, "the kind of "+what, expected)
	if !ok {
		return
	}
	k, ok := kinds[s]
	if !ok {
		d.nodeErr(n, ErrValue, "unknown kind %q of %s; expected %s (external: true runs your own daemon)", s, what, expected)
		return
	}
	r.daemon, r.daemonPos = k, d.pos(n)
	if r.external && k != DaemonNone {
		d.nodeErr(n, ErrValue, "kind: %s makes the lab run %s on %s, and external: true says you run your own daemon there: keep one", s, k.Name(), what)
	}
}
