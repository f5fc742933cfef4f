package diagram

import (
	"fmt"
	"math"
	"net/netip"

	"lab/topo"
)

func pt(v vec) Point { return Point{int(math.Round(v.x)), int(math.Round(v.y))} }

func rectAt(c, size vec) Rect {
	return Rect{int(math.Round(c.x - size.x/2)), int(math.Round(c.y - size.y/2)), int(size.x), int(size.y)}
}

// emit turns the layout into a Diagram.
func (ly *layouter) emit() *Diagram {
	l := ly.l
	d := &Diagram{Lab: l.Name, ASes: []AS{}, Nodes: []Node{}, Links: []Link{}, LANs: []LAN{}, Sessions: []Session{}}
	routerC := make([]vec, len(l.Routers))
	hostC := make([]vec, len(l.Hosts))
	for i, r := range l.Routers {
		a := ly.asIdx[r.AS]
		routerC[i] = ly.asPos[a].add(ly.rel[i])
		if r.LAN != nil {
			for k, h := range r.LAN.Hosts {
				hostC[ly.hostIdx[h]] = routerC[i].add(ly.groups[i].hosts[k])
			}
		}
	}
	for a, as := range l.ASes {
		lo, hi := ly.asPos[a].add(ly.asLo[a]), ly.asPos[a].add(ly.asHi[a])
		x := AS{
			ID: fmt.Sprintf("as-%d", as.Number), Number: as.Number, Name: as.Name,
			Rect:  Rect{int(lo.x), int(lo.y), int(hi.x - lo.x), int(hi.y - lo.y)},
			Label: asLabel(as), Routers: []string{},
		}
		x.LabelAt = Point{x.X + asPad, x.Y + asPad + 3}
		if ly.labelBelow[a] {
			x.LabelAt.Y = x.Y + x.H - 9
		}
		for _, r := range as.Routers {
			x.Routers = append(x.Routers, r.Name)
		}
		d.ASes = append(d.ASes, x)
		d.Width = max(d.Width, x.X+x.W+margin)
		d.Height = max(d.Height, x.Y+x.H+margin)
	}
	for i, r := range l.Routers {
		d.Nodes = append(d.Nodes, Node{
			ID: "node-" + r.Name, Name: r.Name, Kind: "router", AS: r.AS.Number,
			Rect:  rectAt(routerC[i], ly.rsize[i]),
			Label: r.Name, Sublabel: ly.rlabel[i],
			RouterID: r.RouterID.String(), External: r.External,
			Addresses: nodeAddrs(&r.Node),
		})
	}
	for i, h := range l.Hosts {
		d.Nodes = append(d.Nodes, Node{
			ID: "node-" + h.Name, Name: h.Name, Kind: "host", AS: h.Router.AS.Number,
			Rect:  rectAt(hostC[i], ly.hsize[i]),
			Label: h.Name, Sublabel: ly.hlabel[i],
			Router: h.Router.Name, Addresses: nodeAddrs(&h.Node),
		})
	}
	nodeRect := func(n *topo.Node) Rect {
		if r := n.Router(); r != nil {
			return d.Nodes[ly.routerIdx[r]].Rect
		}
		return d.Nodes[len(l.Routers)+ly.hostIdx[n.Host()]].Rect
	}

	// Parallel links between two routers are drawn side by side.
	type pair struct{ a, b int }
	count := map[pair]int{}
	pairOf := func(k *topo.Link) (pair, bool) {
		ra, rb := k.A.Node.Router(), k.B.Node.Router()
		if k.LAN != nil || ra == nil || rb == nil {
			return pair{}, false
		}
		a, b := ly.routerIdx[ra], ly.routerIdx[rb]
		return pair{min(a, b), max(a, b)}, true
	}
	for _, k := range l.Links {
		if p, ok := pairOf(k); ok {
			count[p]++
		}
	}
	seen := map[pair]int{}
	for _, k := range l.Links {
		end := func(i *topo.Interface) LinkEnd {
			return LinkEnd{Node: i.Node.Name, Interface: i.Name, Addresses: addrs(i.Addrs, true)}
		}
		x := Link{ID: fmt.Sprintf("link-%d", k.Index), Index: k.Index, Kind: "router", A: end(k.A), B: end(k.B), MD5: k.Password != ""}
		ra, rb := nodeRect(k.A.Node), nodeRect(k.B.Node)
		ca, cb := center(ra), center(rb)
		switch {
		case k.LAN != nil && k.BridgePort != "":
			x.Kind, x.LAN, x.A.BridgePort = "host", k.LAN.Router.Name, k.BridgePort
			g := ly.groups[ly.routerIdx[k.LAN.Router]]
			bus := routerC[ly.routerIdx[k.LAN.Router]].add(g.bus[0])
			var from vec
			if g.bus[0].y == g.bus[1].y { // a horizontal bus: drop straight down or up
				from = vec{cb.x, bus.y}
			} else {
				from = vec{bus.x, cb.y}
			}
			x.Points = []Point{pt(from), pt(exit(rb, cb, from.sub(cb)))}
		case k.LAN != nil:
			x.Kind, x.LAN = "host", ""
			x.Points = []Point{pt(exit(ra, ca, cb.sub(ca))), pt(exit(rb, cb, ca.sub(cb)))}
		default:
			p, _ := pairOf(k)
			// Boxes a pixel or two apart after rounding: draw the line
			// straight rather than nearly so.
			if d := cb.x - ca.x; d != 0 && math.Abs(d) <= 2 {
				ca.x = math.Round((ca.x + cb.x) / 2)
				cb.x = ca.x
			}
			if d := cb.y - ca.y; d != 0 && math.Abs(d) <= 2 {
				ca.y = math.Round((ca.y + cb.y) / 2)
				cb.y = ca.y
			}
			dir := cb.sub(ca)
			if ly.routerIdx[k.A.Node.Router()] != p.a {
				dir = dir.mul(-1) // offsets measured from the pair's first router
			}
			off := (float64(seen[p]) - float64(count[p]-1)/2) * parallel
			seen[p]++
			n := dir.unit().rot90().mul(off)
			pa, pb := ca.add(n), cb.add(n)
			x.Points = []Point{pt(exit(ra, pa, pb.sub(pa))), pt(exit(rb, pb, pa.sub(pb)))}
		}
		d.Links = append(d.Links, x)
	}
	for _, lan := range l.LANs {
		if len(lan.Hosts) < 2 {
			continue
		}
		i := ly.routerIdx[lan.Router]
		g, c := ly.groups[i], routerC[i]
		x := LAN{
			ID: "lan-" + lan.Router.Name, Router: lan.Router.Name, Interface: lan.Iface.Name,
			Prefixes: []string{}, Hosts: []string{},
			Trunk: []Point{pt(c.add(g.trunk[0])), pt(c.add(g.trunk[1]))},
			Bus:   []Point{pt(c.add(g.bus[0])), pt(c.add(g.bus[1]))},
		}
		for _, p := range []netip.Prefix{lan.Prefix4, lan.Prefix6} {
			if p.IsValid() {
				x.Prefixes = append(x.Prefixes, p.String())
			}
		}
		for _, h := range lan.Hosts {
			x.Hosts = append(x.Hosts, h.Name)
		}
		d.LANs = append(d.LANs, x)
	}

	// Session dots: the link's sessions in order, from each end inwards.
	nth := make([]int, len(l.Links))
	per := make([]int, len(l.Links))
	for _, s := range l.Sessions {
		if s.Link != nil {
			per[s.Link.Index]++
		}
	}
	for _, s := range l.Sessions {
		if s.Link == nil {
			// A session between loopbacks (iBGP inside an AS) is on no
			// link: its dots sit where the line between its routers
			// leaves each box, and the page may draw that line.
			ra, rb := nodeRect(&s.A.Router.Node), nodeRect(&s.B.Router.Node)
			ca, cb := center(ra), center(rb)
			d.Sessions = append(d.Sessions, Session{
				ID: fmt.Sprintf("session-%d", s.Index), Index: s.Index, Family: family(s.Family),
				Link: -1, Loopback: true, IBGP: true,
				A: SessionEnd{Router: s.A.Router.Name, Address: s.A.Addr.String(), Point: pt(exit(ra, ca, cb.sub(ca)))},
				B: SessionEnd{Router: s.B.Router.Name, Address: s.B.Addr.String(), Point: pt(exit(rb, cb, ca.sub(cb)))},
			})
			continue
		}
		k := d.Links[s.Link.Index]
		a, b := vecOf(k.Points[0]), vecOf(k.Points[len(k.Points)-1])
		length := b.sub(a).norm()
		u := b.sub(a).unit()
		m := nth[s.Link.Index]
		nth[s.Link.Index]++
		dist := float64(sessionOff + m*sessionGap)
		if far := float64(sessionOff+(per[s.Link.Index]-1)*sessionGap)*2 + 6; far > length {
			dist *= length / far
		}
		d.Sessions = append(d.Sessions, Session{
			ID: fmt.Sprintf("session-%d", s.Index), Index: s.Index, Family: family(s.Family),
			Link: s.Link.Index, IBGP: s.IBGP(),
			A: SessionEnd{Router: s.A.Router.Name, Address: s.A.Addr.String(), Point: pt(a.add(u.mul(dist)))},
			B: SessionEnd{Router: s.B.Router.Name, Address: s.B.Addr.String(), Point: pt(b.sub(u.mul(dist)))},
		})
	}
	return d
}

func center(r Rect) vec { return vec{float64(r.X) + float64(r.W)/2, float64(r.Y) + float64(r.H)/2} }
func vecOf(p Point) vec { return vec{float64(p.X), float64(p.Y)} }

// exit returns where the ray from p (inside r) along dir leaves r.
func exit(r Rect, p, dir vec) vec {
	t := math.Inf(1)
	if dir.x > 0 {
		t = min(t, (float64(r.X+r.W)-p.x)/dir.x)
	} else if dir.x < 0 {
		t = min(t, (float64(r.X)-p.x)/dir.x)
	}
	if dir.y > 0 {
		t = min(t, (float64(r.Y+r.H)-p.y)/dir.y)
	} else if dir.y < 0 {
		t = min(t, (float64(r.Y)-p.y)/dir.y)
	}
	if math.IsInf(t, 1) || t < 0 {
		return p
	}
	return p.add(dir.mul(t))
}
