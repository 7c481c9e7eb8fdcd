package gate

import (
	"bytes"
	"flag"
	"math"
	"math/rand"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/camload/camload/internal/cfgerr"
	"github.com/camload/camload/internal/goldenfile"
	"github.com/camload/camload/results"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// cell builds an ok cell with the given figures.
func cell(mode string, cams, rep int, cycle time.Duration, rss int64) results.Cell {
	c := results.Cell{Mode: mode, Cameras: cams, Repeat: rep, Status: results.StatusOK}
	c.Cycles.Latency = results.Quantiles{Count: 1, P50: results.Duration(cycle), P99: results.Duration(cycle), Max: results.Duration(cycle)}
	c.Cycles.Visits, c.Cycles.ErrorRate = 100, 0.02
	c.Resources.RSSPeak, c.Resources.CPUCorePercent = rss, 50
	capacity := 120.0
	c.API = map[string]results.Endpoint{"latest": {Requests: 10, Throughput: 99, Success: 0.99, Capacity: &results.Capacity{Rate: capacity, LastPass: &capacity},
		Latency: results.Quantiles{Count: 10, P99: results.Duration(40 * time.Millisecond)}}}
	c.Ideal = results.Ideal{CycleTime: results.Duration(cycle / 2), Efficiency: 0.5}
	return c
}

func TestMetric(t *testing.T) {
	t.Parallel()
	c := cell("pooled", 100, 0, 800*time.Millisecond, 256<<20)
	for _, tc := range []struct {
		name string
		v    float64
		u    results.Unit
		ok   bool
	}{
		{"cycle_p99", 800e6, results.Nanoseconds, true},
		{"cycle_p42", 0, results.Nanoseconds, false}, // unknown statistic
		{"per_camera_p99", 0, results.Nanoseconds, false},
		{"error_rate", 0.02, results.Ratio, true},
		{"rss_peak", 256 << 20, results.Bytes, true},
		{"cpu_core", 50, results.Percent, true},
		{"efficiency", 0.5, results.Ratio, true},
		{"api.latest.p99", 40e6, results.Nanoseconds, true},
		{"api.latest.throughput", 99, results.Count, true},
		{"api.latest.success", 0.99, results.Ratio, true},
		{"api.latest.capacity", 120, results.Count, true},
		{"api.cameras.p99", 0, results.Count, false},    // endpoint not attacked
		{"api.latest.raw_p99", 0, results.Count, false}, // no uncorrected latency recorded
		{"api_throughput", 99, results.Count, true},
		{"no_such_metric", 0, results.Count, false},
	} {
		v, u, ok := results.Metric(c, tc.name)
		if ok != tc.ok || (ok && (v != tc.v || u != tc.u)) {
			t.Errorf("Metric(cell, %q) = (%v, %s, %t); want (%v, %s, %t)", tc.name, v, u, ok, tc.v, tc.u, tc.ok)
		}
	}
}

func TestKnownMetric(t *testing.T) {
	t.Parallel()
	for name, want := range map[string]bool{
		"cycle_p99": true, "per_camera_p50": true, "freshness_max": true, "error_rate": true, "efficiency": true,
		"api.latest.p99": true, "api.latest.raw_p99": true, "api.a.b.throughput": true, "api_capacity": true,
		"cycle_p98": false, "api.latest": false, "api.latest.raw_throughput": false, "api..p99": false, "rss": false,
	} {
		if got := results.KnownMetric(name); got != want {
			t.Errorf("KnownMetric(%q) = %t; want %t", name, got, want)
		}
	}
}

func TestFormat(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		v    float64
		u    results.Unit
		want string
	}{
		{812e6, results.Nanoseconds, "812ms"},
		{1.2549e9, results.Nanoseconds, "1.25s"},
		{53.21e3, results.Nanoseconds, "53.2µs"},
		{512 << 20, results.Bytes, "512 MiB"},
		{1.5 * (1 << 30), results.Bytes, "1.5 GiB"},
		{0.0052, results.Ratio, "0.52%"},
		{45, results.Percent, "45%"},
		{1234, results.Count, "1234"},
		{0, results.Count, "0"},
		{math.NaN(), results.Count, "n/a"},
	} {
		if got := results.Format(tc.v, tc.u); got != tc.want {
			t.Errorf("Format(%v, %s) = %q; want %q", tc.v, tc.u, got, tc.want)
		}
	}
}

// synthRun builds a run of one cell group with n repetitions whose
// figures come from rng around the given centres (±10% noise per
// repetition; each repetition's cycles ±10% around its own level).
func synthRun(rng *rand.Rand, n, cycles int, cycle time.Duration, rss int64) *results.Run {
	r := &results.Run{Schema: results.SchemaVersion, Scenario: "synthetic"}
	noise := func() float64 { return 1 + 0.1*(rng.Float64()*2-1) }
	for rep := 0; rep < n; rep++ {
		level := time.Duration(float64(cycle) * noise())
		c := cell("batched", 1000, rep, level, rss)
		var ds []float64
		for i := 0; i < cycles; i++ {
			d := float64(level) * noise()
			ds = append(ds, d)
			c.Cycles.Durations = append(c.Cycles.Durations, results.Duration(d))
		}
		setLatency(&c, ds)
		c.Resources.RSSPeak = int64(float64(rss) * noise())
		c.Resources.CPUCorePercent = 50 * noise()
		c.Cycles.ErrorRate = 0.02 * noise()
		r.Cells = append(r.Cells, c)
	}
	return r
}

// setLatency sets the cell's cycle quantiles from its cycle durations
// (nearest rank), as the runner's histogram would.
func setLatency(c *results.Cell, ds []float64) {
	s := append([]float64(nil), ds...)
	sort.Float64s(s)
	q := func(p float64) results.Duration {
		i := int(math.Ceil(p*float64(len(s)))) - 1
		return results.Duration(s[max(i, 0)])
	}
	c.Cycles.Latency = results.Quantiles{Count: int64(len(s)), P50: q(0.5), P90: q(0.9), P95: q(0.95), P99: q(0.99), Max: q(1)}
}

func findRow(rows []Row, metric string) Row {
	for _, r := range rows {
		if r.Metric == metric {
			return r
		}
	}
	return Row{Metric: metric, Change: "absent"}
}

func TestCompare(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name                 string
		n                    int
		cycleShift, rssShift float64
		want                 map[string]Change
	}{
		// A clear 30% slowdown and 40% more memory over 10 repeats: flagged.
		{"regression", 10, 1.3, 1.4, map[string]Change{"cycle_p99": Regression, "cycle_p50": Regression, "rss_peak": Regression, "cpu_core": NoChange}},
		// The same build twice (A/A): nothing flagged.
		{"A/A", 10, 1, 1, map[string]Change{"cycle_p99": NoChange, "rss_peak": NoChange, "cpu_core": NoChange, "error_rate": NoChange}},
		// 30% faster: an improvement, not a failure.
		{"improvement", 10, 0.7, 1, map[string]Change{"cycle_p50": Improvement}},
		// 40% more memory but only 3 repeats: 3+3 repetitions cannot
		// reach significance, so every row is insufficient, never a pass.
		{"too few", 3, 1, 1.4, map[string]Change{"rss_peak": Insufficient, "cycle_p99": Insufficient}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rng := rand.New(rand.NewSource(1))
			base := synthRun(rng, tc.n, 20, time.Second, 200<<20)
			head := synthRun(rng, tc.n, 20, time.Duration(float64(time.Second)*tc.cycleShift), int64(float64(200<<20)*tc.rssShift))
			rows, err := Compare(base, head, DefaultOptions)
			if err != nil {
				t.Fatal(err)
			}
			for m, want := range tc.want {
				if got := findRow(rows, m); got.Change != want {
					t.Errorf("Compare(%s): %s = %s (%s → %s, p=%.4f, level %.4f); want %s", tc.name, m, got.Change,
						results.Format(got.Base, got.Unit), results.Format(got.Head, got.Unit), got.P, got.Level, want)
				}
			}
			wantFail, insufficient := false, false
			for _, c := range tc.want {
				wantFail = wantFail || c == Regression
				insufficient = insufficient || c == Insufficient
			}
			if insufficient {
				r := findRow(rows, "rss_peak")
				if !strings.Contains(strings.Join(r.Warnings, ";"), "insufficient samples: n=3 repetitions cannot reach") {
					t.Errorf("Compare(%s): rss_peak warnings %q; want the insufficient-samples warning naming repetitions", tc.name, r.Warnings)
				}
			}
			v := &Verdict{Rows: rows, Options: DefaultOptions}
			if v.Failed() != wantFail {
				t.Errorf("Compare(%s): verdict failed = %t; want %t", tc.name, v.Failed(), wantFail)
			}
			strict := DefaultOptions
			strict.Strict = true
			v = &Verdict{Rows: rows, Options: strict}
			if v.Failed() != (wantFail || insufficient) {
				t.Errorf("Compare(%s) --strict: verdict failed = %t; want %t", tc.name, v.Failed(), wantFail || insufficient)
			}
		})
	}
}

// TestCompareAA compares two synthetic runs of the same distribution, 200
// seeded times: the gate (Holm over every row) must pass in at least 95%.
func TestCompareAA(t *testing.T) {
	t.Parallel()
	requireAAPass(t, "A/A (6+6 repetitions)", func(rng *rand.Rand) (*Verdict, error) {
		base := synthRun(rng, 6, 10, time.Second, 200<<20)
		head := synthRun(rng, 6, 10, time.Second, 200<<20)
		return Judge(head, base, DefaultOptions)
	})
}

// requireAAPass judges 200 seeded A/A comparisons (judge draws both sides
// from rng) and requires at least 95% of them to pass, none with a row
// too short to judge; what names the comparison.
func requireAAPass(t *testing.T, what string, judge func(rng *rand.Rand) (*Verdict, error)) {
	t.Helper()
	const tries = 200
	pass := 0
	for seed := int64(0); seed < tries; seed++ {
		v, err := judge(rand.New(rand.NewSource(seed)))
		if err != nil {
			t.Fatal(err)
		}
		if n := len(v.Insufficient()); n > 0 {
			t.Fatalf("%s, seed %d: %d rows insufficient", what, seed, n)
		}
		if !v.Failed() {
			pass++
		}
	}
	if pass < tries*95/100 {
		t.Errorf("%s passed %d of %d tries; want ≥ 95%%", what, pass, tries)
	}
	t.Logf("%s passed %d of %d tries", what, pass, tries)
}

// TestCompareOutlierCycle: the same build twice, one repetition of the head
// with one outlier cycle. Pooling cycles as independent samples called this
// a regression (p = 0.008 on 5 vs 5 cycles); one value per repetition does
// not.
func TestCompareOutlierCycle(t *testing.T) {
	t.Parallel()
	mk := func(reps int, outlier bool, seed int64) *results.Run {
		rng := rand.New(rand.NewSource(seed))
		r := &results.Run{Schema: results.SchemaVersion, Scenario: "outlier"}
		for rep := 0; rep < reps; rep++ {
			c := cell("batched", 1000, rep, time.Second, 200<<20)
			var ds []float64
			for i := 0; i < 5; i++ {
				d := float64(time.Second) * (1 + 0.02*rng.Float64())
				if outlier && rep == 0 && i == 4 {
					d *= 3
				}
				ds = append(ds, d)
				c.Cycles.Durations = append(c.Cycles.Durations, results.Duration(d))
			}
			setLatency(&c, ds)
			r.Cells = append(r.Cells, c)
		}
		return r
	}
	for _, reps := range []int{1, 6} {
		base, head := mk(reps, false, 1), mk(reps, true, 2)
		rows, err := Compare(base, head, Options{Alpha: 0.05, MinEffect: 0.05, Metrics: []string{"cycle_p50", "cycle_p99"}})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rows {
			if r.Change == Regression {
				t.Errorf("reps=%d: %s = REGRESSION (p=%.4f, %s → %s) from one outlier cycle", reps, r.Metric, r.P,
					results.Format(r.Base, r.Unit), results.Format(r.Head, r.Unit))
			}
		}
		if reps == 1 {
			if r := findRow(rows, "cycle_p99"); r.Change != Insufficient {
				t.Errorf("reps=1: cycle_p99 = %s; want %s (one repetition per side cannot be tested)", r.Change, Insufficient)
			}
		}
	}
}

func TestCompareHeadCellFailed(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewSource(2))
	base := synthRun(rng, 5, 5, time.Second, 1<<20)
	head := synthRun(rng, 5, 5, time.Second, 1<<20)
	for i := range head.Cells {
		head.Cells[i].Status = results.StatusFailed
	}
	rows, err := Compare(base, head, DefaultOptions)
	if err != nil {
		t.Fatal(err)
	}
	if r := findRow(rows, "cycle_p99"); r.Change != Regression || !strings.Contains(r.Note, "failed") {
		t.Errorf("Compare(head failed): cycle_p99 = %s %q; want a regression noting the failed cell", r.Change, r.Note)
	}
}

func TestOptionsValidate(t *testing.T) {
	t.Parallel()
	for _, o := range []Options{
		{Alpha: 0, MinEffect: 0.05},                                // alpha zero
		{Alpha: 1.5, MinEffect: 0.05},                              // alpha over 1
		{Alpha: 0.05, MinEffect: -1},                               // negative effect
		{Alpha: 0.05, MinEffect: 0.05, Metrics: []string{"speed"}}, // unknown metric
	} {
		if err := o.Validate(); !cfgerr.Is(err) {
			t.Errorf("%+v.Validate() = %v; want a *cfgerr.Error", o, err)
		}
	}
	if err := DefaultOptions.Validate(); err != nil {
		t.Errorf("DefaultOptions.Validate() = %v", err)
	}
}

func TestSignTest(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		k, n int
		want float64
	}{
		{5, 5, 1.0 / 32},
		{0, 5, 1},
		{4, 5, 6.0 / 32},
		{0, 0, 1},
		{10, 10, 1.0 / 1024},
	} {
		if got := signTest(tc.k, tc.n); math.Abs(got-tc.want) > 1e-12 {
			t.Errorf("signTest(%d, %d) = %v; want %v", tc.k, tc.n, got, tc.want)
		}
	}
	if got := signTest2(0, 6); math.Abs(got-2.0/64) > 1e-12 {
		t.Errorf("signTest2(0, 6) = %v; want 2/64", got)
	}
	for alpha, want := range map[float64]int{0.05: 6, 0.01: 8, 0.05 / 14: 10, 0.5: 2} {
		if got := PairsNeeded(alpha); got != want {
			t.Errorf("PairsNeeded(%v) = %d; want %d (smallest n with 2·0.5^n ≤ alpha)", alpha, got, want)
		}
	}
}

func TestComparePairs(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		pairs int
		shift float64
		want  Change
	}{
		// 6 rows per cell: Holm's first level is 0.05/6, which 8 pairs reach.
		{"slower in every pair", 8, 1.25, Regression},
		{"A/A", 8, 1, NoChange},
		{"faster", 8, 0.75, Improvement},
		{"too few pairs", 5, 1.25, Insufficient},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rng := rand.New(rand.NewSource(3))
			var pairs []Pair
			for i := 0; i < tc.pairs; i++ {
				// Machine drift: each pair runs at its own speed, ±30%,
				// shared by both members; the head differs by shift ±2%.
				drift := 0.7 + 0.6*rng.Float64()
				b := time.Duration(float64(time.Second) * drift)
				h := time.Duration(float64(b) * tc.shift * (0.98 + 0.04*rng.Float64()))
				br := &results.Run{Cells: []results.Cell{cell("batched", 1000, 0, b, 1<<20)}}
				hr := &results.Run{Cells: []results.Cell{cell("batched", 1000, 0, h, 1<<20)}}
				pairs = append(pairs, Pair{Base: br, Head: hr})
			}
			rows, err := ComparePairs(pairs, DefaultOptions)
			if err != nil {
				t.Fatal(err)
			}
			r := findRow(rows, "cycle_p99")
			if r.Change != tc.want {
				t.Errorf("ComparePairs(%s): cycle_p99 = %s ratio %.3f p=%.4f warnings %q; want %s",
					tc.name, r.Change, r.Ratio, r.P, r.Warnings, tc.want)
			}
			if tc.want == Insufficient && !strings.Contains(strings.Join(r.Warnings, ";"), "need 8 pairs") {
				t.Errorf("ComparePairs(%s): warnings %q; want the pairs needed (8)", tc.name, r.Warnings)
			}
		})
	}
}

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	goldenfile.Check(t, filepath.Join("testdata", name), got, *update)
}

// fixture returns the reports' run.json (modes × 100/1000 × 3
// repetitions, sync/1000#2 over budget) and head.json (batched/1000
// slower), with rules of every kind added to the head.
func fixture(t testing.TB) (run, head *results.Run) {
	t.Helper()
	run, err := results.Read(filepath.Join("..", "testdata", "run.json"))
	if err != nil {
		t.Fatal(err)
	}
	head, err = results.Read(filepath.Join("..", "testdata", "head.json"))
	if err != nil {
		t.Fatal(err)
	}
	return run, head
}

func withRules(r *results.Run) *results.Run {
	c := *r
	c.Thresholds = map[string]string{
		"cycle_p99{mode:batched,cameras:1000}": "< 1s",
		"error_rate":                           "< 5%",
		"rss_peak{cameras:100}":                "< 100MiB",
	}
	c.Expect = []string{
		"cycle_p99{mode:sync,cameras:1000} / cycle_p99{mode:sync,cameras:100} >= 5",
		"rss_peak{mode:batched} <= 0.8 * rss_peak{mode:pooled}",
		"capacity.latest{mode:batched} >= 50 * capacity.latest{mode:sync}",
	}
	c.ExpectOverBudget = []string{"mode:sync,cameras:1000"}
	return &c
}

func TestGolden(t *testing.T) {
	run, head := fixture(t)
	for _, tc := range []struct {
		golden     string
		head, base *results.Run
		opts       Options
		failed     bool
	}{
		{"gate.golden", run, nil, DefaultOptions, true},                                        // the fixture's thresholds
		{"gate-rules.golden", withRules(run), nil, DefaultOptions, true},                       // selectors, expect, over budget
		{"gate-baseline.golden", head, run, Options{Alpha: 0.05, MinEffect: 0.05}, true},       // thresholds + comparison
		{"gate-strict.golden", withRules(head), run, Options{Alpha: 0.05, Strict: true}, true}, // insufficient samples fail
	} {
		v, err := Judge(tc.head, tc.base, tc.opts)
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if err := v.Write(&buf); err != nil {
			t.Fatal(err)
		}
		golden(t, tc.golden, buf.Bytes())
		if v.Failed() != tc.failed {
			t.Errorf("%s: Failed() = %t; want %t", tc.golden, v.Failed(), tc.failed)
		}
		var x bytes.Buffer
		if err := WriteJUnit(&x, tc.head, v); err != nil {
			t.Fatal(err)
		}
		golden(t, strings.TrimSuffix(tc.golden, ".golden")+".junit.xml.golden", x.Bytes())
	}
}

// BenchmarkCompare judges a baseline against a head of 6 cells × 5
// repeats × 200 cycles, the size of a long CI run.
func BenchmarkCompare(b *testing.B) {
	rng := rand.New(rand.NewSource(1))
	var base, head results.Run
	for _, m := range []string{"sync", "pooled", "batched"} {
		for _, n := range []int{100, 1000} {
			for _, r := range []*results.Run{&base, &head} {
				one := synthRun(rng, 5, 200, time.Second, 1<<30)
				for _, c := range one.Cells {
					c.Mode, c.Cameras = m, n
					r.Cells = append(r.Cells, c)
				}
			}
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Compare(&base, &head, DefaultOptions); err != nil {
			b.Fatal(err)
		}
	}
}

// TestComparePairsAA: 200 seeded A/A comparisons of 11 pairs on a drifting
// machine pass in at least 95% of tries (Holm over the rows).
func TestComparePairsAA(t *testing.T) {
	t.Parallel()
	requireAAPass(t, "paired A/A (11 pairs)", func(rng *rand.Rand) (*Verdict, error) {
		var pairs []Pair
		for i := 0; i < 11; i++ {
			drift := 0.7 + 0.6*rng.Float64()
			mk := func() *results.Run {
				d := time.Duration(float64(time.Second) * drift * (0.95 + 0.1*rng.Float64()))
				c := cell("batched", 1000, 0, d, int64(float64(100<<20)*(0.95+0.1*rng.Float64())))
				c.Resources.CPUCorePercent = 50 * (0.95 + 0.1*rng.Float64())
				return &results.Run{Cells: []results.Cell{c}}
			}
			pairs = append(pairs, Pair{Base: mk(), Head: mk()})
		}
		return JudgePairs(pairs, DefaultOptions)
	})
}

// BenchmarkJudge judges the fixture's rules (thresholds on every cell and
// three expect rules, 3 repetitions a cell: bootstrap intervals).
func BenchmarkJudge(b *testing.B) {
	run, _ := fixture(b)
	r := withRules(run)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Judge(r, nil, DefaultOptions); err != nil {
			b.Fatal(err)
		}
	}
}
