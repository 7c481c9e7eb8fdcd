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
// would not.
//
// For each (mode, cameras) cell and metric, every pair contributes the
// ratio of the head's value to the base's (the median over a run's
// repetitions, normally one). A row is a Regression when
//
//   - the median ratio is worse than 1 by at least opts.MinEffect, and
//   - a one-sided exact sign test over the pairs is significant at
//     opts.Alpha: under "no difference" each pair is equally likely to get
//     worse or better, so the p-value is P(X ≥ k) for X ~ Binomial(n, ½),
//     with k the pairs that got worse and n the pairs that changed.
//
// The sign test assumes nothing about the shape of the noise (it uses only
// the direction of each pair), at the price of power: at alpha 0.05 it
// needs at least 5 pairs, all worse, to flag anything, and the row carries
// a warning when there are fewer. Improvements are judged the same way in
// the other direction.
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
			rows = append(rows, comparePaired(pairs, hg.Mode, hg.Cameras, m, opts))
		}
	}
	return rows, nil
}

func comparePaired(pairs []Pair, mode string, cameras int, m string, opts Options) Row {
	row := Row{Cell: fmt.Sprintf("%s/%d", mode, cameras), Metric: m, HigherIsBetter: results.HigherIsBetter(m), P: math.NaN(), Delta: "?"}
	var bvs, hvs, ratios []float64
	worseN, betterN := 0, 0
	headFailed := 0
	for _, p := range pairs {
		bg, okb := results.Find(results.Groups(p.Base), mode, cameras)
		hg, okh := results.Find(results.Groups(p.Head), mode, cameras)
		if !okb || !okh {
			continue
		}
		bv, bu, okb := bg.Median(m)
		hv, hu, okh := hg.Median(m)
		if okb && !okh && len(hg.OK()) == 0 {
			headFailed++
		}
		if !okb || !okh {
			continue
		}
		row.Unit = bu
		_ = hu
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
		worse := r > 1
		if row.HigherIsBetter {
			worse = r < 1
		}
		switch {
		case r == 1:
		case worse:
			worseN++
		default:
			betterN++
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
	n := worseN + betterN
	pWorse, pBetter := signTest(worseN, n), signTest(betterN, n)
	row.P = math.Min(pWorse, pBetter)
	if need := pairsNeeded(opts.Alpha); len(ratios) < need {
		row.Warnings = append(row.Warnings, fmt.Sprintf("need >= %d pairs to detect a difference at alpha level %v", need, opts.Alpha))
	}
	row.Change = NoChange
	row.Delta = "~"
	change := row.Ratio - 1
	if row.HigherIsBetter {
		change = -change
	}
	switch {
	case pWorse <= opts.Alpha && change >= opts.MinEffect:
		row.Change = Regression
	case pBetter <= opts.Alpha && -change >= opts.MinEffect:
		row.Change = Improvement
	}
	if row.P <= opts.Alpha {
		row.Delta = fmt.Sprintf("%+.2f%%", (row.Ratio-1)*100)
	}
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

func binom(n, k int) float64 {
	r := 1.0
	for i := 1; i <= k; i++ {
		r = r * float64(n-k+i) / float64(i)
	}
	return r
}

// pairsNeeded is the fewest pairs for which the sign test can reach alpha
// (every pair pointing the same way).
func pairsNeeded(alpha float64) int {
	for n := 1; n < 64; n++ {
		if math.Pow(0.5, float64(n)) <= alpha {
			return n
		}
	}
	return 64
}

// JudgePairs checks thresholds on every head run's cells and compares the
// pairs. Bad thresholds or options are *cfgerr.Error.
func JudgePairs(pairs []Pair, opts Options) (*Verdict, error) {
	if len(pairs) == 0 {
		return nil, fmt.Errorf("gate: no pairs to judge")
	}
	head := pairs[0].Head
	rules, err := results.ParseRules(head.Thresholds)
	if err != nil {
		return nil, err
	}
	v := &Verdict{Scenario: head.Scenario, Rules: rules, Options: opts, HeadCommit: head.Env.Commit, BaseCommit: pairs[0].Base.Env.Commit,
		Method: fmt.Sprintf("%s (%d)", MethodSignTest, len(pairs))}
	for i, p := range pairs {
		// Each head run has repeat 1; name its checks by the pair instead.
		for _, c := range Evaluate(p.Head, rules) {
			c.Repeat = i
			v.Checks = append(v.Checks, c)
		}
	}
	if v.Rows, err = ComparePairs(pairs, opts); err != nil {
		return nil, err
	}
	if v.Rows == nil {
		v.Rows = []Row{}
	}
	return v, nil
}
