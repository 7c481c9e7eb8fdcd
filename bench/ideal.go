package bench

import (
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/camload/camload/results"
	"github.com/camload/camload/simulator"
	"github.com/camload/camload/system"
)

// Ideal bases: which bound set a cycle's ideal.
const (
	BasisLatency  = "latency"       // the slowest camera's own draw
	BasisHostCap  = "host capacity" // a host's draws over its slots
	BasisCPU      = "cpu"           // analysis work over the cores
	BasisNoFetchs = "no fetch log"  // the fleet recorded no requests: no bound
)

// cycleWindow is one measured cycle as the runner saw it: when its POST
// was sent and answered, and the system's own summary.
type cycleWindow struct {
	start, end time.Time
	duration   time.Duration // the system's measured cycle time
	drained    bool          // the POST also waited for stragglers after the cycle (?drain=1)
	processed  int           // frames analyzed
	// cpu is the CPU seconds the system's process tree used from the
	// POST to its answer; < 0 when unknown.
	cpu float64
}

// cycleBound is a lower bound on one cycle's time computed from the
// requests the fleet served in it.
type cycleBound struct {
	bound time.Duration
	basis string
	draws int
}

// idealBound computes, for one measured cycle, a lower bound on its time
// from the latencies the fleet drew for the cycle's own requests
// (fetches: the fleet's log over the cycle) and the CPU its analysis
// needs, for any client whatever its design:
//
//	bound = max(longest draw,
//	            per host: Σ draws ÷ slots,  slots = min(host capacity, cameras of the host),
//	            frames analyzed × analysis work per frame ÷ cores)
//
// Each camera counts its first served request (refused ones drew
// nothing; a retry is the client's cost, not the ideal's). A request
// holds its host slot for at least its draw and every frame analyzed
// costs at least perFrame of one core, so no client can beat the bound.
// perFrame is measured by the runner (analyzeWork); a runner built or
// loaded differently from the system could overstate it, so the CPU term
// is capped by cpuCap (when ≥ 0): the CPU time the system certainly used
// in the cycle over its cores (cycleCPUCap), which no cycle can undercut.
// The client's own limits (a sequential loop, a worker pool) are not
// counted: they are what efficiency measures. A perfect client pays no
// handshake in a measured cycle: it keeps its connections from the
// warm-up (the fleet's idle timeout is minutes), so none is counted.
func idealBound(fetches []simulator.Fetch, capacity simulator.CapacityConfig, perFrame time.Duration, processed, cores int, cpuCap time.Duration) cycleBound {
	type hostWork struct {
		sum time.Duration
		n   int
	}
	seen := map[string]bool{}
	hosts := map[int]*hostWork{}
	var longest time.Duration
	var draws int
	for _, fe := range fetches {
		if fe.Refused() || seen[fe.Camera] {
			continue
		}
		seen[fe.Camera] = true
		w := hosts[fe.Host]
		if w == nil {
			w = &hostWork{}
			hosts[fe.Host] = w
		}
		// A request its client gave up on (a timeout, a learned
		// deadline) held its slot only until then, not for its draw.
		lat := fe.Latency
		if fe.Duration > 0 {
			lat = min(lat, fe.Duration)
		}
		w.sum += lat
		w.n++
		longest = max(longest, lat)
		draws++
	}
	b := cycleBound{bound: longest, basis: BasisLatency, draws: draws}
	for _, w := range hosts {
		slots := w.n
		if c := capacity.Concurrent; c > 0 {
			slots = min(slots, c)
		}
		if d := w.sum / time.Duration(slots); d > b.bound {
			b.bound, b.basis = d, BasisHostCap
		}
	}
	d := time.Duration(float64(perFrame) * float64(processed) / float64(max(cores, 1)))
	if cpuCap >= 0 {
		d = min(d, cpuCap)
	}
	if d > b.bound {
		b.bound, b.basis = d, BasisCPU
	}
	return b
}

// idealCycle is the cell's ideal: the median of its measured cycles'
// lower bounds (idealBound over each cycle's own fetches) and efficiency =
// ideal ÷ actual p50, never clipped. The median of the bounds is taken at
// the rank the histogram's p50 reads, so that bounds that each hold give
// an efficiency ≤ 1. It also returns an error naming the first cycle whose
// bound exceeds its measured time: the bound was not one (a bug).
func idealCycle(cycles []cycleWindow, fetches func(since, until time.Time) simulator.FetchLog, capacity simulator.CapacityConfig, perFrame time.Duration, actualP50 time.Duration, cores int) (results.Ideal, error) {
	bounds := make([]cycleBound, 0, len(cycles))
	var draws int
	var bad error
	for i, cw := range cycles {
		log := fetches(cw.start, cw.end)
		// A cycle with a deadline (resilient) does not wait for the
		// requests still unanswered at its end: only those answered
		// within the cycle's own time bound it (a mode that waits for
		// every camera has no other kind; a drained cycle's POST also
		// waits for stragglers after its cycle ended). A request still
		// running when the log was read has no duration yet. Dropping
		// requests only lowers a lower bound.
		cycleEnd := cw.end
		if cw.drained {
			cycleEnd = cw.start.Add(cw.duration)
		}
		log.Fetches = slices.DeleteFunc(log.Fetches, func(f simulator.Fetch) bool {
			return f.Duration <= 0 || f.Start.Add(f.Duration).After(cycleEnd)
		})
		if len(log.Fetches) == 0 {
			continue
		}
		cpuCap := time.Duration(-1)
		if cw.cpu >= 0 {
			cpuCap = cycleCPUCap(cw, cores)
		}
		b := idealBound(log.Fetches, capacity, perFrame, cw.processed, cores, cpuCap)
		if b.bound > cw.duration && bad == nil {
			bad = fmt.Errorf("ideal above actual: bug: cycle %d's lower bound %s (%s) exceeds its measured %s", i+1, b.bound, b.basis, cw.duration)
		}
		bounds = append(bounds, b)
		draws += b.draws
	}
	if len(bounds) == 0 {
		return results.Ideal{Basis: BasisNoFetchs}, nil
	}
	sort.Slice(bounds, func(i, j int) bool { return bounds[i].bound < bounds[j].bound })
	mid := bounds[medianRank(len(bounds))]
	id := results.Ideal{CycleTime: results.Duration(mid.bound), Basis: mid.basis, Draws: draws}
	if perFrame > 0 {
		id.PerFrame, id.Cores = results.Duration(perFrame), max(cores, 1)
	}
	if actualP50 > 0 {
		id.Efficiency = float64(mid.bound) / float64(actualP50)
	}
	if id.Efficiency > 1 && bad == nil {
		bad = fmt.Errorf("ideal above actual: bug: ideal %s > actual p50 %s", mid.bound, actualP50)
	}
	return id, bad
}

// cycleCPUCap is what the CPU measured over a cycle's POST says the
// cycle itself used, over the cores: the POST's CPU less the kernel's
// accounting granularity and less all the CPU the cores could have
// spent in the part of the POST outside the cycle's own time (before
// it started — a system that waits or prepares — and after it ended —
// a drain of stragglers, the answer). What remains the cycle used for
// certain, so the cap undercuts no cycle; it is ≥ 0.
func cycleCPUCap(cw cycleWindow, cores int) time.Duration {
	cores = max(cores, 1)
	outside := max(cw.end.Sub(cw.start)-cw.duration, 0).Seconds()
	inside := max(cw.cpu-cpuTick-float64(cores)*outside, 0)
	return time.Duration(inside / float64(cores) * float64(time.Second))
}

// cpuTick is the granularity of /proc CPU times (USER_HZ = 100), taken
// twice: a reading at each end of a cycle.
const cpuTick = 0.02

// medianRank is the 0-based index the HDR histogram's p50 reads among n
// sorted values (rank ⌊n/2 + 0.5⌋, 1-based).
func medianRank(n int) int {
	r := int(0.5*float64(n) + 0.5)
	return min(max(r, 1), n) - 1
}

// analyzeWork measures the analysis of one frame on this machine as the
// system does it (system.AnalyzerFor(k): the pooled fast path in bounded
// modes) with the cell's cost. It is the CPU bound's work per frame: the
// mean, over the fleet's frames, of each frame's fastest of two runs.
// Frames differ in work (the fleet's 64 frames at 640×360, cost 0, took
// 2.11–2.62 ms each, mean 2.39 ms, on one host) and a cycle analyzes them
// alike, so the cheapest frame would understate it (this used to be the
// fastest of ten runs over ten frames: the cheapest of them); the fastest
// of two runs keeps a busy moment from overstating it. A costly analysis
// stops after workBudget, with at least three frames, the frames measured
// so far spread over the set. The CPU term is also capped by the CPU the
// cycle certainly used (idealBound), so it never exceeds what happened.
func analyzeWork(frames []simulator.FrameInfo, k system.Knobs) time.Duration {
	an := system.AnalyzerFor(k)
	var sum time.Duration
	measured := 0
	start := time.Now()
	for _, i := range spread(len(frames)) {
		if measured >= 3 && time.Since(start) > workBudget {
			break
		}
		best := time.Duration(0)
		for range 2 {
			t0 := time.Now()
			if _, err := an(frames[i].JPEG, k.AnalyzeCost); err != nil {
				best = 0
				break
			}
			if d := time.Since(t0); best == 0 || d < best {
				best = d
			}
		}
		if best > 0 {
			sum += best
			measured++
		}
	}
	if measured == 0 {
		return k.AnalyzeCost
	}
	return sum / time.Duration(measured)
}

// workBudget bounds analyzeWork's time for a costly analysis.
const workBudget = 500 * time.Millisecond

// spread returns 0…n-1 in an order whose every prefix is spread over the
// range (bit-reversed midpoints: 0, n/2, n/4, 3n/4, …), so that a
// measurement stopped early has sampled the whole set, not its start.
func spread(n int) []int {
	out := make([]int, 0, n)
	seen := make([]bool, n)
	// Each round adds the midpoints of the last: step evenly spaced points
	// j·n/step in bit-reversed order of j. Once step ≥ n the points are
	// every integer below n, so the rounds end with all of them.
	for step := 1; len(out) < n; step *= 2 {
		for j := range step {
			if i := rev(j, step) * n / step; !seen[i] {
				seen[i] = true
				out = append(out, i)
			}
		}
	}
	return out
}

// rev reverses the bits of j below step (a power of two).
func rev(j, step int) int {
	r := 0
	for b := step >> 1; b > 0; b >>= 1 {
		r = r<<1 | j&1
		j >>= 1
	}
	return r
}
