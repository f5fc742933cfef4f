package main

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"strings"

	"lab/speaker"
)

// routeFromJSON reads a router's `show bgp ipv4|ipv6 PREFIX json` (FRR's
// shape, which the lab's routers answer in) into the speaker's own view of
// a route, for the tests that look at every attribute of a path (route
// reflection's ORIGINATOR_ID and CLUSTER_LIST, the IGP cost) and were
// written against it. A prefix not in the table (`{}`) has no paths.
func routeFromJSON(raw []byte) (speaker.Route, error) {
	var j struct {
		Prefix string `json:"prefix"`
		Paths  []struct {
			ASPath struct {
				String string `json:"string"`
				Length int    `json:"length"`
			} `json:"aspath"`
			Origin   string  `json:"origin"`
			Metric   *uint32 `json:"metric"`
			LocPrf   *uint32 `json:"locPrf"`
			Weight   uint32  `json:"weight"`
			Valid    bool    `json:"valid"`
			Local    bool    `json:"local"`
			Bestpath *struct {
				Overall         bool   `json:"overall"`
				SelectionReason string `json:"selectionReason"`
			} `json:"bestpath"`
			Community *struct {
				List []string `json:"list"`
			} `json:"community"`
			LargeCommunity *struct {
				List []string `json:"list"`
			} `json:"largeCommunity"`
			OriginatorID netip.Addr `json:"originatorId"`
			ClusterList  *struct {
				List []netip.Addr `json:"list"`
			} `json:"clusterList"`
			Nexthops []struct {
				IP     netip.Addr `json:"ip"`
				Scope  string     `json:"scope"`
				Metric uint32     `json:"metric"`
			} `json:"nexthops"`
			Peer struct {
				PeerID   netip.Addr `json:"peerId"`
				RouterID netip.Addr `json:"routerId"`
				Type     string     `json:"type"`
			} `json:"peer"`
		} `json:"paths"`
	}
	var rt speaker.Route
	if string(raw) == "null" {
		return rt, nil
	}
	if err := json.Unmarshal(raw, &j); err != nil {
		return rt, fmt.Errorf("a route's JSON: %w: %s", err, raw)
	}
	if j.Prefix != "" {
		p, err := netip.ParsePrefix(j.Prefix)
		if err != nil {
			return rt, err
		}
		rt.Prefix = p
	}
	for _, p := range j.Paths {
		v := speaker.PathView{
			Valid: p.Valid, Local: p.Local, Internal: p.Peer.Type == "internal",
			Weight: p.Weight, OriginatorID: p.OriginatorID,
		}
		if p.ASPath.Length > 0 {
			v.ASPath = p.ASPath.String
		}
		// Our origin words are FRR's, shortened to one letter.
		v.Origin = map[string]string{"IGP": "i", "EGP": "e", "incomplete": "?"}[p.Origin]
		if p.Metric != nil {
			v.Metric, v.HasMetric = *p.Metric, true
		}
		if p.LocPrf != nil {
			v.LocPrf, v.HasLocPrf = *p.LocPrf, true
		}
		if p.Bestpath != nil && p.Bestpath.Overall {
			v.Best, v.SelectionReason = true, p.Bestpath.SelectionReason
		}
		if p.Community != nil {
			v.Communities = p.Community.List
		}
		if p.LargeCommunity != nil {
			v.LargeCommunities = p.LargeCommunity.List
		}
		if p.ClusterList != nil {
			v.ClusterList = p.ClusterList.List
		}
		for _, nh := range p.Nexthops {
			switch {
			case nh.Scope == "link-local":
				v.LinkLocal = nh.IP
			case !v.NextHop.IsValid():
				v.NextHop, v.IGPMetric = nh.IP, nh.Metric
			}
		}
		if !p.Local {
			v.Peer, v.PeerRouterID = p.Peer.PeerID, p.Peer.RouterID
		}
		rt.Paths = append(rt.Paths, v)
	}
	return rt, nil
}

// tablePrefixes reads the prefixes of a router's `show bgp ipv4|ipv6
// json`.
func tablePrefixes(raw []byte) ([]netip.Prefix, error) {
	var j struct {
		Routes map[string]json.RawMessage `json:"routes"`
	}
	if err := json.Unmarshal(raw, &j); err != nil {
		return nil, fmt.Errorf("a table's JSON: %w: %s", err, raw)
	}
	var out []netip.Prefix
	for k := range j.Routes {
		p, err := netip.ParsePrefix(strings.TrimSpace(k))
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}
