package diagram

import (
	"container/heap"
	"math"
	"slices"
)

// vec is a point or a displacement in the drawing's coordinates (pixels,
// y downwards).
type vec struct{ x, y float64 }

func (a vec) add(b vec) vec     { return vec{a.x + b.x, a.y + b.y} }
func (a vec) sub(b vec) vec     { return vec{a.x - b.x, a.y - b.y} }
func (a vec) mul(f float64) vec { return vec{a.x * f, a.y * f} }
func (a vec) dot(b vec) float64 { return a.x*b.x + a.y*b.y }
func (a vec) norm() float64     { return math.Sqrt(a.x*a.x + a.y*a.y) }
func (a vec) unit() vec {
	n := a.norm()
	if n == 0 {
		return vec{}
	}
	return a.mul(1 / n)
}
func (a vec) rot90() vec { return vec{-a.y, a.x} }

// wgraph is an undirected graph whose edges have a wanted drawing length.
type wgraph struct {
	adj [][]wedge
}

type wedge struct {
	to int
	l  float64
}

func newWGraph(n int) *wgraph { return &wgraph{adj: make([][]wedge, n)} }

func (g *wgraph) n() int { return len(g.adj) }

// addEdge joins a and b; a second edge between them keeps the longer
// length (parallel links are drawn side by side, one wanted distance).
func (g *wgraph) addEdge(a, b int, l float64) {
	if a == b {
		return
	}
	for i, e := range g.adj[a] {
		if e.to == b {
			g.adj[a][i].l = max(e.l, l)
			for j, f := range g.adj[b] {
				if f.to == a {
					g.adj[b][j].l = max(f.l, l)
				}
			}
			return
		}
	}
	g.adj[a] = append(g.adj[a], wedge{b, l})
	g.adj[b] = append(g.adj[b], wedge{a, l})
}

// components returns the connected components, each in ascending order,
// ordered by their smallest node.
func (g *wgraph) components() [][]int {
	seen := make([]bool, g.n())
	var out [][]int
	for s := range g.adj {
		if seen[s] {
			continue
		}
		comp := []int{s}
		seen[s] = true
		for q := 0; q < len(comp); q++ {
			for _, e := range g.adj[comp[q]] {
				if !seen[e.to] {
					seen[e.to] = true
					comp = append(comp, e.to)
				}
			}
		}
		slices.Sort(comp)
		out = append(out, comp)
	}
	return out
}

// sub returns the subgraph induced by nodes (ascending).
func (g *wgraph) sub(nodes []int) *wgraph {
	idx := make(map[int]int, len(nodes))
	for i, v := range nodes {
		idx[v] = i
	}
	s := newWGraph(len(nodes))
	for i, v := range nodes {
		for _, e := range g.adj[v] {
			if j, ok := idx[e.to]; ok {
				s.adj[i] = append(s.adj[i], wedge{j, e.l})
			}
		}
	}
	return s
}

// distances fills d with the shortest-path lengths from src (Dijkstra).
func (g *wgraph) distances(src int, d []float64) {
	for i := range d {
		d[i] = math.Inf(1)
	}
	d[src] = 0
	q := &distHeap{{src, 0}}
	for q.Len() > 0 {
		it := heap.Pop(q).(distItem)
		if it.d > d[it.v] {
			continue
		}
		for _, e := range g.adj[it.v] {
			if nd := it.d + e.l; nd < d[e.to] {
				d[e.to] = nd
				heap.Push(q, distItem{e.to, nd})
			}
		}
	}
}

type distItem struct {
	v int
	d float64
}

type distHeap []distItem

func (h distHeap) Len() int { return len(h) }
func (h distHeap) Less(i, j int) bool {
	if h[i].d != h[j].d {
		return h[i].d < h[j].d
	}
	return h[i].v < h[j].v
}
func (h distHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *distHeap) Push(x any)   { *h = append(*h, x.(distItem)) }
func (h *distHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

const (
	// pivotCount is the number of pivots of pivot MDS and of sparse stress.
	pivotCount = 50
	// fullStressLimit is the largest component laid out with the full
	// stress model (every pair of nodes, O(n²) per iteration); larger ones
	// use sparse stress (edges and pivots, O(n·(degree+pivots))).
	fullStressLimit = 300
	stressMaxIter   = 300
	// stressTol stops the iterations when nodes move on average less than
	// this fraction of the mean edge length.
	stressTol = 1e-4
)

// stressLayout lays out a connected graph so that the distance between
// every two nodes is close to their shortest-path length: pivot MDS
// (Brandes and Pich 2006) for a start, then stress majorization (Gansner,
// Koren and North 2004), on all pairs for small graphs and on the sparse
// model of Ortmann, Klimenta and Brandes (2016) for large ones. Everything
// is deterministic: pivots are picked by a fixed rule, the power
// iterations start from a fixed vector and the only randomness, a tiny
// jitter that separates nodes MDS puts on the same point, comes from a
// seeded generator.
//
// It returns the positions and the model (every node's terms and the mean
// edge length), which refinements reuse.
func stressLayout(g *wgraph) ([]vec, [][]term, float64) {
	n := g.n()
	switch n {
	case 0:
		return nil, nil, 0
	case 1:
		return []vec{{}}, [][]term{nil}, 0
	case 2:
		l := g.adj[0][0].l
		return []vec{{}, {l, 0}}, [][]term{{{1, l, 1 / (l * l)}}, {{0, l, 1 / (l * l)}}}, l
	}
	meanLen := 0.0
	edges := 0
	for _, es := range g.adj {
		for _, e := range es {
			meanLen += e.l
			edges++
		}
	}
	meanLen /= float64(edges)

	// Pivots by max-min distance, starting from the node of highest degree
	// (the lowest index among equals): they spread over the graph.
	k := min(n, pivotCount)
	first := 0
	for v := range g.adj {
		if len(g.adj[v]) > len(g.adj[first]) {
			first = v
		}
	}
	pivots := make([]int, 0, k)
	pd := make([][]float64, 0, k) // pd[p][v]: distance from pivot p to v
	minD := make([]float64, n)
	for i := range minD {
		minD[i] = math.Inf(1)
	}
	for next := first; len(pivots) < k; {
		d := make([]float64, n)
		g.distances(next, d)
		pivots = append(pivots, next)
		pd = append(pd, d)
		best := -1
		for v := range minD {
			minD[v] = min(minD[v], d[v])
			if best < 0 || minD[v] > minD[best] {
				best = v
			}
		}
		if minD[best] == 0 {
			break // every node is a pivot
		}
		next = best
	}
	k = len(pivots)
	pos := pivotMDS(pd, n)

	// Separate nodes that MDS put (nearly) on the same point, symmetric
	// leaves of a star for instance: stress majorization cannot pull apart
	// two nodes that coincide.
	rng := splitmix(uint64(n)*0x9E3779B97F4A7C15 + uint64(k))
	for i := range pos {
		pos[i] = pos[i].add(vec{(rng.float() - 0.5) * meanLen * 0.01, (rng.float() - 0.5) * meanLen * 0.01})
	}

	var terms [][]term
	if n <= fullStressLimit {
		// All pairs: the pivots' rows are already known.
		all := make([][]float64, n)
		for i, p := range pivots {
			all[p] = pd[i]
		}
		for v := range all {
			if all[v] == nil {
				all[v] = make([]float64, n)
				g.distances(v, all[v])
			}
		}
		terms = make([][]term, n)
		for i := range n {
			terms[i] = make([]term, 0, n-1)
			for j := range n {
				if j != i && all[i][j] > 0 {
					d := all[i][j]
					terms[i] = append(terms[i], term{j, d, 1 / (d * d)})
				}
			}
		}
	} else {
		// Sparse stress: a node keeps its neighbours at their edge length,
		// and each pivot stands for the nodes of its region (those closer
		// to it than to any other pivot), weighted by the region's size.
		region := make([]float64, k)
		for v := range n {
			best := 0
			for p := 1; p < k; p++ {
				if pd[p][v] < pd[best][v] {
					best = p
				}
			}
			region[best]++
		}
		terms = make([][]term, n)
		for v := range n {
			ts := make([]term, 0, len(g.adj[v])+k)
			for _, e := range g.adj[v] {
				ts = append(ts, term{e.to, e.l, 1 / (e.l * e.l)})
			}
			for p, pv := range pivots {
				if d := pd[p][v]; pv != v && d > 0 {
					ts = append(ts, term{pv, d, region[p] / (d * d)})
				}
			}
			terms[v] = ts
		}
	}
	scaleToTerms(pos, terms)
	majorize(pos, terms, nil, meanLen)
	return pos, terms, meanLen
}

// term is one pair of a stress model: node j wanted at distance d, with
// weight w.
type term struct {
	j    int
	d, w float64
}

// scaleToTerms scales pos by the factor that minimises the stress of the
// terms: pivot MDS gets the shape right, not the size.
func scaleToTerms(pos []vec, terms [][]term) {
	num, den := 0.0, 0.0
	for i, ts := range terms {
		for _, t := range ts {
			dist := pos[i].sub(pos[t.j]).norm()
			num += t.w * t.d * dist
			den += t.w * dist * dist
		}
	}
	if den > 0 && num > 0 {
		s := num / den
		for i := range pos {
			pos[i] = pos[i].mul(s)
		}
	}
}

// portTerm is a term between two rigid bodies (ASes, whose routers are
// fixed relative to their AS): the point at off of this body wants to be
// at distance d from the point at offJ of body j.
type portTerm struct {
	j         int
	off, offJ vec
	d, w      float64
}

// majorize runs localized stress majorization: each node in turn moves to
// the weighted mean of where each of its terms wants it. Port terms (may
// be nil) pull points of the node rather than its centre.
func majorize(pos []vec, terms [][]term, ports [][]portTerm, meanLen float64) {
	for range stressMaxIter {
		moved := 0.0
		for i, ts := range terms {
			var acc vec
			den := 0.0
			p := pos[i]
			if ports != nil {
				for _, t := range ports[i] {
					a, b := p.add(t.off), pos[t.j].add(t.offJ)
					dx, dy := a.x-b.x, a.y-b.y
					dist := math.Sqrt(dx*dx + dy*dy)
					want := b
					if dist > 1e-9 {
						want = vec{b.x + t.d*dx/dist, b.y + t.d*dy/dist}
					}
					acc = acc.add(want.sub(t.off).mul(t.w))
					den += t.w
				}
			}
			for _, t := range ts {
				q := pos[t.j]
				dx, dy := p.x-q.x, p.y-q.y
				dist := math.Sqrt(dx*dx + dy*dy)
				if dist > 1e-9 {
					f := t.d / dist
					acc.x += t.w * (q.x + f*dx)
					acc.y += t.w * (q.y + f*dy)
				} else {
					acc.x += t.w * q.x
					acc.y += t.w * q.y
				}
				den += t.w
			}
			if den == 0 {
				continue
			}
			np := acc.mul(1 / den)
			moved += np.sub(p).norm()
			pos[i] = np
		}
		if moved/float64(len(pos)) < stressTol*meanLen {
			return
		}
	}
}

// pivotMDS places n nodes from their distances to k pivots (pd[p][v]):
// the double-centred matrix of squared distances, projected on the two
// main eigenvectors of its k×k Gram matrix, found by power iteration.
func pivotMDS(pd [][]float64, n int) []vec {
	k := len(pd)
	c := make([][]float64, n) // c[v][p]
	colMean := make([]float64, k)
	grand := 0.0
	for v := range n {
		c[v] = make([]float64, k)
		for p := range k {
			d2 := pd[p][v] * pd[p][v]
			c[v][p] = d2
			colMean[p] += d2
		}
	}
	for p := range k {
		grand += colMean[p]
		colMean[p] /= float64(n)
	}
	grand /= float64(n * k)
	for v := range n {
		rowMean := 0.0
		for p := range k {
			rowMean += c[v][p]
		}
		rowMean /= float64(k)
		for p := range k {
			c[v][p] = -0.5 * (c[v][p] - rowMean - colMean[p] + grand)
		}
	}
	// m = cᵀc
	m := make([][]float64, k)
	for p := range k {
		m[p] = make([]float64, k)
	}
	for v := range n {
		row := c[v]
		for p := range k {
			if row[p] == 0 {
				continue
			}
			for q := range k {
				m[p][q] += row[p] * row[q]
			}
		}
	}
	v1 := powerIteration(m, nil)
	v2 := powerIteration(m, v1)
	pos := make([]vec, n)
	for v := range n {
		for p := range k {
			pos[v].x += c[v][p] * v1[p]
			pos[v].y += c[v][p] * v2[p]
		}
	}
	return pos
}

// powerIteration returns the main unit eigenvector of the symmetric matrix
// m, orthogonal to ortho when given.
func powerIteration(m [][]float64, ortho []float64) []float64 {
	k := len(m)
	// A fixed pseudo-random start: a regular one (1, 2, 3, ...) can be
	// orthogonal to the very eigenvector wanted (it is for a 4-cycle).
	// The second vector starts elsewhere than the first: from the same
	// start it would miss the rest of a repeated eigenvalue's space.
	v := make([]float64, k)
	rng := splitmix(0x5eed)
	if ortho != nil {
		rng = splitmix(0xfeed)
	}
	for i := range v {
		v[i] = rng.float() - 0.5
	}
	w := make([]float64, k)
	for range 200 {
		if ortho != nil {
			d := 0.0
			for i := range v {
				d += v[i] * ortho[i]
			}
			for i := range v {
				v[i] -= d * ortho[i]
			}
		}
		norm := 0.0
		for _, x := range v {
			norm += x * x
		}
		norm = math.Sqrt(norm)
		if norm < 1e-12 {
			return make([]float64, k)
		}
		for i := range v {
			v[i] /= norm
		}
		change := 0.0
		for i := range k {
			s := 0.0
			for j := range k {
				s += m[i][j] * v[j]
			}
			w[i] = s
		}
		nw := 0.0
		for _, x := range w {
			nw += x * x
		}
		nw = math.Sqrt(nw)
		if nw < 1e-12 {
			return make([]float64, k)
		}
		for i := range v {
			x := w[i] / nw
			change += math.Abs(x - v[i])
			v[i] = x
		}
		if change < 1e-9 {
			break
		}
	}
	return v
}

// canonical turns a layout to a fixed orientation, since stress is blind
// to rotation and reflection: its main axis horizontal (pictures are wider
// than tall), then the first node on the left and at the top.
func canonical(pos []vec) {
	if len(pos) < 2 {
		return
	}
	var c vec
	for _, p := range pos {
		c = c.add(p)
	}
	c = c.mul(1 / float64(len(pos)))
	sxx, syy, sxy := 0.0, 0.0, 0.0
	for i := range pos {
		pos[i] = pos[i].sub(c)
		sxx += pos[i].x * pos[i].x
		syy += pos[i].y * pos[i].y
		sxy += pos[i].x * pos[i].y
	}
	th := 0.5 * math.Atan2(2*sxy, sxx-syy)
	cs, sn := math.Cos(-th), math.Sin(-th)
	for i, p := range pos {
		pos[i] = vec{p.x*cs - p.y*sn, p.x*sn + p.y*cs}
	}
	eps := 1e-6
	if pos[0].x > eps {
		for i := range pos {
			pos[i].x = -pos[i].x
		}
	}
	if pos[0].y > eps {
		for i := range pos {
			pos[i].y = -pos[i].y
		}
	}
}

// splitmix is SplitMix64 (Steele, Lea and Flood 2014): a fixed generator,
// so that the picture cannot change with the Go release.
type splitmix uint64

func (s *splitmix) next() uint64 {
	*s += 0x9E3779B97F4A7C15
	z := uint64(*s)
	z = (z ^ z>>30) * 0xBF58476D1CE4E5B9
	z = (z ^ z>>27) * 0x94D049BB133111EB
	return z ^ z>>31
}

// float returns a number in [0, 1).
func (s *splitmix) float() float64 { return float64(s.next()>>11) / (1 << 53) }
