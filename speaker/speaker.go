// Package speaker is the lab's embedded BGP-4 speaker (RFC 4271): one
// Speaker per router, running its sessions, its RIBs and its kernel FIB
// inside the router's network namespace, with show snapshots in FRR's
// terms.
//
// A Speaker is two engines, as OpenBGPD splits a speaker into its session
// engine and its route decision engine, in one process: package session
// (FSM, timers, connections, trace) and package decision (RIBs, decision
// process, advertisement, FIB). They do not import each other; they meet
// at the typed events and the sink of package peer, which this package
// wires together. The show code here reads both: session status from the
// session engine (under a session's lock), tables from the decision
// engine (on its goroutine).
//
// Kernel. Sockets and netlink handles are opened on OS threads locked into
// the router's namespace (Config.Namespace); a Speaker never changes the
// namespace of a thread other code runs on.
package speaker

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"lab/internal/nsthread"
	"lab/speaker/clock"
	"lab/speaker/decision"
	"lab/speaker/fib"
	"lab/speaker/internal/bgplog"
	"lab/speaker/peer"
	"lab/speaker/rib"
	"lab/speaker/session"
	"lab/speaker/wire"
)

// State is a BGP FSM state (RFC 4271 section 8.2.2).
type State = session.State

// FSM states.
const (
	Idle        = session.Idle
	Connect     = session.Connect
	Active      = session.Active
	OpenSent    = session.OpenSent
	OpenConfirm = session.OpenConfirm
	Established = session.Established
)

// TraceEntry is one message of a peer's message trace.
type TraceEntry = session.TraceEntry

// Direction says whether a traced message was sent or received.
type Direction = session.Direction

// Directions of traced messages.
const (
	Sent     = session.Sent
	Received = session.Received
)

// Speaker is one router's BGP speaker.
type Speaker struct {
	// cfg is the configuration the speaker started with: its name, AS,
	// router ID and namespace never change. live is the configuration in
	// effect (Reconfigure replaces it).
	cfg   Config
	live  atomic.Pointer[Config]
	clock clock.Clock
	log   *bgplog.Log
	sess  *session.Engine
	dec   *decision.Engine
	fib   *fib.FIB
	track *fib.Tracker

	mu         sync.Mutex // guards the fields below
	prepared   bool       // Prepare was called
	started    bool       // the engines run
	sessionsUp bool       // Start was called
	closed     bool
	changedCh  chan struct{}
	subs       map[chan Event]struct{}
	// changedTaken: a waiter holds changedCh, the next change closes it.
	changedTaken bool
}

// EventKind says what an Event reports.
type EventKind string

// Event kinds.
const (
	// EventPeerState: a session changed state.
	EventPeerState EventKind = "peer-state"
	// EventRIB: the RIB goroutine finished a round of decisions.
	EventRIB EventKind = "rib"
)

// Event is a change in the speaker, delivered to subscribers.
type Event struct {
	Kind  EventKind
	Peer  netip.Addr `json:",omitzero"`
	State State      `json:",omitempty"`
	// Changed is the number of prefixes decided again (EventRIB).
	Changed int `json:",omitempty"`
}

// New checks cfg and builds a speaker; nothing runs and no kernel object is
// touched until Listen or Start.
func New(cfg Config) (*Speaker, error) {
	if cfg.AS == 0 {
		return nil, fmt.Errorf("speaker %s: AS 0 is reserved (RFC 7607)", cfg.Name)
	}
	if !cfg.RouterID.Is4() || cfg.RouterID.IsUnspecified() {
		return nil, fmt.Errorf("speaker %s: router ID %v is not a non-zero IPv4 address", cfg.Name, cfg.RouterID)
	}
	if cfg.Timers == (Timers{}) {
		cfg.Timers = DefaultTimers
	}
	if h := cfg.Timers.Hold; h > 0 && h < 3*time.Second {
		return nil, fmt.Errorf("speaker %s: hold time %v: must be 0 or at least 3s (RFC 4271 section 4.2)", cfg.Name, h)
	}
	if cfg.IdleHold <= 0 {
		cfg.IdleHold = time.Second
	}
	if cfg.TraceLen <= 0 {
		cfg.TraceLen = 256
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.System{}
	}
	if cfg.Port == 0 {
		cfg.Port = 179
	}
	seen := make(map[netip.Addr]bool)
	for i, p := range cfg.Peers {
		if !p.PeerAddr.IsValid() {
			return nil, fmt.Errorf("speaker %s: peer %d has no address", cfg.Name, i)
		}
		if p.PeerAS == 0 {
			return nil, fmt.Errorf("speaker %s: peer %v: AS 0 is reserved", cfg.Name, p.PeerAddr)
		}
		if seen[p.PeerAddr] {
			return nil, fmt.Errorf("speaker %s: peer %v configured twice", cfg.Name, p.PeerAddr)
		}
		seen[p.PeerAddr] = true
		for _, f := range p.Families {
			if f != wire.IPv4Unicast && f != wire.IPv6Unicast {
				return nil, fmt.Errorf("speaker %s: peer %v: family %v: only IPv4 and IPv6 unicast are supported", cfg.Name, p.PeerAddr, f)
			}
		}
		if p.Timers != nil && p.Timers.Hold > 0 && p.Timers.Hold < 3*time.Second {
			return nil, fmt.Errorf("speaker %s: peer %v: hold time %v: must be 0 or at least 3s", cfg.Name, p.PeerAddr, p.Timers.Hold)
		}
	}
	if cfg.ClusterID.IsValid() && !cfg.ClusterID.Is4() {
		return nil, fmt.Errorf("speaker %s: cluster ID %v is not an IPv4 address", cfg.Name, cfg.ClusterID)
	}
	for _, o := range cfg.Originate {
		if !o.Prefix.IsValid() || o.Prefix != o.Prefix.Masked() {
			return nil, fmt.Errorf("speaker %s: originated prefix %v is not a masked prefix", cfg.Name, o.Prefix)
		}
	}
	for _, a := range cfg.Aggregates {
		if !a.Prefix.IsValid() || a.Prefix != a.Prefix.Masked() {
			return nil, fmt.Errorf("speaker %s: aggregate %v is not a masked prefix", cfg.Name, a.Prefix)
		}
	}
	sp := &Speaker{
		cfg:       cfg,
		clock:     cfg.Clock,
		log:       bgplog.New(cfg.Log, cfg.Clock),
		changedCh: make(chan struct{}),
		subs:      make(map[chan Event]struct{}),
	}
	sp.setConfig(cfg)
	in := rib.Shared()
	sp.dec = decision.New(decision.Config{
		Name: cfg.Name, AS: cfg.AS, RouterID: cfg.RouterID, CompareRouterID: cfg.CompareRouterID, ClusterID: cfg.ClusterID,
		Peers: cfg.Peers, Originate: cfg.Originate, Aggregates: cfg.Aggregates, Clock: cfg.Clock, Log: sp.log, Interner: in,
		Kick:     func(id peer.ID) { sp.sess.Kick(id) },
		Teardown: func(id peer.ID, n *wire.Notification) { sp.sess.Teardown(id, n) },
		OnRound: func(n int) {
			sp.notify(Event{Kind: EventRIB, Changed: n})
			sp.changed()
		},
	})
	sp.sess = session.New(session.Config{
		Name: cfg.Name, AS: cfg.AS, RouterID: cfg.RouterID, Namespace: cfg.Namespace, Peers: cfg.Peers,
		Timers: cfg.Timers, IdleHold: cfg.IdleHold, TraceLen: cfg.TraceLen, Port: cfg.Port, Dialer: cfg.Dialer,
		Clock: cfg.Clock, Log: sp.log, Interner: in,
		Events: sp.dec.Events(),
		OnState: func(id peer.ID, st State) {
			sp.notify(Event{Kind: EventPeerState, Peer: cfg.Peers[id].PeerAddr, State: st})
			sp.changed()
		},
		OnChange: sp.changed,
	})
	return sp, nil
}

// Config returns the speaker's configuration in effect (with defaults
// filled in): a copy the caller may change (as the base of a
// Reconfigure), its lists of peers and originations its own.
func (sp *Speaker) Config() Config {
	c := *sp.live.Load()
	c.Peers = slices.Clone(c.Peers)
	c.Originate = slices.Clone(c.Originate)
	return c
}

// setConfig makes (a copy of) cfg the configuration in effect.
func (sp *Speaker) setConfig(cfg Config) {
	cfg.Peers = slices.Clone(cfg.Peers)
	cfg.Originate = slices.Clone(cfg.Originate)
	sp.live.Store(&cfg)
}

// Listen opens the speaker's TCP listeners (port 179) in its namespace,
// one per address family of its peers' addresses (IPv4, IPv6), with the
// MD5 keys of its peers. The daemon calls it for
// every router before any speaker starts, so that the first connection of
// every session finds its peer listening. Start calls it if needed.
func (sp *Speaker) Listen() error {
	if err := sp.sess.Listen(); err != nil {
		return fmt.Errorf("speaker %s: %w", sp.cfg.Name, err)
	}
	return nil
}

// Prepare starts everything but the sessions: the decision engine, the
// FIB and next-hop tracking (unless NoKernel) and the listeners (opening
// them if Listen was not called). A lab prepares every speaker before any
// session starts: a speaker that starts while hundreds of others already
// exchange their tables waits for the processor, and a lab of a thousand
// routers would take seconds to start. The speaker runs until Close, or
// until ctx is done (which closes it the same way).
func (sp *Speaker) Prepare(ctx context.Context) error {
	sp.mu.Lock()
	if sp.prepared || sp.closed {
		sp.mu.Unlock()
		return fmt.Errorf("speaker %s: already started", sp.cfg.Name)
	}
	sp.prepared = true
	sp.mu.Unlock()
	if err := sp.Listen(); err != nil {
		return err
	}
	if !sp.cfg.NoKernel {
		// The FIB and the tracker open their sockets from one thread that
		// enters the namespace once ("" is then the thread's namespace),
		// not from a thread each: a lab of a thousand routers starts
		// their speakers a thread per socket faster.
		err := nsthread.Run(sp.cfg.Namespace, func() error {
			var err error
			if sp.fib, err = fib.Open(""); err != nil {
				return err
			}
			if sp.track, err = fib.NewTracker(""); err != nil {
				sp.fib.Close()
				sp.fib = nil // closed: Close must not close it again
				return err
			}
			return nil
		})
		if err != nil {
			sp.sess.CloseListeners()
			return fmt.Errorf("speaker %s: %w", sp.cfg.Name, err)
		}
	}
	sp.dec.Start(sp.fib, sp.track)
	sp.mu.Lock()
	sp.started = true
	sp.mu.Unlock()
	context.AfterFunc(ctx, func() { sp.Close() })
	return nil
}

// Start starts the sessions, after Prepare (which it calls when it was
// not). The speaker runs until Close, or until ctx is done (which closes
// it the same way).
func (sp *Speaker) Start(ctx context.Context) error {
	sp.mu.Lock()
	prepared, running := sp.prepared, sp.sessionsUp
	sp.sessionsUp = true
	sp.mu.Unlock()
	if running {
		return fmt.Errorf("speaker %s: already started", sp.cfg.Name)
	}
	if !prepared {
		if err := sp.Prepare(ctx); err != nil {
			return err
		}
	}
	if err := sp.sess.Start(); err != nil {
		return fmt.Errorf("speaker %s: %w", sp.cfg.Name, err)
	}
	return nil
}

// Close sends Cease/Administrative Shutdown to every peer, stops every
// goroutine, removes the speaker's kernel routes and returns when all is
// gone. It is safe to call more than once.
func (sp *Speaker) Close() error {
	sp.mu.Lock()
	if sp.closed {
		sp.mu.Unlock()
		return nil
	}
	sp.closed = true
	sp.mu.Unlock()
	// The sessions first: their last events reach the decision engine,
	// or are given back once it has stopped.
	sp.sess.Close()
	sp.dec.Close()
	var errs []error
	if sp.track != nil {
		if err := sp.track.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	if sp.fib != nil {
		if err := sp.fib.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	sp.mu.Lock()
	for c := range sp.subs {
		close(c)
		delete(sp.subs, c)
	}
	sp.mu.Unlock()
	sp.changed()
	return errors.Join(errs...)
}

// changed wakes every WaitFor. Both engines call it after every event:
// the channel is only replaced when a waiter took it.
func (sp *Speaker) changed() {
	sp.mu.Lock()
	if sp.changedTaken {
		close(sp.changedCh)
		sp.changedCh = make(chan struct{})
		sp.changedTaken = false
	}
	sp.mu.Unlock()
}

func (sp *Speaker) changedChan() <-chan struct{} {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	sp.changedTaken = true
	return sp.changedCh
}

func (sp *Speaker) notify(e Event) {
	sp.mu.Lock()
	for c := range sp.subs {
		select {
		case c <- e:
		default: // a slow subscriber loses events, never stalls the speaker
		}
	}
	sp.mu.Unlock()
}

// Subscribe returns a channel of events (buffered; a subscriber that does
// not keep up loses events) and a function that ends the subscription. The
// channel is closed when the speaker closes.
func (sp *Speaker) Subscribe() (<-chan Event, func()) {
	c := make(chan Event, 256)
	sp.mu.Lock()
	if sp.closed {
		close(c)
	} else {
		sp.subs[c] = struct{}{}
	}
	sp.mu.Unlock()
	var once sync.Once
	return c, func() {
		once.Do(func() {
			sp.mu.Lock()
			if _, ok := sp.subs[c]; ok {
				delete(sp.subs, c)
				close(c)
			}
			sp.mu.Unlock()
		})
	}
}

// WaitFor returns when cond holds for a snapshot of the speaker, taken
// after each change, or with ctx's error. It never sleeps: it wakes on
// session and RIB changes.
func (sp *Speaker) WaitFor(ctx context.Context, cond func(*Snapshot) bool) error {
	for {
		ch := sp.changedChan()
		snap, err := sp.Snapshot(ctx)
		if err != nil {
			return err
		}
		if cond(snap) {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("speaker %s: waiting: %w", sp.cfg.Name, ctx.Err())
		}
	}
}

// peerID returns the identifier of the neighbour with address addr.
func (sp *Speaker) peerID(addr netip.Addr) (peer.ID, error) {
	id, ok := sp.sess.Peer(addr)
	if !ok {
		return 0, fmt.Errorf("speaker %s: no neighbor %v", sp.cfg.Name, addr)
	}
	return id, nil
}

// running says why the speaker cannot take a command, if it cannot.
func (sp *Speaker) running() error {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	if !sp.started || sp.closed {
		return fmt.Errorf("speaker %s: not running", sp.cfg.Name)
	}
	return nil
}

// ResetPeer resets the session with addr. Hard: Cease/Administrative
// Reset and a new session. Soft: ROUTE-REFRESH to the peer for every
// family, and every route advertised again (RFC 2918).
func (sp *Speaker) ResetPeer(addr netip.Addr, hard bool) error {
	id, err := sp.peerID(addr)
	if err != nil {
		return err
	}
	if err := sp.sess.Reset(id, hard); err != nil {
		return fmt.Errorf("speaker %s: %w", sp.cfg.Name, err)
	}
	return nil
}

// SetPeerShutdown shuts the session with addr down administratively
// (Cease/Administrative Shutdown, carrying msg as its RFC 8203 shutdown
// communication when not ""; it stays Idle) or lets it start again.
func (sp *Speaker) SetPeerShutdown(addr netip.Addr, down bool, msg string) error {
	id, err := sp.peerID(addr)
	if err != nil {
		return err
	}
	if err := sp.sess.SetShutdown(id, down, msg); err != nil {
		return fmt.Errorf("speaker %s: %w", sp.cfg.Name, err)
	}
	return nil
}

// SetGracefulShutdown starts (on) or stops draining the router, as FRR's
// `bgp graceful-shutdown` (RFC 8326): routes advertised to eBGP peers
// carry GRACEFUL_SHUTDOWN, and routes learned from them get local-pref 0.
func (sp *Speaker) SetGracefulShutdown(ctx context.Context, on bool) error {
	if err := sp.running(); err != nil {
		return err
	}
	return sp.dec.SetDraining(ctx, on)
}

// Announce originates a route (or changes its attributes).
func (sp *Speaker) Announce(o Origination) error {
	if !o.Prefix.IsValid() || o.Prefix != o.Prefix.Masked() {
		return fmt.Errorf("speaker %s: announce %v: not a masked prefix", sp.cfg.Name, o.Prefix)
	}
	sp.dec.Announce(o)
	return nil
}

// Withdraw stops originating pfx, or only towards peers when given (the
// route stays originated to its other neighbours).
func (sp *Speaker) Withdraw(pfx netip.Prefix, peers ...netip.Addr) error {
	sp.dec.Withdraw(pfx, peers...)
	return nil
}

// HandleConn gives the speaker an incoming connection from remote, as
// its listener does: a configured peer's session takes it, anything else
// is refused (closed at once). Tests use it with net.Pipe.
func (sp *Speaker) HandleConn(c net.Conn, remote netip.Addr) { sp.sess.HandleConn(c, remote) }

// LogLines returns the last log lines, oldest first.
func (sp *Speaker) LogLines() []string { return sp.log.Lines() }

// Trace returns the message trace of the peer with addr, oldest first.
func (sp *Speaker) Trace(addr netip.Addr) ([]TraceEntry, error) {
	id, err := sp.peerID(addr)
	if err != nil {
		return nil, err
	}
	return sp.sess.Trace(id), nil
}

// FollowTrace delivers the peer's messages as they are sent and received,
// until stop is called. A follower that does not keep up loses messages.
func (sp *Speaker) FollowTrace(addr netip.Addr) (<-chan TraceEntry, func(), error) {
	id, err := sp.peerID(addr)
	if err != nil {
		return nil, nil, err
	}
	c, stop := sp.sess.FollowTrace(id)
	return c, stop, nil
}

// SyncFIB waits until every route change decided so far has reached the
// kernel.
func (sp *Speaker) SyncFIB(ctx context.Context) error {
	if err := sp.running(); err != nil {
		return err
	}
	return sp.dec.SyncFIB(ctx)
}

// SyncKernel makes the speaker act on the kernel's state as it is now:
// the next-hop tracker reads the kernel again, the decision process runs
// on what changed, and the resulting routes are written. The shell calls
// it after taking a link down or up, so that the next command already
// shows the paths through that link invalid (or valid again), as the seed
// shows them, instead of a view a few milliseconds old.
func (sp *Speaker) SyncKernel(ctx context.Context) error {
	if err := sp.running(); err != nil {
		return err
	}
	return sp.dec.SyncKernel(ctx)
}

// PeerStatus is the state and counters of one session, as the shell's
// `wait` reads them.
type PeerStatus struct {
	Addr  netip.Addr
	State State
	// EndOfRIBReceived counts the families whose End-of-RIB the peer sent
	// in this session.
	EndOfRIBReceived int
	// InQ counts the inputs waiting for the session's goroutine (and the
	// events it holds for a busy decision engine), OutQ the messages
	// waiting to be written.
	InQ, OutQ int
	// UpdatesSent and UpdatesRcvd count the UPDATE messages of the
	// Established session's connection: the peer's mirror them once
	// nothing is in flight.
	UpdatesSent, UpdatesRcvd uint64
	// Down: the session is kept down on purpose (neighbor shutdown, or a
	// maximum-prefix teardown held until cleared).
	Down bool
}

// Queued returns the number of events waiting for the decision engine:
// received UPDATEs not decided yet, among others.
func (sp *Speaker) Queued() int { return sp.dec.Queued() }

// Peers returns the status of every session, in configuration order. It
// reads the session engine only (a lock per session), never a table, so
// it costs the same however large the tables and however busy the
// decision engine.
func (sp *Speaker) Peers() []PeerStatus {
	return sp.AppendPeers(make([]PeerStatus, 0, len(sp.cfg.Peers)))
}

// AppendPeers appends what Peers returns to out: a poller reuses its
// slice, and allocates nothing.
func (sp *Speaker) AppendPeers(out []PeerStatus) []PeerStatus {
	peers := sp.cfg.Peers // the addresses never change
	for i := range peers {
		c := sp.sess.Counters(peer.ID(i))
		out = append(out, PeerStatus{Addr: peers[i].PeerAddr, State: c.State, EndOfRIBReceived: c.EndOfRIBReceived,
			InQ: c.InQ, OutQ: c.OutQ, UpdatesSent: c.UpdatesSent, UpdatesRcvd: c.UpdatesRcvd, Down: c.Down})
	}
	return out
}
