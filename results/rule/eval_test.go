package rule

import (
	"errors"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
)

// table is a Source over literal samples, keyed "cell|metric".
type table struct {
	cells   []Cell
	samples map[string]Sample
}

func (t *table) Cells() []Cell { return t.cells }

func (t *table) Sample(c Cell, metric string) (Sample, error) {
	u, err := vocabulary(metric)
	if err != nil {
		return Sample{}, err
	}
	s, ok := t.samples[c.Name+"|"+metric]
	if !ok {
		return Sample{Unit: u, Reason: "not measured"}, nil
	}
	s.Unit = u
	return s, nil
}

func cell(mode string, cameras int) Cell {
	return Cell{Name: mode + "/" + strconv.Itoa(cameras), Labels: map[string]string{"mode": mode, "cameras": strconv.Itoa(cameras)}}
}

// newTable builds a table of cells mode×cameras with samples given as
// "mode/cameras|metric" → values.
func newTable(modes []string, cameras []int, samples map[string]Sample) *table {
	t := &table{samples: samples}
	for _, m := range modes {
		for _, n := range cameras {
			t.cells = append(t.cells, cell(m, n))
		}
	}
	return t
}

func vals(v ...float64) Sample { return Sample{Values: v} }

func secs(v ...float64) Sample {
	for i := range v {
		v[i] *= 1e9
	}
	return Sample{Values: v}
}

func mustRule(t *testing.T, s string) *Rule {
	t.Helper()
	var r *Rule
	var err error
	if strings.Contains(s, ": ") {
		r, err = ParseThresholdLine(s)
	} else {
		r, err = ParseExpect(s)
	}
	if err != nil {
		t.Fatalf("parse %q: %v", s, err)
	}
	if err := r.Check(vocabulary); err != nil {
		t.Fatalf("check %q: %v", s, err)
	}
	return r
}

func TestEvaluate(t *testing.T) {
	t.Parallel()
	modes, cams := []string{"async", "batched"}, []int{100, 1000}
	for _, tc := range []struct {
		name    string
		rule    string
		samples map[string]Sample
		want    []Verdict // one per result, in cell order
		msg     []string  // each in the first result's message
	}{
		{"threshold passes on one repetition", "cycle_p99{mode:batched,cameras:1000}: < 1s",
			map[string]Sample{"batched/1000|cycle_p99": secs(0.8)},
			[]Verdict{Pass}, []string{"PASS cycle_p99{mode:batched,cameras:1000}: < 1s on batched/1000: measured 800ms, need < 1s (n=1)"}},
		{"threshold fails on one repetition", "cycle_p99{mode:batched,cameras:1000}: < 1s",
			map[string]Sample{"batched/1000|cycle_p99": secs(1.2)},
			[]Verdict{Fail}, []string{"FAIL", "measured 1.2s, need < 1s"}},
		{"threshold without selector is judged per cell", "cycle_p99: < 1s",
			map[string]Sample{"async/100|cycle_p99": secs(0.5), "async/1000|cycle_p99": secs(5), "batched/100|cycle_p99": secs(0.1), "batched/1000|cycle_p99": secs(0.9)},
			[]Verdict{Pass, Fail, Pass, Pass}, []string{"on async/100: measured 500ms"}},
		{"selector on one label expands over the other", "cycle_p99{mode:async}: < 1s",
			map[string]Sample{"async/100|cycle_p99": secs(0.5), "async/1000|cycle_p99": secs(5)},
			[]Verdict{Pass, Fail}, nil},
		{"repetitions all below the limit pass", "cycle_p99{mode:batched,cameras:1000}: < 1s",
			map[string]Sample{"batched/1000|cycle_p99": secs(0.8, 0.9, 0.85)},
			[]Verdict{Pass}, []string{"850ms (95% CI 800ms … 900ms)", "n=3", "fewer than 6 repetitions"}},
		{"repetitions on both sides of the limit are inconclusive", "cycle_p99{mode:batched,cameras:1000}: < 1s",
			map[string]Sample{"batched/1000|cycle_p99": secs(0.8, 1.2, 0.9)},
			[]Verdict{Inconclusive}, []string{"INCONCLUSIVE", "CI straddles the limit"}},
		{"repetitions all above the limit fail", "cycle_p99{mode:batched,cameras:1000}: < 1s",
			map[string]Sample{"batched/1000|cycle_p99": secs(1.1, 1.3, 1.2)},
			[]Verdict{Fail}, nil},
		{"percent threshold", "error_rate{mode:async}: <= 5% + 0.5%",
			map[string]Sample{"async/100|error_rate": vals(0.05), "async/1000|error_rate": vals(0.056)},
			[]Verdict{Pass, Fail}, []string{"measured 5%, need <= 5.5%"}},
		{"ratio of cells passes", "cycle_p99{mode:async,cameras:1000} / cycle_p99{mode:async,cameras:100} >= 5",
			map[string]Sample{"async/1000|cycle_p99": secs(6), "async/100|cycle_p99": secs(1)},
			[]Verdict{Pass}, []string{"PASS", ": measured 6, need >= 5; cycle_p99 of async/1000 = 6s (n=1), cycle_p99 of async/100 = 1s (n=1)"}},
		{"ratio of cells fails", "cycle_p99{mode:async,cameras:1000} / cycle_p99{mode:async,cameras:100} >= 5",
			map[string]Sample{"async/1000|cycle_p99": secs(4), "async/100|cycle_p99": secs(1)},
			[]Verdict{Fail}, []string{"measured 4, need >= 5"}},
		{"ratio with repetitions passes on its CI", "cycle_p99{mode:async,cameras:1000} / cycle_p99{mode:async,cameras:100} >= 5",
			map[string]Sample{"async/1000|cycle_p99": secs(5.8, 6.1, 6.3, 5.9, 6.0, 6.2), "async/100|cycle_p99": secs(1, 1.05, 0.98, 1.02, 0.99, 1.01)},
			[]Verdict{Pass}, []string{"(95% CI"}},
		{"ratio with repetitions around the bar is inconclusive", "cycle_p99{mode:async,cameras:1000} / cycle_p99{mode:async,cameras:100} >= 5",
			map[string]Sample{"async/1000|cycle_p99": secs(4.5, 5.5, 4.8, 5.3, 5.0, 5.1), "async/100|cycle_p99": secs(1, 1.05, 0.98, 1.02, 0.99, 1.01)},
			[]Verdict{Inconclusive}, nil},
		{"memory fraction", "rss_peak{mode:batched,cameras:1000} <= 0.2 * rss_peak{mode:async,cameras:1000}",
			map[string]Sample{"batched/1000|rss_peak": vals(300 << 20), "async/1000|rss_peak": vals(2 << 30)},
			[]Verdict{Pass}, []string{"measured 300 MiB, need <= 410 MiB", "rss_peak of batched/1000 = 300 MiB", "rss_peak of async/1000 = 2 GiB"}},
		{"cross-cell rule joins on the free label", "capacity.list{mode:batched} >= 50 * capacity.list{mode:async}",
			map[string]Sample{"batched/100|capacity.list": vals(3000), "async/100|capacity.list": vals(40), "batched/1000|capacity.list": vals(1000), "async/1000|capacity.list": vals(30)},
			[]Verdict{Pass, Fail}, []string{"capacity.list of batched/100 = 3000", "capacity.list of async/100 = 40"}},
		{"censored bound that settles the rule passes", "capacity.list{mode:batched,cameras:1000} >= 50 * capacity.list{mode:async,cameras:1000}",
			map[string]Sample{"batched/1000|capacity.list": {Values: []float64{2000}, Censored: []bool{true}, Note: "the search never failed"}, "async/1000|capacity.list": vals(30)},
			[]Verdict{Pass}, []string{"measured ≥ 2000, need >= 1500", "censored: the search never failed", "passes on the lower bound"}},
		{"censored bound below the bar is inconclusive", "capacity.list{mode:batched,cameras:1000} / capacity.list{mode:async,cameras:1000} >= 50",
			map[string]Sample{"batched/1000|capacity.list": {Values: []float64{1000}, Censored: []bool{true}}, "async/1000|capacity.list": vals(30)},
			[]Verdict{Inconclusive}, []string{"measured ≥ 33.3, need >= 50", "only a lower bound, which does not settle the rule"}},
		{"censored bound above an upper limit fails", "capacity.list{mode:batched,cameras:1000} <= 10 * capacity.list{mode:async,cameras:1000}",
			map[string]Sample{"batched/1000|capacity.list": {Values: []float64{2000}, Censored: []bool{true}}, "async/1000|capacity.list": vals(30)},
			[]Verdict{Fail}, []string{"fails already at the lower bound"}},
		{"censored divisor turns the ratio into an upper bound", "capacity.list{mode:async,cameras:1000} / capacity.list{mode:batched,cameras:1000} <= 5%",
			map[string]Sample{"batched/1000|capacity.list": {Values: []float64{2000}, Censored: []bool{true}}, "async/1000|capacity.list": vals(30)},
			[]Verdict{Pass}, []string{"measured 0%…1.5%, need <= 5%"}},
		{"censored repetitions among exact ones", "capacity.list{mode:batched,cameras:1000} >= 1500",
			map[string]Sample{"batched/1000|capacity.list": {Values: []float64{2000, 1800, 2000}, Censored: []bool{true, false, true}}},
			[]Verdict{Pass}, []string{"≥ 2000 (95% CI ≥ 1800)"}},
		{"an upper bound that settles the rule passes", "capacity.list{mode:batched,cameras:1000} >= 50 * capacity.list{mode:async,cameras:1000}",
			map[string]Sample{"batched/1000|capacity.list": vals(3200), "async/1000|capacity.list": {Values: []float64{25}, Below: []bool{true}, Note: "the search failed at its floor"}},
			[]Verdict{Pass}, []string{"measured 3200, need >= (< 1250)", "capacity.list of async/1000 = < 25 (n=1, upper bound: the search failed at its floor)", "passes on the upper bound of a censored value"}},
		{"an upper bound that does not settle the rule is inconclusive", "capacity.list{mode:batched,cameras:1000} >= 50 * capacity.list{mode:async,cameras:1000}",
			map[string]Sample{"batched/1000|capacity.list": vals(1000), "async/1000|capacity.list": {Values: []float64{25}, Below: []bool{true}}},
			[]Verdict{Inconclusive}, []string{"INCONCLUSIVE", "need >= (< 1250)", "only an upper bound, which does not settle the rule"}},
		{"a ratio over an upper-bounded divisor is a lower bound", "capacity.list{mode:batched,cameras:1000} / capacity.list{mode:async,cameras:1000} >= 50",
			map[string]Sample{"batched/1000|capacity.list": vals(3200), "async/1000|capacity.list": {Values: []float64{25}, Below: []bool{true}}},
			[]Verdict{Pass}, []string{"measured ≥ 128, need >= 50"}},
		{"an upper bound under a floor fails it", "capacity.list{mode:async,cameras:1000}: >= 30",
			map[string]Sample{"async/1000|capacity.list": {Values: []float64{25}, Below: []bool{true}}},
			[]Verdict{Fail}, []string{"measured < 25, need >= 30 (n=1, upper bound)", "fails already at the upper bound"}},
		{"lower and upper bounds together", "capacity.list{mode:batched,cameras:1000} >= 50 * capacity.list{mode:async,cameras:1000}",
			map[string]Sample{"batched/1000|capacity.list": {Values: []float64{2000}, Censored: []bool{true}}, "async/1000|capacity.list": {Values: []float64{25}, Below: []bool{true}}},
			[]Verdict{Pass}, []string{"measured ≥ 2000, need >= (< 1250)", "passes on the bounds of censored values"}},
		{"upper bounds among exact repetitions", "capacity.list{mode:async,cameras:1000}: <= 30",
			map[string]Sample{"async/1000|capacity.list": {Values: []float64{25, 6, 25}, Below: []bool{true, false, true}}},
			[]Verdict{Pass}, []string{"measured 0…25", "upper bound"}},
		{"missing cell value fails and says why", "cycle_p99{mode:async}: < 60s",
			map[string]Sample{"async/100|cycle_p99": secs(1), "async/1000|cycle_p99": {Reason: "over budget"}},
			[]Verdict{Pass, Fail}, nil},
		{"a missing repetition fails", "cycle_p99{mode:async,cameras:100}: < 60s",
			map[string]Sample{"async/100|cycle_p99": {Values: []float64{1e9, 2e9}, Missing: 1, Reason: "over budget"}},
			[]Verdict{Fail}, []string{"async/100: 1 of 3 repetitions have no cycle_p99 (over budget)"}},
		{"an excused cell is skipped", "cycle_p99{mode:async,cameras:1000}: < 60s",
			map[string]Sample{"async/1000|cycle_p99": {Excused: "expected over budget"}},
			[]Verdict{Skipped}, []string{"SKIP", "async/1000 is expected over budget"}},
		{"the same operand twice is drawn once", "rss_peak{mode:async,cameras:100} / rss_peak{mode:async,cameras:100} == 1",
			map[string]Sample{"async/100|rss_peak": vals(1e6, 3e6, 2e6, 5e6)},
			[]Verdict{Pass}, nil},
		{"a divisor that can be zero is inconclusive", "rss_peak{mode:async,cameras:100} / (rss_peak{mode:async,cameras:1000} - 1MB) > 1",
			map[string]Sample{"async/100|rss_peak": vals(2e6), "async/1000|rss_peak": vals(1e6)},
			[]Verdict{Inconclusive}, []string{"a divisor can be zero"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := mustRule(t, tc.rule)
			res, err := r.Evaluate(newTable(modes, cams, tc.samples), Options{})
			if err != nil {
				t.Fatalf("Evaluate(%q): %v", tc.rule, err)
			}
			got := make([]Verdict, len(res))
			for i, x := range res {
				got[i] = x.Verdict
			}
			for _, x := range res {
				t.Log(x.Message)
			}
			if len(got) != len(tc.want) || !equal(got, tc.want) {
				t.Fatalf("Evaluate(%q) verdicts = %v; want %v", tc.rule, got, tc.want)
			}
			for _, m := range tc.msg {
				if !strings.Contains(res[0].Message, m) {
					t.Errorf("Evaluate(%q) message = %q; want it to contain %q", tc.rule, res[0].Message, m)
				}
			}
		})
	}
}

func equal(a, b []Verdict) bool {
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestEvaluateErrors(t *testing.T) {
	t.Parallel()
	src := newTable([]string{"async", "batched"}, []int{100, 1000}, map[string]Sample{})
	for _, tc := range []struct {
		rule string
		kind error
		msg  string
	}{
		// A typo in a value matches nothing.
		{"cycle_p99{mode:batchd}: < 1s", ErrNoMatch, `"cycle_p99{mode:batchd}" matches no cell (cells have cameras: 100, 1000; mode: async, batched)`},
		// A typo in a label name.
		{"cycle_p99{mdoe:batched}: < 1s", ErrNoMatch, `no cell has label "mdoe"`},
		// One good and one bad reference.
		{"cycle_p99{mode:async,cameras:1000} / cycle_p99{mode:async,cameras:10} >= 5", ErrNoMatch, `"cycle_p99{mode:async,cameras:10}" matches no cell`},
	} {
		r := mustRule(t, tc.rule)
		_, err := r.Evaluate(src, Options{})
		var re *Error
		if !errors.Is(err, tc.kind) || !errors.As(err, &re) || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("Evaluate(%q) = %v; want %v containing %q", tc.rule, err, tc.kind, tc.msg)
		}
	}

	// References with no cells in common.
	disjoint := &table{cells: []Cell{
		{Name: "a/100", Labels: map[string]string{"mode": "a", "cameras": "100"}},
		{Name: "b/1000", Labels: map[string]string{"mode": "b", "cameras": "1000"}},
	}}
	r := mustRule(t, "cycle_p99{mode:a} / cycle_p99{mode:b} >= 5")
	if _, err := r.Evaluate(disjoint, Options{}); !errors.Is(err, ErrNoMatch) || !strings.Contains(err.Error(), "no cells in common") {
		t.Errorf("Evaluate(%q) on disjoint cells = %v; want ErrNoMatch, no cells in common", r, err)
	}

	// A Source whose unit contradicts the rule.
	bytesSrc := &unitSource{table: src, unit: Bytes}
	r = mustRule(t, "cycle_p99{mode:async,cameras:100}: < 1s")
	if _, err := r.Evaluate(bytesSrc, Options{}); !errors.Is(err, ErrUnit) {
		t.Errorf("Evaluate(%q) with a bytes-valued source = %v; want ErrUnit", r, err)
	}

	// Bad options.
	if _, err := r.Evaluate(src, Options{Confidence: 1.5}); err == nil {
		t.Errorf("Evaluate with confidence 1.5 = nil error; want one")
	}

	// Evaluate collects every rule's error and judges the rest.
	good := mustRule(t, "cycle_p99{mode:async,cameras:100}: < 1s")
	bad := mustRule(t, "cycle_p99{mode:nope}: < 1s")
	res, err := Evaluate([]*Rule{bad, good}, src, Options{})
	if !errors.Is(err, ErrNoMatch) || len(res) != 1 || res[0].Rule != good {
		t.Errorf("Evaluate([bad, good]) = %d results, %v; want good's result and ErrNoMatch", len(res), err)
	}
}

type unitSource struct {
	*table
	unit Unit
}

func (s *unitSource) Sample(c Cell, metric string) (Sample, error) {
	return Sample{Unit: s.unit, Values: []float64{1}}, nil
}

// TestBootstrapSeed: the same seed gives the same interval, whatever
// else was evaluated before.
func TestBootstrapSeed(t *testing.T) {
	t.Parallel()
	src := newTable([]string{"async"}, []int{100, 1000}, map[string]Sample{
		"async/1000|cycle_p99": secs(5.8, 6.1, 6.3, 5.9, 6.0, 6.2, 7.1, 5.5),
		"async/100|cycle_p99":  secs(1, 1.05, 0.98, 1.02, 0.99, 1.01, 1.2, 0.9),
	})
	r := mustRule(t, "cycle_p99{mode:async,cameras:1000} / cycle_p99{mode:async,cameras:100} >= 5")
	a, _ := r.Evaluate(src, Options{Seed: 7})
	b, _ := r.Evaluate(src, Options{Seed: 7})
	if a[0].Margin != b[0].Margin {
		t.Errorf("seed 7 twice: %v, then %v", a[0].Margin, b[0].Margin)
	}
	if !(a[0].Left.CILo < a[0].Left.Value() && a[0].Left.Value() < a[0].Left.CIHi) {
		t.Errorf("ratio %v: the point estimate is not inside its CI", a[0].Left)
	}
}

// TestBootstrapCoverage checks the interval on synthetic data whose true
// ratio of medians is known: with 10 repetitions per cell and log-normal
// noise, the 95% interval of the ratio should hold the true ratio in
// about 95% of runs (percentile bootstraps of small samples run a little
// short, hence the 85% floor).
func TestBootstrapCoverage(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("statistical test")
	}
	const trials, n, trueRatio = 200, 10, 5.0
	r := mustRule(t, "cycle_p99{mode:async,cameras:1000} / cycle_p99{mode:async,cameras:100} >= 5")
	rng := rand.New(rand.NewPCG(1, 2))
	draw := func(median float64) Sample {
		var s Sample
		for range n {
			s.Values = append(s.Values, median*math.Exp(0.2*rng.NormFloat64()))
		}
		return s
	}
	covered, pass := 0, 0
	for i := range trials {
		src := newTable([]string{"async"}, []int{100, 1000}, map[string]Sample{
			"async/1000|cycle_p99": draw(trueRatio * 1e9),
			"async/100|cycle_p99":  draw(1e9),
		})
		res, err := r.Evaluate(src, Options{Resamples: 1000, Seed: uint64(i)})
		if err != nil {
			t.Fatal(err)
		}
		if l := res[0].Left; l.CILo <= trueRatio && trueRatio <= l.CIHi {
			covered++
		}
		if res[0].Verdict == Pass {
			pass++
		}
	}
	if covered < trials*85/100 {
		t.Errorf("the 95%% CI held the true ratio in %d of %d trials; want ≥ 85%%", covered, trials)
	}
	// The true ratio sits on the bar: a pass would be a false positive.
	if pass > trials*5/100 {
		t.Errorf("%d of %d trials passed a rule whose true ratio is exactly the bar; want ≤ 5%%", pass, trials)
	}
}

// BenchmarkEvaluateBootstrap is a cross-cell rule on two cells of ten
// repetitions each, at the default number of resamples.
func BenchmarkEvaluateBootstrap(b *testing.B) {
	src := newTable([]string{"async"}, []int{100, 1000}, map[string]Sample{
		"async/1000|cycle_p99": secs(5.8, 6.1, 6.3, 5.9, 6.0, 6.2, 7.1, 5.5, 6.4, 6.0),
		"async/100|cycle_p99":  secs(1, 1.05, 0.98, 1.02, 0.99, 1.01, 1.2, 0.9, 1.1, 1.0),
	})
	r, err := ParseExpect("cycle_p99{mode:async,cameras:1000} / cycle_p99{mode:async,cameras:100} >= 5")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.Evaluate(src, Options{}); err != nil {
			b.Fatal(err)
		}
	}
}

// TestEvaluateBadBounds: a value flagged both a lower and an upper bound,
// a negative upper bound, or flags that do not match the values are the
// source's error, never a verdict.
func TestEvaluateBadBounds(t *testing.T) {
	t.Parallel()
	r := mustRule(t, "capacity.list{mode:async,cameras:1000}: >= 2")
	for name, s := range map[string]Sample{
		"both":     {Values: []float64{25}, Censored: []bool{true}, Below: []bool{true}},
		"negative": {Values: []float64{-1}, Below: []bool{true}},
		"length":   {Values: []float64{25, 30}, Below: []bool{true}},
	} {
		src := newTable([]string{"async"}, []int{1000}, map[string]Sample{"async/1000|capacity.list": s})
		if res, err := r.Evaluate(src, Options{}); err == nil {
			t.Errorf("%s: Evaluate = %v, nil; want an error", name, res)
		}
	}
}
