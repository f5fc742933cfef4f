package speaker

import (
	"context"
	"fmt"
	"net/netip"
	"time"

	"lab/speaker/decision"
	"lab/speaker/session"
	"lab/speaker/wire"
)

// This file holds what the programs of ExaBGP's API (package exabgp) need
// of a speaker beyond its show commands: every message and state change,
// without loss; the log; and the commands ExaBGP's API sends a peer.

// Reset is why a session went down (session.Reset).
type Reset = session.Reset

// ResetKind says why a session went down (session.ResetKind).
type ResetKind = session.ResetKind

// Reset kinds.
const (
	ResetNone            = session.ResetNone
	NotificationSent     = session.NotificationSent
	NotificationReceived = session.NotificationReceived
	PeerClosed           = session.PeerClosed
	ConnectionError      = session.ConnectionError
	Collision            = session.Collision
	AdminShutdown        = session.AdminShutdown
	AdminReset           = session.AdminReset
)

// Observation is a message a session received or sent, or a change of a
// session's state, as Observe delivers it.
type Observation struct {
	// Peer is the neighbour's address (its PeerConfig is
	// Config().Peers[PeerIndex]).
	Peer      netip.Addr
	PeerIndex int
	// Local is the session's configured local address; LocalAS and
	// PeerAS the AS numbers, as configured when the observation was made.
	Local           netip.Addr
	LocalAS, PeerAS uint32
	Time            time.Time
	// A message (Raw non-nil): which way it went, its bytes as they were
	// on the wire (the observer's own copy), and the options they were
	// encoded with (Message decodes them).
	Dir     Direction
	Raw     []byte
	Options wire.Options
	// A state change (Raw nil): the new state, and why the session last
	// went down (read when the state is below OpenSent).
	State State
	Reset Reset
}

// IsMessage reports whether the observation is a message (not a state
// change).
func (o *Observation) IsMessage() bool { return o.Raw != nil }

// Type returns the message's type (0 for a state change).
func (o *Observation) Type() wire.Type {
	if len(o.Raw) < wire.HeaderLen {
		return 0
	}
	return wire.Type(o.Raw[wire.HeaderLen-1])
}

// Message decodes the message. An UPDATE with an error that RFC 7606 lets
// the session survive comes back decoded as far as it goes, with the
// error.
func (o *Observation) Message() (wire.Message, error) {
	opts := o.Options
	return wire.Parse(o.Raw, &opts)
}

// Observe has fn called for every message every session receives or
// sends, and every change of a session's state, in the order the session
// saw them (a received message before the state change it causes). None
// is lost: fn runs on the sessions' goroutines, so it must be quick and
// never block (queue, and do the work elsewhere). It must be called
// before Start; a speaker nobody observes pays nothing.
func (sp *Speaker) Observe(fn func(Observation)) error {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	if sp.sessionsUp || sp.closed {
		return fmt.Errorf("speaker %s: Observe after Start", sp.cfg.Name)
	}
	sp.sess.Observe(func(o session.Observation) {
		// The configuration in effect (a reconfiguration may change a
		// neighbour's AS, never its address).
		cfg := sp.live.Load()
		p := &cfg.Peers[o.Peer]
		fn(Observation{Peer: p.PeerAddr, PeerIndex: int(o.Peer), Local: p.LocalAddr, LocalAS: cfg.AS, PeerAS: p.PeerAS,
			Time: o.Time, Dir: o.Dir, Raw: o.Raw, Options: o.Options, State: o.State, Reset: o.Reset})
	})
	return nil
}

// Logf writes a line to the speaker's log (`show log`).
func (sp *Speaker) Logf(format string, args ...any) { sp.log.Printf(format, args...) }

// SendEndOfRIB sends an End-of-RIB marker of family f to the neighbour
// with address addr, after the UPDATEs of every route announced so far
// (ExaBGP's `announce eor`). The session must be Established and have
// negotiated f.
func (sp *Speaker) SendEndOfRIB(ctx context.Context, addr netip.Addr, f wire.Family) error {
	id, err := sp.peerID(addr)
	if err != nil {
		return err
	}
	// The decision engine's round queues the UPDATEs of what was
	// announced before this call; the marker follows them.
	if err := sp.query(ctx, func(*decision.View) {}); err != nil {
		return err
	}
	if err := sp.sess.SendEndOfRIB(id, f); err != nil {
		return fmt.Errorf("speaker %s: neighbor %v: %w", sp.cfg.Name, addr, err)
	}
	return nil
}

// SendRouteRefresh sends a ROUTE-REFRESH request for family f (RFC 2918)
// to the neighbour with address addr (ExaBGP's `announce route-refresh`).
func (sp *Speaker) SendRouteRefresh(addr netip.Addr, f wire.Family) error {
	id, err := sp.peerID(addr)
	if err != nil {
		return err
	}
	if err := sp.sess.SendRouteRefresh(id, f); err != nil {
		return fmt.Errorf("speaker %s: neighbor %v: %w", sp.cfg.Name, addr, err)
	}
	return nil
}

// TeardownPeer ends the Established session with addr with a Cease
// NOTIFICATION of the given subcode and starts it again at once (ExaBGP's
// `neighbor ADDR teardown SUBCODE`).
func (sp *Speaker) TeardownPeer(addr netip.Addr, subcode uint8) error {
	id, err := sp.peerID(addr)
	if err != nil {
		return err
	}
	n := &wire.Notification{Code: wire.CodeCease, Subcode: subcode}
	if err := sp.sess.TeardownRestart(id, n); err != nil {
		return fmt.Errorf("speaker %s: neighbor %v: %w", sp.cfg.Name, addr, err)
	}
	return nil
}

// ErrNotEstablished is returned by the commands that need an Established
// session (session.ErrNotEstablished).
var ErrNotEstablished = session.ErrNotEstablished
