package netemu

import (
	"fmt"
	"net/netip"

	"lab/topo"
)

// modelBuilder assembles a topo.Lab in memory the way topo.Load would: the
// tests do not depend on the YAML parser.
type modelBuilder struct {
	m    *topo.Lab
	ases map[uint32]*topo.AS
}

func newModel(name string) *modelBuilder {
	return &modelBuilder{m: &topo.Lab{Name: name}, ases: map[uint32]*topo.AS{}}
}

func (b *modelBuilder) router(name string, as uint32) *topo.Router {
	a := b.ases[as]
	if a == nil {
		a = &topo.AS{Number: as}
		b.ases[as] = a
		b.m.ASes = append(b.m.ASes, a)
	}
	r := &topo.Router{Node: topo.Node{Name: name, Kind: topo.KindRouter, Namespace: b.m.Name + "-" + name}, AS: a}
	a.Routers = append(a.Routers, r)
	b.m.Routers = append(b.m.Routers, r)
	return r
}

// iface adds the node's next interface, "<node>-eth<i>", with addresses.
func (b *modelBuilder) iface(n *topo.Node, addrs ...string) *topo.Interface {
	i := &topo.Interface{Name: fmt.Sprintf("%s-eth%d", n.Name, len(n.Interfaces)), Node: n, Index: len(n.Interfaces)}
	for _, a := range addrs {
		p := netip.MustParsePrefix(a)
		if p.Addr().Is4() {
			// IPv4 first, as the model keeps them.
			i.Addrs = append([]netip.Prefix{p}, i.Addrs...)
		} else {
			i.Addrs = append(i.Addrs, p)
		}
	}
	n.Interfaces = append(n.Interfaces, i)
	return i
}

func (b *modelBuilder) link(x, y *topo.Interface) *topo.Link {
	k := &topo.Link{Index: len(b.m.Links), A: x, B: y}
	x.Link, y.Link = k, k
	b.m.Links = append(b.m.Links, k)
	return k
}

// lan gives r a LAN interface with addrs and one host per entry of hosts
// (host name -> host interface addresses).
func (b *modelBuilder) lan(r *topo.Router, addrs []string, hosts ...hostSpec) *topo.LAN {
	ri := b.iface(&r.Node, addrs...)
	lan := &topo.LAN{Router: r, Iface: ri}
	if p, ok := ri.Addr(topo.IPv4); ok {
		lan.Prefix4 = p.Masked()
	}
	if p, ok := ri.Addr(topo.IPv6); ok {
		lan.Prefix6 = p.Masked()
	}
	for _, hs := range hosts {
		h := &topo.Host{Node: topo.Node{Name: hs.name, Kind: topo.KindHost, Namespace: b.m.Name + "-" + hs.name}, Router: r}
		if p, ok := ri.Addr(topo.IPv4); ok {
			h.Gateway4 = p.Addr()
		}
		if p, ok := ri.Addr(topo.IPv6); ok {
			h.Gateway6 = p.Addr()
		}
		hi := b.iface(&h.Node, hs.addrs...)
		k := &topo.Link{A: ri, B: hi, LAN: lan}
		hi.Link = k
		if ri.Link == nil {
			ri.Link = k
		}
		lan.Hosts = append(lan.Hosts, h)
		lan.Links = append(lan.Links, k)
		b.m.Hosts = append(b.m.Hosts, h)
	}
	r.LAN = lan
	b.m.LANs = append(b.m.LANs, lan)
	return lan
}

type hostSpec struct {
	name  string
	addrs []string
}

// done appends the host links after the router links, as topo orders
// them, and indexes the model.
func (b *modelBuilder) done() *topo.Lab {
	for _, lan := range b.m.LANs {
		for _, k := range lan.Links {
			k.Index = len(b.m.Links)
			b.m.Links = append(b.m.Links, k)
		}
	}
	b.m.Index()
	return b.m
}

// seedModel is the seeds' topology (IPMininet's simple BGP lab): four
// routers in four ASes, a host on each router's LAN, the seed's IPv6
// addresses, and IPv4 in a parallel scheme (2001:XY::/64 is 10.0.XY.0/24,
// 2001:1234:N::/64 is 10.1.N.0/24; ::a is .1, ::b .2, ::c .3, ::d .4; the
// hosts' ::N is .100).
func seedModel(name string) *topo.Lab {
	b := newModel(name)
	ra := b.router("as1ra", 1)
	rb := b.router("as2rb", 2)
	rc := b.router("as3rc", 3)
	rd := b.router("as4rd", 4)
	b.link(b.iface(&ra.Node, "2001:12::a/64", "10.0.12.1/24"), b.iface(&rb.Node, "2001:12::b/64", "10.0.12.2/24"))
	b.link(b.iface(&ra.Node, "2001:13::a/64", "10.0.13.1/24"), b.iface(&rc.Node, "2001:13::c/64", "10.0.13.3/24"))
	b.link(b.iface(&rb.Node, "2001:23::b/64", "10.0.23.2/24"), b.iface(&rc.Node, "2001:23::c/64", "10.0.23.3/24"))
	b.link(b.iface(&rb.Node, "2001:24::c/64", "10.0.24.3/24"), b.iface(&rd.Node, "2001:24::d/64", "10.0.24.4/24"))
	for i, r := range []*topo.Router{ra, rb, rc, rd} {
		n := i + 1
		letter := "abcd"[i : i+1]
		b.lan(r, []string{fmt.Sprintf("2001:1234:%d::%s/64", n, letter), fmt.Sprintf("10.1.%d.%d/24", n, i+1)},
			hostSpec{fmt.Sprintf("h%d", n), []string{fmt.Sprintf("2001:1234:%d::%d/64", n, n), fmt.Sprintf("10.1.%d.100/24", n)}})
	}
	return b.done()
}

// lanModel is one router with a LAN of three hosts (a bridge) and one
// other router.
func lanModel(name string) *topo.Lab {
	b := newModel(name)
	r1 := b.router("r1", 1)
	r2 := b.router("r2", 2)
	b.link(b.iface(&r1.Node, "2001:db8:12::1/64", "10.0.12.1/24"), b.iface(&r2.Node, "2001:db8:12::2/64", "10.0.12.2/24"))
	b.lan(r1, []string{"2001:db8:100::1/64", "10.100.0.1/24"},
		hostSpec{"ha", []string{"2001:db8:100::a/64", "10.100.0.10/24"}},
		hostSpec{"hb", []string{"2001:db8:100::b/64", "10.100.0.11/24"}},
		hostSpec{"hc", []string{"2001:db8:100::c/64", "10.100.0.12/24"}})
	return b.done()
}
