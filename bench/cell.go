package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/camload/camload/results"
	"github.com/camload/camload/scenarios"
	"github.com/camload/camload/simulator"
	"github.com/camload/camload/system"
	"github.com/camload/camload/system/backends"
	"github.com/redis/go-redis/v9"
)

// cellRun is one matrix cell in progress.
type cellRun struct {
	sc       *scenarios.Scenario
	opts     Options
	be       *backends.Backends
	mode     string
	cameras  int
	replicas int // system.replicas entry; 0: one plain system
	rep      int
	seed     int64 // this repetition's (RepSeed)
	index    int
	prog     *progress

	cell  results.Cell
	dir   string // absolute cell folder
	rel   string // cell folder relative to OutDir
	knobs system.Knobs
}

// run runs the cell and returns its results; it never panics out and
// leaves no process or listener behind.
func (c *cellRun) run(ctx context.Context) (cell results.Cell) {
	c.prog.cellStarted(c)
	name := c.name()
	c.rel = filepath.Join("cells", name)
	c.dir = filepath.Join(c.opts.OutDir, c.rel)
	c.cell = results.Cell{Mode: c.mode, Cameras: c.cameras, Hosts: c.sc.Fleet.ConfigFor(c.cameras).Hosts, Repeat: c.rep, Seed: uint64(c.seed), Started: time.Now().UTC(), Status: results.StatusOK}
	start := time.Now()
	cellCtx, cancel := context.WithTimeout(ctx, c.sc.CellBudget)
	defer cancel()
	defer func() {
		if p := recover(); p != nil {
			c.cell.Status, c.cell.Error = results.StatusFailed, fmt.Sprintf("panic: %v", p)
		}
		c.cell.Elapsed = results.Duration(time.Since(start))
		cell = c.cell
	}()
	err := c.measure(cellCtx)
	switch {
	case ctx.Err() != nil:
		c.cell.Status, c.cell.Error = results.StatusInterrupted, "interrupted"
	case errors.Is(err, context.DeadlineExceeded) && cellCtx.Err() != nil:
		c.cell.Status, c.cell.Error = results.StatusOverBudget, fmt.Sprintf("over its %s budget: %v", c.sc.CellBudget, err)
	case errors.As(err, new(*skipError)):
		c.cell.Status, c.cell.Error = results.StatusSkipped, err.Error()
	case err != nil:
		c.cell.Status, c.cell.Error = results.StatusFailed, err.Error()
	}
	if err != nil {
		c.opts.Logf("cell %s: %s: %v", name, c.cell.Status, err)
	}
	return c.cell
}

// measure is the cell's sequence: fleet, system, warm-up, measured cycles
// (sampled and profiled), API load, stop.
func (c *cellRun) measure(ctx context.Context) (err error) {
	if err := os.MkdirAll(c.dir, 0o755); err != nil {
		return err
	}
	if ext, ok := c.sc.ExternalFor(c.mode); ok { // a system of the user's own: external.go
		return c.measureExternal(ctx, ext)
	}
	knobs, err := c.sc.KnobsFor(c.mode)
	if err != nil {
		return err
	}
	c.knobs = knobs
	c.cell.Knobs = scenarios.KnobMap(knobs)
	if c.replicas > 0 { // a group of replicas: replicas.go
		return c.measureReplicas(ctx)
	}

	// a) the fleet, in process, on free loopback ports.
	fleet, cfg, err := c.startFleet(ctx, c.seed)
	if err != nil {
		return err
	}
	defer closeFleet(fleet, &err)

	// b) the system, a child process in its own group, on a fresh
	// database prepared here.
	if c.sc.Backends.Redis == backends.Embedded {
		// The run's embedded Redis is shared by its cells and miniredis
		// never expires keys on its own: without this, a cell would serve
		// an earlier cell's cached latest states (the same camera ids)
		// wherever its own write has not replaced them yet.
		if err := flushRedis(ctx, c.be.RedisURL()); err != nil {
			return err
		}
	}
	db, drop, err := c.prepareCellDB(ctx)
	if err != nil {
		return err
	}
	defer drop() // registered before the system's stop, so it runs after it
	args := c.serveArgs(fleet.ControlURL(), db, "--redis-url", c.be.RedisURL())
	c.prog.step(c, "starting system")
	sys, err := startChildEnv(ctx, c.opts.SystemBinary, args, gomaxprocsEnv(c.sc), c.dir, filepath.Join(c.dir, "system.log"), c.sc.System.ReadyTimeout, c.opts.StopGrace)
	if err != nil {
		return err
	}
	defer func() {
		if serr := sys.stop(); serr != nil { // how the system ended, with its log's tail
			err = errors.Join(err, serr)
		}
	}()
	ctx = c.prog.watch(ctx, c, fleet, sys)
	client := &http.Client{Timeout: c.sc.System.CycleTimeout}

	// With a cycle deadline (resilient), cameras may still be in flight
	// when a cycle returns: the last warm-up cycle and the last measured
	// one are drained (?drain=1), so that the window holds exactly the
	// outcomes of its own fetches.
	deadline := knobs.CycleDeadline > 0
	var warm time.Duration // the fastest warm-up cycle: the settled pace, never overstated
	err = c.warmUpCycles(func(i int, last bool) error {
		s, err := postCycleDrain(ctx, client, sys.API, deadline && last)
		if err != nil {
			return err
		}
		if warm == 0 || s.Duration < warm {
			warm = s.Duration
		}
		return nil
	})
	if err != nil {
		return err
	}

	// c) The cycles window: its own sampler and CPU readings, the CPU
	// profile inside it, the fleet's fault baseline.
	before, conns := fleet.Faults(), fleet.Connections()
	cycW := startWindow(ctx, sys.Pid, sys.Admin+"/metrics", c.opts.SampleEvery)
	cycStop := func() {
		if cycW != nil {
			w, res := cycW.stop(context.WithoutCancel(ctx))
			c.cell.Windows.Cycles, c.cell.Resources, cycW = &w, res, nil
		}
	}
	defer cycStop()
	cpuDone := c.startCPUProfile(ctx, sys.Admin, warm)
	defer func() { <-cpuDone }()
	ids := make([]string, 0, c.cameras)
	for _, cam := range fleet.Cameras() {
		ids = append(ids, cam.ID)
	}
	dark := func(id string, at time.Time) bool {
		t, ok := fleet.Truth(id, at)
		return ok && t.Placeholder
	}
	fresh := startFreshness(ctx, sys.API, ids, DefaultFreshnessRate, c.seed, dark)
	freshStop := func() {
		if fresh != nil {
			c.cell.FreshnessServed, fresh = fresh.stop(), nil
		}
	}
	defer freshStop()

	cyc := newCycleStats()
	var cycles []cycleWindow
	// The cycles run at least Cycles times and until the CPU profile has
	// ended, so that the profile lies inside the window.
	winStart := time.Now()
	drained := !deadline
	for i := 0; i < c.sc.System.Cycles || !closed(cpuDone) || !drained; i++ {
		if i < c.sc.System.Cycles {
			c.prog.step(c, fmt.Sprintf("cycle %d/%d", i+1, c.sc.System.Cycles))
		} else {
			c.prog.step(c, fmt.Sprintf("cycle %d (until the CPU profile ends)", i+1))
		}
		cpu0, cpuOK := readTree(sys.Pid)
		t0 := time.Now()
		drain := deadline && i+1 >= c.sc.System.Cycles && closed(cpuDone)
		if drain && fresh != nil {
			// The drain waits for stragglers with no cycle running:
			// a measurement device, not how the system serves.
			fresh.pause()
		}
		s, err := postCycleDrain(ctx, client, sys.API, drain)
		if err != nil {
			c.cell.Cycles = cyc.summary()
			return fmt.Errorf("cycle %d: %w", i+1, err)
		}
		drained = !deadline || drain
		cw := cycleWindow{start: t0, end: time.Now(), duration: s.Duration, drained: drain, processed: s.Processed, cpu: -1}
		if cpu1, ok := readTree(sys.Pid); ok && cpuOK {
			cw.cpu = cpu1.CPUSeconds - cpu0.CPUSeconds
		}
		cyc.add(s)
		cycles = append(cycles, cw)
	}
	freshStop()
	cycStop()
	after := fleet.Faults()
	c.cell.Cycles = cyc.summary()
	winLog := fleet.Fetches(winStart, time.Now()).Fetches
	c.cell.Cycles.GaveUp = gaveUp(winLog)
	c.cell.Cycles.FleetLatency = fleetLatency(winLog)
	tm := matchTimeouts(cyc.timeouts, winLog)
	c.cell.Cycles.TimeoutsMidAnswer, c.cell.Cycles.TimeoutsUnmatched = tm.midAnswer(), tm.Unmatched
	churn := int64(fleet.Connections() - conns)
	c.cell.Cycles.Connections = &churn
	c.cell.Faults = faultDelta(before, after)
	drip := slowDrip(frameSizes(fleet), cfg.Faults.SlowDripRate, knobs.FetchTimeout)
	if knobs.AdaptiveDeadline && drip != dripNone {
		// Each camera's deadline is learned (deadline_floor … cap), not
		// the fetch timeout: a drip may or may not outlast it.
		drip = dripEither
	}
	expected := maps.Clone(c.cell.Faults)
	if n := c.cell.Cycles.GaveUp; n > 0 {
		expected[faultGaveUp] = n
	}
	// A fault the deadline cut off is a timeout, not its own kind.
	for k, n := range tm.Cut {
		expected[k] -= n
	}
	if n := c.cell.Cycles.TimeoutsMidAnswer; n > 0 {
		expected[faultMidAnswer] = n
	}
	c.cell.Cycles.Reconciled, c.cell.Cycles.Mismatch = reconcile(c.cell.Cycles.Errors, expected, c.cell.Cycles.Retries, drip)

	// Between the windows: the heap profile (its gzip belongs to neither).
	if c.sc.Profiles.Heap {
		top, err := fetchProfile(ctx, sys.Admin+"/debug/pprof/heap", filepath.Join(c.dir, "heap.pb.gz"), "inuse_space", 30*time.Second, c.opts.TopN)
		if err != nil {
			c.opts.Logf("cell %s: heap profile: %v", c.rel, err)
		} else {
			c.cell.Profiles.Heap, c.cell.Profiles.HeapTop = filepath.Join(c.rel, "heap.pb.gz"), top
		}
	}
	ideal, err := idealCycle(cycles, fleet.Fetches, cfg.Capacity, analyzeWork(fleet.Frames(), knobs), c.cell.Cycles.Latency.P50.D(), runtime.NumCPU())
	c.cell.Ideal = ideal
	bug := err // fails the cell once its API load has run too

	// d) API load, one target after another.
	if len(c.sc.Load) > 0 {
		cams := fleet.Cameras()
		apiW := startWindow(ctx, sys.Pid, sys.Admin+"/metrics", c.opts.SampleEvery)
		defer func() {
			w, _ := apiW.stop(context.WithoutCancel(ctx))
			c.cell.Windows.API = &w
		}()
		c.cell.API = map[string]results.Endpoint{}
		for ti, t := range c.sc.Load {
			c.prog.step(c, "load "+t.Name)
			ep, err := c.attack(ctx, sys.API, t, ti, cams)
			if err != nil {
				return err
			}
			c.cell.API[t.Name] = ep
		}
	}
	return bug
}

// startCPUProfile starts the system's CPU profile at once (the cycles
// window has begun) for Profiles.Seconds or, when 0, for four fifths of
// the expected measured cycles (the fastest warm-up cycle × Cycles, at
// least 1 s: pprof counts whole seconds; the cycles go on until it ends). The returned channel closes when the
// profile has been saved or failed; Profiles.CPUWindow records when it
// was requested and when it was read, a span that holds the profile's.
func (c *cellRun) startCPUProfile(ctx context.Context, admin string, fastestWarm time.Duration) <-chan struct{} {
	done := make(chan struct{})
	if !c.sc.Profiles.CPU {
		close(done)
		return done
	}
	secs := c.sc.Profiles.Seconds
	if secs == 0 {
		secs = int(fastestWarm * time.Duration(c.sc.System.Cycles) * 4 / 5 / time.Second)
		secs = min(max(secs, 1), 60)
	}
	path := filepath.Join(c.dir, "cpu.pb.gz")
	go func() { // owner: measure; it waits on done before returning
		defer close(done)
		start := time.Now()
		top, err := fetchProfile(ctx, fmt.Sprintf("%s/debug/pprof/profile?seconds=%d", admin, secs), path, "cpu", time.Duration(secs)*time.Second+30*time.Second, c.opts.TopN)
		end := time.Now()
		if err != nil {
			c.opts.Logf("cell %s: cpu profile: %v", c.rel, err)
			return
		}
		c.cell.Profiles.CPU, c.cell.Profiles.CPUTop = filepath.Join(c.rel, "cpu.pb.gz"), top
		c.cell.Profiles.CPUWindow = &results.Span{Start: start.UTC(), End: end.UTC()}
	}()
	return done
}

// closed reports whether ch is closed, without blocking.
func closed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// attack runs one load target against the system and, when asked, its
// capacity search.
func (c *cellRun) attack(ctx context.Context, api string, t scenarios.Target, ti int, cams []simulator.Camera) (results.Endpoint, error) {
	spec := AttackSpec{Name: t.Name, Method: t.Method, URLs: targetURLs(api, t, cams, c.seed, ti), Rate: t.Rate,
		Duration: t.Duration, Timeout: t.Timeout, Workers: t.Workers, MaxWorkers: t.MaxWorkers}
	for _, u := range spec.URLs[:1] {
		if err := checkLoopback(u); err != nil && !c.opts.AllowRemote {
			return results.Endpoint{}, err
		}
	}
	bin := filepath.Join(c.rel, "api-"+t.Name+".bin")
	f, err := os.Create(filepath.Join(c.opts.OutDir, bin))
	if err != nil {
		return results.Endpoint{}, err
	}
	r, err := Attack(ctx, spec, NewEncoder(f))
	if cerr := f.Close(); cerr != nil && err == nil {
		err = cerr
	}
	if err != nil {
		return results.Endpoint{}, fmt.Errorf("load %s: %w", t.Name, err)
	}
	ep := r.Endpoint
	ep.Path, ep.BinFile = t.Path, bin
	if t.Capacity != nil {
		c.prog.step(c, "capacity "+t.Name)
		open := func(step int) (io.WriteCloser, string, error) {
			name := filepath.Join(c.rel, fmt.Sprintf("capacity-%s-%02d.bin", t.Name, step))
			f, err := os.Create(filepath.Join(c.opts.OutDir, name))
			return f, name, err
		}
		capy, err := CapacitySearch(ctx, spec, *t.Capacity, CapacityOptions{Logf: c.opts.Logf, Open: open})
		ep.Capacity = capy
		if err != nil {
			return ep, fmt.Errorf("capacity %s: %w", t.Name, err)
		}
	}
	return ep, nil
}

// postCycle runs one processing cycle on the system.
func postCycle(ctx context.Context, client *http.Client, api string) (*system.CycleSummary, error) {
	return postCycleDrain(ctx, client, api, false)
}

// postCycleDrain runs one cycle and, with drain, waits until no camera an
// earlier cycle abandoned is still in flight (POST /api/v1/cycles?drain=1).
func postCycleDrain(ctx context.Context, client *http.Client, api string, drain bool) (*system.CycleSummary, error) {
	u := api + "/api/v1/cycles"
	if drain {
		u += "?drain=1"
	}
	resp, b, err := postRead(ctx, client, u)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("POST /api/v1/cycles: %s: %s", resp.Status, bytes.TrimSpace(b[:min(len(b), 300)]))
	}
	var s system.CycleSummary
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("POST /api/v1/cycles: decoding summary: %w", err)
	}
	traceCycle(ctx, &s)
	return &s, nil
}

// postRead POSTs to u without a body and returns the answer, its body
// read (at most 64 MiB) and closed.
func postRead(ctx context.Context, client *http.Client, u string) (*http.Response, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, nil)
	if err != nil {
		return nil, nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, nil, err
	}
	return resp, b, nil
}

// frameSizes are the sizes of the fleet's rendered frames.
func frameSizes(f *simulator.Fleet) []int {
	fr := f.Frames()
	out := make([]int, len(fr))
	for i, x := range fr {
		out[i] = len(x.JPEG)
	}
	return out
}

// flushRedis empties the database of the embedded Redis at url before a
// cell.
func flushRedis(ctx context.Context, url string) error {
	opt, err := redis.ParseURL(url)
	if err != nil {
		return fmt.Errorf("flushing the embedded Redis: %w", err)
	}
	rc := redis.NewClient(opt)
	defer rc.Close()
	if err := rc.FlushDB(ctx).Err(); err != nil {
		return fmt.Errorf("flushing the embedded Redis: %w", err)
	}
	return nil
}

// startFleet starts the cell's fleet in process on free loopback ports,
// seeded with seed, and returns it with its configuration; the caller
// defers closeFleet.
func (c *cellRun) startFleet(ctx context.Context, seed int64) (*simulator.Fleet, simulator.Config, error) {
	cfg := c.sc.Fleet.ConfigFor(c.cameras)
	cfg.Seed, cfg.Listen = seed, "127.0.0.1:0"
	fleet, err := simulator.New(cfg)
	if err != nil {
		return nil, cfg, fmt.Errorf("fleet: %w", err)
	}
	if err := fleet.Start(ctx); err != nil {
		return nil, cfg, fmt.Errorf("fleet: %w", err)
	}
	return fleet, cfg, nil
}

// closeFleet closes a cell's fleet; its error becomes *err when *err is
// nil.
func closeFleet(fleet *simulator.Fleet, err *error) {
	if cerr := fleet.Close(); cerr != nil && *err == nil {
		*err = fmt.Errorf("fleet: %w", cerr)
	}
}

// prepareCellDB prepares a fresh database for the cell and records it in
// the cell. The caller defers drop before it starts the system, so that
// it runs after the system's stop: unless Options.KeepData, drop drops
// the database and clears the record (a failure is logged and leaves it).
func (c *cellRun) prepareCellDB(ctx context.Context) (db string, drop func(), err error) {
	db = dbName(c.sc.Name, c.name(), time.Now())
	if err := prepareDB(ctx, c.be, db); err != nil {
		return "", nil, err
	}
	c.cell.Database = db
	if c.opts.KeepData {
		return db, func() {}, nil
	}
	return db, func() {
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		if derr := dropDB(dctx, c.be, db); derr != nil {
			c.opts.Logf("cell %s: %v", c.rel, derr)
		} else {
			c.cell.Database = ""
		}
	}, nil
}

// serveArgs is the `camload serve` command line of the cell's system on
// the fleet at fleetURL and database db; redisURL (the --redis-url flag, or
// nothing for a replica, whose flags come later) follows the Mongo URI.
func (c *cellRun) serveArgs(fleetURL, db string, redisURL ...string) []string {
	args := []string{"serve", "--mode", c.mode, "--fleet", fleetURL,
		"--listen", "127.0.0.1:0", "--admin", "127.0.0.1:0",
		"--mongo-uri", c.be.MongoURI()}
	args = append(args, redisURL...)
	args = append(args, "--db", db, "--analyze-cost", c.sc.System.AnalyzeCost.String())
	return append(args, c.sc.KnobFlags(c.knobs)...)
}

// warmUpCycles runs the cell's warm-up: system.warmup cycles and, when
// system.warmup_for is set, more until it has lasted that long (the cycle
// that starts after it is the last). cycle runs cycle i (0-based); last
// says whether it is the warm-up's last.
func (c *cellRun) warmUpCycles(cycle func(i int, last bool) error) error {
	n, dur := c.sc.System.Warmup, c.sc.System.WarmupFor
	if n == 0 && dur <= 0 {
		return nil
	}
	t0 := time.Now()
	for i := 0; ; i++ {
		last := i+1 >= n && time.Since(t0) >= dur
		if dur > 0 {
			c.prog.step(c, fmt.Sprintf("warm-up %d (≥ %d cycles and %s; %s so far)", i+1, n, dur, time.Since(t0).Round(time.Second)))
		} else {
			c.prog.step(c, fmt.Sprintf("warm-up %d/%d", i+1, n))
		}
		if err := cycle(i, last); err != nil {
			return fmt.Errorf("warm-up cycle %d: %w", i+1, err)
		}
		if last {
			return nil
		}
	}
}
