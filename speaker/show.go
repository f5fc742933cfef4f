package speaker

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	"lab/speaker/decision"
	"lab/speaker/peer"
	"lab/speaker/rib"
	"lab/speaker/ribwire"
	"lab/speaker/session"
	"lab/speaker/wire"
)

// Snapshot is the whole state of a speaker at one moment, in the terms of
// FRR's show commands. Every field is JSON-marshalable.
type Snapshot struct {
	Name         string
	RouterID     netip.Addr
	AS           uint32
	TableVersion uint64
	Peers        []Neighbor
	// Tables are IPv4 Unicast then IPv6 Unicast.
	Tables []Table
}

// Neighbor returns the neighbour with address a, or nil.
func (s *Snapshot) Neighbor(a netip.Addr) *Neighbor {
	for i := range s.Peers {
		if s.Peers[i].Addr == a {
			return &s.Peers[i]
		}
	}
	return nil
}

// Table returns the table of family f, or nil.
func (s *Snapshot) Table(f wire.Family) *Table {
	for i := range s.Tables {
		if s.Tables[i].Family == f.String() {
			return &s.Tables[i]
		}
	}
	return nil
}

// Summary is `show bgp <family> summary`.
type Summary struct {
	Family       string
	RouterID     netip.Addr
	AS           uint32
	TableVersion uint64
	// RIBEntries counts the paths of the family's table, Prefixes its
	// prefixes.
	RIBEntries     int
	Prefixes       int
	Peers          []PeerSummary
	Established    int
	RoutesReceived int
}

// PeerSummary is one line of a summary.
type PeerSummary struct {
	Addr        netip.Addr
	Description string
	Version     int
	AS          uint32
	MsgRcvd     uint64
	MsgSent     uint64
	TblVer      uint64
	InQ         int
	OutQ        int
	// UpDown is how long the session has been up, or down.
	UpDown time.Duration
	State  State
	// PfxRcd is the number of accepted prefixes of the family (shown in
	// place of the state when Established).
	PfxRcd int
}

// MessageCounts are messages sent or received, by type.
type MessageCounts struct {
	Opens, Notifications, Updates, Keepalives, RouteRefresh, Capability, Total uint64
}

func counts(c [wire.TypeRouteRefresh + 1]uint64) MessageCounts {
	m := MessageCounts{Opens: c[wire.TypeOpen], Updates: c[wire.TypeUpdate], Notifications: c[wire.TypeNotification],
		Keepalives: c[wire.TypeKeepalive], RouteRefresh: c[wire.TypeRouteRefresh]}
	m.Total = m.Opens + m.Updates + m.Notifications + m.Keepalives + m.RouteRefresh
	return m
}

// CapabilityStatus says whether a capability was advertised and received.
type CapabilityStatus struct {
	Name       string
	Advertised bool
	Received   bool
}

// FamilyStatus is a neighbour's per-family counters.
type FamilyStatus struct {
	Family           string
	AcceptedPrefixes int
	Advertised       int
}

// Neighbor is `show bgp neighbors <addr>`.
type Neighbor struct {
	Addr           netip.Addr
	Description    string
	RemoteAS       uint32
	LocalAS        uint32
	External       bool
	Interface      string
	RemoteRouterID netip.Addr `json:",omitzero"`
	State          State
	// Uptime is how long the session has been in its current up or down
	// condition.
	Uptime time.Duration
	// LastRead and LastWrite are how long ago a message was received or
	// sent; zero when never.
	LastRead  time.Duration
	LastWrite time.Duration
	// HoldTime and Keepalive are the negotiated values when Established,
	// else the configured ones.
	HoldTime, Keepalive time.Duration
	Capabilities        []CapabilityStatus
	// PeerRestartTime is the restart time of the peer's graceful restart
	// capability, in seconds (-1 when it sent none).
	PeerRestartTime  int
	EndOfRIBSent     []string
	EndOfRIBReceived []string
	Sent, Rcvd       MessageCounts
	InQ, OutQ        int
	Families         []FamilyStatus
	// ConnectionsEstablished and ConnectionsDropped count sessions that
	// reached Established and those that left it.
	ConnectionsEstablished int
	ConnectionsDropped     int
	// LastReset is why the session last went down ("never" if it did
	// not), e.g. "BGP Notification send (Hold Timer Expired (4/0))".
	LastReset    string
	LastResetAgo time.Duration
	// LastNotification is the last NOTIFICATION sent or received.
	LastNotification string         `json:",omitempty"`
	LocalHost        netip.AddrPort `json:",omitzero"`
	ForeignHost      netip.AddrPort `json:",omitzero"`
	NextHop          netip.Addr     `json:",omitzero"`
	NextHopGlobal    netip.Addr     `json:",omitzero"`
	NextHopLocal     netip.Addr     `json:",omitzero"`
	Passive          bool
	AdminDown        bool

	// LastResetKind is LastReset's kind alone, in FRR's words ("BGP
	// Notification send"; FRR's lastResetDueTo); "" if it never went
	// down.
	LastResetKind string `json:",omitempty"`
	// ResetNotification is the NOTIFICATION the session last went down
	// with, sent or received; nil when it went down without one.
	ResetNotification *NotificationInfo `json:",omitempty"`
}

// NotificationInfo is a NOTIFICATION a session went down with.
type NotificationInfo struct {
	// Sent: we sent it; else the peer did.
	Sent          bool
	Code, Subcode uint8
	// Message is its shutdown communication (RFC 9003), if any.
	Message string `json:",omitempty"`
}

// Table is `show bgp ipv6` / `show ip bgp`: every prefix with all its
// paths, sorted.
type Table struct {
	Family       string
	RouterID     netip.Addr
	AS           uint32
	TableVersion uint64
	Routes       []Route
	Paths        int
}

// Route returns the route of pfx, or nil.
func (t *Table) Route(pfx netip.Prefix) *Route {
	for i := range t.Routes {
		if t.Routes[i].Prefix == pfx {
			return &t.Routes[i]
		}
	}
	return nil
}

// Route is one prefix and its paths, newest first (FRR's order).
type Route struct {
	Prefix netip.Prefix
	Paths  []PathView
	// BestReason is FRR's selectionReason of the best path ("AS Path",
	// "Older Path", "Router ID", ...); empty without a best path.
	BestReason string `json:",omitempty"`
}

// Best returns the best path, or nil.
func (r *Route) Best() *PathView {
	for i := range r.Paths {
		if r.Paths[i].Best {
			return &r.Paths[i]
		}
	}
	return nil
}

// PathView is one path of a table, with FRR's columns.
type PathView struct {
	// Valid (`*`): its next hop is reachable. Best (`>`). Internal (`i`):
	// learned over iBGP. Local: originated here.
	Valid, Best, Internal, Local bool
	// NextHop is the next hop FRR shows (the global one for IPv6; "::"
	// or 0.0.0.0 for local routes); LinkLocal the IPv6 link-local one.
	NextHop   netip.Addr
	LinkLocal netip.Addr `json:",omitzero"`
	// Metric is the MED when HasMetric.
	Metric    uint32
	HasMetric bool
	// LocPrf is LOCAL_PREF when HasLocPrf (FRR shows it for iBGP paths).
	LocPrf           uint32
	HasLocPrf        bool
	Weight           uint32
	ASPath           string
	Origin           string
	Peer             netip.Addr `json:",omitzero"`
	PeerRouterID     netip.Addr `json:",omitzero"`
	PeerDescription  string     `json:",omitempty"`
	Communities      []string   `json:",omitempty"`
	LargeCommunities []string   `json:",omitempty"`
	// LastUpdate is when the path was received or last changed.
	LastUpdate time.Time
	// SelectionReason is set on the best path.
	SelectionReason string `json:",omitempty"`
	// Denied marks a received route the import policy refused
	// (received-routes).
	Denied bool `json:",omitempty"`
	// OriginatorID and ClusterList are the route reflection attributes
	// (RFC 4456), when the path has them.
	OriginatorID netip.Addr   `json:",omitzero"`
	ClusterList  []netip.Addr `json:",omitempty"`
	// IGPMetric is the IGP cost to the next hop.
	IGPMetric uint32 `json:",omitempty"`
	// Policy lists what the import side changed of the path, step by
	// step ("policy RELATION-FROM-CUSTOMER entry 1: local-pref 200,
	// large-community 65001:1000:1"); `show bgp PREFIX` only.
	Policy []string `json:",omitempty"`
}

// query runs fn on the decision engine's goroutine (see
// decision.Engine.Query).
func (sp *Speaker) query(ctx context.Context, fn func(*decision.View)) error {
	err := sp.dec.Query(ctx, fn)
	if errors.Is(err, decision.ErrNotRunning) {
		return fmt.Errorf("speaker %s: %w", sp.cfg.Name, err)
	}
	return err
}

// Snapshot returns the speaker's state.
func (sp *Speaker) Snapshot(ctx context.Context) (*Snapshot, error) {
	return sp.snapshot(ctx, true)
}

// Neighbors returns a Snapshot of the neighbours alone, without tables:
// `show bgp neighbors` and `show bgp summary json` need no route, and
// rendering a table of thousands of paths for them cost a router of BA500
// 3 ms of CPU a call.
func (sp *Speaker) Neighbors(ctx context.Context) (*Snapshot, error) {
	return sp.snapshot(ctx, false)
}

func (sp *Speaker) snapshot(ctx context.Context, tables bool) (*Snapshot, error) {
	var snap *Snapshot
	err := sp.query(ctx, func(v *decision.View) {
		snap = &Snapshot{Name: sp.cfg.Name, RouterID: sp.cfg.RouterID, AS: sp.cfg.AS, TableVersion: v.Version()}
		for i := range sp.Config().Peers {
			snap.Peers = append(snap.Peers, sp.neighbor(v, peer.ID(i)))
		}
		if !tables {
			return
		}
		for _, f := range families {
			snap.Tables = append(snap.Tables, sp.table(v, f))
		}
	})
	return snap, err
}

// families are the families of a speaker's tables, in show order.
var families = []wire.Family{wire.IPv4Unicast, wire.IPv6Unicast}

// Summary returns `show bgp <f> summary`: the peers that carry family f.
func (sp *Speaker) Summary(ctx context.Context, f wire.Family) (*Summary, error) {
	var sum *Summary
	err := sp.query(ctx, func(v *decision.View) {
		t := v.Table(f)
		sum = &Summary{Family: f.String(), RouterID: sp.cfg.RouterID, AS: sp.cfg.AS, TableVersion: v.Version()}
		if t != nil {
			sum.RIBEntries, sum.Prefixes = t.PathCount(), t.Len()
		}
		now := sp.clock.Now()
		cfg := sp.Config()
		for i := range cfg.Peers {
			pc := &cfg.Peers[i]
			if !slices.Contains(pc.AddressFamilies(), f) {
				continue
			}
			id := peer.ID(i)
			st := sp.sess.Status(id)
			ps := PeerSummary{Addr: pc.PeerAddr, Description: pc.Description, Version: 4, AS: pc.PeerAS,
				TblVer: v.Version(), State: st.State, UpDown: now.Sub(st.Since), InQ: st.InQ, OutQ: st.OutQ}
			for i := range st.Sent {
				ps.MsgSent += st.Sent[i]
				ps.MsgRcvd += st.Rcvd[i]
			}
			if t != nil {
				ps.PfxRcd = t.SourceCount(v.Peer(id).Source)
			}
			if ps.State == Established {
				sum.Established++
				sum.RoutesReceived += ps.PfxRcd
			}
			sum.Peers = append(sum.Peers, ps)
		}
	})
	return sum, err
}

// Neighbor returns `show bgp neighbors <addr>`.
func (sp *Speaker) Neighbor(ctx context.Context, addr netip.Addr) (*Neighbor, error) {
	id, err := sp.peerID(addr)
	if err != nil {
		return nil, err
	}
	var n Neighbor
	err = sp.query(ctx, func(v *decision.View) { n = sp.neighbor(v, id) })
	return &n, err
}

// Table returns `show bgp <f>`.
func (sp *Speaker) Table(ctx context.Context, f wire.Family) (*Table, error) {
	var t Table
	err := sp.query(ctx, func(v *decision.View) { t = sp.table(v, f) })
	return &t, err
}

// Route returns `show bgp <prefix>`: one prefix's paths and the reason its
// best path won; nil when the table has no such prefix.
func (sp *Speaker) Route(ctx context.Context, pfx netip.Prefix) (*Route, error) {
	var out *Route
	err := sp.query(ctx, func(v *decision.View) {
		t := v.Table(famOf(pfx))
		if d := t.Dest(pfx.Masked()); d != nil && len(d.Paths()) > 0 {
			rt := route(pfx.Masked(), d)
			explain(v, pfx.Masked(), d, &rt)
			out = &rt
		}
	})
	return out, err
}

func famOf(p netip.Prefix) wire.Family {
	if p.Addr().Is4() {
		return wire.IPv4Unicast
	}
	return wire.IPv6Unicast
}

// neighbor renders peer id: its session's status, and what the decision
// engine holds of it.
func (sp *Speaker) neighbor(v *decision.View, id peer.ID) Neighbor {
	now := sp.clock.Now()
	cfg := sp.Config()
	pc := &cfg.Peers[id]
	pv := v.Peer(id)
	st := sp.sess.Status(id)
	n := Neighbor{Addr: pc.PeerAddr, Description: pc.Description, RemoteAS: pc.PeerAS, LocalAS: sp.cfg.AS,
		External: pc.PeerAS != sp.cfg.AS, Interface: pc.Interface, Passive: pc.Passive, PeerRestartTime: -1,
		HoldTime: st.Timers.Hold, Keepalive: st.Timers.Keepalive}
	n.State = st.State
	n.AdminDown = st.AdminDown
	n.Uptime = now.Sub(st.Since)
	if !st.LastRead.IsZero() {
		n.LastRead = now.Sub(st.LastRead)
	}
	if !st.LastWrite.IsZero() {
		n.LastWrite = now.Sub(st.LastWrite)
	}
	n.Sent, n.Rcvd = counts(st.Sent), counts(st.Rcvd)
	n.ConnectionsEstablished, n.ConnectionsDropped = st.Established, st.Dropped
	n.LastReset = st.LastReset.String()
	if st.LastReset.Kind != session.ResetNone {
		n.LastResetAgo = now.Sub(st.LastResetAt)
	}
	n.LastNotification = st.LastNotification.String()
	if st.LastReset.Kind != session.ResetNone {
		n.LastResetKind = st.LastReset.Kind.String()
	}
	if rn := st.LastReset.Notification; rn != nil {
		// The reset's kind says who sent it, but for a lost collision
		// (either side may decide); the last NOTIFICATION knows.
		sent := st.LastReset.Kind != session.NotificationReceived
		if st.LastNotification.Notification == rn {
			sent = st.LastNotification.Sent
		}
		n.ResetNotification = &NotificationInfo{Sent: sent, Code: rn.Code, Subcode: rn.Subcode}
		n.ResetNotification.Message, _ = rn.ShutdownMessage()
	}
	n.InQ, n.OutQ = st.InQ, st.OutQ
	if st.State == Established {
		n.RemoteRouterID = st.RemoteID
		n.HoldTime, n.Keepalive = st.Hold, st.Keepalive
		n.LocalHost, n.ForeignHost = st.Local, st.Remote
		n.Capabilities = capStatus(st.LocalOpen, st.PeerOpen)
		if c, ok := st.PeerOpen.Capability(wire.CapCodeGracefulRestart); ok {
			n.PeerRestartTime = int(c.(wire.CapGracefulRestart).Time)
		}
		for _, f := range st.EndOfRIBSent {
			n.EndOfRIBSent = append(n.EndOfRIBSent, f.String())
		}
		for _, f := range st.EndOfRIBReceived {
			n.EndOfRIBReceived = append(n.EndOfRIBReceived, f.String())
		}
	}
	n.NextHop = sp.cfg.RouterID
	if pv.Up {
		n.NextHop = pv.NextHop4
		if !n.NextHop.IsValid() {
			n.NextHop = sp.cfg.RouterID
		}
		n.NextHopGlobal, n.NextHopLocal = pv.NextHop6, pv.LinkLocal6
	}
	for _, f := range pc.AddressFamilies() {
		fs := FamilyStatus{Family: f.String(), Advertised: v.AdvertisedCount(id, f)}
		if t := v.Table(f); t != nil {
			fs.AcceptedPrefixes = t.SourceCount(pv.Source)
		}
		n.Families = append(n.Families, fs)
	}
	return n
}

// capStatus lists the capabilities as FRR's neighbor output does.
func capStatus(local, peer *wire.Open) []CapabilityStatus {
	has := func(o *wire.Open, pred func(wire.Capability) bool) bool {
		if o == nil {
			return false
		}
		for _, c := range o.Capabilities {
			if pred(c) {
				return true
			}
		}
		return false
	}
	code := func(c wire.CapabilityCode) func(wire.Capability) bool {
		return func(x wire.Capability) bool { return x.Code() == c }
	}
	var out []CapabilityStatus
	add := func(name string, pred func(wire.Capability) bool) {
		a, r := has(local, pred), has(peer, pred)
		if a || r {
			out = append(out, CapabilityStatus{Name: name, Advertised: a, Received: r})
		}
	}
	add("4 Byte AS", code(wire.CapCodeAS4))
	add("Route refresh", func(c wire.Capability) bool {
		return c.Code() == wire.CapCodeRouteRefresh || c.Code() == wire.CapCodeRouteRefreshCisco
	})
	add("Enhanced Route Refresh", code(wire.CapCodeEnhancedRouteRefresh))
	for _, f := range []wire.Family{wire.IPv4Unicast, wire.IPv6Unicast} {
		f := f
		add("Address Family "+f.String(), func(c wire.Capability) bool {
			m, ok := c.(wire.CapMultiprotocol)
			return ok && m.AFI == f.AFI && m.SAFI == f.SAFI
		})
	}
	add("Graceful Restart", code(wire.CapCodeGracefulRestart))
	add("Extended Message", code(wire.CapCodeExtendedMessage))
	add("Hostname", code(wire.CapCodeFQDN))
	return out
}

func (sp *Speaker) table(v *decision.View, f wire.Family) Table {
	t := v.Table(f)
	out := Table{Family: f.String(), RouterID: sp.cfg.RouterID, AS: sp.cfg.AS, TableVersion: v.Version()}
	if t == nil {
		return out
	}
	out.Paths = t.PathCount()
	for _, pfx := range t.Prefixes() {
		out.Routes = append(out.Routes, route(pfx, t.Dest(pfx)))
	}
	return out
}

func route(pfx netip.Prefix, d *rib.Dest) Route {
	rt := Route{Prefix: pfx}
	best, reason := d.Best()
	if best != nil {
		rt.BestReason = reason.String()
	}
	for i := range d.Paths() {
		p := &d.Paths()[i]
		v := pathView(pfx, p.Attrs, p.NH, p.Weight(), p.Time)
		v.Best = i == d.BestIndex()
		if v.Best {
			v.SelectionReason = reason.String()
		}
		rt.Paths = append(rt.Paths, v)
	}
	return rt
}

// explain says, per path of rt, what the import side changed (Policy),
// and when the best path won on an attribute a policy or setting gave it,
// names that in the reason.
func explain(v *decision.View, pfx netip.Prefix, d *rib.Dest, rt *Route) {
	word := map[rib.Reason]string{rib.ReasonLocalPref: "local-pref", rib.ReasonWeight: "weight", rib.ReasonMED: "med",
		rib.ReasonASPath: "as-path", rib.ReasonOrigin: "origin"}
	_, reason := d.Best()
	for i := range d.Paths() {
		p := &d.Paths()[i]
		id, ok := v.PeerOf(p.Src())
		if !ok {
			continue
		}
		for _, t := range v.Explain(id, pfx, p.Received()) {
			rt.Paths[i].Policy = append(rt.Paths[i].Policy, t.By+": "+strings.Join(t.What, ", "))
			if i != d.BestIndex() || word[reason] == "" {
				continue
			}
			for _, w := range t.What {
				if strings.HasPrefix(w, word[reason]+" ") {
					rt.BestReason = fmt.Sprintf("%s (%s from %s)", rt.BestReason, w, t.By)
					rt.Paths[i].SelectionReason = rt.BestReason
				}
			}
		}
	}
}

// pathView renders a path to pfx with attribute set a from nh's source.
func pathView(pfx netip.Prefix, a *rib.Attrs, nh *rib.NextHop, weight uint32, t int64) PathView {
	src := nh.Src
	v := PathView{
		Valid: nh.Reachable, Internal: src.IBGP, Local: src.Local,
		Metric: a.MED, HasMetric: a.HasMED, Weight: weight,
		ASPath: ribwire.ASPathString(a.ASPath), Origin: a.Origin.Code(),
		LastUpdate: time.Unix(0, t),
	}
	switch {
	case !src.Local:
		v.NextHop, v.LinkLocal = nh.Global, nh.LinkLocal.WithZone("")
		if !v.NextHop.IsValid() {
			v.NextHop = v.LinkLocal
		}
	case pfx.Addr().Is4():
		// A local route: FRR shows 0.0.0.0 (or ::).
		v.NextHop = netip.IPv4Unspecified()
	default:
		v.NextHop = netip.IPv6Unspecified()
	}
	// FRR shows LOCAL_PREF for iBGP paths and wherever it was set (here
	// or by a policy).
	if src.IBGP || a.HasLocalPref {
		v.LocPrf, v.HasLocPrf = a.EffectiveLocalPref(), true
	}
	if !src.Local {
		v.Peer, v.PeerRouterID, v.PeerDescription = src.Addr, src.RouterID, src.Name
	} else {
		v.PeerRouterID = src.RouterID // ours: FRR shows `0.0.0.0 from 0.0.0.0 (OUR-ID)`
	}
	x := a.Extra()
	v.OriginatorID, v.IGPMetric = x.OriginatorID, nh.Metric
	for _, c := range x.ClusterList {
		v.ClusterList = append(v.ClusterList, netip.AddrFrom4([4]byte{byte(c >> 24), byte(c >> 16), byte(c >> 8), byte(c)}))
	}
	for _, c := range x.Communities {
		v.Communities = append(v.Communities, ribwire.CommunityString(c))
	}
	for _, c := range x.LargeCommunities {
		v.LargeCommunities = append(v.LargeCommunities, c.String())
	}
	return v
}

// NeighborView names one of FRR's per-neighbour views of a table, `show
// bgp ipv6 neighbors ADDR received-routes|advertised-routes|routes`.
type NeighborView string

// Per-neighbour views.
const (
	// ReceivedRoutes: the routes the neighbour sent, as it sent them
	// (before import policy), those the policy denied included.
	ReceivedRoutes NeighborView = "received-routes"
	// AdvertisedRoutes: the routes advertised to the neighbour, as sent.
	AdvertisedRoutes NeighborView = "advertised-routes"
	// AcceptedRoutes: the neighbour's routes in the table, after import
	// policy.
	AcceptedRoutes NeighborView = "routes"
)

// NeighborRoutes returns one of the per-neighbour views of family f's
// table, in the shape of `show bgp`: a route per prefix, with the one
// path of the view.
func (sp *Speaker) NeighborRoutes(ctx context.Context, addr netip.Addr, f wire.Family, which NeighborView) (*Table, error) {
	id, err := sp.peerID(addr)
	if err != nil {
		return nil, err
	}
	switch which {
	case ReceivedRoutes, AdvertisedRoutes, AcceptedRoutes:
	default:
		return nil, fmt.Errorf("speaker %s: no view %q of a neighbour's routes", sp.cfg.Name, which)
	}
	out := &Table{Family: f.String(), RouterID: sp.cfg.RouterID, AS: sp.cfg.AS}
	err = sp.query(ctx, func(v *decision.View) {
		out.TableVersion = v.Version()
		pv := v.Peer(id)
		switch which {
		case ReceivedRoutes:
			for _, r := range v.Received(id, f) {
				p := pathView(r.Prefix, r.Attrs, r.NH, 0, r.Time)
				p.Denied = r.Denied
				out.Routes = append(out.Routes, Route{Prefix: r.Prefix, Paths: []PathView{p}})
			}
		case AdvertisedRoutes:
			for _, r := range v.Advertised(id, f) {
				p := pathView(r.Prefix, r.Attrs, &rib.NextHop{Src: &rib.Source{Local: true}, Reachable: true}, 0, 0)
				p.Valid, p.Best = true, true
				if f == wire.IPv4Unicast {
					p.NextHop = pv.NextHop4
				} else {
					p.NextHop, p.LinkLocal = pv.NextHop6, pv.LinkLocal6
				}
				out.Routes = append(out.Routes, Route{Prefix: r.Prefix, Paths: []PathView{p}})
			}
		case AcceptedRoutes:
			t := v.Table(f)
			if t == nil {
				return
			}
			for _, pfx := range t.Prefixes() {
				rt := route(pfx, t.Dest(pfx))
				for _, p := range rt.Paths {
					if p.Peer == pv.Source.Addr && !p.Local {
						rt.Paths = []PathView{p}
						out.Routes = append(out.Routes, rt)
						break
					}
				}
			}
		}
	})
	for _, r := range out.Routes {
		out.Paths += len(r.Paths)
	}
	return out, err
}

// String renders a path as a line of FRR's table, for logs and tests.
func (v PathView) String() string {
	status := " "
	if v.Valid {
		status = "*"
	}
	if v.Best {
		status += ">"
	} else {
		status += " "
	}
	if v.Internal {
		status += "i"
	}
	return fmt.Sprintf("%s %v %s %s", status, v.NextHop, v.ASPath, v.Origin)
}
