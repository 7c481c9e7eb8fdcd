package bench

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/camload/camload/results"
	"github.com/camload/camload/scenarios"
)

var (
	fakeExtOnce sync.Once
	fakeExtBin  string
	fakeExtErr  error
)

// fakeExternal builds bench/testdata/fakeext (a fake external system)
// once into tmp/fakeext at the module root.
func fakeExternal(t *testing.T) string {
	t.Helper()
	fakeExtOnce.Do(func() {
		root, err := filepath.Abs("..")
		if err != nil {
			fakeExtErr = err
			return
		}
		fakeExtBin = filepath.Join(root, "tmp", "fakeext")
		cmd := exec.Command("go", "build", "-o", fakeExtBin, "./bench/testdata/fakeext")
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			fakeExtErr = &buildError{err, string(out)}
		}
	})
	if fakeExtErr != nil {
		t.Fatalf("building the fake external system: %v", fakeExtErr)
	}
	return fakeExtBin
}

const extCameras = 20

// extScenario is a small fleet whose only mode runs ext.
func extScenario(t *testing.T, ext scenarios.External) *scenarios.Scenario {
	t.Helper()
	sc := scenarios.Default.Clone()
	sc.Name = "ext"
	sc.Fleet.Cameras = []int{extCameras}
	sc.Fleet.Latency.Dist, sc.Fleet.Latency.Median = "constant", 2*time.Millisecond
	sc.Fleet.Width, sc.Fleet.Height, sc.Fleet.Frames = 480, 270, 4 // a fleet that renders fast, even under -race
	sc.Fleet.Faults = scenarios.Default.Fleet.Faults
	sc.Fleet.Faults.HTTP5xx, sc.Fleet.Faults.Hang, sc.Fleet.Faults.SlowDrip, sc.Fleet.Faults.Offline = 0.2, 0, 0, 0
	sc.Fleet.Faults.Reset, sc.Fleet.Faults.Oversized, sc.Fleet.Faults.Truncated, sc.Fleet.Faults.Garbage, sc.Fleet.Faults.Placeholder = 0, 0, 0, 0, 0
	sc.System.Modes = []string{scenarios.ExternalMode}
	sc.System.External = ext
	sc.System.Cycles, sc.System.Warmup = 2, 1
	sc.System.ReadyTimeout, sc.System.CycleTimeout = 10*time.Second, 10*time.Second
	sc.CellBudget = time.Minute
	if err := sc.Validate(); err != nil {
		t.Fatal(err)
	}
	return sc
}

// runExtCell runs sc's one external cell.
func runExtCell(ctx context.Context, t *testing.T, sc *scenarios.Scenario, opts Options) results.Cell {
	t.Helper()
	if opts.OutDir == "" {
		opts.OutDir = t.TempDir()
	}
	opts.Logf = t.Logf
	cr := &cellRun{sc: sc, opts: opts, mode: sc.System.Modes[0], cameras: sc.Fleet.Cameras[0], index: 1, prog: newProgress(Options{}, sc)}
	if !sc.IsExternal(cr.mode) {
		t.Fatalf("mode %s is not external", cr.mode)
	}
	return cr.run(ctx)
}

// A system that polls on its own, configured by the environment only and
// ready at its first fetch: sweeps, revisits, errors and its process tree
// are measured from the fleet and /proc, and load targets hit its API.
func TestExternalSweeps(t *testing.T) {
	t.Parallel()
	bin := fakeExternal(t)
	sc := extScenario(t, scenarios.External{Command: []string{bin, "-burn", "2ms"}, Env: map[string]string{"unused": "1"}})
	sc.Load = []scenarios.Target{scenarios.DefaultTarget}
	sc.Load[0].Name, sc.Load[0].Path, sc.Load[0].Rate, sc.Load[0].Duration = "latest", "/api/v1/cameras/{{id}}/latest", 40, 500*time.Millisecond
	dir := t.TempDir()
	c := runExtCell(context.Background(), t, sc, Options{OutDir: dir})
	if c.Status != results.StatusOK {
		t.Fatalf("status %s: %s", c.Status, c.Error)
	}
	x := c.External
	if x == nil {
		t.Fatal("no external section")
	}
	fs := x.Fleet
	if x.ReadyBy != "first_fetch" || x.CyclesBy != "sweeps" || x.NoProfiles == "" || c.Profiles.CPU != "" {
		t.Errorf("external = %+v; want ready at the first fetch, window of sweeps, no profiles", x)
	}
	if fs.Sweeps < sc.System.Cycles || fs.SweepTime.N != fs.Sweeps || fs.SweepTime.P50 <= 0 || fs.Cameras != extCameras {
		t.Errorf("fleet side = %+v; want ≥ %d sweeps over %d cameras with their times", fs, sc.System.Cycles, extCameras)
	}
	// The fake fetches each camera once per sweep and never retries.
	if fs.RequestsPerCamera != 1 || fs.MaxPerCamera != 1 || fs.Revisit.N != fs.Visits-extCameras || fs.Unvisited != 0 {
		t.Errorf("fleet side = %+v; want one request per camera per sweep and a revisit per camera", fs)
	}
	if fs.ErrorsTotal == 0 || fs.Errors["http_5xx"] != fs.ErrorsTotal || c.Cycles.Errors["http_5xx"] != fs.ErrorsTotal {
		t.Errorf("errors: fleet %+v, cycles %+v; want the injected http_5xx counted", fs.Errors, c.Cycles.Errors)
	}
	if want := float64(fs.ErrorsTotal) / float64(fs.Requests); c.Cycles.ErrorRate != want || c.Cycles.Visits != fs.Requests {
		t.Errorf("error rate %g over %d visits; want %g over %d", c.Cycles.ErrorRate, c.Cycles.Visits, want, fs.Requests)
	}
	if c.Cycles.Count != fs.Sweeps || c.Cycles.Latency.P50 <= 0 || len(c.Cycles.Durations) != fs.Sweeps {
		t.Errorf("cycles = %+v; want one per sweep", c.Cycles)
	}
	if c.Cycles.Connections == nil || *c.Cycles.Connections < 1 {
		t.Errorf("connections = %v; want the fake's new connections", c.Cycles.Connections)
	}
	if len(x.Windows) != 2 || x.Windows[0].Name != "cycles" || x.Windows[1].Name != "load" {
		t.Fatalf("proc windows = %+v; want cycles and load", x.Windows)
	}
	cw := x.Windows[0]
	if cw.RSSPeak < 1<<20 || cw.CPUSeconds <= 0 || cw.Samples < 2 || cw.ProcsPeak < 1 || cw.Duration.D() <= 0 || cw.Duration.D() > fs.Window.D() {
		t.Errorf("cycles window = %+v (fleet window %s); want the fake's RSS and CPU over the same window", cw, fs.Window)
	}
	if c.Resources.RSSPeak < cw.RSSPeak || c.Resources.CPUCorePercent <= 0 || len(c.Resources.Series) == 0 {
		t.Errorf("resources = %+v", c.Resources)
	}
	ep, ok := c.API["latest"]
	if !ok || ep.Requests == 0 || ep.Success < 0.5 {
		t.Errorf("api latest = %+v; want the fake's API answering", ep)
	}
	if x.Exited || x.Pid == 0 || x.ExitStatus == "" || !strings.Contains(strings.Join(x.Command, " "), "fakeext") {
		t.Errorf("external = %+v", x)
	}
	if alive(x.Pid) {
		t.Errorf("the external system (pid %d) outlived its cell", x.Pid)
	}
	if b, err := os.ReadFile(filepath.Join(dir, x.Log)); err != nil || !strings.Contains(string(b), "fakeext: 20 cameras") {
		t.Errorf("system log %s: %v: %s", x.Log, err, b)
	}
	// Thresholds judge the cell like camload's own.
	for _, m := range []string{"cycle_p50", "error_rate", "rss_peak", "cpu_core", "api.latest.p99"} {
		if _, _, ok := results.Metric(c, m); !ok {
			t.Errorf("metric %s missing from the external cell", m)
		}
	}
}

// With cycle_url the runner triggers and times cycles; placeholders reach
// the command; readiness comes from ready_url.
func TestExternalCycleURL(t *testing.T) {
	t.Parallel()
	bin := fakeExternal(t)
	sc := extScenario(t, scenarios.External{
		Command:  []string{bin, "-triggered", "-listen", "{{api_addr}}", "-fleet", "{{fleet_url}}"},
		ReadyURL: "http://{{api_addr}}/healthz",
		CycleURL: "http://{{api_addr}}/cycle",
	})
	c := runExtCell(context.Background(), t, sc, Options{})
	if c.Status != results.StatusOK {
		t.Fatalf("status %s: %s", c.Status, c.Error)
	}
	x := c.External
	if x.ReadyBy != "ready_url" || x.CyclesBy != "cycle_url" || !strings.HasPrefix(x.Command[3], "127.0.0.1:") || !strings.HasPrefix(x.Command[5], "http://127.0.0.1:") {
		t.Errorf("external = %+v; want ready_url, cycle_url and substituted placeholders", x)
	}
	if c.Cycles.Count != sc.System.Cycles || c.Cycles.Latency.Count != int64(sc.System.Cycles) {
		t.Errorf("cycles = %+v; want %d timed cycles", c.Cycles, sc.System.Cycles)
	}
	// Each POST runs exactly one sweep, the warm-up's outside the window.
	if fs := x.Fleet; fs.Sweeps != sc.System.Cycles || fs.Requests != sc.System.Cycles*extCameras || fs.PartialCovered != 0 {
		t.Errorf("fleet side = %+v; want exactly %d sweeps of %d cameras", fs, sc.System.Cycles, extCameras)
	}
	if len(x.Windows) != 1 {
		t.Errorf("proc windows = %+v; want only cycles (no load)", x.Windows)
	}
}

// A system that never fetches fails its cell with a clear reason within
// the scenario's bounds, whether it is ready at its first fetch or by a
// ready_url.
func TestExternalNeverFetches(t *testing.T) {
	t.Parallel()
	bin := fakeExternal(t)
	for _, tc := range []struct {
		name string
		ext  scenarios.External
		want string
	}{
		{"no ready_url", scenarios.External{Command: []string{bin, "-never-fetch"}}, "fetched no camera within system.ready_timeout (1s)"},
		{"ready_url", scenarios.External{Command: []string{bin, "-never-fetch"}, ReadyURL: "http://{{api_addr}}/healthz"},
			"warm-up sweep 1 of 1 did not complete within system.cycle_timeout (1s): the external system fetched no camera"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			sc := extScenario(t, tc.ext)
			sc.System.ReadyTimeout, sc.System.CycleTimeout = time.Second, time.Second
			t0 := time.Now()
			c := runExtCell(context.Background(), t, sc, Options{})
			if c.Status != results.StatusFailed || !strings.Contains(c.Error, tc.want) {
				t.Errorf("status %s: %q; want failed with %q", c.Status, c.Error, tc.want)
			}
			if d := time.Since(t0); d > 30*time.Second {
				t.Errorf("the cell took %s; want it bounded by the timeouts", d)
			}
			if c.External == nil || alive(c.External.Pid) {
				t.Errorf("external = %+v: still alive", c.External)
			}
		})
	}
}

// A system that exits early fails its cell with its exit status and the
// tail of its output.
func TestExternalExitsEarly(t *testing.T) {
	t.Parallel()
	bin := fakeExternal(t)
	// linger: the process closes its API first and exits that much later
	// (a slow death), so the cycle's POST fails before the exit is reaped;
	// the exit is still named as the cause.
	for _, linger := range []string{"0s", "500ms"} {
		t.Run("linger="+linger, func(t *testing.T) {
			t.Parallel()
			sc := extScenario(t, scenarios.External{Command: []string{bin, "-triggered", "-exit-after", "300ms", "-exit-linger", linger, "-exit-code", "3"},
				CycleURL: "http://{{api_addr}}/cycle", ReadyURL: "http://{{api_addr}}/healthz"})
			sc.System.Cycles = 100000
			c := runExtCell(context.Background(), t, sc, Options{})
			x := c.External
			if c.Status != results.StatusFailed || x == nil || !x.Exited || x.ExitStatus != "exit status 3" {
				t.Fatalf("status %s %q, external %+v; want failed, exited early with status 3", c.Status, c.Error, x)
			}
			if !strings.Contains(c.Error, "exited early (exit status 3)") || !strings.Contains(c.Error, "giving up on purpose") {
				t.Errorf("error %q; want the exit status and the output's tail", c.Error)
			}
			if n := strings.Count(x.OutputTail, "\n") + 1; n != extTailLines || !strings.HasSuffix(x.OutputTail, "giving up on purpose (exit 3)") {
				t.Errorf("output tail (%d lines):\n%s", n, x.OutputTail)
			}
		})
	}
}

// Stopping kills the whole process group, SIGKILL after the grace period
// for a system that ignores SIGTERM; a cancelled run is interrupted.
func TestExternalStopKillsGroup(t *testing.T) {
	t.Parallel()
	bin := fakeExternal(t)
	pidFile := filepath.Join(t.TempDir(), "child.pid")
	sc := extScenario(t, scenarios.External{Command: []string{bin, "-ignore-term", "-spawn", pidFile}, StopGrace: 200 * time.Millisecond})
	sc.System.Cycles = 100000
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { // owner: the test; ends when the child's pid is read or ctx ends
		for ctx.Err() == nil {
			if _, err := os.Stat(pidFile); err == nil {
				time.Sleep(500 * time.Millisecond) // into the measured sweeps
				cancel()
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
	}()
	c := runExtCell(ctx, t, sc, Options{})
	if c.Status != results.StatusInterrupted {
		t.Errorf("status %s %q; want interrupted", c.Status, c.Error)
	}
	b, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	child, _ := strconv.Atoi(string(b))
	for _, pid := range []int{c.External.Pid, child} {
		deadline := time.Now().Add(5 * time.Second)
		for alive(pid) && time.Now().Before(deadline) { // a killed orphan is reaped by init
			time.Sleep(20 * time.Millisecond)
		}
		if alive(pid) {
			t.Errorf("pid %d of the external system's group still alive", pid)
		}
	}
	if c.External.ExitStatus != "signal: killed" {
		t.Errorf("exit status %q; want signal: killed (SIGTERM ignored)", c.External.ExitStatus)
	}
}

// Non-loopback addresses need AllowRemote; nothing is started.
func TestExternalRemoteRefused(t *testing.T) {
	t.Parallel()
	sc := extScenario(t, scenarios.External{Command: []string{"/nonexistent"}, APIAddr: "10.1.2.3:8080"})
	c := runExtCell(context.Background(), t, sc, Options{})
	if c.Status != results.StatusFailed || !strings.Contains(c.Error, "--allow-remote") || !strings.Contains(c.Error, "api_addr") {
		t.Errorf("status %s %q; want failed naming api_addr and --allow-remote", c.Status, c.Error)
	}
	sc = extScenario(t, scenarios.External{Command: []string{"/nonexistent/program"}})
	c = runExtCell(context.Background(), t, sc, Options{})
	if c.Status != results.StatusFailed || !strings.Contains(c.Error, "/nonexistent/program") {
		t.Errorf("status %s %q; want failed naming the missing program", c.Status, c.Error)
	}
}

// The shipped scenarios/external-example.yaml, small: the Python example
// poller and camload's batched mode in one run.
func TestExternalExampleScenario(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end run of scenarios/external-example.yaml")
	}
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("python3 is not installed: the Python example poller cannot run (the Go fake covers the contract)")
	}
	bin := camloadBinary(t)
	sc, err := scenarios.Load("../scenarios/external-example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	sc.Fleet.Cameras, sc.System.Cycles = []int{20}, 2
	for i := range sc.Load {
		sc.Load[i].Duration = 500 * time.Millisecond
	}
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	run, err := Run(ctx, sc, Options{OutDir: dir, SystemBinary: bin, Version: "e2e"})
	if err != nil && !errors.Is(err, ErrCellsFailed) {
		t.Fatal(err)
	}
	if run == nil || len(run.Cells) != 2 {
		t.Fatalf("run = %+v; want 2 cells", run)
	}
	for _, c := range run.Cells {
		if c.Status != results.StatusOK {
			t.Errorf("%s: %s: %s", c.Mode, c.Status, c.Error)
			continue
		}
		if _, ok := c.API["latest"]; !ok || c.Cycles.Count < 2 || c.Resources.RSSPeak <= 0 {
			t.Errorf("%s: cycles %+v, resources %+v, api %+v", c.Mode, c.Cycles, c.Resources, c.API)
		}
		switch c.Mode {
		case "python":
			x := c.External
			if x == nil || x.Fleet.Sweeps < 2 || x.Fleet.Revisit.N == 0 || x.ReadyBy != "ready_url" || len(x.Windows) != 2 {
				t.Errorf("python: external = %+v", x)
			}
			if ep := c.API["latest"]; ep.Success < 0.5 {
				t.Errorf("python: api latest = %+v; want the poller's API answering", ep)
			}
		case "batched":
			if c.External != nil || c.Profiles.CPU == "" {
				t.Errorf("batched: external %+v, profiles %+v; want camload's own measurement", c.External, c.Profiles)
			}
		}
	}
	if _, err := results.Read(filepath.Join(dir, "results.json")); err != nil {
		t.Error(err)
	}
}

// A cell over its budget is recorded over_budget and its system stopped.
func TestExternalOverBudget(t *testing.T) {
	t.Parallel()
	bin := fakeExternal(t)
	sc := extScenario(t, scenarios.External{Command: []string{bin}})
	sc.System.Cycles, sc.CellBudget = 100000, 8*time.Second
	t0 := time.Now()
	c := runExtCell(context.Background(), t, sc, Options{})
	if c.Status != results.StatusOverBudget || !strings.Contains(c.Error, "budget") {
		t.Errorf("status %s %q; want over_budget", c.Status, c.Error)
	}
	if d := time.Since(t0); d > 30*time.Second {
		t.Errorf("the cell took %s for an 8s budget", d)
	}
	// What was measured before the budget ran out is kept.
	if c.External == nil || c.External.Fleet.Sweeps == 0 || len(c.External.Windows) == 0 || alive(c.External.Pid) {
		t.Errorf("external = %+v; want the sweeps seen so far and the process gone", c.External)
	}
}

// Whatever checkPlaceholders accepts expands to a string without
// placeholders.
func FuzzCheckPlaceholders(f *testing.F) {
	for _, s := range []string{"http://{{api_addr}}/healthz", "{{fleet_url}}", "{{ port }}", "a}}b{{", "{{{{api_addr}}}}", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		sc := scenarios.Default.Clone()
		sc.System.Modes = []string{scenarios.ExternalMode}
		sc.System.External = scenarios.External{Command: []string{"prog", s}}
		if sc.Validate() != nil {
			return
		}
		if got := scenarios.Expand(s, "F", "A"); strings.Contains(got, "{{") || strings.Contains(got, "}}") {
			t.Fatalf("accepted %q expands to %q", s, got)
		}
	})
}

// runnerDeathEnv makes TestExternalRunnerDeathHelper act as a runner that
// starts an external system and is then killed.
const runnerDeathEnv = "CAMLOAD_BENCH_RUNNER_DEATH"

// When the runner dies (SIGKILL: no deferred stop runs), the external
// system's leader gets SIGKILL too (Pdeathsig), even one that neither
// handles signals nor reads its stdin.
func TestExternalRunnerDeath(t *testing.T) {
	t.Parallel()
	bin := fakeExternal(t)
	pidFile := filepath.Join(t.TempDir(), "leader.pid")
	runner := exec.Command(os.Args[0], "-test.run", "^TestExternalRunnerDeathHelper$", "-test.count=1")
	runner.Env = append(os.Environ(), runnerDeathEnv+"=1", "FAKEEXT="+bin, "PIDFILE="+pidFile)
	if err := runner.Start(); err != nil {
		t.Fatal(err)
	}
	defer runner.Process.Kill()
	var leader int
	for deadline := time.Now().Add(30 * time.Second); leader == 0 && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if b, err := os.ReadFile(pidFile); err == nil && len(b) > 0 {
			leader, _ = strconv.Atoi(string(b))
		}
	}
	if leader == 0 || !alive(leader) {
		t.Fatalf("the helper runner started no external system (pid %d)", leader)
	}
	if err := runner.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = runner.Wait()
	deadline := time.Now().Add(10 * time.Second)
	for alive(leader) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if alive(leader) {
		_ = syscall.Kill(-leader, syscall.SIGKILL)
		t.Errorf("the external system (pid %d) outlived its runner", leader)
	}
}

func TestExternalRunnerDeathHelper(t *testing.T) {
	if os.Getenv(runnerDeathEnv) != "1" {
		t.Skip("helper of TestExternalRunnerDeath")
	}
	dir := t.TempDir()
	p, err := startExternal([]string{os.Getenv("FAKEEXT"), "-sleep"}, dir, nil, filepath.Join(dir, "log"), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(os.Getenv("PIDFILE"), []byte(strconv.Itoa(p.Pid)), 0o644); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Minute) // killed by TestExternalRunnerDeath
	p.stop()
}

// Sweeps follow the system's own passes even when it polled before its
// ready_url answered: one request per camera per sweep.
func TestExternalSweepsReadyURL(t *testing.T) {
	t.Parallel()
	bin := fakeExternal(t)
	sc := extScenario(t, scenarios.External{Command: []string{bin}, ReadyURL: "http://{{api_addr}}/healthz"})
	c := runExtCell(context.Background(), t, sc, Options{})
	if c.Status != results.StatusOK {
		t.Fatalf("status %s: %s", c.Status, c.Error)
	}
	if fs := c.External.Fleet; fs.Sweeps < sc.System.Cycles || fs.RequestsPerCamera != 1 || fs.MaxPerCamera != 1 || c.External.ReadyBy != "ready_url" {
		t.Errorf("fleet side = %+v; want ≥ %d sweeps of one request per camera", fs, sc.System.Cycles)
	}
}
