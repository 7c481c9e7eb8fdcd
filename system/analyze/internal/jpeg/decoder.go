package jpeg

import (
	"image"
	"io"
)

// A Decoder decodes JPEG images, reusing its buffers from one image to the
// next: once it has decoded an image of a given size and subsampling, a
// baseline YCbCr image of that shape decodes without allocating. The zero
// value is ready to use. A Decoder is not safe for concurrent use.
type Decoder struct {
	d decoder
}

// Decode reads a JPEG image from r, as image/jpeg.Decode does. A
// *image.YCbCr result is the Decoder's own storage: it stays valid until
// the next call of Decode.
func (dec *Decoder) Decode(r io.Reader) (image.Image, error) {
	d := &dec.d
	pix := d.pix
	*d = decoder{}
	d.pix = pix
	return d.decode(r, false)
}

// Decode reads a JPEG image from r into freshly allocated storage.
func Decode(r io.Reader) (image.Image, error) {
	var dec Decoder
	return dec.Decode(r)
}

// reuseYCbCr lays out an image.NewYCbCr(r, ratio) in d.pix (grown if
// needed, cleared as NewYCbCr's storage is) and returns its
// SubImage(0, 0, width, height), both without allocating when d.pix is
// large enough. r.Min is (0, 0).
func (d *decoder) reuseYCbCr(r image.Rectangle, ratio image.YCbCrSubsampleRatio, width, height int) *image.YCbCr {
	w, h := r.Dx(), r.Dy()
	cw, ch := w, h
	switch ratio {
	case image.YCbCrSubsampleRatio422:
		cw = (r.Max.X + 1) / 2
	case image.YCbCrSubsampleRatio420:
		cw, ch = (r.Max.X+1)/2, (r.Max.Y+1)/2
	case image.YCbCrSubsampleRatio440:
		ch = (r.Max.Y + 1) / 2
	case image.YCbCrSubsampleRatio411:
		cw = (r.Max.X + 3) / 4
	case image.YCbCrSubsampleRatio410:
		cw, ch = (r.Max.X+3)/4, (r.Max.Y+1)/2
	}
	i0 := w * h
	i1 := i0 + cw*ch
	i2 := i1 + cw*ch
	if cap(d.pix) < i2 {
		d.pix = make([]byte, i2)
	} else {
		d.pix = d.pix[:i2]
		clear(d.pix)
	}
	b := d.pix
	d.ycc = image.YCbCr{
		Y:              b[:i0:i0],
		Cb:             b[i0:i1:i1],
		Cr:             b[i1:i2:i2],
		SubsampleRatio: ratio,
		YStride:        w,
		CStride:        cw,
		Rect:           image.Rect(0, 0, width, height).Intersect(r),
	}
	return &d.ycc
}

// dcOnly is the inverse DCT's output for a block whose only non-zero
// coefficient is the dequantized DC value v: idctRows makes row 0 v<<17
// and the other rows 0 (every other input is 0 and its butterflies and
// rotations are linear), idctCols then adds its rounding term and shifts,
// the same int32 operations in the same order, so every sample is this.
// TestDCOnlyMatchesIDCT checks it against idct.
func dcOnly(v int32) int32 {
	x0 := v<<17 + 1<<19
	return (x0 >> 2) >> 18
}

// colsRow0 is idctCols for a block whose rows 1–7 are zero: a column whose
// only non-zero input is x0 goes through idctCols's butterflies and
// rotations as x0 alone (the others are linear in inputs that are 0), so
// each of its 8 outputs is the rounding term and shifts applied to x0 (as
// in dcOnly). TestColsRow0MatchesIDCT checks it against idctCols.
func colsRow0(b *block) {
	for i := range 8 {
		x0 := b[i] + 1<<19
		v := (x0 >> 2) >> 18
		for y := range 8 {
			b[8*y+i] = v
		}
	}
}

// reconstructDCBlock is reconstructBlock for a block whose only non-zero
// coefficient is dc: 64 equal samples, without the inverse DCT.
func (d *decoder) reconstructDCBlock(dc int32, bx, by, compIndex int) error {
	qt := &d.quant[d.comp[compIndex].tq]
	v := levelShift(dcOnly(dc * qt[0]))
	dst, stride, err := d.blockDst(bx, by, compIndex)
	if err != nil {
		return err
	}
	for y := range 8 {
		row := dst[y*stride : y*stride+8]
		for x := range row {
			row[x] = v
		}
	}
	return nil
}

// reconstructSequential is reconstructBlock for a sequential scan's block,
// already dequantized (each coefficient multiplied by its quantizer as it
// was decoded: the same int32 products): the row pass runs only on the
// rows set in rows (the others are all zero, and stay so).
func (d *decoder) reconstructSequential(b *block, rows uint8, bx, by, compIndex int) error {
	for i := range 8 {
		if rows&(1<<i) != 0 {
			idctRow(b, i)
		}
	}
	if rows == 1 {
		colsRow0(b)
	} else {
		idctCols(b)
	}
	return d.storeBlock(b, bx, by, compIndex)
}

// blockDst returns where block (bx, by) of component compIndex is stored:
// the destination plane from the block's top-left sample on, and the
// plane's stride.
func (d *decoder) blockDst(bx, by, compIndex int) ([]byte, int, error) {
	if d.nComp == 1 {
		return d.img1.Pix[8*(by*d.img1.Stride+bx):], d.img1.Stride, nil
	}
	switch compIndex {
	case 0:
		return d.img3.Y[8*(by*d.img3.YStride+bx):], d.img3.YStride, nil
	case 1:
		return d.img3.Cb[8*(by*d.img3.CStride+bx):], d.img3.CStride, nil
	case 2:
		return d.img3.Cr[8*(by*d.img3.CStride+bx):], d.img3.CStride, nil
	case 3:
		return d.blackPix[8*(by*d.blackStride+bx):], d.blackStride, nil
	}
	return nil, 0, UnsupportedError("too many components")
}

// storeBlock writes the inverse DCT's output b, level-shifted and clipped
// (levelShift), as block (bx, by) of component compIndex.
func (d *decoder) storeBlock(b *block, bx, by, compIndex int) error {
	dst, stride, err := d.blockDst(bx, by, compIndex)
	if err != nil {
		return err
	}
	for y := range 8 {
		row := dst[y*stride : y*stride+8 : y*stride+8]
		src := b[8*y : 8*y+8 : 8*y+8]
		for x, c := range src {
			row[x] = levelShift(c)
		}
	}
	return nil
}

// levelShift is the inverse DCT output c as a sample: shifted by +128 and
// clipped to [0, 255] (c < -128 → 0, c > 127 → 255), branch-free; the
// inverse DCT's outputs are far from overflowing c+128 (|c| < 2¹⁴).
// TestLevelShift checks it against the standard library's branches.
func levelShift(c int32) uint8 {
	return uint8(min(max(c+128, 0), 255))
}
