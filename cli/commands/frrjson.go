package commands

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"lab/speaker"
	"lab/speaker/policy"
	"lab/speaker/wire"
)

// This file is the routers' JSON: `show ... json` and `lab cmd --json`
// answer with FRR 8.4's key names and structure (its vtysh's `show bgp
// ... json`, `show ip route json`, `show route-map json`), so that a
// script written for FRR reads our routers, and the lab's checks
// (lab/grade) read FRR's routers and ours with one parser. The golden
// files of grade/testdata hold what FRR answered, captured by the
// interop test TestFRRJSON, and what we answer.
//
// Keys FRR has and we cannot fill honestly (memory use, update groups,
// per-destination versions) are left out; the few keys FRR lacks are
// the lab's own, named in the README.

// ordered is a JSON object whose keys keep their order (FRR lists
// prefixes in table order and neighbours in configuration order; a Go
// map would sort them as strings).
type ordered[V any] []keyed[V]

type keyed[V any] struct {
	k string
	v V
}

func (o *ordered[V]) add(k string, v V) { *o = append(*o, keyed[V]{k, v}) }

// MarshalJSON writes the pairs in order.
func (o ordered[V]) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, kv := range o {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(kv.k)
		b.Write(k)
		b.WriteByte(':')
		v, err := json.Marshal(kv.v)
		if err != nil {
			return nil, err
		}
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// frrFamily is FRR's key for a family: "ipv4Unicast".
func frrFamily(f string) string {
	switch f {
	case wire.IPv4Unicast.String():
		return "ipv4Unicast"
	case wire.IPv6Unicast.String():
		return "ipv6Unicast"
	}
	return strings.ReplaceAll(f, " ", "")
}

// frrOrigin is FRR's word for an origin: IGP, EGP, incomplete.
func frrOrigin(o string) string { return originName(o) }

func afi(a netip.Addr) string {
	if a.Is4() {
		return "ipv4"
	}
	return "ipv6"
}

func u32(v uint32, ok bool) *uint32 {
	if !ok {
		return nil
	}
	return &v
}

// ---- show bgp [FAMILY] json ----

// bgpTableJSON is `show bgp ipv4|ipv6 json`.
type bgpTableJSON struct {
	VrfID         int                      `json:"vrfId"`
	VrfName       string                   `json:"vrfName"`
	TableVersion  uint64                   `json:"tableVersion"`
	RouterID      netip.Addr               `json:"routerId"`
	DefaultLocPrf uint32                   `json:"defaultLocPrf"`
	LocalAS       uint32                   `json:"localAS"`
	Routes        ordered[[]pathBriefJSON] `json:"routes"`
}

// pathBriefJSON is a path of the table's JSON (FRR's route_vty_out).
type pathBriefJSON struct {
	Valid           bool          `json:"valid,omitempty"`
	Bestpath        bool          `json:"bestpath,omitempty"`
	SelectionReason string        `json:"selectionReason,omitempty"`
	PathFrom        string        `json:"pathFrom"`
	Prefix          string        `json:"prefix"`
	PrefixLen       int           `json:"prefixLen"`
	Network         string        `json:"network"`
	Metric          *uint32       `json:"metric,omitempty"`
	LocPrf          *uint32       `json:"locPrf,omitempty"`
	Weight          uint32        `json:"weight"`
	PeerID          string        `json:"peerId"`
	Path            string        `json:"path"`
	Origin          string        `json:"origin"`
	Nexthops        []nexthopJSON `json:"nexthops"`
	// Denied (the lab's): a received route the import policy refused.
	Denied bool `json:"denied,omitempty"`
}

// nexthopJSON is one next hop of a path. IPv6 paths list the global
// next hop, then the link-local one (the one used) when there is one.
type nexthopJSON struct {
	IP         netip.Addr `json:"ip"`
	Hostname   string     `json:"hostname,omitempty"`
	Afi        string     `json:"afi"`
	Scope      string     `json:"scope,omitempty"`
	Metric     *uint32    `json:"metric,omitempty"`
	Accessible bool       `json:"accessible,omitempty"`
	Used       bool       `json:"used,omitempty"`
}

func tableJSON(t *speaker.Table, name string) bgpTableJSON {
	out := bgpTableJSON{VrfName: "default", TableVersion: t.TableVersion, RouterID: t.RouterID,
		DefaultLocPrf: 100, LocalAS: t.AS, Routes: ordered[[]pathBriefJSON]{}}
	for _, rt := range t.Routes {
		paths := make([]pathBriefJSON, 0, len(rt.Paths))
		for i := range rt.Paths {
			paths = append(paths, pathBrief(rt.Prefix, &rt.Paths[i], name))
		}
		out.Routes.add(rt.Prefix.String(), paths)
	}
	return out
}

func pathFrom(p *speaker.PathView) string {
	if p.Internal {
		return "internal"
	}
	return "external"
}

func pathBrief(pfx netip.Prefix, p *speaker.PathView, name string) pathBriefJSON {
	v := pathBriefJSON{
		Valid: p.Valid, Bestpath: p.Best, SelectionReason: p.SelectionReason, PathFrom: pathFrom(p),
		Prefix: pfx.Addr().String(), PrefixLen: pfx.Bits(), Network: pfx.String(),
		Metric: u32(p.Metric, p.HasMetric), LocPrf: u32(p.LocPrf, p.HasLocPrf), Weight: p.Weight,
		PeerID: "(unspec)", Path: p.ASPath, Origin: frrOrigin(p.Origin), Denied: p.Denied,
	}
	if !p.Local {
		v.PeerID = p.Peer.String()
	}
	v.Nexthops = nexthops(pfx, p, name, false)
	return v
}

// nexthops lists a path's next hops as FRR does; detail adds the IGP
// metric and reachability, as FRR's `show bgp PREFIX json` does.
func nexthops(pfx netip.Prefix, p *speaker.PathView, name string, detail bool) []nexthopJSON {
	fam := afi(pfx.Addr())
	scope := func(a netip.Addr) string {
		if fam == "ipv4" {
			return ""
		}
		if a.IsLinkLocalUnicast() {
			return "link-local"
		}
		return "global"
	}
	mk := func(a netip.Addr) nexthopJSON {
		n := nexthopJSON{IP: a, Afi: fam, Scope: scope(a)}
		if detail {
			n.Metric, n.Accessible = u32(p.IGPMetric, true), p.Valid
		}
		return n
	}
	var out []nexthopJSON
	if p.NextHop.IsValid() {
		n := mk(p.NextHop)
		if p.Local {
			n.Hostname = name
		}
		out = append(out, n)
	}
	if p.LinkLocal.IsValid() && p.LinkLocal != p.NextHop {
		out = append(out, mk(p.LinkLocal))
	}
	if len(out) > 0 {
		// FRR marks the one the kernel route goes through.
		out[len(out)-1].Used = true
	}
	return out
}

// ---- show bgp [FAMILY] PREFIX json ----

// bgpRouteJSON is `show bgp ipv4|ipv6 PREFIX json`; a prefix not in the
// table is `{}`, as FRR prints it.
type bgpRouteJSON struct {
	Prefix string           `json:"prefix,omitempty"`
	Paths  []pathDetailJSON `json:"paths,omitempty"`
}

type pathDetailJSON struct {
	ASPath       asPathJSON      `json:"aspath"`
	Origin       string          `json:"origin"`
	Metric       *uint32         `json:"metric,omitempty"`
	LocPrf       *uint32         `json:"locPrf,omitempty"`
	Weight       uint32          `json:"weight,omitempty"`
	Valid        bool            `json:"valid,omitempty"`
	Sourced      bool            `json:"sourced,omitempty"`
	Local        bool            `json:"local,omitempty"`
	Bestpath     *bestpathJSON   `json:"bestpath,omitempty"`
	Community    *listJSON       `json:"community,omitempty"`
	LargeComm    *listJSON       `json:"largeCommunity,omitempty"`
	OriginatorID netip.Addr      `json:"originatorId,omitzero"`
	ClusterList  *addrListJSON   `json:"clusterList,omitempty"`
	LastUpdate   *lastUpdateJSON `json:"lastUpdate,omitempty"`
	Nexthops     []nexthopJSON   `json:"nexthops"`
	Peer         peerJSON        `json:"peer"`
}

type asPathJSON struct {
	String   string        `json:"string"`
	Segments []segmentJSON `json:"segments"`
	Length   int           `json:"length"`
}

type segmentJSON struct {
	Type string   `json:"type"`
	List []uint32 `json:"list"`
}

type bestpathJSON struct {
	Overall         bool   `json:"overall"`
	SelectionReason string `json:"selectionReason,omitempty"`
}

type listJSON struct {
	String string   `json:"string"`
	List   []string `json:"list"`
}

type addrListJSON struct {
	List []netip.Addr `json:"list"`
}

type lastUpdateJSON struct {
	Epoch  int64  `json:"epoch"`
	String string `json:"string"`
}

type peerJSON struct {
	PeerID   netip.Addr `json:"peerId"`
	RouterID netip.Addr `json:"routerId,omitzero"`
	Hostname string     `json:"hostname,omitempty"`
	Type     string     `json:"type,omitempty"`
}

func routeJSON(rt *speaker.Route, name string, routerID netip.Addr) bgpRouteJSON {
	out := bgpRouteJSON{Prefix: rt.Prefix.String()}
	for i := range rt.Paths {
		p := &rt.Paths[i]
		d := pathDetailJSON{
			ASPath: asPath(p.ASPath), Origin: frrOrigin(p.Origin),
			Metric: u32(p.Metric, p.HasMetric), LocPrf: u32(p.LocPrf, p.HasLocPrf), Weight: p.Weight,
			Valid: p.Valid, Sourced: p.Local, Local: p.Local, OriginatorID: p.OriginatorID,
			Nexthops: nexthops(rt.Prefix, p, name, true),
		}
		if p.Best {
			d.Bestpath = &bestpathJSON{Overall: true, SelectionReason: p.SelectionReason}
		}
		if len(p.Communities) > 0 {
			d.Community = &listJSON{String: strings.Join(p.Communities, " "), List: p.Communities}
		}
		if len(p.LargeCommunities) > 0 {
			d.LargeComm = &listJSON{String: strings.Join(p.LargeCommunities, " "), List: p.LargeCommunities}
		}
		if len(p.ClusterList) > 0 {
			d.ClusterList = &addrListJSON{List: p.ClusterList}
		}
		if !p.LastUpdate.IsZero() {
			d.LastUpdate = &lastUpdateJSON{Epoch: p.LastUpdate.Unix(), String: p.LastUpdate.Format(time.ANSIC) + "\n"}
		}
		switch {
		case p.Local:
			d.Peer = peerJSON{PeerID: netip.IPv4Unspecified(), RouterID: routerID}
			if rt.Prefix.Addr().Is6() {
				d.Peer.PeerID = netip.IPv6Unspecified()
			}
		default:
			d.Peer = peerJSON{PeerID: p.Peer, RouterID: p.PeerRouterID, Type: pathFrom(p)}
		}
		out.Paths = append(out.Paths, d)
	}
	return out
}

// asPath reads an AS path as the table prints it ("2 4 {5,6}") into
// FRR's segments; an empty path is "Local".
func asPath(s string) asPathJSON {
	out := asPathJSON{String: s, Segments: []segmentJSON{}}
	if s == "" {
		out.String = "Local"
		return out
	}
	for _, w := range strings.Fields(s) {
		typ, body := "as-sequence", w
		switch {
		case strings.HasPrefix(w, "{"):
			typ, body = "as-set", strings.Trim(w, "{}")
		case strings.HasPrefix(w, "("):
			typ, body = "as-confed-sequence", strings.Trim(w, "()")
		case strings.HasPrefix(w, "["):
			typ, body = "as-confed-set", strings.Trim(w, "[]")
		}
		var asns []uint32
		for _, a := range strings.Split(body, ",") {
			if v, err := strconv.ParseUint(a, 10, 32); err == nil {
				asns = append(asns, uint32(v))
			}
		}
		n := len(out.Segments)
		if typ == "as-sequence" && n > 0 && out.Segments[n-1].Type == typ {
			out.Segments[n-1].List = append(out.Segments[n-1].List, asns...)
		} else {
			out.Segments = append(out.Segments, segmentJSON{Type: typ, List: asns})
		}
		// RFC 4271 §9.1.2.2: a set counts as one AS.
		if typ == "as-sequence" {
			out.Length += len(asns)
		} else if typ == "as-set" {
			out.Length++
		}
	}
	return out
}

// ---- show bgp [FAMILY] summary json ----

// summaryJSON is one family of `show bgp summary json`, under its key
// ("ipv4Unicast").
type summaryJSON struct {
	RouterID       netip.Addr               `json:"routerId"`
	AS             uint32                   `json:"as"`
	VrfID          int                      `json:"vrfId"`
	VrfName        string                   `json:"vrfName"`
	TableVersion   uint64                   `json:"tableVersion"`
	RIBCount       int                      `json:"ribCount"`
	PeerCount      int                      `json:"peerCount"`
	Peers          ordered[summaryPeerJSON] `json:"peers"`
	FailedPeers    int                      `json:"failedPeers"`
	DisplayedPeers int                      `json:"displayedPeers"`
	TotalPeers     int                      `json:"totalPeers"`
	DynamicPeers   int                      `json:"dynamicPeers"`
}

type summaryPeerJSON struct {
	RemoteAS                   uint32 `json:"remoteAs"`
	LocalAS                    uint32 `json:"localAs"`
	Version                    int    `json:"version"`
	MsgRcvd                    uint64 `json:"msgRcvd"`
	MsgSent                    uint64 `json:"msgSent"`
	TableVersion               uint64 `json:"tableVersion"`
	Outq                       int    `json:"outq"`
	Inq                        int    `json:"inq"`
	PeerUptime                 string `json:"peerUptime"`
	PeerUptimeMsec             int64  `json:"peerUptimeMsec"`
	PeerUptimeEstablishedEpoch int64  `json:"peerUptimeEstablishedEpoch,omitempty"`
	PfxRcd                     int    `json:"pfxRcd"`
	PfxSnt                     int    `json:"pfxSnt"`
	State                      string `json:"state"`
	PeerState                  string `json:"peerState"`
	ConnectionsEstablished     int    `json:"connectionsEstablished"`
	ConnectionsDropped         int    `json:"connectionsDropped"`
	Desc                       string `json:"desc,omitempty"`
	IDType                     string `json:"idType"`
}

// summariesJSON is `show bgp [FAMILY] summary json`: one object per
// family, under FRR's key.
func summariesJSON(sums []*speaker.Summary, snap *speaker.Snapshot, now time.Time) ordered[summaryJSON] {
	out := ordered[summaryJSON]{}
	for _, s := range sums {
		j := summaryJSON{RouterID: s.RouterID, AS: s.AS, VrfName: "default", TableVersion: s.TableVersion,
			RIBCount: s.RIBEntries, PeerCount: len(s.Peers), Peers: ordered[summaryPeerJSON]{},
			DisplayedPeers: len(s.Peers), TotalPeers: len(s.Peers)}
		for _, p := range s.Peers {
			up := p.UpDown
			pj := summaryPeerJSON{RemoteAS: p.AS, LocalAS: s.AS, Version: p.Version, MsgRcvd: p.MsgRcvd, MsgSent: p.MsgSent,
				TableVersion: p.TblVer, Outq: p.OutQ, Inq: p.InQ, PeerUptime: upDown(up, p.State, p.MsgRcvd+p.MsgSent),
				PfxRcd: p.PfxRcd, State: p.State.String(), PeerState: "OK", Desc: p.Description, IDType: afi(p.Addr)}
			if p.State == speaker.Established {
				pj.PeerUptimeMsec = up.Milliseconds()
				pj.PeerUptimeEstablishedEpoch = now.Add(-up).Unix()
			}
			if n := snap.Neighbor(p.Addr); n != nil {
				pj.ConnectionsEstablished, pj.ConnectionsDropped = n.ConnectionsEstablished, n.ConnectionsDropped
				for _, f := range n.Families {
					if f.Family == s.Family && p.State == speaker.Established {
						pj.PfxSnt = f.Advertised
					}
				}
				if n.AdminDown {
					pj.State, pj.PeerState = "Idle (Admin)", "Admin"
				}
			}
			j.Peers.add(p.Addr.String(), pj)
		}
		out.add(frrFamily(s.Family), j)
	}
	return out
}

// ---- show bgp neighbors [ADDR] json ----

type neighborJSON struct {
	RemoteAS                uint32           `json:"remoteAs"`
	LocalAS                 uint32           `json:"localAs"`
	NbrExternalLink         bool             `json:"nbrExternalLink,omitempty"`
	NbrInternalLink         bool             `json:"nbrInternalLink,omitempty"`
	NbrDesc                 string           `json:"nbrDesc,omitempty"`
	BGPVersion              int              `json:"bgpVersion"`
	RemoteRouterID          netip.Addr       `json:"remoteRouterId"`
	LocalRouterID           netip.Addr       `json:"localRouterId"`
	BGPState                string           `json:"bgpState"`
	AdminShutDown           bool             `json:"adminShutDown,omitempty"`
	UpMsec                  *int64           `json:"bgpTimerUpMsec,omitempty"`
	UpString                string           `json:"bgpTimerUpString,omitempty"`
	UpEpoch                 int64            `json:"bgpTimerUpEstablishedEpoch,omitempty"`
	LastRead                int64            `json:"bgpTimerLastRead"`
	LastWrite               int64            `json:"bgpTimerLastWrite"`
	HoldMsecs               int64            `json:"bgpTimerHoldTimeMsecs"`
	KeepaliveMsecs          int64            `json:"bgpTimerKeepAliveIntervalMsecs"`
	Capabilities            *ordered[any]    `json:"neighborCapabilities,omitempty"`
	GracefulRestartInfo     gracefulJSON     `json:"gracefulRestartInfo"`
	MessageStats            messageStatsJSON `json:"messageStats"`
	AddressFamilyInfo       ordered[afJSON]  `json:"addressFamilyInfo"`
	ConnectionsEstablished  int              `json:"connectionsEstablished"`
	ConnectionsDropped      int              `json:"connectionsDropped"`
	LastResetTimerMsecs     *int64           `json:"lastResetTimerMsecs,omitempty"`
	LastErrorCodeSubcode    string           `json:"lastErrorCodeSubcode,omitempty"`
	LastNotificationReason  string           `json:"lastNotificationReason,omitempty"`
	LastShutdownDescription string           `json:"lastShutdownDescription,omitempty"`
	LastResetDueTo          string           `json:"lastResetDueTo,omitempty"`
	HostLocal               netip.Addr       `json:"hostLocal,omitzero"`
	PortLocal               uint16           `json:"portLocal,omitempty"`
	HostForeign             netip.Addr       `json:"hostForeign,omitzero"`
	PortForeign             uint16           `json:"portForeign,omitempty"`
	Nexthop                 netip.Addr       `json:"nexthop,omitzero"`
	NexthopGlobal           netip.Addr       `json:"nexthopGlobal,omitzero"`
	NexthopLocal            netip.Addr       `json:"nexthopLocal,omitzero"`
	Interface               string           `json:"interface,omitempty"`
	Passive                 bool             `json:"passive,omitempty"`
}

type gracefulJSON struct {
	EndOfRIBSend ordered[bool] `json:"endOfRibSend"`
	EndOfRIBRecv ordered[bool] `json:"endOfRibRecv"`
}

type messageStatsJSON struct {
	DepthInq          int    `json:"depthInq"`
	DepthOutq         int    `json:"depthOutq"`
	OpensSent         uint64 `json:"opensSent"`
	OpensRecv         uint64 `json:"opensRecv"`
	NotificationsSent uint64 `json:"notificationsSent"`
	NotificationsRecv uint64 `json:"notificationsRecv"`
	UpdatesSent       uint64 `json:"updatesSent"`
	UpdatesRecv       uint64 `json:"updatesRecv"`
	KeepalivesSent    uint64 `json:"keepalivesSent"`
	KeepalivesRecv    uint64 `json:"keepalivesRecv"`
	RouteRefreshSent  uint64 `json:"routeRefreshSent"`
	RouteRefreshRecv  uint64 `json:"routeRefreshRecv"`
	CapabilitySent    uint64 `json:"capabilitySent"`
	CapabilityRecv    uint64 `json:"capabilityRecv"`
	TotalSent         uint64 `json:"totalSent"`
	TotalRecv         uint64 `json:"totalRecv"`
}

type afJSON struct {
	AcceptedPrefixCounter int  `json:"acceptedPrefixCounter"`
	SentPrefixCounter     *int `json:"sentPrefixCounter,omitempty"`
}

// capabilityKeys are FRR's keys of our capabilities' names.
var capabilityKeys = map[string]string{
	"4 Byte AS":              "4byteAs",
	"Route refresh":          "routeRefresh",
	"Enhanced Route Refresh": "enhancedRouteRefresh",
	"Graceful Restart":       "gracefulRestart",
	"Extended Message":       "extendedMessage",
}

func neighborsJSON(peers []speaker.Neighbor, routerID netip.Addr, now time.Time) ordered[neighborJSON] {
	out := ordered[neighborJSON]{}
	for i := range peers {
		out.add(peers[i].Addr.String(), neighborJ(&peers[i], routerID, now))
	}
	return out
}

func ms(d time.Duration) int64 { return d.Milliseconds() }

func neighborJ(n *speaker.Neighbor, routerID netip.Addr, now time.Time) neighborJSON {
	j := neighborJSON{
		RemoteAS: n.RemoteAS, LocalAS: n.LocalAS, NbrExternalLink: n.External, NbrInternalLink: !n.External,
		NbrDesc: n.Description, BGPVersion: 4, RemoteRouterID: n.RemoteRouterID, LocalRouterID: routerID,
		BGPState: n.State.String(), AdminShutDown: n.AdminDown,
		LastRead: ms(n.LastRead), LastWrite: ms(n.LastWrite),
		HoldMsecs: ms(n.HoldTime), KeepaliveMsecs: ms(n.Keepalive),
		GracefulRestartInfo:    gracefulJSON{EndOfRIBSend: ordered[bool]{}, EndOfRIBRecv: ordered[bool]{}},
		AddressFamilyInfo:      ordered[afJSON]{},
		ConnectionsEstablished: n.ConnectionsEstablished, ConnectionsDropped: n.ConnectionsDropped,
		LastResetDueTo: n.LastResetKind,
		HostLocal:      n.LocalHost.Addr(), PortLocal: n.LocalHost.Port(),
		HostForeign: n.ForeignHost.Addr(), PortForeign: n.ForeignHost.Port(),
		Nexthop: n.NextHop, NexthopGlobal: n.NextHopGlobal, NexthopLocal: n.NextHopLocal,
		Interface: n.Interface, Passive: n.Passive,
	}
	if !j.RemoteRouterID.IsValid() {
		j.RemoteRouterID = netip.IPv4Unspecified()
	}
	if n.State == speaker.Established {
		up := ms(n.Uptime)
		j.UpMsec, j.UpString, j.UpEpoch = &up, upDown(n.Uptime, n.State, 1), now.Add(-n.Uptime).Unix()
	}
	if len(n.Capabilities) > 0 {
		caps := ordered[any]{}
		mp := ordered[map[string]bool]{}
		for _, c := range n.Capabilities {
			how := ""
			switch {
			case c.Advertised && c.Received:
				how = "advertisedAndReceived"
			case c.Advertised:
				how = "advertised"
			case c.Received:
				how = "received"
			default:
				continue
			}
			if f, ok := strings.CutPrefix(c.Name, "Address Family "); ok {
				mp.add(frrFamily(f), map[string]bool{how: true})
				continue
			}
			if k, ok := capabilityKeys[c.Name]; ok {
				caps.add(k, how)
			}
		}
		if len(mp) > 0 {
			caps.add("multiprotocolExtensions", mp)
		}
		if n.PeerRestartTime >= 0 {
			caps.add("gracefulRestartRemoteTimerMsecs", n.PeerRestartTime*1000)
		}
		j.Capabilities = &caps
	}
	for _, f := range n.EndOfRIBSent {
		j.GracefulRestartInfo.EndOfRIBSend.add(frrFamily(f), true)
	}
	for _, f := range n.EndOfRIBReceived {
		j.GracefulRestartInfo.EndOfRIBRecv.add(frrFamily(f), true)
	}
	j.MessageStats = messageStatsJSON{
		DepthInq: n.InQ, DepthOutq: n.OutQ,
		OpensSent: n.Sent.Opens, OpensRecv: n.Rcvd.Opens,
		NotificationsSent: n.Sent.Notifications, NotificationsRecv: n.Rcvd.Notifications,
		UpdatesSent: n.Sent.Updates, UpdatesRecv: n.Rcvd.Updates,
		KeepalivesSent: n.Sent.Keepalives, KeepalivesRecv: n.Rcvd.Keepalives,
		RouteRefreshSent: n.Sent.RouteRefresh, RouteRefreshRecv: n.Rcvd.RouteRefresh,
		CapabilitySent: n.Sent.Capability, CapabilityRecv: n.Rcvd.Capability,
		TotalSent: n.Sent.Total, TotalRecv: n.Rcvd.Total,
	}
	for _, f := range n.Families {
		af := afJSON{AcceptedPrefixCounter: f.AcceptedPrefixes}
		if n.State == speaker.Established {
			sent := f.Advertised
			af.SentPrefixCounter = &sent
		}
		j.AddressFamilyInfo.add(frrFamily(f.Family), af)
	}
	if n.LastResetKind != "" {
		ago := ms(n.LastResetAgo)
		j.LastResetTimerMsecs = &ago
	}
	if rn := n.ResetNotification; rn != nil {
		// FRR's: the code and subcode in hexadecimal, their names, and
		// the shutdown communication.
		j.LastErrorCodeSubcode = fmt.Sprintf("%02X%02X", rn.Code, rn.Subcode)
		j.LastNotificationReason = wire.CodeName(rn.Code) + "/" + wire.SubcodeName(rn.Code, rn.Subcode)
		j.LastShutdownDescription = rn.Message
	}
	return j
}

// ---- show bgp [FAMILY] neighbors ADDR received-routes|advertised-routes json ----

// adjRoutesJSON is FRR's `... received-routes json` and `...
// advertised-routes json`: one route per prefix under receivedRoutes or
// advertisedRoutes.
type adjRoutesJSON struct {
	TableVersion   uint64                 `json:"bgpTableVersion"`
	LocalRouterID  netip.Addr             `json:"bgpLocalRouterId"`
	DefaultLocPrf  uint32                 `json:"defaultLocPrf"`
	LocalAS        uint32                 `json:"localAS"`
	StatusCodes    map[string]string      `json:"bgpStatusCodes"`
	OriginCodes    map[string]string      `json:"bgpOriginCodes"`
	Received       *ordered[adjRouteJSON] `json:"receivedRoutes,omitempty"`
	Advertised     *ordered[adjRouteJSON] `json:"advertisedRoutes,omitempty"`
	TotalPrefixes  int                    `json:"totalPrefixCounter"`
	FilteredPrefix int                    `json:"filteredPrefixCounter"`
}

type adjRouteJSON struct {
	AddrPrefix    string          `json:"addrPrefix"`
	PrefixLen     int             `json:"prefixLen"`
	Network       string          `json:"network"`
	NextHop       netip.Addr      `json:"nextHop,omitzero"`
	NextHopGlobal netip.Addr      `json:"nextHopGlobal,omitzero"`
	Metric        *uint32         `json:"metric,omitempty"`
	LocPrf        *uint32         `json:"locPrf,omitempty"`
	Weight        uint32          `json:"weight"`
	Path          string          `json:"path"`
	OriginCode    string          `json:"bgpOriginCode"`
	Applied       map[string]bool `json:"appliedStatusSymbols"`
	// Denied (the lab's): the import policy refused the route.
	Denied bool `json:"denied,omitempty"`
}

var (
	statusCodes = map[string]string{"suppressed": "s", "damped": "d", "history": "h", "valid": "*", "best": ">",
		"multipath": "=", "internal": "i", "ribFailure": "r", "stale": "S", "removed": "R"}
	originCodes = map[string]string{"igp": "i", "egp": "e", "incomplete": "?"}
)

// neighborRoutesJSON is a per-neighbour view in FRR's shape: the adj
// views as above, the accepted routes (`routes`) as the table.
func neighborRoutesJSON(t *speaker.Table, view speaker.NeighborView, name string) any {
	if view == speaker.AcceptedRoutes {
		return tableJSON(t, name)
	}
	out := adjRoutesJSON{TableVersion: t.TableVersion, LocalRouterID: t.RouterID, DefaultLocPrf: 100, LocalAS: t.AS,
		StatusCodes: statusCodes, OriginCodes: originCodes}
	routes := ordered[adjRouteJSON]{}
	for _, rt := range t.Routes {
		for _, p := range rt.Paths {
			r := adjRouteJSON{AddrPrefix: rt.Prefix.Addr().String(), PrefixLen: rt.Prefix.Bits(), Network: rt.Prefix.String(),
				Metric: u32(p.Metric, p.HasMetric), LocPrf: u32(p.LocPrf, p.HasLocPrf), Weight: p.Weight, Path: p.ASPath,
				OriginCode: originCode(p.Origin), Applied: map[string]bool{}, Denied: p.Denied}
			if rt.Prefix.Addr().Is4() {
				r.NextHop = p.NextHop
			} else {
				r.NextHopGlobal = p.NextHop
			}
			if p.Valid {
				r.Applied["*"] = true
			}
			if p.Best {
				r.Applied[">"] = true
			}
			if p.Internal {
				r.Applied["i"] = true
			}
			if p.Denied {
				out.FilteredPrefix++
			}
			routes.add(rt.Prefix.String(), r)
		}
	}
	out.TotalPrefixes = len(routes)
	if view == speaker.ReceivedRoutes {
		out.Received = &routes
	} else {
		out.Advertised = &routes
	}
	return out
}

// ---- show routing policy json ----

// routeMapsJSON is FRR's `show route-map json` of bgpd: policies by name.
type routeMapsJSON struct {
	BGP ordered[routeMapJSON] `json:"BGP"`
}

type routeMapJSON struct {
	Invoked uint64     `json:"invoked"`
	Rules   []ruleJSON `json:"rules"`
	// NoMatch (the lab's) counts the routes no entry matched: denied.
	NoMatch uint64 `json:"noMatch"`
}

type ruleJSON struct {
	SequenceNumber int      `json:"sequenceNumber"`
	Type           string   `json:"type"`
	Invoked        uint64   `json:"invoked"`
	MatchClauses   []string `json:"matchClauses"`
	SetClauses     []string `json:"setClauses"`
	Action         string   `json:"action"`
}

func policiesJSON(infos []policy.Info) routeMapsJSON {
	out := routeMapsJSON{BGP: ordered[routeMapJSON]{}}
	for _, in := range infos {
		m := routeMapJSON{NoMatch: in.NoMatch, Rules: []ruleJSON{}}
		m.Invoked = in.NoMatch
		for i, e := range in.Entries {
			r := ruleJSON{SequenceNumber: i + 1, Type: e.Action.String(), Invoked: e.Hits,
				MatchClauses: matchText(e.Match), SetClauses: setText(e.Set), Action: "Exit routemap"}
			if r.MatchClauses == nil {
				r.MatchClauses = []string{}
			}
			if r.SetClauses == nil {
				r.SetClauses = []string{}
			}
			m.Invoked += e.Hits
			m.Rules = append(m.Rules, r)
		}
		out.BGP.add(in.Name, m)
	}
	return out
}

// ---- show ip|ipv6 route json ----

// zebraRouteJSON is a route of FRR's `show ip route json` (zebra's).
type zebraRouteJSON struct {
	Prefix       string             `json:"prefix"`
	PrefixLen    int                `json:"prefixLen"`
	Protocol     string             `json:"protocol"`
	VrfID        int                `json:"vrfId"`
	VrfName      string             `json:"vrfName"`
	Selected     bool               `json:"selected"`
	DestSelected bool               `json:"destSelected"`
	Distance     int                `json:"distance"`
	Metric       int                `json:"metric"`
	Installed    bool               `json:"installed"`
	Table        int                `json:"table"`
	Nexthops     []zebraNexthopJSON `json:"nexthops"`
}

type zebraNexthopJSON struct {
	Fib               bool       `json:"fib"`
	IP                netip.Addr `json:"ip,omitzero"`
	Afi               string     `json:"afi,omitempty"`
	DirectlyConnected bool       `json:"directlyConnected,omitempty"`
	InterfaceIndex    int        `json:"interfaceIndex"`
	InterfaceName     string     `json:"interfaceName"`
	Active            bool       `json:"active"`
}

// zebraProtocols are zebra's names of the kernel routes' codes; G, the
// lab's underlay, is the lab's own word, with OSPF's distance (it stands
// in for an IGP).
var zebraProtocols = map[string]struct {
	name     string
	distance int
}{
	"B": {"bgp", 20},
	"G": {"underlay", 110},
	"C": {"connected", 0},
	"K": {"kernel", 0},
}

func kernelRoutesJSON(routes []KernelRoute) ordered[[]zebraRouteJSON] {
	out := ordered[[]zebraRouteJSON]{}
	for _, r := range routes {
		p := zebraProtocols[r.Code]
		z := zebraRouteJSON{Prefix: r.Prefix.String(), PrefixLen: r.Prefix.Bits(), Protocol: p.name, VrfName: "default",
			Selected: true, DestSelected: true, Distance: p.distance, Metric: r.Metric, Installed: true, Table: 254}
		nh := zebraNexthopJSON{Fib: true, InterfaceIndex: r.Ifindex, InterfaceName: r.Dev, Active: true}
		if r.Via.IsValid() {
			nh.IP, nh.Afi = r.Via, afi(r.Via)
		} else {
			nh.DirectlyConnected = true
		}
		z.Nexthops = []zebraNexthopJSON{nh}
		// Several kernel routes to one prefix (metrics differ): one
		// entry each, as zebra lists them.
		if n := len(out); n > 0 && out[n-1].k == z.Prefix {
			out[n-1].v = append(out[n-1].v, z)
			continue
		}
		out.add(z.Prefix, []zebraRouteJSON{z})
	}
	return out
}
