package grade

import (
	"cmp"
	"encoding/json"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
)

// This file reads the JSON of FRR 8.4's show commands, which the lab's
// routers answer in the same shape (lab/cli/commands, frrjson.go): one
// parser for both, so that a check means the same on FRR and on ours.

// Path is one path of a BGP table, as FRR's JSON describes it.
type Path struct {
	Valid, Best bool
	// Reason is the best path's selectionReason ("AS Path").
	Reason string
	// Internal: learnt over iBGP. Local: originated by the router.
	Internal, Local bool
	// Peer is the neighbour the path was learnt from (invalid when
	// Local); PeerRouterID its router ID (the prefix view only).
	Peer, PeerRouterID netip.Addr
	// ASPath is the path as FRR prints it: "2 4", "" when empty.
	ASPath string
	// Origin is "IGP", "EGP" or "incomplete".
	Origin    string
	MED       *uint32
	LocalPref *uint32
	Weight    uint32
	// NextHops are the path's next hops, the global one first (IPv6
	// paths may add a link-local one).
	NextHops []netip.Addr
	// LinkLocal is the IPv6 link-local next hop FRR lists after the
	// global one (scope "link-local"), also in NextHops; invalid when
	// there is none.
	LinkLocal netip.Addr
	// IGPMetric is the IGP cost to the global next hop (FRR's next hop
	// "metric"; the prefix view only).
	IGPMetric uint32
	// OriginatorID and ClusterList are route reflection's attributes
	// (RFC 4456), invalid and nil when the path has none (the prefix
	// view only).
	OriginatorID netip.Addr
	ClusterList  []netip.Addr
	// Communities and LargeCommunities as FRR writes them ("65010:1",
	// "no-export"); the table view has none (Detail is false).
	Communities, LargeCommunities []string
	Detail                        bool
}

// Route is one prefix's paths.
type Route struct {
	Prefix netip.Prefix
	Paths  []Path
}

// Best returns the best path, or nil.
func (r *Route) Best() *Path {
	for i := range r.Paths {
		if r.Paths[i].Best {
			return &r.Paths[i]
		}
	}
	return nil
}

// Table is `show bgp ipv4|ipv6 json`.
type Table struct {
	RouterID netip.Addr
	LocalAS  uint32
	// Routes are sorted by prefix.
	Routes []Route
}

// Route returns the route to pfx, or nil.
func (t *Table) Route(pfx netip.Prefix) *Route {
	for i := range t.Routes {
		if t.Routes[i].Prefix == pfx {
			return &t.Routes[i]
		}
	}
	return nil
}

type jsonNexthop struct {
	IP     string `json:"ip"`
	Scope  string `json:"scope"`
	Metric uint32 `json:"metric"`
}

type jsonPathBrief struct {
	Valid           bool          `json:"valid"`
	Bestpath        bool          `json:"bestpath"`
	SelectionReason string        `json:"selectionReason"`
	PathFrom        string        `json:"pathFrom"`
	Metric          *uint32       `json:"metric"`
	LocPrf          *uint32       `json:"locPrf"`
	Weight          uint32        `json:"weight"`
	PeerID          string        `json:"peerId"`
	Path            string        `json:"path"`
	Origin          string        `json:"origin"`
	Nexthops        []jsonNexthop `json:"nexthops"`
}

// ParseTable reads `show bgp ipv4|ipv6 json`.
func ParseTable(b []byte) (*Table, error) {
	var j struct {
		RouterID string                     `json:"routerId"`
		LocalAS  uint32                     `json:"localAS"`
		Routes   map[string][]jsonPathBrief `json:"routes"`
	}
	if err := json.Unmarshal(b, &j); err != nil {
		return nil, fmt.Errorf("a BGP table's JSON: %w", err)
	}
	t := &Table{LocalAS: j.LocalAS}
	t.RouterID, _ = netip.ParseAddr(j.RouterID)
	for k, ps := range j.Routes {
		pfx, err := netip.ParsePrefix(k)
		if err != nil {
			return nil, fmt.Errorf("a BGP table's JSON: route %q: %w", k, err)
		}
		r := Route{Prefix: pfx}
		for _, p := range ps {
			r.Paths = append(r.Paths, Path{
				Valid: p.Valid, Best: p.Bestpath, Reason: p.SelectionReason, Internal: p.PathFrom == "internal",
				Local: p.PeerID == "(unspec)", Peer: addr(p.PeerID), ASPath: p.Path, Origin: p.Origin,
				MED: p.Metric, LocalPref: p.LocPrf, Weight: p.Weight, NextHops: nexthops(p.Nexthops),
				LinkLocal: linkLocal(p.Nexthops),
			})
		}
		t.Routes = append(t.Routes, r)
	}
	slices.SortFunc(t.Routes, func(a, b Route) int { return comparePrefix(a.Prefix, b.Prefix) })
	return t, nil
}

func comparePrefix(a, b netip.Prefix) int {
	return cmp.Or(a.Addr().Compare(b.Addr()), cmp.Compare(a.Bits(), b.Bits()))
}

func addr(s string) netip.Addr {
	a, _ := netip.ParseAddr(s)
	return a
}

// nexthops keeps the addresses, the local route's 0.0.0.0 and :: out.
func nexthops(ns []jsonNexthop) []netip.Addr {
	var out []netip.Addr
	for _, n := range ns {
		if a := addr(n.IP); a.IsValid() && !a.IsUnspecified() {
			out = append(out, a)
		}
	}
	return out
}

// linkLocal is the next hop FRR scopes "link-local": FRR writes the
// global next hop's slot "global" even when it holds a link-local
// address, so the scope and not the address says which is which.
func linkLocal(ns []jsonNexthop) netip.Addr {
	for _, n := range ns {
		if n.Scope == "link-local" {
			return addr(n.IP)
		}
	}
	return netip.Addr{}
}

// igpMetric is the IGP cost FRR writes on the global next hop, the first
// one not scoped "link-local".
func igpMetric(ns []jsonNexthop) uint32 {
	for _, n := range ns {
		if n.Scope != "link-local" {
			return n.Metric
		}
	}
	return 0
}

type jsonList struct {
	String string `json:"string"`
}

// ParseRoute reads `show bgp ipv4|ipv6 PREFIX json`: a prefix not in the
// table (`{}`) is a Route without paths.
func ParseRoute(b []byte) (*Route, error) {
	var j struct {
		Prefix string `json:"prefix"`
		Paths  []struct {
			ASPath struct {
				String string `json:"string"`
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
			Community      *jsonList     `json:"community"`
			LargeCommunity *jsonList     `json:"largeCommunity"`
			Nexthops       []jsonNexthop `json:"nexthops"`
			Peer           struct {
				PeerID   string `json:"peerId"`
				RouterID string `json:"routerId"`
				Type     string `json:"type"`
			} `json:"peer"`
			OriginatorID string `json:"originatorId"`
			ClusterList  *struct {
				List []string `json:"list"`
			} `json:"clusterList"`
		} `json:"paths"`
	}
	if err := json.Unmarshal(b, &j); err != nil {
		return nil, fmt.Errorf("a BGP route's JSON: %w", err)
	}
	r := &Route{}
	if j.Prefix != "" {
		p, err := netip.ParsePrefix(j.Prefix)
		if err != nil {
			return nil, fmt.Errorf("a BGP route's JSON: prefix %q: %w", j.Prefix, err)
		}
		r.Prefix = p
	}
	for _, p := range j.Paths {
		path := Path{
			Valid: p.Valid, Internal: p.Peer.Type == "internal", Origin: p.Origin, MED: p.Metric, LocalPref: p.LocPrf,
			Weight: p.Weight, NextHops: nexthops(p.Nexthops), LinkLocal: linkLocal(p.Nexthops),
			IGPMetric: igpMetric(p.Nexthops), PeerRouterID: addr(p.Peer.RouterID),
			Detail: true,
		}
		// FRR writes an empty path "Local"; its local paths come from
		// 0.0.0.0 or ::.
		if p.ASPath.String != "Local" {
			path.ASPath = p.ASPath.String
		}
		if peer := addr(p.Peer.PeerID); peer.IsValid() && !peer.IsUnspecified() {
			path.Peer = peer
		} else {
			path.Local = true
		}
		if p.Bestpath != nil && p.Bestpath.Overall {
			path.Best, path.Reason = true, p.Bestpath.SelectionReason
		}
		if p.Community != nil {
			path.Communities = strings.Fields(p.Community.String)
		}
		if p.LargeCommunity != nil {
			path.LargeCommunities = strings.Fields(p.LargeCommunity.String)
		}
		if p.OriginatorID != "" {
			a, err := netip.ParseAddr(p.OriginatorID)
			if err != nil {
				return nil, fmt.Errorf("a BGP route's JSON: originatorId: %w", err)
			}
			path.OriginatorID = a
		}
		if p.ClusterList != nil {
			for _, s := range p.ClusterList.List {
				a, err := netip.ParseAddr(s)
				if err != nil {
					return nil, fmt.Errorf("a BGP route's JSON: clusterList: %w", err)
				}
				path.ClusterList = append(path.ClusterList, a)
			}
		}
		r.Paths = append(r.Paths, path)
	}
	return r, nil
}

// Neighbor is one neighbour of `show bgp neighbors json`.
type Neighbor struct {
	Addr     netip.Addr
	RemoteAS uint32
	LocalAS  uint32
	Internal bool
	// State is FRR's bgpState: "Established", "Idle", "Active", ...
	State          string
	RemoteRouterID netip.Addr
	// Accepted is the number of accepted prefixes by family key
	// ("ipv4Unicast").
	Accepted map[string]int
	// LastResetDueTo is FRR's words for why the session last went down
	// ("BGP Notification received"); "" if it never did.
	LastResetDueTo string
	// Notification is the NOTIFICATION the session last went down with,
	// or nil.
	Notification *Notification
	// UpdatesSent, UpdatesRecv and the message totals.
	UpdatesSent, UpdatesRecv, TotalSent, TotalRecv uint64
	ConnectionsEstablished, ConnectionsDropped     int
}

// Notification is a NOTIFICATION a session went down with.
type Notification struct {
	// Received: the peer sent it; else the router did.
	Received      bool
	Code, Subcode int
	// Reason is FRR's "Cease/Administrative Shutdown"; Message the
	// shutdown communication.
	Reason, Message string
}

func (n *Notification) String() string {
	dir := "sent"
	if n.Received {
		dir = "received"
	}
	s := fmt.Sprintf("%s %d/%d", dir, n.Code, n.Subcode)
	if n.Reason != "" {
		s += " (" + n.Reason + ")"
	}
	return s
}

// ParseNeighbors reads `show bgp neighbors [ADDR] json`, sorted by
// address.
func ParseNeighbors(b []byte) ([]Neighbor, error) {
	var j map[string]json.RawMessage
	if err := json.Unmarshal(b, &j); err != nil {
		return nil, fmt.Errorf("the neighbours' JSON: %w", err)
	}
	var out []Neighbor
	for k, raw := range j {
		a, err := netip.ParseAddr(k)
		if err != nil {
			continue // FRR's "warning", or a key that is not a neighbour
		}
		var n struct {
			RemoteAS        uint32 `json:"remoteAs"`
			LocalAS         uint32 `json:"localAs"`
			NbrInternalLink bool   `json:"nbrInternalLink"`
			BGPState        string `json:"bgpState"`
			RemoteRouterID  string `json:"remoteRouterId"`
			AFI             map[string]struct {
				Accepted int `json:"acceptedPrefixCounter"`
			} `json:"addressFamilyInfo"`
			LastResetDueTo          string `json:"lastResetDueTo"`
			LastErrorCodeSubcode    string `json:"lastErrorCodeSubcode"`
			LastNotificationReason  string `json:"lastNotificationReason"`
			LastShutdownDescription string `json:"lastShutdownDescription"`
			MessageStats            struct {
				UpdatesSent uint64 `json:"updatesSent"`
				UpdatesRecv uint64 `json:"updatesRecv"`
				TotalSent   uint64 `json:"totalSent"`
				TotalRecv   uint64 `json:"totalRecv"`
			} `json:"messageStats"`
			ConnectionsEstablished int `json:"connectionsEstablished"`
			ConnectionsDropped     int `json:"connectionsDropped"`
		}
		if err := json.Unmarshal(raw, &n); err != nil {
			return nil, fmt.Errorf("neighbour %s's JSON: %w", k, err)
		}
		nb := Neighbor{Addr: a, RemoteAS: n.RemoteAS, LocalAS: n.LocalAS, Internal: n.NbrInternalLink, State: n.BGPState,
			RemoteRouterID: addr(n.RemoteRouterID), Accepted: map[string]int{}, LastResetDueTo: n.LastResetDueTo,
			UpdatesSent: n.MessageStats.UpdatesSent, UpdatesRecv: n.MessageStats.UpdatesRecv,
			TotalSent: n.MessageStats.TotalSent, TotalRecv: n.MessageStats.TotalRecv,
			ConnectionsEstablished: n.ConnectionsEstablished, ConnectionsDropped: n.ConnectionsDropped}
		for f, af := range n.AFI {
			nb.Accepted[f] = af.Accepted
		}
		if c := n.LastErrorCodeSubcode; len(c) == 4 {
			// FRR's %02X%02X.
			code, err1 := strconv.ParseUint(c[:2], 16, 8)
			sub, err2 := strconv.ParseUint(c[2:], 16, 8)
			if err1 == nil && err2 == nil {
				nb.Notification = &Notification{Received: strings.Contains(n.LastResetDueTo, "received"),
					Code: int(code), Subcode: int(sub), Reason: n.LastNotificationReason, Message: n.LastShutdownDescription}
			}
		}
		out = append(out, nb)
	}
	slices.SortFunc(out, func(a, b Neighbor) int { return a.Addr.Compare(b.Addr) })
	return out, nil
}

// Summary is one family of `show bgp summary json`.
type Summary struct {
	// Family is FRR's key: "ipv4Unicast", "ipv6Unicast".
	Family   string
	RouterID netip.Addr
	AS       uint32
	// Peers are sorted by address.
	Peers []SummaryPeer
}

// SummaryPeer is a line of a summary.
type SummaryPeer struct {
	Addr     netip.Addr
	RemoteAS uint32
	// State is FRR's: "Established", "Active", "Idle (Admin)", ...
	State            string
	PfxRcd, PfxSnt   int
	MsgRcvd, MsgSent uint64
}

// ParseSummary reads `show bgp [FAMILY] summary json`, its families in
// FRR's order (IPv4, IPv6).
func ParseSummary(b []byte) ([]Summary, error) {
	var j map[string]struct {
		RouterID string `json:"routerId"`
		AS       uint32 `json:"as"`
		Peers    map[string]struct {
			RemoteAS uint32 `json:"remoteAs"`
			State    string `json:"state"`
			PfxRcd   int    `json:"pfxRcd"`
			PfxSnt   int    `json:"pfxSnt"`
			MsgRcvd  uint64 `json:"msgRcvd"`
			MsgSent  uint64 `json:"msgSent"`
		} `json:"peers"`
	}
	if err := json.Unmarshal(b, &j); err != nil {
		return nil, fmt.Errorf("a BGP summary's JSON: %w", err)
	}
	var out []Summary
	for f, s := range j {
		sum := Summary{Family: f, RouterID: addr(s.RouterID), AS: s.AS}
		for k, p := range s.Peers {
			sum.Peers = append(sum.Peers, SummaryPeer{Addr: addr(k), RemoteAS: p.RemoteAS, State: p.State,
				PfxRcd: p.PfxRcd, PfxSnt: p.PfxSnt, MsgRcvd: p.MsgRcvd, MsgSent: p.MsgSent})
		}
		slices.SortFunc(sum.Peers, func(a, b SummaryPeer) int { return a.Addr.Compare(b.Addr) })
		out = append(out, sum)
	}
	slices.SortFunc(out, func(a, b Summary) int { return cmp.Compare(a.Family, b.Family) })
	return out, nil
}

// KernelRoute is one route of `show ip|ipv6 route json` (zebra's shape).
type KernelRoute struct {
	Prefix netip.Prefix
	// Protocol is zebra's word: "bgp", "connected", "kernel", "static",
	// "ospf", or the lab's "underlay".
	Protocol string
	Metric   int
	// Via are the gateways, Devs the interfaces, of its next hops.
	Via  []netip.Addr
	Devs []string
}

// ParseKernelRoutes reads `show ip|ipv6 route json`, sorted by prefix.
func ParseKernelRoutes(b []byte) ([]KernelRoute, error) {
	var j map[string][]struct {
		Prefix   string `json:"prefix"`
		Protocol string `json:"protocol"`
		Metric   int    `json:"metric"`
		Nexthops []struct {
			IP            string `json:"ip"`
			InterfaceName string `json:"interfaceName"`
		} `json:"nexthops"`
	}
	if err := json.Unmarshal(b, &j); err != nil {
		return nil, fmt.Errorf("the routes' JSON: %w", err)
	}
	var out []KernelRoute
	for k, rs := range j {
		pfx, err := netip.ParsePrefix(k)
		if err != nil {
			return nil, fmt.Errorf("the routes' JSON: prefix %q: %w", k, err)
		}
		for _, r := range rs {
			kr := KernelRoute{Prefix: pfx, Protocol: r.Protocol, Metric: r.Metric}
			for _, n := range r.Nexthops {
				if a := addr(n.IP); a.IsValid() {
					kr.Via = append(kr.Via, a)
				}
				if n.InterfaceName != "" {
					kr.Devs = append(kr.Devs, n.InterfaceName)
				}
			}
			out = append(out, kr)
		}
	}
	slices.SortStableFunc(out, func(a, b KernelRoute) int { return comparePrefix(a.Prefix, b.Prefix) })
	return out, nil
}

// parseLog reads `show log json`: the log's lines.
func parseLog(b []byte) ([]string, error) {
	var lines []string
	if err := json.Unmarshal(b, &lines); err != nil {
		return nil, fmt.Errorf("the log's JSON: %w", err)
	}
	return lines, nil
}
