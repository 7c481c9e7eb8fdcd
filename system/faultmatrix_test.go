package system_test

import (
	"fmt"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/camload/camload/simulator"
	"github.com/camload/camload/system"
)

// faultMatrixKinds are the fault kinds the fleet injects at random, each
// set in a FaultConfig by its own field.
var faultMatrixKinds = []struct {
	kind string
	set  func(*simulator.FaultConfig, float64)
}{
	{simulator.FaultHTTP5xx, func(f *simulator.FaultConfig, p float64) { f.HTTP5xx = p }},
	{simulator.FaultHang, func(f *simulator.FaultConfig, p float64) { f.Hang = p }},
	{simulator.FaultReset, func(f *simulator.FaultConfig, p float64) { f.Reset = p }},
	{simulator.FaultTruncated, func(f *simulator.FaultConfig, p float64) { f.Truncated = p }},
	{simulator.FaultGarbage, func(f *simulator.FaultConfig, p float64) { f.Garbage = p }},
	{simulator.FaultSlowDrip, func(f *simulator.FaultConfig, p float64) { f.SlowDrip = p }},
	{simulator.FaultOversized, func(f *simulator.FaultConfig, p float64) { f.Oversized = p }},
	{simulator.FaultPlaceholder, func(f *simulator.FaultConfig, p float64) { f.Placeholder = p }},
	{simulator.FaultOffline, func(f *simulator.FaultConfig, p float64) { f.Offline = p }},
}

var faultMatrixRates = []float64{0.001, 0.05, 0.5}

// Sizes of one case: few cameras and cycles, so the 135 cases run in a
// few minutes. Sync fetches one camera at a time, so at 50 % hangs a
// cycle costs cameras/2 fetch timeouts. At 0.1 % the 40 fetches of a
// case see no fault (the fleet's log says 0, and so must the system):
// with 400 cameras the matrix took well over 5 minutes on 2 busy cores.
const (
	faultMatrixCameras = 20
	faultMatrixCycles  = 2
)

type matrixCell struct {
	injected, counted int
	ok                bool
}

// TestFaultMatrix (CAMLOAD_FAULT_MATRIX=1; `make test-faults`): for every
// fault kind the fleet injects, at 0.1 %, 5 % and 50 %, and every mode, the
// system completes every cycle (each camera processed, skipped or counted
// as an error), its errors by kind equal the fleet's fault log exactly,
// and after all cases no goroutine and no file descriptor is left over.
// The matrix is logged as a Markdown table (injected = counted per cell).
func TestFaultMatrix(t *testing.T) {
	if os.Getenv("CAMLOAD_FAULT_MATRIX") != "1" {
		t.Skip("set CAMLOAD_FAULT_MATRIX=1 (make test-faults) to run the fault matrix")
	}
	ignore := goleak.IgnoreCurrent()
	fds0 := openFDs(t)
	var mu sync.Mutex
	cells := map[string]matrixCell{}
	t.Cleanup(func() {
		// Only after every case has finished and cleaned up: idle
		// connections and server goroutines wind down asynchronously.
		var leak error
		for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(200 * time.Millisecond) {
			leak = goleak.Find(ignore, goleak.IgnoreAnyFunction("github.com/hashicorp/golang-lru/v2/expirable.NewLRU[...].func1"))
			if leak == nil || time.Now().After(deadline) {
				break
			}
		}
		if leak != nil {
			t.Errorf("goroutines left after the matrix: %v", leak)
		}
		var fds []string
		for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(200 * time.Millisecond) {
			fds = openFDs(t)
			if len(fds) <= len(fds0) || time.Now().After(deadline) {
				break
			}
		}
		if len(fds) > len(fds0) {
			t.Errorf("%d file descriptors before the matrix, %d after: new %v", len(fds0), len(fds), newFDs(fds0, fds))
		}
		t.Log("\n" + matrixTable(cells))
	})
	for _, fk := range faultMatrixKinds {
		for _, rate := range faultMatrixRates {
			for _, mode := range system.Modes {
				// Database names come from test names: no "%" or ".".
				name := fmt.Sprintf("%s/%spct/%s", fk.kind, strings.ReplaceAll(fmt.Sprint(rate*100), ".", "_"), mode)
				t.Run(name, func(t *testing.T) {
					t.Parallel()
					cell := runFaultCase(t, fk.set, rate, mode)
					mu.Lock()
					cells[fmt.Sprintf("%s|%g|%s", fk.kind, rate, mode)] = cell
					mu.Unlock()
				})
			}
		}
	}
}

// runFaultCase runs faultMatrixCycles cycles against a fleet injecting one
// fault kind at rate and compares the system's errors with the fleet's log.
func runFaultCase(t *testing.T, set func(*simulator.FaultConfig, float64), rate float64, mode system.Mode) matrixCell {
	cameras := faultMatrixCameras
	fc := quietFleet(cameras, 2)
	fc.Faults = simulator.FaultConfig{OfflinePeriod: 10 * time.Minute, HangFor: time.Minute, SlowDripRate: 128, OversizedBytes: 2 << 20}
	set(&fc.Faults, rate)
	e := newEnv(t, envOpts{fleet: fc, mode: mode, knobs: func(k *system.Knobs) {
		// 3s, not less: on a loaded 2-core machine (load average 10+)
		// a clean fetch in async mode took over 1s now and then, a
		// timeout the fleet never injected.
		k.FetchTimeout, k.MaxBody = 3*time.Second, 1<<20
		if raceEnabled {
			k.FetchTimeout = 5 * time.Second
		}
		k.Workers, k.BatchSize = faultMatrixCameras, 10 // 20 in flight, in batches of 10
		k.MaxConnsPerHost = k.Workers
		// resilient keeps its cycle deadline (1 s): a hung camera's
		// outcome comes late, in a later cycle's summary; the last cycle
		// is drained (as the runner's windows end), so every outcome is
		// counted once, on time or late.
	}})
	got := map[string]int{}
	retries := 0
	for c := range faultMatrixCycles {
		last := c == faultMatrixCycles-1
		// Fails the test if the cycle returns an error; checks that every
		// camera is processed, skipped, an error, abandoned or not fetched.
		s := runCycle(t, e, last)
		if last && s.InFlight != 0 {
			t.Errorf("drained cycle: %d cameras still in flight", s.InFlight)
		}
		for k, n := range s.Errors {
			got[k] += n
		}
		for k, n := range s.LateErrors {
			got[k] += n
		}
		retries += s.Retries
		if s.Cameras != cameras {
			t.Errorf("cycle %d: %d cameras; want %d", c+1, s.Cameras, cameras)
		}
		if s.Late != s.LateProcessed+s.LateSkipped+errorTotal(s.LateErrors) {
			t.Errorf("cycle %d: %d late results ≠ %d processed + %d skipped + errors %v", c+1, s.Late, s.LateProcessed, s.LateSkipped, s.LateErrors)
		}
		e.clock.Advance(time.Hour)
	}
	// A reset on a reused keep-alive connection is retried by the
	// transport on a fresh one, whose own outcome counts.
	got[system.ErrConn] += retries
	rep := e.fleet.Faults()
	want := map[string]int{}
	injected := 0
	for k, n := range rep.ByKind {
		sk, ok := faultKind[k]
		if !ok {
			t.Fatalf("fleet fault kind %q has no error kind", k)
		}
		want[sk] += int(n)
		injected += int(n)
	}
	cell := matrixCell{injected: injected, ok: true}
	for _, k := range []string{system.ErrTimeout, system.ErrConn, system.ErrHTTP5xx, system.ErrHTTPStatus,
		system.ErrBadImage, system.ErrTooLarge, system.ErrPlaceholder, system.ErrStore} {
		cell.counted += got[k]
		if got[k] != want[k] {
			cell.ok = false
			t.Errorf("errors[%s] = %d; fleet logged %d (fleet %v, system %v)", k, got[k], want[k], rep.ByKind, got)
		}
	}
	return cell
}

// matrixTable renders the cells: a row per kind and rate, a column per
// mode, each "injected=counted" (✗ where they differ or the case failed).
func matrixTable(cells map[string]matrixCell) string {
	var b strings.Builder
	b.WriteString("| fault | rate |")
	for _, m := range system.Modes {
		fmt.Fprintf(&b, " %s |", m)
	}
	b.WriteString("\n|---|---|" + strings.Repeat("---|", len(system.Modes)) + "\n")
	for _, fk := range faultMatrixKinds {
		for _, rate := range faultMatrixRates {
			fmt.Fprintf(&b, "| %s | %g %% |", fk.kind, rate*100)
			for _, m := range system.Modes {
				c, ok := cells[fmt.Sprintf("%s|%g|%s", fk.kind, rate, m)]
				switch {
				case !ok:
					b.WriteString(" – |")
				case c.ok && c.injected == c.counted:
					fmt.Fprintf(&b, " %d=%d |", c.injected, c.counted)
				default:
					fmt.Fprintf(&b, " ✗ %d≠%d |", c.injected, c.counted)
				}
			}
			b.WriteString("\n")
		}
	}
	return b.String()
}

// openFDs lists this process's open file descriptors (Linux; nil
// elsewhere), as "fd → target".
func openFDs(t *testing.T) []string {
	if runtime.GOOS != "linux" {
		return nil
	}
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatalf("listing fds: %v", err)
	}
	out := make([]string, 0, len(ents))
	for _, e := range ents {
		target, err := os.Readlink("/proc/self/fd/" + e.Name())
		if err != nil {
			continue // the fd of the directory read itself, since closed
		}
		out = append(out, e.Name()+" → "+target)
	}
	return out
}

func newFDs(before, after []string) []string {
	var out []string
	for _, f := range after {
		if !slices.Contains(before, f) {
			out = append(out, f)
		}
	}
	return out
}
