package analyze

import "image"

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
// Sums are float32 over the tensor's values in the reference order, and
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
	for y := range h {
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
			accumulateRow2(yrow, cb, cr, rr, gg, bb, acc, cell)
		} else {
			accumulateRow(yrow, cb, cr, rr, gg, bb, acc, cell, hx)
		}
		for x := split; x < w; x++ { // columns right of the grid
			c := x >> hx
			crv, cbv := cr[c], cb[c]
			yy := int32(yrow[x]) * 0x10101
			rr[x] = unit[clamp8(yy+crR[crv])]
			gg[x] = unit[clamp8(yy+cbG[cbv]+crG[crv])]
			bb[x] = unit[clamp8(yy+cbB[cbv])]
		}
		if (y+1)%cell == 0 {
			d.endRow(y / cell)
		}
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
		s0, s1, s2, sat := a.sum[0], a.sum[1], a.sum[2], a.sat
		for x := gx * cell; x < (gx+1)*cell; x++ {
			c := x >> hx
			crv, cbv := cr[c], cb[c]
			yy := int32(yrow[x]) * 0x10101
			r8 := clamp8(yy + crR[crv])
			g8 := clamp8(yy + cbG[cbv] + crG[crv])
			b8 := clamp8(yy + cbB[cbv])
			fr, fg, fb := unit[r8], unit[g8], unit[b8]
			rr[x], gg[x], bb[x] = fr, fg, fb
			s0 += fr
			s1 += fg
			s2 += fb
			mx, mn := max(r8, g8, b8), min(r8, g8, b8)
			// 1 if mn ≤ satMin[mx], else 0, without a branch.
			sat += 1 + int((int32(satMin[mx])-int32(mn))>>31)
		}
		a.sum[0], a.sum[1], a.sum[2], a.sat = s0, s1, s2, sat
	}
}

// accumulateRow2 is accumulateRow for chroma subsampled 2:1 horizontally
// (4:2:0, 4:2:2) and an even cell: each chroma sample's contributions are
// looked up once for its two pixels, and the loops run on slices the
// compiler can see are in bounds.
func accumulateRow2(yrow, cb, cr []uint8, rr, gg, bb []float32, acc []cellAcc, cell int) {
	half := cell / 2
	for gx := range acc {
		a := &acc[gx]
		x0 := gx * cell
		cbc := cb[gx*half : gx*half+half]
		crc := cr[gx*half : gx*half+half][:len(cbc)]
		yc := yrow[x0 : x0+cell][:2*len(cbc)]
		rc, gc, bc := rr[x0 : x0+cell][:len(yc)], gg[x0 : x0+cell][:len(yc)], bb[x0 : x0+cell][:len(yc)]
		s0, s1, s2, sat := a.sum[0], a.sum[1], a.sum[2], a.sat
		for c, cbv := range cbc {
			crv := crc[c]
			ro, gof, bo := crR[crv], cbG[cbv]+crG[crv], cbB[cbv]
			x := 2 * c
			for k := range 2 {
				yy := int32(yc[x+k]) * 0x10101
				r8, g8, b8 := clamp8(yy+ro), clamp8(yy+gof), clamp8(yy+bo)
				fr, fg, fb := unit[r8], unit[g8], unit[b8]
				rc[x+k], gc[x+k], bc[x+k] = fr, fg, fb
				s0 += fr
				s1 += fg
				s2 += fb
				mx, mn := max(r8, g8, b8), min(r8, g8, b8)
				sat += 1 + int((int32(satMin[mx])-int32(mn))>>31)
			}
		}
		a.sum[0], a.sum[1], a.sum[2], a.sat = s0, s1, s2, sat
	}
}
