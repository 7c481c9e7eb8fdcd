package analyze

import (
	"image"
	"math"
)

// satMin[a] is the largest b for which a pixel whose largest 8-bit channel
// is a and smallest is b passes the detector's saturation test
// (mx ≥ minValue and mx−mn ≥ minSaturation·mx on the tensor's float32
// values unit[a], unit[b]); −1 if none. The test is monotone in b (float
// subtraction is), so the table decides it exactly as the float code does;
// TestSaturationTable checks all 65,536 pairs.
var satMin = func() (t [256]int16) {
	for a := range 256 {
		t[a] = -1
		for b := 0; b <= a; b++ {
			if floatSaturated(unit[a], unit[b]) {
				t[a] = int16(b)
			}
		}
	}
	return t
}()

// floatSaturated is the detector's per-pixel test on the largest and the
// smallest channel.
func floatSaturated(mx, mn float32) bool {
	return mx >= minValue && (mx-mn) >= minSaturation*mx
}

// analyzeYCbCr converts m into t and runs the detector in the same pass:
// each pixel's 8-bit RGB (color.YCbCrToRGB's integer formulae, from tables)
// is written to the tensor's planes and accumulated into its grid cell
// while it is in registers, so the detector never reads the tensor back.
// Cells are summed in integers and classified exactly (endRowExact), and
// the saturation test is satMin, so the result is the reference
// detector's exactly. t must be sized for m; m's bounds start at (0,0).
func analyzeYCbCr(m *image.YCbCr, hx, vy uint, t *Tensor, d *detector) Result {
	w, h := t.W, t.H
	n := w * h
	R, G, B := t.Data[:n], t.Data[n:2*n], t.Data[2*n:3*n]
	cw := (w + 1<<hx - 1) >> hx
	d.begin(w, h)
	cell, gw := d.cell, d.gw
	gridH := d.gh * cell
	if cap(d.rgb) < 3*w {
		d.rgb = make([]uint8, 3*w)
	}
	d.cols = grow(d.cols, 4*gw*cell)
	for y := range h {
		if y > 0 && y%cell == 0 && y <= gridH {
			d.endRowExact(y/cell-1, t)
		}
		yrow := m.Y[y*m.YStride : y*m.YStride+w]
		co := (y >> vy) * m.CStride
		cb, cr := m.Cb[co:co+cw], m.Cr[co:co+cw]
		o := y * w
		rr, gg, bb := R[o:o+w], G[o:o+w], B[o:o+w]
		if y >= gridH {
			if hx == 1 {
				convertRow2(yrow, cb, cr, rr, gg, bb)
			} else {
				convertRow(yrow, cb, cr, rr, gg, bb, hx)
			}
			continue
		}
		split := gw * cell
		acc := d.acc[:gw]
		if hx == 1 && cell%2 == 0 {
			if cell == 4 {
				cellRow2x4(yrow, cb, cr, rr, gg, bb, acc)
			} else {
				cellRow2(yrow, cb, cr, rr, gg, bb, acc, cell)
			}
			if split < w {
				convertRow2(yrow[split:], cb[split/2:], cr[split/2:], rr[split:], gg[split:], bb[split:])
			}
			continue
		}
		if hx == 1 {
			r8, g8, b8 := d.rgb[:w], d.rgb[w:2*w], d.rgb[2*w:3*w]
			rgbRow2(yrow, cb, cr, r8, g8, b8)
			floatRow(r8, rr)
			floatRow(g8, gg)
			floatRow(b8, bb)
			accumulateColumns(r8[:split], g8[:split], b8[:split], d.cols[:4*split])
			if (y+1)%cell == 0 {
				reduceColumns(d.cols[:4*split], acc, cell)
			}
			continue
		}
		accumulateRow(yrow, cb, cr, rr, gg, bb, acc, cell, hx)
		for x := split; x < w; x++ { // columns right of the grid
			c := x >> hx
			crv, cbv := cr[c], cb[c]
			yy := int32(yrow[x]) * 0x10101
			rr[x] = unit[clamp8(yy+crR[crv])]
			gg[x] = unit[clamp8(yy+cbG[cbv]+crG[crv])]
			bb[x] = unit[clamp8(yy+cbB[cbv])]
		}
	}
	if h == gridH && d.gh > 0 {
		d.endRowExact(d.gh-1, t)
	}
	return d.result()
}

// analyzeImage converts img into t (resized) and detects on it, fused for
// the YCbCr images image/jpeg decodes, in two passes otherwise.
func analyzeImage(img image.Image, t *Tensor, d *detector) Result {
	if m, ok := img.(*image.YCbCr); ok && m.Rect.Min == (image.Point{}) {
		if hx, vy, ok := chromaShifts(m.SubsampleRatio); ok {
			t.resize(m.Rect.Dx(), m.Rect.Dy())
			return analyzeYCbCr(m, hx, vy, t, d)
		}
	}
	t.fill(img)
	return d.detect(t)
}

// accumulateRow converts the grid's columns of one row (chroma subsampled
// 1<<hx : 1 horizontally) and accumulates them into the row's cells.
func accumulateRow(yrow, cb, cr []uint8, rr, gg, bb []float32, acc []cellAcc, cell int, hx uint) {
	for gx := range acc {
		a := &acc[gx]
		s0, s1, s2, sat := a.isum[0], a.isum[1], a.isum[2], a.sat
		for x := gx * cell; x < (gx+1)*cell; x++ {
			c := x >> hx
			crv, cbv := cr[c], cb[c]
			yy := int32(yrow[x]) * 0x10101
			r8 := clamp8(yy + crR[crv])
			g8 := clamp8(yy + cbG[cbv] + crG[crv])
			b8 := clamp8(yy + cbB[cbv])
			fr, fg, fb := unit[r8], unit[g8], unit[b8]
			rr[x], gg[x], bb[x] = fr, fg, fb
			s0 += int32(r8)
			s1 += int32(g8)
			s2 += int32(b8)
			mx, mn := max(r8, g8, b8), min(r8, g8, b8)
			// 1 if mn ≤ satMin[mx], else 0, without a branch.
			sat += 1 + int((int32(satMin[mx])-int32(mn))>>31)
		}
		a.isum[0], a.isum[1], a.isum[2], a.sat = s0, s1, s2, sat
	}
}

// placeholderMargin bounds how far the float32 mean of a cell (summed
// pixel by pixel in the reference order) can be from its exact value: at
// most n·(n−1)/2 roundings of 2⁻²⁴ relative on partial sums ≤ n, divided by
// n, plus the final roundings — 3.5·10⁻⁵ for the largest cell (24×24 at
// MaxPixels). Means farther than this from a threshold are decided from
// the exact integer sums; the others are summed in float32 from the tensor.
const placeholderMargin = 1e-4

// endRowExact is endRow for cells accumulated as integer sums of 8-bit
// channels: a cell's placeholder test is decided on its exact mean unless
// the mean lies within placeholderMargin of a threshold, where the float32
// sum the reference computes is taken from the tensor's rows of the cell.
func (d *detector) endRowExact(gy int, t *Tensor) {
	cell := d.cell
	n := float32(cell * cell)
	div := 255 * float64(cell*cell)
	cells := d.grid[gy*d.gw : (gy+1)*d.gw]
	acc := d.acc[:len(cells)]
	const tol = float64(float32(placeholderTol))
	for gx, a := range acc {
		if 4*a.sat >= 3*cell*cell {
			cells[gx] = true
		}
		near, sure := true, true
		for c := range 3 {
			dv := math.Abs(float64(a.isum[c])/div - float64(placeholderRGB[c]))
			switch {
			case dv > tol+placeholderMargin:
				near = false
			case dv >= tol-placeholderMargin:
				sure = false
			}
		}
		if near && !sure {
			sum := t.cellSums(gx*cell, gy*cell, cell)
			for c := range 3 {
				if dv := sum[c]/n - placeholderRGB[c]; dv > placeholderTol || dv < -placeholderTol {
					near = false
				}
			}
		}
		if near {
			d.near++
		}
	}
	clear(acc)
}

// cellSums sums the cell×cell cell at (x0, y0) per channel in float32, in
// the reference detector's order (rows, then columns).
func (t *Tensor) cellSums(x0, y0, cell int) (sum [3]float32) {
	for c := range 3 {
		p := t.Plane(c)
		for y := y0; y < y0+cell; y++ {
			for _, v := range p[y*t.W+x0 : y*t.W+x0+cell] {
				sum[c] += v
			}
		}
	}
	return sum
}

// rgbRow2 converts a row with chroma subsampled 2:1 horizontally to 8-bit
// RGB (color.YCbCrToRGB exactly), looking each chroma sample's
// contributions up once for its two pixels.
func rgbRow2(yrow, cb, cr, r8, g8, b8 []uint8) {
	w := len(yrow)
	r8, g8, b8 = r8[:w], g8[:w], b8[:w]
	n := w / 2
	cb, cr = cb[:n], cr[:n]
	for c := range cb {
		cbv, crv := cb[c], cr[c]
		ro, gof, bo := crR[crv], cbG[cbv]+crG[crv], cbB[cbv]
		x := 2 * c
		y0, y1 := int32(yrow[x])*0x10101, int32(yrow[x+1])*0x10101
		r8[x], g8[x], b8[x] = clamp8(y0+ro), clamp8(y0+gof), clamp8(y0+bo)
		r8[x+1], g8[x+1], b8[x+1] = clamp8(y1+ro), clamp8(y1+gof), clamp8(y1+bo)
	}
	if w%2 == 1 {
		x := w - 1
		cbv, crv := cb[:n+1][n], cr[:n+1][n]
		yy := int32(yrow[x]) * 0x10101
		r8[x], g8[x], b8[x] = clamp8(yy+crR[crv]), clamp8(yy+cbG[cbv]+crG[crv]), clamp8(yy+cbB[cbv])
	}
}

// floatRow writes a channel's row to the tensor: v ↦ float32(v)·(1/255).
func floatRow(src []uint8, dst []float32) {
	dst = dst[:len(src)]
	for i, v := range src {
		dst[i] = float32(v) * (1.0 / 255) // = unit[v], without the load
	}
}

// accumulateColumns adds one row of 8-bit RGB to per-column totals over a
// grid row's rows: cols holds the R, G, B sums and the saturated count of
// each column, one run of len(r8) each. Simple loops over the row keep
// the per-pixel work to a few instructions.
func accumulateColumns(r8, g8, b8 []uint8, cols []int32) {
	n := len(r8)
	g8, b8 = g8[:n], b8[:n]
	cr, cg, cb, cs := cols[:n], cols[n:2*n], cols[2*n:3*n], cols[3*n:4*n]
	cg, cb, cs = cg[:len(cr)], cb[:len(cr)], cs[:len(cr)]
	for i, r8v := range r8 {
		// int, not uint8: the compiler turns int min/max into
		// conditional moves, uint8 ones into branches that the image's
		// colours make unpredictable.
		r, g, b := int(r8v), int(g8[i]), int(b8[i])
		cr[i] += int32(r)
		cg[i] += int32(g)
		cb[i] += int32(b)
		mx, mn := max(r, g, b), min(r, g, b)
		// 1 if mn ≤ satMin[mx], else 0, without a branch.
		cs[i] += int32(1 + (int(satMin[mx&0xff])-mn)>>63)
	}
}

// reduceColumns sums the column totals of a finished grid row into its
// cells and clears them.
func reduceColumns(cols []int32, acc []cellAcc, cell int) {
	n := len(cols) / 4
	cr, cg, cb, cs := cols[:n], cols[n:2*n], cols[2*n:3*n], cols[3*n:4*n]
	for gx := range acc {
		a := &acc[gx]
		for x := gx * cell; x < (gx+1)*cell; x++ {
			a.isum[0] += cr[x]
			a.isum[1] += cg[x]
			a.isum[2] += cb[x]
			a.sat += int(cs[x])
		}
	}
	clear(cols)
}
