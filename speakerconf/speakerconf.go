// Package speakerconf maps a lab's topology to the configuration of each
// router's embedded speaker: the lab's policy (who dials first, how long
// the message traces are) lives here, not in the BGP speaker, which knows
// nothing of topologies.
package speakerconf

import (
	"fmt"
	"time"

	"lab/speaker"
	"lab/speaker/rib"
	"lab/speaker/wire"
	"lab/topo"
)

// DialDelay is how long the lower-identifier side of a session between
// two of the lab's speakers waits for the other's connection before it
// dials itself (speaker.PeerConfig.DialDelay).
const DialDelay = 500 * time.Millisecond

// Config builds the speaker configuration of router r of lab l, whose
// namespace is at nsPath: one peer per session of r, with descriptions as
// the seed's ("as2rb (eBGP)"), the router's timers and compare-routerid,
// its routing policy (each end's settings, its relation's Gao-Rexford
// policy, its named policies), route reflection, and its originated
// prefixes (the topology's, then its LAN's). An error is a policy the
// policy package refuses (topo checked it: a bug, not a user's mistake).
func Config(l *topo.Lab, r *topo.Router, nsPath string) (speaker.Config, error) {
	cfg := speaker.Config{
		Name:            r.Name,
		AS:              r.AS.Number,
		RouterID:        r.RouterID,
		Namespace:       nsPath,
		CompareRouterID: r.BGP.CompareRouterID,
		Timers:          speaker.Timers{Keepalive: r.BGP.Keepalive, Hold: r.BGP.Hold, ConnectRetry: r.BGP.ConnectRetry},
	}
	if r.RR {
		cfg.ClusterID = r.ClusterID
	}
	pols := &policies{lab: l, as: r.AS.Number}
	for _, s := range l.Sessions {
		local, peer, ok := s.End(r)
		if !ok {
			continue
		}
		kind := "eBGP"
		if s.IBGP() {
			kind = "iBGP"
		}
		pc := speaker.PeerConfig{
			Description: fmt.Sprintf("%s (%s)", peer.Router.Name, kind),
			LocalAddr:   local.Addr,
			PeerAddr:    peer.Addr,
			PeerAS:      peer.Router.AS.Number,
			Password:    s.Password,
			RRClient:    s.RRClientOf(r),
			Role:        speaker.Role(s.PeerRole(r)),
		}
		if s.IBGP() && !r.NextHopSelf {
			pc.NextHopUnchanged = true
		}
		// Between two of the lab's speakers, the one with the lower
		// identifier lets the other dial first: the connection that the
		// collision rule would keep is then the only one (external
		// routers run their own daemons, and we dial them at once).
		if !peer.Router.External && r.RouterID.Compare(peer.Router.RouterID) < 0 {
			pc.DialDelay = DialDelay
		}
		if local.Iface != nil {
			pc.Interface = local.Iface.Name
			if a, ok := local.Iface.Addr(topo.IPv4); ok {
				pc.NextHop4 = a.Addr()
			}
			if a, ok := local.Iface.Addr(topo.IPv6); ok {
				pc.NextHop6 = a.Addr()
			}
		}
		if s.Family == topo.IPv4 {
			pc.Families = []wire.Family{wire.IPv4Unicast}
		} else {
			pc.Families = []wire.Family{wire.IPv6Unicast}
		}
		if e := local.BGP; e != nil {
			settings(&pc, e, r.AS.Number)
		}
		if err := pols.peer(&pc, s, local.BGP); err != nil {
			return speaker.Config{}, fmt.Errorf("%s: neighbor %v: %w", r.Name, pc.PeerAddr, err)
		}
		cfg.Peers = append(cfg.Peers, pc)
	}
	if err := pols.compile(&cfg); err != nil {
		return speaker.Config{}, fmt.Errorf("%s: %w", r.Name, err)
	}
	for _, o := range r.Originate {
		cfg.Originate = append(cfg.Originate, speaker.Origination{
			Prefix: o.Prefix, MED: o.MED, HasMED: o.HasMED,
			Communities: o.Communities, LargeCommunities: o.LargeCommunities,
			// ExaBGP's attributes of a static route.
			Origin: rib.Origin(o.Origin), ASPath: o.ASPath, ASSet: o.ASSet,
			LocalPref: o.LocalPref, HasLocalPref: o.HasLocalPref, NextHop: o.NextHop,
		})
	}
	for _, a := range r.Aggregates {
		cfg.Aggregates = append(cfg.Aggregates, speaker.Aggregate{Prefix: a.Prefix, SummaryOnly: a.SummaryOnly, ASSet: a.ASSet})
	}
	cfg.TraceLen = TraceLen(len(l.Sessions))
	return cfg, nil
}

// settings copies a link end's BGP settings to the peer's configuration.
func settings(pc *speaker.PeerConfig, e *topo.EndBGP, ourAS uint32) {
	if e.RemoteAS != 0 {
		pc.PeerAS = e.RemoteAS
	}
	pc.Password = e.Password
	pc.Passive = e.Passive
	pc.Shutdown, pc.ShutdownMessage = e.Shutdown, e.ShutdownMessage
	pc.LocalPref, pc.Weight, pc.MED = e.LocalPref, e.Weight, e.MED
	for range e.Prepend.Count {
		pc.Prepend = append(pc.Prepend, ourAS)
	}
	pc.Prepend = append(pc.Prepend, e.Prepend.ASNs...)
	pc.MaxPrefix, pc.MaxPrefixWarningOnly = e.MaxPrefix, e.MaxPrefixWarningOnly
	pc.AllowASIn = e.AllowASIn
	pc.DefaultOriginate = e.DefaultOriginate
}

// TraceMessages is the number of messages a lab's speakers keep in
// their message traces, both ends of every session together.
const TraceMessages = 1 << 16

// TraceLen is the trace length (speaker.Config.TraceLen) of each peer in a lab
// of the given number of sessions: TraceMessages shared out, between
// 32 and the default 256. A class lab keeps 256 messages per peer; a
// generated lab of 200 ASes (792 sessions) 41, where 256 would keep
// 400,000 messages, more memory than all its routes.
func TraceLen(sessions int) int {
	return min(max(TraceMessages/max(1, 2*sessions), 32), 256)
}
