package decision

import (
	"net/netip"
	"slices"

	"lab/speaker/peer"
	"lab/speaker/rib"
	"lab/speaker/wire"
)

// View is read access to the engine's RIBs for Query's function, on the
// engine's goroutine: valid during the call only, and never to be
// changed.
type View struct {
	e *Engine
}

// Version is the table version: the number of rounds that decided
// something.
func (v *View) Version() uint64 { return v.e.version }

// Table returns the Loc-RIB (with every Adj-RIB-In path) of family f, or
// nil.
func (v *View) Table(f wire.Family) *rib.Table { return v.e.tables[f] }

// PeerView is the engine's view of one peer.
type PeerView struct {
	// Source is the peer's source of paths in the tables.
	Source *rib.Source
	// Up: the session is Established, as far as the engine knows.
	Up bool
	// The next-hop-self addresses advertised to the peer, while up.
	NextHop4, NextHop6, LinkLocal6 netip.Addr
}

// Peer returns the view of peer id.
func (v *View) Peer(id peer.ID) PeerView {
	p := v.e.peers[id]
	return PeerView{Source: p.src, Up: p.up != nil, NextHop4: p.nh4, NextHop6: p.nh6, LinkLocal6: p.ll6}
}

// RouteView is one route of a peer's Adj-RIB-In or Adj-RIB-Out.
type RouteView struct {
	Prefix netip.Prefix
	Attrs  *rib.Attrs
	// NH is the received route's next hop (nil for an advertised one).
	NH *rib.NextHop
	// Denied: the import policy refused the received route.
	Denied bool
	// Time is when a received route arrived, in Unix nanoseconds.
	Time int64
}

// Received returns the routes of family f peer id sent, as it sent them
// (before import policy), accepted and denied, sorted by prefix.
func (v *View) Received(id peer.ID, f wire.Family) []RouteView {
	p := v.e.peers[id]
	t := v.e.tables[f]
	var out []RouteView
	if t != nil {
		for _, pfx := range t.SourcePrefixes(p.src) {
			for _, path := range t.Dest(pfx).Paths() {
				if path.Src() == p.src {
					out = append(out, RouteView{Prefix: pfx, Attrs: path.Received(), NH: path.NH, Time: path.Time})
					break
				}
			}
		}
	}
	for pfx, r := range p.denied[f] {
		out = append(out, RouteView{Prefix: pfx, Attrs: r.attrs, NH: r.nh, Denied: true})
	}
	slices.SortFunc(out, func(a, b RouteView) int { return rib.ComparePrefix(a.Prefix, b.Prefix) })
	return out
}

// Advertised returns the routes of family f advertised to peer id, with
// the attributes they were sent with (export policy, our AS prepended
// for an eBGP peer; the next hop is self), sorted by prefix.
func (v *View) Advertised(id peer.ID, f wire.Family) []RouteView {
	e := v.e
	p := e.peers[id]
	t, o := e.tables[f], p.out[f]
	if t == nil || o == nil || p.up == nil {
		return nil
	}
	var out []RouteView
	for _, pfx := range t.Prefixes() {
		d := t.Dest(pfx)
		if o.Get(d) == nil {
			continue
		}
		best := e.exported(p, pfx, d)
		if best == nil {
			continue
		}
		a, ok := e.export(p, pfx, best)
		if !ok {
			continue
		}
		out = append(out, RouteView{Prefix: pfx, Attrs: &a})
	}
	return out
}

// AdvertisedCount returns the number of prefixes of family f in peer id's
// Adj-RIB-Out.
func (v *View) AdvertisedCount(id peer.ID, f wire.Family) int {
	if o := v.e.peers[id].out[f]; o != nil {
		return o.Len()
	}
	return 0
}

// Draining reports whether the speaker drains (graceful-shutdown on).
func (v *View) Draining() bool { return v.e.draining }

// Explain tells how the import side changed the path of peer id to pfx
// that was received with set received (rib.Path.Received): each step that
// changed it, in order.
func (v *View) Explain(id peer.ID, pfx netip.Prefix, received *rib.Attrs) []Touch {
	return v.e.explainImport(v.e.peers[id], pfx, received)
}

// PeerOf returns the peer whose source src is, or false for a local path.
func (v *View) PeerOf(src *rib.Source) (peer.ID, bool) {
	for _, p := range v.e.peers {
		if p.src == src {
			return p.id, true
		}
	}
	return 0, false
}
