package analyze_test

import (
	"bytes"
	"image/jpeg"
	"testing"

	"github.com/camload/camload/system/analyze"
)

// TestFastEqualsReference checks that the fast path (fused conversion and
// detection, pooled or not) gives the reference path's result on every
// frame of the fleets, and builds the reference tensor bit for bit.
func TestFastEqualsReference(t *testing.T) {
	t.Parallel()
	var pool analyze.Pool // shared across sizes: buffers are resized
	for _, tc := range fleetCases {
		if raceEnabled {
			tc.count = max(3, tc.count/8)
		}
		f := fleet(t, tc.seed, tc.w, tc.h, tc.quality, tc.count)
		frames := [][]byte{f.Placeholder()}
		for _, fr := range f.Frames() {
			frames = append(frames, fr.JPEG)
		}
		for i, jpg := range frames {
			want, err := analyze.ReferenceAnalyze(jpg)
			if err != nil {
				t.Fatalf("%s frame %d: ReferenceAnalyze: %v", tc.name, i, err)
			}
			for _, opts := range []analyze.Options{{}, {Pool: &pool}} {
				got, err := analyze.Analyze(jpg, opts)
				if err != nil || got != want {
					t.Errorf("%s frame %d: Analyze(pool %t) = %+v, %v; reference %+v", tc.name, i, opts.Pool != nil, got, err, want)
				}
			}
			img, err := jpeg.Decode(bytes.NewReader(jpg))
			if err != nil {
				t.Fatal(err)
			}
			if diff, ok := analyze.TensorDiff(img); !ok {
				t.Errorf("%s frame %d: tensor differs from the reference: %s", tc.name, i, diff)
			}
		}
	}
	if n := pool.Idle(); n != 1 {
		t.Errorf("pool holds %d buffer sets after sequential use; want 1", n)
	}
}

// TestPoolSteadyStateAllocations checks the pooled path's promise: once
// the pool holds a buffer set, a frame — with a cost, so the model's
// buffers are used too — allocates nothing (the decoder decodes into the
// pool's planes), where image/jpeg.Decode alone allocates.
func TestPoolSteadyStateAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates on its own")
	}
	jpg := fleet(t, 1, 640, 360, 80, 4).Frames()[2].JPEG
	var pool analyze.Pool
	opts := analyze.Options{Pool: &pool, Cost: analyze.CostPerPass() / 4}
	if _, err := analyze.Analyze(jpg, opts); err != nil {
		t.Fatal(err)
	}
	pooled := testing.AllocsPerRun(5, func() { analyze.Analyze(jpg, opts) })
	decode := testing.AllocsPerRun(5, func() { jpeg.Decode(bytes.NewReader(jpg)) })
	if pooled != 0 || decode == 0 {
		t.Errorf("pooled Analyze allocates %v times per frame, image/jpeg.Decode alone %v; want 0 and > 0", pooled, decode)
	}
}
