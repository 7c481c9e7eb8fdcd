package gate

import (
	"fmt"
	"math"
	"sort"
	"strings"

	"golang.org/x/perf/benchmath"

	"github.com/camload/camload/internal/cfgerr"
	"github.com/camload/camload/results"
	"github.com/camload/camload/results/rule"
)

// Options configure the judgement. Start from DefaultOptions; fields may
// be added. The zero value of every field but Alpha is a valid choice.
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
	// Thresholds and Expect are ad hoc rules added to the run's own
	// (--threshold "KEY: COND", --expect "EXPR"); nil adds none.
	Thresholds, Expect []string
	// AllowInconclusive lets an inconclusive rule (its interval
	// straddles the limit) pass the gate; false fails it.
	AllowInconclusive bool
	// AllowEmpty accepts a run without cells (nothing is judged); false
	// makes it an error.
	AllowEmpty bool
	// AllowMissingBaseline accepts a baseline that has no cell in common
	// with the run (nothing is compared); false makes it an error.
	AllowMissingBaseline bool
	// Strict fails the gate when a comparison has too few repetitions (or
	// pairs) to reach significance; false only warns.
	Strict bool
	// Rule tunes the bootstrap of rule verdicts; the zero value is 95%
	// intervals, rule.DefaultResamples resamples, seed 0.
	Rule rule.Options
}

// DefaultOptions are benchstat's alpha and a 5% minimum effect.
var DefaultOptions = Options{Alpha: 0.05, MinEffect: 0.05}

// DefaultMetrics are compared between a baseline and a head run, one
// value per repetition: the repetition's cycle median and p99, its RSS
// peak, its CPU and its error rate.
var DefaultMetrics = []string{"cycle_p50", "cycle_p99", "rss_peak", "cpu_core", "error_rate"}

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
	// Insufficient is a row whose repetitions (or pairs) are too few for
	// the test to reach significance at its level: it cannot detect a
	// change, so it is not a pass. It fails the gate with Options.Strict.
	Insufficient Change = "insufficient samples"
)

// Row is one metric of one (mode, cameras) cell compared between a
// baseline and a head run.
type Row struct {
	Cell   string // "sync/1000"
	Metric string
	Unit   results.Unit
	// Base and Head are the centres: the median over repetitions (or
	// pairs) of each repetition's value.
	Base, Head   float64
	BaseRange    string // confidence interval of the centre, "± 3%" (median rows)
	HeadRange    string
	NBase, NHead int
	P            float64 // p-value of the test (two-sided)
	// Level is the significance level the row was held to (Holm: Alpha
	// divided by the rows still in play).
	Level          float64
	Delta          string  // "+12.00%", "~", "?"
	Ratio          float64 // Head ÷ Base
	Change         Change
	Note           string   // why a row is Missing or failed
	Warnings       []string // benchmath's warnings (too few samples, …)
	HigherIsBetter bool
}

// Compare judges head against base per (mode, cameras) cell present in
// both and per metric. The unit of replication is the repetition: each
// repetition contributes one value (its cycle median, its p99, its RSS
// peak, …), never its individual cycles, which are not independent of one
// another (they share the repetition's machine state, draws and warm-up).
// The row's centre is the median over repetitions.
//
// Each row is a Mann–Whitney U test (benchmath.AssumeNothing, as benchstat
// does) of base against head. Because a verdict reads many rows at once,
// the rows are judged together with the Holm–Bonferroni procedure at
// opts.Alpha, so that an A/A comparison fails with probability at most
// Alpha however many rows it has. A rejected row is a Regression when the
// centre got worse by at least opts.MinEffect (an Improvement when better).
// A row whose repetitions cannot reach the first Holm level even when
// every head value lies beyond every base value is Insufficient: with n =
// 3 + 3 the smallest two-sided p is 0.1, so it could never detect anything.
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
			rows = append(rows, compareMetric(bg, hg, m, thr))
		}
	}
	holm(rows, opts, func(r Row) float64 { return minPMannWhitney(r.NBase, r.NHead) }, "repetitions", func(n int) string {
		return fmt.Sprintf("%d per side", n)
	}, repsNeeded)
	return rows, nil
}

// UnitRepetition and UnitPair name the unit of replication in verdicts.
const (
	UnitRepetition = "repetition"
	UnitPair       = "pair"
)

// holm classifies the testable rows (P not NaN, not Missing or a failed
// head) with the Holm–Bonferroni step-down procedure at opts.Alpha over
// the m testable rows, and marks Insufficient the rows whose smallest
// attainable p-value (minP) exceeds Alpha/m. need(level) is the sample
// size that reaches a level, for the warning.
func holm(rows []Row, opts Options, minP func(Row) float64, what string, needText func(int) string, need func(float64) int) {
	var idx []int
	for i, r := range rows {
		if r.Change == Missing || r.Change == Regression || math.IsNaN(r.P) {
			continue
		}
		rows[i].Change, rows[i].Delta = NoChange, "~"
		idx = append(idx, i)
	}
	m := len(idx)
	if m == 0 {
		return
	}
	first := opts.Alpha / float64(m)
	for _, i := range idx {
		r := &rows[i]
		r.Level = first
		if minP(*r) > first {
			r.Change = Insufficient
			r.Warnings = appendWarnings(r.Warnings, fmt.Errorf("%s: %s %s cannot reach p ≤ %.3g (alpha %g over %d comparisons, Holm); need %s",
				Insufficient, nText(r.NBase, r.NHead), what, first, opts.Alpha, m, needText(need(first))))
		}
	}
	sort.SliceStable(idx, func(a, b int) bool { return rows[idx[a]].P < rows[idx[b]].P })
	for k, i := range idx {
		r := &rows[i]
		level := opts.Alpha / float64(m-k)
		r.Level = level
		if r.P > level {
			break // step-down: every later row is retained
		}
		r.Delta = fmt.Sprintf("%+.2f%%", (r.Ratio-1)*100)
		worse := r.Ratio - 1
		if r.HigherIsBetter {
			worse = -worse
		}
		switch {
		case worse >= opts.MinEffect:
			r.Change = Regression
		case -worse >= opts.MinEffect:
			r.Change = Improvement
		default:
			r.Change = NoChange
		}
	}
}

func nText(a, b int) string {
	if a == b {
		return fmt.Sprintf("n=%d", a)
	}
	return fmt.Sprintf("n=%d+%d", a, b)
}

// minPMannWhitney is the smallest two-sided p-value of a U test with n1
// and n2 samples (all of one side beyond all of the other, no ties):
// 2 / C(n1+n2, n1).
func minPMannWhitney(n1, n2 int) float64 {
	if n1 == 0 || n2 == 0 {
		return 1
	}
	return math.Min(1, 2/binom(n1+n2, n1))
}

// repsNeeded is the fewest repetitions per side whose U test can reach
// level.
func repsNeeded(level float64) int {
	for n := 1; n < 1000; n++ {
		if minPMannWhitney(n, n) <= level {
			return n
		}
	}
	return 1000
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

func compareMetric(bg, hg results.Group, m string, thr *benchmath.Thresholds) Row {
	row := Row{Cell: hg.Key(), Metric: m, HigherIsBetter: results.HigherIsBetter(m), P: math.NaN(), Delta: "?"}
	bv, unit := bg.Values(m)
	hv, hunit := hg.Values(m)
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
	bs := benchmath.NewSample(bv, thr)
	hs := benchmath.NewSample(hv, thr)
	bsum := benchmath.AssumeNothing.Summary(bs, 0.95)
	hsum := benchmath.AssumeNothing.Summary(hs, 0.95)
	row.Base, row.Head = bsum.Center, hsum.Center
	row.BaseRange, row.HeadRange = rangeString(bsum), rangeString(hsum)
	row.Warnings = appendWarnings(row.Warnings, bsum.Warnings...)
	row.Warnings = appendWarnings(row.Warnings, hsum.Warnings...)
	cmp := benchmath.AssumeNothing.Compare(bs, hs)
	row.P = cmp.P
	for _, w := range cmp.Warnings {
		// The sample-size warning is replaced by the Holm-aware one.
		if !strings.Contains(w.Error(), "to detect a difference") {
			row.Warnings = appendWarnings(row.Warnings, w)
		}
	}
	row.Change = NoChange
	switch {
	case row.Base != 0:
		row.Ratio = row.Head / row.Base
	case row.Head == 0:
		row.Ratio = 1
	default:
		row.Ratio = math.Inf(1)
	}
	return row
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
	case Insufficient:
		return string(Insufficient)
	}
	return ""
}

// metricLabel is used in messages: "cycle_p99 of sync/1000".
func (r Row) metricLabel() string { return r.Metric + " of " + r.Cell }
