package speaker

import (
	"io"
	"net/netip"
	"time"

	"lab/speaker/clock"
	"lab/speaker/decision"
	"lab/speaker/peer"
	"lab/speaker/policy"
	"lab/speaker/session"
)

// Timers are the RFC 4271 session timers (peer.Timers).
type Timers = peer.Timers

// DefaultTimers are the seed's Quagga values: keepalive 60 s, hold 180 s,
// connect retry 120 s.
var DefaultTimers = peer.DefaultTimers

// PeerConfig is one configured neighbour (peer.Config).
type PeerConfig = peer.Config

// Role is a peer's business relationship to us (peer.Role).
type Role = peer.Role

// Roles.
const (
	RoleNone     = peer.RoleNone
	RoleCustomer = peer.RoleCustomer
	RolePeer     = peer.RolePeer
	RoleProvider = peer.RoleProvider
)

// Origination is a route the speaker announces itself
// (decision.Origination).
type Origination = decision.Origination

// Aggregate is a route originated while the table holds a more specific
// one (decision.Aggregate).
type Aggregate = decision.Aggregate

// Dialer opens a session's TCP connection (session.Dialer). The default
// dials inside the speaker's namespace from PeerConfig.LocalAddr to port
// 179, with MD5 when configured; tests substitute net.Pipe.
type Dialer = session.Dialer

// Clock is the speaker's source of time (clock.Clock).
type Clock = clock.Clock

// FakeClock is a Clock that moves only when a test says so (clock.Fake).
type FakeClock = clock.Fake

// NewFakeClock returns a FakeClock set to start.
func NewFakeClock(start time.Time) *FakeClock { return clock.NewFake(start) }

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
	// ClusterID makes the speaker a route reflector (RFC 4456) of this
	// cluster for its peers marked RRClient; the zero Addr for none.
	ClusterID netip.Addr
	Peers     []PeerConfig
	Originate []Origination
	// Aggregates are originated while the table holds a more specific
	// route of theirs (RFC 4271 section 9.2.2.2).
	Aggregates []Aggregate
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
	// Policies are the routing policies the peers' Import and Export use,
	// compiled, for `show routing policy` (their hit counts); nil for
	// none.
	Policies *policy.Policies
}
