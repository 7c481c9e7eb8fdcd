package analyze

// cellRow2 is the fused path's inner loop for a row whose chroma is
// subsampled 2:1 horizontally and whose cells are an even number of pixels
// wide (so a chroma sample's two pixels share a cell): each pixel's 8-bit
// RGB is computed once (color.YCbCrToRGB's formulae, from tables), written
// to the tensor's planes and added to its cell's sums and saturated count
// while in registers — one read-modify-write of the cell per row instead
// of per-pixel column totals. It covers the grid's len(acc)·cell columns.
func cellRow2(yrow, cb, cr []uint8, rr, gg, bb []float32, acc []cellAcc, cell int) {
	half := cell / 2
	n := len(acc) * half // chroma samples under the grid
	cb, cr = cb[:n], cr[:n]
	yrow = yrow[:2*n]
	rr, gg, bb = rr[:2*n], gg[:2*n], bb[:2*n]
	c := 0
	for gx := range acc {
		a := &acc[gx]
		s0, s1, s2, sat := a.isum[0], a.isum[1], a.isum[2], a.sat
		for end := c + half; c < end; c++ {
			cbv, crv := cb[c], cr[c]
			ro, gof, bo := crR[crv], cbG[cbv]+crG[crv], cbB[cbv]
			x := 2 * c
			ys := (*[2]uint8)(yrow[x : x+2])
			ro2 := (*[2]float32)(rr[x : x+2])
			go2 := (*[2]float32)(gg[x : x+2])
			bo2 := (*[2]float32)(bb[x : x+2])
			for i := range 2 {
				yy := int32(ys[i]) * 0x10101
				r, g, b := clampInt(yy+ro), clampInt(yy+gof), clampInt(yy+bo)
				ro2[i], go2[i], bo2[i] = unit[r&0xff], unit[g&0xff], unit[b&0xff]
				s0 += int32(r)
				s1 += int32(g)
				s2 += int32(b)
				mx, mn := max(r, g, b), min(r, g, b)
				// 1 if mn ≤ satMin[mx], else 0, without a branch.
				sat += 1 + (int(satMin[mx&0xff])-mn)>>63
			}
		}
		a.isum[0], a.isum[1], a.isum[2], a.sat = s0, s1, s2, sat
	}
}

// clampInt is clamp8 as an int (for conditional moves).
func clampInt(v int32) int {
	return min(max(int(v>>16), 0), 255)
}

// cellRow2x4 is cellRow2 for cells of 4 pixels (the fleet's 640×360
// frames): straight-line code over a cell's two chroma samples and four
// pixels (Go does not unroll loops), so that the sums stay in registers.
func cellRow2x4(yrow, cb, cr []uint8, rr, gg, bb []float32, acc []cellAcc) {
	n := len(acc)
	yrow, cb, cr = yrow[:4*n], cb[:2*n], cr[:2*n]
	rr, gg, bb = rr[:4*n], gg[:4*n], bb[:4*n]
	for gx := range acc {
		x := 4 * gx
		ys := (*[4]uint8)(yrow[x:])
		cbs, crs := (*[2]uint8)(cb[2*gx:]), (*[2]uint8)(cr[2*gx:])
		rs, gs, bs := (*[4]float32)(rr[x:]), (*[4]float32)(gg[x:]), (*[4]float32)(bb[x:])
		ro, gof, bo := crR[crs[0]], cbG[cbs[0]]+crG[crs[0]], cbB[cbs[0]]
		r0, g0, b0 := pixel(ys[0], ro, gof, bo)
		r1, g1, b1 := pixel(ys[1], ro, gof, bo)
		ro, gof, bo = crR[crs[1]], cbG[cbs[1]]+crG[crs[1]], cbB[cbs[1]]
		r2, g2, b2 := pixel(ys[2], ro, gof, bo)
		r3, g3, b3 := pixel(ys[3], ro, gof, bo)
		rs[0], rs[1], rs[2], rs[3] = unit[r0&0xff], unit[r1&0xff], unit[r2&0xff], unit[r3&0xff]
		gs[0], gs[1], gs[2], gs[3] = unit[g0&0xff], unit[g1&0xff], unit[g2&0xff], unit[g3&0xff]
		bs[0], bs[1], bs[2], bs[3] = unit[b0&0xff], unit[b1&0xff], unit[b2&0xff], unit[b3&0xff]
		a := &acc[gx]
		a.isum[0] += int32(r0) + int32(r1) + int32(r2) + int32(r3)
		a.isum[1] += int32(g0) + int32(g1) + int32(g2) + int32(g3)
		a.isum[2] += int32(b0) + int32(b1) + int32(b2) + int32(b3)
		a.sat += saturated(r0, g0, b0) + saturated(r1, g1, b1) + saturated(r2, g2, b2) + saturated(r3, g3, b3)
	}
}

// pixel is one pixel of cellRow2x4: its 8-bit RGB, color.YCbCrToRGB's
// formulae with the chroma terms given.
func pixel(yv uint8, ro, gof, bo int32) (r, g, b int) {
	yy := int32(yv) * 0x10101
	return clampInt(yy + ro), clampInt(yy + gof), clampInt(yy + bo)
}

// saturated is 1 if the pixel passes the detector's saturation test, else
// 0, without a branch.
func saturated(r, g, b int) int {
	// max and min by masks (d>>63 is −1 when d < 0): the compiler makes
	// some of max/min's into branches, which the colours make
	// unpredictable.
	d := r - g
	m := d & (d >> 63)
	mx, mn := r-m, g+m
	d = mx - b
	mx -= d & (d >> 63)
	d = mn - b
	mn = b + d&(d>>63)
	return 1 + (int(satMin[mx&0xff])-mn)>>63
}
