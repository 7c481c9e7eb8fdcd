package simulator

import (
	"context"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// testConfig is a small, fast, fault-free fleet on free loopback ports.
func testConfig() Config {
	c := DefaultConfig
	c.Cameras, c.Hosts, c.Listen = 20, 2, "127.0.0.1:0"
	c.Frames, c.Width, c.Height = 3, 480, 270 // few, small frames: rendering dominates start-up under -race
	c.Latency = LatencyConfig{Dist: DistNone}
	c.Faults = c.Faults.WithFaultRate(0)
	c.Faults.Offline = 0
	return c
}

// start builds and starts a fleet from cfg; it is closed when the test ends.
func start(t testing.TB, cfg Config, opts ...Option) *Fleet {
	t.Helper()
	f, err := New(cfg, opts...)
	if err != nil {
		t.Fatalf("New(%+v): %v", cfg, err)
	}
	if err := f.Start(context.Background()); err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}
