package gate

import (
	"fmt"
	"math"

	"github.com/camload/camload/results"
)

// Pair is one base run and one head run measured back to back on the same
// machine (camload compare runs A B A B …).
type Pair struct {
	Base, Head *results.Run
}

// ComparePairs judges head against base pair by pair, the way to gate on a
// noisy machine: drift in the machine (other builds, thermal state, a
// neighbour's load) hits both members of a pair alike, so the ratio
// head ÷ base within a pair cancels it where comparing two pooled samples
// would not. The unit of replication is the pair.
//
// For each (mode, cameras) cell and metric, every pair contributes the
// ratio of the head's value to the base's (the median over a run's
// repetitions, normally one). Each row is an exact two-sided sign test
// over the pairs that changed: under "no difference" each pair is equally
// likely to get worse or better, so p = min(1, 2·P(X ≥ max(k, n−k))) for
// X ~ Binomial(n, ½). The rows are judged together with Holm–Bonferroni at
// opts.Alpha; a rejected row is a Regression when the median ratio is
// worse than 1 by at least opts.MinEffect. The sign test assumes nothing
// about the shape of the noise, at the price of power: n pairs reach at
// best p = 2·0.5^n, so a row needs PairsNeeded(Alpha/rows) pairs, and is
// Insufficient with fewer.
func ComparePairs(pairs []Pair, opts Options) ([]Row, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	if len(pairs) == 0 {
		return nil, nil
	}
	var rows []Row
	for _, hg := range results.Groups(pairs[0].Head) {
		metrics := opts.Metrics
		if len(metrics) == 0 {
			bg, _ := results.Find(results.Groups(pairs[0].Base), hg.Mode, hg.Cameras)
			metrics = append(append([]string(nil), DefaultMetrics...), apiP99Metrics(bg, hg)...)
		}
		for _, m := range metrics {
			rows = append(rows, comparePaired(pairs, hg.Mode, hg.Cameras, m))
		}
	}
	holm(rows, opts, func(r Row) float64 { return math.Min(1, 2*math.Pow(0.5, float64(r.NBase))) }, "pairs",
		func(n int) string { return fmt.Sprintf("%d pairs", n) }, PairsNeeded)
	return rows, nil
}

func comparePaired(pairs []Pair, mode string, cameras int, m string) Row {
	row := Row{Cell: fmt.Sprintf("%s/%d", mode, cameras), Metric: m, HigherIsBetter: results.HigherIsBetter(m), P: math.NaN(), Delta: "?"}
	var bvs, hvs, ratios []float64
	up, down := 0, 0
	headFailed := 0
	for _, p := range pairs {
		bg, okb := results.Find(results.Groups(p.Base), mode, cameras)
		hg, okh := results.Find(results.Groups(p.Head), mode, cameras)
		if !okb || !okh {
			continue
		}
		bv, bu, okb := bg.Median(m)
		hv, _, okh := hg.Median(m)
		if okb && !okh && len(hg.OK()) == 0 {
			headFailed++
		}
		if !okb || !okh {
			continue
		}
		row.Unit = bu
		bvs, hvs = append(bvs, bv), append(hvs, hv)
		var r float64
		switch {
		case bv == hv:
			r = 1
		case bv == 0:
			r = math.Inf(1)
		default:
			r = hv / bv
		}
		ratios = append(ratios, r)
		switch {
		case r > 1:
			up++
		case r < 1:
			down++
		}
	}
	row.NBase, row.NHead = len(bvs), len(hvs)
	if headFailed > 0 {
		row.Change, row.Note = Regression, fmt.Sprintf("head cell failed in %d of %d pairs", headFailed, len(pairs))
		if len(bvs) > 0 {
			row.Base = results.Median(bvs)
		}
		return row
	}
	if len(ratios) == 0 {
		row.Change, row.Note = Missing, "not measured"
		return row
	}
	row.Base, row.Head = results.Median(bvs), results.Median(hvs)
	row.Ratio = results.Median(ratios)
	row.P = signTest2(up, up+down)
	row.Change, row.Delta = NoChange, "~"
	return row
}

// signTest returns the one-sided p-value P(X ≥ k) for X ~ Binomial(n, ½):
// how likely k or more of n changed pairs point the same way by chance.
// With n = 0 it returns 1.
func signTest(k, n int) float64 {
	if n == 0 {
		return 1
	}
	p := 0.0
	for i := k; i <= n; i++ {
		p += binom(n, i)
	}
	return math.Min(1, p/math.Pow(2, float64(n)))
}

// signTest2 is the exact two-sided sign test of k pairs up out of n
// changed pairs: min(1, 2·P(X ≥ max(k, n−k))).
func signTest2(k, n int) float64 {
	return math.Min(1, 2*signTest(max(k, n-k), n))
}

func binom(n, k int) float64 {
	r := 1.0
	for i := 1; i <= k; i++ {
		r = r * float64(n-k+i) / float64(i)
	}
	return r
}

// PairsNeeded is the fewest pairs for which the two-sided sign test can
// reach level (every pair pointing the same way): the smallest n with
// 2·0.5^n ≤ level. At 0.05 it is 6; judging m rows together (Holm), pass
// Alpha/m.
func PairsNeeded(level float64) int {
	for n := 1; n < 1024; n++ {
		if 2*math.Pow(0.5, float64(n)) <= level {
			return n
		}
	}
	return 1024
}

// JudgePairs judges the pairs: the rules on the head runs taken together
// (each pair's head run is one repetition), their cells, and the paired
// comparison. Bad rules or options are *cfgerr.Error.
func JudgePairs(pairs []Pair, opts Options) (*Verdict, error) {
	if len(pairs) == 0 {
		return nil, fmt.Errorf("gate: no pairs to judge")
	}
	head := MergeRepetitions(pairs)
	v, err := judge(head, opts)
	if err != nil {
		return nil, err
	}
	v.BaseCommit = pairs[0].Base.Env.Commit
	v.Method = fmt.Sprintf("%s (%d)", MethodSignTest, len(pairs))
	v.Replication = UnitPair
	if v.Rows, err = ComparePairs(pairs, opts); err != nil {
		return nil, err
	}
	if v.Rows == nil {
		v.Rows = []Row{}
	}
	if len(v.Rows) == 0 && !opts.AllowMissingBaseline {
		return nil, errNoCommonCells(pairs[0].Base, head)
	}
	return v, nil
}

// MergeRepetitions returns the pairs' head runs as one run whose
// repetitions are the pairs (Repeat = pair index), for judging rules.
func MergeRepetitions(pairs []Pair) *results.Run {
	merged := *pairs[0].Head
	merged.Cells = nil
	for i, p := range pairs {
		for _, c := range p.Head.Cells {
			c.Repeat = i
			merged.Cells = append(merged.Cells, c)
		}
	}
	return &merged
}
