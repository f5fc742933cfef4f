package decision

import (
	"net/netip"

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

// Advertised returns the number of prefixes of family f in peer id's
// Adj-RIB-Out.
func (v *View) Advertised(id peer.ID, f wire.Family) int {
	if o := v.e.peers[id].out[f]; o != nil {
		return o.Len()
	}
	return 0
}
