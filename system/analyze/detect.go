package analyze

import "math"

// cellAcc accumulates one grid cell of a grid row.
type cellAcc struct {
	sum  [3]float32 // float path: the tensor's values
	isum [3]int32   // fused path: the 8-bit channels
	sat  int
}

// grow returns s with length n, zeroed, reusing its storage.
func grow[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	s = s[:n]
	clear(s)
	return s
}

// detector holds the detector's scratch buffers, reused across frames.
type detector struct {
	acc        []cellAcc
	grid, seen []bool
	stack      []int
	rgb        []uint8 // one row of 8-bit R, G, B (fused path)
	cols       []int32 // per-column sums of a grid row (fused path)
	// per frame
	w, h, cell, gw, gh int
	near               int
}

// begin sets the grid up for a w×h frame: cells of cell×cell pixels, about
// 4 px at 640×360.
func (d *detector) begin(w, h int) {
	d.w, d.h = w, h
	d.cell = max(1, int(math.Round(4*math.Min(float64(w)/640, float64(h)/360))))
	d.gw, d.gh = w/d.cell, h/d.cell
	d.grid = grow(d.grid, d.gw*d.gh)
	d.acc = grow(d.acc, d.gw)
	d.near = 0
}

// endRow classifies grid row gy from its accumulated cells and clears them
// for the next row.
func (d *detector) endRow(gy int) {
	n := float32(d.cell * d.cell)
	cells := d.grid[gy*d.gw : (gy+1)*d.gw]
	acc := d.acc[:len(cells)]
	for gx, a := range acc {
		if 4*a.sat >= 3*d.cell*d.cell {
			cells[gx] = true
		}
		near := true
		for c := range 3 {
			if dv := a.sum[c]/n - placeholderRGB[c]; dv > placeholderTol || dv < -placeholderTol {
				near = false
			}
		}
		if near {
			d.near++
		}
	}
	clear(acc)
}

// result post-processes the classified grid.
func (d *detector) result() Result {
	res := Result{Width: d.w, Height: d.h}
	if float64(d.near) >= placeholderFraction*float64(d.gw*d.gh) {
		res.Placeholder = true
		res.Congestion = CongestionFree
		return res
	}
	res.Vehicles = d.components(d.grid, d.gw, d.gh, minComponent)
	res.Intensity = math.Min(float64(res.Vehicles)/100, 1)
	res.Congestion = Level(res.Intensity)
	return res
}

// detect runs the "model" and post-processing on t: a colour-class
// segmentation on a grid of cell×cell pixel cells, then connected
// components. It walks each plane's rows once, accumulating a grid row's
// cells side by side; within a cell it adds pixels in the same order
// (rows, then columns) as a cell-by-cell walk, so its float sums — and its
// result — are those of the reference detector exactly.
func (d *detector) detect(t *Tensor) Result {
	d.begin(t.W, t.H)
	cell, gw := d.cell, d.gw
	R, G, B := t.Plane(0), t.Plane(1), t.Plane(2)
	for gy := range d.gh {
		acc := d.acc[:gw]
		for y := gy * cell; y < (gy+1)*cell; y++ {
			o := y * t.W
			rr := R[o : o+gw*cell]
			gg, bb := G[o:o+len(rr)], B[o:o+len(rr)]
			gg, bb = gg[:len(rr)], bb[:len(rr)]
			for gx := range acc {
				a := &acc[gx]
				x0 := gx * cell
				cr, cg, cb := rr[x0:x0+cell], gg[x0:x0+cell], bb[x0:x0+cell]
				cg, cb = cg[:len(cr)], cb[:len(cr)]
				s0, s1, s2, sat := a.sum[0], a.sum[1], a.sum[2], a.sat
				for i, r := range cr {
					g, b := cg[i], cb[i]
					s0 += r
					s1 += g
					s2 += b
					mx := max(r, g, b)
					if mx >= minValue && (mx-min(r, g, b)) >= minSaturation*mx {
						sat++
					}
				}
				a.sum[0], a.sum[1], a.sum[2], a.sat = s0, s1, s2, sat
			}
		}
		d.endRow(gy)
	}
	return d.result()
}

// components counts the 4-connected components of set cells with at least
// minSize cells.
func (d *detector) components(grid []bool, w, h, minSize int) int {
	d.seen = grow(d.seen, len(grid))
	seen := d.seen
	stack := d.stack[:0]
	count := 0
	for start, set := range grid {
		if !set || seen[start] {
			continue
		}
		size := 0
		seen[start] = true
		stack = append(stack, start)
		for len(stack) > 0 {
			i := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			size++
			x, y := i%w, i/w
			if x > 0 && grid[i-1] && !seen[i-1] {
				seen[i-1] = true
				stack = append(stack, i-1)
			}
			if x < w-1 && grid[i+1] && !seen[i+1] {
				seen[i+1] = true
				stack = append(stack, i+1)
			}
			if y > 0 && grid[i-w] && !seen[i-w] {
				seen[i-w] = true
				stack = append(stack, i-w)
			}
			if y < h-1 && grid[i+w] && !seen[i+w] {
				seen[i+w] = true
				stack = append(stack, i+w)
			}
		}
		if size >= minSize {
			count++
		}
	}
	d.stack = stack[:0]
	return count
}

// components counts the 4-connected components of set cells with at least
// minSize cells (allocating its scratch).
func components(grid []bool, w, h, minSize int) int {
	var d detector
	return d.components(grid, w, h, minSize)
}
