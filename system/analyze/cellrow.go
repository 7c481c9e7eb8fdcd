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
