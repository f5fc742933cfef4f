package diagram

import (
	"fmt"
	"math"

	"lab/topo"
)

// New lays out l. The layout works in two levels, each a stress layout
// followed by overlap removal: inside each AS, its routers (each with its
// hosts, a rigid group); then the ASes, each a rigid box. In order:
//
//  1. each AS's routers are placed by their links inside the AS;
//  2. the ASes are placed by the links between them, every AS a point
//     wanting its linked ASes at a distance that fits both boxes;
//  3. each AS's router layout is turned (one of the 8 symmetries of the
//     square) so that routers face the ASes they link to; when some AS
//     has several routers, the AS layout is then refined with terms
//     between the linked routers instead of the AS centres, and the ASes
//     turned again (twice);
//  4. each router's hosts go on the side of it (below, above, right,
//     left) that its links leave most free: one host beside it, several
//     in a row along a bus; each AS's label goes at the top of its box,
//     or at the bottom when its links come from above;
//  5. overlaps are removed between the groups of each AS, then between
//     the AS boxes, which hold their groups: so no two node boxes overlap.
//     Parts of the lab with no links between them are packed in rows.
func New(l *topo.Lab) *Diagram {
	ly := &layouter{l: l}
	ly.run()
	return ly.emit()
}

// group is a router with its hosts, placed relative to the router's centre.
type group struct {
	hosts      []vec  // host centres
	trunk, bus [2]vec // a bridged LAN's: hosts hang from the bus
	lo, hi     vec    // bounding box
}

func (g group) center() vec { return g.lo.add(g.hi).mul(0.5) }
func (g group) size() vec   { return g.hi.sub(g.lo) }

// layouter holds one layout's working state; New owns it.
type layouter struct {
	l *topo.Lab

	routerIdx map[*topo.Router]int
	asIdx     map[*topo.AS]int
	hostIdx   map[*topo.Host]int
	rsize     []vec // router box sizes
	hsize     []vec // host box sizes
	rlabel    []string
	hlabel    []string

	groups []group // per router
	rel    []vec   // router centre relative to its AS's origin
	asPos  []vec   // AS origins
	asLo   []vec   // AS box relative to its origin
	asHi   []vec
	// asComps are the stress models of the AS graph's components.
	asComps []component
	// labelBelow puts an AS's label at the bottom of its box, away from
	// links that come from above.
	labelBelow []bool
}

// sides are where hosts may go, in order of preference.
var sides = [4]vec{{0, 1}, {0, -1}, {1, 0}, {-1, 0}}

func (ly *layouter) run() {
	l := ly.l
	ly.routerIdx = make(map[*topo.Router]int, len(l.Routers))
	ly.asIdx = make(map[*topo.AS]int, len(l.ASes))
	ly.hostIdx = make(map[*topo.Host]int, len(l.Hosts))
	for i, a := range l.ASes {
		ly.asIdx[a] = i
	}
	for i, r := range l.Routers {
		ly.routerIdx[r] = i
		ly.rlabel = append(ly.rlabel, r.RouterID.String())
		w := max(textWidth(r.Name, nameFont, true), textWidth(ly.rlabel[i], subFont, false)) + 2*nodePadX
		ly.rsize = append(ly.rsize, vec{float64(even(w)), nodeH})
	}
	for i, h := range l.Hosts {
		ly.hostIdx[h] = i
		sub := ""
		if as := h.Addrs(); len(as) > 0 {
			sub = as[0].String()
		}
		ly.hlabel = append(ly.hlabel, sub)
		w := max(textWidth(h.Name, nameFont, true), textWidth(sub, subFont, false)) + 2*nodePadX
		ly.hsize = append(ly.hsize, vec{float64(even(w)), nodeH})
	}
	ly.groups = make([]group, len(l.Routers))
	for i := range l.Routers {
		ly.groups[i] = ly.makeGroup(i, sides[0])
	}
	ly.rel = make([]vec, len(l.Routers))
	ly.asPos = make([]vec, len(l.ASes))
	ly.asLo = make([]vec, len(l.ASes))
	ly.asHi = make([]vec, len(l.ASes))
	ly.labelBelow = make([]bool, len(l.ASes))

	for a := range l.ASes {
		ly.layoutAS(a)
	}
	ly.layoutASes()
	for a := range l.ASes {
		ly.orient(a)
	}
	// With routers placed inside their ASes, links join routers, not AS
	// centres: refine the AS layout for that, and turn the ASes again.
	for _, a := range l.ASes {
		if len(a.Routers) > 1 {
			for range 2 {
				ly.refineASes()
				for a := range l.ASes {
					ly.orient(a)
				}
			}
			break
		}
	}
	for i := range l.Routers {
		ly.groups[i] = ly.makeGroup(i, ly.hostSide(i))
	}
	for a := range l.ASes {
		ly.separateGroups(a)
	}
	ly.separateASes()
}

// radius is how far a box reaches from its centre, for wanted distances.
func radius(size vec) float64 { return 0.5 * max(size.x, size.y) }

// layoutAS places the routers of AS a relative to each other (step 1),
// around the origin.
func (ly *layouter) layoutAS(a int) {
	rs := ly.l.ASes[a].Routers
	local := make(map[*topo.Router]int, len(rs))
	for i, r := range rs {
		local[r] = i
	}
	g := newWGraph(len(rs))
	for _, k := range ly.l.Links {
		ra, rb := k.A.Node.Router(), k.B.Node.Router()
		if ra == nil || rb == nil || ra.AS != rb.AS || ra.AS != ly.l.ASes[a] {
			continue
		}
		ia, ib := ly.routerIdx[ra], ly.routerIdx[rb]
		g.addEdge(local[ra], local[rb], radius(ly.groups[ia].size())+radius(ly.groups[ib].size())+unitLink)
	}
	pos, _ := layoutComponents(g, func(i int) box {
		gr := ly.groups[ly.routerIdx[rs[i]]]
		return box{gr.center(), gr.size().x, gr.size().y}
	}, unitLink)
	lo, hi := vec{math.Inf(1), math.Inf(1)}, vec{math.Inf(-1), math.Inf(-1)}
	for i, r := range rs {
		gr := ly.groups[ly.routerIdx[r]]
		lo = vec{min(lo.x, pos[i].x+gr.lo.x), min(lo.y, pos[i].y+gr.lo.y)}
		hi = vec{max(hi.x, pos[i].x+gr.hi.x), max(hi.y, pos[i].y+gr.hi.y)}
	}
	// The origin is the middle of the routers, not of their groups: the
	// hosts may change sides later, the routers stay where links want them.
	rlo, rhi := vec{math.Inf(1), math.Inf(1)}, vec{math.Inf(-1), math.Inf(-1)}
	for i := range rs {
		rlo = vec{min(rlo.x, pos[i].x), min(rlo.y, pos[i].y)}
		rhi = vec{max(rhi.x, pos[i].x), max(rhi.y, pos[i].y)}
	}
	c := rlo.add(rhi).mul(0.5)
	for i, r := range rs {
		ly.rel[ly.routerIdx[r]] = pos[i].sub(c)
	}
	ly.asLo[a], ly.asHi[a] = ly.asBox(a, lo.sub(c), hi.sub(c))
}

// asBox returns the box of AS a around content from lo to hi: padding, the
// label's band on top (or at the bottom), and wide enough for the label.
func (ly *layouter) asBox(a int, lo, hi vec) (vec, vec) {
	if ly.labelBelow[a] {
		lo = vec{lo.x - asPad, lo.y - asPad}
		hi = vec{hi.x + asPad, hi.y + asPad + asLabelH}
	} else {
		lo = vec{lo.x - asPad, lo.y - asPad - asLabelH}
		hi = vec{hi.x + asPad, hi.y + asPad}
	}
	if w := float64(even(textWidth(asLabel(ly.l.ASes[a]), asFont, true))) + 2*asPad; hi.x-lo.x < w {
		hi.x = lo.x + w
	}
	return lo, hi
}

func asLabel(a *topo.AS) string {
	s := fmt.Sprintf("AS %d", a.Number)
	if a.Name != "" {
		s += " " + a.Name
	}
	return s
}

// layoutASes places the ASes (step 2).
func (ly *layouter) layoutASes() {
	l := ly.l
	g := newWGraph(len(l.ASes))
	for _, k := range l.Links {
		ra, rb := k.A.Node.Router(), k.B.Node.Router()
		if ra == nil || rb == nil || ra.AS == rb.AS {
			continue
		}
		a, b := ly.asIdx[ra.AS], ly.asIdx[rb.AS]
		g.addEdge(a, b, radius(ly.asHi[a].sub(ly.asLo[a]))+radius(ly.asHi[b].sub(ly.asLo[b]))+asLink)
	}
	ly.asPos, ly.asComps = layoutComponents(g, func(a int) box {
		s := ly.asHi[a].sub(ly.asLo[a])
		return box{ly.asLo[a].add(ly.asHi[a]).mul(0.5), s.x, s.y}
	}, asLink)
}

// component is a connected component's stress model: its nodes
// (ascending) and their terms, indexed within the component.
type component struct {
	nodes   []int
	terms   [][]term
	meanLen float64
}

// layoutComponents lays out each connected component of g with stress,
// turns it to its canonical orientation and packs the components in rows;
// boxOf(i) is node i's box relative to its position.
func layoutComponents(g *wgraph, boxOf func(int) box, gap float64) ([]vec, []component) {
	pos := make([]vec, g.n())
	comps := g.components()
	models := make([]component, len(comps))
	groups := make([][]box, len(comps))
	for ci, comp := range comps {
		p, terms, meanLen := stressLayout(g.sub(comp))
		models[ci] = component{comp, terms, meanLen}
		canonical(p)
		for i, v := range comp {
			pos[v] = p[i]
			b := boxOf(v)
			b.c = b.c.add(p[i])
			groups[ci] = append(groups[ci], b)
		}
	}
	if len(comps) > 1 {
		off := packBoxes(groups, gap)
		for ci, comp := range comps {
			for _, v := range comp {
				pos[v] = pos[v].add(off[ci])
			}
		}
	}
	return pos, models
}

// refineASes runs stress majorization on the AS layout again, each AS a
// rigid body whose routers are where layoutAS and orient put them: the
// terms between linked ASes become terms between the linked routers, so
// an AS moves towards the side of its neighbour where its link lands.
func (ly *layouter) refineASes() {
	l := ly.l
	for _, c := range ly.asComps {
		if len(c.nodes) < 2 {
			continue
		}
		local := make(map[int]int, len(c.nodes))
		for i, a := range c.nodes {
			local[a] = i
		}
		ports := make([][]portTerm, len(c.nodes))
		linked := map[[2]int]bool{}
		for _, k := range l.Links {
			ra, rb := k.A.Node.Router(), k.B.Node.Router()
			if ra == nil || rb == nil || ra.AS == rb.AS {
				continue
			}
			ia, ib := ly.routerIdx[ra], ly.routerIdx[rb]
			a, ok := local[ly.asIdx[ra.AS]]
			if !ok {
				continue
			}
			b := local[ly.asIdx[rb.AS]]
			d := radius(ly.groups[ia].size()) + radius(ly.groups[ib].size()) + asLink + 2*asPad
			ports[a] = append(ports[a], portTerm{b, ly.rel[ia], ly.rel[ib], d, 1 / (d * d)})
			ports[b] = append(ports[b], portTerm{a, ly.rel[ib], ly.rel[ia], d, 1 / (d * d)})
			linked[[2]int{a, b}], linked[[2]int{b, a}] = true, true
		}
		terms := make([][]term, len(c.nodes))
		for i, ts := range c.terms {
			for _, t := range ts {
				if !linked[[2]int{i, t.j}] {
					terms[i] = append(terms[i], t)
				}
			}
		}
		pos := make([]vec, len(c.nodes))
		for i, a := range c.nodes {
			pos[i] = ly.asPos[a]
		}
		majorize(pos, terms, ports, c.meanLen)
		for i, a := range c.nodes {
			ly.asPos[a] = pos[i]
		}
	}
}

// symmetries are the 8 symmetries of the square, identity first.
var symmetries = [8]func(vec) vec{
	func(p vec) vec { return p },
	func(p vec) vec { return vec{-p.x, p.y} },
	func(p vec) vec { return vec{p.x, -p.y} },
	func(p vec) vec { return vec{-p.x, -p.y} },
	func(p vec) vec { return vec{p.y, p.x} },
	func(p vec) vec { return vec{-p.y, p.x} },
	func(p vec) vec { return vec{p.y, -p.x} },
	func(p vec) vec { return vec{-p.y, -p.x} },
}

// orient turns AS a's router layout so that its routers are nearest the
// ASes they link to (step 3).
func (ly *layouter) orient(a int) {
	as := ly.l.ASes[a]
	if len(as.Routers) < 2 {
		return
	}
	type pull struct {
		r      int
		target vec
	}
	var pulls []pull
	for _, r := range as.Routers {
		for _, i := range r.Interfaces {
			if i.Link == nil {
				continue
			}
			o := i.Link.Other(i).Node.Router()
			if o == nil || o.AS == as {
				continue
			}
			pulls = append(pulls, pull{ly.routerIdx[r], ly.asPos[ly.asIdx[o.AS]]})
		}
	}
	if len(pulls) == 0 {
		return
	}
	best, bestCost := 0, math.Inf(1)
	for s, f := range symmetries {
		cost := 0.0
		for _, p := range pulls {
			d := ly.asPos[a].add(f(ly.rel[p.r])).sub(p.target)
			cost += d.dot(d)
		}
		if cost < bestCost-1e-9 {
			best, bestCost = s, cost
		}
	}
	for _, r := range as.Routers {
		i := ly.routerIdx[r]
		ly.rel[i] = symmetries[best](ly.rel[i])
	}
}

// hostSide chooses where router i's hosts go (step 4): the side its links
// point to least.
func (ly *layouter) hostSide(i int) vec {
	r := ly.l.Routers[i]
	if r.LAN == nil {
		return sides[0]
	}
	a := ly.asIdx[r.AS]
	var dirs []vec
	for _, itf := range r.Interfaces {
		if itf.Link == nil || itf.Link.LAN != nil {
			continue
		}
		o := itf.Link.Other(itf).Node.Router()
		if o == nil {
			continue
		}
		var d vec
		if o.AS == r.AS {
			d = ly.rel[ly.routerIdx[o]].sub(ly.rel[i])
		} else {
			d = ly.asPos[ly.asIdx[o.AS]].sub(ly.asPos[a].add(ly.rel[i]))
		}
		dirs = append(dirs, d.unit())
	}
	best, bestScore := sides[0], math.Inf(1)
	for _, s := range sides {
		score := 0.0
		for _, d := range dirs {
			// A link nearly square to the side does not block it.
			if c := d.dot(s); c > 0.3 {
				score += c * c
			}
		}
		if score < bestScore-1e-9 {
			best, bestScore = s, score
		}
	}
	return best
}

// makeGroup places router i's hosts on side s of it.
func (ly *layouter) makeGroup(i int, s vec) group {
	r := ly.l.Routers[i]
	rs := ly.rsize[i]
	g := group{lo: rs.mul(-0.5), hi: rs.mul(0.5)}
	if r.LAN == nil {
		return g
	}
	hs := r.LAN.Hosts
	sizes := make([]vec, len(hs))
	for k, h := range hs {
		sizes[k] = ly.hsize[ly.hostIdx[h]]
	}
	row := s.y != 0 // below or above: hosts side by side
	switch {
	case len(hs) == 1 && row:
		g.hosts = []vec{{0, s.y * (rs.y/2 + hostGap + sizes[0].y/2)}}
	case len(hs) == 1:
		g.hosts = []vec{{s.x * (rs.x/2 + hostGap + sizes[0].x/2), 0}}
	case row:
		total := float64(hostSpace * (len(hs) - 1))
		for _, z := range sizes {
			total += z.x
		}
		x := -total / 2
		for _, z := range sizes {
			g.hosts = append(g.hosts, vec{x + z.x/2, s.y * (rs.y/2 + lanGap + z.y/2)})
			x += z.x + hostSpace
		}
		busY := s.y * (rs.y/2 + lanGap/2)
		g.trunk = [2]vec{{0, s.y * rs.y / 2}, {0, busY}}
		g.bus = [2]vec{{g.hosts[0].x, busY}, {g.hosts[len(hs)-1].x, busY}}
	default:
		total := float64(hostSpace * (len(hs) - 1))
		for _, z := range sizes {
			total += z.y
		}
		y := -total / 2
		for _, z := range sizes {
			g.hosts = append(g.hosts, vec{s.x * (rs.x/2 + lanGap + z.x/2), y + z.y/2})
			y += z.y + hostSpace
		}
		busX := s.x * (rs.x/2 + lanGap/2)
		g.trunk = [2]vec{{s.x * rs.x / 2, 0}, {busX, 0}}
		g.bus = [2]vec{{busX, g.hosts[0].y}, {busX, g.hosts[len(hs)-1].y}}
	}
	for k, c := range g.hosts {
		g.lo = vec{min(g.lo.x, c.x-sizes[k].x/2), min(g.lo.y, c.y-sizes[k].y/2)}
		g.hi = vec{max(g.hi.x, c.x+sizes[k].x/2), max(g.hi.y, c.y+sizes[k].y/2)}
	}
	return g
}

// separateGroups removes overlaps between the groups of AS a, puts its
// routers on whole pixels and sets the AS's box (step 5).
func (ly *layouter) separateGroups(a int) {
	rs := ly.l.ASes[a].Routers
	bs := make([]box, len(rs))
	for k, r := range rs {
		i := ly.routerIdx[r]
		g := ly.groups[i]
		bs[k] = box{ly.rel[i].add(g.center()), g.size().x, g.size().y}
	}
	removeOverlaps(bs, unitGap)
	lo, hi := vec{math.Inf(1), math.Inf(1)}, vec{math.Inf(-1), math.Inf(-1)}
	for k, r := range rs {
		i := ly.routerIdx[r]
		g := ly.groups[i]
		p := bs[k].c.sub(g.center())
		p = vec{math.Round(p.x), math.Round(p.y)}
		ly.rel[i] = p
		lo = vec{min(lo.x, p.x+g.lo.x), min(lo.y, p.y+g.lo.y)}
		hi = vec{max(hi.x, p.x+g.hi.x), max(hi.y, p.y+g.hi.y)}
	}
	ly.labelBelow[a] = ly.linksFromAbove(a)
	ly.asLo[a], ly.asHi[a] = ly.asBox(a, lo, hi)
}

// linksFromAbove reports whether the links of AS a to other ASes mostly
// come from above, so that its label is better at the bottom.
func (ly *layouter) linksFromAbove(a int) bool {
	as := ly.l.ASes[a]
	up := 0.0
	for _, r := range as.Routers {
		i := ly.routerIdx[r]
		for _, itf := range r.Interfaces {
			if itf.Link == nil {
				continue
			}
			o := itf.Link.Other(itf).Node.Router()
			if o == nil || o.AS == as {
				continue
			}
			there := ly.asPos[ly.asIdx[o.AS]].add(ly.rel[ly.routerIdx[o]])
			up -= there.sub(ly.asPos[a].add(ly.rel[i])).unit().y
		}
	}
	return up > 0.5
}

// separateASes removes overlaps between the AS boxes and puts them on
// whole pixels, the drawing's top-left corner at the margin.
func (ly *layouter) separateASes() {
	n := len(ly.l.ASes)
	bs := make([]box, n)
	for a := range n {
		lo, hi := ly.asLo[a], ly.asHi[a]
		bs[a] = box{ly.asPos[a].add(lo.add(hi).mul(0.5)), hi.x - lo.x, hi.y - lo.y}
	}
	// Parts of the lab with no link between them are packed side by side,
	// now that their boxes are known.
	if len(ly.asComps) > 1 {
		groups := make([][]box, len(ly.asComps))
		for ci, c := range ly.asComps {
			for _, a := range c.nodes {
				groups[ci] = append(groups[ci], bs[a])
			}
		}
		for ci, off := range packBoxes(groups, asLink) {
			for _, a := range ly.asComps[ci].nodes {
				bs[a].c = bs[a].c.add(off)
				ly.asPos[a] = ly.asPos[a].add(off)
			}
		}
	}
	// When the ASes crowd far more than their links wanted (the hubs of
	// large Internet-like graphs), spread the layout out first: removing
	// overlaps from a crowd by pushing is slow and distorts more.
	if n > 1 {
		area, lo, hi := 0.0, vec{math.Inf(1), math.Inf(1)}, vec{math.Inf(-1), math.Inf(-1)}
		for _, b := range bs {
			area += (b.w + asGap) * (b.h + asGap)
			lo = vec{min(lo.x, b.c.x-b.w/2), min(lo.y, b.c.y-b.h/2)}
			hi = vec{max(hi.x, b.c.x+b.w/2), max(hi.y, b.c.y+b.h/2)}
		}
		if s := math.Sqrt(area / ((hi.x - lo.x) * (hi.y - lo.y))); s > 1 {
			// Scale the distances between routers, not between box
			// centres: links stay as straight as the layout made them.
			for a := range bs {
				bs[a].c = bs[a].c.add(ly.asPos[a].mul(s - 1))
			}
		}
	}
	removeOverlaps(bs, asGap)
	minX, minY := math.Inf(1), math.Inf(1)
	for a := range n {
		lo, hi := ly.asLo[a], ly.asHi[a]
		p := bs[a].c.sub(lo.add(hi).mul(0.5))
		ly.asPos[a] = vec{math.Round(p.x), math.Round(p.y)}
		minX = min(minX, ly.asPos[a].x+lo.x)
		minY = min(minY, ly.asPos[a].y+lo.y)
	}
	for a := range n {
		ly.asPos[a] = ly.asPos[a].add(vec{margin - minX, margin - minY})
	}
}
