package jpeg

import (
	"bytes"
	"fmt"
	"image"
	stdjpeg "image/jpeg"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/camload/camload/simulator"
)

// TestDCOnlyMatchesIDCT checks the DC-only shortcut against the full
// inverse DCT on every dequantized DC value a baseline or extended JPEG
// can produce (|coefficient| < 2¹⁵ times a quantizer < 2¹⁶ would exceed
// int32; the decoder's int32 wraps the same way in both), exhaustively
// near zero and at random beyond.
func TestDCOnlyMatchesIDCT(t *testing.T) {
	t.Parallel()
	check := func(v int32) {
		var b block
		b[0] = v
		idct(&b)
		want := dcOnly(v)
		for i, got := range b {
			if got != want {
				t.Fatalf("DC %d: idct sample %d = %d; dcOnly %d", v, i, got, want)
			}
		}
	}
	for v := int32(-1 << 20); v <= 1<<20; v++ {
		check(v)
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for range 1 << 16 {
		check(int32(rng.Uint32()))
	}
}

// inputs are the standard library's test images (every subsampling,
// progressive, restart intervals, grey, CMYK, RGB, truncated) and fleet
// frames of several sizes and qualities.
func inputs(t testing.TB) map[string][]byte {
	t.Helper()
	in := map[string][]byte{}
	paths, err := filepath.Glob("testdata/*.jpeg")
	if err != nil || len(paths) == 0 {
		t.Fatalf("no test images: %v", err)
	}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		in[filepath.Base(p)] = b
	}
	for _, g := range [][4]int{{640, 360, 80, 1}, {640, 360, 40, 99}, {640, 360, 100, 7}, {480, 270, 80, 3}, {1280, 720, 80, 4}, {800, 360, 75, 5}} {
		cfg := simulator.DefaultConfig
		cfg.Cameras, cfg.Hosts, cfg.Listen = 10, 1, "127.0.0.1:0"
		cfg.Width, cfg.Height, cfg.Quality, cfg.Seed, cfg.Frames = g[0], g[1], g[2], int64(g[3]), 6
		f, err := simulator.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		in[fmt.Sprintf("fleet %v placeholder", g)] = f.Placeholder()
		for i, fr := range f.Frames() {
			in[fmt.Sprintf("fleet %v frame %d", g, i)] = fr.JPEG
		}
	}
	return in
}

// same reports whether a and b are the same decoded image (type, bounds,
// subsampling and every sample inside the bounds).
func same(a, b image.Image) bool {
	switch a := a.(type) {
	case *image.YCbCr:
		b, ok := b.(*image.YCbCr)
		if !ok || a.Rect != b.Rect || a.SubsampleRatio != b.SubsampleRatio {
			return false
		}
		r := a.Rect
		for y := r.Min.Y; y < r.Max.Y; y++ {
			for x := r.Min.X; x < r.Max.X; x++ {
				if a.Y[a.YOffset(x, y)] != b.Y[b.YOffset(x, y)] ||
					a.Cb[a.COffset(x, y)] != b.Cb[b.COffset(x, y)] || a.Cr[a.COffset(x, y)] != b.Cr[b.COffset(x, y)] {
					return false
				}
			}
		}
		return true
	}
	return reflect.TypeOf(a) == reflect.TypeOf(b) && a.Bounds() == b.Bounds() && reflect.DeepEqual(a, b)
}

// TestDecodeEqualsStdlib decodes every input with one reused Decoder (in
// an order that changes sizes and kinds between calls) and with
// image/jpeg: same errors-or-not, same samples.
func TestDecodeEqualsStdlib(t *testing.T) {
	t.Parallel()
	var dec Decoder
	for round := range 2 {
		for name, b := range inputs(t) {
			want, werr := stdjpeg.Decode(bytes.NewReader(b))
			got, gerr := dec.Decode(bytes.NewReader(b))
			if (werr == nil) != (gerr == nil) || werr != nil && werr.Error() != gerr.Error() {
				t.Fatalf("round %d %s: error %v; image/jpeg %v", round, name, gerr, werr)
			}
			if werr == nil && !same(got, want) {
				t.Fatalf("round %d %s: decoded image differs from image/jpeg's", round, name)
			}
		}
	}
}

// TestDecodeSteadyStateAllocations checks the reuse promise on a fleet
// frame: no allocation once the Decoder has seen the frame's shape.
func TestDecodeSteadyStateAllocations(t *testing.T) {
	cfg := simulator.DefaultConfig
	cfg.Cameras, cfg.Hosts, cfg.Listen, cfg.Frames = 10, 1, "127.0.0.1:0", 3
	f, err := simulator.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	jpg := f.Frames()[1].JPEG
	var dec Decoder
	var r bytes.Reader
	decode := func() {
		r.Reset(jpg)
		if _, err := dec.Decode(&r); err != nil {
			t.Fatal(err)
		}
	}
	decode()
	if n := testing.AllocsPerRun(10, decode); n != 0 {
		t.Errorf("reused Decoder allocates %v times per frame; want 0", n)
	}
}

// FuzzDecodeEqualsStdlib: on any input, the fork fails when image/jpeg
// fails, with the same error, and otherwise decodes the same samples.
func FuzzDecodeEqualsStdlib(f *testing.F) {
	for _, b := range inputs(f) {
		if len(b) < 8000 {
			f.Add(b)
		}
	}
	var dec Decoder
	f.Fuzz(func(t *testing.T, b []byte) {
		if cfg, err := stdjpeg.DecodeConfig(bytes.NewReader(b)); err == nil && cfg.Width*cfg.Height > 1<<20 {
			return // bounded memory per input
		}
		want, werr := stdjpeg.Decode(bytes.NewReader(b))
		got, gerr := dec.Decode(bytes.NewReader(b))
		if (werr == nil) != (gerr == nil) || werr != nil && werr.Error() != gerr.Error() {
			t.Fatalf("error %v; image/jpeg %v", gerr, werr)
		}
		if werr == nil && !same(got, want) {
			t.Fatal("decoded image differs from image/jpeg's")
		}
	})
}

// TestSequentialMatchesReconstruct checks reconstructSequential (rows
// skipped, dequantized up front) against the standard library's
// reconstructBlock (every coefficient, the full inverse DCT) on random
// sparse blocks.
func TestSequentialMatchesReconstruct(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(5, 6))
	var d decoder
	d.nComp = 1
	d.img1 = image.NewGray(image.Rect(0, 0, 8, 8))
	want := image.NewGray(image.Rect(0, 0, 8, 8))
	for i := range d.quant[0] {
		d.quant[0][i] = int32(1 + rng.IntN(255))
	}
	for range 200000 {
		var coef block
		var rows uint8
		for range 1 + rng.IntN(6) {
			zig := rng.IntN(blockSize)
			if rng.IntN(3) == 0 {
				zig = rng.IntN(10)
			}
			coef[unzig[zig]] = int32(rng.IntN(2047*2+1) - 2047)
		}
		b := coef
		if err := d.reconstructBlock(&b, 0, 0, 0); err != nil {
			t.Fatal(err)
		}
		copy(want.Pix, d.img1.Pix)
		b = block{}
		for zig, u := range unzig {
			b[u] = coef[u] * d.quant[0][zig]
			if coef[u] != 0 {
				rows |= 1 << (u >> 3)
			}
		}
		if err := d.reconstructSequential(&b, rows|1, 0, 0, 0); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(want.Pix, d.img1.Pix) {
			t.Fatalf("coefficients %v: reconstructSequential %v; reconstructBlock %v", coef, d.img1.Pix, want.Pix)
		}
	}
}

// TestLevelShift checks levelShift against the standard library's
// branches on every value the inverse DCT can output (its last shift
// leaves |c| ≤ 2¹³) and well beyond.
func TestLevelShift(t *testing.T) {
	t.Parallel()
	for c := int32(-1 << 24); c <= 1<<24; c++ {
		want := c + 128
		if c < -128 {
			want = 0
		} else if c > 127 {
			want = 255
		}
		if got := levelShift(c); int32(got) != want {
			t.Fatalf("levelShift(%d) = %d; want %d", c, got, want)
		}
	}
}

// TestColsRow0MatchesIDCT checks colsRow0 against idctCols on blocks whose
// rows 1–7 are zero: every value near zero in each column, random beyond.
func TestColsRow0MatchesIDCT(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(7, 8))
	check := func(b block) {
		want, got := b, b
		idctCols(&want)
		colsRow0(&got)
		if got != want {
			t.Fatalf("row 0 %v: colsRow0 %v; idctCols %v", b[:8], got, want)
		}
	}
	for v := int32(-1 << 22); v <= 1<<22; v += 7 {
		var b block
		for i := range 8 {
			b[i] = v + int32(i)
		}
		check(b)
	}
	for range 1 << 16 {
		var b block
		for i := range 8 {
			b[i] = int32(rng.Uint32())
		}
		check(b)
	}
}
