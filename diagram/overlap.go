package diagram

import (
	"cmp"
	"math"
	"slices"
)

// box is a rectangle to keep apart from others: its centre and size.
type box struct {
	c    vec
	w, h float64
}

func (b box) left() float64 { return b.c.x - b.w/2 }

// overlapPairs calls f for every two boxes closer than gap to each other
// (i before j in left-edge order), with a sweep along x: only boxes whose
// x ranges meet are compared.
func overlapPairs(bs []box, gap float64, f func(i, j int)) {
	order := make([]int, len(bs))
	maxW := 0.0
	for i := range order {
		order[i] = i
		maxW = max(maxW, bs[i].w)
	}
	slices.SortFunc(order, func(a, b int) int {
		if c := cmp.Compare(bs[a].left(), bs[b].left()); c != 0 {
			return c
		}
		return cmp.Compare(a, b)
	})
	for x, i := range order {
		bi := bs[i]
		right := bi.c.x + bi.w/2 + gap
		for _, j := range order[x+1:] {
			bj := bs[j]
			if bj.left() >= right {
				break
			}
			if math.Abs(bj.c.y-bi.c.y) < (bi.h+bj.h)/2+gap && math.Abs(bj.c.x-bi.c.x) < (bi.w+bj.w)/2+gap {
				f(i, j)
			}
		}
	}
}

// removeOverlaps moves the boxes until every two are at least gap apart,
// keeping the layout's shape as far as it can: rounds of pushing each
// overlapping pair apart along the axis where they overlap least; if that
// does not settle (crowds, such as the neighbours of a hub in a large
// Internet-like graph), the boxes are put on a grid instead, each in the
// free cells nearest where the layout wanted it, which cannot fail.
func removeOverlaps(bs []box, gap float64) {
	n := len(bs)
	if n < 2 {
		return
	}
	orig := slices.Clone(bs)
	disp := make([]vec, n)
	count := make([]int, n)
	for range pushRounds {
		found := false
		clear(disp)
		clear(count)
		overlapPairs(bs, gap, func(i, j int) {
			found = true
			bi, bj := bs[i], bs[j]
			d := bj.c.sub(bi.c)
			ox := (bi.w+bj.w)/2 + gap - math.Abs(d.x)
			oy := (bi.h+bj.h)/2 + gap - math.Abs(d.y)
			// Push a little past the gap so that rounds converge.
			if ox <= oy {
				s := 1.0
				if d.x < 0 || (d.x == 0 && j < i) {
					s = -1
				}
				disp[i].x -= s * (ox/2 + 0.5)
				disp[j].x += s * (ox/2 + 0.5)
			} else {
				s := 1.0
				if d.y < 0 || (d.y == 0 && j < i) {
					s = -1
				}
				disp[i].y -= s * (oy/2 + 0.5)
				disp[j].y += s * (oy/2 + 0.5)
			}
			count[i]++
			count[j]++
		})
		if !found {
			return
		}
		for i := range bs {
			if count[i] > 0 {
				// A box pushed by many at once moves by less than the sum
				// of the pushes, or crowds explode.
				bs[i].c = bs[i].c.add(disp[i].mul(1 / math.Sqrt(float64(count[i]))))
			}
		}
	}
	copy(bs, orig)
	gridPlace(bs, gap)
}

// pushRounds bounds removeOverlaps' pushing.
const pushRounds = 100

// gridPlace puts the boxes on a grid whose cell fits the median box and
// the gap: each box takes a block of whole cells, the free block nearest
// where it was, biggest boxes first, then from the middle out. Boxes in
// different cells are at least gap apart.
func gridPlace(bs []box, gap float64) {
	n := len(bs)
	ws, hs := make([]float64, n), make([]float64, n)
	var mid vec
	for i, b := range bs {
		ws[i], hs[i] = b.w, b.h
		mid = mid.add(b.c)
	}
	mid = mid.mul(1 / float64(n))
	slices.Sort(ws)
	slices.Sort(hs)
	cw, ch := ws[n/2]+gap, hs[n/2]+gap
	type blk struct{ cx, cy int }
	sizes := make([]blk, n)
	for i, b := range bs {
		sizes[i] = blk{int(math.Ceil((b.w + gap) / cw)), int(math.Ceil((b.h + gap) / ch))}
	}
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	dist := func(i int) float64 { return bs[i].c.sub(mid).norm() }
	slices.SortFunc(order, func(a, b int) int {
		if c := cmp.Compare(sizes[b].cx*sizes[b].cy, sizes[a].cx*sizes[a].cy); c != 0 {
			return c
		}
		if c := cmp.Compare(dist(a), dist(b)); c != 0 {
			return c
		}
		return cmp.Compare(a, b)
	})
	used := map[[2]int]bool{} // looked up only, never ranged over
	free := func(x, y int, s blk) bool {
		for dx := range s.cx {
			for dy := range s.cy {
				if used[[2]int{x + dx, y + dy}] {
					return false
				}
			}
		}
		return true
	}
	for _, i := range order {
		s := sizes[i]
		// The wanted top-left corner, in cells.
		wx := (bs[i].c.x - bs[i].w/2) / cw
		wy := (bs[i].c.y - bs[i].h/2) / ch
		tx, ty := int(math.Round(wx)), int(math.Round(wy))
		bx, by, found := 0, 0, false
		for r := 0; !found; r++ {
			// Every block corner on the ring of radius r around (tx, ty);
			// the nearest free one wins.
			best := math.Inf(1)
			for dy := -r; dy <= r; dy++ {
				for dx := -r; dx <= r; dx++ {
					if max(abs(dx), abs(dy)) != r {
						continue
					}
					x, y := tx+dx, ty+dy
					if !free(x, y, s) {
						continue
					}
					if d := (float64(x)-wx)*(float64(x)-wx) + (float64(y)-wy)*(float64(y)-wy); d < best {
						best, bx, by, found = d, x, y, true
					}
				}
			}
		}
		for dx := range s.cx {
			for dy := range s.cy {
				used[[2]int{bx + dx, by + dy}] = true
			}
		}
		bs[i].c = vec{float64(bx)*cw + bs[i].w/2, float64(by)*ch + bs[i].h/2}
	}
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// packBoxes places groups of boxes (each already laid out, positions
// relative) side by side in rows about as wide as they are tall, largest
// first; it returns each group's offset.
func packBoxes(groups [][]box, gap float64) []vec {
	type ext struct{ minX, minY, w, h float64 }
	exts := make([]ext, len(groups))
	area := 0.0
	for g, bs := range groups {
		e := ext{math.Inf(1), math.Inf(1), 0, 0}
		maxX, maxY := math.Inf(-1), math.Inf(-1)
		for _, b := range bs {
			e.minX = min(e.minX, b.c.x-b.w/2)
			e.minY = min(e.minY, b.c.y-b.h/2)
			maxX = max(maxX, b.c.x+b.w/2)
			maxY = max(maxY, b.c.y+b.h/2)
		}
		e.w, e.h = maxX-e.minX, maxY-e.minY
		exts[g] = e
		area += (e.w + gap) * (e.h + gap)
	}
	order := make([]int, len(groups))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		return cmp.Compare(exts[b].w*exts[b].h, exts[a].w*exts[a].h)
	})
	rowW := max(math.Sqrt(area)*1.3, exts[order[0]].w)
	off := make([]vec, len(groups))
	x, y, rowH := 0.0, 0.0, 0.0
	for _, g := range order {
		e := exts[g]
		if x > 0 && x+e.w > rowW {
			x, y, rowH = 0, y+rowH+gap, 0
		}
		off[g] = vec{x - e.minX, y - e.minY}
		x += e.w + gap
		rowH = max(rowH, e.h)
	}
	return off
}
