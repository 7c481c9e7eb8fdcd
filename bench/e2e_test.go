package bench

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/camload/camload/reports"
	"github.com/camload/camload/results"
	"github.com/camload/camload/scenarios"
)

var (
	buildOnce sync.Once
	builtBin  string
	buildErr  error
)

// camloadBinary builds ./cmd/camload once into tmp/camload at the module
// root (the real system under test for end-to-end runs).
func camloadBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		root, err := filepath.Abs("..")
		if err != nil {
			buildErr = err
			return
		}
		builtBin = filepath.Join(root, "tmp", "camload")
		cmd := exec.Command("go", "build", "-o", builtBin, "./cmd/camload")
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = &buildError{err, string(out)}
		}
	})
	if buildErr != nil {
		t.Fatalf("building camload: %v", buildErr)
	}
	return builtBin
}

type buildError struct {
	err error
	out string
}

func (e *buildError) Error() string { return e.err.Error() + "\n" + e.out }

// smokeEndToEnd is the start of an end-to-end test: the real camload
// binary and scenarios/smoke.yaml. It skips with -short or when the build
// has no `camload serve`.
func smokeEndToEnd(t *testing.T) (bin string, sc *scenarios.Scenario) {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end run of scenarios/smoke.yaml")
	}
	bin = camloadBinary(t)
	if out, err := exec.Command(bin, "serve", "--help").CombinedOutput(); err != nil {
		t.Skipf("this build has no `camload serve` yet: %v: %s", err, bytes.TrimSpace(out))
	}
	sc, err := scenarios.Load("../scenarios/smoke.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return bin, sc
}

// TestSmokeEndToEnd runs scenarios/smoke.yaml against the real `camload
// serve`: 2 modes × 2 fleet sizes, every part of a run.
func TestSmokeEndToEnd(t *testing.T) {
	bin, sc := smokeEndToEnd(t)
	dir := t.TempDir()
	var prog bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	run, err := Run(ctx, sc, Options{OutDir: dir, SystemBinary: bin, Progress: &prog, Version: "e2e"})
	var sum bytes.Buffer
	if run != nil {
		_ = reports.WriteSummary(&sum, run)
	}
	if err != nil {
		t.Fatalf("Run(smoke) = %v\n%s\n%s", err, prog.String(), sum.String())
	}
	t.Logf("summary:\n%s", sum.String())
	if len(run.Cells) != 4 {
		t.Fatalf("cells = %d; want 4", len(run.Cells))
	}
	for _, c := range run.Cells {
		name := cellName(c.Mode, c.Cameras, c.Repeat)
		if c.Status != results.StatusOK {
			t.Errorf("%s: status %s: %s", name, c.Status, c.Error)
			continue
		}
		cy := c.Cycles
		errs := 0
		for _, n := range cy.Errors {
			errs += n
		}
		// At least the cycles asked for; more while the CPU profile runs.
		if cy.Count < sc.System.Cycles || cy.Visits != cy.Count*c.Cameras || cy.Latency.P50 <= 0 || cy.PerCamera.Count == 0 {
			t.Errorf("%s: cycles = %+v; want ≥ %d cycles visiting every camera", name, cy, sc.System.Cycles)
		}
		if cy.Processed+cy.Skipped+errs < cy.Visits {
			t.Errorf("%s: processed %d + skipped %d + errors %d < visits %d", name, cy.Processed, cy.Skipped, errs, cy.Visits)
		}
		if !cy.Reconciled && cy.Mismatch == "" {
			t.Errorf("%s: not reconciled but no mismatch named", name)
		}
		if c.Resources.RSSPeak <= 0 || c.Resources.CPUCorePercent < 0 || len(c.Resources.Series) == 0 {
			t.Errorf("%s: resources = %+v", name, c.Resources)
		}
		if c.Profiles.CPU == "" || c.Profiles.Heap == "" || len(c.Profiles.HeapTop) == 0 {
			t.Errorf("%s: profiles = %+v", name, c.Profiles)
		}
		for _, tg := range sc.Load {
			ep, ok := c.API[tg.Name]
			// A camera whose every fetch failed has no latest observation:
			// 404 is the only acceptable failure.
			if !ok || ep.Requests == 0 || ep.Success < 0.5 || ep.StatusCodes["200"]+ep.StatusCodes["404"] != int(ep.Requests) {
				t.Errorf("%s: api %s = %+v; want ≥ 50%% success and only 200 or 404", name, tg.Name, ep)
				continue
			}
			if _, err := os.Stat(filepath.Join(dir, ep.BinFile)); err != nil {
				t.Errorf("%s: %v", name, err)
			}
		}
		if c.Ideal.CycleTime <= 0 || c.Ideal.Basis == "" {
			t.Errorf("%s: ideal = %+v", name, c.Ideal)
		}
	}
	if _, err := results.Read(filepath.Join(dir, "results.json")); err != nil {
		t.Error(err)
	}
	if !strings.Contains(sum.String(), "batched") {
		t.Errorf("summary lacks the batched cells:\n%s", sum.String())
	}
}

// TestInterruptEndToEnd cancels a run of the real `camload serve` in the
// middle of its cycles: Run returns context.Canceled with partial results
// and the system process is gone.
func TestInterruptEndToEnd(t *testing.T) {
	bin, sc := smokeEndToEnd(t)
	sc.Fleet.Cameras, sc.System.Modes, sc.System.Cycles = []int{10}, []string{"sync"}, 10000
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := startRun(ctx, sc, Options{OutDir: dir, SystemBinary: bin})
	pid := readyPid(t, filepath.Join(dir, "cells", "sync-10-r0", "ready.json"), time.Minute)
	time.Sleep(time.Second) // into the measured cycles
	o := interruptRun(t, cancel, done, time.Minute, pid)
	if o.run == nil || !o.run.Interrupted || len(o.run.Cells) != 1 || o.run.Cells[0].Status != results.StatusInterrupted {
		t.Errorf("partial results = %+v; want one interrupted cell", o.run)
	}
}
