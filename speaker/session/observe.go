package session

import (
	"bytes"
	"time"

	"lab/speaker/peer"
	"lab/speaker/wire"
)

// Observation is what an observer of the engine (Engine.Observe) sees: a
// message a session received or sent, or a change of a session's state.
type Observation struct {
	Peer peer.ID
	Time time.Time
	// A message (Raw non-nil): which way it went, its bytes as they were
	// on the wire (the observer's own copy) and the options they were
	// encoded with.
	Dir     Direction
	Raw     []byte
	Options wire.Options
	// A state change (Raw nil): the new state; Reset is why the session
	// last went down (read when it enters Idle, Connect or Active).
	State State
	Reset Reset
}

// Observe has fn called for every message any session receives or sends
// and for every change of a session's state, in the order the session saw
// them: a received message comes before the state change it causes, and
// after the one before it. fn is called on the session goroutine (state
// changes, received messages) and the connection's writer goroutine
// (sent messages, once written): it must
// be quick and never block (the caller queues what it needs). Call it
// before Start; without it the engine pays nothing.
//
// Why not FollowTrace: a trace follower that does not keep up loses
// messages, which a program reading ExaBGP's API must never see; and the
// trace carries no state changes.
func (e *Engine) Observe(fn func(Observation)) { e.observe = fn }

// observeReceived reports a message a connection's reader received
// (with its copy): on the session goroutine, so that it comes before the
// state change it causes, and after the one before it (a peer's first
// UPDATE after its KEEPALIVE took the session to Established).
func (s *session) observeReceived(in input) {
	if fn := s.e.observe; fn != nil && in.raw != nil {
		fn(Observation{Peer: s.id, Time: s.e.clock.Now(), Dir: Received, Raw: in.raw, Options: in.rawOpts})
	}
}

// observeMsg reports a message sent on the session (its writer goroutine
// calls it once the message is written).
func (s *session) observeMsg(dir Direction, now time.Time, raw []byte, o wire.Options) {
	fn := s.e.observe
	if fn == nil {
		return
	}
	fn(Observation{Peer: s.id, Time: now, Dir: dir, Raw: bytes.Clone(raw), Options: o})
}

// observeState reports the session's new state.
func (s *session) observeState(st State) {
	fn := s.e.observe
	if fn == nil {
		return
	}
	o := Observation{Peer: s.id, Time: s.e.clock.Now(), State: st}
	if st < OpenSent {
		s.stats.mu.Lock()
		o.Reset = s.stats.lastReset
		s.stats.mu.Unlock()
	}
	fn(o)
}
