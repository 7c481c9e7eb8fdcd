package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo"
	mongooptions "go.mongodb.org/mongo-driver/mongo/options"

	"github.com/camload/camload/reports"
	"github.com/camload/camload/results"
	"github.com/camload/camload/scenarios"
	"github.com/camload/camload/simulator"
	"github.com/camload/camload/system/backends"
	"github.com/camload/camload/system/server"
)

// fakeScenario is a tiny scenario for the fake system: 10 % 5xx faults
// only, so every system error is reconcilable.
func fakeScenario(t *testing.T) *scenarios.Scenario {
	sc := scenarios.Default.Clone()
	sc.Name, sc.File = "fake", "fake.yaml"
	sc.CellBudget = 45 * time.Second
	sc.Fleet.Cameras = []int{4, 6}
	sc.Fleet.Hosts = 2
	sc.Fleet.Width, sc.Fleet.Height = 480, 270
	sc.Fleet.Frames = 4
	sc.Fleet.Latency.Dist, sc.Fleet.Latency.Median = "constant", time.Millisecond
	sc.Fleet.Faults = simulator.FaultConfig{OfflinePeriod: time.Minute, HangFor: time.Second, SlowDripRate: 1 << 10, OversizedBytes: 1 << 20}
	sc.Fleet.Faults.HTTP5xx = 0.1
	sc.System.Modes = []string{"sync", "pooled"}
	sc.System.Cycles, sc.System.Warmup = 2, 1
	sc.System.ReadyTimeout = 20 * time.Second
	sc.Load = []scenarios.Target{func() scenarios.Target {
		tg := scenarios.DefaultTarget
		tg.Name, tg.Path, tg.Rate, tg.Duration = "latest", "/api/v1/cameras/{{id}}/latest", 40, 500*time.Millisecond
		return tg
	}()}
	sc.Profiles = scenarios.Profiles{CPU: true, Heap: true, Seconds: 1}
	sc.Thresholds = map[string]string{"cycle_p99": "< 10s"}
	if err := sc.Validate(); err != nil {
		t.Fatal(err)
	}
	return sc
}

func selfBinary(t *testing.T) string {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return exe
}

func TestRunFakeSystem(t *testing.T) {
	if testing.Short() {
		t.Skip("starts embedded backends and child processes")
	}
	sc := fakeScenario(t)
	dir := t.TempDir()
	var prog bytes.Buffer
	run, err := Run(context.Background(), sc, Options{OutDir: dir, SystemBinary: selfBinary(t), Progress: &prog, Version: "test"})
	if err != nil {
		b, _ := os.ReadFile(filepath.Join(dir, "results.json"))
		t.Fatalf("Run = %v\nprogress:\n%s\n%.3000s", err, prog.String(), b)
	}
	if len(run.Cells) != 4 {
		t.Fatalf("cells = %d; want 4 (2 sizes × 2 modes)", len(run.Cells))
	}
	for _, c := range run.Cells {
		name := cellName(c.Mode, c.Cameras, c.Repeat)
		if c.Status != results.StatusOK {
			t.Errorf("%s: status %s (%s)", name, c.Status, c.Error)
			continue
		}
		// At least the 2 cycles asked for, more while the 1 s CPU profile
		// runs (these cycles take milliseconds).
		if n := c.Cycles.Count; n < 2 || c.Cycles.Visits != n*c.Cameras || c.Cycles.Latency.P50 <= 0 || c.Cycles.PerCamera.Count != int64(n*c.Cameras) || len(c.Cycles.Durations) != n {
			t.Errorf("%s: cycles = %+v; want ≥ 2 cycles visiting every camera", name, c.Cycles)
		}
		if c.Faults["http_5xx"] != c.Cycles.Errors["http_5xx"] || !c.Cycles.Reconciled {
			t.Errorf("%s: faults %v vs errors %v, reconciled %t (%s)", name, c.Faults, c.Cycles.Errors, c.Cycles.Reconciled, c.Cycles.Mismatch)
		}
		if c.Resources.RSSPeak <= 0 || len(c.Resources.Series) == 0 || c.Resources.GoroutinesPeak <= 0 {
			t.Errorf("%s: resources = %+v; want sampled RSS and goroutines", name, c.Resources)
		}
		ep, ok := c.API["latest"]
		if !ok || ep.Requests == 0 || ep.Success != 1 || ep.BinFile == "" {
			t.Errorf("%s: api = %+v; want the latest endpoint attacked successfully", name, c.API)
		} else if st, err := os.Stat(filepath.Join(dir, ep.BinFile)); err != nil || st.Size() == 0 {
			t.Errorf("%s: bin file %s: %v", name, ep.BinFile, err)
		}
		for _, p := range []string{c.Profiles.CPU, c.Profiles.Heap} {
			if p == "" {
				t.Errorf("%s: profiles = %+v; want cpu and heap", name, c.Profiles)
			} else if _, err := os.Stat(filepath.Join(dir, p)); err != nil {
				t.Errorf("%s: profile: %v", name, err)
			}
		}
		checkWindows(t, name, c)
		if c.Database != "" {
			t.Errorf("%s: database %s kept; want it dropped after the cell", name, c.Database)
		}
		if c.FreshnessServed == nil || c.FreshnessServed.Reads == 0 {
			t.Errorf("%s: freshness_served = %+v; want latest reads sampled during the cycles", name, c.FreshnessServed)
		}
		if c.Seed != uint64(RepSeed(sc.Seed, c.Repeat)) {
			t.Errorf("%s: seed %d; want the repetition's %d", name, c.Seed, RepSeed(sc.Seed, c.Repeat))
		}
		if q := c.Cycles.PerCamera; q.P50CI == nil || q.MeanCI == nil || q.P50CI[0] > q.P50 || q.P50CI[1] < q.P50 {
			t.Errorf("%s: per-camera p50 %s with CI %v, mean CI %v; want intervals around it", name, q.P50, q.P50CI, q.MeanCI)
		}
		if len(c.Profiles.HeapTop) == 0 {
			t.Errorf("%s: no heap top functions", name)
		}
		if c.Ideal.CycleTime <= 0 || c.Ideal.Efficiency <= 0 {
			t.Errorf("%s: ideal = %+v", name, c.Ideal)
		}
	}
	back, err := results.Read(filepath.Join(dir, "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	if back.Interrupted || len(back.Cells) != 4 || back.Env.Cores == 0 || back.Env.Backends.Mongo == "" || back.Thresholds["cycle_p99"] != "< 10s" {
		t.Errorf("results.json: interrupted=%t cells=%d env=%+v thresholds=%v", back.Interrupted, len(back.Cells), back.Env, back.Thresholds)
	}
	var sum bytes.Buffer
	if err := reports.WriteSummary(&sum, run); err != nil || !strings.Contains(sum.String(), "pooled") || !strings.Contains(sum.String(), "latest") {
		t.Errorf("Summary = %q, %v", sum.String(), err)
	}
	if !strings.Contains(prog.String(), "cycle 2/2") {
		t.Errorf("progress lacks cycle lines:\n%s", prog.String())
	}
}

// readyPid waits for a cell's ready file and returns the system's pid.
func readyPid(t *testing.T, path string, within time.Duration) int {
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		if b, err := os.ReadFile(path); err == nil {
			var ri server.ReadyInfo
			if json.Unmarshal(b, &ri) == nil && ri.PID > 0 {
				return ri.PID
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("no ready file %s within %s", path, within)
	return 0
}

// runOut is what Run returned.
type runOut struct {
	run *results.Run
	err error
}

// startRun runs Run in a goroutine (owner: the test, which ends it with
// ctx) and returns the channel of its result.
func startRun(ctx context.Context, sc *scenarios.Scenario, opts Options) <-chan runOut {
	done := make(chan runOut, 1)
	go func() {
		r, err := Run(ctx, sc, opts)
		done <- runOut{r, err}
	}()
	return done
}

// interruptRun cancels a run of startRun, waits for it for at most within
// and checks that Run returned context.Canceled and that the system (pid)
// is gone.
func interruptRun(t *testing.T, cancel context.CancelFunc, done <-chan runOut, within time.Duration, pid int) runOut {
	t.Helper()
	cancel()
	var o runOut
	select {
	case o = <-done:
	case <-time.After(within):
		t.Fatalf("Run did not return within %s of cancel", within)
	}
	if !errors.Is(o.err, context.Canceled) {
		t.Errorf("Run after cancel = %v; want context.Canceled", o.err)
	}
	if alive(pid) {
		t.Errorf("system pid %d still alive after Run returned", pid)
	}
	return o
}

func TestRunInterruptKillsChild(t *testing.T) {
	if testing.Short() {
		t.Skip("starts embedded backends and child processes")
	}
	sc := fakeScenario(t)
	sc.Fleet.Cameras, sc.System.Modes = []int{4}, []string{"sync"}
	sc.System.AnalyzeCost = time.Minute // the fake sleeps this long per cycle
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := startRun(ctx, sc, Options{OutDir: dir, SystemBinary: selfBinary(t)})
	pid := readyPid(t, filepath.Join(dir, "cells", "sync-4-r0", "ready.json"), 30*time.Second)
	if !alive(pid) {
		t.Fatalf("system pid %d not alive after ready", pid)
	}
	time.Sleep(300 * time.Millisecond)
	interruptRun(t, cancel, done, 30*time.Second, pid)
	back, err := results.Read(filepath.Join(dir, "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !back.Interrupted || len(back.Cells) != 1 || back.Cells[0].Status != results.StatusInterrupted {
		t.Errorf("partial results: interrupted=%t cells=%+v", back.Interrupted, back.Cells)
	}
}

func TestRunOverBudget(t *testing.T) {
	if testing.Short() {
		t.Skip("starts embedded backends and child processes")
	}
	sc := fakeScenario(t)
	sc.Fleet.Cameras, sc.System.Modes = []int{4}, []string{"sync"}
	sc.System.AnalyzeCost = time.Minute
	sc.CellBudget = 4 * time.Second
	dir := t.TempDir()
	run, err := Run(context.Background(), sc, Options{OutDir: dir, SystemBinary: selfBinary(t)})
	if err != nil {
		t.Fatalf("Run = %v; an over-budget cell is not a failed run", err)
	}
	if c := run.Cells[0]; c.Status != results.StatusOverBudget || c.Cycles.Count != 0 {
		t.Errorf("cell = %s (%s), %d cycles; want over_budget with no cycles extrapolated", c.Status, c.Error, c.Cycles.Count)
	}
}

func TestRunRefusesRemoteBackends(t *testing.T) {
	t.Parallel()
	sc := fakeScenario(t)
	sc.Backends.Mongo = "mongodb://db.example.com:27017"
	_, err := Run(context.Background(), sc, Options{OutDir: t.TempDir(), SystemBinary: selfBinary(t)})
	if !errors.Is(err, ErrRemote) {
		t.Errorf("Run with a remote mongo = %v; want ErrRemote", err)
	}
}

func TestCheckLoopback(t *testing.T) {
	t.Parallel()
	tests := []struct {
		url string
		ok  bool
	}{
		{"http://127.0.0.1:8080/x", true},           // IPv4 loopback
		{"http://127.9.9.9", true},                  // all of 127/8
		{"http://[::1]:80", true},                   // IPv6 loopback
		{"redis://localhost:6379/0", true},          // localhost
		{"mongodb://127.0.0.1:1,127.0.0.2:2", true}, // several hosts
		{"http://10.0.0.1", false},                  // private but remote
		{"mongodb://127.0.0.1:1,example.com:2", false},
		{"http://example.com", false},
		{"unix:///tmp/redis.sock", true},
	}
	for _, tc := range tests {
		if err := checkLoopback(tc.url); (err == nil) != tc.ok {
			t.Errorf("checkLoopback(%q) = %v; want ok=%t", tc.url, err, tc.ok)
		}
	}
}

// checkWindows asserts that a cell's phases were measured apart: a cycles
// window holding the CPU profile's span, an API window after it, each with
// its own CPU readings and resident set.
func checkWindows(t *testing.T, name string, c results.Cell) {
	t.Helper()
	cw, aw := c.Windows.Cycles, c.Windows.API
	if cw == nil || aw == nil {
		t.Errorf("%s: windows = %+v; want cycles and api", name, c.Windows)
		return
	}
	if !cw.Start.Before(cw.End) || aw.Start.Before(cw.End) || !aw.Start.Before(aw.End) {
		t.Errorf("%s: cycles window %s…%s, api window %s…%s; want two ordered, disjoint windows", name, cw.Start, cw.End, aw.Start, aw.End)
	}
	if p := c.Profiles.CPUWindow; p == nil || p.Start.Before(cw.Start) || p.End.After(cw.End) {
		t.Errorf("%s: cpu profile window %+v; want inside the cycles window %s…%s", name, p, cw.Start, cw.End)
	}
	for wn, w := range map[string]*results.Window{"cycles": cw, "api": aw} {
		// /proc counts CPU in 10 ms ticks: the fake system's short api
		// window may honestly read 0 s on an idle machine; the cycles
		// window (seconds of work) must not.
		idle := w.CPUSecondsSystem < 0 || w.CPUSecondsRunner < 0
		if wn == "cycles" {
			idle = w.CPUSecondsSystem <= 0 || w.CPUSecondsRunner <= 0
		}
		if idle || w.CPUMachinePercent <= 0 || w.CPUMachinePercent > 100 {
			t.Errorf("%s: %s window CPU system %gs runner %gs machine %g%%; want each measured", name, wn, w.CPUSecondsSystem, w.CPUSecondsRunner, w.CPUMachinePercent)
		}
		if w.RSSPeak <= 0 || w.RSSMean <= 0 || w.RSSMean > w.RSSPeak || w.Samples < 2 {
			t.Errorf("%s: %s window RSS peak %d mean %d from %d samples", name, wn, w.RSSPeak, w.RSSMean, w.Samples)
		}
	}
	if c.Resources.RSSPeak != cw.RSSPeak {
		t.Errorf("%s: resources.rss_peak %d; want the cycles window's %d", name, c.Resources.RSSPeak, cw.RSSPeak)
	}
}

func TestCellOrderInterleaved(t *testing.T) {
	sc := scenarios.Default.Clone()
	sc.Repeat, sc.Fleet.Cameras, sc.System.Modes = 2, []int{10, 100}, []string{"sync", "batched"}
	var got []string
	for _, k := range cellOrder(sc) {
		got = append(got, cellName(k.mode, k.cameras, k.rep))
	}
	want := "sync-10-r0 batched-10-r0 sync-100-r0 batched-100-r0 sync-10-r1 batched-10-r1 sync-100-r1 batched-100-r1"
	if strings.Join(got, " ") != want {
		t.Errorf("cellOrder = %v; want %s", got, want)
	}
	// The dashboard's plan lists the same cells, in the same order, with
	// the indexes Run gives them.
	var plan []string
	for i, c := range planCells(sc) {
		if c.Index != i+1 {
			t.Errorf("plan cell %d has index %d; want %d", i, c.Index, i+1)
		}
		plan = append(plan, cellName(c.Mode, c.Cameras, c.Repeat))
	}
	if strings.Join(plan, " ") != want {
		t.Errorf("planCells = %v; want %s", plan, want)
	}
}

func TestRepSeed(t *testing.T) {
	if RepSeed(7, 0) != 7 {
		t.Errorf("RepSeed(7, 0) = %d; want the scenario's seed", RepSeed(7, 0))
	}
	seen := map[int64]int{7: 0}
	for rep := 1; rep < 50; rep++ {
		s := RepSeed(7, rep)
		if prev, dup := seen[s]; dup || s < 0 {
			t.Fatalf("RepSeed(7, %d) = %d: negative or the same as repetition %d", rep, s, prev)
		}
		seen[s] = rep
		if RepSeed(7, rep) != s {
			t.Fatalf("RepSeed(7, %d) is not deterministic", rep)
		}
	}
	if RepSeed(8, 1) == RepSeed(7, 1) {
		t.Error("RepSeed ignores the scenario's seed")
	}
}

// TestDropDB: a cell's database is gone after dropDB (embedded FerretDB).
func TestDropDB(t *testing.T) {
	if testing.Short() {
		t.Skip("starts embedded backends")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	be, err := backends.Start(ctx, backends.Options{Mongo: "embedded", Redis: "embedded"})
	if err != nil {
		t.Fatal(err)
	}
	defer be.Close()
	db := dbName("drop", "sync-1-r0", time.Now())
	if err := prepareDB(ctx, be, db); err != nil {
		t.Fatal(err)
	}
	names := func() []string {
		cl, err := mongo.Connect(ctx, mongooptions.Client().ApplyURI(be.MongoURI()))
		if err != nil {
			t.Fatal(err)
		}
		defer cl.Disconnect(ctx)
		n, err := cl.ListDatabaseNames(ctx, bson.D{})
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	if !slices.Contains(names(), db) {
		t.Fatalf("databases %v lack the prepared %s", names(), db)
	}
	if err := dropDB(ctx, be, db); err != nil {
		t.Fatal(err)
	}
	if n := names(); slices.Contains(n, db) {
		t.Errorf("databases %v still hold %s after dropDB", n, db)
	}
}
