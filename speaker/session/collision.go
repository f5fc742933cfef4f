package session

import (
	"net"
	"slices"
	"time"

	"lab/speaker/wire"
)

// Connection collisions (RFC 4271 section 6.8): when both speakers dial
// each other, a session has two connections for a while, and one must
// go. Both speakers apply the same rule, so they keep the same one.

// collisionCease is the NOTIFICATION that closes the connection that
// lost.
func collisionCease() *wire.Notification {
	return &wire.Notification{Code: wire.CodeCease, Subcode: wire.SubcodeConnectionCollision}
}

// collideOnOpen decides a collision when connection c receives the
// peer's first OPEN, and reports whether c lost. The OPEN tells the
// peer's BGP identifier, which decides against any other connection to
// the same peer at once, whether that one got its OPEN yet (OpenSent) or
// not: the connection initiated by the speaker with the higher identifier
// stays. Deciding only against OpenConfirm let one side establish a
// connection the other had just dropped.
func (s *session) collideOnOpen(c *conn, o *wire.Open) (lost bool) {
	for _, other := range slices.Clone(s.conns) {
		if other == c {
			continue
		}
		loser := c
		if other.state != Established {
			keepOutbound := s.e.cfg.RouterID.Compare(o.ID) > 0
			if c.outbound != keepOutbound {
				loser = c
			} else {
				loser = other
			}
		}
		s.drop(loser, collisionCease(), Reset{Kind: Collision})
		if loser == c {
			s.syncState()
			return true
		}
	}
	return false
}

// collideOnEstablish closes every other connection once c is
// Established: they lose.
func (s *session) collideOnEstablish(c *conn) {
	for _, other := range slices.Clone(s.conns) {
		if other != c {
			s.drop(other, collisionCease(), Reset{Kind: Collision})
		}
	}
}

// refuseCollision closes a connection that arrived while the session is
// Established, with Cease/Connection Collision Resolution.
func (s *session) refuseCollision(nc net.Conn) {
	w := newWriter(nc, func(outMsg) {})
	b, _ := collisionCease().AppendTo(nil, nil)
	w.closeAfterFlush(b, wire.Options{})
}

// lostCollision follows the peer's Cease/Connection Collision
// Resolution on c: the peer resolved a collision against this connection
// and keeps another, maybe our dial still under way. Even an Established
// connection can lose: the rule has a race (a side that has not seen the
// second connection yet establishes the first, which the other side,
// seeing both, drops by the identifiers). Not a failure to damp, unless
// it keeps happening: then it is one.
func (s *session) lostCollision(c *conn, n *wire.Notification) {
	now := s.e.clock.Now()
	again := !s.lastCollision.IsZero() && now.Sub(s.lastCollision) < 5*time.Second
	s.lastCollision = now
	s.drop(c, nil, Reset{Kind: Collision, Notification: n})
	switch {
	case again:
		s.afterDrop()
	case len(s.conns) > 0:
		// The connection the peer keeps is our other one.
		s.syncState()
	case s.dialCancel != nil:
		// It keeps the one we are still dialling. The ConnectRetry timer
		// stopped when the lost connection came; it guards the dial again.
		s.connectAt = now.Add(s.jitter(s.timers.ConnectRetry))
		s.setState(Connect)
	default:
		// Neither: dial again at once, without idle hold.
		s.start()
	}
}
