package system_test

import (
	"errors"
	"testing"

	"github.com/camload/camload/simulator"
	"github.com/camload/camload/system"
	"github.com/camload/camload/system/analyze"
)

// TestAnalyzerFor checks that the bounded and unbounded modes' analyzers
// agree on the fleet's frames and reject bad input the same way.
func TestAnalyzerFor(t *testing.T) {
	t.Parallel()
	cfg := simulator.DefaultConfig
	cfg.Cameras, cfg.Hosts, cfg.Listen, cfg.Frames = 4, 1, "127.0.0.1:0", 4
	f, err := simulator.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	bounded, _ := system.Preset(system.ModeBatched)
	unbounded, _ := system.Preset(system.ModeAsync)
	if bounded.AnalyzeWorkers == 0 || unbounded.AnalyzeWorkers != 0 {
		t.Fatalf("presets: batched analyze_workers %d, async %d; want > 0 and 0", bounded.AnalyzeWorkers, unbounded.AnalyzeWorkers)
	}
	pooled, plain := system.AnalyzerFor(bounded), system.AnalyzerFor(unbounded)
	for i, fr := range f.Frames() {
		for range 2 { // the second pooled call reuses the buffers
			a, err1 := pooled(fr.JPEG, 0)
			b, err2 := plain(fr.JPEG, 0)
			if err1 != nil || err2 != nil || a != b || a.Vehicles != fr.Vehicles {
				t.Errorf("frame %d: pooled %+v, %v; default %+v, %v; want %d vehicles", i, a, err1, b, err2, fr.Vehicles)
			}
		}
	}
	if _, err := pooled([]byte("not a jpeg"), 0); !errors.Is(err, analyze.ErrBadImage) {
		t.Errorf("pooled analyzer on garbage: %v; want ErrBadImage", err)
	}
}
