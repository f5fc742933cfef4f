// Package session is the speaker's session engine: for every configured
// peer, the BGP finite state machine (RFC 4271 section 8) with its timers,
// its TCP connections (dialled and accepted, TCP MD5), collision detection
// (section 6.8), the reading, decoding and writing of messages, and a
// message trace. It knows nothing of routes: what the decision engine
// must hear (a session up or down, an UPDATE, a refresh request) goes out
// as peer.Events on Config.Events, and what the decision engine
// sends comes in through the peer.Sink an Established session hands it.
//
// Goroutines. One per session owns its FSM state, connections and timers
// (session.run); one reader per connection decodes messages, and a writer
// per connection runs while it has something to write; one per listener
// accepts connections. A session's counters are shared with Status
// readers under a mutex.
package session

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"lab/speaker/clock"
	"lab/speaker/internal/bgplog"
	"lab/speaker/peer"
	"lab/speaker/rib"
	"lab/speaker/wire"
)

// Config is what the session engine needs. The speaker checked it.
type Config struct {
	Name     string
	AS       uint32
	RouterID netip.Addr
	// Namespace is the path of the network namespace the engine dials and
	// listens in; "" for the caller's.
	Namespace string
	Peers     []peer.Config
	// Timers are every peer's unless its own are set; IdleHold is the
	// first idle hold after an error (it doubles up to 60 s).
	Timers   peer.Timers
	IdleHold time.Duration
	// TraceLen is the number of messages kept per peer for its trace.
	TraceLen int
	// Port is the TCP port to listen on and dial.
	Port int
	// Dialer replaces the namespace dialer (tests); then no listener is
	// opened either, and connections come through HandleConn.
	Dialer   Dialer
	Clock    clock.Clock
	Log      *bgplog.Log
	Interner *rib.Interner
	// Events is the decision engine's queue of peer events; whoever
	// takes an Update event takes over its update's references. A
	// session never blocks on it: while it is full, the session keeps a
	// few events and then stops reading its connections (back-pressure
	// through TCP), but its timers and commands go on. Events never sent
	// are given back at Close.
	Events chan<- peer.Event
	// OnState is called by a session's goroutine when the session changes
	// state; OnChange after anything a session did (waiters look again).
	OnState  func(peer.ID, State)
	OnChange func()
}

// Engine is one speaker's session engine.
type Engine struct {
	cfg    Config
	clock  clock.Clock
	log    *bgplog.Log
	in     *rib.Interner
	port   int
	dialer Dialer

	sessions []*session
	byAddr   map[netip.Addr]*session

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	refused atomic.Int64
	// observe, when set (Observe, before Start), sees every message and
	// state change.
	observe func(Observation)

	mu        sync.Mutex // guards the fields below
	listeners []net.Listener
	listening bool
	started   bool
	// passwords are the peers' TCP MD5 keys the listeners have.
	passwords []string
}

// New builds the engine's sessions; nothing runs and no kernel object is
// touched until Listen or Start.
func New(cfg Config) *Engine {
	e := &Engine{
		cfg:    cfg,
		clock:  cfg.Clock,
		log:    cfg.Log,
		in:     cfg.Interner,
		port:   cfg.Port,
		dialer: cfg.Dialer,
		byAddr: make(map[netip.Addr]*session),
	}
	if e.dialer == nil {
		e.dialer = nsDialer{e}
	}
	e.ctx, e.cancel = context.WithCancel(context.Background())
	for i, p := range cfg.Peers {
		e.passwords = append(e.passwords, p.Password)
		s := newSession(e, peer.ID(i), p)
		e.sessions = append(e.sessions, s)
		e.byAddr[p.PeerAddr] = s
	}
	return e
}

// Listen opens the TCP listeners in the engine's namespace, one per
// address family of its peers' addresses, with the MD5 keys of its peers.
// The daemon calls it for every router before any speaker starts, so that
// the first connection of every session finds its peer listening. Start
// calls it if needed.
func (e *Engine) Listen() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.listening {
		return nil
	}
	if e.cfg.Dialer == nil {
		// A custom Dialer means connections come from the test.
		ls, err := e.listen()
		if err != nil {
			return err
		}
		e.listeners = ls
	}
	e.listening = true
	return nil
}

// Start starts the sessions and the listeners (opening them if Listen was
// not called).
func (e *Engine) Start() error {
	if err := e.Listen(); err != nil {
		return err
	}
	e.mu.Lock()
	e.started = true
	for _, l := range e.listeners {
		e.wg.Add(1)
		go e.accept(l)
	}
	e.mu.Unlock()
	for _, s := range e.sessions {
		e.wg.Add(1)
		go s.run(e.ctx)
	}
	return nil
}

// CloseListeners closes the listeners: no connection is accepted any
// more.
func (e *Engine) CloseListeners() {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, l := range e.listeners {
		l.Close()
	}
	e.listeners = nil
}

// Close sends Cease/Administrative Shutdown on every connection, stops
// every goroutine and returns when they are gone. The updates left in the
// sessions' queues are given back.
func (e *Engine) Close() {
	e.CloseListeners()
	e.cancel()
	e.wg.Wait()
	for _, s := range e.sessions {
		s.releasePending()
		for drained := false; !drained; {
			select {
			case in := <-s.inputs:
				in.upd.Release(e.in)
			case in := <-s.reads:
				in.upd.Release(e.in)
			default:
				drained = true
			}
		}
	}
}

// changed tells waiters something may have changed.
func (e *Engine) changed() { e.cfg.OnChange() }

// accept is a listener's goroutine: it hands connections from configured
// peers to their session and refuses every other.
func (e *Engine) accept(l net.Listener) {
	defer e.wg.Done()
	var delay time.Duration
	for {
		c, err := l.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// Out of descriptors (EMFILE) or kernel memory: the
			// connection stays in the backlog, and accepting again at
			// once would fail again, as fast as the processor goes (a
			// lab near its limit of open files logged 20,000 lines in a
			// second). Back off, 5 ms doubling up to 1 s, in real time:
			// it waits for the kernel, not for a protocol timer.
			delay = min(max(2*delay, 5*time.Millisecond), time.Second)
			e.log.Printf("accept: %v (again in %v)", err, delay)
			select {
			case <-time.After(delay):
			case <-e.ctx.Done():
				return
			}
			continue
		}
		delay = 0
		ap, _ := netip.ParseAddrPort(c.RemoteAddr().String())
		e.HandleConn(c, ap.Addr().Unmap().WithZone(""))
	}
}

// HandleConn gives the engine an incoming connection from remote, as its
// listener does: a configured peer's session takes it, anything else is
// refused (closed at once). Tests use it with net.Pipe.
func (e *Engine) HandleConn(c net.Conn, remote netip.Addr) {
	s := e.byAddr[remote]
	if s == nil {
		e.log.Printf("%%ADJCHANGE: connection from unknown peer %v refused", remote)
		e.refused.Add(1)
		c.Close()
		return
	}
	select {
	case s.inputs <- input{kind: inConn, nc: c}:
	case <-e.ctx.Done():
		c.Close()
	}
}

// Refused returns the number of connections refused because they came
// from no configured peer.
func (e *Engine) Refused() int64 { return e.refused.Load() }

// Peer returns the identifier of the peer with address a.
func (e *Engine) Peer(a netip.Addr) (peer.ID, bool) {
	s, ok := e.byAddr[a]
	if !ok {
		return 0, false
	}
	return s.id, true
}

func (e *Engine) send(id peer.ID, in input) error {
	if int(id) < 0 || int(id) >= len(e.sessions) {
		return fmt.Errorf("no peer %d", id)
	}
	select {
	case e.sessions[id].inputs <- in:
		return nil
	case <-e.ctx.Done():
		return errors.New("closed")
	}
}

// Reset resets the session. Hard: Cease/Administrative Reset and a new
// session. Soft: ROUTE-REFRESH to the peer for every family, and every
// route advertised again (RFC 2918).
func (e *Engine) Reset(id peer.ID, hard bool) error {
	if hard {
		return e.send(id, input{kind: inHardReset})
	}
	return e.send(id, input{kind: inSoftReset})
}

// SetShutdown shuts the session down administratively (Cease/
// Administrative Shutdown, with msg as its RFC 8203 shutdown
// communication when not ""; it stays Idle), or lets it start again.
func (e *Engine) SetShutdown(id peer.ID, down bool, msg string) error {
	return e.send(id, input{kind: inShutdown, on: down, text: msg})
}

// Kick tells the session its peer's address became reachable: a session
// waiting in Active for its ConnectRetry timer dials at once. It never
// blocks (a session with inputs waiting has something to do anyway).
func (e *Engine) Kick(id peer.ID) {
	select {
	case e.sessions[id].inputs <- input{kind: inKick}:
	default:
	}
}

// Reconfigure gives the peer a new configuration (its address stays).
// With reset, the session starts again at once: Cease/Administrative
// Reset if it was up, and no idle hold (a student who fixed a wrong
// remote-as does not wait for the back-off). A new password takes effect
// on the listeners at once.
func (e *Engine) Reconfigure(id peer.ID, cfg peer.Config, reset bool) error {
	if cfg.PeerAddr != e.sessions[id].addr {
		return fmt.Errorf("peer %d: the address may not change", id)
	}
	e.mu.Lock()
	old := e.passwords[id]
	e.passwords[id] = cfg.Password
	e.mu.Unlock()
	if old != cfg.Password {
		if err := e.setListenerKey(cfg.PeerAddr, cfg.Password); err != nil {
			return err
		}
	}
	return e.send(id, input{kind: inReconfigure, cfg: &cfg, on: reset})
}

// setListenerKey sets (or, with "", removes) the TCP MD5 key of peer a
// on the listener of its family: a changed password is asked of the
// peer's next connection.
func (e *Engine) setListenerKey(a netip.Addr, key string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, l := range e.listeners {
		tl, ok := l.(*net.TCPListener)
		if !ok {
			continue
		}
		la, _ := netip.ParseAddrPort(tl.Addr().String())
		if la.Addr().Is4() != a.Is4() {
			continue
		}
		rc, err := tl.SyscallConn()
		if err != nil {
			return err
		}
		var serr error
		if err := rc.Control(func(fd uintptr) { serr = setMD5(int(fd), a, key) }); err != nil {
			return err
		}
		if serr != nil {
			return serr
		}
	}
	return nil
}

// Teardown ends the peer's session with NOTIFICATION n and keeps it Idle
// until it is cleared (`clear bgp`): what a session that exceeded its
// maximum number of prefixes gets (RFC 4486). It never blocks.
func (e *Engine) Teardown(id peer.ID, n *wire.Notification) {
	go e.send(id, input{kind: inTeardown, notif: n})
}

// Trace returns the message trace of the peer, oldest first.
func (e *Engine) Trace(id peer.ID) []TraceEntry { return e.sessions[id].trace.entries() }

// FollowTrace delivers the peer's messages as they are sent and received,
// until stop is called. A follower that does not keep up loses messages.
func (e *Engine) FollowTrace(id peer.ID) (<-chan TraceEntry, func()) {
	return e.sessions[id].trace.follow()
}

// localOpen builds the OPEN the engine sends to a peer: as the seed's
// Quagga, multiprotocol for each family, route refresh (codes 128 and 2),
// 4-octet AS, and graceful restart with restart time 120 and no families
// (helper only, for End-of-RIB).
func (e *Engine) localOpen(p *peer.Config, t peer.Timers) *wire.Open {
	var caps []wire.Capability
	for _, f := range p.AddressFamilies() {
		caps = append(caps, wire.CapMultiprotocol(f))
	}
	caps = append(caps,
		wire.CapRouteRefresh{CapCode: wire.CapCodeRouteRefreshCisco},
		wire.CapRouteRefresh{CapCode: wire.CapCodeRouteRefresh},
		wire.CapAS4{AS: e.cfg.AS},
		wire.CapGracefulRestart{Time: 120},
	)
	return wire.NewOpen(e.cfg.AS, uint16(t.Hold/time.Second), e.cfg.RouterID, caps...)
}

// Status is a session's state and counters, as `show bgp neighbors`
// shows them.
type Status struct {
	State     State
	AdminDown bool
	// HeldDown: a teardown (maximum prefixes) keeps the session Idle
	// until it is cleared.
	HeldDown bool
	// Timers are the configured ones.
	Timers peer.Timers
	// Sent and Rcvd count messages by wire.Type.
	Sent, Rcvd [wire.TypeRouteRefresh + 1]uint64
	// Since is the last transition into or out of Established (or the
	// start).
	Since time.Time
	// Established and Dropped count sessions that reached Established and
	// those that left it.
	Established, Dropped int
	// LastReset is why the session last went down (Kind ResetNone when it
	// never did).
	LastReset   Reset
	LastResetAt time.Time
	// LastRead and LastWrite are when a message was last received or
	// sent; zero when never.
	LastRead, LastWrite time.Time
	LastNotification    LastNotification
	// InQ counts the inputs waiting for the session goroutine, OutQ the
	// messages waiting to be written.
	InQ, OutQ int
	// What was negotiated, while Established.
	RemoteID            netip.Addr
	Hold, Keepalive     time.Duration
	LocalOpen, PeerOpen *wire.Open
	Local, Remote       netip.AddrPort
	Families            []wire.Family
	EndOfRIBSent        []wire.Family
	EndOfRIBReceived    []wire.Family
}

// Status returns the session's status. It takes the session's lock only:
// it costs nothing however busy the speaker is.
func (e *Engine) Status(id peer.ID) Status {
	s := e.sessions[id]
	st := &s.stats
	st.mu.Lock()
	out := Status{
		State: st.state, AdminDown: st.adminDown, HeldDown: st.heldDown, Timers: st.timers, Sent: st.sent, Rcvd: st.rcvd,
		Since: st.changed, Established: st.established, Dropped: st.dropped,
		LastReset: st.lastReset, LastResetAt: st.lastResetAt, LastRead: st.lastRead, LastWrite: st.lastWrite,
		LastNotification: st.lastNotif,
	}
	w := st.writer
	if st.state == Established {
		out.RemoteID, out.Hold, out.Keepalive = st.remoteID, st.hold, st.ka
		out.LocalOpen, out.PeerOpen = st.localOpen, st.peerOpen
		out.Local, out.Remote = st.local, st.remote
		out.Families = st.families
		out.EndOfRIBSent = append([]wire.Family(nil), st.eorSent...)
		out.EndOfRIBReceived = append([]wire.Family(nil), st.eorRcvd...)
	}
	st.mu.Unlock()
	if w != nil {
		out.OutQ = w.queued()
	}
	out.InQ = s.inQ()
	return out
}

// inQ is the number of inputs waiting for the session goroutine, and of
// events it holds for the decision engine.
func (s *session) inQ() int { return len(s.inputs) + len(s.reads) + int(s.pendingN.Load()) }

// Counters are the few figures of a session that tell whether it has
// converged: what the shell's `wait` polls.
type Counters struct {
	State State
	// EndOfRIBReceived counts the families whose End-of-RIB arrived in
	// this session.
	EndOfRIBReceived int
	InQ, OutQ        int
	// UpdatesSent and UpdatesRcvd count the UPDATEs of the Established
	// session's connection (0 when there is none): the peer's own
	// counters of the same connection mirror them once nothing is in
	// flight, which counts kept over every connection would not after a
	// connection lost some.
	UpdatesSent, UpdatesRcvd uint64
	// Down: the session is kept down on purpose (administratively, or
	// held down after a maximum-prefix teardown until cleared).
	Down bool
}

// Counters returns the session's counters, without allocating: it costs
// a lock or two however busy the speaker is.
func (e *Engine) Counters(id peer.ID) Counters {
	s := e.sessions[id]
	st := &s.stats
	st.mu.Lock()
	c := Counters{State: st.state, Down: st.adminDown || st.heldDown}
	if st.state == Established {
		c.EndOfRIBReceived = len(st.eorRcvd)
	}
	w := st.writer
	st.mu.Unlock()
	if w != nil {
		c.OutQ = w.queued()
		c.UpdatesSent, c.UpdatesRcvd = w.updatesSent.Load(), w.updatesRcvd.Load()
	}
	c.InQ = s.inQ()
	return c
}
