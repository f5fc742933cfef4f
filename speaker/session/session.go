package session

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"lab/speaker/clock"
	"lab/speaker/peer"
	"lab/speaker/ribwire"
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

// input is what the session goroutine receives: from the engine (new
// connections, commands) and its dialling goroutine on the session's
// inputs, from its connections' readers on its reads.
type input struct {
	kind     inputKind
	nc       net.Conn
	outbound bool
	dialID   uint64
	c        *conn
	msg      wire.Message
	upd      *ribwire.Update
	err      error
	on       bool
	notif    *wire.Notification
	text     string
	cfg      *peer.Config
	// raw is a received message's copy for the observer, encoded with
	// rawOpts (Engine.Observe).
	raw     []byte
	rawOpts wire.Options
}

type inputKind uint8

const (
	inConn        inputKind = iota + 1 // a connection, dialled (outbound) or accepted
	inDialFail                         // the dial failed
	inRead                             // a message or a read error from a connection
	inShutdown                         // administrative shutdown on (on) or off
	inHardReset                        // clear bgp ADDR
	inSoftReset                        // clear bgp ADDR soft
	inKick                             // the peer's address became reachable
	inTeardown                         // end the session with notif, and keep it down
	inReconfigure                      // a new configuration (cfg), and a new session when on
)

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
	// iface and ibgp are the session's when the connection came: what its
	// reader decodes with (the session's own may change meanwhile).
	iface string
	ibgp  bool
	// unread counts the messages (or the read error) the reader has read
	// and the session goroutine has not taken yet: while there are, the
	// peer is known to be alive, whatever the hold timer says (timersDue).
	unread atomic.Int32
}

func (c *conn) peerSupports(code wire.CapabilityCode) bool {
	if c.peerOpen == nil {
		return false
	}
	_, ok := c.peerOpen.Capability(code)
	return ok
}

// session is one configured peer. Its goroutine (run) owns the FSM state,
// the connections and the timers; stats is shared with status readers
// under its mutex.
type session struct {
	e      *Engine
	id     peer.ID
	addr   netip.Addr // the peer's address: fixed
	cfg    peer.Config
	name   string // peer address, as FRR names neighbours
	ibgp   bool
	timers peer.Timers
	inputs chan input
	// reads are the messages of the session's connections, from their
	// readers. The session goroutine stops taking them while it holds
	// maxPending events the decision engine has no room for: a reader
	// then waits, and TCP holds the peer back.
	reads chan input
	trace *trace
	stats stats
	// pendingN is len(pending), for InQ.
	pendingN atomic.Int32

	// Owned by the session goroutine.
	state     State
	conns     []*conn
	adminDown bool
	connectAt time.Time // ConnectRetry timer; zero when stopped
	// lastCollision is when the peer last dropped one of our connections
	// with Cease/Connection Collision Resolution.
	lastCollision time.Time
	idleUntil     time.Time // IdleHold timer; zero when not holding
	idleHold      time.Duration
	dialCancel    context.CancelFunc
	dialID        uint64
	upConn        *conn
	// heldDown keeps the session Idle after a Teardown, until cleared.
	heldDown bool
	// pending are the events for the decision engine that its queue had
	// no room for, oldest first (deliver).
	pending []peer.Event
}

// maxPending is the number of events a session holds for a busy decision
// engine before it stops taking its connections' messages. The session
// goroutine never blocks on the decision engine: however long it is busy,
// the session's timers run and its KEEPALIVEs go out on time.
const maxPending = 4

// stats are a session's counters and status, written by the session and
// writer goroutines and read by Status.
type stats struct {
	mu          sync.Mutex
	state       State
	sent, rcvd  [wire.TypeRouteRefresh + 1]uint64 // by wire.Type; 0 unused
	changed     time.Time                         // last transition into or out of Established
	established int
	dropped     int
	lastReset   Reset
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
	lastNotif   LastNotification
	adminDown   bool
	heldDown    bool
	timers      peer.Timers
}

// peerTimers returns the timers of a peer: its own, else the engine's.
func peerTimers(defaults peer.Timers, pc *peer.Config) peer.Timers {
	t := defaults
	if pc.Timers != nil {
		t = *pc.Timers
	}
	if t.ConnectRetry <= 0 {
		t.ConnectRetry = peer.DefaultTimers.ConnectRetry
	}
	return t
}

func newSession(e *Engine, id peer.ID, pc peer.Config) *session {
	t := peerTimers(e.cfg.Timers, &pc)
	s := &session{
		e:         e,
		id:        id,
		addr:      pc.PeerAddr,
		cfg:       pc,
		name:      pc.PeerAddr.String(),
		ibgp:      pc.PeerAS == e.cfg.AS,
		timers:    t,
		inputs:    make(chan input, 4),
		reads:     make(chan input, 16),
		trace:     newTrace(e.cfg.TraceLen, pc.PeerAddr.String()),
		adminDown: pc.Shutdown,
		idleHold:  e.cfg.IdleHold,
	}
	s.stats.changed = e.clock.Now()
	s.stats.adminDown = pc.Shutdown
	s.stats.timers = t
	return s
}

// run is the session goroutine. It never blocks but in this select: the
// events the decision engine's queue has no room for wait in pending,
// and go out as room comes, while the timers and the commands go on.
func (s *session) run(ctx context.Context) {
	defer s.e.wg.Done()
	timer := s.e.clock.NewTimer(time.Hour)
	defer timer.Stop()
	if !s.adminDown {
		s.fsm(AutomaticStart, nil, input{})
	}
	for {
		s.arm(timer)
		reads := s.reads
		if len(s.pending) >= maxPending {
			reads = nil
		}
		var events chan<- peer.Event
		var next peer.Event
		if len(s.pending) > 0 {
			events, next = s.e.cfg.Events, s.pending[0]
		}
		select {
		case <-ctx.Done():
			s.shutdown()
			return
		case in := <-s.inputs:
			s.dispatch(in)
		case in := <-reads:
			s.dispatch(in)
		case events <- next:
			n := copy(s.pending, s.pending[1:])
			s.pending[n] = peer.Event{}
			s.pending = s.pending[:n]
			s.pendingN.Store(int32(n))
		case <-timer.C():
			s.timersDue()
		}
		s.e.changed()
	}
}

// deliver hands ev to the decision engine, or keeps it (in order) until
// its queue has room.
func (s *session) deliver(ev peer.Event) {
	if len(s.pending) == 0 {
		select {
		case s.e.cfg.Events <- ev:
			return
		default:
		}
	}
	s.pending = append(s.pending, ev)
	s.pendingN.Store(int32(len(s.pending)))
}

// releasePending gives back the references of the events never
// delivered (the speaker is closing).
func (s *session) releasePending() {
	for i := range s.pending {
		s.pending[i].Update.Release(s.e.in)
		s.pending[i] = peer.Event{}
	}
	s.pending = s.pending[:0]
	s.pendingN.Store(0)
}

// arm sets the timer to the earliest deadline of the session.
func (s *session) arm(t clock.Timer) {
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
	t.Reset(next.Sub(s.e.clock.Now()))
}

// timersDue turns the timers that are due into their FSM events.
func (s *session) timersDue() {
	now := s.e.clock.Now()
	for _, c := range slices.Clone(s.conns) {
		if !slices.Contains(s.conns, c) {
			continue // dropped by an earlier connection's event
		}
		if !c.holdAt.IsZero() && !now.Before(c.holdAt) {
			if c.unread.Load() > 0 {
				// The peer's last message waits for us, not the other
				// way round: our decision engine is behind, and the
				// reader with it. The time we keep the peer's messages
				// waiting does not count against the peer.
				c.holdAt = now.Add(max(c.hold, time.Second))
			} else {
				s.fsm(HoldTimerExpires, c, input{})
				continue
			}
		}
		if !c.kaAt.IsZero() && !now.Before(c.kaAt) {
			s.fsm(KeepaliveTimerExpires, c, input{})
		}
	}
	if !s.idleUntil.IsZero() && !now.Before(s.idleUntil) {
		s.idleUntil = time.Time{}
		s.fsm(IdleHoldTimerExpires, nil, input{})
	}
	if !s.connectAt.IsZero() && !now.Before(s.connectAt) {
		s.connectAt = time.Time{}
		s.fsm(ConnectRetryTimerExpires, nil, input{})
	}
}

func (s *session) jitter(d time.Duration) time.Duration {
	// RFC 4271 section 10: jitter timers by a random factor in [0.75, 1].
	return time.Duration(float64(d) * (0.75 + 0.25*rand.Float64()))
}

// start is what ManualStart and AutomaticStart do in Idle (RFC 4271
// section 8.2.2): an active peer dials (Connect), a passive one waits
// (Active).
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
		s.connectAt = s.e.clock.Now().Add(s.cfg.DialDelay)
		return
	}
	s.setState(Connect)
	s.dial()
}

// dial starts a TCP connection to the peer, and the ConnectRetry timer
// that guards it.
func (s *session) dial() {
	s.cancelDial()
	s.connectAt = s.e.clock.Now().Add(s.jitter(s.timers.ConnectRetry))
	ctx, cancel := context.WithCancel(s.e.ctx)
	s.dialCancel = cancel
	s.dialID++
	id := s.dialID
	cfg := s.cfg
	go func() {
		nc, err := s.e.dialer.Dial(ctx, &cfg)
		in := input{kind: inConn, nc: nc, outbound: true, dialID: id}
		if err != nil {
			in = input{kind: inDialFail, err: err, dialID: id}
		}
		select {
		case s.inputs <- in:
		case <-s.e.ctx.Done():
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
	s.observeState(st)
	s.e.cfg.OnState(s.id, st)
}

// syncState derives the session state from its connections: the most
// advanced one's.
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

// connection takes a new TCP connection (TcpConnectionConfirmed or
// TcpCRAcked): it becomes the session's connection, or a second one whose
// OPEN decides a collision. A connection that may not be taken is
// closed: the session is administratively down, held down after a
// teardown, or already has two, or is Established (then Cease/Connection
// Collision Resolution, RFC 4271 section 6.8); a dial of ours that
// completes while the session holds after an error too.
func (s *session) connection(nc net.Conn, outbound bool) {
	refuse := s.adminDown || s.heldDown || len(s.conns) >= 2 || s.upConn != nil
	if !refuse && s.state == Idle && !s.idleUntil.IsZero() {
		if outbound {
			refuse = true // a dial of before the hold
		} else {
			// The idle hold damps our own reconnections, not the
			// peer's: two speakers that each refused the other's
			// connection while holding would double their holds in
			// turn, for minutes (RFC 4271 section 8.1.1 leaves
			// DampPeerOscillations to the implementation). The peer's
			// connection ends the hold.
			s.idleUntil = time.Time{}
		}
	}
	if refuse {
		if s.upConn != nil && !outbound {
			s.refuseCollision(nc)
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
	now := s.e.clock.Now()
	c := &conn{nc: nc, outbound: outbound, state: OpenSent,
		local: addrPort(nc.LocalAddr()), remote: addrPort(nc.RemoteAddr()), iface: s.cfg.Interface, ibgp: s.ibgp}
	c.localOpen = s.e.localOpen(&s.cfg, s.timers)
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
	now := s.e.clock.Now()
	t := wire.Type(m.b[wire.HeaderLen-1])
	s.stats.mu.Lock()
	if int(t) < len(s.stats.sent) {
		s.stats.sent[t]++
	}
	s.stats.lastWrite = now
	s.stats.mu.Unlock()
	s.trace.add(Sent, now, m.b, m.o, nil)
	s.observeMsg(Sent, now, m.b, m.o)
	if t == wire.TypeNotification {
		// The last message of a session, often counted after the
		// session has gone Idle: wake waiters again, as the session's
		// own changes do.
		s.e.changed()
	}
}

// send encodes and queues m on c.
func (s *session) send(c *conn, m wire.Message) {
	b, err := m.AppendTo(nil, &c.opts)
	if err != nil {
		s.e.log.Printf("%s: cannot encode %s: %v", s.name, m.Type(), err)
		return
	}
	c.w.send(b, c.opts)
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
	if !o.ID.Is4() || o.ID.IsUnspecified() || (s.ibgp && o.ID == s.e.cfg.RouterID) {
		return &wire.Error{Code: wire.CodeOpenMessage, Subcode: wire.SubcodeBadBGPIdentifier,
			Data: o.ID.AsSlice(), Reason: fmt.Sprintf("BGP identifier %v", o.ID)}
	}
	if len(s.commonFamilies(o)) == 0 {
		var caps []wire.Capability
		for _, f := range s.cfg.AddressFamilies() {
			caps = append(caps, wire.CapMultiprotocol(f))
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
	for _, f := range s.cfg.AddressFamilies() {
		if slices.Contains(theirs, f) {
			out = append(out, f)
		}
	}
	return out
}

// receiveOpen is BGPOpen in OpenSent: the OPEN's checks, the collision
// it may decide, then the negotiated hold time and a KEEPALIVE
// (OpenConfirm).
func (s *session) receiveOpen(c *conn, o *wire.Open) {
	if err := s.checkOpen(o); err != nil {
		s.drop(c, err.Notification(), Reset{Kind: NotificationSent, Detail: err.Error()})
		s.afterDrop()
		return
	}
	if s.collideOnOpen(c, o) {
		return
	}
	now := s.e.clock.Now()
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

// establish is KeepAliveMsg in OpenConfirm: the session is Established,
// and the decision engine hears of it with the session's sink.
func (s *session) establish(c *conn) {
	now := s.e.clock.Now()
	c.state = Established
	s.upConn = c
	s.idleHold = s.e.cfg.IdleHold
	s.collideOnEstablish(c)
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
	s.e.log.Printf("%%ADJCHANGE: neighbor %s Up", s.name)
	s.deliver(peer.Event{Kind: peer.Up, Peer: s.id, Up: &peer.Established{
		Out: &sink{s: s, w: c.w, opts: c.opts}, Options: c.opts, Families: c.families,
		RouterID: c.peerOpen.ID, Local: c.local.Addr(),
	}})
}

// sink is an Established session's peer.Sink: its connection's writer
// and the options the session negotiated. Its methods run on the decision
// engine's goroutine; the writer keeps the contract (a closed queue drops
// what comes).
type sink struct {
	s    *session
	w    *writer
	opts wire.Options
}

func (k *sink) Queue(b []byte) { k.w.queue(b, k.opts) }

func (k *sink) Flush() { k.w.flush() }

func (k *sink) EndOfRIB(f wire.Family) {
	b, err := wire.NewEndOfRIB(f.AFI, f.SAFI).AppendTo(nil, &k.opts)
	if err != nil {
		return // an End-of-RIB always encodes
	}
	if !k.w.queue(b, k.opts) {
		return
	}
	st := &k.s.stats
	st.mu.Lock()
	if st.writer == k.w {
		st.eorSent = append(st.eorSent, f)
	}
	st.mu.Unlock()
}

// deliverUpdate hands a received UPDATE to the decision engine, noting
// the End-of-RIB markers it carries.
func (s *session) deliverUpdate(u *ribwire.Update) {
	if u == nil {
		return
	}
	if u.Err != nil {
		s.e.log.Printf("%s: UPDATE error: %v", s.name, u.Err)
	}
	for _, p := range u.Parts {
		if p.EndOfRIB && slices.Contains(s.upConn.families, p.Family) {
			s.stats.mu.Lock()
			if !slices.Contains(s.stats.eorRcvd, p.Family) {
				s.stats.eorRcvd = append(s.stats.eorRcvd, p.Family)
			}
			s.stats.mu.Unlock()
		}
	}
	s.deliver(peer.Event{Kind: peer.Update, Peer: s.id, Update: u})
}

// drop closes connection c, after sending n when non-nil; why is the
// reason recorded when c was the Established one (or any other reason
// than a lost collision).
func (s *session) drop(c *conn, n *wire.Notification, why Reset) {
	i := slices.Index(s.conns, c)
	if i < 0 {
		return
	}
	s.conns = slices.Delete(s.conns, i, i+1)
	var last []byte
	if n != nil {
		s.e.log.Printf("%%NOTIFICATION: sent to neighbor %s %d/%d (%s) %s", s.name, n.Code, n.Subcode, notifName(n), notifData(n))
		var err error
		if last, err = n.AppendTo(nil, &c.opts); err != nil {
			s.e.log.Printf("%s: cannot encode %s: %v", s.name, n.Type(), err)
		}
		s.stats.mu.Lock()
		s.stats.lastNotif = LastNotification{Sent: true, Notification: n}
		s.stats.mu.Unlock()
		why.Notification = n
	}
	c.w.closeAfterFlush(last, c.opts)
	now := s.e.clock.Now()
	if c == s.upConn {
		s.upConn = nil
		s.stats.mu.Lock()
		s.stats.dropped++
		s.stats.changed = now
		s.stats.lastReset, s.stats.lastResetAt = why, now
		s.stats.writer = nil
		s.stats.mu.Unlock()
		s.e.log.Printf("%%ADJCHANGE: neighbor %s Down %s", s.name, why.Kind)
		s.deliver(peer.Event{Kind: peer.Down, Peer: s.id})
	} else if why.Kind != Collision {
		s.stats.mu.Lock()
		s.stats.lastReset, s.stats.lastResetAt = why, now
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

// toIdle enters Idle; after an error the IdleHold timer restarts the
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
	s.idleUntil = s.e.clock.Now().Add(s.idleHold)
	s.idleHold = min(s.idleHold*2, maxIdleHold)
}

// stopAll closes every connection, with n.
func (s *session) stopAll(n *wire.Notification, kind ResetKind) {
	for _, c := range slices.Clone(s.conns) {
		s.drop(c, n, Reset{Kind: kind})
	}
}

// shutdown runs when the speaker closes: Cease/Administrative Shutdown to
// every connection, and wait (briefly) for it to be written.
func (s *session) shutdown() {
	s.cancelDial()
	var ws []*writer
	for _, c := range slices.Clone(s.conns) {
		ws = append(ws, c.w)
		s.drop(c, &wire.Notification{Code: wire.CodeCease, Subcode: wire.SubcodeAdminShutdown}, Reset{Kind: AdminShutdown})
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

// notifName names a NOTIFICATION as FRR's log does: "Hold Timer Expired",
// "OPEN Message Error/Bad Peer AS".
func notifName(n *wire.Notification) string {
	sub := wire.SubcodeName(n.Code, n.Subcode)
	if sub == "" || n.Subcode == 0 {
		return wire.CodeName(n.Code)
	}
	return wire.CodeName(n.Code) + "/" + sub
}

// notifData ends a NOTIFICATION's log line as FRR's does: the shutdown
// communication in quotes when it has one (RFC 9003), so that the peer's
// log says why the session went, else the data's length.
func notifData(n *wire.Notification) string {
	if msg, ok := n.ShutdownMessage(); ok {
		return strconv.Quote(msg)
	}
	return fmt.Sprintf("%d bytes", len(n.Data))
}

func addrPort(a net.Addr) netip.AddrPort {
	if a == nil {
		return netip.AddrPort{}
	}
	ap, err := netip.ParseAddrPort(a.String())
	if err != nil {
		return netip.AddrPort{}
	}
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
}
