// Package fib connects a BGP speaker to the kernel of its router's network
// namespace: it installs the best routes into the namespace's main table
// over netlink (FIB), and it watches that table, the interfaces and their
// addresses to tell which next hops are reachable (Tracker).
//
// Routes are marked with protocol number Protocol (ip route shows `proto
// 200`) and metric Metric, so that they never mix with routes the kernel or
// the user made, and so that the tracker never resolves a next hop over a
// route of our own (RFC 4271 section 9.1.2.1 forbids resolving a next hop
// through the route it is the next hop of).
//
// Both open their netlink sockets inside the namespace, on a throwaway
// thread (internal/nsthread), so nothing here changes the namespace of the
// calling thread.
package fib

import (
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"sync/atomic"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"lab/internal/nsthread"
	"lab/speaker/internal/prefixkey"
)

const (
	// Protocol is the rtm_protocol of every route the speaker installs;
	// no other routing daemon registers 200.
	Protocol = 200
	// Metric is the priority of installed routes, FRR's eBGP distance.
	Metric = 20
)

// Route is a kernel route to Dst through Gw on interface IfIndex. An IPv6
// link-local Gw needs IfIndex. A zero Gw makes a route on the link.
type Route struct {
	Dst     netip.Prefix
	Gw      netip.Addr
	IfIndex int
}

// routeVal is what the installed table holds of a Route besides its
// destination.
type routeVal struct {
	gw      [16]byte
	gwKind  uint8 // 0: no gateway, 4: IPv4, 6: IPv6
	ifIndex int32
}

func valOf(r Route) routeVal {
	v := routeVal{ifIndex: int32(r.IfIndex)}
	if r.Gw.IsValid() {
		v.gw = r.Gw.As16()
		v.gwKind = 6
		if r.Gw.Is4() {
			v.gwKind = 4
		}
	}
	return v
}

func (v routeVal) route(dst netip.Prefix) Route {
	r := Route{Dst: dst, IfIndex: int(v.ifIndex)}
	switch v.gwKind {
	case 4:
		r.Gw = netip.AddrFrom16(v.gw).Unmap()
	case 6:
		r.Gw = netip.AddrFrom16(v.gw)
	}
	return r
}

// Op is one change to the kernel table: install (replace) or delete the
// route of Route.Dst.
type Op struct {
	Route  Route
	Delete bool
}

// FIB installs routes into a namespace's main table. A writer goroutine
// applies queued operations, coalescing them per prefix (only the last
// operation of a prefix queued since the previous batch reaches the kernel),
// so a burst of changes under load costs one netlink request per prefix
// at most, and those requests go to the kernel many per system call
// (routeSocket).
type FIB struct {
	// sock is owned by the writer goroutine, then by Close.
	sock *routeSocket
	ops  chan []Op
	sync chan chan struct{}
	done chan struct{}
	quit chan struct{}
	// applied counts the batches Apply queued, written those the writer
	// has written (Sync's shortcut).
	applied, written atomic.Uint64

	mu sync.Mutex
	// installed is what the kernel holds; written by the writer goroutine.
	// Its keys and values hold no pointers: with a full table (a million
	// routes) it is ~100 bytes a route instead of ~230, and the garbage
	// collector never scans it.
	installed map[prefixkey.Key]uint32 // the index of the route's gateway in gws
	// gws are the distinct gateways (with interface) of installed
	// routes, a few per speaker, and gwIdx their indexes: a route holds
	// 4 bytes of its gateway instead of 24.
	gws     []routeVal
	gwIdx   map[routeVal]uint32
	errs    int
	lastErr error
}

// Open returns a FIB for the namespace at nsPath ("" for the caller's own
// namespace). It first deletes routes of protocol Protocol left in the
// namespace by a previous run that did not end cleanly, through a netlink
// handle closed right after: from then on the FIB holds one socket, the
// writer's (a lab holds a FIB per router).
func Open(nsPath string) (*FIB, error) {
	h, err := handleAt(nsPath)
	if err != nil {
		return nil, err
	}
	err = flush(h)
	h.Close()
	if err != nil {
		return nil, err
	}
	f := &FIB{
		ops:       make(chan []Op, 256),
		sync:      make(chan chan struct{}),
		done:      make(chan struct{}),
		quit:      make(chan struct{}),
		installed: make(map[prefixkey.Key]uint32),
		gwIdx:     make(map[routeVal]uint32),
	}
	if f.sock, err = openRouteSocket(nsPath); err != nil {
		return nil, err
	}
	go f.run()
	return f, nil
}

// handleAt returns a netlink handle whose socket is opened inside the
// namespace at nsPath ("" for the caller's): a socket belongs for life to
// the namespace it was created in, whatever thread uses it later.
func handleAt(nsPath string) (*netlink.Handle, error) {
	var h *netlink.Handle
	err := nsthread.Run(nsPath, func() error {
		var err error
		if h, err = netlink.NewHandle(unix.NETLINK_ROUTE); err != nil {
			if nsPath != "" {
				return fmt.Errorf("netlink in %s: %w", nsPath, err)
			}
			return fmt.Errorf("netlink: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("fib: %w", err)
	}
	return h, nil
}

// rtnetlinkAt opens a bound rtnetlink socket inside the namespace at
// nsPath ("" for the caller's), for the route batcher and the
// notification sockets.
func rtnetlinkAt(nsPath string) (int, error) {
	fd, err := nsthread.NetlinkSocket(nsPath, unix.NETLINK_ROUTE)
	if err != nil {
		return -1, fmt.Errorf("fib: %w", err)
	}
	return fd, nil
}

// flush deletes every route of our protocol in the main table of h's
// namespace.
func flush(h *netlink.Handle) error {
	filter := &netlink.Route{Protocol: Protocol, Table: unix.RT_TABLE_MAIN}
	for _, fam := range []int{netlink.FAMILY_V4, netlink.FAMILY_V6} {
		rs, err := listRoutes(h, fam, filter, netlink.RT_FILTER_PROTOCOL|netlink.RT_FILTER_TABLE)
		if err != nil {
			return fmt.Errorf("fib: list routes: %w", err)
		}
		for i := range rs {
			if err := h.RouteDel(&rs[i]); err != nil && !errors.Is(err, unix.ESRCH) {
				return fmt.Errorf("fib: delete stale route %v: %w", rs[i].Dst, err)
			}
		}
	}
	return nil
}

// listRoutes dumps routes, retrying a dump the kernel interrupted.
func listRoutes(h *netlink.Handle, fam int, filter *netlink.Route, mask uint64) ([]netlink.Route, error) {
	var err error
	for try := 0; try < 5; try++ {
		var rs []netlink.Route
		rs, err = h.RouteListFiltered(fam, filter, mask)
		if !errors.Is(err, netlink.ErrDumpInterrupted) {
			return rs, err
		}
	}
	return nil, err
}

// Apply queues a batch of operations; the FIB owns ops afterwards (see
// NewBatch). It blocks when the writer is more
// than a few hundred batches behind, which slows the RIB goroutine down to
// the kernel's pace instead of queueing without bound. Apply must not be
// called after Close.
func (f *FIB) Apply(ops []Op) {
	if len(ops) == 0 {
		return
	}
	f.applied.Add(1)
	select {
	case f.ops <- ops:
	case <-f.quit:
	}
}

// Sync waits until every batch queued before it has reached the kernel.
// When every batch has (the usual case: `wait` asks every speaker of a
// lab that has long converged), it returns at once and allocates nothing.
func (f *FIB) Sync() {
	if f.written.Load() == f.applied.Load() {
		return
	}
	c := make(chan struct{})
	select {
	case f.sync <- c:
		<-c
	case <-f.quit:
	}
}

// Installed returns the routes the kernel holds from us, sorted by
// prefix.
func (f *FIB) Installed() []Route {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]Route, 0, len(f.installed))
	for k, v := range f.installed {
		out = append(out, f.gws[v].route(k.Prefix()))
	}
	sortRoutes(out)
	return out
}

// gwOf returns the index of v in f.gws, adding it when new. Called with mu
// held.
func (f *FIB) gwOf(v routeVal) uint32 {
	i, ok := f.gwIdx[v]
	if !ok {
		i = uint32(len(f.gws))
		f.gws = append(f.gws, v)
		f.gwIdx[v] = i
	}
	return i
}

// Errors returns the number of failed kernel operations and the last error.
func (f *FIB) Errors() (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.errs, f.lastErr
}

// Close stops the writer, deletes every route it installed and closes the
// route socket.
func (f *FIB) Close() error {
	close(f.quit)
	<-f.done
	var errs []error
	f.mu.Lock()
	ops := make([]Op, 0, len(f.installed))
	for k, v := range f.installed {
		ops = append(ops, Op{Route: f.gws[v].route(k.Prefix()), Delete: true})
	}
	clear(f.installed)
	f.mu.Unlock()
	for i, err := range f.sock.apply(ops) {
		if err != nil && !errors.Is(err, unix.ESRCH) {
			errs = append(errs, fmt.Errorf("fib: delete %v: %w", ops[i].Route.Dst, err))
		}
	}
	f.sock.close()
	return errors.Join(errs...)
}

// run is the writer goroutine. It writes each batch as it comes; when
// several are queued (the kernel is slower than the RIB), it merges them
// first, so that only the last operation of a prefix reaches the kernel.
func (f *FIB) run() {
	defer close(f.done)
	var batches [][]Op
	// drain takes whatever else is queued before touching the kernel.
	drain := func() {
		for {
			select {
			case ops := <-f.ops:
				batches = append(batches, ops)
			default:
				return
			}
		}
	}
	for {
		select {
		case <-f.quit:
			return
		case c := <-f.sync:
			// Everything queued before the Sync call is in f.ops already.
			drain()
			f.writeBatches(batches)
			clear(batches)
			batches = batches[:0]
			close(c)
		case ops := <-f.ops:
			batches = append(batches, ops)
			drain()
			f.writeBatches(batches)
			clear(batches)
			batches = batches[:0]
		}
	}
}

// writeBatches writes queued batches, merged when there are several, and
// gives their slices back for NewBatch.
func (f *FIB) writeBatches(batches [][]Op) {
	switch len(batches) {
	case 0:
		return
	case 1:
		f.write(batches[0])
	default:
		m := merge(batches)
		f.write(m.ops)
		m.put()
	}
	for _, b := range batches {
		recycle(b)
	}
	f.written.Add(uint64(len(batches)))
}

// merged is merge's result and scratch space, shared by the writers of
// the process through mergePool: a writer merges only while the kernel
// lags, and a merge map of its own, kept between bursts, would hold a
// table's worth of buckets per speaker for good.
type merged struct {
	ops []Op
	at  map[prefixkey.Key]int32
}

var mergePool = sync.Pool{New: func() any { return &merged{at: make(map[prefixkey.Key]int32)} }}

// put gives m back to the pool, unless it holds a burst's worth.
func (m *merged) put() {
	if cap(m.ops) > 1<<12 {
		return
	}
	clear(m.ops)
	m.ops = m.ops[:0]
	clear(m.at)
	mergePool.Put(m)
}

// merge returns the operations of batches, in order of first appearance
// of their prefix, each prefix with its last operation.
func merge(batches [][]Op) *merged {
	m := mergePool.Get().(*merged)
	for _, b := range batches {
		for _, op := range b {
			k := prefixkey.Of(op.Route.Dst)
			if i, ok := m.at[k]; ok {
				m.ops[i] = op
				continue
			}
			m.at[k] = int32(len(m.ops))
			m.ops = append(m.ops, op)
		}
	}
	return m
}

// NewBatch returns an empty slice with room for n operations, to fill
// for Apply: one a FIB's writer is done with, when there is one of that
// size. Every RIB goroutine applies a batch each round, of as many
// operations as the round has prefixes; on BA1000 new slices for them
// were a fifth of all the bytes the lab allocated while converging.
func NewBatch(n int) []Op {
	c := batchClass(n)
	if c >= batchClasses {
		return make([]Op, 0, n)
	}
	if b, _ := batchPools[c].Get().(*[]Op); b != nil {
		return (*b)[:0]
	}
	return make([]Op, 0, minBatch<<c)
}

// recycle gives a written batch's slice back for NewBatch, unless its
// capacity is not one NewBatch gives (it grew, or it is too large).
func recycle(b []Op) {
	c := batchClass(cap(b))
	if c >= batchClasses || cap(b) != minBatch<<c {
		return
	}
	clear(b)
	b = b[:0]
	batchPools[c].Put(&b)
}

// batchPools hold written batches by capacity class (minBatch << class),
// shared by the FIBs of the process: a batch is filled by one speaker's
// RIB goroutine and written by its FIB's writer, and few are in flight
// at once, whereas a slice kept per FIB would hold its largest round's
// size for good on each of hundreds of speakers. The pools let go of
// what is not used again within two collections.
var batchPools [batchClasses]sync.Pool

const (
	minBatch     = 16
	batchClasses = 11 // up to 16,384 operations
)

// batchClass returns the class of the smallest capacity of at least n.
func batchClass(n int) int {
	c := 0
	for minBatch<<c < n {
		c++
	}
	return c
}

func (f *FIB) write(batch []Op) {
	// What changes: a delete of a route we hold, or a route that differs
	// from the one we hold. The kernel sees them in one batch, filtered
	// in place (the batch is the writer's).
	ops := batch[:0]
	f.mu.Lock()
	for _, op := range batch {
		p := op.Route.Dst
		i, have := f.installed[prefixkey.Of(p)]
		switch {
		case op.Delete && !have:
			continue
		case op.Delete:
			op.Route = f.gws[i].route(p)
		case have && f.gws[i] == valOf(op.Route):
			continue
		case op.Route.Gw.IsValid() && op.Route.Gw.Unmap().Is4() != p.Addr().Is4():
			// No RTA_VIA routes: a next hop of the other family is refused.
			f.errs++
			f.lastErr = fmt.Errorf("fib: replace %v via %v: next hop of another family", p, op.Route.Gw)
			continue
		}
		ops = append(ops, op)
	}
	f.mu.Unlock()
	if len(ops) == 0 {
		return
	}
	errs := f.sock.apply(ops)
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, op := range ops {
		err := errs[i]
		if op.Delete && errors.Is(err, unix.ESRCH) {
			err = nil
		}
		p := op.Route.Dst
		switch {
		case err != nil:
			f.errs++
			f.lastErr = fmt.Errorf("fib: %s %v via %v: %w", map[bool]string{true: "delete", false: "replace"}[op.Delete], p, op.Route.Gw, err)
			if op.Delete {
				delete(f.installed, prefixkey.Of(p))
			}
		case op.Delete:
			delete(f.installed, prefixkey.Of(p))
		default:
			f.installed[prefixkey.Of(p)] = f.gwOf(valOf(op.Route))
		}
	}
}
