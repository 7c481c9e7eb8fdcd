package analyze_test

import (
	"bytes"
	"errors"
	"image"
	"image/jpeg"
	"testing"
	"time"

	"github.com/camload/camload/simulator"
	"github.com/camload/camload/system/analyze"
)

// fleet builds a small fleet with the given frame geometry.
func fleet(t testing.TB, seed int64, w, h, quality, frames int) *simulator.Fleet {
	t.Helper()
	cfg := simulator.DefaultConfig
	cfg.Cameras, cfg.Hosts, cfg.Listen = 10, 1, "127.0.0.1:0"
	cfg.Seed, cfg.Width, cfg.Height, cfg.Quality, cfg.Frames = seed, w, h, quality, frames
	f, err := simulator.New(cfg)
	if err != nil {
		t.Fatalf("simulator.New(%+v): %v", cfg, err)
	}
	return f
}

// fleetCase is a fleet geometry: seed, frame size, quality, frame count.
type fleetCase struct {
	name                 string
	seed                 int64
	w, h, quality, count int
}

// fleetCases are the fleet geometries the counting and equivalence tests
// cover.
var fleetCases = []fleetCase{
	{"default size", 1, 640, 360, 80, 64},
	{"low quality", 99, 640, 360, 40, 32},
	{"high quality", 7, 640, 360, 100, 16},
	{"smallest size", 3, 480, 270, 80, 24},
	{"VGA", 6, 640, 480, 80, 16},
	{"HD", 4, 1280, 720, 80, 12},
	{"odd aspect", 5, 800, 360, 75, 12},
}

// TestCountsExactly checks Analyze's count on every frame of the fleets
// (and of a second seed at the default size).
func TestCountsExactly(t *testing.T) {
	t.Parallel()
	for _, tc := range append([]fleetCase{{"default size, seed 2", 2, 640, 360, 80, 64}}, fleetCases...) {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if raceEnabled { // fewer frames; the last is still the densest
				tc.count = max(3, tc.count/8)
			}
			f := fleet(t, tc.seed, tc.w, tc.h, tc.quality, tc.count)
			frames := f.Frames()
			maxSeen := 0
			for i, fr := range frames {
				res, err := analyze.Analyze(fr.JPEG, analyze.Options{})
				if err != nil {
					t.Fatalf("Analyze(frame %d) error: %v", i, err)
				}
				if res.Vehicles != fr.Vehicles || res.Placeholder {
					t.Errorf("Analyze(frame %d of seed %d, %dx%d q%d) = %d vehicles, placeholder %t; want %d, false",
						i, tc.seed, tc.w, tc.h, tc.quality, res.Vehicles, res.Placeholder, fr.Vehicles)
				}
				maxSeen = max(maxSeen, fr.Vehicles)
			}
			if maxSeen < 100 {
				t.Errorf("densest frame has %d vehicles; want ≥ 100 (max density covered)", maxSeen)
			}
			res, err := analyze.Analyze(f.Placeholder(), analyze.Options{})
			if err != nil || !res.Placeholder || res.Vehicles != 0 {
				t.Errorf("Analyze(placeholder) = %+v, %v; want placeholder, 0 vehicles", res, err)
			}
		})
	}
}

func TestSnapshotMatchesTruth(t *testing.T) {
	t.Parallel()
	frames, times := 16, 5
	if raceEnabled {
		frames, times = 4, 2
	}
	f := fleet(t, 11, 640, 360, 80, frames)
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for i := range 10 {
		id := simulator.CameraID(i)
		for k := range times {
			when := at.Add(time.Duration(k) * f.Config().Refresh)
			body, truth, ok := f.Snapshot(id, when)
			if !ok {
				t.Fatalf("Snapshot(%s) not found", id)
			}
			res, err := analyze.Analyze(body, analyze.Options{})
			if err != nil {
				t.Fatalf("Analyze(%s at %s): %v", id, when, err)
			}
			if res.Vehicles != truth.Vehicles || res.Placeholder != truth.Placeholder {
				t.Errorf("Analyze(%s at %s) = %d vehicles, placeholder %t; truth %+v", id, when, res.Vehicles, res.Placeholder, truth)
			}
		}
	}
}

func TestBadImages(t *testing.T) {
	t.Parallel()
	f := fleet(t, 1, 640, 360, 80, 4)
	good := f.Frames()[2].JPEG
	for _, tc := range []struct {
		name string
		in   []byte
	}{
		{"empty", nil},
		{"truncated to half", good[:len(good)/2]},
		{"truncated header", good[:20]},
		{"garbage", []byte("this is not a jpeg at all, just some text bytes")},
		{"html error page", []byte("<html><body>502 Bad Gateway</body></html>")},
	} {
		_, err := analyze.Analyze(tc.in, analyze.Options{})
		if !errors.Is(err, analyze.ErrBadImage) {
			t.Errorf("Analyze(%s) error = %v; want ErrBadImage", tc.name, err)
		}
	}
	// Trailing bytes after a complete JPEG (an oversized body) still decode.
	padded := append(append([]byte(nil), good...), make([]byte, 4096)...)
	if res, err := analyze.Analyze(padded, analyze.Options{}); err != nil || res.Vehicles != f.Frames()[2].Vehicles {
		t.Errorf("Analyze(frame + padding) = %+v, %v; want %d vehicles", res, err, f.Frames()[2].Vehicles)
	}
}

func TestLevels(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		intensity float64
		want      string
	}{
		{0, analyze.CongestionFree},
		{0.39, analyze.CongestionFree},
		{0.40, analyze.CongestionModerate}, // boundary belongs to moderate
		{0.74, analyze.CongestionModerate},
		{0.75, analyze.CongestionCongested}, // boundary belongs to congested
		{1, analyze.CongestionCongested},
	} {
		if got := analyze.Level(tc.intensity); got != tc.want {
			t.Errorf("Level(%g) = %q; want %q", tc.intensity, got, tc.want)
		}
	}
}

func TestIntensityCapped(t *testing.T) {
	t.Parallel()
	f := fleet(t, 1, 640, 360, 80, 8)
	frames := f.Frames()
	densest := frames[len(frames)-1]
	res, err := analyze.Analyze(densest.JPEG, analyze.Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := min(float64(densest.Vehicles)/100, 1)
	if res.Intensity != want || res.Congestion != analyze.Level(want) {
		t.Errorf("Analyze(densest) = %+v; want intensity %g", res, want)
	}
}

func TestCostDoesWorkWithoutChangingResult(t *testing.T) {
	t.Parallel()
	f := fleet(t, 1, 640, 360, 80, 4)
	fr := f.Frames()[3]
	plain, err := analyze.Analyze(fr.JPEG, analyze.Options{})
	if err != nil {
		t.Fatal(err)
	}
	costly, err := analyze.Analyze(fr.JPEG, analyze.Options{Cost: 3 * analyze.CostPerPass()})
	if err != nil {
		t.Fatal(err)
	}
	if plain != costly {
		t.Errorf("Analyze with Cost = %+v; without = %+v; want equal", costly, plain)
	}
	if analyze.CostPerPass() <= 0 {
		t.Errorf("CostPerPass() = %s; want > 0", analyze.CostPerPass())
	}
}

func FuzzAnalyze(f *testing.F) {
	// Small seeds keep the (instrumented) decoder fast enough to explore;
	// full-size frames are covered by the table tests.
	img := image.NewRGBA(image.Rect(0, 0, 24, 16))
	for i := range img.Pix {
		img.Pix[i] = uint8(i * 7)
	}
	var buf bytes.Buffer
	jpeg.Encode(&buf, img, &jpeg.Options{Quality: 50})
	f.Add(buf.Bytes())
	f.Add(buf.Bytes()[:buf.Len()/2])
	f.Add([]byte{0xff, 0xd8, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		res, err := analyze.Analyze(b, analyze.Options{})
		ref, refErr := analyze.ReferenceAnalyze(b)
		if (err == nil) != (refErr == nil) || res != ref {
			t.Fatalf("Analyze = %+v, %v; reference path %+v, %v", res, err, ref, refErr)
		}
		if err != nil {
			if !errors.Is(err, analyze.ErrBadImage) {
				t.Fatalf("Analyze error %v does not wrap ErrBadImage", err)
			}
			return
		}
		if res.Vehicles < 0 || res.Intensity < 0 || res.Intensity > 1 {
			t.Fatalf("Analyze = %+v; out of range", res)
		}
	})
}

func BenchmarkAnalyze(b *testing.B) {
	f := fleet(b, 1, 640, 360, 80, 4)
	fr := f.Frames()[2]
	for _, cost := range []time.Duration{0, 10 * time.Millisecond} {
		b.Run("cost="+cost.String(), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(fr.JPEG)))
			for b.Loop() {
				if _, err := analyze.Analyze(fr.JPEG, analyze.Options{Cost: cost}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
