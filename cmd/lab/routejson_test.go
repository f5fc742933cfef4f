package main

import (
	"net/netip"

	"lab/grade"
	"lab/speaker"
)

// routeFromJSON reads a router's `show bgp ipv4|ipv6 PREFIX json` (FRR's
// shape, which the lab's routers answer in) with grade's reader into the
// speaker's own view of a route, for the tests that look at every
// attribute of a path (route reflection's ORIGINATOR_ID and CLUSTER_LIST,
// the IGP cost) and were written against it. A prefix not in the table
// (`{}`), or a command that failed (null), has no paths.
func routeFromJSON(raw []byte) (speaker.Route, error) {
	r, err := grade.ParseRoute(raw)
	if err != nil {
		return speaker.Route{}, err
	}
	rt := speaker.Route{Prefix: r.Prefix}
	for i := range r.Paths {
		p := &r.Paths[i]
		v := speaker.PathView{
			Valid: p.Valid, Best: p.Best, Internal: p.Internal, Local: p.Local, Weight: p.Weight,
			ASPath: p.ASPath, Origin: frrOrigin(p.Origin), SelectionReason: p.Reason,
			Communities: p.Communities, LargeCommunities: p.LargeCommunities,
			OriginatorID: p.OriginatorID, ClusterList: p.ClusterList,
			NextHop: globalNextHop(p), LinkLocal: p.LinkLocal, IGPMetric: p.IGPMetric,
		}
		if p.MED != nil {
			v.Metric, v.HasMetric = *p.MED, true
		}
		if p.LocalPref != nil {
			v.LocPrf, v.HasLocPrf = *p.LocalPref, true
		}
		// FRR names the router itself as a local path's peer.
		if !p.Local {
			v.Peer, v.PeerRouterID = p.Peer, p.PeerRouterID
		}
		rt.Paths = append(rt.Paths, v)
	}
	return rt, nil
}

// globalNextHop is p's global next hop: the first one that is not its
// link-local one; invalid for a local path (grade leaves FRR's 0.0.0.0
// and :: out).
func globalNextHop(p *grade.Path) netip.Addr {
	for _, a := range p.NextHops {
		if a != p.LinkLocal {
			return a
		}
	}
	return netip.Addr{}
}
