package bench

import (
	"bytes"
	"image"
	"image/color"
	"image/jpeg"
	"slices"
	"testing"

	"github.com/camload/camload/simulator"
	"github.com/camload/camload/system"
)

func TestSpreadIsAPermutationSpreadOverTheRange(t *testing.T) {
	for n := range 70 {
		got := spread(n)
		sorted := slices.Sorted(slices.Values(got))
		for i, v := range sorted {
			if v != i {
				t.Fatalf("spread(%d) = %v: not a permutation of 0…%d", n, got, n-1)
			}
		}
		if len(got) != n {
			t.Fatalf("spread(%d) has %d elements", n, len(got))
		}
		if n >= 4 && (got[0] != 0 || got[1] != n/2 || got[2] != n/4 || got[3] != 3*n/4) {
			t.Errorf("spread(%d) starts %v; want 0, n/2, n/4, 3n/4", n, got[:4])
		}
	}
}

// testJPEG is a w×h frame of coloured noise (costly to decode).
func testJPEG(t *testing.T, w, h int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	x := uint32(1)
	for i := range img.Pix {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		img.Pix[i] = uint8(x)
	}
	img.Set(0, 0, color.White)
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 90}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestAnalyzeWorkIsTheMeanFrame: the CPU bound's work per frame is the
// mean over the fleet's frames, not the cheapest frame's: with one cheap
// and one costly frame it lies far above the cheap one.
func TestAnalyzeWorkIsTheMeanFrame(t *testing.T) {
	k, _ := system.Preset(system.ModeBatched)
	small, large := testJPEG(t, 160, 90), testJPEG(t, 1280, 720) // 64× the pixels
	alone := analyzeWork([]simulator.FrameInfo{{JPEG: small}}, k)
	both := analyzeWork([]simulator.FrameInfo{{JPEG: small}, {JPEG: large}}, k)
	if alone <= 0 || both < 8*alone {
		t.Errorf("work per frame: small frame alone %s, small and large %s; want the pair ≥ 8× the small one (their mean, not the cheapest)", alone, both)
	}
	if got := analyzeWork(nil, k); got != k.AnalyzeCost {
		t.Errorf("no frames: %s; want the analysis cost %s", got, k.AnalyzeCost)
	}
}
