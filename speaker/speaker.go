// Package speaker is the lab's embedded BGP-4 speaker (RFC 4271): one
// Speaker per router, running its sessions, its RIBs and its kernel FIB
// inside the router's network namespace, with show snapshots in FRR's terms.
//
// Concurrency. Every session has a goroutine that owns its FSM state,
// timers and connections, helped by a reader goroutine per connection
// (decoding messages) and a writer goroutine per connection (batching
// writes, so nobody blocks on TCP). One RIB goroutine per speaker owns the
// Adj-RIBs-In, the Loc-RIB and the Adj-RIBs-Out, runs the decision process,
// builds outgoing UPDATEs and feeds the FIB writer. They talk over bounded
// channels; a session's counters are shared with snapshot readers under a
// mutex. There is no advertisement timer: the RIB goroutine drains
// whatever is queued, decides once, and sends once, which coalesces bursts
// without delaying anything.
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
	"sync"
	"sync/atomic"
	"time"

	"github.com/vishvananda/netns"

	"lab/speaker/fib"
	"lab/speaker/wire"
)

// Speaker is one router's BGP speaker.
type Speaker struct {
	cfg    Config
	clock  Clock
	port   int
	dialer Dialer
	log    *logLines

	sessions []*session
	byAddr   map[netip.Addr]*session

	ns    netns.NsHandle
	hasNS bool

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	ribIn  chan ribEvent
	rib    *ribState
	fib    *fib.FIB
	track  *fib.Tracker

	refused atomic.Int64

	mu        sync.Mutex
	listeners []net.Listener
	listening bool
	started   bool
	closed    bool
	changedCh chan struct{}
	subs      map[chan Event]struct{}

	// changedTaken (under mu): a waiter holds changedCh, the next change
	// closes it.
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

// ribQueueLen is the RIB goroutine's queue: enough to coalesce a burst of
// UPDATEs into one decision round; beyond it, sessions wait (and TCP
// buffers hold the rest).
const ribQueueLen = 256

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
		cfg.Clock = SystemClock{}
	}
	sp := &Speaker{
		cfg:       cfg,
		clock:     cfg.Clock,
		port:      cfg.Port,
		dialer:    cfg.Dialer,
		log:       &logLines{w: cfg.Log, clock: cfg.Clock},
		byAddr:    make(map[netip.Addr]*session),
		ribIn:     make(chan ribEvent, ribQueueLen),
		changedCh: make(chan struct{}),
		subs:      make(map[chan Event]struct{}),
	}
	if sp.port == 0 {
		sp.port = 179
	}
	if sp.dialer == nil {
		sp.dialer = nsDialer{sp}
	}
	sp.ctx, sp.cancel = context.WithCancel(context.Background())
	for i := range cfg.Peers {
		p := cfg.Peers[i]
		if !p.PeerAddr.IsValid() {
			return nil, fmt.Errorf("speaker %s: peer %d has no address", cfg.Name, i)
		}
		if p.PeerAS == 0 {
			return nil, fmt.Errorf("speaker %s: peer %v: AS 0 is reserved", cfg.Name, p.PeerAddr)
		}
		if _, dup := sp.byAddr[p.PeerAddr]; dup {
			return nil, fmt.Errorf("speaker %s: peer %v configured twice", cfg.Name, p.PeerAddr)
		}
		for _, f := range p.Families {
			if f != wire.IPv4Unicast && f != wire.IPv6Unicast {
				return nil, fmt.Errorf("speaker %s: peer %v: family %v: only IPv4 and IPv6 unicast are supported", cfg.Name, p.PeerAddr, f)
			}
		}
		if p.Timers != nil && p.Timers.Hold > 0 && p.Timers.Hold < 3*time.Second {
			return nil, fmt.Errorf("speaker %s: peer %v: hold time %v: must be 0 or at least 3s", cfg.Name, p.PeerAddr, p.Timers.Hold)
		}
		s := newSession(sp, p)
		s.ctx = sp.ctx
		sp.sessions = append(sp.sessions, s)
		sp.byAddr[p.PeerAddr] = s
	}
	for _, o := range cfg.Originate {
		if !o.Prefix.IsValid() || o.Prefix != o.Prefix.Masked() {
			return nil, fmt.Errorf("speaker %s: originated prefix %v is not a masked prefix", cfg.Name, o.Prefix)
		}
	}
	sp.rib = newRIBState(sp)
	return sp, nil
}

// Config returns the speaker's configuration (with defaults filled in).
func (sp *Speaker) Config() Config { return sp.cfg }

func (sp *Speaker) openNS() error {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	if sp.cfg.Namespace == "" || sp.hasNS {
		return nil
	}
	h, err := netns.GetFromPath(sp.cfg.Namespace)
	if err != nil {
		return fmt.Errorf("speaker %s: namespace %s: %w", sp.cfg.Name, sp.cfg.Namespace, err)
	}
	sp.ns, sp.hasNS = h, true
	return nil
}

// Start starts the sessions, the RIB goroutine, the FIB and next-hop
// tracking (unless NoKernel), and the listeners (opening them if Listen
// was not called). The speaker runs until Close, or until ctx is done
// (which closes it the same way).
func (sp *Speaker) Start(ctx context.Context) error {
	sp.mu.Lock()
	if sp.started || sp.closed {
		sp.mu.Unlock()
		return fmt.Errorf("speaker %s: already started", sp.cfg.Name)
	}
	sp.started = true
	sp.mu.Unlock()
	if err := sp.openNS(); err != nil {
		return err
	}
	if err := sp.Listen(); err != nil {
		return err
	}
	if !sp.cfg.NoKernel {
		var err error
		if sp.fib, err = fib.Open(sp.cfg.Namespace); err != nil {
			sp.closeListeners()
			return fmt.Errorf("speaker %s: %w", sp.cfg.Name, err)
		}
		if sp.track, err = fib.NewTracker(sp.cfg.Namespace); err != nil {
			sp.fib.Close()
			sp.closeListeners()
			return fmt.Errorf("speaker %s: %w", sp.cfg.Name, err)
		}
	}
	sp.rib.init()
	sp.wg.Add(1)
	go sp.rib.run()
	sp.mu.Lock()
	for _, l := range sp.listeners {
		sp.wg.Add(1)
		go sp.accept(l)
	}
	sp.mu.Unlock()
	for _, s := range sp.sessions {
		sp.wg.Add(1)
		go s.run()
	}
	context.AfterFunc(ctx, func() { sp.Close() })
	return nil
}

func (sp *Speaker) closeListeners() {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	for _, l := range sp.listeners {
		l.Close()
	}
	sp.listeners = nil
}

// Close sends Cease/Administrative Shutdown to every peer, stops every
// goroutine, removes the speaker's kernel routes and returns when all is
// gone. It is safe to call more than once.
func (sp *Speaker) Close() error {
	sp.mu.Lock()
	if sp.closed {
		sp.mu.Unlock()
		sp.wg.Wait()
		return nil
	}
	sp.closed = true
	sp.mu.Unlock()
	sp.closeListeners()
	sp.cancel()
	sp.wg.Wait()
	sp.releaseQueued()
	sp.rib.releaseAll()
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
	if sp.hasNS {
		sp.ns.Close()
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

// toRIB hands an event to the RIB goroutine, blocking while its queue is
// full (back-pressure on the sessions).
func (sp *Speaker) toRIB(ev ribEvent) {
	select {
	case sp.ribIn <- ev:
	case <-sp.ctx.Done():
		ev.upd.release(sp.rib.in)
	}
}

// releaseQueued gives back the references of the updates left in the
// queues when the speaker stopped (their goroutines are gone): the
// Interner is the process's, and outlives the speaker.
func (sp *Speaker) releaseQueued() {
	for {
		select {
		case ev := <-sp.ribIn:
			ev.upd.release(sp.rib.in)
		default:
			for _, s := range sp.sessions {
				for drained := false; !drained; {
					select {
					case ev := <-s.events:
						ev.upd.release(sp.rib.in)
					default:
						drained = true
					}
				}
			}
			return
		}
	}
}

// changed wakes every WaitFor. Sessions and the RIB goroutine call it
// after every event: the channel is only replaced when a waiter took it.
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

func (sp *Speaker) session(addr netip.Addr) (*session, error) {
	s := sp.byAddr[addr]
	if s == nil {
		return nil, fmt.Errorf("speaker %s: no neighbor %v", sp.cfg.Name, addr)
	}
	return s, nil
}

func (sp *Speaker) toSession(addr netip.Addr, ev sessEvent) error {
	s, err := sp.session(addr)
	if err != nil {
		return err
	}
	select {
	case s.events <- ev:
		return nil
	case <-sp.ctx.Done():
		return fmt.Errorf("speaker %s: closed", sp.cfg.Name)
	}
}

// ResetPeer resets the session with addr. Hard: Cease/Administrative
// Reset and a new session. Soft: ROUTE-REFRESH to the peer for every
// family, and every route advertised again (RFC 2918).
func (sp *Speaker) ResetPeer(addr netip.Addr, hard bool) error {
	if hard {
		return sp.toSession(addr, sessEvent{kind: evHardReset})
	}
	return sp.toSession(addr, sessEvent{kind: evSoftReset})
}

// SetPeerShutdown shuts the session with addr down administratively
// (Cease/Administrative Shutdown; it stays Idle) or lets it start again.
func (sp *Speaker) SetPeerShutdown(addr netip.Addr, down bool) error {
	return sp.toSession(addr, sessEvent{kind: evShutdown, on: down})
}

// Announce originates a route (or changes its attributes).
func (sp *Speaker) Announce(o Origination) error {
	if !o.Prefix.IsValid() || o.Prefix != o.Prefix.Masked() {
		return fmt.Errorf("speaker %s: announce %v: not a masked prefix", sp.cfg.Name, o.Prefix)
	}
	sp.toRIB(ribEvent{kind: ribAnnounce, orig: &o})
	return nil
}

// Withdraw stops originating pfx.
func (sp *Speaker) Withdraw(pfx netip.Prefix) error {
	sp.toRIB(ribEvent{kind: ribWithdraw, orig: &Origination{Prefix: pfx}})
	return nil
}

// LogLines returns the last log lines, oldest first.
func (sp *Speaker) LogLines() []string { return sp.log.lines() }

// Trace returns the message trace of the peer with addr, oldest first.
func (sp *Speaker) Trace(addr netip.Addr) ([]TraceEntry, error) {
	s, err := sp.session(addr)
	if err != nil {
		return nil, err
	}
	return s.trace.entries(), nil
}

// FollowTrace delivers the peer's messages as they are sent and received,
// until stop is called. A follower that does not keep up loses messages.
func (sp *Speaker) FollowTrace(addr netip.Addr) (<-chan TraceEntry, func(), error) {
	s, err := sp.session(addr)
	if err != nil {
		return nil, nil, err
	}
	c, stop := s.trace.follow()
	return c, stop, nil
}

// SyncFIB waits until every route change decided so far has reached the
// kernel.
func (sp *Speaker) SyncFIB(ctx context.Context) error {
	done := make(chan struct{})
	if err := sp.inRIB(ctx, func(r *ribState) { close(done) }); err != nil {
		return err
	}
	<-done
	if sp.fib != nil {
		sp.fib.Sync()
	}
	return nil
}

// SyncKernel makes the speaker act on the kernel's state as it is now:
// the next-hop tracker reads the kernel again, the decision process runs
// on what changed, and the resulting routes are written. The shell calls
// it after taking a link down or up, so that the next command already
// shows the paths through that link invalid (or valid again), as the seed
// shows them, instead of a view a few milliseconds old.
func (sp *Speaker) SyncKernel(ctx context.Context) error {
	if sp.track == nil {
		return nil
	}
	if err := sp.track.Sync(); err != nil {
		return err
	}
	if err := sp.inRIB(ctx, func(r *ribState) { r.nextHopsChanged() }); err != nil {
		return err
	}
	return sp.SyncFIB(ctx)
}

// localOpen builds the OPEN the speaker sends to a peer: as the seed's
// Quagga, multiprotocol for each family, route refresh (codes 128 and 2),
// 4-octet AS, and graceful restart with restart time 120 and no families
// (helper only, for End-of-RIB).
func (sp *Speaker) localOpen(p *PeerConfig, t Timers) *wire.Open {
	var caps []wire.Capability
	for _, f := range p.families() {
		caps = append(caps, wire.CapMultiprotocol{AFI: f.AFI, SAFI: f.SAFI})
	}
	caps = append(caps,
		wire.CapRouteRefresh{CapCode: wire.CapCodeRouteRefreshCisco},
		wire.CapRouteRefresh{CapCode: wire.CapCodeRouteRefresh},
		wire.CapAS4{AS: sp.cfg.AS},
		wire.CapGracefulRestart{Time: 120},
	)
	return wire.NewOpen(sp.cfg.AS, uint16(t.Hold/time.Second), sp.cfg.RouterID, caps...)
}
