package system_test

import (
	"testing"
	"time"

	"github.com/camload/camload/simulator"
	"github.com/camload/camload/system"
)

// faultKind maps the fleet's fault kinds to the system's error kinds.
var faultKind = map[string]string{
	simulator.FaultHTTP5xx:       system.ErrHTTP5xx,
	simulator.FaultOverflow503:   system.ErrHTTP5xx,
	simulator.FaultHang:          system.ErrTimeout,
	simulator.FaultSlowDrip:      system.ErrTimeout,
	simulator.FaultReset:         system.ErrConn,
	simulator.FaultOverflowReset: system.ErrConn,
	simulator.FaultTruncated:     system.ErrBadImage,
	simulator.FaultGarbage:       system.ErrBadImage,
	simulator.FaultOversized:     system.ErrTooLarge,
	simulator.FaultPlaceholder:   system.ErrPlaceholder,
	simulator.FaultOffline:       system.ErrPlaceholder,
}

// TestErrorsMatchInjectedFaults: the errors a cycle counts, by kind, are
// exactly the faults the fleet injected; no fault fails a cycle.
func TestErrorsMatchInjectedFaults(t *testing.T) {
	t.Parallel()
	for _, mode := range []system.Mode{system.ModePooled, system.ModeBatched} {
		t.Run(string(mode), func(t *testing.T) {
			t.Parallel()
			fc := quietFleet(120, 3)
			fc.Faults = simulator.FaultConfig{
				HTTP5xx: 0.04, Hang: 0.03, Reset: 0.03, Truncated: 0.03, Garbage: 0.03,
				SlowDrip: 0.03, Oversized: 0.03, Placeholder: 0.03,
				Offline: 0.05, OfflinePeriod: 10 * time.Minute,
				HangFor: time.Minute, SlowDripRate: 128, OversizedBytes: 2 << 20,
			}
			e := newEnv(t, envOpts{fleet: fc, mode: mode, knobs: func(k *system.Knobs) {
				// Short enough for hangs and slow drips, long enough
				// that no healthy fetch times out on a busy machine.
				k.FetchTimeout, k.MaxBody = 1500*time.Millisecond, 1<<20
				if raceEnabled {
					k.FetchTimeout = 6 * time.Second
				}
				k.Workers, k.BatchSize = 40, 30
				// Enough connections that no request waits for one
				// (waiting counts against the fetch timeout).
				k.MaxConnsPerHost = k.Workers
			}})
			got := map[string]int{}
			processed, retries := 0, 0
			for c := range 3 {
				s := e.cycle(t)
				for k, n := range s.Errors {
					got[k] += n
				}
				processed += s.Processed
				retries += s.Retries
				if s.Processed+s.Skipped+errorTotal(s.Errors) != s.Cameras {
					t.Errorf("cycle %d: processed %d + skipped %d + errors %v ≠ %d cameras", c+1, s.Processed, s.Skipped, s.Errors, s.Cameras)
				}
				e.clock.Advance(time.Hour) // new frames each cycle
			}
			rep := e.fleet.Faults()
			want := map[string]int{}
			for k, n := range rep.ByKind {
				if n == 0 {
					continue
				}
				sk, ok := faultKind[k]
				if !ok {
					t.Fatalf("fleet fault kind %q has no error kind", k)
				}
				want[sk] += int(n)
			}
			if rep.Total == 0 || processed == 0 {
				t.Fatalf("fleet injected %d faults, %d frames processed; want both > 0", rep.Total, processed)
			}
			// A reset on a reused keep-alive connection is retried by
			// the transport on a fresh one, whose own outcome counts.
			got[system.ErrConn] += retries
			for _, k := range []string{system.ErrTimeout, system.ErrConn, system.ErrHTTP5xx, system.ErrHTTPStatus,
				system.ErrBadImage, system.ErrTooLarge, system.ErrPlaceholder, system.ErrStore} {
				if got[k] != want[k] {
					t.Errorf("errors[%s] = %d; fleet injected %d (fleet report %v, summaries %v)", k, got[k], want[k], rep.ByKind, got)
				}
			}
		})
	}
}

// TestAccuracy: the latest observation of every camera shows what the
// fleet's ground truth says it showed.
func TestAccuracy(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{fleet: quietFleet(40, 2), mode: system.ModeBatched})
	s := e.cycle(t)
	if s.Processed != 40 {
		t.Fatalf("cycle: processed %d, errors %v; want 40, none", s.Processed, s.Errors)
	}
	ctx := testCtx(t, 30*time.Second)
	for _, c := range e.sys.Cameras() {
		truth, ok := e.fleet.Truth(c.ID, e.clock.Now())
		if !ok {
			t.Fatalf("no truth for %s", c.ID)
		}
		o, err := e.store.Latest(ctx, c.ID)
		if err != nil {
			t.Fatalf("Latest(%s): %v", c.ID, err)
		}
		// BSON dates have millisecond precision.
		if o.VehicleCount != truth.Vehicles || !o.CapturedAt.Equal(truth.CapturedAt.Truncate(time.Millisecond)) {
			t.Errorf("%s: stored %d vehicles captured %s; truth %d captured %s", c.ID, o.VehicleCount, o.CapturedAt, truth.Vehicles, truth.CapturedAt)
		}
		wantIntensity := min(float64(truth.Vehicles)/100, 1)
		if o.Intensity != wantIntensity {
			t.Errorf("%s: intensity %v; want %v", c.ID, o.Intensity, wantIntensity)
		}
	}
}
