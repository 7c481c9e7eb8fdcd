package dashboard

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"
)

// synthRun is a synthetic run's events, in the order a runner publishes
// them: a plan, then per cell its start, phases, cycles, resource and
// attack samples, capacity steps and summary, and the run's end.
type synthRun struct {
	cells   []CellRef
	warmup  int
	cycles  int
	load    []string
	capStep int
}

func defaultSynth() synthRun {
	var cells []CellRef
	for _, m := range []string{"sync", "pooled", "batched"} {
		cells = append(cells, CellRef{Index: len(cells) + 1, Mode: m, Cameras: 100, Repeat: 0})
	}
	return synthRun{cells: cells, warmup: 2, cycles: 12, load: []string{"latest"}, capStep: 5}
}

// events returns the run's events. Values are drawn from a seeded
// generator, so every call returns the same run.
func (s synthRun) events() []Event {
	rng := rand.New(rand.NewPCG(17, 1))
	start := time.Date(2026, 12, 2, 4, 0, 0, 0, time.UTC)
	at := start
	tick := func(d time.Duration) time.Time { at = at.Add(d); return at }
	var out []Event
	add := func(cell int, e Event) { e.Cell, e.At = cell, tick(100*time.Millisecond); out = append(out, e) }
	add(0, Event{Plan: &Plan{Scenario: "smoke", ScenarioFile: "scenarios/smoke.yaml", Started: start, Cells: s.cells,
		Warmup: s.warmup, Cycles: s.cycles, Load: s.load}})
	for ci, c := range s.cells {
		i := c.Index
		dir := fmt.Sprintf("cells/%s-%d-r%d", c.Mode, c.Cameras, c.Repeat)
		add(i, Event{CellStarted: &CellStarted{CellRef: c, Hosts: 4, Dir: dir}})
		add(i, Event{Phase: &Phase{Name: PhaseStarting}})
		base := time.Duration(900/(ci+1)) * time.Millisecond // later modes are faster
		cycle := func(n, of int, warm bool) (*Cycle, []time.Duration) {
			took := base + time.Duration(rng.Float64()*float64(base)/5)
			if warm {
				took += base / 2
			}
			pf := time.Duration(float64(base) / 20 * (0.8 + 0.4*rng.Float64()))
			cy := &Cycle{N: n, Of: of, Warmup: warm, Took: took, Cameras: c.Cameras, Processed: c.Cameras - 3, Skipped: 2,
				PerFrame: Quantiles{Count: int64(c.Cameras), P50: pf, P90: pf * 3 / 2, P99: pf * 3, Max: pf * 5}}
			if !warm && n%4 == 0 {
				cy.Errors = map[string]int{"timeout": 1, "conn": 1}
				cy.Faults = map[string]int{"hang": 1, "reset": 1}
			}
			return cy, []time.Duration{took}
		}
		for k := 1; k <= s.warmup; k++ {
			add(i, Event{Phase: &Phase{Name: PhaseWarmup, Step: k, Steps: s.warmup}})
			cy, _ := cycle(k, s.warmup, true)
			add(i, Event{Cycle: cy})
		}
		var took []time.Duration
		errs, faults := map[string]int{}, map[string]int{}
		for k := 1; k <= s.cycles; k++ {
			add(i, Event{Phase: &Phase{Name: PhaseCycle, Step: k, Steps: s.cycles}})
			for j := 0; j < 2; j++ {
				since := time.Duration(2*(k-1)+j) * base / 2
				add(i, Event{Resource: &Resource{Since: since,
					System: Proc{RSS: int64(60+10*ci+rng.IntN(8)) << 20, CPUPercent: 40 + 30*rng.Float64(), Goroutines: 20 + 10*ci + rng.IntN(5)},
					Runner: Proc{RSS: int64(30+rng.IntN(4)) << 20, CPUPercent: 5 + 5*rng.Float64(), Goroutines: 12 + rng.IntN(3)}}})
			}
			cy, d := cycle(k, s.cycles, false)
			took = append(took, d...)
			for kk, v := range cy.Errors {
				errs[kk] += v
			}
			for kk, v := range cy.Faults {
				faults[kk] += v
			}
			add(i, Event{Cycle: cy})
		}
		add(i, Event{Phase: &Phase{Name: PhaseProfile}})
		var api []Endpoint
		for _, t := range s.load {
			add(i, Event{Phase: &Phase{Name: PhaseLoad, Target: t, Rate: 200}})
			for w := 1; w <= 10; w++ {
				p50 := time.Duration(2+rng.IntN(2)) * time.Millisecond
				add(i, Event{Attack: &Attack{Target: t, Since: time.Duration(w) * time.Second, Rate: 200, Throughput: 195 + 5*rng.Float64(),
					Requests: 200, Errors: uint64(rng.IntN(2)), Latency: Quantiles{Count: 200, P50: p50, P90: 2 * p50, P99: 6 * p50, Max: 12 * p50}}})
			}
			lo, hi, best := 50.0, 3200.0, 0.0
			for st := 1; st <= s.capStep; st++ {
				rate := lo
				if st > 1 {
					rate = math.Round(math.Sqrt(lo * hi))
				}
				add(i, Event{Phase: &Phase{Name: PhaseCapacity, Target: t, Step: st, Steps: s.capStep, Rate: rate}})
				limit := 800.0 * float64(ci+1)
				p99 := time.Duration(float64(20*time.Millisecond) * rate / limit)
				pass := p99 <= 20*time.Millisecond
				add(i, Event{CapacityStep: &CapacityStep{Target: t, Step: st, Rate: rate, Requests: uint64(rate * 2), P99: p99,
					ErrorRate: 0.001, Pass: pass, SLOP99: 20 * time.Millisecond, SLOErrorRate: 0.01}})
				switch {
				case pass:
					best = rate
					if st > 1 {
						lo = rate
					}
				default:
					hi = rate
				}
			}
			ep := Endpoint{Name: t, Rate: 200, Throughput: 198.5, Success: 0.999, P50: 2 * time.Millisecond, P99: 12 * time.Millisecond}
			if best > 0 {
				ep.Capacity = &best
			}
			api = append(api, ep)
		}
		add(i, Event{Phase: &Phase{Name: PhaseStopping}})
		slices.Sort(took)
		q := func(p float64) time.Duration { return took[min(len(took)-1, int(p*float64(len(took))))] }
		add(i, Event{CellFinished: &CellFinished{CellRef: c, Status: "ok", Elapsed: 20 * time.Second,
			Cycles: s.cycles, CycleTime: Quantiles{Count: int64(len(took)), P50: q(0.5), P90: q(0.9), P99: q(0.99), Max: took[len(took)-1]},
			PerFrame:  Quantiles{Count: int64(s.cycles * c.Cameras), P50: base / 20, P90: base * 3 / 40, P99: base * 3 / 20, Max: base / 4},
			ErrorRate: float64(errs["timeout"]+errs["conn"]) / float64(s.cycles*c.Cameras), Errors: errs, Faults: faults, Reconciled: true,
			RSSPeak: int64(68+10*ci) << 20, CPUPercent: 55, GoroutinesPeak: 25 + 10*ci, API: api,
			Files: []Link{{"cpu", dir + "/cpu.pb.gz"}, {"heap", dir + "/heap.pb.gz"}, {"latest.bin", dir + "/api-latest.bin"}}}})
	}
	add(0, Event{RunFinished: &RunFinished{Elapsed: at.Sub(start), Report: "report.html", Results: "results.json", Verdict: "pass: 3 of 3 thresholds met"}})
	return out
}

// sseEvent is one event read from a stream.
type sseEvent struct {
	id uint64
	ev Event
}

// readEvent reads the next event of an SSE stream, skipping comments and
// retry lines; heartbeats counts the comments seen.
func readEvent(br *bufio.Reader, heartbeats *int) (sseEvent, error) {
	var out sseEvent
	var data []byte
	for {
		line, err := br.ReadBytes('\n')
		if err != nil {
			return out, err
		}
		line = bytes.TrimRight(line, "\n")
		switch {
		case len(line) == 0:
			if data != nil {
				if err := json.Unmarshal(data, &out.ev); err != nil {
					return out, fmt.Errorf("event %d: %w: %s", out.id, err, data)
				}
				return out, nil
			}
		case line[0] == ':':
			if heartbeats != nil {
				*heartbeats++
			}
		case bytes.HasPrefix(line, []byte("id: ")):
			n, err := strconv.ParseUint(string(line[4:]), 10, 64)
			if err != nil {
				return out, err
			}
			out.id = n
		case bytes.HasPrefix(line, []byte("data: ")):
			data = append(data, line[6:]...)
		case bytes.HasPrefix(line, []byte("retry: ")):
		default:
			return out, fmt.Errorf("unexpected stream line %q", line)
		}
	}
}

// kinds counts events by kind.
func kinds(evs []sseEvent) map[Kind]int {
	m := map[Kind]int{}
	for _, e := range evs {
		m[e.ev.Kind]++
	}
	return m
}

func idList(evs []sseEvent) string {
	var b strings.Builder
	for _, e := range evs {
		fmt.Fprintf(&b, "%d ", e.id)
	}
	return b.String()
}
