package netemu

import (
	"context"
	"errors"
	"fmt"
	"net"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"lab/topo"
)

// SetLink sets both ends of link k administratively up or down, as
// Mininet's `link A B down`: each end's carrier follows the other end. For
// a host on a bridged LAN the router's end is the host's bridge port, so
// the other hosts keep their link. The underlay of the link's AS (of both
// ASes for a link between two) follows: see SetLinkChanged.
func (l *Lab) SetLink(k *topo.Link, up bool) error {
	_, err := l.SetLinkChanged(k, up)
	return err
}

// SetLinkChanged is SetLink, and returns the routers whose underlay routes
// it changed, in the lab's node order: the underlay of the AS(es) the link
// concerns is recomputed from the kernel's link states once the link is
// down, or up and ready. A router's speaker reads its routes from the
// kernel when told to (it does not follow route changes by itself), so
// the caller asks these routers to, as it asks the link's two ends.
func (l *Lab) SetLinkChanged(k *topo.Link, up bool) ([]string, error) {
	le := l.plan.links[k]
	if le == nil {
		return nil, fmt.Errorf("link %v: %w", k, ErrNotInLab)
	}
	l.linkMu.Lock()
	defer l.linkMu.Unlock()
	l.mu.RLock()
	defer l.mu.RUnlock()
	if l.closed {
		return nil, ErrClosed
	}
	var socks sockets
	defer socks.close()
	// Both ends' on one thread; setDevice reports a failure to open.
	_ = socks.open(le.a.ns, le.b.ns)
	err := errors.Join(setDevice(&socks, le.a.ns, le.a.dev, up), setDevice(&socks, le.b.ns, le.b.dev, up))
	if err == nil && up {
		err = errors.Join(waitUp(&socks, le.a.ns, le.a.iface.Name), waitUp(&socks, le.b.ns, le.b.iface.Name))
	}
	// Even after an error: the underlay follows what the kernel has.
	changed, uerr := l.updateUnderlayFor(k, &socks)
	return changed, errors.Join(err, uerr)
}

// waitUp waits, after a device came up, until the IPv6 addresses of n's
// interface iface answer neighbour discovery (see waitReady). For a bridge
// port, iface is the bridge: its addresses.
func waitUp(socks *sockets, n *nsNode, iface string) error {
	s, err := socks.of(n)
	if err != nil {
		return err
	}
	return waitReady(context.Background(), n, s, []string{iface})
}

// SetInterface sets one interface administratively up or down, as the
// seed's `ip link set dev as2rb-eth0 down`: the other end stays up but
// loses its carrier. The router interface of a bridged LAN is the bridge:
// taking it down cuts the router from every host of the LAN. The underlay
// follows, as for SetLink: see SetInterfaceChanged.
func (l *Lab) SetInterface(i *topo.Interface, up bool) error {
	_, err := l.SetInterfaceChanged(i, up)
	return err
}

// SetInterfaceChanged is SetInterface, and returns the routers whose
// underlay routes it changed, as SetLinkChanged does: a link with one end
// down is out of the underlay.
func (l *Lab) SetInterfaceChanged(i *topo.Interface, up bool) ([]string, error) {
	n := l.plan.ifaces[i]
	if n == nil {
		return nil, fmt.Errorf("interface %v: %w", ifaceName(i), ErrNotInLab)
	}
	l.linkMu.Lock()
	defer l.linkMu.Unlock()
	l.mu.RLock()
	defer l.mu.RUnlock()
	if l.closed {
		return nil, ErrClosed
	}
	var socks sockets
	defer socks.close()
	err := setDevice(&socks, n, i.Name, up)
	if err == nil && up {
		err = waitUp(&socks, n, i.Name)
	}
	changed, uerr := l.updateUnderlayFor(i.Link, &socks)
	return changed, errors.Join(err, uerr)
}

func ifaceName(i *topo.Interface) string {
	if i == nil {
		return "<nil>"
	}
	return i.Name
}

// setDevice sets a device of n administratively up or down. The device is
// looked up by name each time, so the operation acts on what the kernel
// has now, even if someone recreated the device by hand.
func setDevice(socks *sockets, n *nsNode, dev string, up bool) error {
	s, err := socks.of(n)
	if err != nil {
		return err
	}
	k, err := s.h.LinkByName(dev)
	if err != nil {
		return fmt.Errorf("%s: %s: %w", n.node.Name, dev, err)
	}
	if up {
		err = s.h.LinkSetUp(k)
	} else {
		err = s.h.LinkSetDown(k)
	}
	if err != nil {
		state := "down"
		if up {
			state = "up"
		}
		return fmt.Errorf("%s: setting %s %s: %w", n.node.Name, dev, state, err)
	}
	return nil
}

// LinkStatus is the state of a link's two ends, read from the kernel.
type LinkStatus struct {
	Link *topo.Link
	A, B EndStatus
	// Blackholed is true when either end drops what it receives.
	Blackholed bool
}

// Up reports whether traffic can cross the link: both ends up with
// carrier and no blackhole.
func (s LinkStatus) Up() bool { return s.A.Working() && s.B.Working() && !s.Blackholed }

// EndStatus is the state of one end of a link.
type EndStatus struct {
	Iface *topo.Interface
	// Device is the kernel device carrying the link: the interface, or for
	// the router end of a bridged LAN link the host's bridge port.
	Device string
	// AdminUp is the device's IFF_UP; for a bridge port, the port's and
	// the bridge's.
	AdminUp bool
	// Carrier is IFF_LOWER_UP: the other end of the veth is up.
	Carrier bool
	// OperState is the RFC 2863 state `ip link` prints (UP, DOWN,
	// LOWERLAYERDOWN).
	OperState string
	// Blackholed is true when the device's ingress drops every packet.
	Blackholed bool
	// Err is set when the state could not be read; the other fields are
	// then meaningless.
	Err error
}

// Working reports whether the end is up with carrier and not blackholed.
func (e EndStatus) Working() bool {
	return e.Err == nil && e.AdminUp && e.Carrier && !e.Blackholed
}

// String is a short state: "up", "down" (administratively), "no-carrier",
// "blackholed" or "error".
func (e EndStatus) String() string {
	switch {
	case e.Err != nil:
		return "error"
	case !e.AdminUp:
		return "down"
	case !e.Carrier:
		return "no-carrier"
	case e.Blackholed:
		return "blackholed"
	}
	return "up"
}

// LinkStatus reads the state of both ends of k from the kernel. Errors
// (a link of another lab, a closed lab) are in the ends' Err.
func (l *Lab) LinkStatus(k *topo.Link) LinkStatus {
	return l.LinkStatuses([]*topo.Link{k})[0]
}

// LinkStatuses returns the state of each of ks, as LinkStatus does, in
// their order. Each namespace their ends are in is read once, however
// many of the links end there: one thread enters them in turn to open
// its sockets, and its devices and blackhole chains are listed once. The
// web page reads every link every second while it is watched; a link at
// a time, each with a thread and four sockets of its own, that was 30 ms
// of CPU a second on a lab of 50 routers.
func (l *Lab) LinkStatuses(ks []*topo.Link) []LinkStatus {
	out := make([]LinkStatus, len(ks))
	l.mu.RLock()
	defer l.mu.RUnlock()
	// The namespaces to read, each once.
	at := map[*nsNode]int{}
	var nodes []*nsNode
	for i, k := range ks {
		out[i].Link = k
		le := l.plan.links[k]
		switch {
		case le == nil:
			err := fmt.Errorf("link %v: %w", k, ErrNotInLab)
			out[i].A.Err, out[i].B.Err = err, err
			continue
		case l.closed:
			out[i].A = EndStatus{Iface: le.a.iface, Device: le.a.dev, Err: ErrClosed}
			out[i].B = EndStatus{Iface: le.b.iface, Device: le.b.dev, Err: ErrClosed}
			continue
		}
		for _, e := range []end{le.a, le.b} {
			if _, ok := at[e.ns]; !ok {
				at[e.ns] = len(nodes)
				nodes = append(nodes, e.ns)
			}
		}
	}
	if len(nodes) == 0 {
		return out
	}
	// The sockets are opened on one thread, which enters each namespace
	// in turn (inNodes), and closed once read: the built lab holds none
	// (rtnl.go). They are read from here, not from that thread, where a
	// goroutine locked to it would hand the thread over at every blocking
	// read (BenchmarkLinkStatus: a third more time).
	hs := make([]*netlink.Handle, len(nodes))
	nfs := make([]*nftables.Conn, len(nodes))
	errs := inNodes(nodes, func(i int) error {
		h, err := netlink.NewHandle(unix.NETLINK_ROUTE)
		if err != nil {
			return fmt.Errorf("%s: rtnetlink socket: %w", nodes[i].node.Name, err)
		}
		c, err := nftables.New(nftables.AsLasting())
		if err != nil {
			h.Close()
			return fmt.Errorf("%s: nftables: %w", nodes[i].node.Name, err)
		}
		hs[i], nfs[i] = h, c
		return nil
	})
	defer func() {
		for i := range nodes {
			if errs[i] == nil {
				hs[i].Close()
				nfs[i].CloseLasting()
			}
		}
	}()
	// What each namespace holds, listed when first needed.
	views := make([]*nsView, len(nodes))
	view := func(i int) *nsView {
		if views[i] == nil {
			views[i] = l.readNS(nodes[i], hs[i], nfs[i])
		}
		return views[i]
	}
	for i, k := range ks {
		le := l.plan.links[k]
		if le == nil || l.closed {
			continue
		}
		st := &out[i]
		for j, e := range []end{le.a, le.b} {
			es := &st.A
			br := le.bridge
			if j == 1 {
				es, br = &st.B, nil
			}
			*es = EndStatus{Iface: e.iface, Device: e.dev}
			if n := at[e.ns]; errs[n] != nil {
				es.Err = errs[n]
			} else {
				es.Err = view(n).readEnd(es, e, br)
			}
		}
		st.Blackholed = st.A.Blackholed || st.B.Blackholed
	}
	return out
}

// nsView is what LinkStatuses read of a namespace: its devices by name
// and the blackhole chains of the lab's table, or why it could not.
type nsView struct {
	links    map[string]netlink.Link
	linksErr error
	chains   map[string]bool
	chainErr error
	table    *nftables.Table
}

// readNS lists n's devices and blackhole chains through h and c, sockets
// of n's namespace.
func (l *Lab) readNS(n *nsNode, h *netlink.Handle, c *nftables.Conn) *nsView {
	v := &nsView{table: l.blackholeTable()}
	links, err := h.LinkList()
	if err != nil {
		v.linksErr = fmt.Errorf("%s: listing devices: %w", n.node.Name, err)
	} else {
		v.links = make(map[string]netlink.Link, len(links))
		for _, k := range links {
			v.links[k.Attrs().Name] = k
		}
	}
	if v.chains, err = l.tableChains(c); err != nil {
		v.chainErr = fmt.Errorf("%s: listing nftables chains: %w", n.node.Name, err)
	}
	return v
}

// readEnd reads the state of e, of which br is the bridge when e is a
// bridge port, into es.
func (v *nsView) readEnd(es *EndStatus, e end, br *bridgeDev) error {
	if v.linksErr != nil {
		return v.linksErr
	}
	k, ok := v.links[e.dev]
	if !ok {
		return fmt.Errorf("%s: %s: %w", e.ns.node.Name, e.dev, errNoDevice)
	}
	a := k.Attrs()
	es.AdminUp = a.Flags&net.FlagUp != 0
	es.Carrier = a.RawFlags&unix.IFF_LOWER_UP != 0
	es.OperState = operState(a.OperState)
	if br != nil {
		b, ok := v.links[br.name]
		if !ok {
			return fmt.Errorf("%s: bridge %s: %w", e.ns.node.Name, br.name, errNoDevice)
		}
		es.AdminUp = es.AdminUp && b.Attrs().RawFlags&unix.IFF_UP != 0
	}
	if v.chainErr != nil {
		return v.chainErr
	}
	es.Blackholed = v.chains[blackholeChain(v.table, e.dev).Name]
	return nil
}

// errNoDevice is a link's device missing from its namespace (deleted by
// hand, say).
var errNoDevice = errors.New("no such device")

// operState renders an operstate as `ip link` does.
func operState(s netlink.LinkOperState) string {
	switch s {
	case netlink.OperUp:
		return "UP"
	case netlink.OperDown:
		return "DOWN"
	case netlink.OperLowerLayerDown:
		return "LOWERLAYERDOWN"
	case netlink.OperDormant:
		return "DORMANT"
	case netlink.OperNotPresent:
		return "NOTPRESENT"
	case netlink.OperTesting:
		return "TESTING"
	}
	return "UNKNOWN"
}

// blackholeTable is the nftables table (family netdev) holding a lab's
// blackhole chains in a namespace; blackholeChain the chain of one device.
func (l *Lab) blackholeTable() *nftables.Table {
	return &nftables.Table{Family: nftables.TableFamilyNetdev, Name: "lab_" + l.model.Name}
}

func blackholeChain(t *nftables.Table, dev string) *nftables.Chain {
	prio := nftables.ChainPriority(-500)
	policy := nftables.ChainPolicyAccept
	return &nftables.Chain{
		Name:     "blackhole_" + dev,
		Table:    t,
		Type:     nftables.ChainTypeFilter,
		Hooknum:  nftables.ChainHookIngress,
		Priority: &prio,
		Policy:   &policy,
		Device:   dev,
	}
}

// Blackhole makes both ends of k drop every packet they receive (on=true),
// or stops it (on=false). The carrier stays up and no interface event
// reaches anything, so a BGP session over the link only notices when its
// hold timer expires, as when a real link fails silently.
//
// Each end gets, in its namespace, a base chain on the netdev ingress hook
// of its device with one rule, `counter drop`, in the table
// "lab_<lab>" (see it with `ip netns exec <lab>-<node> nft list ruleset`).
// Turning it on or off twice is harmless. The chain's priority, -500,
// puts it before any chain a user adds at the usual filter priority. The
// underlay does not change: the link keeps its carrier, so it stays in the
// AS's shortest paths and what the underlay sends over it is lost.
func (l *Lab) Blackhole(k *topo.Link, on bool) error {
	le := l.plan.links[k]
	if le == nil {
		return fmt.Errorf("link %v: %w", k, ErrNotInLab)
	}
	l.linkMu.Lock()
	defer l.linkMu.Unlock()
	l.mu.RLock()
	defer l.mu.RUnlock()
	if l.closed {
		return ErrClosed
	}
	return errors.Join(l.blackholeEnd(le.a, on), l.blackholeEnd(le.b, on))
}

// blackholeEnd adds or removes the blackhole of one end in one nf_tables
// transaction.
func (l *Lab) blackholeEnd(e end, on bool) error {
	c, err := nftables.New(nftables.WithNetNSFd(e.ns.fd))
	if err != nil {
		return fmt.Errorf("%s: nftables: %w", e.ns.node.Name, err)
	}
	t := l.blackholeTable()
	ch := blackholeChain(t, e.dev)
	chains, err := l.tableChains(c)
	if err != nil {
		return fmt.Errorf("%s: listing nftables chains: %w", e.ns.node.Name, err)
	}
	if on {
		// Adding a table or chain that exists is not an error; flushing
		// the chain first makes a second call leave one rule, not two.
		c.AddTable(t)
		c.AddChain(ch)
		if chains[ch.Name] {
			c.FlushChain(ch)
		}
		c.AddRule(&nftables.Rule{Table: t, Chain: ch, Exprs: []expr.Any{
			&expr.Counter{},
			&expr.Verdict{Kind: expr.VerdictDrop},
		}})
	} else {
		if !chains[ch.Name] {
			return nil
		}
		c.DelChain(ch)
		if len(chains) == 1 {
			c.DelTable(t)
		}
	}
	if err := c.Flush(); err != nil {
		verb := "removing"
		if on {
			verb = "adding"
		}
		return fmt.Errorf("%s: %s the blackhole of %s: %w", e.ns.node.Name, verb, e.dev, err)
	}
	return nil
}

// tableChains returns the names of the chains in the lab's blackhole
// table of c's namespace.
func (l *Lab) tableChains(c *nftables.Conn) (map[string]bool, error) {
	all, err := c.ListChainsOfTableFamily(nftables.TableFamilyNetdev)
	if err != nil {
		return nil, err
	}
	name := l.blackholeTable().Name
	out := map[string]bool{}
	for _, ch := range all {
		if ch.Table != nil && ch.Table.Name == name {
			out[ch.Name] = true
		}
	}
	return out, nil
}
