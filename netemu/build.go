package netemu

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netlink/nl"
	"golang.org/x/sys/unix"

	"lab/internal/nsthread"
	"lab/topo"
)

// Build creates the lab m describes: a registered namespace per node with
// its sysctls, a veth pair per link (a bridge per LAN with several hosts),
// addresses, and the hosts' default routes. It is all or nothing: on error,
// or when ctx is cancelled, everything created so far is removed before it
// returns.
//
// The state file <RunDir>/<lab>.json is written before the first namespace
// is created. A lab of the same name whose daemon is dead is cleaned first
// (as Clean would); one whose daemon is alive makes Build fail with
// ErrRunning. A namespace that already exists and is not named by a dead
// lab's state makes it fail with ErrNamespaceExists, and is left alone.
func Build(ctx context.Context, m *topo.Lab, o Options) (*Lab, error) {
	p, err := makePlan(m)
	if err != nil {
		return nil, err
	}
	under, err := newUnderlay(m, p)
	if err != nil {
		return nil, err
	}
	o = o.withDefaults(m)
	l := &Lab{model: m, opts: o, plan: p, under: under}
	if err := l.claim(); err != nil {
		return nil, err
	}
	t0 := time.Now()
	if err := l.build(ctx); err != nil {
		if terr := l.teardown(); terr != nil {
			err = errors.Join(err, terr)
		}
		return nil, fmt.Errorf("building lab %s: %w", m.Name, err)
	}
	// The built lab holds no rtnetlink socket: operations open their own.
	for _, n := range p.nodes {
		n.nl.close()
		n.nl = nil
	}
	o.Logger.Debug("lab built", "lab", m.Name, "namespaces", len(p.nodes),
		"veths", len(p.veths), "bridges", len(p.bridges), "took", time.Since(t0))
	return l, nil
}

// claim takes the lab's name: it checks that no live lab has it and that
// none of its namespaces exist, cleans a dead lab of the same name, and
// writes the state file listing every namespace Build will create.
func (l *Lab) claim() error {
	name, dir := l.model.Name, l.opts.RunDir
	path := statePath(dir, name)
	if _, err := os.Lstat(path); err == nil {
		st, err := readState(path)
		if err != nil {
			return fmt.Errorf("lab %s: cannot read the state left by a previous run (remove it after checking): %w", name, err)
		}
		if st.Alive {
			return fmt.Errorf("lab %s (daemon pid %d): %w", name, st.PID, ErrRunning)
		}
		l.opts.Logger.Info("cleaning what a dead daemon of this lab left", "lab", name, "pid", st.PID)
		if _, err := cleanState(st); err != nil {
			return fmt.Errorf("lab %s: cleaning the previous run: %w", name, err)
		}
	}
	for _, n := range l.plan.nodes {
		if _, err := os.Lstat(filepath.Join(netnsDir, n.ns)); err == nil {
			return fmt.Errorf("node %s: %s: %w (no lab state names it; `ip netns del %s` removes it)",
				n.node.Name, filepath.Join(netnsDir, n.ns), ErrNamespaceExists, n.ns)
		} else if !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("node %s: %w", n.node.Name, err)
		}
	}
	_, start, err := procStat(l.opts.PID)
	if err != nil {
		return fmt.Errorf("lab %s: daemon pid %d: %w", name, l.opts.PID, err)
	}
	l.state = State{
		Name:       name,
		PID:        l.opts.PID,
		PIDStart:   start,
		File:       l.model.File,
		Socket:     l.opts.Socket,
		Namespaces: l.plan.namespaces(),
		Created:    time.Now().UTC().Truncate(time.Millisecond),
	}
	sp, err := writeStateExclusive(dir, l.state)
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("lab %s: %w (another daemon claimed it just now)", name, ErrRunning)
	}
	if err != nil {
		return fmt.Errorf("lab %s: %w", name, err)
	}
	l.statePath = sp
	return nil
}

// build runs the phases. Each phase is parallel and ends before the next
// starts: every namespace (with its defaults) exists before a veth end is
// placed in it, and every device exists before addresses are added.
func (l *Lab) build(ctx context.Context) error {
	if err := prepareNetnsDir(); err != nil {
		return err
	}
	// On this goroutine's thread, in the home namespace: the initial one
	// unless the daemon itself runs in a namespace.
	// Not fatal: a small lab works with the default limits, and /proc/sys
	// may be read-only (a container).
	changed, err := raiseNeighLimits(len(l.plan.veths))
	if len(changed) > 0 {
		l.opts.Logger.Info("raised the kernel's neighbour table limits", "sysctls", changed)
	}
	if err != nil {
		l.opts.Logger.Warn("cannot raise the kernel's neighbour table limits; big labs may see \"neighbor table overflow\"", "err", err)
	}
	p, par := l.plan, l.opts.Parallel
	phases := []struct {
		name string
		n    int
		fn   func(i int) error
	}{
		{"namespaces", len(p.nodes), func(i int) error { return makeNamespace(p.nodes[i]) }},
		{"bridges", len(p.bridges), func(i int) error { return makeBridge(p.bridges[i]) }},
		{"veths", len(p.veths), func(i int) error { return makeVeth(p.veths[i]) }},
		{"addresses and routes", len(p.nodes), func(i int) error { return configure(p.nodes[i]) }},
		{"loopbacks", len(p.nodes), func(i int) error { return addLoopbacks(p.nodes[i]) }},
		{"IPv6 ready", len(p.nodes), func(i int) error { return waitReady(ctx, p.nodes[i], p.nodes[i].nl, nil) }},
		// After every link is up: the underlay reads which are (underlay.go).
		{"underlay", len(l.under.ases), func(i int) error { _, err := l.updateAS(l.under.ases[i], true, buildSockets); return err }},
	}
	for _, ph := range phases {
		t0 := time.Now()
		fn := ph.fn
		if report := l.opts.Progress; report != nil {
			var done atomic.Int64
			report(ph.name, 0, ph.n)
			fn = func(i int) error {
				err := ph.fn(i)
				if err == nil {
					report(ph.name, int(done.Add(1)), ph.n)
				}
				return err
			}
		}
		if err := parallel(ctx, par, ph.n, fn); err != nil {
			return err
		}
		l.opts.Logger.Debug("build phase done", "lab", l.model.Name, "phase", ph.name, "count", ph.n, "took", time.Since(t0))
	}
	return nil
}

// parallel calls fn(0..n-1) from up to workers goroutines and returns the
// first error; after an error or ctx's cancellation no new call starts.
func parallel(ctx context.Context, workers, n int, fn func(i int) error) error {
	var (
		next  atomic.Int64
		once  sync.Once
		first error
		stop  atomic.Bool
		wg    sync.WaitGroup
	)
	fail := func(err error) {
		once.Do(func() { first = err })
		stop.Store(true)
	}
	for range min(workers, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				if err := ctx.Err(); err != nil {
					fail(err)
					return
				}
				if err := fn(i); err != nil {
					fail(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	return first
}

// makeNamespace creates n's namespace on a throwaway thread: unshare,
// register under /run/netns, open a namespace fd, set the sysctls (the
// defaults before any interface exists, so every interface inherits them),
// open the build's rtnetlink sockets in it and bring loopback up. The thread
// ends with it, still in the new namespace.
func makeNamespace(n *nsNode) error {
	return nsthread.Throwaway(func() error {
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			return fmt.Errorf("%s: creating its network namespace: %w", n.node.Name, err)
		}
		return setupNamespace(n)
	})
}

// setupNamespace does makeNamespace's work inside the new namespace.
func setupNamespace(n *nsNode) error {
	if err := registerThreadNS(n.ns); err != nil {
		return fmt.Errorf("node %s: %w", n.node.Name, err)
	}
	n.registered = true
	fd, err := openThreadNS()
	if err != nil {
		return err
	}
	n.fd = fd
	if n.id, err = nsIDOfFd(fd); err != nil {
		return fmt.Errorf("%s: %w", n.ns, err)
	}
	if err := writeSysctls(nodeSysctls(n.router)); err != nil {
		return fmt.Errorf("%s: %w", n.ns, err)
	}
	// The sockets are created by this thread, so they belong to the
	// namespace for their whole life, whatever thread uses them later.
	if n.nl, err = newRtnl(); err != nil {
		return fmt.Errorf("%s: %w", n.ns, err)
	}
	// Loopback is always ifindex 1 in a new namespace.
	if err := n.nl.h.LinkSetUp(&netlink.Device{LinkAttrs: netlink.LinkAttrs{Index: 1, Name: "lo"}}); err != nil {
		return fmt.Errorf("%s: bringing lo up: %w", n.ns, err)
	}
	return nil
}

// makeBridge creates a LAN bridge, up, with its ifindex, a fixed MAC (so
// it does not change as ports join) and multicast snooping off (IPv6
// neighbour discovery must reach every host whatever MLD state the bridge
// learnt). STP is off, the kernel's default, so ports forward at once.
func makeBridge(b *bridgeDev) error {
	snoop := false
	la := netlink.NewLinkAttrs()
	// A set Index asks the kernel for that ifindex (and spares the library
	// a lookup after creation).
	la.Name, la.Index, la.HardwareAddr, la.Flags = b.name, b.index, b.mac, net.FlagUp
	br := &netlink.Bridge{LinkAttrs: la, MulticastSnooping: &snoop}
	if err := b.ns.nl.h.LinkAdd(br); err != nil {
		return fmt.Errorf("%s: creating bridge %s: %w", b.ns.node.Name, b.name, err)
	}
	return nil
}

// makeVeth creates a veth pair with one RTM_NEWLINK sent to a's namespace
// that places the peer in b's (IFLA_NET_NS_FD): no end ever exists in the
// root namespace. The same request gives both ends their name, ifindex and
// MAC, and the a end IFF_UP and its bridge (IFLA_MASTER). (netlink.Handle's
// LinkAdd cannot set the peer's ifindex, and looks the device up again
// after creating it.)
func makeVeth(v *vethDev) error {
	req := &nl.NetlinkRequest{
		NlMsghdr: unix.NlMsghdr{
			Len:   unix.SizeofNlMsghdr,
			Type:  unix.RTM_NEWLINK,
			Flags: unix.NLM_F_REQUEST | unix.NLM_F_CREATE | unix.NLM_F_EXCL | unix.NLM_F_ACK,
		},
		Sockets: map[int]*nl.SocketHandle{unix.NETLINK_ROUTE: v.a.ns.nl.raw},
	}
	msg := nl.NewIfInfomsg(unix.AF_UNSPEC)
	msg.Index = int32(v.a.index)
	msg.Flags, msg.Change = unix.IFF_UP, unix.IFF_UP
	req.AddData(msg)
	req.AddData(nl.NewRtAttr(unix.IFLA_IFNAME, nl.ZeroTerminated(v.a.dev)))
	req.AddData(nl.NewRtAttr(unix.IFLA_ADDRESS, v.a.mac))
	if v.master != nil {
		req.AddData(nl.NewRtAttr(unix.IFLA_MASTER, nl.Uint32Attr(uint32(v.master.index))))
	}
	info := nl.NewRtAttr(unix.IFLA_LINKINFO, nil)
	info.AddRtAttr(nl.IFLA_INFO_KIND, nl.NonZeroTerminated("veth"))
	peer := info.AddRtAttr(nl.IFLA_INFO_DATA, nil).AddRtAttr(nl.VETH_INFO_PEER, nil)
	pmsg := nl.NewIfInfomsgChild(peer, unix.AF_UNSPEC)
	// The kernel applies the peer's ifinfomsg too (veth_newlink): its
	// index is honoured when the first end's is given. Not IFF_UP: the
	// peer is configured before the two ends are paired, and opening an
	// unpaired veth fails (ENOTCONN); configure brings it up.
	pmsg.Index = int32(v.b.index)
	peer.AddRtAttr(unix.IFLA_IFNAME, nl.ZeroTerminated(v.b.dev))
	peer.AddRtAttr(unix.IFLA_ADDRESS, v.b.mac)
	peer.AddRtAttr(unix.IFLA_NET_NS_FD, nl.Uint32Attr(uint32(v.b.ns.fd)))
	req.AddData(info)
	if _, err := req.Execute(unix.NETLINK_ROUTE, 0); err != nil {
		return fmt.Errorf("link %s: creating veth %s (%s, ifindex %d) <-> %s (%s, ifindex %d): %w",
			v.link, v.a.dev, v.a.ns.ns, v.a.index, v.b.dev, v.b.ns.ns, v.b.index, err)
	}
	return nil
}

// configure brings up the veth ends created from the other end's
// namespace, and adds the namespace's addresses and default routes. Every
// device exists, and its ifindex is known from the plan.
func configure(n *nsNode) error {
	dev := func(name string) netlink.Link {
		return &netlink.Device{LinkAttrs: netlink.LinkAttrs{Index: n.index[name], Name: name}}
	}
	h := n.nl.h
	for _, name := range n.upLater {
		if err := h.LinkSetUp(dev(name)); err != nil {
			return fmt.Errorf("%s: bringing %s up: %w", n.node.Name, name, err)
		}
	}
	for _, a := range n.addrs {
		// No IFA_F_NODAD: accept_dad=0 already skips duplicate address
		// detection, and without the flag the kernel marks the address
		// tentative until it has joined its solicited-node group, which
		// waitReady needs to see (see there).
		addr := &netlink.Addr{IPNet: prefixIPNet(a.p)}
		if err := h.AddrAdd(dev(a.dev), addr); err != nil {
			return fmt.Errorf("%s: adding %s to %s: %w", n.node.Name, a.p, a.dev, err)
		}
	}
	for _, r := range n.routes {
		dst := &net.IPNet{IP: net.IPv4zero.To4(), Mask: net.CIDRMask(0, 32)}
		if r.gw.Is6() {
			dst = &net.IPNet{IP: net.IPv6zero, Mask: net.CIDRMask(0, 128)}
		}
		rt := &netlink.Route{
			LinkIndex: n.index[r.dev],
			Dst:       dst,
			Gw:        net.IP(r.gw.AsSlice()),
			// What `ip route add` uses, so `ip route` shows the route as
			// one a person typed.
			Protocol: unix.RTPROT_BOOT,
		}
		if err := h.RouteAdd(rt); err != nil {
			return fmt.Errorf("%s: default route via %s dev %s: %w", n.node.Name, r.gw, r.dev, err)
		}
	}
	return nil
}

// readyTimeout bounds waitReady: the kernel's work is a few microseconds
// per address, so not being done after this long means something is
// broken.
const readyTimeout = 10 * time.Second

// waitReady waits until no IPv6 address of n's devices in devs (all when
// devs is nil) that have a carrier is tentative. The kernel joins an
// address's solicited-node multicast group asynchronously, in its
// addrconf work queue, after the address is added or its device comes up;
// until then neighbour solicitations for the address are dropped, and the
// first ping or BGP connection to it stalls for a second (the
// solicitation's retransmission time). With accept_dad=0 the same work
// item clears the address's tentative flag right after joining, so "no
// tentative address" means "every address answers neighbour discovery".
// The link-local address itself comes later still: the kernel creates it
// (and its fe80::/64 route) from the same work queue once the carrier is
// up, 100 to 300 ms after a 4-router lab's build; until then a router has
// no route to a peer's link-local address (the next hop of every IPv6 BGP
// route) and pings across the lab fail for that long. So a device with a
// carrier must also have its link-local address. Devices without carrier
// are skipped: the kernel starts that work only once the link is up. s
// is n's sockets.
func waitReady(ctx context.Context, n *nsNode, s *rtnl, devs []string) error {
	deadline := time.Now().Add(readyTimeout)
	for {
		pending, err := notReady(n, s, devs)
		if err != nil {
			return err
		}
		if len(pending) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s: IPv6 addresses not ready after %v: %s", n.node.Name, readyTimeout, strings.Join(pending, ", "))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(2 * time.Millisecond):
		}
	}
}

// notReady lists what is not ready yet on n's devices in devs (nil: all)
// that have a carrier: tentative IPv6 addresses ("dev addr") and missing
// link-local addresses ("dev: no link-local address").
func notReady(n *nsNode, s *rtnl, devs []string) ([]string, error) {
	links, err := s.h.LinkList()
	if err != nil {
		return nil, fmt.Errorf("%s: listing interfaces: %w", n.node.Name, err)
	}
	carrier := map[int]string{}
	for _, k := range links {
		a := k.Attrs()
		if a.RawFlags&unix.IFF_LOWER_UP != 0 && a.RawFlags&unix.IFF_LOOPBACK == 0 && (devs == nil || slices.Contains(devs, a.Name)) {
			carrier[a.Index] = a.Name
		}
	}
	addrs, err := s.h.AddrList(nil, netlink.FAMILY_V6)
	if err != nil {
		return nil, fmt.Errorf("%s: listing addresses: %w", n.node.Name, err)
	}
	var out []string
	hasLL := map[int]bool{}
	pending := map[int]bool{}
	for _, a := range addrs {
		dev, ok := carrier[a.LinkIndex]
		if !ok {
			continue
		}
		if a.Flags&unix.IFA_F_TENTATIVE != 0 {
			out = append(out, dev+" "+a.IPNet.String())
			pending[a.LinkIndex] = true
		} else if a.IP.IsLinkLocalUnicast() {
			hasLL[a.LinkIndex] = true
		}
	}
	for idx, dev := range carrier {
		if !hasLL[idx] {
			out = append(out, dev+": no link-local address")
			pending[idx] = true
		}
	}
	for idx := range pending {
		syncLinkState(s, idx)
	}
	slices.Sort(out)
	return out, nil
}

// syncLinkState has the kernel apply a device's pending carrier change
// now. The kernel's linkwatch applies a carrier change (the operational
// state, the qdisc, and with them the IPv6 link readiness that creates the
// link-local address) at once only when it deems it urgent, and a veth
// whose two ends have the same ifindex, as a lab's ethN ends often do
// (docs/design.md), is not: its change waits for linkwatch's next
// periodic run, up to a second later. A 200-router lab's build waited
// 0.5 to 4 s for it. An RTM_GETLINK of the one device (not a dump) makes
// the kernel sync that device's pending change first (rtnl_getlink calls
// linkwatch_sync_dev), and costs a few microseconds; on a kernel that
// does not, it changes nothing.
func syncLinkState(s *rtnl, idx int) {
	s.h.LinkByIndex(idx) // only the side effect matters
}

// prefixIPNet converts an address with its prefix length (not masked) to
// the net.IPNet form netlink takes.
func prefixIPNet(p netip.Prefix) *net.IPNet {
	bits := 32
	if p.Addr().Is6() {
		bits = 128
	}
	return &net.IPNet{IP: net.IP(p.Addr().AsSlice()), Mask: net.CIDRMask(p.Bits(), bits)}
}
