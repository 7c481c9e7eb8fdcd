package analyze

import (
	"image"
	"math/rand/v2"
	"testing"
)

// TestSaturationTable checks satMin against the float test on every pair
// of largest and smallest channel.
func TestSaturationTable(t *testing.T) {
	t.Parallel()
	for a := range 256 {
		for b := 0; b <= a; b++ {
			want := floatSaturated(unit[a], unit[b])
			if got := int16(b) <= satMin[a]; got != want {
				t.Fatalf("satMin says (max %d, min %d) saturated = %t; float test %t", a, b, got, want)
			}
		}
	}
}

// TestFusedEqualsReference runs the fused path on random images of every
// chroma subsampling, odd sizes included (partial cells, a chroma column
// past the last pixel, strides wider than the image), and on blocky
// vehicle-like images: tensor and result must be the reference's exactly.
func TestFusedEqualsReference(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(1, 2))
	ratios := []image.YCbCrSubsampleRatio{
		image.YCbCrSubsampleRatio444, image.YCbCrSubsampleRatio422, image.YCbCrSubsampleRatio420,
		image.YCbCrSubsampleRatio440, image.YCbCrSubsampleRatio411, image.YCbCrSubsampleRatio410,
	}
	sizes := [][2]int{{640, 360}, {641, 361}, {483, 271}, {7, 5}, {1, 1}, {1280, 722}}
	var tt Tensor
	var d detector
	for _, r := range ratios {
		for _, sz := range sizes {
			for _, blocky := range []bool{false, true} {
				m := image.NewYCbCr(image.Rect(0, 0, sz[0]+3, sz[1]), r).SubImage(image.Rect(0, 0, sz[0], sz[1])).(*image.YCbCr)
				fillRandom(rng, m, blocky)
				ref := refTensor(m)
				want := ref.detect()
				hx, vy, _ := chromaShifts(r)
				tt.resize(sz[0], sz[1])
				got := analyzeYCbCr(m, hx, vy, &tt, &d)
				if got != want {
					t.Errorf("%v %v blocky %t: fused = %+v; reference %+v", r, sz, blocky, got, want)
				}
				for c := range 3 {
					for i, v := range tt.Plane(c) {
						if w := ref.Data[3*i+c]; v != w {
							t.Fatalf("%v %v: fused tensor channel %d pixel %d = %v; reference %v", r, sz, c, i, v, w)
						}
					}
				}
				if got2 := d.detect(&tt); got2 != want {
					t.Errorf("%v %v blocky %t: two-pass detect = %+v; reference %+v", r, sz, blocky, got2, want)
				}
			}
		}
	}
}

// fillRandom fills m with noise or, if blocky, with saturated rectangles
// on a grey background (many components, cells on the thresholds).
func fillRandom(rng *rand.Rand, m *image.YCbCr, blocky bool) {
	if !blocky {
		for i := range m.Y {
			m.Y[i] = uint8(rng.IntN(256))
		}
		for i := range m.Cb {
			m.Cb[i], m.Cr[i] = uint8(rng.IntN(256)), uint8(rng.IntN(256))
		}
		return
	}
	for i := range m.Y {
		m.Y[i] = 52
	}
	for i := range m.Cb {
		m.Cb[i], m.Cr[i] = 130, 127
	}
	b := m.Bounds()
	for range 40 {
		x0, y0 := rng.IntN(b.Dx()), rng.IntN(b.Dy())
		w, h := 4+rng.IntN(30), 4+rng.IntN(20)
		yv, cb, cr := uint8(60+rng.IntN(120)), uint8(rng.IntN(256)), uint8(rng.IntN(256))
		for y := y0; y < min(y0+h, b.Dy()); y++ {
			for x := x0; x < min(x0+w, b.Dx()); x++ {
				m.Y[m.YOffset(x, y)] = yv
				ci := m.COffset(x, y)
				m.Cb[ci], m.Cr[ci] = cb, cr
			}
		}
	}
}

// TestClampAndUnit checks the branch-free clamp against color's bit
// twiddling over the whole range the formulae produce, and the float
// conversion against the table.
func TestClampAndUnit(t *testing.T) {
	t.Parallel()
	for v := int32(-300 << 16); v < 600<<16; v += 97 {
		want := uint8(v >> 16)
		if uint32(v)&0xff000000 != 0 {
			want = uint8(^(v >> 31))
		}
		if got := clamp8(v); got != want {
			t.Fatalf("clamp8(%d) = %d; want %d", v, got, want)
		}
	}
	src := make([]uint8, 256)
	for i := range src {
		src[i] = uint8(i)
	}
	dst := make([]float32, 256)
	floatRow(src, dst)
	for i, v := range dst {
		if v != unit[i] {
			t.Fatalf("floatRow(%d) = %v; unit %v", i, v, unit[i])
		}
	}
}
