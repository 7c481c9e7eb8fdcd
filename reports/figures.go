package reports

// This file renders figures the way "Measurement discipline" asks: every
// figure names its window and process in its label, percentiles carry
// their n (and fall back to the maximum when n cannot support them),
// medians and means carry a 95% CI, ratios carry the CI of the ratio, and
// censored values are lower bounds ("≥").

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"

	"github.com/camload/camload/results"
)

// obs is one repetition's value of a figure.
type obs struct {
	v  float64
	ok bool
	// n is the number of samples behind v when v is a statistic of
	// samples (a percentile, a median, a hit ratio); 0 otherwise.
	n int64
	// max is true when v is the maximum standing in for a percentile n
	// cannot support (see percentile).
	max bool
	// lower is true when v is a lower bound (a censored capacity).
	lower bool
	// ci is the repetition's own 95% CI of v (bootstrap over its
	// samples), when it recorded one.
	ci *[2]float64
}

// figure is one row of a table: a label naming the statistic, its window
// and its process, and how to read it from a cell.
type figure struct {
	label string
	unit  results.Unit
	get   func(results.Cell) obs
	// centre marks a median or mean: it is shown with its 95% CI.
	centre bool
	// metric, when set, is the results.Metric name read; its unit is
	// taken from a cell that holds it.
	metric string
}

// quantileQ maps a statistic name to its quantile (0 for mean and max).
var quantileQ = map[string]float64{"p50": 0.5, "p90": 0.9, "p95": 0.95, "p99": 0.99}

// percentile returns statistic stat ("p50" … "p99", "mean", "max") of q as
// one observation. A percentile whose n cannot support it
// (results.Supports: p99 needs n ≥ 100, p95 n ≥ 20, p90 n ≥ 10, the
// median n ≥ 2) is replaced by the maximum and marked so; every figure in
// every report goes through here, so none shows an unsupported percentile.
func percentile(q results.Quantiles, stat string) obs {
	if q.Count == 0 {
		return obs{}
	}
	o := obs{ok: true, n: q.Count}
	switch stat {
	case "mean":
		o.v = float64(q.Mean)
		o.ci = durCI(q.MeanCI)
		return o
	case "max":
		o.v = float64(q.Max)
		return o
	}
	p, known := quantileQ[stat]
	if !known {
		return obs{}
	}
	if !results.Supports(q.Count, p) {
		return obs{v: float64(q.Max), ok: true, n: q.Count, max: true}
	}
	switch stat {
	case "p50":
		o.v, o.ci = float64(q.P50), durCI(q.P50CI)
	case "p90":
		o.v = float64(q.P90)
	case "p95":
		o.v = float64(q.P95)
	case "p99":
		o.v = float64(q.P99)
	}
	return o
}

func durCI(ci *[2]results.Duration) *[2]float64 {
	if ci == nil {
		return nil
	}
	return &[2]float64{float64(ci[0]), float64(ci[1])}
}

// quantFig is a figure of one statistic of a cell's latency distribution.
func quantFig(label, stat string, pick func(results.Cell) results.Quantiles) figure {
	return figure{label: label, unit: results.Nanoseconds, centre: stat == "p50" || stat == "mean",
		get: func(c results.Cell) obs { return percentile(pick(c), stat) }}
}

// valFig is a figure with one plain value per cell.
func valFig(label string, unit results.Unit, f func(results.Cell) (float64, bool)) figure {
	return figure{label: label, unit: unit, get: func(c results.Cell) obs {
		v, ok := f(c)
		return obs{v: v, ok: ok && !math.IsNaN(v) && !math.IsInf(v, 0)}
	}}
}

// metricFig reads a results.Metric name.
func metricFig(label, name string) figure {
	_, u, _ := results.Metric(results.Cell{}, name)
	f := valFig(label, u, func(c results.Cell) (float64, bool) {
		v, _, ok := results.Metric(c, name)
		return v, ok
	})
	f.metric = name
	return f
}

// sentFig is f where the cell's attack on endpoint ep (every endpoint
// when ep is "") sent a request, absent elsewhere: the throughput of an
// attack that sent nothing was not measured, it is not 0.
func sentFig(ep string, f figure) figure {
	get := f.get
	f.get = func(c results.Cell) obs {
		var sent uint64
		for name, e := range c.API {
			if ep == "" || name == ep {
				sent += e.Requests
			}
		}
		if sent == 0 {
			return obs{}
		}
		return get(c)
	}
	return f
}

// series is a figure over a group's ok repetitions.
type series struct {
	obs    []obs
	unit   results.Unit
	centre bool
	// nok and total count the group's ok and all repetitions; status is
	// the label shown when no repetition holds the figure.
	nok, total int
	status     string
}

func (s series) values() []float64 {
	vs := make([]float64, len(s.obs))
	for i, o := range s.obs {
		vs[i] = o.v
	}
	return vs
}

func (s series) lower() bool { return slices.ContainsFunc(s.obs, func(o obs) bool { return o.lower }) }

// collect reads figure f from every ok repetition of g.
func (r *reader) collect(g results.Group, f figure) series {
	s := series{unit: f.unit, centre: f.centre, total: len(g.Cells), status: r.groupStatus(g)}
	for _, c := range g.OK() {
		s.nok++
		if o := f.get(c); o.ok {
			s.obs = append(s.obs, o)
			if f.metric != "" {
				_, s.unit, _ = results.Metric(c, f.metric)
			}
		}
	}
	return s
}

// render shows a series: the median over repetitions, "≥" for a lower
// bound, "= max (n=5)" for a percentile n cannot support, "(n=120)" for a
// supported one, "[lo, hi]" (95% CI) for a median or mean, and the
// repetitions that held it when some did not.
func (s series) render() string {
	if s.nok == 0 {
		return s.status
	}
	if len(s.obs) == 0 {
		return "—"
	}
	v := results.Median(s.values())
	out := results.Format(v, s.unit)
	if s.lower() {
		out = "≥ " + out
	}
	var n int64 = math.MaxInt64
	anyMax := false
	for _, o := range s.obs {
		n = min(n, o.n)
		anyMax = anyMax || o.max
	}
	if anyMax {
		out += " = max"
	}
	if s.centre && !s.lower() {
		if lo, hi, ok := s.ci(); ok {
			out += " [" + results.Format(lo, s.unit) + ", " + results.Format(hi, s.unit) + "]"
		}
	}
	var notes []string
	if n > 0 && n < math.MaxInt64 {
		notes = append(notes, fmt.Sprintf("n=%d", n))
	}
	if s.nok < s.total || len(s.obs) < s.nok {
		notes = append(notes, fmt.Sprintf("%d/%d reps", len(s.obs), s.total))
	}
	if len(notes) > 0 {
		out += " (" + strings.Join(notes, ", ") + ")"
	}
	return out
}

// ci is the 95% CI of the series' median: a bootstrap over repetitions
// when there are two or more, else the one repetition's own interval.
func (s series) ci() (lo, hi float64, ok bool) {
	switch {
	case len(s.obs) >= 2:
		lo, hi = bootstrap(func(draw func([]float64) float64) float64 { return draw(s.values()) })
		return lo, hi, true
	case len(s.obs) == 1 && s.obs[0].ci != nil:
		return s.obs[0].ci[0], s.obs[0].ci[1], true
	}
	return 0, 0, false
}

// Bootstrap parameters: fixed, so a report is reproducible.
const (
	bootResamples = 2000
	bootSeed      = 0x5eed
)

// bootstrap returns the 95% percentile interval of stat over resamples;
// stat calls draw(vs) to get the median of one resample of vs (each
// slice is resampled independently, with replacement).
func bootstrap(stat func(draw func([]float64) float64) float64) (lo, hi float64) {
	rng := rand.New(rand.NewPCG(bootSeed, bootSeed))
	var scratch []float64
	draw := func(vs []float64) float64 {
		scratch = scratch[:0]
		for range vs {
			scratch = append(scratch, vs[rng.IntN(len(vs))])
		}
		slices.Sort(scratch)
		n := len(scratch)
		if n%2 == 1 {
			return scratch[n/2]
		}
		return (scratch[n/2-1] + scratch[n/2]) / 2
	}
	out := make([]float64, 0, bootResamples)
	for range bootResamples {
		if v := stat(draw); !math.IsNaN(v) {
			out = append(out, v)
		}
	}
	if len(out) == 0 {
		return math.NaN(), math.NaN()
	}
	slices.Sort(out)
	at := func(q float64) float64 { return out[min(len(out)-1, int(q*float64(len(out))))] }
	return at(0.025), at(0.975)
}

// ratio renders b ÷ a (after ÷ before) with its 95% CI: bootstrap over
// both groups' repetitions when each has two or more, "(n=1)" when one
// has a single repetition. A lower bound on b makes the ratio a lower
// bound ("≥ 400×"), one on a an upper bound; both make it unknown.
func ratio(a, b series) string {
	if len(a.obs) == 0 || len(b.obs) == 0 {
		return "—"
	}
	pa, pb := results.Median(a.values()), results.Median(b.values())
	if pa == 0 {
		return "—"
	}
	r := pb / pa
	x := func(v float64) string { return results.Format(v, results.Count) + "×" }
	switch {
	case a.lower() && b.lower():
		return "unknown (both bounds)"
	case b.lower():
		return "≥ " + x(r)
	case a.lower():
		return "≤ " + x(r)
	}
	if len(a.obs) < 2 || len(b.obs) < 2 {
		return x(r) + " (n=1)"
	}
	av, bv := a.values(), b.values()
	lo, hi := bootstrap(func(draw func([]float64) float64) float64 {
		da := draw(av)
		db := draw(bv)
		if da == 0 {
			return math.NaN()
		}
		return db / da
	})
	return x(r) + " [" + x(lo) + ", " + x(hi) + "]"
}

// improvement is Improvement of the medians, "≥"/"≤" when a side is a
// bound.
func improvement(a, b series) string {
	if len(a.obs) == 0 || len(b.obs) == 0 {
		return "—"
	}
	s := Improvement(results.Median(a.values()), results.Median(b.values()))
	switch {
	case a.lower() && b.lower():
		return "unknown (both bounds)"
	case b.lower():
		return "≥ " + s
	case a.lower():
		return "≤ " + s
	}
	return s
}

// windowFig is a figure of one window of a cell.
func windowFig(label string, unit results.Unit, pick func(results.Windows) *results.Window, f func(results.Cell, *results.Window) (float64, bool)) figure {
	return valFig(label, unit, func(c results.Cell) (float64, bool) {
		w := pick(c.Windows)
		if w == nil {
			return 0, false
		}
		return f(c, w)
	})
}

func cyclesW(w results.Windows) *results.Window { return w.Cycles }
func apiW(w results.Windows) *results.Window    { return w.API }

// cpuCore is a process's CPU over a window as a share of one core.
func cpuCore(sec func(*results.Window) float64) func(results.Cell, *results.Window) (float64, bool) {
	return func(_ results.Cell, w *results.Window) (float64, bool) {
		d := w.Seconds()
		if d <= 0 {
			return 0, false
		}
		return sec(w) / d * 100, true
	}
}

func cpuSystem(w *results.Window) float64 { return w.CPUSecondsSystem }
func cpuRunner(w *results.Window) float64 { return w.CPUSecondsRunner }

// cpuPerFrame is the system's CPU time over the cycles window ÷ the
// frames it processed (on time and, under a cycle deadline, late).
func cpuPerFrame(c results.Cell) (float64, bool) {
	w := c.Windows.Cycles
	// Frames stored late (after a cycle deadline) cost the same work as
	// those stored on time.
	frames := c.Cycles.Processed + c.Cycles.LateProcessed
	if w == nil || frames <= 0 || w.CPUSecondsSystem <= 0 {
		return 0, false
	}
	return w.CPUSecondsSystem * 1e9 / float64(frames), true
}

// hitFig is the hit ratio of one cache level over a window, with the
// lookups behind it as n.
func hitFig(label string, pick func(results.Windows) *results.Window, l2 bool) figure {
	return figure{label: label, unit: results.Ratio, get: func(c results.Cell) obs {
		w := pick(c.Windows)
		if w == nil || w.Cache == nil {
			return obs{}
		}
		h, m := w.Cache.L1Hits, w.Cache.L1Misses
		if l2 {
			h, m = w.Cache.L2Hits, w.Cache.L2Misses
		}
		if h+m <= 0 {
			return obs{}
		}
		return obs{v: float64(h) / float64(h+m), ok: true, n: h + m}
	}}
}

// servedFig is a fraction of the freshness reads, with the reads as n.
func servedFig(label string, count func(*results.Freshness) int) figure {
	return figure{label: label, unit: results.Ratio, get: func(c results.Cell) obs {
		f := c.FreshnessServed
		if f == nil || f.Reads <= 0 {
			return obs{}
		}
		return obs{v: float64(count(f)) / float64(f.Reads), ok: true, n: int64(f.Reads)}
	}}
}

func servedFreshAge(c results.Cell) results.Quantiles { return results.ServedAge(c, true) }

func servedAge(c results.Cell) results.Quantiles { return results.ServedAge(c, false) }

// capacityFig is an endpoint's searched capacity (or the sum over the
// searched endpoints when ep is ""), a lower bound when censored.
func capacityFig(label, ep string) figure {
	return figure{label: label, unit: results.Count, get: func(c results.Cell) obs {
		var o obs
		for name, e := range c.API {
			if (ep != "" && name != ep) || e.Capacity == nil {
				continue
			}
			if e.Capacity.LastPass == nil {
				// The floor failed: an upper bound (< MinRate), not 0;
				// no figure (the bracket column says "< floor").
				return obs{}
			}
			o.ok = true
			o.v += e.Capacity.Rate
			o.lower = o.lower || e.Capacity.Censored
		}
		return o
	}}
}
