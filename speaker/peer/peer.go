// Package peer is where the speaker's two engines meet. The session engine
// (package session: FSM, timers, connections) and the decision engine
// (package decision: RIBs, decision process, advertisement, FIB) do not
// import each other; both import this package, which holds what they
// share about a neighbour: its configuration (Config), its identifier
// (ID), the events by which the session engine tells the decision engine
// what happened to it (Event), and the sink through which the decision
// engine hands an Established session its UPDATEs (Sink).
package peer

import (
	"net/netip"
	"time"

	"lab/speaker/rib"
	"lab/speaker/ribwire"
	"lab/speaker/wire"
)

// ID identifies a peer of one speaker: its index in the speaker's list of
// configured peers.
type ID int

// Timers are the RFC 4271 session timers. Hold 0 means no hold timer and
// no keepalives (RFC 4271 section 4.4).
type Timers struct {
	Keepalive    time.Duration
	Hold         time.Duration
	ConnectRetry time.Duration
}

// DefaultTimers are the seed's Quagga values: keepalive 60 s, hold 180 s,
// connect retry 120 s.
var DefaultTimers = Timers{Keepalive: 60 * time.Second, Hold: 180 * time.Second, ConnectRetry: 120 * time.Second}

// Config is one configured neighbour.
type Config struct {
	// Description is shown by `show bgp neighbors` ("as2rb (eBGP)").
	Description string
	// LocalAddr is the address the session's TCP connection is opened
	// from; PeerAddr the neighbour's, which identifies the peer.
	LocalAddr netip.Addr
	PeerAddr  netip.Addr
	// Interface is the local interface the peer is reached through; its
	// link-local address is the IPv6 link-local next hop sent, and
	// received link-local next hops are installed through it.
	Interface string
	PeerAS    uint32
	// Families are the address families advertised in the OPEN; nil
	// means the family of PeerAddr.
	Families []wire.Family
	// Passive peers are never dialled: the speaker waits for them.
	Passive bool
	// DialDelay makes the speaker wait this long for the peer's
	// connection, at every start of the session, before dialling itself.
	// Two speakers that dial each other at once collide (RFC 4271 section
	// 6.8), and the collision rule can leave both without a session for a
	// round; lab/speakerconf sets it on one side of the sessions between
	// two of the lab's speakers, so the other side's connection always
	// comes first.
	DialDelay time.Duration
	// Password turns on TCP MD5 signatures (RFC 2385) with this key.
	Password string
	// Timers overrides the speaker's timers for this peer when non-nil.
	Timers *Timers
	// NextHop4 and NextHop6 are the next-hop-self addresses for the
	// family that is not the session's own (a peer carrying both families
	// on one session). The session's own family uses LocalAddr.
	NextHop4, NextHop6 netip.Addr
	// Shutdown starts the peer administratively down; ShutdownMessage is
	// the RFC 8203 message its Cease/Administrative Shutdown carries.
	Shutdown        bool
	ShutdownMessage string

	// What the decision engine does with the peer's routes (routing
	// policy: lab/speakerconf fills it from the topology).

	// Role is the peer's business relationship to us.
	Role Role
	// Import and Export are the policies run, in order, on every route
	// received from the peer and on every route advertised to it; each
	// may change the route or deny it.
	Import, Export []Policy
	// LocalPref and Weight, when set, are given to every route received
	// from the peer (FRR's `neighbor ... weight`, and a route-map's `set
	// local-preference` on every route); before Import.
	LocalPref, Weight *uint32
	// MED, when set, is sent with every route advertised to the peer;
	// Prepend are ASNs prepended to the AS_PATH of every route advertised
	// to it (before our own AS, for an eBGP peer). Both after Export.
	MED     *uint32
	Prepend []uint32
	// MaxPrefix, when not 0, is the number of routes of a family the peer
	// may have accepted: one more ends the session with Cease/Maximum
	// Number of Prefixes Reached (RFC 4486) and keeps it down until it is
	// cleared, or only logs a warning when MaxPrefixWarningOnly.
	MaxPrefix            int
	MaxPrefixWarningOnly bool
	// AllowASIn is the number of times our own AS may appear in the
	// AS_PATH of a route received from the peer (FRR's `allowas-in`); 0
	// refuses every route with our AS (RFC 4271 section 9.1.2).
	AllowASIn int
	// DefaultOriginate advertises a default route of each family to the
	// peer, whatever the table holds.
	DefaultOriginate bool

	// RRClient makes an iBGP peer our route-reflection client (RFC 4456):
	// we reflect the routes it sends to every other iBGP peer, and the
	// routes of our other iBGP peers to it.
	RRClient bool
	// NextHopUnchanged advertises routes learned from eBGP to this iBGP
	// peer with their eBGP next hop instead of ours (next-hop-self off):
	// the peer must reach that next hop through the IGP.
	NextHopUnchanged bool
}

// Role is a peer's business relationship to us (Gao-Rexford): RFC 3765's
// NO_PEER community is not advertised to a RolePeer.
type Role uint8

// Roles.
const (
	RoleNone Role = iota
	RoleCustomer
	RolePeer
	RoleProvider
)

func (r Role) String() string {
	switch r {
	case RoleCustomer:
		return "customer"
	case RolePeer:
		return "peer"
	case RoleProvider:
		return "provider"
	}
	return "none"
}

// Policy is a routing policy the decision engine runs on a route of a
// peer (package policy compiles them from the topology's policies and
// relations).
type Policy interface {
	// Name names the policy in show output.
	Name() string
	// Fingerprint is a rendering of the policy's whole definition (its
	// entries and the lists they use): two policies with the same
	// fingerprint do the same, which tells `lab apply` what changed.
	Fingerprint() string
	// Apply runs the policy on the route to pfx with attribute set a,
	// received from or advertised to a neighbour in AS neighborAS: it
	// returns the set to use (a itself when nothing changed; a new set,
	// not interned, otherwise), whether the route is permitted, and the
	// entry that decided (counted from 1; 0 when none matched). a is
	// interned: never change it.
	Apply(pfx netip.Prefix, a *rib.Attrs, neighborAS uint32) (out *rib.Attrs, permit bool, entry int)
}

// AddressFamilies returns the families advertised to the peer: Families,
// or the family of PeerAddr.
func (p *Config) AddressFamilies() []wire.Family {
	if len(p.Families) > 0 {
		return p.Families
	}
	if p.PeerAddr.Is4() {
		return []wire.Family{wire.IPv4Unicast}
	}
	return []wire.Family{wire.IPv6Unicast}
}

// EventKind says what an Event reports.
type EventKind uint8

// Event kinds.
const (
	// Up: the session reached Established (Event.Up says how).
	Up EventKind = iota + 1
	// Down: the session left Established.
	Down
	// Update: an UPDATE arrived (Event.Update).
	Update
	// RefreshRequest: the peer asked for our routes of Event.Family
	// again (ROUTE-REFRESH, RFC 2918).
	RefreshRequest
	// Resend: every route is to be advertised to the peer again (a soft
	// reset outwards, `clear bgp ADDR soft`).
	Resend
)

// Event is what the session engine tells the decision engine about a
// peer. The events of one peer are delivered in the order they happened,
// by that peer's session goroutine.
type Event struct {
	Kind EventKind
	Peer ID
	// Up is set for Up.
	Up *Established
	// Update is set for Update: its attribute sets are interned, with a
	// reference each that the receiver of the event takes over (and gives
	// back with Update.Release when it drops the event).
	Update *ribwire.Update
	// Family is set for RefreshRequest.
	Family wire.Family
}

// Established is what the decision engine needs of a session that
// reached Established.
type Established struct {
	// Out is the session's sink, valid for this session only.
	Out Sink
	// Options are the negotiated encoding options (RFC 6793 4-octet AS,
	// RFC 8654 extended messages).
	Options wire.Options
	// Families are the families both sides announced.
	Families []wire.Family
	// RouterID is the peer's BGP identifier.
	RouterID netip.Addr
	// Local is the local address of the session's TCP connection.
	Local netip.Addr
}

// Sink is how the decision engine hands UPDATEs to one Established
// session. Its contract, which the session engine keeps:
//   - Queue copies b (the caller reuses it) and holds it until Flush;
//     what is flushed reaches the wire in the order it was queued, in as
//     few writes as the socket allows.
//   - Nothing follows the session's NOTIFICATION on the wire: the session
//     engine queues its NOTIFICATION and closes the queue in one step,
//     and anything queued after that is dropped.
//   - A Sink belongs to one session, from Up to Down: once its session is
//     down, everything queued on it is dropped, so UPDATEs decided for an
//     old session never reach the next one with the same peer.
//
// Queue, EndOfRIB and Flush are called by one goroutine (the decision
// engine's) and never block on the network.
type Sink interface {
	// Queue queues an encoded UPDATE.
	Queue(b []byte)
	// EndOfRIB queues the End-of-RIB marker of family f (RFC 4724 section
	// 2), which the session records as sent.
	EndOfRIB(f wire.Family)
	// Flush has what is queued written.
	Flush()
}
