// Package decision is the speaker's route decision engine: one goroutine
// that owns the Adj-RIBs-In, the Loc-RIB and the Adj-RIBs-Out, runs the
// decision process (RFC 4271 section 9.1), decides what each peer is sent
// and hands it the UPDATEs (section 9.2), writes the best routes to the
// kernel (package fib) and tracks next hops. It knows nothing of sessions:
// it hears of them through peer.Events (Deliver) and speaks to an
// Established one through the peer.Sink the event carried.
//
// Goroutines. The engine's goroutine (run) owns every field of Engine but
// its two queues: sessions send their events into one (Events), commands
// and queries go into the other. There is no advertisement timer: the goroutine drains whatever is
// queued, decides once, and sends once, which coalesces bursts without
// delaying anything.
package decision

import (
	"context"
	"errors"
	"net/netip"
	"reflect"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"

	"lab/speaker/clock"
	"lab/speaker/fib"
	"lab/speaker/internal/bgplog"
	"lab/speaker/peer"
	"lab/speaker/rib"
	"lab/speaker/ribwire"
	"lab/speaker/wire"
)

// Origination is a route the speaker announces itself: a prefix of the
// topology (a `network` statement, a static route of ExaBGP's
// configuration), or one a program or the shell announced.
type Origination struct {
	Prefix netip.Prefix
	// MED is sent when HasMED; without it the route still carries MED 0,
	// as the seed's Quagga sends for its `network` routes.
	MED              uint32
	HasMED           bool
	Communities      []uint32
	LargeCommunities [][3]uint32
	// Origin is the ORIGIN attribute (IGP by default).
	Origin rib.Origin
	// ASPath, when set, is the route's AS_PATH as every peer receives it
	// (ExaBGP's `as-path [ ... ]`): our AS is not prepended again for an
	// eBGP peer. ASSet is a trailing AS_SET.
	ASPath []uint32
	ASSet  []uint32
	// LocalPref is sent to iBGP peers when HasLocalPref.
	LocalPref    uint32
	HasLocalPref bool
	// NextHop is the next hop advertised; the zero Addr means ourselves
	// (next-hop self).
	NextHop netip.Addr
	// ExtCommunities are RFC 4360 extended communities.
	ExtCommunities []wire.ExtendedCommunity
	// AtomicAggregate and Aggregator are RFC 4271's attributes of an
	// aggregate (section 5.1.6, 5.1.7); AggregatorAS 0 for none.
	AtomicAggregate bool
	AggregatorAS    uint32
	AggregatorAddr  netip.Addr
	// Peers, when not empty, are the only neighbours the route is
	// advertised to (ExaBGP's `neighbor ADDR announce ...`).
	Peers []netip.Addr
}

// attrs returns the attribute set of the origination (not interned).
func (o *Origination) attrs() rib.Attrs {
	a := rib.Attrs{Origin: o.Origin, MED: o.MED, HasMED: true, LocalPref: o.LocalPref, HasLocalPref: o.HasLocalPref,
		AtomicAggregate: o.AtomicAggregate}
	if len(o.ASPath) > 0 {
		a.ASPath = append(a.ASPath, rib.Segment{Type: rib.SegSequence, ASNs: o.ASPath})
	}
	if len(o.ASSet) > 0 {
		a.ASPath = append(a.ASPath, rib.Segment{Type: rib.SegSet, ASNs: o.ASSet})
	}
	if len(o.Communities) > 0 {
		c := slices.Clone(o.Communities)
		slices.Sort(c)
		a.MutableExtra().Communities = slices.Compact(c)
	}
	for _, l := range o.LargeCommunities {
		x := a.MutableExtra()
		x.LargeCommunities = append(x.LargeCommunities, rib.LargeCommunity{Global: l[0], Local1: l[1], Local2: l[2]})
	}
	var other []wire.Attr
	if o.AggregatorAS != 0 {
		other = append(other, wire.Aggregator{AS: o.AggregatorAS, Addr: o.AggregatorAddr})
	}
	if len(o.ExtCommunities) > 0 {
		other = append(other, wire.ExtendedCommunities{Values: o.ExtCommunities})
	}
	if len(other) > 0 {
		a.MutableExtra().Other = ribwire.Opaque(other)
	}
	return a
}

// sameRoute reports whether o and p originate the same route with the
// same attributes (their neighbour lists aside).
func (o *Origination) sameRoute(p *Origination) bool {
	x, y := *o, *p
	x.Peers, y.Peers = nil, nil
	return reflect.DeepEqual(x, y)
}

// Config is what the decision engine needs. The speaker checked it.
type Config struct {
	Name     string
	AS       uint32
	RouterID netip.Addr
	// CompareRouterID is FRR's `bgp bestpath compare-routerid`.
	CompareRouterID bool
	// Aggregates are originated while the table holds a more specific
	// route of theirs.
	Aggregates []Aggregate
	// ClusterID makes the speaker a route reflector (RFC 4456) of this
	// cluster for its peers marked RRClient; the zero Addr when it
	// reflects nothing.
	ClusterID netip.Addr
	Peers     []peer.Config
	Originate []Origination
	Clock     clock.Clock
	Log       *bgplog.Log
	Interner  *rib.Interner
	// Kick is called, on the engine's goroutine, for a peer whose address
	// the kernel can reach again (the session engine then dials at once);
	// it must not block.
	Kick func(peer.ID)
	// Teardown is called, on the engine's goroutine, to end a peer's
	// session with NOTIFICATION n and keep it down until it is cleared
	// (a maximum number of prefixes exceeded); it must not block.
	Teardown func(id peer.ID, n *wire.Notification)
	// OnRound is called after a round that decided prefixes, with their
	// number.
	OnRound func(changed int)
}

// queueLen is the length of the engine's queues: enough to coalesce a
// burst of UPDATEs into one decision round; beyond it, sessions hold a
// few events and stop reading (TCP buffers hold the rest).
const queueLen = 256

type itemKind uint8

const (
	itemAnnounce itemKind = iota + 1 // originate a route
	itemWithdraw                     // stop originating one
	itemQuery                        // run fn on the engine's goroutine
	itemDo                           // run do on the engine's goroutine, before the round's decisions
	itemSync                         // signal seq's end of round (settle)
)

// item is one entry of the engine's queue. Every slot of the queue has
// room for each field: rare, large ones are behind pointers (a withdrawn
// origination is an orig with its prefix alone).
type item struct {
	kind itemKind
	seq  uint64 // itemSync's
	orig *Origination
	fn   func(*View)
	do   func(*Engine)
}

// peerState is the engine's view of a peer.
type peerState struct {
	id  peer.ID
	cfg *peer.Config
	src *rib.Source
	up  *peer.Established // nil while the session is down
	// out is the Adj-RIB-Out of each family: for every prefix advertised,
	// the attribute set its advertisement was made from (outKey).
	out map[wire.Family]*rib.AdjOut
	// Next-hop-self addresses, set when the session comes up.
	nh4, nh6, ll6 netip.Addr
	// queuedOn is the sink this round queued UPDATEs on (flush).
	queuedOn peer.Sink
	// denied are the routes the import policy denied, as received, by
	// family (import.go).
	denied map[wire.Family]map[netip.Prefix]deniedRoute
	// maxPrefixWarned: the warning of a warning-only maximum was logged.
	maxPrefixWarned bool
}

// Engine is one speaker's route decision engine.
type Engine struct {
	cfg   Config
	queue chan item
	// events are the sessions' (Events).
	events chan peer.Event
	// busy is set from the moment the engine's goroutine takes work
	// (an event, a queued item, a next-hop change) until the round that
	// does it has decided: UPDATEs taken while it waits for its round
	// (waitRound) are in no queue. Written by the engine's goroutine,
	// read by Queued.
	busy atomic.Bool

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu      sync.Mutex // guards started and closed
	started bool
	closed  bool

	// settle's: syncSem lets one caller at a time wait (a channel, so that
	// a caller waits for its turn with its context); syncSeq numbers the
	// requests; synced is the highest request whose round is over, written
	// by the engine's goroutine, which then signals syncC.
	syncSem  chan struct{}
	syncSeq  uint64 // under syncSem
	synced   atomic.Uint64
	syncC    chan struct{}
	syncWant uint64 // owned by the engine's goroutine: the round's highest request

	// Owned by the engine's goroutine (or by Start and Close, before and
	// after it runs).
	in      *rib.Interner
	fib     *fib.FIB
	track   *fib.Tracker
	nhs     *rib.NextHops
	tables  map[wire.Family]*rib.Table
	local   *rib.Source
	peers   []*peerState
	orig    map[netip.Prefix]Origination
	aggs    []*aggState
	changed map[wire.Family][]netip.Prefix
	fibOps  []fib.Op
	version uint64
	// reprocess: a round changed the table itself (an aggregate came,
	// changed or went): the decision process runs again at once.
	reprocess bool
	// draining is `graceful-shutdown on` (RFC 8326): routes from eBGP
	// peers get local-pref 0, and routes to them GRACEFUL_SHUTDOWN.
	draining bool
	fns      []func(*View)
	enc      ribwire.Encoder
	// emitFn queues the encoder's messages for emitPeer (emit).
	emitFn   func([]byte)
	emitPeer *peerState
	// groups and groupOf are advertise's scratch space.
	groups  []outGroup
	groupOf map[*rib.Attrs]int
	// queued are the sinks a round queued UPDATEs on, flushed together at
	// its end (flush), and queuedPeers their peers.
	queued      []peer.Sink
	queuedPeers []*peerState
}

var families = []wire.Family{wire.IPv4Unicast, wire.IPv6Unicast}

func famOf(p netip.Prefix) wire.Family {
	if p.Addr().Is4() {
		return wire.IPv4Unicast
	}
	return wire.IPv6Unicast
}

// New builds an engine; it runs once started.
func New(cfg Config) *Engine {
	e := &Engine{
		cfg:     cfg,
		queue:   make(chan item, queueLen),
		syncSem: make(chan struct{}, 1),
		syncC:   make(chan struct{}, 1),
		events:  make(chan peer.Event, queueLen),
		in:      cfg.Interner,
		tables:  make(map[wire.Family]*rib.Table),
		orig:    make(map[netip.Prefix]Origination),
		changed: make(map[wire.Family][]netip.Prefix),
		local:   &rib.Source{Local: true, AS: cfg.AS, RouterID: cfg.RouterID, Name: "local"},
	}
	e.ctx, e.cancel = context.WithCancel(context.Background())
	for _, a := range cfg.Aggregates {
		e.aggs = append(e.aggs, &aggState{Aggregate: a})
	}
	for i := range cfg.Peers {
		p := &cfg.Peers[i]
		ibgp := p.PeerAS == cfg.AS
		e.peers = append(e.peers, &peerState{id: peer.ID(i), cfg: p, src: &rib.Source{
			Addr: p.PeerAddr, AS: p.PeerAS, IBGP: ibgp, RRClient: ibgp && p.RRClient && cfg.ClusterID.IsValid(), Name: p.Description,
		}, out: make(map[wire.Family]*rib.AdjOut)})
	}
	return e
}

// Start starts the engine's goroutine, installing best routes with f and
// resolving next hops with t (both nil: nothing installed, every next hop
// reachable).
func (e *Engine) Start(f *fib.FIB, t *fib.Tracker) {
	e.fib, e.track = f, t
	var resolve rib.Resolver
	if t != nil {
		resolve = func(a netip.Addr) rib.Resolution {
			r := t.Lookup(a)
			return rib.Resolution{OK: r.OK, IfIndex: r.IfIndex, Metric: r.Metric, Via: r.Via}
		}
	}
	e.nhs = rib.NewNextHops(resolve)
	for _, fam := range families {
		tb := rib.NewTable(e.in, e.nhs)
		tb.CompareRouterID = e.cfg.CompareRouterID
		e.tables[fam] = tb
	}
	for _, o := range e.cfg.Originate {
		e.announce(o)
	}
	for _, p := range e.peers {
		e.defaultOriginate(p)
	}
	e.mu.Lock()
	e.started = true
	e.mu.Unlock()
	e.wg.Add(1)
	go e.run()
}

// Close stops the goroutine and gives back every reference the RIBs and
// the queue hold: the attribute sets are the process Interner's, which
// outlives the speaker.
func (e *Engine) Close() {
	e.mu.Lock()
	e.closed = true
	e.mu.Unlock()
	e.cancel()
	e.wg.Wait()
	for {
		select {
		case <-e.queue:
		case ev := <-e.events:
			ev.Update.Release(e.in)
		default:
			for _, p := range e.peers {
				for _, o := range p.out {
					o.Clear()
				}
			}
			for _, t := range e.tables {
				t.Clear()
			}
			return
		}
	}
}

// Deliver queues a session's event, blocking while the queue is full. An
// Update event's references are the engine's from here on.
func (e *Engine) Deliver(ev peer.Event) {
	select {
	case e.events <- ev:
	case <-e.ctx.Done():
		ev.Update.Release(e.in)
	}
}

// Events is the queue of the sessions' events, which the session engine
// sends on without ever blocking (it holds what does not fit). The
// events of one peer are decided in the order they were sent. An Update
// event's references are the engine's once sent; those left in the queue
// at Close are given back.
func (e *Engine) Events() chan<- peer.Event { return e.events }

// Announce originates a route (or changes its attributes).
func (e *Engine) Announce(o Origination) {
	select {
	case e.queue <- item{kind: itemAnnounce, orig: &o}:
	case <-e.ctx.Done():
	}
}

// Withdraw stops originating pfx, or only towards peers when given.
func (e *Engine) Withdraw(pfx netip.Prefix, peers ...netip.Addr) {
	select {
	case e.queue <- item{kind: itemWithdraw, orig: &Origination{Prefix: pfx, Peers: peers}}:
	case <-e.ctx.Done():
	}
}

// Queued returns the number of items waiting in the engine's queues,
// plus one while it has work in hand not decided yet: 0 means nothing
// is left for it to do (what the shell's `wait` asks).
func (e *Engine) Queued() int {
	n := len(e.queue) + len(e.events)
	if e.busy.Load() {
		n++
	}
	return n
}

// ErrNotRunning is returned by queries of an engine not started, or
// closed.
var ErrNotRunning = errors.New("not running")

// Query runs fn on the engine's goroutine, after its current round, and
// waits. fn reads the RIBs through the View, which is valid during the
// call only.
func (e *Engine) Query(ctx context.Context, fn func(*View)) error {
	e.mu.Lock()
	started, closed := e.started, e.closed
	e.mu.Unlock()
	if !started || closed {
		return ErrNotRunning
	}
	// fn writes the caller's variables, which the caller reads as it
	// returns. A caller that gives up (ctx, or the engine closing) while
	// fn waits in the queue marks it abandoned, under mu: fn then never
	// runs, or has run already and mu orders its writes before the
	// caller's reads.
	var mu sync.Mutex
	abandoned := false
	done := make(chan struct{})
	it := item{kind: itemQuery, fn: func(v *View) {
		mu.Lock()
		if !abandoned {
			fn(v)
		}
		mu.Unlock()
		close(done)
	}}
	abandon := func(err error) error {
		mu.Lock()
		abandoned = true
		mu.Unlock()
		return err
	}
	select {
	case e.queue <- it:
	case <-ctx.Done():
		return ctx.Err()
	case <-e.ctx.Done():
		return ErrNotRunning
	}
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return abandon(ctx.Err())
	case <-e.ctx.Done():
		return abandon(ErrNotRunning)
	}
}

// do runs fn on the engine's goroutine, in the next round, before its
// decisions, and returns once the round is over.
func (e *Engine) do(ctx context.Context, fn func(*Engine)) error {
	select {
	case e.queue <- item{kind: itemDo, do: fn}:
	case <-ctx.Done():
		return ctx.Err()
	case <-e.ctx.Done():
		return ErrNotRunning
	}
	return e.Query(ctx, func(*View) {})
}

// SetDraining starts (on) or stops RFC 8326 graceful shutdown of the whole
// speaker, as FRR's `bgp graceful-shutdown`: routes advertised to eBGP
// peers carry GRACEFUL_SHUTDOWN, and routes learned from them get
// local-pref 0, so that traffic leaves through other routers before this
// one goes down.
func (e *Engine) SetDraining(ctx context.Context, on bool) error {
	return e.do(ctx, func(e *Engine) {
		if e.draining == on {
			return
		}
		e.draining = on
		for _, p := range e.peers {
			if !p.src.IBGP {
				e.reimport(p)
			}
		}
		e.resendAll()
	})
}

// Reconfigure gives peer id a new configuration on the engine's goroutine:
// its routes go through its (new) import pipeline again, from what it
// sent, and every route is advertised to it again through its (new)
// export side. Nothing is asked of the peer (soft reconfiguration).
func (e *Engine) Reconfigure(ctx context.Context, id peer.ID, cfg peer.Config) error {
	return e.do(ctx, func(e *Engine) {
		p := e.peers[id]
		p.cfg = &cfg
		p.src.AS = cfg.PeerAS
		p.src.IBGP = cfg.PeerAS == e.cfg.AS
		p.src.RRClient = p.src.IBGP && cfg.RRClient && e.cfg.ClusterID.IsValid()
		p.src.Name = cfg.Description
		e.defaultOriginate(p)
		e.reimport(p)
		if p.up != nil {
			for _, f := range p.up.Families {
				e.advertiseAll(p, f, true)
			}
		}
	})
}

// SetOptions changes the speaker-wide decision options: the decision
// process runs again on every prefix, and every peer is sent its routes
// again.
func (e *Engine) SetOptions(ctx context.Context, compareRouterID bool, clusterID netip.Addr) error {
	return e.do(ctx, func(e *Engine) {
		e.cfg.CompareRouterID, e.cfg.ClusterID = compareRouterID, clusterID
		for _, t := range e.tables {
			t.CompareRouterID = compareRouterID
			t.MarkAll()
		}
		for _, p := range e.peers {
			p.src.RRClient = p.src.IBGP && p.cfg.RRClient && clusterID.IsValid()
		}
		e.resendAll()
	})
}

// defaultOriginate originates the default routes of p's families towards
// p when its configuration asks for it (FRR's `default-originate`), or
// stops: an origination limited to the peers that ask.
func (e *Engine) defaultOriginate(p *peerState) {
	for _, d := range []netip.Prefix{netip.PrefixFrom(netip.IPv4Unspecified(), 0), netip.PrefixFrom(netip.IPv6Unspecified(), 0)} {
		if !slices.Contains(p.cfg.AddressFamilies(), famOf(d)) {
			continue
		}
		o, ok := e.orig[d]
		has := ok && slices.Contains(o.Peers, p.cfg.PeerAddr)
		switch {
		case p.cfg.DefaultOriginate && !has:
			e.announce(Origination{Prefix: d, Peers: []netip.Addr{p.cfg.PeerAddr}})
		case !p.cfg.DefaultOriginate && has:
			e.withdrawOrigination(d, []netip.Addr{p.cfg.PeerAddr})
		}
	}
}

// resendAll advertises every route to every peer again: what an export
// depends on changed for all of them.
func (e *Engine) resendAll() {
	for _, p := range e.peers {
		if p.up == nil {
			continue
		}
		for _, f := range p.up.Families {
			e.advertiseAll(p, f, true)
		}
	}
}

// SyncFIB waits until every route change decided so far has reached the
// kernel.
func (e *Engine) SyncFIB(ctx context.Context) error {
	if err := e.settle(ctx); err != nil {
		return err
	}
	if e.fib != nil {
		e.fib.Sync()
	}
	return nil
}

// settle waits until the engine has ended a round after everything queued
// before the call: what Query with an empty function does, without its
// allocations. `wait` calls it on every speaker of the lab, and a script
// may run wait in a loop: on a lab of a thousand routers, a few hundred
// bytes a speaker would be hundreds of megabytes a minute for the
// collector.
func (e *Engine) settle(ctx context.Context) error {
	e.mu.Lock()
	started, closed := e.started, e.closed
	e.mu.Unlock()
	if !started || closed {
		return ErrNotRunning
	}
	select {
	case e.syncSem <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-e.syncSem }()
	e.syncSeq++
	seq := e.syncSeq
	select {
	case e.queue <- item{kind: itemSync, seq: seq}:
	case <-ctx.Done():
		return ctx.Err()
	case <-e.ctx.Done():
		return ErrNotRunning
	}
	// A signal may be stale (a request abandoned earlier): synced says.
	for e.synced.Load() < seq {
		select {
		case <-e.syncC:
		case <-ctx.Done():
			return ctx.Err()
		case <-e.ctx.Done():
			return ErrNotRunning
		}
	}
	return nil
}

// SyncKernel makes the engine act on the kernel's state as it is now: the
// next-hop tracker reads the kernel again, the decision process runs on
// what changed, and the resulting routes are written.
func (e *Engine) SyncKernel(ctx context.Context) error {
	if e.track == nil {
		return nil
	}
	if err := e.track.Sync(); err != nil {
		return err
	}
	if err := e.Query(ctx, func(v *View) { v.e.nextHopsChanged() }); err != nil {
		return err
	}
	return e.SyncFIB(ctx)
}

// run is the engine's goroutine.
func (e *Engine) run() {
	defer e.wg.Done()
	var trackC <-chan struct{}
	if e.track != nil {
		trackC = e.track.Changes()
	}
	if !acquireRound(e.ctx) {
		return
	}
	e.process()
	e.flush()
	releaseRound()
	for {
		var (
			it    item
			ev    peer.Event
			track bool
		)
		select {
		case <-e.ctx.Done():
			e.runFns()
			return
		case it = <-e.queue:
		case ev = <-e.events:
		case <-trackC:
			track = true
		}
		e.busy.Store(true)
		ev = e.takeEvent(ev)
		var ok bool
		if ev, ok = e.waitRound(ev); !ok {
			ev.Update.Release(e.in)
			e.busy.Store(false)
			e.runFns()
			return
		}
		if it.kind != 0 {
			e.handle(it)
		}
		if ev.Kind != 0 {
			e.peerEvent(ev)
		}
		if track {
			e.nextHopsChanged()
		}
		// Coalesce: take whatever else is queued before deciding, so a
		// burst of UPDATEs costs one decision and one UPDATE per prefix.
		// A round stops at roundPrefixes changed prefixes, so that a full
		// table is decided, installed and passed on while it still
		// arrives, instead of all at once after its last UPDATE, and show
		// commands (which wait for the round) keep answering.
	drain:
		for i := 0; i < 4096 && e.pending() < roundPrefixes; i++ {
			select {
			case ev := <-e.events:
				e.peerEvent(ev)
			case it := <-e.queue:
				e.handle(it)
			default:
				break drain
			}
		}
		e.process()
		// Aggregates of aggregates: a few rounds at most.
		for i := 0; i < 8 && e.reprocess; i++ {
			e.reprocess = false
			e.process()
		}
		// Decided: what the round sends is queued on the sessions (their
		// OutQ) from here on.
		e.busy.Store(false)
		e.runFns()
		e.flush()
		e.signalSynced()
		releaseRound()
	}
}

// signalSynced tells settle's callers whose request this round took that
// it is over.
func (e *Engine) signalSynced() {
	if e.syncWant <= e.synced.Load() {
		return
	}
	e.synced.Store(e.syncWant)
	select {
	case e.syncC <- struct{}{}:
	default:
	}
}

// rounds holds a token for each decision round running in the process:
// at most one per processor. A lab runs hundreds of speakers in one
// process; when all their engines have work (a lab's start), a round that
// waits for its turn parked, rather than in the scheduler's queue, leaves
// that queue to the goroutines that must run on time (sessions sending
// KEEPALIVEs, readers, writers) instead of hundreds of rounds of up to
// 10 ms each. The engines are no slower for it, the processors being busy
// anyway. An engine waiting for its turn is not idle, though: it takes
// the UPDATEs that come into its Adj-RIBs-In (import policy, interning),
// without a token, as many engines at once as have some (waitRound); the
// rounds, which decide, install and advertise, are what take turns.
var rounds = make(chan struct{}, max(1, runtime.GOMAXPROCS(0)))

// acquireRound waits for a round's token, or for ctx (false).
func acquireRound(ctx context.Context) bool {
	select {
	case rounds <- struct{}{}:
		return true
	case <-ctx.Done():
		return false
	}
}

func releaseRound() { <-rounds }

// waitRound waits for a round's token, or for the engine's end (false).
// Meanwhile it takes the UPDATEs that come into the Adj-RIBs-In, and it
// asks for the token only once they stop coming (the queue found empty
// idleYields times, the processor given to the sessions' goroutines in
// between), or after maxTaken UPDATEs: the round that follows decides
// each prefix once, on the latest paths of its peers, however many
// UPDATEs changed them meanwhile. A busy speaker (a hub of a large lab, whose peers send
// faster than it decides) would otherwise decide, install and pass on
// each path its peers explored, a queue's worth at a time, while the rest
// waited in the sockets; and every round costs a write to each peer and
// to the kernel. On BA1000 this halves the CPU and the time to converge
// (docs/performance.md). Other events wait for the round, and so does
// every event after them, so that each peer's events keep their order:
// stash is the first (or a zero Event), returned to be handled in the
// round. So do UPDATEs once a round's worth of prefixes waits.
func (e *Engine) waitRound(stash peer.Event) (peer.Event, bool) {
	for yields, taken := 0, 0; stash.Kind == 0 && e.pending() < roundPrefixes; {
		if yields < idleYields && taken < maxTaken {
			select {
			case ev := <-e.events:
				stash = e.takeEvent(ev)
				taken++
			default:
				yields++
				runtime.Gosched()
			}
			continue
		}
		select {
		case rounds <- struct{}{}:
			return stash, true
		case ev := <-e.events:
			stash = e.takeEvent(ev)
		case <-e.ctx.Done():
			return stash, false
		}
	}
	return stash, acquireRound(e.ctx)
}

// takeEvent applies ev if it is an UPDATE, before its round, and returns
// it otherwise (for the round; a zero Event is returned as it is).
func (e *Engine) takeEvent(ev peer.Event) peer.Event {
	if ev.Kind != peer.Update {
		return ev
	}
	e.peerEvent(ev)
	return peer.Event{}
}

const (
	// idleYields is the number of times waitRound finds the queue empty
	// before it asks for a round's token: 8 and 32 did as well on BA500
	// and BA1000, 2 not quite.
	idleYields = 8
	// maxTaken bounds the UPDATEs waitRound takes before it asks for the
	// token, when they keep coming (it takes more while it waits for
	// the token, up to a round's worth of prefixes).
	maxTaken = 1 << 14
)

// roundPrefixes bounds the prefixes one round of the engine decides (see
// run): large enough that bursts coalesce, small enough that a round of a
// full table takes tens of milliseconds.
const roundPrefixes = 1 << 15

// pending returns the number of prefixes waiting for the decision process.
func (e *Engine) pending() int {
	n := 0
	for _, t := range e.tables {
		n += t.Pending()
	}
	return n
}

func (e *Engine) runFns() {
	v := &View{e: e}
	for _, fn := range e.fns {
		fn(v)
	}
	// The list is kept for the next round, but not the requests: each
	// holds its caller's result (a snapshot of whole tables), which would
	// stay reachable until another request took its slot.
	clear(e.fns)
	e.fns = e.fns[:0]
}

func (e *Engine) handle(it item) {
	switch it.kind {
	case itemAnnounce:
		e.announce(*it.orig)
	case itemWithdraw:
		e.withdrawOrigination(it.orig.Prefix, it.orig.Peers)
	case itemQuery:
		e.fns = append(e.fns, it.fn)
	case itemDo:
		it.do(e)
	case itemSync:
		e.syncWant = max(e.syncWant, it.seq)
	}
}

// peerEvent applies what a session reported.
func (e *Engine) peerEvent(ev peer.Event) {
	p := e.peers[ev.Peer]
	switch ev.Kind {
	case peer.Up:
		e.peerUp(p, ev.Up)
	case peer.Down:
		e.peerDown(p)
	case peer.Update:
		e.update(p, ev.Update)
	case peer.RefreshRequest:
		if p.up != nil {
			e.advertiseAll(p, ev.Family, true)
		}
	case peer.Resend:
		if p.up != nil {
			for _, f := range p.up.Families {
				e.advertiseAll(p, f, true)
			}
		}
	}
}

// announce originates o. An origination limited to some neighbours that
// repeats the route already originated (same attributes) adds them to its
// neighbours; anything else replaces it.
func (e *Engine) announce(o Origination) {
	if old, ok := e.orig[o.Prefix]; ok && len(o.Peers) > 0 && len(old.Peers) > 0 && old.sameRoute(&o) {
		peers := append(slices.Clone(old.Peers), o.Peers...)
		slices.SortFunc(peers, netip.Addr.Compare)
		o.Peers = slices.Compact(peers)
	}
	e.orig[o.Prefix] = o
	a := o.attrs()
	t := e.tables[famOf(o.Prefix)]
	if !t.Update(o.Prefix, rib.Path{Attrs: e.in.Intern(&a), NH: e.nhs.Get(e.local, netip.Addr{}, netip.Addr{}), Time: e.cfg.Clock.Now().UnixNano()}) {
		// The same attributes: the neighbours may have changed, which
		// the decision process does not see.
		e.forceExport(o.Prefix)
	}
}

// withdrawOrigination stops originating pfx, or only towards peers when
// given: the route stays originated to its other neighbours.
func (e *Engine) withdrawOrigination(pfx netip.Prefix, peers []netip.Addr) {
	o, ok := e.orig[pfx]
	if ok && len(peers) > 0 && len(o.Peers) > 0 {
		o.Peers = slices.DeleteFunc(slices.Clone(o.Peers), func(a netip.Addr) bool { return slices.Contains(peers, a) })
		if len(o.Peers) > 0 {
			e.orig[pfx] = o
			e.forceExport(pfx)
			return
		}
	}
	delete(e.orig, pfx)
	if t := e.tables[famOf(pfx)]; t != nil {
		t.Remove(pfx, e.local)
	}
}

// forceExport advertises pfx again to every peer (what it may be sent
// changed without a new decision).
func (e *Engine) forceExport(pfx netip.Prefix) {
	f := famOf(pfx)
	for _, p := range e.peers {
		if p.up != nil && slices.Contains(p.up.Families, f) {
			e.advertise(p, f, []netip.Prefix{pfx}, false)
		}
	}
}

func (e *Engine) peerUp(p *peerState, up *peer.Established) {
	if p.up != nil {
		e.peerDown(p)
	}
	p.up = up
	p.src.RouterID = up.RouterID
	cfg := p.cfg
	p.nh4, p.nh6, p.ll6 = cfg.NextHop4, cfg.NextHop6, netip.Addr{}
	if up.Local.Is4() {
		p.nh4 = up.Local
	} else if up.Local.IsValid() && !up.Local.IsLinkLocalUnicast() {
		p.nh6 = up.Local.WithZone("")
	}
	if e.track != nil && cfg.Interface != "" {
		p.ll6 = e.track.LinkLocal(cfg.Interface).WithZone("")
	}
	if !p.nh6.IsValid() {
		p.nh6 = p.ll6
	}
	for _, f := range up.Families {
		if p.out[f] == nil {
			p.out[f] = rib.NewAdjOut(e.tables[f])
		}
		e.advertiseAll(p, f, false)
		// End-of-RIB after the initial table (RFC 4724 section 2).
		e.queuedFor(p)
		up.Out.EndOfRIB(f)
	}
}

func (e *Engine) peerDown(p *peerState) {
	if p.up == nil {
		return
	}
	p.up = nil
	for _, t := range e.tables {
		t.RemoveSource(p.src)
	}
	for _, o := range p.out {
		o.Clear()
	}
	p.clearDenied(e)
	p.maxPrefixWarned = false
}

// linkLocalsChanged re-advertises a peer's IPv6 routes when the
// link-local address of its interface appeared or changed. A session can
// come up before the kernel has given the interface its link-local address
// (a lab's links and sessions start within milliseconds); its routes then
// carried the global next hop only, and the peer installed them through
// it. The seed's Quagga sends both, and so do we as soon as we can.
func (e *Engine) linkLocalsChanged() {
	if e.track == nil {
		return
	}
	for _, p := range e.peers {
		if p.up == nil || p.cfg.Interface == "" {
			continue
		}
		ll := e.track.LinkLocal(p.cfg.Interface).WithZone("")
		if ll == p.ll6 {
			continue
		}
		if p.nh6 == p.ll6 {
			p.nh6 = ll
		}
		p.ll6 = ll
		for _, f := range p.up.Families {
			if f.AFI == wire.AFIIPv6 {
				// Every export changed (its next hop), so every route
				// is sent again. The Adj-RIB-Out records the learned
				// sets an export is made of, which did not change: the
				// new exports are forced out.
				e.advertiseAll(p, f, true)
			}
		}
	}
}

// update applies a received UPDATE. Its attribute sets are interned
// already (by the reader), with a reference each that update takes over
// and gives back when done.
func (e *Engine) update(p *peerState, u *ribwire.Update) {
	defer func() {
		u.Release(e.in)
		u.Done()
	}()
	if p.up == nil || u == nil {
		return
	}
	now := e.cfg.Clock.Now().UnixNano()
	for i := range u.Parts {
		part := &u.Parts[i]
		f := part.Family
		t := e.tables[f]
		if t == nil || !slices.Contains(p.up.Families, f) || part.EndOfRIB {
			continue
		}
		for _, w := range part.Withdrawn {
			e.withdraw(p, t, f, w)
		}
		if part.Attrs == nil || len(part.NLRI) == 0 {
			continue
		}
		nh := e.nhs.Get(p.src, part.NextHop, part.LinkLocal)
		for _, n := range part.NLRI {
			if famOf(n) == f {
				e.receive(p, t, f, n, part.Attrs, nh, now)
			}
		}
		e.nhs.Release(nh)
	}
	e.checkMaxPrefix(p)
}

func (e *Engine) nextHopsChanged() {
	changed := e.nhs.Refresh()
	for _, t := range e.tables {
		t.MarkNextHops(changed)
	}
	e.linkLocalsChanged()
	// A peer waiting in Active whose address is reachable again is tried
	// at once instead of at its next ConnectRetry.
	for _, p := range e.peers {
		if _, ok := e.track.Resolve(p.cfg.PeerAddr); ok {
			e.cfg.Kick(p.id)
		}
	}
}

// process runs the decision process, then pushes the results to the
// kernel and to the peers.
func (e *Engine) process() {
	// Destinations left without paths go once the round has recorded
	// their withdrawals in every Adj-RIB-Out.
	defer func() {
		for _, t := range e.tables {
			t.Sweep()
		}
	}()
	n := 0
	for _, f := range families {
		t := e.tables[f]
		if t.Pending() == 0 {
			continue
		}
		if e.fib != nil && e.fibOps == nil {
			// One slice for the round's operations, of their number.
			e.fibOps = fib.NewBatch(e.pending())
		}
		t.Process(func(pfx netip.Prefix, old, nb *rib.Path, _ rib.Reason) {
			n++
			// What peers are sent depends on the best path's source and
			// attribute set only (next hop self): most decisions of a
			// busy speaker keep the best (a new path that lost), and its
			// peers need not be looked at. A nil old best may be one
			// just removed: it always counts as a change.
			if old == nil || nb == nil || old.Src() != nb.Src() || old.Attrs != nb.Attrs {
				e.changed[f] = append(e.changed[f], pfx)
			}
			if e.fib == nil {
				return
			}
			if rt, ok := e.kernelRoute(pfx, nb); ok {
				e.fibOps = append(e.fibOps, fib.Op{Route: rt})
			} else {
				// Whatever the kernel holds for pfx goes, even when the
				// old best is reported nil: Process reports a best path
				// that was removed (withdrawn, or its session went down)
				// as nil, and its route is installed. The FIB ignores
				// deletes of routes it never installed.
				e.fibOps = append(e.fibOps, fib.Op{Route: fib.Route{Dst: pfx}, Delete: true})
			}
		})
	}
	if n == 0 {
		return
	}
	e.version++
	if len(e.fibOps) > 0 {
		e.fib.Apply(e.fibOps)
		e.fibOps = nil
	}
	// Aggregates first: whether a more specific route is suppressed
	// decides what the peers are sent of it.
	if len(e.aggs) > 0 && e.updateAggregates(e.changed) {
		e.reprocess = true
	}
	for _, p := range e.peers {
		if p.up == nil {
			continue
		}
		for _, f := range p.up.Families {
			if ch := e.changed[f]; len(ch) > 0 {
				e.advertise(p, f, ch, false)
			}
		}
	}
	for _, f := range families {
		if cap(e.changed[f]) > 1024 {
			e.changed[f] = nil // the list of a large round is not kept
		} else {
			e.changed[f] = e.changed[f][:0]
		}
	}
	if len(e.groups) > maxKeptGroups {
		// Nor a large round's groups: a lab has hundreds of speakers.
		e.groups, e.groupOf = nil, nil
	}
	e.cfg.OnRound(n)
}

// kernelRoute is the kernel route of a best path: through the peer's
// link-local next hop on the session's interface for IPv6 (as the seed's
// `via fe80::… dev as1ra-eth1`), else through the next hop.
func (e *Engine) kernelRoute(pfx netip.Prefix, p *rib.Path) (fib.Route, bool) {
	if p == nil || p.Src().Local {
		return fib.Route{}, false
	}
	nh := p.NH
	if pfx.Addr().Is6() && nh.LinkLocal.IsValid() {
		idx := e.track.IfIndex(nh.LinkLocal.Zone())
		if idx == 0 {
			return fib.Route{}, false
		}
		return fib.Route{Dst: pfx, Gw: nh.LinkLocal.WithZone(""), IfIndex: idx}, true
	}
	if !nh.Global.IsValid() {
		return fib.Route{}, false
	}
	gw := nh.Global
	if nh.Via.IsValid() {
		// A next hop beyond our links (an iBGP peer's loopback): the
		// kernel route goes through the IGP's gateway towards it.
		gw = nh.Via
	}
	return fib.Route{Dst: pfx, Gw: gw, IfIndex: nh.IfIndex}, true
}
