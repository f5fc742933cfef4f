package fib

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"slices"
	"sync"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// Tracker keeps a view of a namespace's main routing table and interfaces,
// dumped again after netlink link and address notifications (see
// monitorGroups), and answers whether a next hop is reachable.
//
// A next hop is reachable when a route of the main table covers it that is
// not ours (protocol Protocol), is unicast, whose interface is
// operationally up and which the kernel has not flagged linkdown. The last
// two catch the seed's case: after `ip link set dev as2rb-eth0 down` on the
// far end, as1ra's `2001:12::/64 dev as1ra-eth0 proto kernel linkdown`
// stays in the table but next hops on it are gone. A link-local next hop
// (zone = interface name) is reachable when its interface is up.
//
// The view is rebuilt from a fresh dump after every batch of notifications
// (the kernel does not notify every flag change of a route, but it changes
// them before it notifies the link change that caused it), and Changes
// signals each rebuild.
type Tracker struct {
	// h is the tracker's netlink handle, opened in the tracked namespace.
	// Its socket also keeps the namespace alive (a socket holds a
	// reference to its namespace), and with it the namespace id that the
	// hub's subscription is keyed by: no descriptor on the namespace
	// itself is needed for that.
	h       *netlink.Handle
	changes chan struct{}
	stop    chan struct{}
	done    chan struct{}
	mon     *os.File // the tracker's own notification socket, or nil (monitor.go)
	unsub   func()   // ends the hub's notifications, or nil (hub.go)

	// refreshMu serialises rebuilds: the tracker goroutine's and Sync's
	// share the netlink handle h.
	refreshMu sync.Mutex
	closed    bool // under refreshMu: Close has released h

	mu sync.RWMutex
	// The view, replaced whole by the tracker goroutine under mu.
	routes []trRoute // longest prefix first
	links  map[int]trLink
	byName map[string]int
	err    error
}

type trRoute struct {
	dst      netip.Prefix
	ifindex  int
	linkdown bool
	// gw is the route's gateway (a route of the lab's underlay, towards a
	// loopback); metric its metric (the underlay's path cost).
	gw     netip.Addr
	metric uint32
}

type trLink struct {
	name      string
	up        bool
	linkLocal netip.Addr
	addrs     []netip.Prefix
}

// NewTracker starts tracking the namespace at nsPath ("" for the caller's).
func NewTracker(nsPath string) (*Tracker, error) {
	h, err := handleAt(nsPath)
	if err != nil {
		return nil, err
	}
	t := &Tracker{h: h, changes: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	events := make(chan struct{}, 1)
	if err := t.subscribe(nsPath, events); err != nil {
		close(t.stop)
		h.Close()
		return nil, err
	}
	if err := t.refresh(); err != nil {
		close(t.stop)
		t.stopNotifications()
		h.Close()
		return nil, err
	}
	go t.run(events)
	return t, nil
}

// run is the tracker goroutine: one rebuild per burst of notifications.
func (t *Tracker) run(events chan struct{}) {
	defer close(t.done)
	for {
		select {
		case <-t.stop:
			return
		case <-events:
		}
		t.rebuild()
		select {
		case t.changes <- struct{}{}:
		default:
		}
	}
}

func (t *Tracker) rebuild() {
	t.refreshMu.Lock()
	err := t.refresh()
	t.refreshMu.Unlock()
	t.mu.Lock()
	t.err = err
	t.mu.Unlock()
}

// Sync rebuilds the view from the kernel now, without waiting for the
// notifications of changes just made (a link taken down a moment ago), and
// returns the rebuild's error. Changes is not signalled: the caller acts
// on the new view itself.
func (t *Tracker) Sync() error {
	t.rebuild()
	return t.Err()
}

func (t *Tracker) refresh() error {
	if t.closed {
		return ErrClosed
	}
	links, err := t.h.LinkList()
	if err != nil && !errors.Is(err, netlink.ErrDumpInterrupted) {
		return fmt.Errorf("fib: list links: %w", err)
	}
	lm := make(map[int]trLink, len(links))
	byName := make(map[string]int, len(links))
	for _, l := range links {
		a := l.Attrs()
		// Up is IFF_UP and IFF_LOWER_UP, not the operational state: the
		// carrier flag changes the moment the far end of a veth goes down,
		// while the operational state (and the routes' linkdown flag)
		// follow through the kernel's linkwatch, up to a second later when
		// both ends of a veth have the same interface number, as a lab's do.
		up := a.Flags&net.FlagUp != 0 && a.RawFlags&unix.IFF_LOWER_UP != 0
		lm[a.Index] = trLink{name: a.Name, up: up}
		byName[a.Name] = a.Index
	}
	addrs, err := t.h.AddrList(nil, netlink.FAMILY_ALL)
	if err != nil && !errors.Is(err, netlink.ErrDumpInterrupted) {
		return fmt.Errorf("fib: list addresses: %w", err)
	}
	for _, a := range addrs {
		l, ok := lm[a.LinkIndex]
		if !ok || a.IPNet == nil {
			continue
		}
		ip, ok := netip.AddrFromSlice(a.IP)
		if !ok {
			continue
		}
		ip = ip.Unmap()
		ones, _ := a.Mask.Size()
		if ip.Is6() && ip.IsLinkLocalUnicast() {
			if !l.linkLocal.IsValid() {
				l.linkLocal = ip.WithZone(l.name)
			}
		} else {
			l.addrs = append(l.addrs, netip.PrefixFrom(ip, ones))
		}
		lm[a.LinkIndex] = l
	}
	var routes []trRoute
	filter := &netlink.Route{Table: unix.RT_TABLE_MAIN}
	for _, fam := range []int{netlink.FAMILY_V4, netlink.FAMILY_V6} {
		rs, err := listRoutes(t.h, fam, filter, netlink.RT_FILTER_TABLE)
		if err != nil {
			return fmt.Errorf("fib: list routes: %w", err)
		}
		for _, r := range rs {
			if r.Protocol == Protocol || r.Type != unix.RTN_UNICAST || r.LinkIndex == 0 {
				continue
			}
			var dst netip.Prefix
			if r.Dst == nil {
				if fam == netlink.FAMILY_V4 {
					dst = netip.PrefixFrom(netip.IPv4Unspecified(), 0)
				} else {
					dst = netip.PrefixFrom(netip.IPv6Unspecified(), 0)
				}
			} else {
				ip, _ := netip.AddrFromSlice(r.Dst.IP)
				ones, _ := r.Dst.Mask.Size()
				dst = netip.PrefixFrom(ip.Unmap(), ones)
			}
			rt := trRoute{dst: dst, ifindex: r.LinkIndex, linkdown: r.Flags&unix.RTNH_F_LINKDOWN != 0}
			if gw, ok := netip.AddrFromSlice(r.Gw); ok && r.Gw != nil {
				// A route through a gateway: its metric is the cost to
				// it (the underlay's). A connected route costs nothing,
				// whatever the kernel's metric (256 for IPv6).
				rt.gw, rt.metric = gw.Unmap(), uint32(r.Priority)
			}
			routes = append(routes, rt)
		}
	}
	slices.SortStableFunc(routes, func(a, b trRoute) int { return b.dst.Bits() - a.dst.Bits() })
	t.mu.Lock()
	t.routes, t.links, t.byName = routes, lm, byName
	t.mu.Unlock()
	return nil
}

// Changes delivers a signal after each change of the view (coalesced: one
// pending signal at most).
func (t *Tracker) Changes() <-chan struct{} { return t.changes }

// Reach is how the kernel reaches a next hop.
type Reach struct {
	OK      bool
	IfIndex int
	// Metric is the metric of the route that covers the next hop (the
	// IGP cost of the lab's underlay; 0 for a connected route), Via its
	// gateway when it has one (a next hop beyond our links).
	Metric uint32
	Via    netip.Addr
}

// Lookup reports whether next hop a is reachable, and how. Safe for
// concurrent use.
func (t *Tracker) Lookup(a netip.Addr) Reach {
	t.mu.RLock()
	defer t.mu.RUnlock()
	if a.Is6() && a.IsLinkLocalUnicast() {
		idx, found := t.byName[a.Zone()]
		if !found {
			return Reach{}
		}
		return Reach{OK: t.links[idx].up, IfIndex: idx}
	}
	a = a.WithZone("")
	for _, r := range t.routes {
		if !r.dst.Contains(a) {
			continue
		}
		// A longest match that is down does not fall back to a shorter
		// one on another link: the kernel would not either.
		ok := !r.linkdown && t.links[r.ifindex].up
		return Reach{OK: ok, IfIndex: r.ifindex, Metric: r.metric, Via: r.gw}
	}
	return Reach{}
}

// Resolve reports whether next hop a is reachable and through which
// interface. Safe for concurrent use.
func (t *Tracker) Resolve(a netip.Addr) (ifindex int, ok bool) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	if a.Is6() && a.IsLinkLocalUnicast() {
		idx, found := t.byName[a.Zone()]
		if !found {
			return 0, false
		}
		return idx, t.links[idx].up
	}
	a = a.WithZone("")
	for _, r := range t.routes {
		if !r.dst.Contains(a) {
			continue
		}
		// A longest match that is down does not fall back to a shorter
		// one on another link: the kernel would not either.
		if r.linkdown || !t.links[r.ifindex].up {
			return r.ifindex, false
		}
		return r.ifindex, true
	}
	return 0, false
}

// IfIndex returns the index of the interface called name, or 0.
func (t *Tracker) IfIndex(name string) int {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.byName[name]
}

// LinkLocal returns the IPv6 link-local address of the interface called
// name (zoned with the name), or the zero Addr.
func (t *Tracker) LinkLocal(name string) netip.Addr {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.links[t.byName[name]].linkLocal
}

// Addrs returns the global addresses of the interface called name.
func (t *Tracker) Addrs(name string) []netip.Prefix {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return slices.Clone(t.links[t.byName[name]].addrs)
}

// Up reports whether the interface called name is operationally up.
func (t *Tracker) Up(name string) bool {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.links[t.byName[name]].up
}

// Err returns the last error of a rebuild, or nil.
func (t *Tracker) Err() error {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.err
}

func (t *Tracker) stopNotifications() {
	if t.mon != nil {
		t.mon.Close()
	}
	if t.unsub != nil {
		t.unsub()
	}
}

// Close stops tracking. A Sync after Close returns ErrClosed: the netlink
// handle is gone, and a closed handle would open its sockets in the
// caller's namespace, not the tracked one.
func (t *Tracker) Close() error {
	close(t.stop)
	t.stopNotifications()
	<-t.done
	t.refreshMu.Lock()
	t.closed = true
	t.h.Close()
	t.refreshMu.Unlock()
	return nil
}

// ErrClosed is returned by Sync after Close.
var ErrClosed = errors.New("fib: tracker closed")

func prefixIPNet(p netip.Prefix) *net.IPNet {
	return &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}
}

func sortRoutes(rs []Route) {
	slices.SortFunc(rs, func(a, b Route) int {
		if c := a.Dst.Addr().Compare(b.Dst.Addr()); c != 0 {
			return c
		}
		return a.Dst.Bits() - b.Dst.Bits()
	})
}
