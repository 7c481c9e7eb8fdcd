package bench

import (
	"fmt"
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
	abandoned, late      int
	lateProcessed        int
	inFlight             int
	notFetched           map[string]int
	timeouts             []system.TimedOut
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
	// A resilient cycle's late results carry the errors of cameras an
	// earlier cycle abandoned: every fetch's outcome is counted once.
	for k, n := range s.LateErrors {
		c.errors[k] += n
	}
	c.abandoned += s.Abandoned
	c.late += s.Late
	c.lateProcessed += s.LateProcessed
	c.timeouts = append(c.timeouts, s.Timeouts...)
	for k, n := range s.NotFetched {
		if c.notFetched == nil {
			c.notFetched = map[string]int{}
		}
		c.notFetched[k] += n
	}
	c.inFlight = s.InFlight
}

func (c *cycleStats) summary() results.Cycles {
	out := results.Cycles{
		Count:         len(c.durations),
		Latency:       c.cycle.Quantiles(),
		PerCamera:     c.perCam.Quantiles(),
		Freshness:     c.fresh.Quantiles(),
		Durations:     c.durations,
		Visits:        c.visits,
		Abandoned:     c.abandoned,
		Late:          c.late,
		LateProcessed: c.lateProcessed,
		NotFetched:    c.notFetched,
		InFlight:      c.inFlight,
		Processed:     c.processed,
		Skipped:       c.skipped,
		Retries:       c.retries,
		Errors:        c.errors,
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
	// A camera's own capacity and queue were full (fleet.capacity.device).
	simulator.FaultDeviceOverflow503:   system.ErrHTTP5xx,
	simulator.FaultDeviceOverflowReset: system.ErrConn,
	simulator.FaultTruncated:           system.ErrBadImage,
	simulator.FaultGarbage:             system.ErrBadImage,
	simulator.FaultOversized:           system.ErrTooLarge,
	simulator.FaultPlaceholder:         system.ErrPlaceholder,
	simulator.FaultOffline:             system.ErrPlaceholder,
	// Not a fleet fault: the fleet saw the client give up before any
	// answer (results.Cycles.GaveUp), which the system counts a timeout.
	faultGaveUp: system.ErrTimeout,
	// Not a fleet fault either: the fleet answered as the system's
	// deadline expired (matchTimeouts).
	faultMidAnswer: system.ErrTimeout,
}

// fleetLatency is the distribution of the latencies the fleet drew for
// the requests of a window (refused ones drew none), nil when none.
func fleetLatency(fetches []simulator.Fetch) *results.Quantiles {
	h := newHist()
	for _, f := range fetches {
		if f.Latency > 0 && !f.Refused() {
			h.Record(f.Latency)
		}
	}
	if h.Count() == 0 {
		return nil
	}
	q := h.Quantiles()
	return &q
}

// faultGaveUp is the pseudo fault kind reconcile is given for requests the
// system gave up on with no fault injected.
const faultGaveUp = "client_gave_up"

// gaveUp counts the fetches of a window that ended with no answer and no
// injected fault: the client gave up (its deadline was shorter than the
// drawn latency or the queue).
func gaveUp(fetches []simulator.Fetch) int {
	n := 0
	for _, f := range fetches {
		if f.Code == 0 && f.Fault == "" {
			n++
		}
	}
	return n
}

// timeoutMatch is what the fleet's log says of the fetches the system
// counted timeouts: each is matched with the camera's own record of the
// request, the latest one of that camera that arrived after the request
// was sent and before its deadline expired (a request arriving later is
// another one: the camera's next visit can begin as soon as the deadline
// ends its cycle; the latest, because a transport retry comes after the
// reset it retried).
type timeoutMatch struct {
	// Answered counts timeouts whose request the fleet logged as
	// answered with no fault: the fleet had begun its answer when the
	// system's deadline expired (a race at the deadline, or a system too
	// busy to read the answer in time).
	Answered int
	// Cut counts, by fleet fault kind, timeouts whose request the fleet
	// answered with a fault the system counts as another kind (a
	// truncated body, a placeholder …): the deadline cut the answer off
	// before the system could judge it.
	Cut map[string]int
	// Unmatched counts timeouts with no record of their request.
	Unmatched int
}

// matchTimeouts matches each timeout the system reported with the fleet's
// record of the same request (fetches, in order of Start). Records of
// faults or of no answer (hangs, resets, drips, gave-ups) are what
// reconcile counts already; only answered ones are timeouts mid-answer.
func matchTimeouts(timeouts []system.TimedOut, fetches []simulator.Fetch) timeoutMatch {
	byCam := map[string][]int{}
	for i, f := range fetches {
		byCam[f.Camera] = append(byCam[f.Camera], i)
	}
	used := make([]bool, len(fetches))
	var m timeoutMatch
	for _, t := range timeouts {
		best := -1
		end := t.Start.Add(t.Deadline)
		for _, i := range byCam[t.Camera] {
			f := fetches[i]
			if used[i] || f.Start.Before(t.Start) || !f.Start.Before(end) {
				continue
			}
			best = i
		}
		if best < 0 {
			m.Unmatched++
			continue
		}
		used[best] = true
		switch f := fetches[best]; {
		case f.Code != 0 && f.Fault == "":
			m.Answered++
		case f.Code != 0 && faultToError[f.Fault] != "" && faultToError[f.Fault] != system.ErrTimeout:
			if m.Cut == nil {
				m.Cut = map[string]int{}
			}
			m.Cut[f.Fault]++
		}
	}
	return m
}

// midAnswer is how many timeouts the fleet had begun to answer, normal
// answers and cut-off faults alike.
func (m timeoutMatch) midAnswer() int {
	n := m.Answered
	for _, k := range m.Cut {
		n += k
	}
	return n
}

// faultMidAnswer is the pseudo fault kind reconcile is given for
// timeouts whose answer the fleet had begun (timeoutMatch.midAnswer).
const faultMidAnswer = "timeout_mid_answer"

// ownKinds are system error kinds that no fleet fault causes (the
// system's own decisions, e.g. a resilient mode giving up on a camera):
// reconcile leaves them out of the comparison. Add a kind here when the
// system gains one.
var ownKinds = map[string]bool{}

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
		if !ownKinds[k] {
			kinds[k] = true
		}
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
