package analyze

import (
	"image"
)

// Tensor is the model input: three planes (R, G, B) of W×H float32 in
// [0,1], each row-major (CHW layout). Data holds the planes back to back.
type Tensor struct {
	W, H int
	Data []float32
}

// Plane returns channel c (0 R, 1 G, 2 B) of t.
func (t *Tensor) Plane(c int) []float32 {
	n := t.W * t.H
	return t.Data[c*n : (c+1)*n : (c+1)*n]
}

// NewTensor converts a decoded image into a freshly allocated input tensor.
// It is safe for concurrent use.
func NewTensor(img image.Image) *Tensor {
	t := &Tensor{}
	t.fill(img)
	return t
}

// resize makes t w×h, reusing its storage when it is large enough.
func (t *Tensor) resize(w, h int) {
	t.W, t.H = w, h
	n := 3 * w * h
	if cap(t.Data) < n {
		t.Data = make([]float32, n)
	}
	t.Data = t.Data[:n]
}

// unit maps an 8-bit channel value v to float32(v)*(1/255), the tensor's
// scale, exactly as the per-pixel conversion computes it.
var unit = func() (u [256]float32) {
	const k = 1.0 / 255
	for i := range u {
		u[i] = float32(i) * k
	}
	return u
}()

// Chroma contributions of image/color.YCbCrToRGB's integer formulae,
// tabulated per 8-bit sample (R = YY1 + 91881·Cr', G = YY1 − 22554·Cb' −
// 46802·Cr', B = YY1 + 116130·Cb', with Cb' = Cb − 128, YY1 = Y·0x10101).
var crR, cbG, crG, cbB = func() (crR, cbG, crG, cbB [256]int32) {
	for i := range 256 {
		c := int32(i) - 128
		crR[i], cbG[i], crG[i], cbB[i] = 91881*c, -22554*c, -46802*c, 116130*c
	}
	return
}()

// clamp8 is YCbCrToRGB's final step: v>>16 clamped to [0, 255] (the
// same as its bit twiddling: v < 0 gives 0, v ≥ 1<<24 gives 255), without
// a branch.
func clamp8(v int32) uint8 {
	return uint8(min(max(v>>16, 0), 255))
}

// fill converts img into t, reusing t's storage. YCbCr and Gray images
// (what image/jpeg decodes) take the fused path: one pass over the
// decoder's planes, the colour conversion inlined from tables, bit-exact
// with color.YCbCrToRGB; other images go through image.Image.At.
func (t *Tensor) fill(img image.Image) {
	b := img.Bounds()
	t.resize(b.Dx(), b.Dy())
	switch m := img.(type) {
	case *image.YCbCr:
		if b.Min == (image.Point{}) {
			if hx, vy, ok := chromaShifts(m.SubsampleRatio); ok {
				t.fillYCbCr(m, hx, vy)
				return
			}
		}
	case *image.Gray:
		if b.Min == (image.Point{}) {
			t.fillGray(m)
			return
		}
	}
	t.fillGeneric(img)
}

// chromaShifts returns the horizontal and vertical chroma subsampling of r
// as shifts.
func chromaShifts(r image.YCbCrSubsampleRatio) (hx, vy uint, ok bool) {
	switch r {
	case image.YCbCrSubsampleRatio444:
		return 0, 0, true
	case image.YCbCrSubsampleRatio422:
		return 1, 0, true
	case image.YCbCrSubsampleRatio420:
		return 1, 1, true
	case image.YCbCrSubsampleRatio440:
		return 0, 1, true
	case image.YCbCrSubsampleRatio411:
		return 2, 0, true
	case image.YCbCrSubsampleRatio410:
		return 2, 1, true
	}
	return 0, 0, false
}

func (t *Tensor) fillYCbCr(m *image.YCbCr, hx, vy uint) {
	w, h := t.W, t.H
	n := w * h
	R, G, B := t.Data[:n], t.Data[n:2*n], t.Data[2*n:3*n]
	cw := (w + 1<<hx - 1) >> hx
	for y := range h {
		yrow := m.Y[y*m.YStride : y*m.YStride+w]
		co := (y >> vy) * m.CStride
		cb, cr := m.Cb[co:co+cw], m.Cr[co:co+cw]
		o := y * w
		rr, gg, bb := R[o:o+w], G[o:o+w], B[o:o+w]
		if hx == 1 {
			convertRow2(yrow, cb, cr, rr, gg, bb)
			continue
		}
		convertRow(yrow, cb, cr, rr, gg, bb, hx)
	}
}

// convertRow2 converts a row whose chroma is subsampled 2:1 horizontally
// (4:2:0, 4:2:2): each chroma sample's contributions are looked up once for
// its two pixels.
func convertRow2(yrow, cb, cr []uint8, rr, gg, bb []float32) {
	w := len(yrow)
	rr, gg, bb = rr[:w], gg[:w], bb[:w]
	cb, cr = cb[:(w+1)/2], cr[:(w+1)/2]
	for c := range cb {
		ro, go_, bo := crR[cr[c]], cbG[cb[c]]+crG[cr[c]], cbB[cb[c]]
		x := 2 * c
		yy := int32(yrow[x]) * 0x10101
		rr[x], gg[x], bb[x] = unit[clamp8(yy+ro)], unit[clamp8(yy+go_)], unit[clamp8(yy+bo)]
		if x+1 < w {
			yy = int32(yrow[x+1]) * 0x10101
			rr[x+1], gg[x+1], bb[x+1] = unit[clamp8(yy+ro)], unit[clamp8(yy+go_)], unit[clamp8(yy+bo)]
		}
	}
}

// convertRow converts a row whose chroma is subsampled 1<<hx : 1
// horizontally.
func convertRow(yrow, cb, cr []uint8, rr, gg, bb []float32, hx uint) {
	rr, gg, bb = rr[:len(yrow)], gg[:len(yrow)], bb[:len(yrow)]
	for x, yv := range yrow {
		c := x >> hx
		yy := int32(yv) * 0x10101
		cbv, crv := cb[c], cr[c]
		rr[x] = unit[clamp8(yy+crR[crv])]
		gg[x] = unit[clamp8(yy+cbG[cbv]+crG[crv])]
		bb[x] = unit[clamp8(yy+cbB[cbv])]
	}
}

func (t *Tensor) fillGray(m *image.Gray) {
	w, h := t.W, t.H
	n := w * h
	R, G, B := t.Data[:n], t.Data[n:2*n], t.Data[2*n:3*n]
	for y := range h {
		row := m.Pix[y*m.Stride : y*m.Stride+w]
		o := y * w
		rr, gg, bb := R[o:o+w], G[o:o+w], B[o:o+w]
		rr, gg, bb = rr[:len(row)], gg[:len(row)], bb[:len(row)]
		for x, v := range row {
			f := unit[v]
			rr[x], gg[x], bb[x] = f, f, f
		}
	}
}

// fillGeneric converts any image through its colour model (CMYK JPEGs and
// the like; not on the fleet's path).
func (t *Tensor) fillGeneric(img image.Image) {
	b := img.Bounds()
	w, h := t.W, t.H
	n := w * h
	R, G, B := t.Data[:n], t.Data[n:2*n], t.Data[2*n:3*n]
	for y := range h {
		for x := range w {
			r, g, bl, _ := img.At(b.Min.X+x, b.Min.Y+y).RGBA()
			i := y*w + x
			R[i], G[i], B[i] = unit[r>>8], unit[g>>8], unit[bl>>8]
		}
	}
}
