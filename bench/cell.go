package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/camload/camload/results"
	"github.com/camload/camload/scenarios"
	"github.com/camload/camload/simulator"
	"github.com/camload/camload/system"
	"github.com/camload/camload/system/backends"
)

// cellRun is one matrix cell in progress.
type cellRun struct {
	sc      *scenarios.Scenario
	opts    Options
	be      *backends.Backends
	mode    string
	cameras int
	rep     int
	index   int
	prog    *progress

	cell  results.Cell
	dir   string // absolute cell folder
	rel   string // cell folder relative to OutDir
	knobs system.Knobs
}

// run runs the cell and returns its results; it never panics out and
// leaves no process or listener behind.
func (c *cellRun) run(ctx context.Context) (cell results.Cell) {
	name := cellName(c.mode, c.cameras, c.rep)
	c.rel = filepath.Join("cells", name)
	c.dir = filepath.Join(c.opts.OutDir, c.rel)
	c.cell = results.Cell{Mode: c.mode, Cameras: c.cameras, Hosts: c.sc.Fleet.Hosts, Repeat: c.rep, Started: time.Now().UTC(), Status: results.StatusOK}
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
	knobs, err := c.sc.KnobsFor(c.mode)
	if err != nil {
		return err
	}
	c.knobs = knobs
	c.cell.Knobs = scenarios.KnobMap(knobs)

	// a) the fleet, in process, on free loopback ports.
	cfg := c.sc.Fleet.Config
	cfg.Cameras, cfg.Seed, cfg.Listen = c.cameras, c.sc.Seed, "127.0.0.1:0"
	fleet, err := simulator.New(cfg)
	if err != nil {
		return fmt.Errorf("fleet: %w", err)
	}
	if err := fleet.Start(ctx); err != nil {
		return fmt.Errorf("fleet: %w", err)
	}
	defer func() {
		if cerr := fleet.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("fleet: %w", cerr)
		}
	}()

	// b) the system, a child process in its own group, on a fresh
	// database prepared here.
	db := dbName(c.sc.Name, cellName(c.mode, c.cameras, c.rep), time.Now())
	if err := prepareDB(ctx, c.be, db); err != nil {
		return err
	}
	args := []string{"serve", "--mode", c.mode, "--fleet", fleet.ControlURL(),
		"--listen", "127.0.0.1:0", "--admin", "127.0.0.1:0",
		"--mongo-uri", c.be.MongoURI(), "--redis-url", c.be.RedisURL(),
		"--db", db,
		"--analyze-cost", c.sc.System.AnalyzeCost.String()}
	args = append(args, c.sc.KnobFlags(knobs)...)
	c.prog.step(c, "starting system")
	sys, err := startChild(ctx, c.opts.SystemBinary, args, c.dir, filepath.Join(c.dir, "system.log"), c.sc.System.ReadyTimeout, c.opts.StopGrace)
	if err != nil {
		return err
	}
	defer func() {
		if serr := sys.stop(); serr != nil { // how the system ended, with its log's tail
			err = errors.Join(err, serr)
		}
	}()
	client := &http.Client{Timeout: c.sc.System.CycleTimeout}

	var warm time.Duration
	for i := 0; i < c.sc.System.Warmup; i++ {
		c.prog.step(c, fmt.Sprintf("warm-up %d/%d", i+1, c.sc.System.Warmup))
		s, err := postCycle(ctx, client, sys.API)
		if err != nil {
			return fmt.Errorf("warm-up cycle %d: %w", i+1, err)
		}
		warm = max(warm, s.Duration)
	}

	// The measured window: sampler, CPU profile, fault baseline.
	smp := startSampler(ctx, sys.Admin+"/metrics", c.opts.SampleEvery)
	defer func() {
		if smp != nil {
			c.cell.Resources = smp.stop(context.WithoutCancel(ctx))
		}
	}()
	cpuDone := make(chan struct{})
	if c.sc.Profiles.CPU {
		secs := c.sc.Profiles.Seconds
		if secs == 0 {
			secs = int((warm*time.Duration(c.sc.System.Cycles) + time.Second - 1) / time.Second)
			secs = min(max(secs, 1), 60)
		}
		path := filepath.Join(c.dir, "cpu.pb.gz")
		go func() { // owner: measure; it waits on cpuDone before returning
			defer close(cpuDone)
			top, err := fetchProfile(ctx, fmt.Sprintf("%s/debug/pprof/profile?seconds=%d", sys.Admin, secs), path, "cpu", time.Duration(secs)*time.Second+30*time.Second, c.opts.TopN)
			if err != nil {
				c.opts.Logf("cell %s: cpu profile: %v", c.rel, err)
				return
			}
			c.cell.Profiles.CPU, c.cell.Profiles.CPUTop = filepath.Join(c.rel, "cpu.pb.gz"), top
		}()
	} else {
		close(cpuDone)
	}
	defer func() { <-cpuDone }()

	before, conns := fleet.Faults(), fleet.Connections()
	cyc := newCycleStats()
	for i := 0; i < c.sc.System.Cycles; i++ {
		c.prog.step(c, fmt.Sprintf("cycle %d/%d", i+1, c.sc.System.Cycles))
		s, err := postCycle(ctx, client, sys.API)
		if err != nil {
			c.cell.Cycles = cyc.summary()
			return fmt.Errorf("cycle %d: %w", i+1, err)
		}
		cyc.add(s)
	}
	after := fleet.Faults()
	c.cell.Cycles = cyc.summary()
	churn := int64(fleet.Connections() - conns)
	c.cell.Cycles.Connections = &churn
	c.cell.Faults = faultDelta(before, after)
	c.cell.Cycles.Reconciled, c.cell.Cycles.Mismatch = reconcile(c.cell.Cycles.Errors, c.cell.Faults, c.cell.Cycles.Retries, slowDrip(frameSizes(fleet), cfg.Faults.SlowDripRate, knobs.FetchTimeout))

	if c.sc.Profiles.Heap {
		top, err := fetchProfile(ctx, sys.Admin+"/debug/pprof/heap", filepath.Join(c.dir, "heap.pb.gz"), "inuse_space", 30*time.Second, c.opts.TopN)
		if err != nil {
			c.opts.Logf("cell %s: heap profile: %v", c.rel, err)
		} else {
			c.cell.Profiles.Heap, c.cell.Profiles.HeapTop = filepath.Join(c.rel, "heap.pb.gz"), top
		}
	}
	c.cell.Ideal = idealCycle(cfg, knobs, analyzeWork(fleet.Frames(), knobs.AnalyzeCost), c.cell.Cycles, c.sc.System.Cycles, runtime.NumCPU())

	// d) API load, one target after another.
	if len(c.sc.Load) > 0 {
		ids := make([]string, 0, c.cameras)
		for _, cam := range fleet.Cameras() {
			ids = append(ids, cam.ID)
		}
		c.cell.API = map[string]results.Endpoint{}
		for ti, t := range c.sc.Load {
			c.prog.step(c, "load "+t.Name)
			ep, err := c.attack(ctx, sys.API, t, ti, ids)
			if err != nil {
				return err
			}
			c.cell.API[t.Name] = ep
		}
	}
	return nil
}

// attack runs one load target against the system and, when asked, its
// capacity search.
func (c *cellRun) attack(ctx context.Context, api string, t scenarios.Target, ti int, ids []string) (results.Endpoint, error) {
	spec := AttackSpec{Name: t.Name, Method: t.Method, URLs: targetURLs(api, t, ids, c.sc.Seed, ti), Rate: t.Rate,
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
		capRate, err := CapacitySearch(ctx, spec, *t.Capacity, c.opts.Logf)
		if err != nil {
			return ep, fmt.Errorf("capacity %s: %w", t.Name, err)
		}
		if capRate != nil {
			ep.Capacity = &results.Capacity{Rate: *capRate, LastPass: capRate, Cap: t.Capacity.MaxRate}
		}
	}
	return ep, nil
}

// urlRing is how many distinct URLs a target cycles through.
const urlRing = 512

// targetURLs expands t's path template into URLs: {{id}} from ids and
// {{page}} from 1 … t.Pages, drawn deterministically from seed and the
// target's index.
func targetURLs(api string, t scenarios.Target, ids []string, seed int64, ti int) []string {
	rng := rand.New(rand.NewPCG(uint64(seed), uint64(ti)+1))
	n := urlRing
	if !strings.Contains(t.Path, "{{") {
		n = 1
	}
	out := make([]string, n)
	for i := range out {
		p := t.Path
		for strings.Contains(p, "{{id}}") && len(ids) > 0 {
			p = strings.Replace(p, "{{id}}", ids[rng.IntN(len(ids))], 1)
		}
		for strings.Contains(p, "{{page}}") {
			p = strings.Replace(p, "{{page}}", fmt.Sprint(1+rng.IntN(t.Pages)), 1)
		}
		out[i] = api + p
	}
	return out
}

// postCycle runs one processing cycle on the system.
func postCycle(ctx context.Context, client *http.Client, api string) (*system.CycleSummary, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, api+"/api/v1/cycles", nil)
	if err != nil {
		return nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
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
	return &s, nil
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
