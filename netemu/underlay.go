package netemu

import (
	"cmp"
	"container/heap"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"lab/topo"
)

// UnderlayProtocol is the rtm_protocol of the underlay's kernel routes:
// `ip route` shows them as `proto 201`. The speakers' BGP routes are 200
// (speaker/fib); no routing daemon registers 201 (/etc/iproute2/rt_protos),
// so a route of either kind is never taken for the other's.
const UnderlayProtocol = 201

// UnderlayRoute is one route of a router's underlay.
type UnderlayRoute struct {
	// Dst is a loopback of another router of the AS (/32 or /128), or the
	// subnet of a link inside the AS or on its border that the router is
	// not on.
	Dst netip.Prefix
	// Via is the neighbour's global address, of Dst's family, on the
	// first link of the path; the route is on-link through Dev.
	Via netip.Addr
	// Dev is the router's interface on that link.
	Dev string
	// Metric is the path's cost: the sum of its links' costs, plus, for a
	// link subnet, the cost of that link (reaching a subnet means crossing
	// onto it, as a stub network costs its interface's cost in OSPF).
	Metric uint32
}

// underlay stands in for an IGP inside every AS of two or more routers:
// shortest paths over the AS's links, installed as kernel routes (see
// docs/design.md, "The underlay").
type underlay struct {
	ases []*underAS // in Lab.ASes order
	of   map[*topo.AS]*underAS

	// mu guards routes, the routes last installed in each router (what
	// Underlay returns). Recomputations run in Build's underlay phase, one
	// goroutine per AS, before the Lab is shared, and afterwards under
	// Lab.linkMu, so no AS is ever recomputed by two goroutines at once.
	mu     sync.Mutex
	routes map[*nsNode][]UnderlayRoute
}

// underAS is an AS with an underlay: its routers and the links it routes
// over or to.
type underAS struct {
	as      *topo.AS
	routers []*topo.Router
	nodes   []*nsNode    // routers' namespaces, same order
	links   []*topo.Link // between two routers of the AS, Lab.Links order
	border  []*topo.Link // between a router of the AS and one of another AS
}

// newUnderlay finds the ASes that get an underlay and their links, and
// checks the routers' loopbacks (every router's, as Build puts them on lo).
func newUnderlay(m *topo.Lab, p *plan) (*underlay, error) {
	u := &underlay{of: map[*topo.AS]*underAS{}, routes: map[*nsNode][]UnderlayRoute{}}
	for _, r := range m.Routers {
		for _, a := range r.Loopbacks {
			if !a.IsValid() || a.Zone() != "" || a.Is4In6() || a.IsUnspecified() {
				msg := fmt.Sprintf("router %s: invalid loopback %v", r.Name, a)
				if ps := r.Pos.String(); ps != "" {
					msg = ps + ": " + msg
				}
				return nil, fmt.Errorf("%s: %w", msg, ErrBadModel)
			}
		}
	}
	for _, as := range m.ASes {
		if as == nil || len(as.Routers) < 2 {
			continue
		}
		ua := &underAS{as: as}
		for _, r := range as.Routers {
			n := p.byName[r.Name]
			if n == nil || n.node != &r.Node {
				return nil, fmt.Errorf("AS %d: router %s is not a node of the lab: %w", as.Number, r.Name, ErrBadModel)
			}
			ua.routers = append(ua.routers, r)
			ua.nodes = append(ua.nodes, n)
		}
		u.ases = append(u.ases, ua)
		u.of[as] = ua
	}
	for _, k := range m.Links {
		ra, rb := routerOf(k.A), routerOf(k.B)
		if k.LAN != nil || ra == nil || rb == nil || ra == rb {
			continue
		}
		if ra.AS == rb.AS {
			if ua := u.of[ra.AS]; ua != nil {
				ua.links = append(ua.links, k)
			}
			continue
		}
		for _, r := range []*topo.Router{ra, rb} {
			if ua := u.of[r.AS]; ua != nil {
				ua.border = append(ua.border, k)
			}
		}
	}
	return u, nil
}

func routerOf(i *topo.Interface) *topo.Router {
	if i == nil || i.Node == nil {
		return nil
	}
	return i.Node.Router()
}

// linkCost is a link's underlay metric; a model assembled in memory may
// leave it zero.
func linkCost(k *topo.Link) int {
	if k.Cost <= 0 {
		return topo.DefaultCost
	}
	return k.Cost
}

// edge is a link seen from one of its ends, in one family's graph.
type edge struct {
	to   int // the far end's router, an index in underAS.routers
	link *topo.Link
	cost int
	dev  string     // the near end's interface
	via  netip.Addr // the far end's address of the graph's family
}

// compute returns the underlay routes of each router of ua when the links
// for which up is true are up. It reads nothing but the model.
//
// For each family, the graph is the AS's links that are up and have
// addresses of that family; each router runs Dijkstra from itself. Ties
// between equal-cost paths are broken by their first link: the one that
// comes first in the topology (topo.Link.Index) wins. Every router's next
// hop then lies on a shortest path, so forwarding hop by hop cannot loop,
// and the same lab always gets the same routes.
func (ua *underAS) compute(up func(*topo.Link) bool) [][]UnderlayRoute {
	idx := make(map[*topo.Router]int, len(ua.routers))
	for i, r := range ua.routers {
		idx[r] = i
	}
	out := make([][]UnderlayRoute, len(ua.routers))
	for _, f := range []topo.Family{topo.IPv4, topo.IPv6} {
		adj := make([][]edge, len(ua.routers))
		var subnets []*topo.Link // intra-AS links of the graph
		for _, k := range ua.links {
			pa, oka := k.A.Addr(f)
			pb, okb := k.B.Addr(f)
			if !oka || !okb || !up(k) {
				continue
			}
			a, b := idx[routerOf(k.A)], idx[routerOf(k.B)]
			c := linkCost(k)
			adj[a] = append(adj[a], edge{to: b, link: k, cost: c, dev: k.A.Name, via: pb.Addr()})
			adj[b] = append(adj[b], edge{to: a, link: k, cost: c, dev: k.B.Name, via: pa.Addr()})
			subnets = append(subnets, k)
		}
		for s := range ua.routers {
			out[s] = append(out[s], ua.routesFrom(s, f, idx, adj, subnets, up)...)
		}
	}
	for _, rs := range out {
		slices.SortFunc(rs, func(a, b UnderlayRoute) int { return comparePrefix(a.Dst, b.Dst) })
	}
	return out
}

// routesFrom returns router s's routes of family f over the graph adj.
func (ua *underAS) routesFrom(s int, f topo.Family, idx map[*topo.Router]int, adj [][]edge, subnets []*topo.Link, up func(*topo.Link) bool) []UnderlayRoute {
	dist, first := shortestPaths(adj, s)
	type cand struct {
		metric int
		e      *edge
	}
	best := map[netip.Prefix]cand{}
	// offer proposes reaching dst through router at, plus extra.
	offer := func(dst netip.Prefix, at, extra int) {
		if at == s || first[at] == nil {
			return // our own, or unreachable
		}
		c := cand{dist[at] + extra, first[at]}
		if old, ok := best[dst]; ok && (old.metric < c.metric || old.metric == c.metric && old.e.link.Index <= c.e.link.Index) {
			return
		}
		best[dst] = c
	}
	for j, r := range ua.routers {
		if a, ok := r.Loopback(f); ok {
			offer(netip.PrefixFrom(a, a.BitLen()), j, 0)
		}
	}
	for _, k := range subnets {
		if ua.routers[s] == routerOf(k.A) || ua.routers[s] == routerOf(k.B) {
			continue
		}
		p, _ := k.A.Addr(f)
		for _, i := range []*topo.Interface{k.A, k.B} {
			offer(p.Masked(), idx[routerOf(i)], linkCost(k))
		}
	}
	for _, k := range ua.border {
		in := k.A
		if routerOf(in).AS != ua.as {
			in = k.B
		}
		p, ok := in.Addr(f)
		if !ok || !up(k) {
			continue
		}
		offer(p.Masked(), idx[routerOf(in)], linkCost(k))
	}
	out := make([]UnderlayRoute, 0, len(best))
	for dst, c := range best {
		out = append(out, UnderlayRoute{Dst: dst, Via: c.e.via, Dev: c.e.dev, Metric: uint32(c.metric)})
	}
	return out
}

// shortestPaths is Dijkstra from s: the distance to every router, and the
// first edge (from s) of the path chosen to it, nil for s and for routers
// it cannot reach. Among equal-cost paths the first edge whose link comes
// first in the topology wins: when a router is reached again at the same
// distance, the lower link index is kept. That is the minimum over every
// shortest path, because a router's first edge is final before any router
// it leads to is settled (costs are positive).
func shortestPaths(adj [][]edge, s int) ([]int, []*edge) {
	dist := make([]int, len(adj))
	first := make([]*edge, len(adj))
	done := make([]bool, len(adj))
	for i := range dist {
		dist[i] = -1
	}
	dist[s] = 0
	q := &distHeap{{0, s}}
	for q.Len() > 0 {
		u := heap.Pop(q).(distItem).node
		if done[u] {
			continue
		}
		done[u] = true
		for i := range adj[u] {
			e := &adj[u][i]
			v, d := e.to, dist[u]+e.cost
			via := first[u]
			if u == s {
				via = e
			}
			switch {
			case v == s || done[v]:
			case dist[v] < 0 || d < dist[v]:
				dist[v], first[v] = d, via
				heap.Push(q, distItem{d, v})
			case d == dist[v] && via.link.Index < first[v].link.Index:
				first[v] = via
			}
		}
	}
	return dist, first
}

type distItem struct{ dist, node int }

// distHeap is Dijkstra's priority queue (container/heap), nearest first.
type distHeap []distItem

func (h distHeap) Len() int { return len(h) }
func (h distHeap) Less(i, j int) bool {
	return h[i].dist < h[j].dist || h[i].dist == h[j].dist && h[i].node < h[j].node
}
func (h distHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *distHeap) Push(x any)   { *h = append(*h, x.(distItem)) }
func (h *distHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// comparePrefix orders IPv4 before IPv6, then by address and length.
func comparePrefix(a, b netip.Prefix) int {
	if c := a.Addr().Compare(b.Addr()); c != 0 {
		return c
	}
	return cmp.Compare(a.Bits(), b.Bits())
}

// linksUp reads from the kernel which of ua's links are up: both ends
// administratively up (IFF_UP) with carrier (IFF_LOWER_UP), as `link A B
// down` and `link IFACE down` leave neither. A blackholed link is up: it
// keeps its carrier. One dump of the interfaces per namespace involved.
func (l *Lab) linksUp(ua *underAS, socks *sockets) (map[*topo.Link]bool, error) {
	flags := map[*nsNode]map[string]uint32{}
	read := func(n *nsNode) error {
		if flags[n] != nil {
			return nil
		}
		s, err := socks.of(n)
		if err != nil {
			return err
		}
		links, err := s.h.LinkList()
		if err != nil {
			return fmt.Errorf("%s: listing interfaces: %w", n.node.Name, err)
		}
		m := make(map[string]uint32, len(links))
		for _, k := range links {
			m[k.Attrs().Name] = k.Attrs().RawFlags
		}
		flags[n] = m
		return nil
	}
	up := map[*topo.Link]bool{}
	for _, k := range slices.Concat(ua.links, ua.border) {
		le := l.plan.links[k]
		if le == nil {
			continue
		}
		ok := true
		for _, e := range []end{le.a, le.b} {
			if err := read(e.ns); err != nil {
				return nil, err
			}
			const want = unix.IFF_UP | unix.IFF_LOWER_UP
			ok = ok && flags[e.ns][e.dev]&want == want
		}
		up[k] = ok
	}
	return up, nil
}

// underNodes returns the namespaces an update of ua reads: its routers',
// and those at the far end of its border links.
func (l *Lab) underNodes(ua *underAS) []*nsNode {
	nodes := slices.Clone(ua.nodes)
	for _, k := range ua.border {
		if le := l.plan.links[k]; le != nil {
			nodes = append(nodes, le.a.ns, le.b.ns)
		}
	}
	return nodes
}

// updateAS recomputes ua's underlay from the kernel's link states and
// brings every router's routes to it: one batch of netlink requests per
// router whose routes change. fresh says the namespaces were just built
// and hold no underlay route yet; otherwise each router's current routes
// of protocol UnderlayProtocol are read from its kernel first, so that the
// update also repairs what someone (or the kernel, which drops the routes
// through an interface set down) changed by hand. It returns the routers
// whose routes changed. socks are the sockets of the operation; the caller
// holds Lab.mu for reading (the namespaces' fds stay open).
func (l *Lab) updateAS(ua *underAS, fresh bool, socks *sockets) ([]*nsNode, error) {
	// The sockets of every namespace read below, on one thread. A node
	// whose sockets cannot be opened fails where they are used, with its
	// name.
	_ = socks.open(l.underNodes(ua)...)
	up, err := l.linksUp(ua, socks)
	if err != nil {
		return nil, err
	}
	want := ua.compute(func(k *topo.Link) bool { return up[k] })
	var changed []*nsNode
	var errs []error
	for i, n := range ua.nodes {
		s, err := socks.of(n)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		var cur []UnderlayRoute
		if !fresh {
			if cur, err = installedUnderlay(n, s); err != nil {
				errs = append(errs, err)
				continue
			}
		}
		adds, dels := diffUnderlay(cur, want[i])
		if len(adds)+len(dels) > 0 {
			changed = append(changed, n)
			if err := sendRoutes(n, s, adds, dels); err != nil {
				errs = append(errs, err)
			}
		}
		l.under.mu.Lock()
		l.under.routes[n] = want[i]
		l.under.mu.Unlock()
	}
	return changed, errors.Join(errs...)
}

// diffUnderlay returns the routes to add (as replacements) and to delete
// to turn the kernel's routes cur into want. A kernel route is known by
// its destination and metric: adding a route whose metric differs from the
// one it supersedes adds a second route, so the old one is deleted, after
// the new one is in (no moment without a route); one with the same metric
// replaces it in place.
func diffUnderlay(cur, want []UnderlayRoute) (adds, dels []UnderlayRoute) {
	byDst := make(map[netip.Prefix]UnderlayRoute, len(want))
	for _, w := range want {
		byDst[w.Dst] = w
	}
	have := map[netip.Prefix]bool{}
	for _, c := range cur {
		w, ok := byDst[c.Dst]
		switch {
		case ok && w.Metric == c.Metric:
			// Kept as it is, or replaced in place by w.
			have[c.Dst] = have[c.Dst] || w == c
		default:
			dels = append(dels, c)
		}
	}
	for _, w := range want {
		if !have[w.Dst] {
			adds = append(adds, w)
		}
	}
	return adds, dels
}

// installedUnderlay reads n's underlay routes from its kernel through
// its sockets s.
func installedUnderlay(n *nsNode, s *rtnl) ([]UnderlayRoute, error) {
	rs, err := s.h.RouteListFiltered(netlink.FAMILY_ALL,
		&netlink.Route{Protocol: UnderlayProtocol, Table: unix.RT_TABLE_MAIN},
		netlink.RT_FILTER_PROTOCOL|netlink.RT_FILTER_TABLE)
	if err != nil {
		return nil, fmt.Errorf("%s: listing underlay routes: %w", n.node.Name, err)
	}
	names := make(map[int]string, len(n.index))
	for name, i := range n.index {
		names[i] = name
	}
	out := make([]UnderlayRoute, 0, len(rs))
	for _, r := range rs {
		if r.Dst == nil {
			continue
		}
		a, _ := netip.AddrFromSlice(r.Dst.IP)
		bits, _ := r.Dst.Mask.Size()
		gw, _ := netip.AddrFromSlice(r.Gw)
		dev, ok := names[r.LinkIndex]
		if !ok {
			dev = fmt.Sprintf("ifindex %d", r.LinkIndex)
		}
		out = append(out, UnderlayRoute{Dst: netip.PrefixFrom(a.Unmap(), bits), Via: gw.Unmap(), Dev: dev, Metric: uint32(r.Priority)})
	}
	return out, nil
}

// routeBatchLen is the number of route requests sent in one sendmsg. Only
// the last asks for an acknowledgement, but the kernel answers every
// failed request with its error (a copy of the request with it, about a
// kilobyte of receive buffer counting the kernel's overhead): the answers
// of a whole batch must fit the socket's default receive buffer (208 KiB)
// until they are read.
const routeBatchLen = 64

// sendRoutes adds (replacing) and then deletes routes in n's kernel, in
// batches of requests on the namespace's raw rtnetlink socket (of s):
// rtnetlink handles every request of a sendmsg before the call returns, so
// a router's whole table costs a few system calls. The socket is locked
// for the exchange, as netlink's own requests lock it.
func sendRoutes(n *nsNode, s *rtnl, adds, dels []UnderlayRoute) error {
	type op struct {
		del bool
		r   UnderlayRoute
	}
	ops := make([]op, 0, len(adds)+len(dels))
	for _, r := range adds {
		ops = append(ops, op{false, r})
	}
	for _, r := range dels {
		ops = append(ops, op{true, r})
	}
	sh := s.raw
	sh.Socket.Lock()
	defer sh.Socket.Unlock()
	fd := sh.Socket.GetFd()
	var errs []error
	buf := make([]byte, 0, routeBatchLen*96)
	for len(ops) > 0 {
		batch := ops[:min(len(ops), routeBatchLen)]
		ops = ops[len(batch):]
		last := atomic.AddUint32(&sh.Seq, uint32(len(batch)))
		first := last - uint32(len(batch)) + 1
		buf = buf[:0]
		for i, o := range batch {
			idx, ok := n.index[o.r.Dev]
			if !ok && !o.del {
				return fmt.Errorf("%s: underlay route %v: no interface %s", n.node.Name, o.r.Dst, o.r.Dev)
			}
			buf = appendUnderlayMsg(buf, o.del, o.r, idx, first+uint32(i), i == len(batch)-1)
		}
		res, err := exchangeRoutes(fd, buf, first, last)
		if err != nil {
			return fmt.Errorf("%s: underlay routes: %w", n.node.Name, err)
		}
		for i, e := range res {
			o := batch[i]
			if e == nil || o.del && e == unix.ESRCH {
				// A route to delete may be gone already: the kernel drops
				// the routes through an interface set down.
				continue
			}
			verb := "adding"
			if o.del {
				verb = "deleting"
			}
			errs = append(errs, fmt.Errorf("%s: %s underlay route %v via %v dev %s metric %d: %w",
				n.node.Name, verb, o.r.Dst, o.r.Via, o.r.Dev, o.r.Metric, e))
		}
	}
	return errors.Join(errs...)
}

// exchangeRoutes sends one batch of requests numbered first..last and
// returns each one's errno (nil when accepted). The answers are queued
// before sendto returns; the poll only guards against a kernel that would
// not, and a lost answer is an error rather than a hang.
func exchangeRoutes(fd int, req []byte, first, last uint32) ([]error, error) {
	if err := unix.Sendto(fd, req, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return nil, fmt.Errorf("netlink send: %w", err)
	}
	res := make([]error, last-first+1)
	in := make([]byte, 16<<10)
	deadline := time.Now().Add(5 * time.Second)
	for {
		nr, _, err := unix.Recvfrom(fd, in, unix.MSG_DONTWAIT)
		switch {
		case errors.Is(err, unix.EINTR):
			continue
		case errors.Is(err, unix.EAGAIN):
			left := time.Until(deadline)
			if left <= 0 {
				return nil, errors.New("netlink: no acknowledgement")
			}
			unix.Poll([]unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}, int(left.Milliseconds())+1)
			continue
		case err != nil:
			return nil, fmt.Errorf("netlink receive: %w", err)
		}
		for b := in[:nr]; len(b) >= unix.NLMSG_HDRLEN; {
			ln := int(binary.NativeEndian.Uint32(b[0:]))
			if ln < unix.NLMSG_HDRLEN || ln > len(b) {
				break
			}
			typ := binary.NativeEndian.Uint16(b[4:])
			seq := binary.NativeEndian.Uint32(b[8:])
			body := b[unix.NLMSG_HDRLEN:ln]
			b = b[min((ln+unix.NLMSG_ALIGNTO-1)&^(unix.NLMSG_ALIGNTO-1), len(b)):]
			if typ != unix.NLMSG_ERROR || seq < first || seq > last || len(body) < 4 {
				continue // an answer to someone else's request
			}
			if code := int32(binary.NativeEndian.Uint32(body)); code != 0 {
				res[seq-first] = unix.Errno(-code)
			}
			// Answers come in the order of the requests.
			if seq == last {
				return res, nil
			}
		}
	}
}

// appendUnderlayMsg appends the RTM_NEWROUTE (NLM_F_CREATE|NLM_F_REPLACE,
// as `ip route replace`) or RTM_DELROUTE request for r: table main,
// protocol UnderlayProtocol, metric r.Metric, through r.Via on the link
// (RTNH_F_ONLINK, `onlink`) out of ifindex. A delete names the
// destination, protocol and metric only, which is what identifies the
// route in both families (scope "nowhere" matches any, as `ip route del`).
func appendUnderlayMsg(b []byte, del bool, r UnderlayRoute, ifindex int, seq uint32, ack bool) []byte {
	ne := binary.NativeEndian
	typ, flags := uint16(unix.RTM_NEWROUTE), uint16(unix.NLM_F_REQUEST|unix.NLM_F_CREATE|unix.NLM_F_REPLACE)
	if del {
		typ, flags = unix.RTM_DELROUTE, unix.NLM_F_REQUEST
	}
	if ack {
		flags |= unix.NLM_F_ACK
	}
	start := len(b)
	b = ne.AppendUint32(b, 0) // length, set below
	b = ne.AppendUint16(b, typ)
	b = ne.AppendUint16(b, flags)
	b = ne.AppendUint32(b, seq)
	b = ne.AppendUint32(b, 0) // port id: the kernel's
	family := byte(unix.AF_INET6)
	if r.Dst.Addr().Is4() {
		family = unix.AF_INET
	}
	scope, rtype, rflags := byte(unix.RT_SCOPE_UNIVERSE), byte(unix.RTN_UNICAST), uint32(unix.RTNH_F_ONLINK)
	if del {
		scope, rtype, rflags = unix.RT_SCOPE_NOWHERE, unix.RTN_UNSPEC, 0
	}
	// struct rtmsg: family, dst_len, src_len, tos, table, protocol, scope,
	// type, flags.
	b = append(b, family, byte(r.Dst.Bits()), 0, 0, unix.RT_TABLE_MAIN, UnderlayProtocol, scope, rtype)
	b = ne.AppendUint32(b, rflags)
	b = appendRtAttr(b, unix.RTA_DST, r.Dst.Addr().AsSlice())
	b = appendRtAttr(b, unix.RTA_PRIORITY, ne.AppendUint32(nil, r.Metric))
	if !del {
		b = appendRtAttr(b, unix.RTA_GATEWAY, r.Via.Unmap().AsSlice())
		b = appendRtAttr(b, unix.RTA_OIF, ne.AppendUint32(nil, uint32(ifindex)))
	}
	ne.PutUint32(b[start:], uint32(len(b)-start))
	return b
}

// appendRtAttr appends a route attribute; values here are 4 or 16 bytes,
// already aligned.
func appendRtAttr(b []byte, typ uint16, v []byte) []byte {
	b = binary.NativeEndian.AppendUint16(b, uint16(unix.SizeofRtAttr+len(v)))
	b = binary.NativeEndian.AppendUint16(b, typ)
	return append(b, v...)
}

// addLoopbacks puts a router's loopback addresses on its namespace's lo,
// as /32 and /128 host addresses: before any speaker starts, since an
// iBGP session between loopbacks binds to one.
func addLoopbacks(n *nsNode) error {
	r := n.node.Router()
	if r == nil {
		return nil
	}
	// lo is ifindex 1 in every namespace.
	lo := &netlink.Device{LinkAttrs: netlink.LinkAttrs{Index: 1, Name: "lo"}}
	for _, a := range r.Loopbacks {
		if err := n.nl.h.AddrAdd(lo, &netlink.Addr{IPNet: prefixIPNet(netip.PrefixFrom(a, a.BitLen()))}); err != nil {
			return fmt.Errorf("%s: adding loopback %s to lo: %w", n.node.Name, a, err)
		}
	}
	return nil
}

// Underlay returns the underlay routes last installed in router's kernel,
// IPv4 first, each family by destination; nil for a router alone in its
// AS, and for a name that is no router of the lab.
func (l *Lab) Underlay(router string) []UnderlayRoute {
	n := l.plan.byName[router]
	if n == nil {
		return nil
	}
	l.under.mu.Lock()
	defer l.under.mu.Unlock()
	return slices.Clone(l.under.routes[n])
}

// updateUnderlayFor recomputes the underlay of the ASes that link k
// concerns: the AS of a link inside one, both ASes of a link between two
// (each carries the border subnet). It returns the names of the routers
// whose underlay routes changed, in the lab's node order. socks are the
// sockets of the operation; the caller holds Lab.linkMu, and Lab.mu for
// reading.
func (l *Lab) updateUnderlayFor(k *topo.Link, socks *sockets) ([]string, error) {
	if k == nil || k.LAN != nil {
		return nil, nil
	}
	var ases []*underAS
	for _, i := range []*topo.Interface{k.A, k.B} {
		if r := routerOf(i); r != nil {
			if ua := l.under.of[r.AS]; ua != nil && !slices.Contains(ases, ua) {
				ases = append(ases, ua)
			}
		}
	}
	changed := map[*nsNode]bool{}
	var errs []error
	for _, ua := range ases {
		ns, err := l.updateAS(ua, false, socks)
		for _, n := range ns {
			changed[n] = true
		}
		if err != nil {
			errs = append(errs, err)
		}
	}
	var names []string
	for _, n := range l.plan.nodes {
		if changed[n] {
			names = append(names, n.node.Name)
		}
	}
	return names, errors.Join(errs...)
}
