package speaker

import (
	"context"
	"io"
	"net"
	"net/netip"
	"time"

	"lab/speaker/wire"
)

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

// Origination is a route the speaker announces itself.
type Origination struct {
	Prefix netip.Prefix
	// MED is sent when HasMED; without it the route still carries MED 0,
	// as the seed's Quagga sends for its `network` routes.
	MED              uint32
	HasMED           bool
	Communities      []uint32
	LargeCommunities [][3]uint32
}

// PeerConfig is one configured neighbour.
type PeerConfig struct {
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
	// Shutdown starts the peer administratively down.
	Shutdown bool
}

func (p *PeerConfig) families() []wire.Family {
	if len(p.Families) > 0 {
		return p.Families
	}
	if p.PeerAddr.Is4() {
		return []wire.Family{wire.IPv4Unicast}
	}
	return []wire.Family{wire.IPv6Unicast}
}

// Dialer opens a session's TCP connection. The default dials inside the
// speaker's namespace from PeerConfig.LocalAddr to port 179, with MD5 when
// configured; tests substitute net.Pipe.
type Dialer interface {
	Dial(ctx context.Context, p *PeerConfig) (net.Conn, error)
}

// Config is a speaker's configuration.
type Config struct {
	// Name is the router's name ("as1ra"), used in logs.
	Name     string
	AS       uint32
	RouterID netip.Addr
	// Namespace is the path of the router's network namespace
	// (/run/netns/lab-as1ra); "" runs in the caller's namespace and, with
	// NoKernel, touches no kernel at all.
	Namespace string
	// NoKernel runs without FIB and next-hop tracking: every next hop is
	// reachable and nothing is installed (tests over net.Pipe).
	NoKernel bool
	Timers   Timers
	// IdleHold is the time a peer stays Idle after an error before it
	// starts again; it doubles on every failure up to 60 s and is reset
	// when a session reaches Established. Default 1 s.
	IdleHold time.Duration
	// CompareRouterID is FRR's `bgp bestpath compare-routerid`.
	CompareRouterID bool
	Peers           []PeerConfig
	Originate       []Origination
	// Port is the TCP port to listen on and dial; default 179.
	Port int
	// Log receives FRR-style log lines; nil discards them (the last lines
	// are kept for Speaker.LogLines anyway).
	Log   io.Writer
	Clock Clock
	// Dialer replaces the namespace dialer (tests).
	Dialer Dialer
	// TraceLen is the number of messages kept per peer for the message
	// trace; default 256.
	TraceLen int
}
