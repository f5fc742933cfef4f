// Package topo turns a lab's YAML topology file into a validated, immutable
// model: routers, hosts, links, LANs, addresses and the BGP sessions the lab
// runs. Every other package (netemu, speaker, cli) reads this model and
// never changes it.
//
// The model is built in three steps, in the manner of containerlab: the
// YAML is decoded into raw structs that keep every node's position
// (file:line:col), the raw structs are resolved against defaults and
// address pools and validated, and the result is frozen into the types
// below. After Load returns, a *Lab and everything reachable from it are
// read-only and safe to share between goroutines.
package topo

import (
	"fmt"
	"net/netip"
	"time"
)

// Pos is a place in a topology file.
type Pos struct {
	File string
	Line int // 1-based; 0 when unknown
	Col  int // 1-based; 0 when unknown
}

func (p Pos) String() string {
	switch {
	case p.Line == 0:
		return p.File
	case p.Col == 0:
		// YAML syntax errors know their line only.
		return fmt.Sprintf("%s:%d", p.File, p.Line)
	}
	return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Col)
}

// NodeKind says what runs in a node's namespace.
type NodeKind uint8

const (
	// KindRouter is a BGP router: IP forwarding on, and an embedded speaker
	// unless the router is External.
	KindRouter NodeKind = iota + 1
	// KindHost is an end host on its router's LAN, with default routes
	// through that router.
	KindHost
)

func (k NodeKind) String() string {
	switch k {
	case KindRouter:
		return "router"
	case KindHost:
		return "host"
	}
	return fmt.Sprintf("NodeKind(%d)", uint8(k))
}

// Family is an IP address family.
type Family uint8

const (
	IPv4 Family = 4
	IPv6 Family = 6
)

func (f Family) String() string {
	switch f {
	case IPv4:
		return "IPv4"
	case IPv6:
		return "IPv6"
	}
	return fmt.Sprintf("Family(%d)", uint8(f))
}

// FamilyOf returns the family of a.
func FamilyOf(a netip.Addr) Family {
	if a.Is4() {
		return IPv4
	}
	return IPv6
}

// Lab is a validated topology.
type Lab struct {
	// Name is the lab's name. It prefixes every namespace ("<name>-<node>"),
	// names the control socket (/run/lab/<name>.sock) and the state file.
	Name string
	// File is the path the topology was loaded from ("" when built in memory).
	File string

	// ASes lists every AS that has a router, in ascending AS number order.
	ASes []*AS
	// Routers and Hosts are in file order.
	Routers []*Router
	Hosts   []*Host
	// Links are the router-router links in file order, then one link per
	// host (router LAN interface to host) in host order.
	Links []*Link
	// LANs are the routers' host LANs, in router order.
	LANs []*LAN
	// Tests are the tests of the file's `validate:` section, in file
	// order (validate.go; lab/grade runs them).
	Tests []*Test
	// Sessions are the BGP sessions the lab runs: first, in link order,
	// one per router link and address family both ends have a global
	// address of, for every link between two ASes and every link inside an
	// AS whose iBGP is per-link; then the iBGP sessions between loopbacks
	// of the full-mesh and route-reflector ASes, in AS order, each pair of
	// routers in router order, IPv4 before IPv6 (see docs/design.md).
	Sessions []*Session
	// Pools are the address pools automatic allocation drew from.
	Pools Pools
	// Routing holds the named policy objects of the file's `routing:`
	// section; never nil.
	Routing *Routing
	// RelationLocalPref is the LOCAL_PREF relation policy sets on import
	// (`bgp: {relation-local-pref: ...}`; defaults 200, 150, 100).
	RelationLocalPref RelationLocalPref
	// Processes are the programs of ExaBGP's API the routers run
	// (`processes:`), in file order.
	Processes []*Process

	nodes map[string]*Node
}

// Node returns the router or host called name, or nil.
func (l *Lab) Node(name string) *Node { return l.nodes[name] }

// Router returns the router called name, or nil.
func (l *Lab) Router(name string) *Router {
	if n := l.nodes[name]; n != nil {
		return n.router
	}
	return nil
}

// Host returns the host called name, or nil.
func (l *Lab) Host(name string) *Host {
	if n := l.nodes[name]; n != nil {
		return n.host
	}
	return nil
}

// Nodes returns every node: routers first, then hosts, each in file order.
func (l *Lab) Nodes() []*Node {
	out := make([]*Node, 0, len(l.Routers)+len(l.Hosts))
	for _, r := range l.Routers {
		out = append(out, &r.Node)
	}
	for _, h := range l.Hosts {
		out = append(out, &h.Node)
	}
	return out
}

// Interface returns the interface called name ("as1ra-eth0"), or nil.
func (l *Lab) Interface(name string) *Interface {
	for _, n := range l.Nodes() {
		for _, i := range n.Interfaces {
			if i.Name == name {
				return i
			}
		}
	}
	return nil
}

// LinkBetween returns the links between the nodes called a and b, in
// l.Links order (two routers may share several links).
func (l *Lab) LinkBetween(a, b string) []*Link {
	var out []*Link
	for _, k := range l.Links {
		x, y := k.A.Node.Name, k.B.Node.Name
		if (x == a && y == b) || (x == b && y == a) {
			out = append(out, k)
		}
	}
	return out
}

// Index fills the lookup tables of a Lab assembled in memory (tests,
// generators). Load calls it; a Lab must not be changed afterwards.
func (l *Lab) Index() {
	l.nodes = make(map[string]*Node, len(l.Routers)+len(l.Hosts))
	for _, r := range l.Routers {
		r.Node.router = r
		r.Node.Kind = KindRouter
		l.nodes[r.Name] = &r.Node
	}
	for _, h := range l.Hosts {
		h.Node.host = h
		h.Node.Kind = KindHost
		l.nodes[h.Name] = &h.Node
	}
}

// Node is what routers and hosts share: a name, a namespace and interfaces.
type Node struct {
	Name string
	Kind NodeKind
	// Namespace is the network namespace's name, "<lab>-<node>", registered
	// under /run/netns so that `ip netns exec` finds it.
	Namespace string
	// Interfaces are the node's interfaces in index order (eth0, eth1, ...).
	Interfaces []*Interface
	Pos        Pos

	router *Router
	host   *Host
}

// Router returns the router this node is, or nil for a host.
func (n *Node) Router() *Router { return n.router }

// Host returns the host this node is, or nil for a router.
func (n *Node) Host() *Host { return n.host }

// Addrs returns every address of the node's interfaces, IPv4 first.
func (n *Node) Addrs() []netip.Addr {
	var v4, v6 []netip.Addr
	for _, i := range n.Interfaces {
		for _, p := range i.Addrs {
			if p.Addr().Is4() {
				v4 = append(v4, p.Addr())
			} else {
				v6 = append(v6, p.Addr())
			}
		}
	}
	return append(v4, v6...)
}

// AS is an autonomous system and the routers in it.
type AS struct {
	Number  uint32 // 1..4294967295; 4-byte ASNs allowed
	Name    string // optional description
	Routers []*Router
	Pos     Pos
	// IBGP is how the AS's routers peer with each other (`ibgp:`; default
	// IBGPFullMesh, which with one router makes no session).
	IBGP IBGPMode
	// ClusterID is the route reflectors' CLUSTER_ID (RFC 4456) for an
	// IBGPRouteReflector AS: `cluster-id:`, or the lowest router ID among
	// its reflectors. Invalid (zero) for other modes.
	ClusterID netip.Addr
}

// Router is a BGP router.
type Router struct {
	Node
	AS *AS
	// RouterID is the BGP identifier (an IPv4 address), explicit or allocated.
	RouterID netip.Addr
	// Originate lists the routes this router announces: the prefixes of the
	// topology file, then its LAN's prefixes.
	Originate []Origination
	// LAN is the router's host LAN, or nil when it has no hosts.
	LAN *LAN
	// BGP is the effective configuration: lab defaults, overridden by the
	// router's own settings.
	BGP BGPConfig
	// External routers get a namespace, interfaces and addresses, but no
	// embedded speaker: the user runs their own daemon (FRR, BIRD, GoBGP,
	// ExaBGP) in the namespace (`external: true`), or the lab runs the
	// one Daemon names (`kind: frr`, `kind: bird`). Sessions to them are
	// still generated, and the lab's side of each is configured as usual.
	External bool
	// Daemon is the daemon the lab configures and runs in an External
	// router's namespace, or DaemonNone (the lab's speaker, or the user's
	// daemon when External). KindPos is where `kind:` is written.
	Daemon  Daemon
	KindPos Pos
	// Loopbacks are the router's loopback addresses, one per family it
	// has an interface address of (or a written loopback of), IPv4 first:
	// written (`loopback:`) or allocated. They go on the namespace's lo,
	// and iBGP sessions between loopbacks use them as transport addresses.
	Loopbacks []netip.Addr
	// RR makes the router a route reflector for every other router of its
	// AS (an IBGPRouteReflector AS only).
	RR bool
	// ClusterID is a reflector's CLUSTER_ID: its own `cluster-id:`, else
	// its AS's. Invalid (zero) when RR is false.
	ClusterID netip.Addr
	// NextHopSelf makes the router the next hop of the eBGP-learned routes
	// it sends over iBGP sessions (default true; `next-hop-self: false`
	// keeps the eBGP next hop).
	NextHopSelf bool
	// Aggregates are the aggregate routes the router originates (RFC 4271
	// §9.2.2.2), in file order.
	Aggregates []Aggregate
	// API are the programs of ExaBGP's API the router runs (`api:`), in
	// the order it lists them.
	API []*Process
}

// Loopback returns the router's loopback of family f.
func (r *Router) Loopback(f Family) (netip.Addr, bool) {
	for _, a := range r.Loopbacks {
		if FamilyOf(a) == f {
			return a, true
		}
	}
	return netip.Addr{}, false
}

// Origination is a route a router originates, with optional attributes.
type Origination struct {
	Prefix      netip.Prefix // masked
	MED         uint32
	HasMED      bool
	Communities []uint32 // RFC 1997, high 16 bits AS, low 16 bits value
	// LargeCommunities are RFC 8092 triples (global admin, local 1, local 2).
	LargeCommunities [][3]uint32
	// Origin is the ORIGIN attribute: OriginIGP (the default), OriginEGP
	// or OriginIncomplete.
	Origin uint8
	// ASPath, when set, is the AS_PATH every peer receives, as written:
	// the router's AS is not put first again (ExaBGP's `as-path [ ... ]`).
	// ASSet is a trailing AS_SET.
	ASPath, ASSet []uint32
	// LocalPref is sent to iBGP peers when HasLocalPref.
	LocalPref    uint32
	HasLocalPref bool
	// NextHop is the next hop advertised; invalid for the router itself
	// (`next-hop: self`, the default).
	NextHop netip.Addr
	Pos     Pos
}

// Host is an end host on its router's LAN.
type Host struct {
	Node
	Router *Router
	// Gateway4 and Gateway6 are the router's LAN addresses, the host's
	// default routes (invalid when the LAN has no such family).
	Gateway4, Gateway6 netip.Addr
}

// Interface is one end of a link, inside a node's namespace.
type Interface struct {
	// Name is "<node>-eth<Index>", at most 15 bytes (IFNAMSIZ-1).
	Name  string
	Node  *Node
	Index int
	// Addrs are the interface's addresses with their prefix length
	// (2001:12::a/64), IPv4 first. Link-local IPv6 addresses are the
	// kernel's and are not listed.
	Addrs []netip.Prefix
	Link  *Link
}

// Addr returns the interface's first address of family f.
func (i *Interface) Addr(f Family) (netip.Prefix, bool) {
	for _, p := range i.Addrs {
		if FamilyOf(p.Addr()) == f {
			return p, true
		}
	}
	return netip.Prefix{}, false
}

// Link is a layer-2 connection between two interfaces.
type Link struct {
	// Index is the link's position in Lab.Links.
	Index int
	// A and B are the two ends. For a host link, A is the router's LAN
	// interface (shared by every link of that LAN) and B the host's.
	A, B *Interface
	// LAN is set for router-host links.
	LAN *LAN
	// Password is the TCP MD5 (RFC 2385) key of the BGP sessions on this
	// link, or "".
	Password string
	// Cost is the link's metric in its AS's underlay (1..65535, default
	// 10); it matters on links inside an AS.
	Cost int
	// Relation is the business relationship of a link between two ASes
	// (RelNone on host links and by default).
	Relation Relation
	// BGP holds the BGP settings of the A end and of the B end of a
	// router link (never nil there); both are nil on host links.
	BGP [2]*EndBGP
	// BridgePort is set for the links of a LAN with several hosts: the
	// name, in the router's namespace, of the veth end that is the
	// bridge's port towards this host: "<LAN interface>p<k>" for the LAN's
	// k-th host (as1ra-eth2p1, 1-based), or "lanp<k>" when that would not
	// fit in 15 bytes. It is "" for router links and for a LAN with one
	// host, whose veth end is the router's LAN interface itself.
	BridgePort string
	Pos        Pos
}

// Other returns the end of the link that is not i.
func (k *Link) Other(i *Interface) *Interface {
	if k.A == i {
		return k.B
	}
	return k.A
}

func (k *Link) String() string { return k.A.Name + " <-> " + k.B.Name }

// BGPOf returns the BGP settings of the link's end at node n, or nil when
// n is not a router end of the link.
func (k *Link) BGPOf(n *Node) *EndBGP {
	switch n {
	case k.A.Node:
		return k.BGP[0]
	case k.B.Node:
		return k.BGP[1]
	}
	return nil
}

// LAN is a router's host LAN. With one host it is a veth pair, as in
// IPMininet; with several, the router's LAN interface is a bridge in the
// router's namespace and every host is a port of it.
type LAN struct {
	Router *Router
	// Iface is the router's interface on the LAN; it holds the gateway
	// addresses. Its Link is the LAN's first link (Links[0]).
	Iface *Interface
	Hosts []*Host
	// Prefix4 and Prefix6 are the LAN's prefixes (masked); either may be
	// invalid (zero) when the LAN has no address of that family.
	Prefix4, Prefix6 netip.Prefix
	// Links are the router-host links of this LAN, one per host.
	Links []*Link
}

// BGPConfig is a router's BGP configuration.
type BGPConfig struct {
	// Keepalive, Hold and ConnectRetry are the RFC 4271 timers (defaults
	// 60 s, 180 s, 120 s, as Quagga and FRR use). Hold 0 means no hold timer
	// and no keepalives.
	Keepalive, Hold, ConnectRetry time.Duration
	// CompareRouterID makes the decision process prefer the lower router ID
	// between external paths instead of the older one, as FRR's
	// `bgp bestpath compare-routerid` (the seed lab sets it).
	CompareRouterID bool
}

// Session is a BGP session the lab runs, over a link or between two
// loopbacks of one AS.
type Session struct {
	// Index is the session's position in Lab.Sessions.
	Index int
	// Family is the family of the transport addresses and of the unicast
	// routes the session carries.
	Family Family
	// Link is the link the session runs over, or nil for an iBGP session
	// between loopbacks (which the AS's underlay routes).
	Link *Link
	// A is the link's A side, B the other; between loopbacks, A is the
	// router that comes first in the file.
	A, B SessionEnd
	// Password is the link's TCP MD5 key, or "". Each end's effective key
	// (a per-end `password:` overrides the link's) is its BGP.Password.
	Password string
	// RRClient is set when one end is a route reflector and the other its
	// client: it is the client. Nil otherwise (two reflectors are
	// non-client peers).
	RRClient *Router
}

// IBGP reports whether both ends are in the same AS.
func (s *Session) IBGP() bool { return s.A.Router.AS == s.B.Router.AS }

// End returns the session end of router r, and the peer's end.
func (s *Session) End(r *Router) (local, peer SessionEnd, ok bool) {
	switch r {
	case s.A.Router:
		return s.A, s.B, true
	case s.B.Router:
		return s.B, s.A, true
	}
	return SessionEnd{}, SessionEnd{}, false
}

// RRClientOf reports whether, from router r's side, the peer is r's
// route-reflector client.
func (s *Session) RRClientOf(r *Router) bool {
	return s.RRClient != nil && s.RRClient != r && (s.A.Router == r || s.B.Router == r)
}

// PeerRole returns what the other end is to router r across the session's
// link (RoleNone for loopback sessions and links without a relation).
func (s *Session) PeerRole(r *Router) Role {
	_, peer, ok := s.End(r)
	if !ok || s.Link == nil {
		return RoleNone
	}
	return s.Link.RoleOf(&peer.Router.Node)
}

// SessionEnd is one router's side of a session.
type SessionEnd struct {
	Router *Router
	// Iface is this end's interface on the link, nil for a loopback session.
	Iface *Interface
	// Addr is this end's global address on the link, or its loopback: the
	// session's transport address.
	Addr netip.Addr
	// Loopback is set when Addr is the router's loopback (Link is nil).
	Loopback bool
	// BGP is this end's settings on the link (Link.BGP), nil for a
	// loopback session.
	BGP *EndBGP
}

// Pools are the address pools automatic allocation draws from, in order of
// declaration in the file. Allocation is deterministic: the same file always
// yields the same addresses.
type Pools struct {
	LinkIPv4 netip.Prefix // point-to-point router links, /LinkIPv4Len each
	LinkIPv6 netip.Prefix // point-to-point router links, /64 each
	LANIPv4  netip.Prefix // router LANs, /LANIPv4Len each
	LANIPv6  netip.Prefix // router LANs, /64 each
	RouterID netip.Prefix // router IDs, one address each
	// LoopbackIPv4 and LoopbackIPv6 hold the routers' loopbacks, one
	// address each from the pool's second (.1, ::1) on.
	LoopbackIPv4 netip.Prefix
	LoopbackIPv6 netip.Prefix

	LinkIPv4Len int
	LANIPv4Len  int
	// Families are the families allocation fills (addressing families;
	// default both, IPv4 first).
	Families []Family
}
