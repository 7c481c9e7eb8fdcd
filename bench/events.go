package bench

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/camload/camload/dashboard"
	"github.com/camload/camload/internal/proc"
	"github.com/camload/camload/results"
	"github.com/camload/camload/scenarios"
	"github.com/camload/camload/simulator"
	"github.com/camload/camload/system"
)

// This file publishes a run's dashboard events (Options.Events) in the
// order the dashboard package documents. The runner reaches it through
// the progress hooks (progress.step, progress.cellDone) and a few
// one-line traces in the cell's sequence: cellStarted, watch (which puts
// the cell's *cellEvents into the cell's context, as net/http/httptrace
// does for a request), traceCycle in postCycle, traceAttack in Attack and
// traceCapacityStep in CapacitySearch. Every publish is non-blocking
// (dashboard.Hub drops slow browsers); with no hub every hook returns at
// once.
//
// Measurement cost: with a hub, the runner reads the system's CPU and
// RSS from /proc (no cost to the system) and scrapes its /metrics for
// go_goroutines once per DefaultEventsEvery, on top of the sampler's own
// scrapes; without a hub nothing is added.

// DefaultEventsEvery is the period of the dashboard's resource samples.
const DefaultEventsEvery = time.Second

// attackWindow is the length of one dashboard.Attack window.
const attackWindow = time.Second

// planCells lists sc's cells in the order Run runs them (cellOrder), with
// Run's 1-based indexes.
func planCells(sc *scenarios.Scenario) []dashboard.CellRef {
	var out []dashboard.CellRef
	for i, k := range cellOrder(sc) {
		out = append(out, dashboard.CellRef{Index: i + 1, Mode: k.mode, Cameras: k.cameras, Repeat: k.rep})
	}
	return out
}

// publishPlan publishes the run's plan; called once by newProgress.
func (p *progress) publishPlan() {
	if p.hub == nil {
		return
	}
	plan := &dashboard.Plan{Scenario: p.sc.Name, ScenarioFile: p.sc.File, Started: time.Now().UTC(),
		Cells: planCells(p.sc), Warmup: p.sc.System.Warmup, Cycles: p.sc.System.Cycles}
	for _, t := range p.sc.Load {
		plan.Load = append(plan.Load, t.Name)
	}
	p.publish(dashboard.Event{Plan: plan})
}

// publish sends e to the hub, logging (not failing on) a refused event.
func (p *progress) publish(e dashboard.Event) {
	if err := p.hub.Publish(e); err != nil && p.logf != nil {
		p.logf("dashboard: %v", err)
	}
}

// cellEvents is the dashboard state of the running cell.
type cellEvents struct {
	p       *progress
	ref     dashboard.CellRef
	rel     string // cell folder relative to OutDir
	started time.Time

	// Touched only from Run's goroutine (the cell's sequence, Attack's
	// result loop, CapacitySearch).
	phase   dashboard.Phase
	fleet   *simulator.Fleet
	faults  simulator.FaultReport // at the end of the previous cycle
	capStep int
	win     *windowAcc

	stop func() // ends the resource watcher and waits for it
}

// cellStarted publishes CellStarted and Phase{starting}. One line at the
// start of cellRun.run calls it.
func (p *progress) cellStarted(c *cellRun) {
	if p == nil || p.hub == nil {
		return
	}
	p.endCell() // a previous cell whose cellDone never came
	ce := &cellEvents{p: p, ref: dashboard.CellRef{Index: c.index, Mode: c.mode, Cameras: c.cameras, Repeat: c.rep},
		rel: filepath.ToSlash(filepath.Join("cells", c.name())), started: time.Now()}
	p.cur = ce
	p.publish(dashboard.Event{Cell: c.index, CellStarted: &dashboard.CellStarted{CellRef: ce.ref, Hosts: c.sc.Fleet.ConfigFor(c.cameras).Hosts, Dir: ce.rel}})
	ce.setPhase(dashboard.Phase{Name: dashboard.PhaseStarting})
}

// endCell stops the current cell's watcher; idempotent.
func (p *progress) endCell() {
	if p.cur == nil {
		return
	}
	p.cur.flushWindow()
	if p.cur.stop != nil {
		p.cur.stop()
	}
	p.cur = nil
}

// setPhase publishes a phase unless it is the current one.
func (ce *cellEvents) setPhase(ph dashboard.Phase) {
	ce.flushWindow()
	if ph == ce.phase {
		return
	}
	ce.phase = ph
	if ph.Name != dashboard.PhaseCapacity {
		ce.capStep = 0
	}
	ce.p.publish(dashboard.Event{Cell: ce.ref.Index, Phase: &ph})
}

// stepPhase turns a progress line of cell.go ("warm-up 1/2", "cycle 3/10",
// "load latest", "capacity latest", "starting system") into a phase.
func stepPhase(sc *scenarios.Scenario, what string) (dashboard.Phase, bool) {
	var ph dashboard.Phase
	switch {
	case strings.HasPrefix(what, "starting"):
		return dashboard.Phase{Name: dashboard.PhaseStarting}, true
	case strings.HasPrefix(what, "warm-up "):
		ph.Name = dashboard.PhaseWarmup
		_, err := fmt.Sscanf(what, "warm-up %d/%d", &ph.Step, &ph.Steps)
		return ph, err == nil
	case strings.HasPrefix(what, "cycle "):
		ph.Name = dashboard.PhaseCycle
		_, err := fmt.Sscanf(what, "cycle %d/%d", &ph.Step, &ph.Steps)
		return ph, err == nil
	case strings.HasPrefix(what, "load "):
		ph.Name, ph.Target = dashboard.PhaseLoad, strings.TrimPrefix(what, "load ")
		for _, t := range sc.Load {
			if t.Name == ph.Target {
				ph.Rate = t.Rate
			}
		}
		return ph, true
	case strings.HasPrefix(what, "capacity "):
		ph.Name, ph.Target = dashboard.PhaseCapacity, strings.TrimPrefix(what, "capacity ")
		for _, t := range sc.Load {
			if t.Name == ph.Target && t.Capacity != nil {
				ph.Steps = t.Capacity.Steps
			}
		}
		return ph, true
	case strings.HasPrefix(what, "profile"):
		return dashboard.Phase{Name: dashboard.PhaseProfile}, true
	case strings.HasPrefix(what, "stopping"):
		return dashboard.Phase{Name: dashboard.PhaseStopping}, true
	}
	return ph, false
}

// stepEvent publishes the phase a progress line names (progress.step).
func (p *progress) stepEvent(c *cellRun, what string) {
	if p.hub == nil || p.cur == nil || p.cur.ref.Index != c.index {
		return
	}
	if ph, ok := stepPhase(c.sc, what); ok {
		p.cur.setPhase(ph)
	}
}

// cellFinishedEvent publishes the finished cell's summary and stops the
// cell's watcher (progress.cellDone).
func (p *progress) cellFinishedEvent(cell results.Cell) {
	if p.hub == nil {
		return
	}
	ce := p.cur
	p.endCell()
	idx := p.done
	if ce != nil {
		idx = ce.ref.Index
	}
	p.publish(dashboard.Event{Cell: idx, CellFinished: cellFinished(idx, cell, p.outDir)})
}

// cellFinished is the dashboard summary of a finished cell: the report's
// metrics and the cell's files that exist in outDir.
func cellFinished(idx int, c results.Cell, outDir string) *dashboard.CellFinished {
	cf := &dashboard.CellFinished{
		CellRef: dashboard.CellRef{Index: idx, Mode: c.Mode, Cameras: c.Cameras, Repeat: c.Repeat},
		Status:  c.Status, Error: c.Error, Elapsed: c.Elapsed.D(),
		Cycles: c.Cycles.Count, CycleTime: quantiles(c.Cycles.Latency), PerFrame: quantiles(c.Cycles.PerCamera),
		ErrorRate: c.Cycles.ErrorRate, Errors: c.Cycles.Errors, Faults: c.Faults, Reconciled: c.Cycles.Reconciled,
		RSSPeak: c.Resources.RSSPeak, CPUPercent: c.Resources.CPUCorePercent, GoroutinesPeak: c.Resources.GoroutinesPeak,
	}
	names := make([]string, 0, len(c.API))
	for n := range c.API {
		names = append(names, n)
	}
	sort.Strings(names)
	link := func(name, rel string) {
		if rel == "" {
			return
		}
		if _, err := os.Stat(filepath.Join(outDir, rel)); err == nil {
			cf.Files = append(cf.Files, dashboard.Link{Name: name, Path: filepath.ToSlash(rel)})
		}
	}
	for _, n := range names {
		ep := c.API[n]
		e := dashboard.Endpoint{Name: n, Rate: ep.Rate, Throughput: ep.Throughput, Success: ep.Success, P50: ep.Latency.P50.D(), P99: ep.Latency.P99.D()}
		if ep.Capacity != nil {
			r := ep.Capacity.Rate
			e.Capacity = &r
		}
		cf.API = append(cf.API, e)
	}
	link("cpu.pb.gz", c.Profiles.CPU)
	link("heap.pb.gz", c.Profiles.Heap)
	for _, n := range names {
		if b := c.API[n].BinFile; b != "" {
			link(filepath.Base(b), b)
		}
	}
	if c.Replicas != nil { // replicas.go: one log per replica
		for i := range c.Replicas.Count {
			dir := cellNameN(c.Mode, c.Cameras, c.Replicas.Count, c.Repeat)
			link(fmt.Sprintf("replica-%d/system.log", i+1), filepath.Join("cells", dir, fmt.Sprintf("replica-%d", i+1), "system.log"))
		}
	} else {
		link("system.log", filepath.Join("cells", cellName(c.Mode, c.Cameras, c.Repeat), "system.log"))
	}
	return cf
}

func quantiles(q results.Quantiles) dashboard.Quantiles {
	return dashboard.Quantiles{Count: q.Count, P50: q.P50.D(), P90: q.P90.D(), P99: q.P99.D(), Max: q.Max.D()}
}

// RunFinishedEvent is the last event of a run whose results.json (and,
// when report is not "", report.html at report, relative to the run
// folder) are written. cmd/camload publishes it.
func RunFinishedEvent(run *results.Run, report string) dashboard.Event {
	rf := &dashboard.RunFinished{Results: "results.json", Report: filepath.ToSlash(report)}
	if run != nil {
		rf.Interrupted = run.Interrupted
		if !run.Finished.IsZero() {
			rf.Elapsed = run.Finished.Sub(run.Started)
		}
	}
	return dashboard.Event{RunFinished: rf}
}

// eventsKey is the context key of a cell's *cellEvents.
type eventsKey struct{}

func eventsFrom(ctx context.Context) *cellEvents {
	ce, _ := ctx.Value(eventsKey{}).(*cellEvents)
	return ce
}

// watch starts publishing resource samples of the system (pid, admin) and
// of the runner every DefaultEventsEvery until the cell ends, remembers
// the fleet for the faults of each cycle, and returns ctx carrying the
// cell's events for the traces below. Without a hub it returns ctx. One
// line of cellRun.measure calls it once the system is ready.
func (p *progress) watch(ctx context.Context, c *cellRun, fleet *simulator.Fleet, sys *child) context.Context {
	if p == nil || p.hub == nil || p.cur == nil || p.cur.ref.Index != c.index {
		return ctx
	}
	ce := p.cur
	ce.fleet = fleet
	wctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { // owner: the cell's events; ended by endCell (cellDone) or ctx
		defer close(done)
		ce.sampleResources(wctx, sys.Pid, sys.Admin+"/metrics", p.every)
	}()
	ce.stop = func() { cancel(); <-done }
	return context.WithValue(ctx, eventsKey{}, ce)
}

// sampleResources publishes a Resource event every period until ctx ends.
func (ce *cellEvents) sampleResources(ctx context.Context, pid int, metricsURL string, every time.Duration) {
	client := &http.Client{Timeout: 2 * time.Second}
	t := time.NewTicker(every)
	defer t.Stop()
	var prevAt time.Time
	var prevSys, prevSelf float64
	for {
		now := time.Now()
		sysU, sysErr := proc.Tree(pid)
		self, selfErr := proc.Self()
		if sysErr == nil && selfErr == nil {
			r := &dashboard.Resource{Since: now.Sub(ce.started),
				System: dashboard.Proc{RSS: sysU.RSS}, Runner: dashboard.Proc{RSS: self.RSS, Goroutines: runtime.NumGoroutine()}}
			if rd, err := scrape(ctx, client, metricsURL); err == nil {
				r.System.Goroutines = int(rd.goroutines)
			}
			if !prevAt.IsZero() {
				dt := now.Sub(prevAt).Seconds()
				r.System.CPUPercent = 100 * (sysU.CPUSeconds - prevSys) / dt
				r.Runner.CPUPercent = 100 * (self.CPUSeconds - prevSelf) / dt
			}
			prevAt, prevSys, prevSelf = now, sysU.CPUSeconds, self.CPUSeconds
			if ctx.Err() == nil {
				ce.p.publish(dashboard.Event{Cell: ce.ref.Index, Resource: r})
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// traceCycle publishes a finished cycle, warm-up or measured as the
// current phase says, with the faults the fleet injected since the
// previous cycle (since the fleet started, for the first). One line of
// postCycle calls it.
func traceCycle(ctx context.Context, s *system.CycleSummary) {
	ce := eventsFrom(ctx)
	if ce == nil {
		return
	}
	cy := &dashboard.Cycle{N: ce.phase.Step, Of: ce.phase.Steps, Warmup: ce.phase.Name == dashboard.PhaseWarmup,
		Took: s.Duration, Cameras: s.Cameras, Processed: s.Processed, Skipped: s.Skipped, Errors: s.Errors, Retries: s.Retries}
	h := newHist()
	for _, d := range s.Latencies {
		h.Record(d)
	}
	cy.PerFrame = quantiles(h.Quantiles())
	if ce.fleet != nil {
		now := ce.fleet.Faults()
		if d := faultDelta(ce.faults, now); len(d) > 0 {
			cy.Faults = d
		}
		ce.faults = now
	}
	ce.p.publish(dashboard.Event{Cell: ce.ref.Index, Cycle: cy})
}

// windowAcc accumulates one attack's results into one-second windows by
// completion time. A closed window is held back until a result lands in a
// later one, so that the attack's last, partial window can be folded into
// it when it is a short tail (a few requests answered just after a
// second boundary would otherwise read as a throughput spike).
type windowAcc struct {
	target   string
	rate     float64
	began    time.Time
	interval time.Duration
	open     windowData // window open.n, receiving results
	held     windowData // the closed window before it, not yet published
	lastEnd  time.Time
}

// windowData is one window's results.
type windowData struct {
	n          int // window index: [began + n s, began + (n+1) s)
	lat        *hist
	reqs, errs uint64
}

// traceAttack wraps an attack's encoder so that its results also fill
// dashboard.Attack windows (and, in a capacity search, announces the step's
// phase). It returns enc itself when the cell has no dashboard. One line
// at the start of Attack calls it.
func traceAttack(ctx context.Context, spec AttackSpec, enc vegeta.Encoder) vegeta.Encoder {
	ce := eventsFrom(ctx)
	if ce == nil {
		return enc
	}
	if ce.phase.Name == dashboard.PhaseCapacity {
		ce.capStep++
		ph := ce.phase
		ph.Step, ph.Rate = ce.capStep, spec.Rate
		ce.flushWindow()
		ce.phase = ph
		ce.p.publish(dashboard.Event{Cell: ce.ref.Index, Phase: &ph})
	}
	ce.flushWindow()
	interval := time.Duration(float64(time.Second) / spec.Rate)
	ce.win = &windowAcc{target: spec.Name, rate: spec.Rate, began: time.Now(), interval: max(interval, 1),
		open: windowData{lat: newHist()}, held: windowData{lat: newHist()}}
	return func(r *vegeta.Result) error {
		ce.addResult(r)
		if enc != nil {
			return enc(r)
		}
		return nil
	}
}

// addResult folds r into the open window; a result of a later window
// publishes the held window and holds the open one.
func (ce *cellEvents) addResult(r *vegeta.Result) {
	w := ce.win
	if w == nil {
		return
	}
	end := r.Timestamp.Add(r.Latency)
	if n := int(end.Sub(w.began) / attackWindow); n > w.open.n {
		ce.publishData(&w.held, w.windowEnd(w.held.n))
		w.held, w.open = w.open, w.held
		w.open.n = n
	}
	co := end.Sub(w.began.Add(time.Duration(r.Seq+1) * w.interval))
	w.open.lat.Record(max(co, r.Latency))
	w.open.reqs++
	if r.Error != "" || r.Code < 200 || r.Code >= 400 {
		w.open.errs++
	}
	if end.After(w.lastEnd) {
		w.lastEnd = end
	}
}

func (w *windowAcc) windowEnd(n int) time.Time { return w.began.Add(time.Duration(n+1) * attackWindow) }

// publishData publishes d as the window ending at until and empties it.
func (ce *cellEvents) publishData(d *windowData, until time.Time) {
	w := ce.win
	if d.reqs == 0 {
		return
	}
	from := w.began.Add(time.Duration(d.n) * attackWindow)
	a := &dashboard.Attack{Target: w.target, Since: until.Sub(w.began), Rate: w.rate, Requests: d.reqs, Errors: d.errs,
		Latency: quantiles(d.lat.Quantiles())}
	if span := until.Sub(from).Seconds(); span > 0 {
		a.Throughput = float64(d.reqs-d.errs) / span
	}
	ce.p.publish(dashboard.Event{Cell: ce.ref.Index, Attack: a})
	d.lat.h.Reset()
	d.reqs, d.errs = 0, 0
}

// flushWindow publishes the windows of the attack that ended — its last,
// partial one folded into the one before when shorter than half a window —
// and forgets the attack.
func (ce *cellEvents) flushWindow() {
	w := ce.win
	if w == nil {
		return
	}
	tail := w.lastEnd.Sub(w.began.Add(time.Duration(w.open.n) * attackWindow))
	switch {
	case w.open.reqs == 0:
		ce.publishData(&w.held, w.windowEnd(w.held.n))
	case w.held.reqs > 0 && w.held.n == w.open.n-1 && tail < attackWindow/2:
		w.held.lat.h.Merge(w.open.lat.h)
		w.held.reqs += w.open.reqs
		w.held.errs += w.open.errs
		ce.publishData(&w.held, w.lastEnd)
	default:
		ce.publishData(&w.held, w.windowEnd(w.held.n))
		ce.publishData(&w.open, w.lastEnd)
	}
	ce.win = nil
}

// traceCapacityStep publishes a finished capacity-search step (1-based
// step) of target at rate: its attack's result r and whether it met slo.
// One line of CapacitySearch calls it.
func traceCapacityStep(ctx context.Context, target string, step int, rate float64, r *AttackResult, pass bool, slo scenarios.SLO) {
	ce := eventsFrom(ctx)
	if ce == nil || r == nil {
		return
	}
	ce.flushWindow()
	ce.p.publish(dashboard.Event{Cell: ce.ref.Index, CapacityStep: &dashboard.CapacityStep{
		Target: target, Step: step, Rate: rate, Requests: r.Endpoint.Requests, P99: r.Latency.Quantile(99),
		ErrorRate: r.ErrorRate(), Pass: pass, SLOP99: slo.P99, SLOErrorRate: slo.ErrorRate}})
}
