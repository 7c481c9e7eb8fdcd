package simulator

import (
	"io"
	"testing"
	"time"
)

func TestIdealCycle(t *testing.T) {
	t.Parallel()
	on := func(host int, f Fetch) Fetch { f.Host = host; f.Latency = f.Duration; return f }
	fetches := []Fetch{
		// host 0: draws 100, 40, 40, 20 ms; a repeat and a refusal are skipped
		on(0, fe("a", 0, 100, "")), on(0, fe("b", 0, 40, "")), on(0, fe("c", 0, 40, "")), on(0, fe("d", 0, 20, "")),
		on(0, fe("a", 150, 500, "")), on(0, fe("e", 0, 0, FaultOverflow503)),
		// host 1: one camera, 30 ms
		on(1, fe("x", 0, 30, FaultHTTP5xx)),
	}
	for _, tc := range []struct {
		name string
		cap  CapacityConfig
		cold bool
		want time.Duration
	}{
		{"unlimited: the longest draw", CapacityConfig{}, false, ms(100)},
		{"2 slots: 200 ms of work over 2", CapacityConfig{Concurrent: 2}, false, ms(100)},
		{"1 slot: the sum", CapacityConfig{Concurrent: 1}, false, ms(200)},
		{"1 slot, cold: the sum and one handshake", CapacityConfig{Concurrent: 1, Handshake: ms(5)}, true, ms(205)},
		{"2 slots, warm: no handshake", CapacityConfig{Concurrent: 2, Handshake: ms(50)}, false, ms(100)},
		{"2 slots, cold: (200 + 2×50) / 2", CapacityConfig{Concurrent: 2, Handshake: ms(50)}, true, ms(150)},
	} {
		got := IdealCycle(fetches, tc.cap, tc.cold)
		if got.Cycle != tc.want || got.Cameras != 5 {
			t.Errorf("%s: IdealCycle = %+v; want %s over 5 cameras", tc.name, got, tc.want)
		}
	}
	if got := IdealCycle(nil, CapacityConfig{}, true); got != (IdealResult{}) {
		t.Errorf("IdealCycle(nil) = %+v", got)
	}
}

// TestIdealCycleIsALowerBound: on a real fleet, the ideal computed from a
// client's own draws never exceeds the time that client took.
func TestIdealCycleIsALowerBound(t *testing.T) {
	t.Parallel()
	cfg := testConfig()
	cfg.Cameras, cfg.Hosts = 12, 2
	cfg.Latency = LatencyConfig{Dist: DistUniform, Min: time.Millisecond, Max: 8 * time.Millisecond}
	cfg.Capacity = CapacityConfig{Concurrent: 2, Queue: 100, Overflow: Overflow503, Handshake: 2 * time.Millisecond}
	f := start(t, cfg)
	c := newClient(5 * time.Second)
	defer c.CloseIdleConnections()
	begin := time.Now()
	done := make(chan struct{}, cfg.Cameras)
	for i := range cfg.Cameras {
		go func() {
			defer func() { done <- struct{}{} }()
			resp, err := c.Get(snapURL(f, i))
			if err != nil {
				t.Error(err)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}()
	}
	for range cfg.Cameras {
		<-done
	}
	took := time.Since(begin)
	ideal := IdealCycle(f.Fetches(begin, time.Time{}).Fetches, cfg.Capacity, true)
	if ideal.Cameras != cfg.Cameras || ideal.Cycle <= 0 || ideal.Cycle > took {
		t.Errorf("IdealCycle = %+v; want > 0 over %d cameras and ≤ the %s the client took", ideal, cfg.Cameras, took)
	}
}
