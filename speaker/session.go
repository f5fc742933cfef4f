package speaker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/netip"
	"slices"
	"sync"
	"time"

	"lab/speaker/rib"
	"lab/speaker/wire"
)

// State is a BGP FSM state (RFC 4271 section 8.2.2).
type State uint8

// FSM states.
const (
	Idle State = iota
	Connect
	Active
	OpenSent
	OpenConfirm
	Established
)

var stateNames = [...]string{"Idle", "Connect", "Active", "OpenSent", "OpenConfirm", "Established"}

func (s State) String() string {
	if int(s) < len(stateNames) {
		return stateNames[s]
	}
	return fmt.Sprintf("State(%d)", uint8(s))
}

// MarshalText renders the state's name, for JSON.
func (s State) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText reads a state's name, so that scripts decoding the shell's
// JSON get States back.
func (s *State) UnmarshalText(b []byte) error {
	for i, n := range stateNames {
		if n == string(b) {
			*s = State(i)
			return nil
		}
	}
	return fmt.Errorf("unknown BGP state %q", b)
}

// openSentHold is the large hold time of OpenSent (RFC 4271 section 8.2.2,
// "suggested value 4 minutes").
const openSentHold = 4 * time.Minute

// maxIdleHold caps the idle hold backoff.
const maxIdleHold = 60 * time.Second

type evKind uint8

const (
	evConn      evKind = iota + 1 // a connection, dialled (outbound) or accepted
	evDialFail                    // the dial failed
	evRead                        // a message or a read error from a connection
	evShutdown                    // administrative shutdown on (on) or off
	evHardReset                   // Cease/Administrative Reset
	evSoftReset                   // ROUTE-REFRESH in, re-advertise out
	evKick                        // the peer's address became reachable: retry now
)

type sessEvent struct {
	kind     evKind
	nc       net.Conn
	outbound bool
	dialID   uint64
	c        *conn
	msg      wire.Message
	upd      *inUpdate
	err      error
	on       bool
}

// conn is one TCP connection of a session with its own OPEN exchange; a
// session has two only while a collision is being resolved (RFC 4271
// section 6.8). Owned by the session goroutine, except localOpen, which is
// fixed before the reader starts.
type conn struct {
	nc        net.Conn
	w         *writer
	outbound  bool
	state     State
	localOpen *wire.Open
	peerOpen  *wire.Open
	opts      wire.Options
	families  []wire.Family
	hold      time.Duration
	keepalive time.Duration
	holdAt    time.Time
	kaAt      time.Time
	local     netip.AddrPort
	remote    netip.AddrPort
}

// session is one configured peer. Its goroutine (run) owns the FSM state,
// the connections and the timers; stats is shared with snapshot readers
// under its mutex.
type session struct {
	sp     *Speaker
	cfg    PeerConfig
	name   string // peer address, as FRR names neighbours
	ibgp   bool
	timers Timers
	ctx    context.Context
	events chan sessEvent
	trace  *trace
	stats  peerStats

	// Owned by the session goroutine.
	state     State
	conns     []*conn
	adminDown bool
	connectAt time.Time // ConnectRetry timer; zero when stopped
	// lastCollision is when the peer last dropped one of our connections
	// with Cease/Connection Collision Resolution.
	lastCollision time.Time
	idleUntil     time.Time // idle hold; zero when not holding
	idleHold      time.Duration
	dialCancel    context.CancelFunc
	dialID        uint64
	upConn        *conn
	refreshOnUp   bool
	pendingReset  string
}

// peerStats are a session's counters and status, written by the session
// and writer goroutines and read by snapshots.
type peerStats struct {
	mu          sync.Mutex
	state       State
	sent, rcvd  [6]uint64 // by wire.Type; 0 unused
	changed     time.Time // last transition into or out of Established
	established int
	dropped     int
	lastReset   string
	lastResetAt time.Time
	lastRead    time.Time
	lastWrite   time.Time
	remoteID    netip.Addr
	hold, ka    time.Duration
	localOpen   *wire.Open
	peerOpen    *wire.Open
	local       netip.AddrPort
	remote      netip.AddrPort
	families    []wire.Family
	eorSent     []wire.Family
	eorRcvd     []wire.Family
	writer      *writer
	lastNotif   string
}

func newSession(sp *Speaker, pc PeerConfig) *session {
	t := sp.cfg.Timers
	if pc.Timers != nil {
		t = *pc.Timers
	}
	if t.ConnectRetry <= 0 {
		t.ConnectRetry = DefaultTimers.ConnectRetry
	}
	s := &session{
		sp:        sp,
		cfg:       pc,
		name:      pc.PeerAddr.String(),
		ibgp:      pc.PeerAS == sp.cfg.AS,
		timers:    t,
		events:    make(chan sessEvent, 16),
		trace:     newTrace(sp.cfg.TraceLen, pc.PeerAddr.String()),
		adminDown: pc.Shutdown,
		idleHold:  sp.cfg.IdleHold,
	}
	s.stats.changed = sp.clock.Now()
	return s
}

// run is the session goroutine.
func (s *session) run() {
	defer s.sp.wg.Done()
	timer := s.sp.clock.NewTimer(time.Hour)
	defer timer.Stop()
	if !s.adminDown {
		s.start()
	}
	for {
		s.arm(timer)
		select {
		case <-s.ctx.Done():
			s.shutdown()
			return
		case ev := <-s.events:
			s.handle(ev)
		case <-timer.C():
			s.timersDue()
		}
		s.publish()
	}
}

// arm sets the timer to the earliest deadline of the session.
func (s *session) arm(t Timer) {
	var next time.Time
	consider := func(d time.Time) {
		if !d.IsZero() && (next.IsZero() || d.Before(next)) {
			next = d
		}
	}
	consider(s.connectAt)
	consider(s.idleUntil)
	for _, c := range s.conns {
		consider(c.holdAt)
		consider(c.kaAt)
	}
	t.Stop()
	if next.IsZero() {
		return
	}
	t.Reset(next.Sub(s.sp.clock.Now()))
}

func (s *session) jitter(d time.Duration) time.Duration {
	// RFC 4271 section 10: jitter timers by a random factor in [0.75, 1].
	return time.Duration(float64(d) * (0.75 + 0.25*rand.Float64()))
}

// start is the ManualStart/AutomaticStart event (RFC 4271 section 8.1.2):
// an active peer dials (Connect), a passive one waits (Active).
func (s *session) start() {
	s.idleUntil = time.Time{}
	if s.cfg.Passive {
		s.setState(Active)
		return
	}
	if s.cfg.DialDelay > 0 {
		// Let the peer dial first: wait in Active, accepting its
		// connection, and dial only if none came (the ConnectRetry timer
		// fires early).
		s.setState(Active)
		s.connectAt = s.sp.clock.Now().Add(s.cfg.DialDelay)
		return
	}
	s.setState(Connect)
	s.dial()
}

func (s *session) dial() {
	s.cancelDial()
	now := s.sp.clock.Now()
	s.connectAt = now.Add(s.jitter(s.timers.ConnectRetry))
	ctx, cancel := context.WithCancel(s.ctx)
	s.dialCancel = cancel
	s.dialID++
	id := s.dialID
	cfg := s.cfg
	go func() {
		nc, err := s.sp.dialer.Dial(ctx, &cfg)
		ev := sessEvent{kind: evConn, nc: nc, outbound: true, dialID: id}
		if err != nil {
			ev = sessEvent{kind: evDialFail, err: err, dialID: id}
		}
		select {
		case s.events <- ev:
		case <-s.ctx.Done():
			if nc != nil {
				nc.Close()
			}
		}
	}()
}

func (s *session) cancelDial() {
	if s.dialCancel != nil {
		s.dialCancel()
		s.dialCancel = nil
	}
}

func (s *session) setState(st State) {
	if s.state == st {
		return
	}
	s.state = st
	s.stats.mu.Lock()
	s.stats.state = st
	s.stats.mu.Unlock()
	s.sp.notify(Event{Kind: EventPeerState, Peer: s.cfg.PeerAddr, State: st})
	s.sp.changed()
}

// notifName names a NOTIFICATION as FRR's log does: "Hold Timer Expired",
// "OPEN Message Error/Bad Peer AS".
func notifName(n *wire.Notification) string {
	sub := wire.SubcodeName(n.Code, n.Subcode)
	if sub == "" || n.Subcode == 0 {
		return wire.CodeName(n.Code)
	}
	return wire.CodeName(n.Code) + "/" + sub
}

// syncState derives the session state from its connections.
func (s *session) syncState() {
	best := State(0)
	for _, c := range s.conns {
		if c.state > best {
			best = c.state
		}
	}
	if best != 0 {
		s.setState(best)
	}
}

func (s *session) handle(ev sessEvent) {
	switch ev.kind {
	case evConn:
		if ev.outbound && ev.dialID != s.dialID {
			ev.nc.Close() // a dial we gave up on
			return
		}
		if ev.outbound {
			s.dialCancel = nil
		}
		s.newConn(ev.nc, ev.outbound)
	case evDialFail:
		if ev.dialID != s.dialID || s.state != Connect {
			return
		}
		s.dialCancel = nil
		// RFC 4271 section 8.2.2, Connect state, TcpConnectionFails: keep
		// the ConnectRetry timer and wait in Active.
		s.setState(Active)
	case evRead:
		if !slices.Contains(s.conns, ev.c) {
			ev.upd.release(rib.Shared())
			return // a connection already dropped
		}
		if !s.read(ev) {
			ev.upd.release(rib.Shared())
		}
	case evShutdown:
		if ev.on && !s.adminDown {
			s.adminDown = true
			s.stopAll(&wire.Notification{Code: wire.CodeCease, Subcode: wire.SubcodeAdminShutdown}, "Admin. shutdown")
			s.toIdle(false)
		} else if !ev.on && s.adminDown {
			s.adminDown = false
			s.start()
		}
	case evHardReset:
		if s.adminDown {
			return
		}
		s.stopAll(&wire.Notification{Code: wire.CodeCease, Subcode: wire.SubcodeAdminReset}, "Admin. reset")
		s.toIdle(false)
		s.idleUntil = s.sp.clock.Now() // start again at once
	case evSoftReset:
		if c := s.upConn; c != nil {
			for _, f := range c.families {
				if c.peerSupports(wire.CapCodeRouteRefresh) || c.peerSupports(wire.CapCodeRouteRefreshCisco) {
					s.send(c, &wire.RouteRefresh{AFI: f.AFI, SAFI: f.SAFI})
				}
			}
			s.sp.toRIB(ribEvent{kind: ribRefreshOut, s: s})
		}
	case evKick:
		if s.state == Active && !s.cfg.Passive && !s.adminDown {
			s.setState(Connect)
			s.dial()
		}
	}
}

// newConn takes a new TCP connection: it becomes the session's connection,
// or a second one whose OPEN decides a collision.
func (s *session) newConn(nc net.Conn, outbound bool) {
	refuse := s.adminDown || len(s.conns) >= 2 || s.upConn != nil
	if !refuse && s.state == Idle && !s.idleUntil.IsZero() {
		// Idle after an error: the idle hold damps reconnections.
		refuse = true
	}
	if refuse {
		if s.upConn != nil && !outbound {
			// RFC 4271 section 6.8: a connection that collides with an
			// Established one is closed with Cease/Connection Collision.
			w := newWriter(nc, func(outMsg) {})
			n := &wire.Notification{Code: wire.CodeCease, Subcode: wire.SubcodeConnectionCollision}
			b, _ := n.AppendTo(nil, nil)
			w.closeAfterFlush(b, wire.Options{})
			return
		}
		nc.Close()
		return
	}
	// An inbound connection does not cancel a dial under way: when both
	// speakers dial at once, each dial has often completed on the other
	// side already, and cancelling it there kills the connection the peer
	// just accepted — on both sides at once. Both connections go on to
	// OpenSent and the first OPEN decides the collision (receiveOpen).
	now := s.sp.clock.Now()
	c := &conn{nc: nc, outbound: outbound, state: OpenSent,
		local: addrPort(nc.LocalAddr()), remote: addrPort(nc.RemoteAddr())}
	c.localOpen = s.sp.localOpen(&s.cfg, s.timers)
	c.w = newWriter(nc, s.onSent)
	s.conns = append(s.conns, c)
	s.send(c, c.localOpen)
	c.holdAt = now.Add(openSentHold)
	s.connectAt = time.Time{}
	go s.readMessages(c)
	s.setState(OpenSent)
	s.syncState()
}

// onSent runs on a writer goroutine after a message reached the socket.
func (s *session) onSent(m outMsg) {
	now := s.sp.clock.Now()
	t := wire.Type(m.b[wire.HeaderLen-1])
	s.stats.mu.Lock()
	if int(t) < len(s.stats.sent) {
		s.stats.sent[t]++
	}
	s.stats.lastWrite = now
	s.stats.mu.Unlock()
	s.trace.add(Sent, now, m.b, m.o, nil)
	if t == wire.TypeNotification {
		// The last message of a session, often counted after the
		// session has gone Idle: wake WaitFor again, as the session's
		// own changes do.
		s.sp.changed()
	}
}

// send encodes and queues m on c.
func (s *session) send(c *conn, m wire.Message) {
	b, err := m.AppendTo(nil, &c.opts)
	if err != nil {
		s.sp.log.printf("%s: cannot encode %s: %v", s.name, m.Type(), err)
		return
	}
	c.w.send(b, c.opts)
}

// read handles a message, or the failure, of connection c, and reports
// whether it passed the message's update on to the RIB goroutine (which
// then owns its references).
func (s *session) read(ev sessEvent) (forwarded bool) {
	c := ev.c
	now := s.sp.clock.Now()
	if ev.msg == nil {
		var we *wire.Error
		switch {
		case errors.As(ev.err, &we):
			s.drop(c, we.Notification(), fmt.Sprintf("BGP Notification send"), we.Error())
		case errors.Is(ev.err, io.EOF) || errors.Is(ev.err, io.ErrUnexpectedEOF) || errors.Is(ev.err, net.ErrClosed):
			s.drop(c, nil, "Peer closed the session", "")
		default:
			s.drop(c, nil, "TCP connection error", ev.err.Error())
		}
		s.afterDrop()
		return
	}
	t := ev.msg.Type()
	s.stats.mu.Lock()
	if int(t) < len(s.stats.rcvd) {
		s.stats.rcvd[t]++
	}
	s.stats.lastRead = now
	s.stats.mu.Unlock()
	if c.hold > 0 {
		c.holdAt = now.Add(c.hold)
	}
	if n, ok := ev.msg.(*wire.Notification); ok {
		s.sp.log.printf("%%NOTIFICATION: received from neighbor %s %d/%d (%s) %d bytes", s.name, n.Code, n.Subcode, notifName(n), len(n.Data))
		s.stats.mu.Lock()
		s.stats.lastNotif = "received " + n.String()
		s.stats.mu.Unlock()
		if n.Code == wire.CodeCease && n.Subcode == wire.SubcodeConnectionCollision {
			// The peer resolved a collision against this connection and
			// keeps another (RFC 4271 section 6.8), maybe our dial still
			// under way. Even an Established connection can lose: the
			// rule has a race (a side that has not seen the second
			// connection yet establishes the first, which the other side,
			// seeing both, drops by the identifiers). Not a failure to
			// damp — unless it keeps happening.
			again := !s.lastCollision.IsZero() && now.Sub(s.lastCollision) < 5*time.Second
			s.lastCollision = now
			s.drop(c, nil, "Connection collision", n.String())
			if again {
				s.afterDrop()
			} else {
				s.afterCollision()
			}
			return
		}
		s.drop(c, nil, "BGP Notification received", n.String())
		s.afterDrop()
		return
	}
	switch c.state {
	case OpenSent:
		o, ok := ev.msg.(*wire.Open)
		if !ok {
			s.fsmError(c, wire.SubcodeUnexpectedInOpenSent)
			return
		}
		s.receiveOpen(c, o)
	case OpenConfirm:
		switch ev.msg.(type) {
		case *wire.Keepalive:
			s.establish(c)
		default:
			s.fsmError(c, wire.SubcodeUnexpectedInOpenConfirm)
		}
	case Established:
		switch m := ev.msg.(type) {
		case *wire.Keepalive:
		case *wire.Update:
			if ev.upd != nil && ev.upd.err != nil {
				s.sp.log.printf("%s: UPDATE error: %v", s.name, ev.upd.err)
			}
			s.sp.toRIB(ribEvent{kind: ribUpdate, s: s, upd: ev.upd})
			return true
		case *wire.RouteRefresh:
			f := wire.Family{AFI: m.AFI, SAFI: m.SAFI}
			// RFC 2918 section 4: a refresh for a family not negotiated is
			// ignored; so are the BoRR/EoRR markers of RFC 7313.
			if m.Subtype == wire.RefreshNormal && slices.Contains(c.families, f) {
				s.sp.toRIB(ribEvent{kind: ribRefresh, s: s, fam: f})
			}
		default:
			s.fsmError(c, wire.SubcodeUnexpectedInEstablished)
		}
	}
	return false
}

func (c *conn) peerSupports(code wire.CapabilityCode) bool {
	if c.peerOpen == nil {
		return false
	}
	_, ok := c.peerOpen.Capability(code)
	return ok
}

func (s *session) fsmError(c *conn, sub uint8) {
	n := &wire.Notification{Code: wire.CodeFSM, Subcode: sub}
	s.drop(c, n, "BGP Notification send", n.String())
	s.afterDrop()
}

// checkOpen applies the session's checks to a decoded OPEN (the codec
// checked version, hold time range and identifier syntax already).
func (s *session) checkOpen(o *wire.Open) *wire.Error {
	if o.Version != 4 {
		return &wire.Error{Code: wire.CodeOpenMessage, Subcode: wire.SubcodeUnsupportedVersionNumber, Data: []byte{0, 4}}
	}
	if o.AS() != s.cfg.PeerAS {
		return wire.BadPeerAS(o.AS())
	}
	if o.HoldTime == 1 || o.HoldTime == 2 {
		return wire.UnacceptableHoldTime(o.HoldTime)
	}
	if !o.ID.Is4() || o.ID.IsUnspecified() || (s.ibgp && o.ID == s.sp.cfg.RouterID) {
		return &wire.Error{Code: wire.CodeOpenMessage, Subcode: wire.SubcodeBadBGPIdentifier,
			Data: o.ID.AsSlice(), Reason: fmt.Sprintf("BGP identifier %v", o.ID)}
	}
	if len(s.commonFamilies(o)) == 0 {
		var caps []wire.Capability
		for _, f := range s.cfg.families() {
			caps = append(caps, wire.CapMultiprotocol{AFI: f.AFI, SAFI: f.SAFI})
		}
		return wire.UnsupportedCapability(caps...)
	}
	return nil
}

// commonFamilies returns the families both sides announced; a peer
// without multiprotocol capabilities speaks IPv4 unicast (RFC 4760
// section 8).
func (s *session) commonFamilies(o *wire.Open) []wire.Family {
	theirs := o.Families()
	if len(theirs) == 0 {
		if _, ok := o.Capability(wire.CapCodeMultiprotocol); !ok {
			theirs = []wire.Family{wire.IPv4Unicast}
		}
	}
	var out []wire.Family
	for _, f := range s.cfg.families() {
		if slices.Contains(theirs, f) {
			out = append(out, f)
		}
	}
	return out
}

func (s *session) receiveOpen(c *conn, o *wire.Open) {
	if err := s.checkOpen(o); err != nil {
		s.drop(c, err.Notification(), "BGP Notification send", err.Error())
		s.afterDrop()
		return
	}
	// Collision detection (RFC 4271 section 6.8): the first OPEN tells
	// the peer's BGP identifier, which decides against any other
	// connection to the same peer at once, whether that one got its OPEN
	// yet (OpenSent) or not: the connection initiated by the speaker with
	// the higher identifier stays. Both speakers apply the same rule, so
	// they keep the same connection; deciding only against OpenConfirm
	// let one side establish a connection the other had just dropped.
	for _, other := range slices.Clone(s.conns) {
		if other == c {
			continue
		}
		loser := c
		if other.state != Established {
			keepOutbound := s.sp.cfg.RouterID.Compare(o.ID) > 0
			if c.outbound != keepOutbound {
				loser = c
			} else {
				loser = other
			}
		}
		n := &wire.Notification{Code: wire.CodeCease, Subcode: wire.SubcodeConnectionCollision}
		s.drop(loser, n, "Connection collision", n.String())
		if loser == c {
			s.syncState()
			return
		}
	}
	now := s.sp.clock.Now()
	c.peerOpen = o
	c.opts = wire.Negotiate(c.localOpen, o)
	c.families = s.commonFamilies(o)
	// The hold time is the smaller of the two; 0 means no hold timer and
	// no keepalives (RFC 4271 section 4.2).
	hold := min(time.Duration(o.HoldTime)*time.Second, time.Duration(c.localOpen.HoldTime)*time.Second)
	c.hold = hold
	c.holdAt = time.Time{}
	c.kaAt = time.Time{}
	if hold > 0 {
		c.keepalive = min(s.timers.Keepalive, hold/3)
		if c.keepalive <= 0 {
			c.keepalive = hold / 3
		}
		c.holdAt = now.Add(hold)
		c.kaAt = now.Add(c.keepalive)
	}
	s.send(c, &wire.Keepalive{})
	c.state = OpenConfirm
	s.syncState()
}

func (s *session) establish(c *conn) {
	now := s.sp.clock.Now()
	c.state = Established
	s.upConn = c
	s.idleHold = s.sp.cfg.IdleHold
	// Any other connection loses the collision now (RFC 4271 section 6.8).
	for _, other := range slices.Clone(s.conns) {
		if other != c {
			n := &wire.Notification{Code: wire.CodeCease, Subcode: wire.SubcodeConnectionCollision}
			s.drop(other, n, "Connection collision", n.String())
		}
	}
	s.stats.mu.Lock()
	s.stats.established++
	s.stats.changed = now
	s.stats.remoteID = c.peerOpen.ID
	s.stats.hold, s.stats.ka = c.hold, c.keepalive
	s.stats.localOpen, s.stats.peerOpen = c.localOpen, c.peerOpen
	s.stats.local, s.stats.remote = c.local, c.remote
	s.stats.families = c.families
	s.stats.eorSent, s.stats.eorRcvd = nil, nil
	s.stats.writer = c.w
	s.stats.mu.Unlock()
	s.setState(Established)
	s.sp.log.printf("%%ADJCHANGE: neighbor %s Up", s.name)
	s.sp.toRIB(ribEvent{kind: ribPeerUp, s: s, up: &peerUp{
		w: c.w, opts: c.opts, families: c.families, routerID: c.peerOpen.ID,
		local: c.local.Addr(), refresh: c.peerSupports(wire.CapCodeRouteRefresh) || c.peerSupports(wire.CapCodeRouteRefreshCisco),
	}})
}

// drop closes connection c, after sending n when non-nil. reason is the
// "Last reset" text, detail what the log adds.
func (s *session) drop(c *conn, n *wire.Notification, reason, detail string) {
	i := slices.Index(s.conns, c)
	if i < 0 {
		return
	}
	s.conns = slices.Delete(s.conns, i, i+1)
	var last []byte
	if n != nil {
		s.sp.log.printf("%%NOTIFICATION: sent to neighbor %s %d/%d (%s) %d bytes", s.name, n.Code, n.Subcode, notifName(n), len(n.Data))
		var err error
		if last, err = n.AppendTo(nil, &c.opts); err != nil {
			s.sp.log.printf("%s: cannot encode %s: %v", s.name, n.Type(), err)
		}
		s.stats.mu.Lock()
		s.stats.lastNotif = "sent " + n.String()
		s.stats.mu.Unlock()
	}
	c.w.closeAfterFlush(last, c.opts)
	now := s.sp.clock.Now()
	if c == s.upConn {
		s.upConn = nil
		s.stats.mu.Lock()
		s.stats.dropped++
		s.stats.changed = now
		s.stats.lastReset = reason
		if n != nil || detail != "" {
			s.stats.lastReset = reason + " (" + detail + ")"
		}
		s.stats.lastResetAt = now
		s.stats.writer = nil
		s.stats.mu.Unlock()
		s.sp.log.printf("%%ADJCHANGE: neighbor %s Down %s", s.name, reason)
		s.sp.toRIB(ribEvent{kind: ribPeerDown, s: s})
	} else if reason != "Connection collision" {
		s.stats.mu.Lock()
		s.stats.lastReset = reason
		if detail != "" {
			s.stats.lastReset = reason + " (" + detail + ")"
		}
		s.stats.lastResetAt = now
		s.stats.mu.Unlock()
	}
}

// afterDrop moves the session to Idle when its last connection is gone.
func (s *session) afterDrop() {
	if len(s.conns) == 0 {
		s.toIdle(true)
		return
	}
	s.syncState()
}

// afterCollision follows the loss of a collision the peer decided: the
// connection it keeps is another one of ours, open already or still being
// dialled; when neither, dial again at once, without idle hold.
func (s *session) afterCollision() {
	switch {
	case len(s.conns) > 0:
		s.syncState()
	case s.dialCancel != nil:
		// The ConnectRetry timer stopped when the lost connection came;
		// it guards the dial under way again.
		s.connectAt = s.sp.clock.Now().Add(s.jitter(s.timers.ConnectRetry))
		s.setState(Connect)
	default:
		s.start()
	}
}

// toIdle enters Idle; after an error the idle hold timer restarts the
// session later, doubling on each failure (RFC 4271 section 8.1.1,
// DampPeerOscillations).
func (s *session) toIdle(hold bool) {
	s.cancelDial()
	s.connectAt = time.Time{}
	s.idleUntil = time.Time{}
	s.setState(Idle)
	if s.adminDown || !hold {
		return
	}
	s.idleUntil = s.sp.clock.Now().Add(s.idleHold)
	s.idleHold = min(s.idleHold*2, maxIdleHold)
}

// stopAll closes every connection, with n on those past OpenSent.
func (s *session) stopAll(n *wire.Notification, reason string) {
	for _, c := range slices.Clone(s.conns) {
		s.drop(c, n, reason, n.String())
	}
}

func (s *session) timersDue() {
	now := s.sp.clock.Now()
	for _, c := range slices.Clone(s.conns) {
		if !c.holdAt.IsZero() && !now.Before(c.holdAt) {
			// RFC 4271 section 6.5: Hold Timer Expired, 4/0.
			n := &wire.Notification{Code: wire.CodeHoldTimerExpired}
			s.drop(c, n, "BGP Notification send", n.String())
			s.afterDrop()
			continue
		}
		if !c.kaAt.IsZero() && !now.Before(c.kaAt) && c.state >= OpenConfirm {
			s.send(c, &wire.Keepalive{})
			c.kaAt = now.Add(c.keepalive)
		}
	}
	if !s.idleUntil.IsZero() && !now.Before(s.idleUntil) && s.state == Idle {
		s.start()
	}
	if !s.connectAt.IsZero() && !now.Before(s.connectAt) {
		switch s.state {
		case Connect, Active:
			if s.cfg.Passive {
				s.connectAt = time.Time{}
				break
			}
			s.setState(Connect)
			s.dial()
		default:
			s.connectAt = time.Time{}
		}
	}
}

// shutdown runs when the speaker closes: Cease/Administrative Shutdown to
// every connection past OpenSent, and wait (briefly) for it to be written.
func (s *session) shutdown() {
	s.cancelDial()
	var ws []*writer
	for _, c := range slices.Clone(s.conns) {
		ws = append(ws, c.w)
		n := &wire.Notification{Code: wire.CodeCease, Subcode: wire.SubcodeAdminShutdown}
		s.drop(c, n, "Admin. shutdown", n.String())
	}
	for _, w := range ws {
		select {
		case <-w.done:
		case <-time.After(3 * time.Second):
			w.abort()
		}
	}
	s.setState(Idle)
}

// publish tells waiters something may have changed.
func (s *session) publish() { s.sp.changed() }
