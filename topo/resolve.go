package topo

import (
	"cmp"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"lab/cli/grammar"
)

// This file is the second and third steps: raw structs resolved against
// each other, the defaults and the address pools, validated, and frozen
// into the model.

// Default pools and settings, used when the file's `addressing:` and `bgp:`
// sections leave them out.
var (
	DefaultLinkIPv4 = netip.MustParsePrefix("10.255.0.0/16")
	DefaultLinkIPv6 = netip.MustParsePrefix("fd00:ffff::/48")
	DefaultLANIPv4  = netip.MustParsePrefix("10.0.0.0/12")
	DefaultLANIPv6  = netip.MustParsePrefix("fd00::/48")
	DefaultRouterID = netip.MustParsePrefix("10.254.0.0/16")
)

const (
	// DefaultLinkIPv4Len is the length of an allocated IPv4 link subnet: a
	// /30 (.1 and .2), which every tool and textbook shows; /31 (RFC 3021)
	// can be chosen with ipv4-link-length.
	DefaultLinkIPv4Len = 30
	// DefaultLANIPv4Len is the length of an allocated IPv4 LAN.
	DefaultLANIPv4Len = 24
	// DefaultHold, DefaultConnectRetry are the seed's Quagga timers; the
	// keepalive defaults to a third of the hold time (60 s).
	DefaultHold         = 180 * time.Second
	DefaultConnectRetry = 120 * time.Second
	// MaxIfaceName is the longest interface name Linux accepts
	// (IFNAMSIZ-1).
	MaxIfaceName = 15
)

// ReservedNames are the shell's own words: a node named like one would
// shadow the command, so node names may not be any of them. They are
// the words the shell's command table lets a line start with.
var ReservedNames = grammar.Reserved()

var (
	labNameRE  = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,19}$`)
	nodeNameRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_-]*$`)
)

// Load reads and validates the topology file at path.
func Load(path string) (*Lab, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("topology: %w", err)
	}
	return Parse(path, data)
}

// Parse validates a topology. file names it in errors (and, without a
// `name:`, gives the lab its name). On failure the error is an ErrorList
// of every problem found, sorted by position.
func Parse(file string, data []byte) (*Lab, error) { return ParseAs(file, data, "") }

// rRouter, rHost and rLink are the resolver's working state for one node
// or link.
type rRouter struct {
	raw   *rawRouter
	asn   uint32
	links []*rLink // in file order: the router's eth0, eth1, ...
	hosts []*rHost // in host order
	lan   map[Family]rawAddr
	// lanPrefix is the LAN's subnet per family, explicit or allocated.
	lanPrefix map[Family]netip.Prefix
	routerID  netip.Addr
	bgp       BGPConfig
	originate []Origination // the file's prefixes, duplicates dropped
	// loopbacks are the router's loopbacks per family (as /32 and /128),
	// written or allocated.
	loopbacks  map[Family]rawAddr
	aggregates []Aggregate
	// api are the processes the router runs (api.go).
	api []*rawProcess
	r   *Router
}

type rHost struct {
	name      string
	pos       Pos
	raw       *rawHost // nil for a host only named in a router's hosts
	router    *rRouter
	routerPos Pos
	addrs     map[Family]rawAddr
	h         *Host
}

type rLink struct {
	raw  *rawLink
	ends [2]*rRouter
	// addrs are the two ends' addresses per family, explicit or allocated.
	addrs [2]map[Family]rawAddr
	k     *Link
	// bgp are the resolved settings of the two ends.
	bgp [2]*EndBGP
	// noAuto is set when the link's explicit addresses were invalid:
	// nothing is allocated for it, to avoid a second, misleading error.
	noAuto bool
}

func (k *rLink) String() string {
	return fmt.Sprintf("link [%s, %s]", k.ends[0].raw.name, k.ends[1].raw.name)
}

type builder struct {
	*decoder
	raw *rawLab
	lab *Lab

	families []Family
	ases     map[uint32]*rawAS
	routers  map[string]*rRouter
	rlist    []*rRouter
	hosts    map[string]*rHost
	hlist    []*rHost
	links    []*rLink
	// used holds every interface subnet and originated prefix, for the
	// allocators.
	used *prefixSet
	// ibgp is every AS's iBGP mode, asRouters its routers in file order.
	ibgp      map[uint32]IBGPMode
	asRouters map[uint32][]*rRouter
	asOrder   []uint32 // ASes in order of their first router
	// rawPolicies are the policies as decoded, by name.
	rawPolicies map[string]*rawPolicy
}

func (b *builder) build() *Lab {
	b.lab = &Lab{File: b.file}
	b.used = newPrefixSet()
	b.labName()
	b.pools()
	b.resolveASes()
	if b.raw.routersBad {
		// Every reference to a router would fail: say it once.
		return nil
	}
	b.resolveRouters()
	b.resolveHosts()
	b.resolveLinks()
	b.resolveRouting()
	b.resolveIBGP()
	b.resolveLinkSettings()
	b.checkIBGPConnected()
	b.checkIfaceNames()
	b.explicitLinkAddrs()
	b.explicitLANAddrs()
	b.checkAddrs()
	b.checkLoopbacks()
	b.allocate()
	b.allocateLoopbacks()
	for _, rr := range b.rlist {
		rr.bgp = b.bgpConfig(rr)
		rr.originate = b.originations(rr)
		rr.aggregates = b.aggregates(rr)
	}
	b.resolveAPI()
	if len(b.errs) > 0 {
		return nil
	}
	b.assemble()
	if len(b.errs) > 0 {
		return nil
	}
	return b.lab
}

func (b *builder) labName() {
	if n := b.raw.name; n.set {
		if !labNameRE.MatchString(n.v) {
			b.errorf(n.pos, ErrValue, "lab name %q is invalid; expected 1 to 20 lowercase letters, digits and dashes, starting with a letter or digit", n.v)
		}
		b.lab.Name = n.v
		return
	}
	if b.file == "" {
		b.lab.Name = "lab"
		return
	}
	base := filepath.Base(b.file)
	name := strings.TrimSuffix(base, filepath.Ext(base))
	if !labNameRE.MatchString(name) {
		b.errorf(Pos{File: b.file}, ErrValue, "the file name gives the lab name %q, which is invalid (expected 1 to 20 lowercase letters, digits and dashes, starting with a letter or digit); add a `name:` field", name)
	}
	b.lab.Name = name
}

func (b *builder) pools() {
	a := b.raw.addressing
	p := Pools{
		LinkIPv4: DefaultLinkIPv4, LinkIPv6: DefaultLinkIPv6,
		LANIPv4: DefaultLANIPv4, LANIPv6: DefaultLANIPv6,
		RouterID:     DefaultRouterID,
		LoopbackIPv4: DefaultLoopbackIPv4, LoopbackIPv6: DefaultLoopbackIPv6,
		LinkIPv4Len: DefaultLinkIPv4Len, LANIPv4Len: DefaultLANIPv4Len,
		Families: []Family{IPv4, IPv6},
	}
	if a.link4Len.set {
		p.LinkIPv4Len = a.link4Len.v
	}
	if a.lan4Len.set {
		p.LANIPv4Len = a.lan4Len.v
	}
	if a.families.set {
		p.Families = a.families.v
	}
	check := func(s setting[netip.Prefix], dst *netip.Prefix, key string, fam Family, bits int) {
		if !s.set {
			return
		}
		switch {
		case FamilyOf(s.v.Addr()) != fam:
			b.errorf(s.pos, ErrAddress, "addressing %s must be an %s prefix, got %s", key, fam, s.v)
		case s.v.Bits() > bits:
			b.errorf(s.pos, ErrAddress, "addressing %s %s is too small: it must hold /%d subnets", key, s.v, bits)
		default:
			*dst = s.v
		}
	}
	check(a.link4, &p.LinkIPv4, "ipv4-links", IPv4, p.LinkIPv4Len)
	check(a.link6, &p.LinkIPv6, "ipv6-links", IPv6, 64)
	check(a.lan4, &p.LANIPv4, "ipv4-lans", IPv4, p.LANIPv4Len)
	check(a.lan6, &p.LANIPv6, "ipv6-lans", IPv6, 64)
	check(a.routerIDs, &p.RouterID, "router-ids", IPv4, 31)
	for _, lo := range []struct {
		s   setting[netip.Prefix]
		dst *netip.Prefix
		key string
		fam Family
	}{{a.lo4, &p.LoopbackIPv4, "ipv4-loopbacks", IPv4}, {a.lo6, &p.LoopbackIPv6, "ipv6-loopbacks", IPv6}} {
		switch s := lo.s; {
		case !s.set:
		case FamilyOf(s.v.Addr()) != lo.fam:
			b.errorf(s.pos, ErrAddress, "addressing %s must be an %s prefix, got %s", lo.key, lo.fam, s.v)
		case s.v.Bits() == s.v.Addr().BitLen():
			b.errorf(s.pos, ErrAddress, "addressing %s %s holds no loopback: a pool's first address is never handed out", lo.key, s.v)
		default:
			*lo.dst = s.v
		}
	}
	if a.routerIDs.set && p.RouterID == a.routerIDs.v && p.RouterID.Addr().IsUnspecified() && p.RouterID.Bits() == 31 {
		// 0.0.0.0/31 would only hold the invalid identifier 0.0.0.0.
		b.errorf(a.routerIDs.pos, ErrAddress, "addressing router-ids %s holds no valid router ID", p.RouterID)
	}
	b.lab.Pools = p
	b.families = p.Families
}

func (b *builder) wantFamily(f Family) bool { return slices.Contains(b.families, f) }

func (b *builder) resolveASes() {
	b.ases = map[uint32]*rawAS{}
	for _, a := range b.raw.ases {
		if first, dup := b.ases[a.num]; dup {
			b.errorf(a.pos, ErrDuplicate, "AS %d is defined twice (first at line %d)", a.num, first.pos.Line)
			continue
		}
		b.ases[a.num] = a
	}
}

// checkNodeName reports a name that cannot name a node.
func (b *builder) checkNodeName(name string, pos Pos, kind string) bool {
	switch {
	case !nodeNameRE.MatchString(name):
		b.errorf(pos, ErrValue, "%s name %q is invalid; expected a letter followed by letters, digits, '-' or '_'", kind, name)
		return false
	case slices.Contains(ReservedNames, name):
		b.errorf(pos, ErrValue, "%s name %q is a shell command; choose another name", kind, name)
		return false
	}
	return true
}

func (b *builder) resolveRouters() {
	b.routers = map[string]*rRouter{}
	if len(b.raw.routers) == 0 {
		p := Pos{File: b.file}
		if b.raw.routersPos.set {
			p = b.raw.routersPos.pos
		}
		b.errorf(p, ErrMissing, "the topology has no routers; expected a `routers:` mapping with at least one router")
		return
	}
	for _, r := range b.raw.routers {
		b.checkNodeName(r.name, r.pos, "router")
		rr := &rRouter{raw: r, lan: map[Family]rawAddr{}, lanPrefix: map[Family]netip.Prefix{}}
		if r.as.set {
			rr.asn = r.as.v
		} else if !r.asGiven {
			b.errorf(r.pos, ErrMissing, "router %q has no AS; expected `as: NUMBER` (1 to 4294967295)", r.name)
		}
		b.routers[r.name] = rr
		b.rlist = append(b.rlist, rr)
	}
	used := map[uint32]bool{}
	for _, rr := range b.rlist {
		used[rr.asn] = true
	}
	for _, a := range b.raw.ases {
		if !used[a.num] && b.ases[a.num] == a {
			b.errorf(a.pos, ErrReference, "AS %d has no routers; give a router `as: %d` or remove it", a.num, a.num)
		}
	}
}

// attachment is a host attached to a router, from either side of the file.
type attachment struct {
	host   string
	router string
	pos    Pos // where the attachment is written
	// fromList is set for a router's hosts list, clear for hosts.X.router.
	fromList bool
}

func (b *builder) resolveHosts() {
	b.hosts = map[string]*rHost{}
	for _, h := range b.raw.hosts {
		if b.checkNodeName(h.name, h.pos, "host") {
			if rr, clash := b.routers[h.name]; clash {
				b.errorf(h.pos, ErrDuplicate, "host %q has the name of router %q (line %d); node names must be unique", h.name, h.name, rr.raw.pos.Line)
				continue
			}
		}
		rh := &rHost{name: h.name, pos: h.pos, raw: h, addrs: map[Family]rawAddr{}}
		b.hosts[h.name] = rh
		b.hlist = append(b.hlist, rh)
	}
	var atts []attachment
	for _, h := range b.raw.hosts {
		if h.router.set {
			atts = append(atts, attachment{h.name, h.router.v, h.router.pos, false})
		}
	}
	for _, r := range b.raw.routers {
		for _, n := range r.hosts {
			atts = append(atts, attachment{n.name, r.name, n.pos, true})
		}
	}
	slices.SortStableFunc(atts, func(x, y attachment) int { return comparePos(x.pos, y.pos) })
	for _, at := range atts {
		rr := b.routers[at.router]
		if _, isRouter := b.routers[at.host]; isRouter && !at.fromList {
			continue // a host named like a router: reported above
		}
		if !at.fromList && rr == nil {
			msg := fmt.Sprintf("host %q is attached to %q, which is not a router", at.host, at.router)
			if _, isHost := b.hosts[at.router]; isHost {
				msg += " but a host; hosts attach to routers"
			} else if s := suggest(at.router, b.routerNames()); s != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", s)
			}
			b.errorf(at.pos, ErrReference, "%s", msg)
			continue
		}
		if rr == nil {
			continue
		}
		if _, isRouter := b.routers[at.host]; isRouter {
			b.errorf(at.pos, ErrReference, "%q in the hosts of router %q is a router; hosts: lists hosts, and routers connect through links:", at.host, at.router)
			continue
		}
		rh := b.hosts[at.host]
		if rh == nil {
			// A host only named in a router's hosts: the minimal style.
			if !b.checkNodeName(at.host, at.pos, "host") {
				continue
			}
			rh = &rHost{name: at.host, pos: at.pos, addrs: map[Family]rawAddr{}}
			b.hosts[at.host] = rh
			b.hlist = append(b.hlist, rh)
		}
		switch {
		case rh.router == nil:
			rh.router, rh.routerPos = rr, at.pos
		case rh.router != rr:
			b.errorf(at.pos, ErrDuplicate, "host %q is already on router %q (line %d); a host is on one router's LAN", at.host, rh.router.raw.name, rh.routerPos.Line)
		case at.fromList && rh.routerPos != at.pos && b.listedTwice(rr.raw, at):
			b.errorf(at.pos, ErrDuplicate, "host %q is listed twice in the hosts of router %q", at.host, at.router)
		}
	}
	slices.SortStableFunc(b.hlist, func(x, y *rHost) int { return comparePos(x.pos, y.pos) })
	for _, rh := range b.hlist {
		if rh.router == nil {
			if rh.raw == nil || !rh.raw.routerGiven {
				b.errorf(rh.pos, ErrMissing, "host %q is on no router; expected `router: NAME` (or list it in a router's hosts)", rh.name)
			}
			continue
		}
		rh.router.hosts = append(rh.router.hosts, rh)
		if rh.raw != nil {
			for _, a := range rh.raw.addrs {
				f := FamilyOf(a.p.Addr())
				if _, dup := rh.addrs[f]; dup {
					b.errorf(a.pos, ErrAddress, "host %q has two %s addresses; expected at most one of each family", rh.name, f)
					continue
				}
				rh.addrs[f] = a
			}
		}
	}
}

// listedTwice reports whether at's host appears in r's hosts list before
// at.
func (b *builder) listedTwice(r *rawRouter, at attachment) bool {
	for _, n := range r.hosts {
		if n.name == at.host && comparePos(n.pos, at.pos) < 0 {
			return true
		}
	}
	return false
}

func (b *builder) routerNames() []string {
	out := make([]string, len(b.rlist))
	for i, rr := range b.rlist {
		out[i] = rr.raw.name
	}
	return out
}

func comparePos(a, b Pos) int {
	return cmp.Or(cmp.Compare(a.File, b.File), cmp.Compare(a.Line, b.Line), cmp.Compare(a.Col, b.Col))
}

func (b *builder) resolveLinks() {
	for _, k := range b.raw.links {
		if k.bad {
			continue
		}
		rk := &rLink{raw: k}
		good := true
		for i, e := range k.ends {
			rr := b.routers[e.name]
			if rr == nil {
				msg := fmt.Sprintf("link endpoint %q is not a router", e.name)
				if _, isHost := b.hosts[e.name]; isHost {
					msg = fmt.Sprintf("link endpoint %q is a host; hosts attach to their router with `router:` (or a router's hosts), not with links", e.name)
				} else if s := suggest(e.name, b.routerNames()); s != "" {
					msg += fmt.Sprintf(" (did you mean %q?)", s)
				}
				b.errorf(e.pos, ErrReference, "%s", msg)
				good = false
				continue
			}
			rk.ends[i] = rr
		}
		if !good {
			continue
		}
		if rk.ends[0] == rk.ends[1] {
			b.errorf(k.ends[1].pos, ErrValue, "link from router %q to itself; a link joins two different routers", k.ends[0].name)
			continue
		}
		rk.addrs = [2]map[Family]rawAddr{{}, {}}
		for _, rr := range rk.ends {
			rr.links = append(rr.links, rk)
		}
		b.links = append(b.links, rk)
	}
}

// ifaceName is the name of a node's i-th interface, as the seed names them.
func ifaceName(node string, i int) string { return fmt.Sprintf("%s-eth%d", node, i) }

// bridgePortName is the name, in a router's namespace, of the veth end that
// is the bridge port of the LAN's k-th host (1-based): "as1ra-eth2p1", or
// "lanp1" when that would not fit in 15 bytes (no interface of the model is
// called so: they all contain "-eth"). netemu names the devices so.
func bridgePortName(lanIface string, k int) string {
	if n := fmt.Sprintf("%sp%d", lanIface, k); len(n) <= MaxIfaceName {
		return n
	}
	return fmt.Sprintf("lanp%d", k)
}

func (b *builder) checkIfaceNames() {
	tooLong := func(kind, node string, pos Pos, longest string) {
		b.errorf(pos, ErrValue, "%s name %q is too long: its interface %q would be %d bytes and Linux allows %d; use a name of at most %d bytes",
			kind, node, longest, len(longest), MaxIfaceName, len(node)-(len(longest)-MaxIfaceName))
	}
	for _, rr := range b.rlist {
		n := len(rr.links)
		if len(rr.hosts) > 0 {
			n++
		}
		if n == 0 {
			continue
		}
		if s := ifaceName(rr.raw.name, n-1); len(s) > MaxIfaceName {
			tooLong("router", rr.raw.name, rr.raw.pos, s)
		}
	}
	for _, rh := range b.hlist {
		if s := ifaceName(rh.name, 0); len(s) > MaxIfaceName {
			tooLong("host", rh.name, rh.pos, s)
		}
	}
}

// ifaceOf names the interface of router rr on link k.
func ifaceOf(rr *rRouter, k *rLink) string {
	return ifaceName(rr.raw.name, slices.Index(rr.links, k))
}

func (b *builder) explicitLinkAddrs() {
	for _, rk := range b.links {
		for _, la := range rk.raw.addrs {
			side := -1
			for i, rr := range rk.ends {
				if rr.raw.name == la.end.name {
					side = i
				}
			}
			if side < 0 {
				b.errorf(la.end.pos, ErrReference, "%q is not an endpoint of %s; addresses are keyed by the link's two routers", la.end.name, rk)
				rk.noAuto = true
				continue
			}
			for _, a := range la.addrs {
				f := FamilyOf(a.p.Addr())
				if why := ifaceAddrProblem(a.p); why != "" {
					b.errorf(a.pos, ErrAddress, "%s of %s on %s %s", a.p, la.end.name, rk, why)
					rk.noAuto = true
					continue
				}
				if _, dup := rk.addrs[side][f]; dup {
					b.errorf(a.pos, ErrAddress, "%s has two %s addresses on %s; expected at most one of each family", la.end.name, f, rk)
					rk.noAuto = true
					continue
				}
				rk.addrs[side][f] = a
			}
		}
		if rk.noAuto {
			continue
		}
		for _, f := range []Family{IPv4, IPv6} {
			a, okA := rk.addrs[0][f]
			c, okB := rk.addrs[1][f]
			switch {
			case okA && okB:
				if a.p.Masked() != c.p.Masked() {
					b.errorf(c.pos, ErrAddress, "%s of %s and %s of %s are not in the same subnet; the two ends of %s share one",
						a.p, rk.ends[0].raw.name, c.p, rk.ends[1].raw.name, rk)
					rk.noAuto = true
				}
			case okA || okB:
				have, miss, p := 0, 1, a
				if okB {
					have, miss, p = 1, 0, c
				}
				b.errorf(p.pos, ErrAddress, "%s has %s address %s on %s but %s has none; give both ends an address of each family they use",
					rk.ends[have].raw.name, f, p.p, rk, rk.ends[miss].raw.name)
				rk.noAuto = true
			}
		}
	}
}

func (b *builder) explicitLANAddrs() {
	for _, rr := range b.rlist {
		for _, a := range rr.raw.lan {
			f := FamilyOf(a.p.Addr())
			if why := ifaceAddrProblem(a.p); why != "" {
				b.errorf(a.pos, ErrAddress, "LAN address %s of router %q %s", a.p, rr.raw.name, why)
				rr.raw.lanBad = true
				continue
			}
			if _, dup := rr.lan[f]; dup {
				b.errorf(a.pos, ErrAddress, "router %q has two %s LAN addresses; expected at most one of each family", rr.raw.name, f)
				rr.raw.lanBad = true
				continue
			}
			rr.lan[f] = a
			rr.lanPrefix[f] = a.p.Masked()
		}
		if len(rr.raw.lan) > 0 && len(rr.hosts) == 0 {
			b.errorf(rr.raw.lan[0].pos, ErrValue, "router %q has LAN addresses but no hosts; a LAN exists for its hosts (attach one, or remove lan:)", rr.raw.name)
		}
	}
	for _, rh := range b.hlist {
		rr := rh.router
		if rr == nil {
			continue
		}
		for _, f := range []Family{IPv4, IPv6} {
			a, ok := rh.addrs[f]
			if !ok {
				continue
			}
			if why := ifaceAddrProblem(a.p); why != "" {
				b.errorf(a.pos, ErrAddress, "address %s of host %q %s", a.p, rh.name, why)
				delete(rh.addrs, f)
				continue
			}
			lan, ok := rr.lanPrefix[f]
			switch {
			case !ok && rr.raw.lanBad:
				// Already reported on the router.
			case !ok:
				b.errorf(a.pos, ErrAddress, "host %q has %s address %s but router %q has no %s LAN address to be its gateway; add one to the router's lan:",
					rh.name, f, a.p, rr.raw.name, f)
			case a.p.Masked() != lan:
				b.errorf(a.pos, ErrAddress, "address %s of host %q is not in the LAN %s of router %q", a.p, rh.name, lan, rr.raw.name)
			}
		}
	}
}

// owned is an address or subnet and who has it, for duplicate checks.
type owned struct {
	addr  netip.Addr
	net   netip.Prefix
	owner string // "as1ra-eth0", or "LAN of as1ra"
	group any    // the link or LAN: members of one group share a subnet
	pos   Pos
}

// checkAddrs finds addresses used twice, router IDs used twice and
// overlapping subnets among the explicit values, and reserves them all
// for allocation.
func (b *builder) checkAddrs() {
	var addrs, nets []owned
	for _, rk := range b.links {
		if rk.noAuto {
			continue
		}
		for side, rr := range rk.ends {
			for _, a := range rk.addrs[side] {
				o := owned{addr: a.p.Addr(), net: a.p.Masked(), owner: ifaceOf(rr, rk), group: rk, pos: a.pos}
				addrs = append(addrs, o)
				nets = append(nets, o)
			}
		}
	}
	for _, rr := range b.rlist {
		if len(rr.hosts) == 0 {
			continue
		}
		lanIface := ifaceName(rr.raw.name, len(rr.links))
		for _, a := range rr.lan {
			o := owned{addr: a.p.Addr(), net: a.p.Masked(), owner: lanIface, group: rr, pos: a.pos}
			addrs = append(addrs, o)
			nets = append(nets, o)
		}
	}
	for _, rh := range b.hlist {
		for _, a := range rh.addrs {
			addrs = append(addrs, owned{addr: a.p.Addr(), owner: ifaceName(rh.name, 0), pos: a.pos})
		}
	}
	slices.SortStableFunc(addrs, func(x, y owned) int { return comparePos(x.pos, y.pos) })
	seen := make(map[netip.Addr]int, len(addrs))
	for i, o := range addrs {
		if j, dup := seen[o.addr]; dup {
			first := addrs[j]
			b.errorf(o.pos, ErrDuplicate, "address %s is already used by %s (line %d); every address is on one interface", o.addr, first.owner, first.pos.Line)
			continue
		}
		seen[o.addr] = i
	}

	// Overlapping subnets: sort by address then length, so that a subnet
	// comes right after every subnet that contains it; a stack holds the
	// chain of subnets containing the current one.
	slices.SortStableFunc(nets, func(x, y owned) int {
		return cmp.Or(x.net.Addr().Compare(y.net.Addr()), cmp.Compare(x.net.Bits(), y.net.Bits()))
	})
	var stack []owned
	for _, o := range nets {
		for len(stack) > 0 && !stack[len(stack)-1].net.Contains(o.addr) {
			stack = stack[:len(stack)-1]
		}
		for _, s := range stack {
			if s.group == o.group {
				continue
			}
			first, second := s, o
			if comparePos(second.pos, first.pos) < 0 {
				first, second = second, first
			}
			b.errorf(second.pos, ErrAddress, "subnet %s of %s overlaps subnet %s of %s (line %d); links and LANs need subnets of their own",
				second.net, describeGroup(second.group), first.net, describeGroup(first.group), first.pos.Line)
		}
		if len(stack) == 0 || stack[len(stack)-1].net != o.net || stack[len(stack)-1].group != o.group {
			stack = append(stack, o)
		}
		b.used.add(o.net, true)
	}

	rids := []rawName{}
	for _, rr := range b.rlist {
		if rr.raw.routerID.set {
			rids = append(rids, rawName{rr.raw.routerID.v.String(), rr.raw.routerID.pos})
		}
	}
	slices.SortStableFunc(rids, func(x, y rawName) int { return comparePos(x.pos, y.pos) })
	firstRID := map[string]rawName{}
	for _, id := range rids {
		if first, dup := firstRID[id.name]; dup {
			b.errorf(id.pos, ErrDuplicate, "router-id %s is already used (line %d); BGP identifiers must be unique", id.name, first.pos.Line)
			continue
		}
		firstRID[id.name] = id
	}

	for _, r := range b.raw.routers {
		for _, o := range r.prefixes {
			b.used.add(o.Prefix, false)
		}
	}
}

func describeGroup(g any) string {
	switch g := g.(type) {
	case *rLink:
		return g.String()
	case *rRouter:
		return fmt.Sprintf("the LAN of router %q", g.raw.name)
	}
	return "?"
}

// allocate fills in every value the file leaves out, in a fixed order
// (router IDs, link subnets, LAN subnets, host addresses; IPv4 before
// IPv6; file order within each), so that the same file always gets the
// same addresses.
func (b *builder) allocate() {
	pools := b.lab.Pools

	// Router IDs: the pool's addresses from its second on, skipping the
	// explicit ones.
	usedID := map[netip.Addr]bool{}
	for _, rr := range b.rlist {
		if rr.raw.routerID.set {
			usedID[rr.raw.routerID.v] = true
			rr.routerID = rr.raw.routerID.v
		}
	}
	var nextID uint64 = 1
ids:
	for _, rr := range b.rlist {
		if rr.routerID.IsValid() {
			continue
		}
		for {
			a, ok := offsetAddr(pools.RouterID, nextID)
			if !ok {
				b.errorf(b.poolPos(b.raw.addressing.routerIDs), ErrAddress, "the router-ids pool %s is exhausted at router %q; give a larger pool in addressing router-ids", pools.RouterID, rr.raw.name)
				break ids
			}
			nextID++
			if !usedID[a] {
				rr.routerID = a
				usedID[a] = true
				break
			}
		}
	}

	for _, f := range []Family{IPv4, IPv6} {
		if !b.wantFamily(f) {
			continue
		}
		pool, bits, key := pools.LinkIPv4, pools.LinkIPv4Len, b.raw.addressing.link4
		if f == IPv6 {
			pool, bits, key = pools.LinkIPv6, 64, b.raw.addressing.link6
		}
		al := newSubnetAlloc(pool, bits, b.used)
		for _, rk := range b.links {
			if rk.noAuto {
				continue
			}
			if _, ok := rk.addrs[0][f]; ok {
				continue
			}
			p, ok := al.alloc()
			if !ok {
				b.errorf(b.poolPos(key), ErrAddress, "the %s link pool %s (%s) is exhausted at %s (line %d); give a larger pool in addressing",
					f, pool, subnetCount(pool, bits), rk, rk.raw.pos.Line)
				break
			}
			first := uint64(1)
			if bits == 31 {
				first = 0 // RFC 3021: both addresses of a /31 are hosts.
			}
			for side := range rk.ends {
				a, _ := offsetAddr(p, first+uint64(side))
				rk.addrs[side][f] = rawAddr{p: netip.PrefixFrom(a, bits), pos: rk.raw.pos}
			}
		}
	}

	for _, f := range []Family{IPv4, IPv6} {
		if !b.wantFamily(f) {
			continue
		}
		pool, bits, key := pools.LANIPv4, pools.LANIPv4Len, b.raw.addressing.lan4
		if f == IPv6 {
			pool, bits, key = pools.LANIPv6, 64, b.raw.addressing.lan6
		}
		al := newSubnetAlloc(pool, bits, b.used)
		for _, rr := range b.rlist {
			if len(rr.hosts) == 0 || rr.raw.lanBad {
				continue
			}
			if _, ok := rr.lan[f]; ok {
				continue
			}
			p, ok := al.alloc()
			if !ok {
				b.errorf(b.poolPos(key), ErrAddress, "the %s LAN pool %s (%s) is exhausted at the LAN of router %q; give a larger pool in addressing",
					f, pool, subnetCount(pool, bits), rr.raw.name)
				break
			}
			a, _ := offsetAddr(p, 1)
			rr.lan[f] = rawAddr{p: netip.PrefixFrom(a, bits), pos: rr.raw.pos}
			rr.lanPrefix[f] = p
		}
	}

	// Host addresses: the LAN's first free addresses, in host order.
	for _, rr := range b.rlist {
		if len(rr.hosts) == 0 {
			continue
		}
		for _, f := range []Family{IPv4, IPv6} {
			gw, ok := rr.lan[f]
			if !ok {
				continue
			}
			taken := map[netip.Addr]bool{gw.p.Addr(): true}
			for _, rh := range rr.hosts {
				if a, ok := rh.addrs[f]; ok {
					taken[a.p.Addr()] = true
				}
			}
			net := rr.lanPrefix[f]
			next := uint64(1)
			for _, rh := range rr.hosts {
				if _, ok := rh.addrs[f]; ok {
					continue
				}
				for {
					a, ok := offsetAddr(net, next)
					if !ok || (f == IPv4 && net.Bits() < 31 && a == lastAddr(net)) {
						b.errorf(rh.pos, ErrAddress, "the LAN %s of router %q has no free address left for host %q", net, rr.raw.name, rh.name)
						break
					}
					next++
					if !taken[a] {
						taken[a] = true
						rh.addrs[f] = rawAddr{p: netip.PrefixFrom(a, net.Bits()), pos: rh.pos}
						break
					}
				}
			}
		}
	}

	if len(b.families) > 0 {
		return // allocation gave every link and LAN addresses, or said why not
	}
	for _, rk := range b.links {
		if !rk.noAuto && len(rk.addrs[0]) == 0 {
			b.errorf(rk.raw.pos, ErrAddress, "%s has no addresses: none are written and addressing families is empty; it could carry no BGP session", rk)
		}
	}
	for _, rr := range b.rlist {
		if len(rr.hosts) > 0 && len(rr.lan) == 0 && !rr.raw.lanBad {
			b.errorf(rr.raw.pos, ErrAddress, "the LAN of router %q has no addresses: none are written in lan: and addressing families is empty", rr.raw.name)
		}
	}
}

// poolPos is where a pool is set, or the file when it is a default.
func (b *builder) poolPos(s setting[netip.Prefix]) Pos {
	if s.set {
		return s.pos
	}
	return Pos{File: b.file}
}

// sortedPrefixes returns an interface's addresses, IPv4 first.
func sortedPrefixes(m map[Family]rawAddr) []netip.Prefix {
	var out []netip.Prefix
	for _, f := range []Family{IPv4, IPv6} {
		if a, ok := m[f]; ok {
			out = append(out, a.p)
		}
	}
	return out
}

// assemble builds the model from the resolved state.
func (b *builder) assemble() {
	lab := b.lab
	ns := func(node string) string { return lab.Name + "-" + node }

	asByNum := map[uint32]*AS{}
	for _, rr := range b.rlist {
		r := &Router{
			Node:     Node{Name: rr.raw.name, Kind: KindRouter, Namespace: ns(rr.raw.name), Pos: rr.raw.pos},
			RouterID: rr.routerID,
			External: rr.raw.external || rr.raw.daemon != DaemonNone,
			Daemon:   rr.raw.daemon,
			KindPos:  rr.raw.daemonPos,
		}
		rr.r = r
		a := asByNum[rr.asn]
		if a == nil {
			a = &AS{Number: rr.asn, Pos: rr.raw.as.pos}
			if ra := b.ases[rr.asn]; ra != nil {
				a.Name, a.Pos = ra.name, ra.pos
			}
			asByNum[rr.asn] = a
			lab.ASes = append(lab.ASes, a)
		}
		a.Routers = append(a.Routers, r)
		r.AS = a
		r.BGP = rr.bgp
		lab.Routers = append(lab.Routers, r)
	}
	slices.SortFunc(lab.ASes, func(x, y *AS) int { return cmp.Compare(x.Number, y.Number) })

	for _, rh := range b.hlist {
		h := &Host{
			Node:   Node{Name: rh.name, Kind: KindHost, Namespace: ns(rh.name), Pos: rh.pos},
			Router: rh.router.r,
		}
		rh.h = h
		lab.Hosts = append(lab.Hosts, h)
	}
	// The back pointers (Node.Router, Node.Host) are needed below.
	lab.Index()

	// Router-router links, in file order; each end's interface index is
	// its place among its router's links.
	for _, rk := range b.links {
		k := &Link{Index: len(lab.Links), Password: rk.raw.password, Pos: rk.raw.pos}
		rk.k = k
		ends := [2]*Interface{}
		for side, rr := range rk.ends {
			idx := slices.Index(rr.links, rk)
			ends[side] = &Interface{
				Name: ifaceName(rr.raw.name, idx), Node: &rr.r.Node, Index: idx,
				Addrs: sortedPrefixes(rk.addrs[side]), Link: k,
			}
		}
		k.A, k.B = ends[0], ends[1]
		lab.Links = append(lab.Links, k)
	}
	for _, rr := range b.rlist {
		rr.r.Interfaces = make([]*Interface, len(rr.links))
		for i, rk := range rr.links {
			if rk.ends[0] == rr {
				rr.r.Interfaces[i] = rk.k.A
			} else {
				rr.r.Interfaces[i] = rk.k.B
			}
		}
		if len(rr.hosts) > 0 {
			idx := len(rr.links)
			lan := &LAN{Router: rr.r, Prefix4: rr.lanPrefix[IPv4], Prefix6: rr.lanPrefix[IPv6]}
			lan.Iface = &Interface{Name: ifaceName(rr.raw.name, idx), Node: &rr.r.Node, Index: idx, Addrs: sortedPrefixes(rr.lan)}
			rr.r.Interfaces = append(rr.r.Interfaces, lan.Iface)
			rr.r.LAN = lan
			lab.LANs = append(lab.LANs, lan)
		}
	}
	// Host links, in host order.
	for _, rh := range b.hlist {
		lan := rh.router.r.LAN
		h := rh.h
		k := &Link{Index: len(lab.Links), LAN: lan, Pos: rh.pos}
		hi := &Interface{Name: ifaceName(h.Name, 0), Node: &h.Node, Index: 0, Addrs: sortedPrefixes(rh.addrs), Link: k}
		h.Interfaces = []*Interface{hi}
		k.A, k.B = lan.Iface, hi
		if len(rh.router.hosts) > 1 {
			k.BridgePort = bridgePortName(lan.Iface.Name, len(lan.Hosts)+1)
		}
		if lan.Iface.Link == nil {
			lan.Iface.Link = k
		}
		lan.Hosts = append(lan.Hosts, h)
		lan.Links = append(lan.Links, k)
		if p, ok := lan.Iface.Addr(IPv4); ok {
			h.Gateway4 = p.Addr()
		}
		if p, ok := lan.Iface.Addr(IPv6); ok {
			h.Gateway6 = p.Addr()
		}
		lab.Links = append(lab.Links, k)
	}

	// Originated routes: the file's prefixes, then the LAN's prefixes not
	// already among them (the seed lists 2001:1234:1::/64 both as as1ra's
	// prefix and as h1's LAN: one route).
	for _, rr := range b.rlist {
		rr.r.Originate = slices.Clone(rr.originate)
		if lan := rr.r.LAN; lan != nil {
			for _, p := range []netip.Prefix{lan.Prefix4, lan.Prefix6} {
				if p.IsValid() && !slices.ContainsFunc(rr.originate, func(o Origination) bool { return o.Prefix == p }) {
					rr.r.Originate = append(rr.r.Originate, Origination{Prefix: p, Pos: rr.raw.pos})
				}
			}
		}
	}

	b.assemblePolicy()
	b.sessions()
	b.assembleAPI()
}

// originations returns the prefixes a router's entry lists, reporting any
// listed twice.
func (b *builder) originations(rr *rRouter) []Origination {
	var out []Origination
	seen := map[netip.Prefix]Pos{}
	for _, o := range rr.raw.prefixes {
		if first, dup := seen[o.Prefix]; dup {
			b.errorf(o.Pos, ErrDuplicate, "router %q originates %s twice (first at line %d)", rr.raw.name, o.Prefix, first.Line)
			continue
		}
		seen[o.Prefix] = o.Pos
		out = append(out, o)
	}
	return out
}

// bgpConfig resolves a router's BGP settings: router over AS over lab over
// the defaults.
func (b *builder) bgpConfig(rr *rRouter) BGPConfig {
	levels := []*rawBGP{&b.raw.bgp}
	if a := b.ases[rr.asn]; a != nil {
		levels = append(levels, &a.bgp)
	}
	levels = append(levels, &rr.raw.bgp)
	pick := func(get func(*rawBGP) setting[time.Duration]) (s setting[time.Duration]) {
		for _, l := range levels {
			if v := get(l); v.set {
				s = v
			}
		}
		return s
	}
	hold := pick(func(l *rawBGP) setting[time.Duration] { return l.hold })
	ka := pick(func(l *rawBGP) setting[time.Duration] { return l.keepalive })
	cr := pick(func(l *rawBGP) setting[time.Duration] { return l.connectRetry })
	cfg := BGPConfig{Hold: DefaultHold, ConnectRetry: DefaultConnectRetry}
	if hold.set {
		cfg.Hold = hold.v
	}
	if cr.set {
		cfg.ConnectRetry = cr.v
	}
	for _, l := range levels {
		if l.compareRouterID.set {
			cfg.CompareRouterID = l.compareRouterID.v
		}
	}
	bad := false
	for _, l := range levels {
		bad = bad || l.bad
	}
	switch {
	case cfg.Hold == 0:
		// RFC 4271 §4.4: no hold timer, no keepalives.
		cfg.Keepalive = 0
	case bad:
		// A timer was invalid and is reported; checking the others against
		// a default in its place would mislead.
	case !ka.set:
		cfg.Keepalive = max(cfg.Hold/3, time.Second).Truncate(time.Second)
	case ka.v == 0:
		b.errorf(ka.pos, ErrValue, "keepalive 0s with a hold time of %s would let every session expire; set keepalive to about a third of hold (RFC 4271 §10), or hold to 0", secs(cfg.Hold))
	case ka.v >= cfg.Hold:
		where := "the default"
		if hold.set {
			where = fmt.Sprintf("line %d", hold.pos.Line)
		}
		// Point at the more specific of the two settings: the one that
		// overrides an inherited value is the likely mistake.
		p := ka.pos
		if hold.set && b.levelOf(levels, hold.pos) > b.levelOf(levels, ka.pos) {
			p = hold.pos
		}
		b.errorf(p, ErrValue, "keepalive %s (line %d) must be less than the hold time %s (%s); a third of it is usual (RFC 4271 §10)",
			secs(ka.v), ka.pos.Line, secs(cfg.Hold), where)
	default:
		cfg.Keepalive = ka.v
	}
	return cfg
}

// levelOf returns the precedence level (0 lab, then AS, then router) whose
// settings include position p.
func (b *builder) levelOf(levels []*rawBGP, p Pos) int {
	for i := len(levels) - 1; i >= 0; i-- {
		l := levels[i]
		for _, q := range []Pos{l.hold.pos, l.keepalive.pos, l.connectRetry.pos} {
			if q == p {
				return i
			}
		}
	}
	return 0
}

func secs(d time.Duration) string { return fmt.Sprintf("%ds", d/time.Second) }
