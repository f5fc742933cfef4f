package netemu

import (
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"

	"lab/topo"
)

// plan is what Build makes of a model before touching the kernel: the
// namespaces, the devices in each, their addresses and routes. It is
// computed once by Build and read-only afterwards, except for the runtime
// fields of nsNode, which are documented there.
type plan struct {
	nodes   []*nsNode // in topo.Lab.Nodes() order
	byName  map[string]*nsNode
	bridges []*bridgeDev
	veths   []*vethDev
	links   map[*topo.Link]*linkEnds
	ifaces  map[*topo.Interface]*nsNode
}

// nsNode is one node's namespace.
type nsNode struct {
	node   *topo.Node
	ns     string // namespace name, "<lab>-<node>"
	num    int    // 1-based position in the plan, for MAC addresses
	router bool

	// What phase 4 configures in the namespace.
	upLater []string // veth ends created from the other end's namespace
	addrs   []devAddr
	routes  []gwRoute
	// index is the ifindex of every device Build creates in the namespace
	// (see ifindexes).
	index map[string]int

	// Set by the goroutine that creates the namespace, before Build's
	// phases synchronize; read-only afterwards until teardown, which runs
	// alone (Lab.mu held for writing).
	registered bool // /run/netns/<ns> bind mount made: teardown must remove it
	fd         int  // open namespace fd, -1 when none
	id         nsID
	// nl is the build's rtnetlink sockets in the namespace, closed when
	// Build ends (or by teardown after a failed build): an operation on
	// the built lab opens its own (rtnl.go).
	nl *rtnl
}

type devAddr struct {
	dev string
	p   netip.Prefix
}

// gwRoute is a host's default route of one family.
type gwRoute struct {
	dev string
	gw  netip.Addr
}

// bridgeDev is the bridge of a LAN with several hosts, in the router's
// namespace, named as the router's LAN interface.
type bridgeDev struct {
	ns    *nsNode
	name  string
	mac   net.HardwareAddr
	index int
}

// vethDev is a veth pair. A is created by the handle of a's namespace, B
// directly in b's namespace.
type vethDev struct {
	link   *topo.Link
	a, b   end
	master *bridgeDev // non-nil when a is a bridge port
}

// end is one device of a veth pair.
type end struct {
	ns    *nsNode
	iface *topo.Interface
	dev   string // kernel device name: iface.Name, or the bridge port's name
	mac   net.HardwareAddr
	index int // ifindex in ns
}

// linkEnds says which devices carry a link (a bridge port, not the bridge,
// for the router end of a LAN link with several hosts), and the bridge.
type linkEnds struct {
	a, b   end
	bridge *bridgeDev
}

// namespaceName returns the namespace of node n in lab m.
func namespaceName(m *topo.Lab, n *topo.Node) string {
	if n.Namespace != "" {
		return n.Namespace
	}
	return m.Name + "-" + n.Name
}

// validIfName reports whether s is usable as a Linux interface name.
func validIfName(s string) bool {
	if s == "" || len(s) > 15 || s == "." || s == ".." {
		return false
	}
	return !strings.ContainsAny(s, "/: \t\n\x00")
}

// mac returns the MAC address of interface idx of node num, or of port
// port (1-based) of its bridge: 02:NN:NN:II:II:PP, locally administered.
// Fixed MACs give fixed EUI-64 link-local addresses, so a lab shows the
// same fe80:: next hops every time it is built.
func mac(num, idx, port int) net.HardwareAddr {
	return net.HardwareAddr{0x02, byte(num >> 8), byte(num), byte(idx >> 8), byte(idx), byte(port)}
}

// Interface indexes (ifindex) are chosen, not left to the kernel: ethN of
// a node is ifindex N+2 (lo is 1), and the bridge ports of its LAN follow
// its last interface. `ip link` then lists a node's interfaces in the same
// order with the same numbers every time, and Build knows every index
// without asking the kernel.
func ifindexOf(i *topo.Interface) int { return i.Index + 2 }

func portIfindex(n *topo.Node, port int) int {
	last := 0
	for _, i := range n.Interfaces {
		last = max(last, i.Index)
	}
	return last + 2 + port
}

// bridgePortName names the bridge port of the k-th host (1-based) of the
// LAN whose router interface is lan: "as1ra-eth2p1", or "lanp1" when that
// would not fit in 15 bytes (no model interface has such a name: they all
// contain "-eth").
func bridgePortName(lan string, k int) string {
	if n := lan + "p" + strconv.Itoa(k); len(n) <= 15 {
		return n
	}
	return "lanp" + strconv.Itoa(k)
}

// makePlan validates m and computes the plan. Errors name the model's
// positions when it has them.
func makePlan(m *topo.Lab) (*plan, error) {
	if m == nil {
		return nil, fmt.Errorf("netemu: nil lab model")
	}
	if !labNameRE.MatchString(m.Name) {
		return nil, fmt.Errorf("lab name %q: %w", m.Name, ErrBadModel)
	}
	bad := func(pos topo.Pos, format string, args ...any) error {
		msg := fmt.Sprintf(format, args...)
		if p := pos.String(); p != "" {
			msg = p + ": " + msg
		}
		return fmt.Errorf("%s: %w", msg, ErrBadModel)
	}
	p := &plan{
		byName: map[string]*nsNode{},
		links:  map[*topo.Link]*linkEnds{},
		ifaces: map[*topo.Interface]*nsNode{},
	}
	nodes := m.Nodes()
	if len(nodes) > 0xffff {
		return nil, bad(topo.Pos{File: m.File}, "%d nodes: at most 65535", len(nodes))
	}
	nsNames := map[string]bool{}
	for i, n := range nodes {
		if n.Name == "" || p.byName[n.Name] != nil {
			return nil, bad(n.Pos, "node name %q empty or used twice", n.Name)
		}
		ns := namespaceName(m, n)
		if err := checkNamespaceName(m.Name, ns); err != nil {
			return nil, bad(n.Pos, "node %s: %v", n.Name, err)
		}
		if nsNames[ns] {
			return nil, bad(n.Pos, "node %s: namespace %s used twice", n.Name, ns)
		}
		nsNames[ns] = true
		nn := &nsNode{node: n, ns: ns, num: i + 1, router: n.Kind == topo.KindRouter, fd: -1, index: map[string]int{}}
		p.nodes = append(p.nodes, nn)
		p.byName[n.Name] = nn
		devs := map[string]bool{"lo": true}
		for _, ifc := range n.Interfaces {
			if ifc == nil || !validIfName(ifc.Name) {
				return nil, bad(n.Pos, "node %s: invalid interface name (1 to 15 bytes, no '/', ':' or space)", n.Name)
			}
			if devs[ifc.Name] {
				return nil, bad(n.Pos, "node %s: interface %s used twice", n.Name, ifc.Name)
			}
			devs[ifc.Name] = true
			nn.index[ifc.Name] = ifindexOf(ifc)
			if ifc.Node != n {
				return nil, bad(n.Pos, "interface %s is listed by node %s but belongs to another node", ifc.Name, n.Name)
			}
			if ifc.Index < 0 || ifc.Index > 0xffff {
				return nil, bad(n.Pos, "interface %s: index %d out of range", ifc.Name, ifc.Index)
			}
			if ifc.Link == nil {
				// This kernel has no dummy interfaces, and an interface with
				// nothing on the other side is not something the model makes.
				return nil, bad(n.Pos, "interface %s is on no link", ifc.Name)
			}
			for _, a := range ifc.Addrs {
				if !a.IsValid() || a.Addr().Zone() != "" || a.Addr().Is4In6() {
					return nil, bad(n.Pos, "interface %s: invalid address %v", ifc.Name, a)
				}
				nn.addrs = append(nn.addrs, devAddr{ifc.Name, a})
			}
			p.ifaces[ifc] = nn
		}
		if h := n.Host(); h != nil {
			dev := ""
			for _, ifc := range n.Interfaces {
				if ifc.Link.LAN != nil {
					dev = ifc.Name
					break
				}
			}
			if dev == "" && len(n.Interfaces) > 0 {
				dev = n.Interfaces[0].Name
			}
			for _, gw := range []netip.Addr{h.Gateway4, h.Gateway6} {
				if gw.IsValid() {
					if dev == "" {
						return nil, bad(n.Pos, "host %s has a gateway but no interface", n.Name)
					}
					nn.routes = append(nn.routes, gwRoute{dev, gw})
				}
			}
		}
	}

	// LANs with several hosts: a bridge named as the router's LAN interface,
	// and a port per host.
	bridgeOf := map[*topo.Interface]*bridgeDev{}
	portOf := map[*topo.Link]int{}
	for _, lan := range m.LANs {
		if lan == nil || lan.Iface == nil || lan.Router == nil {
			return nil, bad(topo.Pos{File: m.File}, "LAN without a router interface")
		}
		if len(lan.Links) < 2 {
			continue
		}
		if len(lan.Links) > 255 {
			return nil, bad(lan.Router.Pos, "LAN of %s: %d hosts, at most 255", lan.Router.Name, len(lan.Links))
		}
		rn := p.ifaces[lan.Iface]
		if rn == nil {
			return nil, bad(lan.Router.Pos, "LAN interface %s is not an interface of the lab", lan.Iface.Name)
		}
		br := &bridgeDev{ns: rn, name: lan.Iface.Name, mac: mac(rn.num, lan.Iface.Index, 0), index: ifindexOf(lan.Iface)}
		p.bridges = append(p.bridges, br)
		bridgeOf[lan.Iface] = br
		for k, lk := range lan.Links {
			if lk == nil || lk.A != lan.Iface {
				return nil, bad(lan.Router.Pos, "LAN of %s: a link does not start at %s", lan.Router.Name, lan.Iface.Name)
			}
			portOf[lk] = k + 1
		}
	}

	used := map[string]bool{} // "<namespace>/<device>" of every veth end
	for _, k := range m.Links {
		if k == nil || k.A == nil || k.B == nil {
			return nil, bad(topo.Pos{File: m.File}, "link with a missing end")
		}
		na, nb := p.ifaces[k.A], p.ifaces[k.B]
		if na == nil || nb == nil {
			return nil, bad(k.Pos, "link %s: an end is not an interface of the lab", k)
		}
		if k.A.Link != k && bridgeOf[k.A] == nil {
			return nil, bad(k.Pos, "link %s: interface %s says it is on another link", k, k.A.Name)
		}
		if k.B.Link != k {
			return nil, bad(k.Pos, "link %s: interface %s says it is on another link", k, k.B.Name)
		}
		if p.links[k] != nil {
			return nil, bad(k.Pos, "link %s listed twice", k)
		}
		v := &vethDev{
			link: k,
			a:    end{ns: na, iface: k.A, dev: k.A.Name, mac: mac(na.num, k.A.Index, 0), index: ifindexOf(k.A)},
			b:    end{ns: nb, iface: k.B, dev: k.B.Name, mac: mac(nb.num, k.B.Index, 0), index: ifindexOf(k.B)},
		}
		if br := bridgeOf[k.A]; br != nil {
			port, ok := portOf[k]
			if !ok {
				return nil, bad(k.Pos, "link %s starts at bridged LAN interface %s but is not one of its LAN's links", k, k.A.Name)
			}
			v.master = br
			v.a.dev = bridgePortName(k.A.Name, port)
			v.a.mac = mac(na.num, k.A.Index, port)
			v.a.index = portIfindex(na.node, port)
			na.index[v.a.dev] = v.a.index
		}
		for _, e := range []end{v.a, v.b} {
			key := e.ns.ns + "/" + e.dev
			if used[key] {
				return nil, bad(k.Pos, "link %s: device %s of %s is on another link too", k, e.dev, e.ns.node.Name)
			}
			used[key] = true
		}
		p.veths = append(p.veths, v)
		p.links[k] = &linkEnds{a: v.a, b: v.b, bridge: v.master}
		nb.upLater = append(nb.upLater, v.b.dev)
	}
	// Every interface must be carried by a device we create.
	for ifc, nn := range p.ifaces {
		if bridgeOf[ifc] == nil && p.links[ifc.Link] == nil {
			return nil, bad(nn.node.Pos, "interface %s: its link is not in the lab's links", ifc.Name)
		}
	}
	// A bridge port's name must not collide with the node's interfaces.
	for _, v := range p.veths {
		if v.master != nil {
			for _, ifc := range v.a.ns.node.Interfaces {
				if ifc.Name == v.a.dev {
					return nil, bad(v.a.ns.node.Pos, "interface name %s is also the name of a bridge port", ifc.Name)
				}
			}
		}
	}
	return p, nil
}

// namespaces returns every namespace name, in plan order.
func (p *plan) namespaces() []string {
	out := make([]string, len(p.nodes))
	for i, n := range p.nodes {
		out[i] = n.ns
	}
	return out
}
