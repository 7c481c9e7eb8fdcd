package gate

import (
	"fmt"
	"math"
	"sort"

	"golang.org/x/perf/benchmath"

	"github.com/camload/camload/internal/cfgerr"
	"github.com/camload/camload/results"
)

// Options configure the regression judgement. Start from DefaultOptions;
// fields may be added.
type Options struct {
	// Alpha is the significance level: a difference counts only when the
	// test's p-value is at most Alpha.
	Alpha float64
	// MinEffect is the smallest relative change that counts as a
	// regression (0.05 = 5%), however significant: a 1% slowdown measured
	// very precisely is not worth failing CI for.
	MinEffect float64
	// Metrics are compared per (mode, cameras) cell. Empty means
	// DefaultMetrics plus api.<endpoint>.p99 for every endpoint both runs
	// attacked.
	Metrics []string
}

// DefaultOptions are benchstat's alpha and a 5% minimum effect.
var DefaultOptions = Options{Alpha: 0.05, MinEffect: 0.05}

// DefaultMetrics are compared between a baseline and a head run.
var DefaultMetrics = []string{"cycle_p99", "rss_peak", "cpu_core", "error_rate"}

// Validate reports a bad option as a *cfgerr.Error naming it.
func (o Options) Validate() error {
	var errs []error
	if !(o.Alpha > 0 && o.Alpha < 1) {
		errs = append(errs, cfgerr.Field("alpha", "must be in (0, 1), got %v", o.Alpha))
	}
	if !(o.MinEffect >= 0 && o.MinEffect < 10) {
		errs = append(errs, cfgerr.Field("min-effect", "must be in [0, 10), got %v", o.MinEffect))
	}
	for _, m := range o.Metrics {
		if !results.KnownMetric(m) {
			errs = append(errs, cfgerr.Field("metrics", "unknown metric %q", m))
		}
	}
	return cfgerr.Join(errs...)
}

// Change classifies a compared metric.
type Change string

// Change values.
const (
	NoChange    Change = "~"           // not significant, or below MinEffect
	Regression  Change = "regression"  // significantly worse by at least MinEffect
	Improvement Change = "improvement" // significantly better by at least MinEffect
	// Missing is a cell or metric one side has and the other lacks; a
	// head cell that failed where the baseline succeeded is a Regression.
	Missing Change = "missing"
)

// Row is one metric of one (mode, cameras) cell compared between a
// baseline and a head run.
type Row struct {
	Cell   string // "sync/1000"
	Metric string
	Unit   results.Unit
	// Base and Head are the centres: the median of the repetitions, or for
	// cycle_p99 the 99th percentile of every measured cycle.
	Base, Head     float64
	BaseRange      string // confidence interval of the centre, "± 3%" (median rows)
	HeadRange      string
	NBase, NHead   int
	P              float64 // Mann–Whitney U test p-value (two-sided)
	Delta          string  // "+12.00%", "~", "?"
	Ratio          float64 // Head ÷ Base
	Change         Change
	Note           string   // why a row is Missing or failed
	Warnings       []string // benchmath's warnings (too few samples, …)
	HigherIsBetter bool
}

// Compare judges head against base per (mode, cameras) cell present in
// both and per metric, over the repetitions of each cell.
//
// For every metric but cycle_p99 the samples are the per-repetition values
// (rss_peak of each repeat, …) summarized by their median. For cycle_p99 the
// samples are every measured cycle's duration (Cycles.Durations, pooled over
// the repetitions): the U test asks whether cycle times as a whole moved,
// and the row's centre and delta are the pooled 99th percentiles. A cell
// with no recorded durations falls back to its per-repetition p99.
//
// A row is a Regression when the U test rejects "same distribution" at
// opts.Alpha (benchmath.AssumeNothing, as benchstat does) and the centre got
// worse by at least opts.MinEffect. benchmath's warnings (too few samples to
// ever reach significance) are kept on the row and never fail it.
func Compare(base, head *results.Run, opts Options) ([]Row, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	thr := &benchmath.Thresholds{CompareAlpha: opts.Alpha}
	baseGroups := results.Groups(base)
	var rows []Row
	for _, hg := range results.Groups(head) {
		bg, ok := results.Find(baseGroups, hg.Mode, hg.Cameras)
		if !ok {
			continue // a new cell has nothing to regress from
		}
		metrics := opts.Metrics
		if len(metrics) == 0 {
			metrics = append(append([]string(nil), DefaultMetrics...), apiP99Metrics(bg, hg)...)
		}
		for _, m := range metrics {
			rows = append(rows, compareMetric(bg, hg, m, thr, opts))
		}
	}
	return rows, nil
}

// apiP99Metrics names api.<endpoint>.p99 for every endpoint both groups
// attacked, sorted.
func apiP99Metrics(a, b results.Group) []string {
	eps := func(g results.Group) map[string]bool {
		m := map[string]bool{}
		for _, c := range g.Cells {
			for name := range c.API {
				m[name] = true
			}
		}
		return m
	}
	ea, eb := eps(a), eps(b)
	var out []string
	for name := range ea {
		if eb[name] {
			out = append(out, "api."+name+".p99")
		}
	}
	sort.Strings(out)
	return out
}

// samples returns the values compared for metric m in g and whether the
// centre is the pooled p99 rather than the median.
func samples(g results.Group, m string) (vs []float64, unit results.Unit, pooledP99 bool) {
	if m == "cycle_p99" {
		ok := g.OK()
		for _, c := range ok {
			for _, d := range c.Cycles.Durations {
				vs = append(vs, float64(d))
			}
		}
		if len(vs) > 0 {
			return vs, results.Nanoseconds, true
		}
	}
	vs, unit = g.Values(m)
	return vs, unit, false
}

func compareMetric(bg, hg results.Group, m string, thr *benchmath.Thresholds, opts Options) Row {
	row := Row{Cell: hg.Key(), Metric: m, HigherIsBetter: results.HigherIsBetter(m), P: math.NaN(), Delta: "?"}
	bv, unit, pooled := samples(bg, m)
	hv, hunit, hpooled := samples(hg, m)
	row.Unit = unit
	if len(hv) > 0 {
		row.Unit = hunit
	}
	row.NBase, row.NHead = len(bv), len(hv)
	switch {
	case len(hv) == 0 && len(hg.OK()) == 0 && len(bv) > 0:
		row.Change, row.Note = Regression, "head cell "+hg.Status()
		row.Base = results.Median(bv)
		return row
	case len(bv) == 0 || len(hv) == 0:
		row.Change, row.Note = Missing, "not measured in "+map[bool]string{true: "base", false: "head"}[len(bv) == 0]
		return row
	}
	if pooled != hpooled { // one side has durations, the other only p99s
		bv, _ = bg.Values(m)
		hv, _ = hg.Values(m)
		pooled = false
		row.NBase, row.NHead = len(bv), len(hv)
	}
	bs := benchmath.NewSample(bv, thr)
	hs := benchmath.NewSample(hv, thr)
	if pooled {
		row.Base, row.Head = percentile(bs.Values, 0.99), percentile(hs.Values, 0.99)
	} else {
		bsum := benchmath.AssumeNothing.Summary(bs, 0.95)
		hsum := benchmath.AssumeNothing.Summary(hs, 0.95)
		row.Base, row.Head = bsum.Center, hsum.Center
		row.BaseRange, row.HeadRange = rangeString(bsum), rangeString(hsum)
		row.Warnings = appendWarnings(row.Warnings, bsum.Warnings...)
		row.Warnings = appendWarnings(row.Warnings, hsum.Warnings...)
	}
	cmp := benchmath.AssumeNothing.Compare(bs, hs)
	row.P = cmp.P
	row.Warnings = appendWarnings(row.Warnings, cmp.Warnings...)
	row.Delta = cmp.FormatDelta(row.Base, row.Head)
	row.Change = NoChange
	if row.Base != 0 {
		row.Ratio = row.Head / row.Base
	} else if row.Head == 0 {
		row.Ratio = 1
	} else {
		row.Ratio = math.Inf(1)
	}
	if cmp.P <= cmp.Alpha {
		worse := row.Ratio - 1
		if row.HigherIsBetter {
			worse = -worse
		}
		switch {
		case worse >= opts.MinEffect:
			row.Change = Regression
		case -worse >= opts.MinEffect:
			row.Change = Improvement
		}
	}
	return row
}

// percentile returns the q-quantile of sorted values (nearest rank).
func percentile(sorted []float64, q float64) float64 {
	if len(sorted) == 0 {
		return math.NaN()
	}
	i := int(math.Ceil(q*float64(len(sorted)))) - 1
	if i < 0 {
		i = 0
	}
	return sorted[i]
}

func rangeString(s benchmath.Summary) string {
	r := s.PctRangeString()
	if r == "∞" {
		return "± ∞"
	}
	return "± " + r
}

func appendWarnings(ws []string, errs ...error) []string {
	for _, e := range errs {
		msg := e.Error()
		dup := false
		for _, w := range ws {
			if w == msg {
				dup = true
				break
			}
		}
		if !dup {
			ws = append(ws, msg)
		}
	}
	return ws
}

// formatP renders a p-value like benchstat: "p=0.002 n=3+3".
func (r Row) formatP() string {
	if math.IsNaN(r.P) {
		return ""
	}
	if r.NBase == r.NHead {
		return fmt.Sprintf("p=%.3f n=%d", r.P, r.NBase)
	}
	return fmt.Sprintf("p=%.3f n=%d+%d", r.P, r.NBase, r.NHead)
}

func (r Row) formatCentre(v float64, rng string, n int) string {
	if n == 0 {
		return "—"
	}
	s := results.Format(v, r.Unit)
	if rng != "" {
		s += " " + rng
	}
	return s
}

// mark is the last column of a comparison row.
func (r Row) mark() string {
	switch r.Change {
	case Regression:
		if r.Note != "" {
			return "REGRESSION (" + r.Note + ")"
		}
		return "REGRESSION"
	case Improvement:
		return "improved"
	case Missing:
		return r.Note
	}
	return ""
}

// metricLabel is used in messages: "cycle_p99 of sync/1000".
func (r Row) metricLabel() string { return r.Metric + " of " + r.Cell }
