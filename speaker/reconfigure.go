package speaker

import (
	"context"
	"fmt"
	"net/netip"
	"reflect"
	"slices"

	"lab/speaker/peer"
)

// PeerChange is what a reconfiguration changed of one neighbour.
type PeerChange struct {
	Peer netip.Addr
	// What names the fields that changed, in the topology's words
	// ("remote-as", "policy in", "local-pref", ...).
	What []string
	// Reset: the session starts again (a change of remote-as, password,
	// timers or addresses, which a running session cannot take); else
	// the routes are run through the new policy without a new session.
	Reset bool
	// Shutdown: the session was shut down (true) or enabled again.
	Shutdown *bool
}

// Reconfiguration is what Reconfigure changed.
type Reconfiguration struct {
	Peers []PeerChange
	// Router lists router-wide changes ("compare-routerid", "announce
	// 10.0.0.0/8", "withdraw ...").
	Router []string
}

// Empty reports whether nothing changed.
func (r *Reconfiguration) Empty() bool { return len(r.Peers) == 0 && len(r.Router) == 0 }

// Reconfigure applies a new configuration to the running speaker, as
// `lab apply` does: its name, AS, router ID, namespace and neighbours
// (their addresses) must be the same. Each neighbour whose session
// parameters changed (remote-as, password, timers, addresses, families)
// is reset at once, without idle hold; every other change (policies,
// knobs, relations, route reflection, originated prefixes) takes effect
// without a new session: the routes already received go through the new
// import side, and every route is advertised again through the new export
// side.
func (sp *Speaker) Reconfigure(ctx context.Context, cfg Config) (*Reconfiguration, error) {
	if err := sp.running(); err != nil {
		return nil, err
	}
	old := sp.Config()
	if cfg.Timers == (Timers{}) {
		cfg.Timers = DefaultTimers
	}
	switch {
	case cfg.Name != old.Name || cfg.AS != old.AS || cfg.Namespace != old.Namespace:
		return nil, fmt.Errorf("speaker %s: the name, AS and namespace of a router may not change", old.Name)
	case cfg.RouterID != old.RouterID:
		return nil, fmt.Errorf("speaker %s: the router ID may not change (%v to %v)", old.Name, old.RouterID, cfg.RouterID)
	}
	addrs := func(ps []PeerConfig) []netip.Addr {
		var out []netip.Addr
		for _, p := range ps {
			out = append(out, p.PeerAddr)
		}
		return out
	}
	if !slices.Equal(addrs(old.Peers), addrs(cfg.Peers)) {
		return nil, fmt.Errorf("speaker %s: the neighbours changed (%v to %v): that is a change of the topology", old.Name,
			addrs(old.Peers), addrs(cfg.Peers))
	}
	rc := &Reconfiguration{}
	if old.CompareRouterID != cfg.CompareRouterID || old.ClusterID != cfg.ClusterID {
		if old.CompareRouterID != cfg.CompareRouterID {
			rc.Router = append(rc.Router, "compare-routerid")
		}
		if old.ClusterID != cfg.ClusterID {
			rc.Router = append(rc.Router, "cluster-id")
		}
		if err := sp.dec.SetOptions(ctx, cfg.CompareRouterID, cfg.ClusterID); err != nil {
			return nil, err
		}
	}
	if !reflect.DeepEqual(old.Aggregates, cfg.Aggregates) {
		rc.Router = append(rc.Router, "aggregate")
		if err := sp.dec.SetAggregates(ctx, cfg.Aggregates); err != nil {
			return nil, err
		}
	}
	// The new configuration is the speaker's from here on: show commands
	// read it.
	sp.setConfig(cfg)
	for i := range cfg.Peers {
		o, n := &old.Peers[i], &cfg.Peers[i]
		reset, soft := peerDiff(old.Timers, cfg.Timers, o, n)
		ch := PeerChange{Peer: n.PeerAddr, What: append(reset, soft...), Reset: len(reset) > 0}
		id := peer.ID(i)
		if len(reset) > 0 || len(soft) > 0 {
			if err := sp.sess.Reconfigure(id, *n, len(reset) > 0 && !n.Shutdown); err != nil {
				return rc, fmt.Errorf("speaker %s: %w", cfg.Name, err)
			}
		}
		if len(soft) > 0 || len(reset) > 0 {
			if err := sp.dec.Reconfigure(ctx, id, *n); err != nil {
				return rc, fmt.Errorf("speaker %s: %w", cfg.Name, err)
			}
		}
		if o.Shutdown != n.Shutdown {
			down := n.Shutdown
			ch.Shutdown = &down
			if err := sp.sess.SetShutdown(id, down, n.ShutdownMessage); err != nil {
				return rc, fmt.Errorf("speaker %s: %w", cfg.Name, err)
			}
		}
		if len(ch.What) > 0 || ch.Shutdown != nil {
			rc.Peers = append(rc.Peers, ch)
		}
	}
	// Originated prefixes: new or changed ones announced, gone ones
	// withdrawn.
	was := make(map[netip.Prefix]Origination, len(old.Originate))
	for _, o := range old.Originate {
		was[o.Prefix] = o
	}
	for _, o := range cfg.Originate {
		if w, ok := was[o.Prefix]; !ok || !reflect.DeepEqual(w, o) {
			sp.dec.Announce(o)
			rc.Router = append(rc.Router, "announce "+o.Prefix.String())
		}
		delete(was, o.Prefix)
	}
	for _, o := range old.Originate {
		if _, gone := was[o.Prefix]; gone {
			sp.dec.Withdraw(o.Prefix)
			rc.Router = append(rc.Router, "withdraw "+o.Prefix.String())
		}
	}
	return rc, nil
}

// peerDiff names what changed between two configurations of a neighbour:
// what needs a new session, and what does not. A change of shutdown is
// neither: it shuts the session down or lets it start.
func peerDiff(oldTimers, newTimers Timers, o, n *PeerConfig) (reset, soft []string) {
	t := func(defaults Timers, p *PeerConfig) Timers {
		if p.Timers != nil {
			return *p.Timers
		}
		return defaults
	}
	for _, c := range []struct {
		name    string
		changed bool
	}{
		{"remote-as", o.PeerAS != n.PeerAS},
		{"password", o.Password != n.Password},
		{"timers", t(oldTimers, o) != t(newTimers, n)},
		{"local address", o.LocalAddr != n.LocalAddr},
		{"families", !slices.Equal(o.AddressFamilies(), n.AddressFamilies())},
		{"interface", o.Interface != n.Interface},
		{"passive", o.Passive != n.Passive},
	} {
		if c.changed {
			reset = append(reset, c.name)
		}
	}
	eqU32 := func(a, b *uint32) bool { return (a == nil) == (b == nil) && (a == nil || *a == *b) }
	fingerprints := func(ps []peer.Policy) []string {
		var out []string
		for _, p := range ps {
			out = append(out, p.Fingerprint())
		}
		return out
	}
	for _, c := range []struct {
		name    string
		changed bool
	}{
		{"relation", o.Role != n.Role},
		{"policy in", !slices.Equal(fingerprints(o.Import), fingerprints(n.Import))},
		{"policy out", !slices.Equal(fingerprints(o.Export), fingerprints(n.Export))},
		{"local-pref", !eqU32(o.LocalPref, n.LocalPref)},
		{"weight", !eqU32(o.Weight, n.Weight)},
		{"med", !eqU32(o.MED, n.MED)},
		{"prepend", !slices.Equal(o.Prepend, n.Prepend)},
		{"max-prefix", o.MaxPrefix != n.MaxPrefix || o.MaxPrefixWarningOnly != n.MaxPrefixWarningOnly},
		{"allowas-in", o.AllowASIn != n.AllowASIn},
		{"default-originate", o.DefaultOriginate != n.DefaultOriginate},
		{"rr-client", o.RRClient != n.RRClient},
		{"next-hop-self", o.NextHopUnchanged != n.NextHopUnchanged},
		{"next hops", o.NextHop4 != n.NextHop4 || o.NextHop6 != n.NextHop6},
		{"description", o.Description != n.Description},
		{"shutdown message", o.Shutdown == n.Shutdown && o.ShutdownMessage != n.ShutdownMessage},
	} {
		if c.changed {
			soft = append(soft, c.name)
		}
	}
	return reset, soft
}
