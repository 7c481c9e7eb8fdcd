package bench

import (
	"fmt"
	"github.com/camload/camload/system/analyze"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/camload/camload/results"
	"github.com/camload/camload/simulator"
	"github.com/camload/camload/system"
)

// cycleStats folds cycle summaries into HDR histograms; per-camera values
// are not kept. Not safe for concurrent use.
type cycleStats struct {
	cycle, perCam, fresh *hist
	durations            []results.Duration
	visits, processed    int
	skipped, retries     int
	errors               map[string]int
}

func newCycleStats() *cycleStats {
	return &cycleStats{cycle: newHist(), perCam: newHist(), fresh: newHist(), errors: map[string]int{}}
}

func (c *cycleStats) add(s *system.CycleSummary) {
	c.cycle.Record(s.Duration)
	c.durations = append(c.durations, results.Duration(s.Duration))
	for _, d := range s.Latencies {
		c.perCam.Record(d)
	}
	for _, d := range s.Freshness {
		c.fresh.Record(d)
	}
	c.visits += s.Cameras
	c.processed += s.Processed
	c.skipped += s.Skipped
	c.retries += s.Retries
	for k, n := range s.Errors {
		c.errors[k] += n
	}
}

func (c *cycleStats) summary() results.Cycles {
	out := results.Cycles{
		Count:     len(c.durations),
		Latency:   c.cycle.Quantiles(),
		PerCamera: c.perCam.Quantiles(),
		Freshness: c.fresh.Quantiles(),
		Durations: c.durations,
		Visits:    c.visits,
		Processed: c.processed,
		Skipped:   c.skipped,
		Retries:   c.retries,
		Errors:    c.errors,
	}
	var errs int
	for _, n := range c.errors {
		errs += n
	}
	if c.visits > 0 {
		out.ErrorRate = float64(errs) / float64(c.visits)
	}
	return out
}

// faultDelta is the faults the fleet injected between two reports, by
// kind.
func faultDelta(before, after simulator.FaultReport) map[string]int {
	out := map[string]int{}
	for k, n := range after.ByKind {
		if d := int(n - before.ByKind[k]); d > 0 {
			out[k] = d
		}
	}
	return out
}

// faultToError maps a fleet fault kind to the system error kind it must
// cause. slow_drip is handled apart: it is a timeout only when the slow
// body takes longer than the fetch timeout.
var faultToError = map[string]string{
	simulator.FaultHTTP5xx:       system.ErrHTTP5xx,
	simulator.FaultOverflow503:   system.ErrHTTP5xx,
	simulator.FaultHang:          system.ErrTimeout,
	simulator.FaultReset:         system.ErrConn,
	simulator.FaultOverflowReset: system.ErrConn,
	simulator.FaultTruncated:     system.ErrBadImage,
	simulator.FaultGarbage:       system.ErrBadImage,
	simulator.FaultOversized:     system.ErrTooLarge,
	simulator.FaultPlaceholder:   system.ErrPlaceholder,
	simulator.FaultOffline:       system.ErrPlaceholder,
}

// Slow-drip outcomes: whether a slow-drip body outlasts the system's
// fetch timeout.
const (
	dripTimeout = "timeout" // always: even the smallest frame outlasts it
	dripNone    = "none"    // never: the largest frame takes < a quarter of it
	dripEither  = "either"  // depends on the frame and on queueing
)

// slowDrip classifies the slow-drip fault from the sizes of the fleet's
// frames, its drip rate and the fetch timeout. A request's queueing and
// latency come on top of the drip, hence the margin of "either".
func slowDrip(frameSizes []int, rate int, fetchTimeout time.Duration) string {
	if rate <= 0 || len(frameSizes) == 0 {
		return dripEither
	}
	lo, hi := frameSizes[0], frameSizes[0]
	for _, n := range frameSizes {
		lo, hi = min(lo, n), max(hi, n)
	}
	dur := func(n int) time.Duration { return time.Duration(float64(n) / float64(rate) * float64(time.Second)) }
	switch {
	case dur(lo) > fetchTimeout:
		return dripTimeout
	case 4*dur(hi) < fetchTimeout:
		return dripNone
	}
	return dripEither
}

// reconcile compares the errors the system counted with the faults the
// fleet injected in the same window. Each system error kind must equal the
// faults mapped to it, except that the transport's retries (after a reset
// on a reused connection) absorb up to that many conn faults, and slow
// drips classified "either" may or may not be timeouts. It reports what
// differs.
func reconcile(errs map[string]int, faults map[string]int, retries int, drip string) (bool, string) {
	want := map[string]int{}
	slack := map[string]int{} // extra errors a kind may have
	for k, n := range faults {
		if e, ok := faultToError[k]; ok {
			want[e] += n
		} else if k == simulator.FaultSlowDrip {
			switch drip {
			case dripTimeout:
				want[system.ErrTimeout] += n
			case dripEither:
				slack[system.ErrTimeout] += n
			}
		}
	}
	if retries > 0 && want[system.ErrConn] > 0 {
		want[system.ErrConn] -= min(retries, want[system.ErrConn])
		if want[system.ErrConn] == 0 {
			delete(want, system.ErrConn)
		}
	}
	kinds := map[string]bool{}
	for k := range want {
		kinds[k] = true
	}
	for k := range errs {
		kinds[k] = true
	}
	names := make([]string, 0, len(kinds))
	for k := range kinds {
		names = append(names, k)
	}
	sort.Strings(names)
	var diffs []string
	for _, k := range names {
		got := errs[k]
		if got < want[k] || got > want[k]+slack[k] {
			fleet := strconv.Itoa(want[k])
			if slack[k] > 0 {
				fleet = fmt.Sprintf("%d…%d", want[k], want[k]+slack[k])
			}
			diffs = append(diffs, fmt.Sprintf("%s: system %d, fleet %s", k, got, fleet))
		}
	}
	return len(diffs) == 0, strings.Join(diffs, "; ")
}

// idealCycle is the best cycle time the scenario allows and the
// efficiency ideal ÷ actual p50:
//
//	ideal = max(latency bound, CPU bound)
//	latency bound = the makespan of an ideal schedule (scheduleBound) of
//	                the cameras' own latency draws over the concurrency
//	concurrency   = min(client per-host limit, host capacity) slots per
//	                host, or, when the fan-out is lower (1 when
//	                sequential, workers for a pool), one pool of that many
//	CPU bound     = analysis work per frame (measured: decode, tensor,
//	                detection and the scenario's analyze cost) × frames
//	                analyzed per cycle ÷ cores
//
// Basis names the bound that set the ideal: "latency" (the fan-out or the
// client limits concurrency), "host capacity" (the fleet's per-host
// capacity does) or "cpu".
func idealCycle(cfg simulator.Config, k system.Knobs, perFrame time.Duration, cyc results.Cycles, cycles, cores int) results.Ideal {
	inf := math.MaxInt32
	clientPerHost := inf
	if k.Client == system.ClientShared && k.MaxConnsPerHost > 0 {
		clientPerHost = k.MaxConnsPerHost
	}
	hostCap := inf
	if cfg.Capacity.Concurrent > 0 {
		hostCap = cfg.Capacity.Concurrent
	}
	perHost := min(clientPerHost, hostCap)
	hosts := max(cfg.Hosts, 1)
	conc := inf
	if perHost < inf {
		conc = perHost * hosts
	}
	basis := "host capacity"
	if hostCap > clientPerHost {
		basis = "latency"
	}
	fan := inf
	switch k.FanOut {
	case system.FanOutSequential:
		fan = 1
	case system.FanOutPool, system.FanOutBatches:
		fan = max(k.Workers, 1)
	case system.FanOutUnbounded:
		fan = cfg.Cameras
	}
	if k.Client == system.ClientShared && k.MaxConns > 0 {
		fan = min(fan, k.MaxConns)
	}
	if fan < conc {
		conc, basis = fan, "latency"
	}
	conc = max(min(conc, cfg.Cameras), 1)
	var latBound time.Duration
	if conc < perHost*hosts || perHost >= inf {
		latBound = scheduleBound(cfg, conc, 0) // one pool of conc slots
	} else {
		latBound = scheduleBound(cfg, 0, perHost) // perHost slots on each host
	}

	frames := float64(cfg.Cameras)
	if cycles > 0 && cyc.Count > 0 {
		frames = float64(cyc.Processed) / float64(cyc.Count)
	}
	cpuBound := time.Duration(float64(perFrame) * frames / float64(max(cores, 1)))
	id := results.Ideal{CycleTime: results.Duration(latBound), Basis: basis}
	if cpuBound > latBound {
		id.CycleTime, id.Basis = results.Duration(cpuBound), "cpu"
	}
	if p50 := cyc.Latency.P50; p50 > 0 {
		id.Efficiency = math.Min(1, float64(id.CycleTime)/float64(p50))
	}
	return id
}

// analyzeWork measures the analysis of one frame on this machine, as the
// system does it (analyze.Analyze with the cell's cost): the fastest of one
// run over each of a few of the fleet's own frames, so that a busy moment
// does not inflate it. It is the CPU bound's work per frame.
func analyzeWork(frames []simulator.FrameInfo, cost time.Duration) time.Duration {
	best := time.Duration(0)
	for i, fr := range frames {
		if i == 5 {
			break
		}
		t0 := time.Now()
		if _, err := analyze.Analyze(fr.JPEG, analyze.Options{Cost: cost}); err != nil {
			continue
		}
		if d := time.Since(t0); best == 0 || d < best {
			best = d
		}
	}
	if best == 0 {
		return cost
	}
	return best
}

// scheduleBound is the makespan of an ideal schedule of one cycle, the
// mean over a few rounds: camera i takes its own latency draw from the
// fleet's distribution (simulator.Sampler, the fleet's seed and per-camera
// factor), and the draws go longest first onto the least-loaded of `pool`
// slots shared by all cameras or, when pool is 0, of perHost slots on
// camera i's host (i % hosts, as the fleet places cameras). A median ×
// cameras ÷ concurrency estimate would ignore that a cycle waits for its
// slowest camera.
func scheduleBound(cfg simulator.Config, pool, perHost int) time.Duration {
	const rounds = 3
	smp := simulator.NewSampler(cfg.Latency, cfg.Seed)
	hosts := max(cfg.Hosts, 1)
	var total time.Duration
	for r := uint64(1); r <= rounds; r++ {
		groups := make([][]time.Duration, 1)
		slots := pool
		if pool == 0 {
			groups, slots = make([][]time.Duration, hosts), perHost
		}
		for i := 0; i < cfg.Cameras; i++ {
			g := 0
			if pool == 0 {
				g = i % hosts
			}
			groups[g] = append(groups[g], smp.Sample(i, r))
		}
		var makespan time.Duration
		for _, draws := range groups {
			makespan = max(makespan, lpt(draws, slots))
		}
		total += makespan
	}
	return total / rounds
}

// lpt schedules jobs longest first onto the least-loaded of n slots and
// returns the makespan.
func lpt(jobs []time.Duration, n int) time.Duration {
	if len(jobs) == 0 {
		return 0
	}
	n = max(min(n, len(jobs)), 1)
	sort.Slice(jobs, func(i, j int) bool { return jobs[i] > jobs[j] })
	load := make([]time.Duration, n)
	for _, d := range jobs {
		least := 0
		for i := 1; i < n; i++ {
			if load[i] < load[least] {
				least = i
			}
		}
		load[least] += d
	}
	return slices.Max(load)
}
