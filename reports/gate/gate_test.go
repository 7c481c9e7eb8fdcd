package gate

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"math"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/camload/camload/internal/cfgerr"
	"github.com/camload/camload/results"
)

var update = flag.Bool("update", false, "rewrite the golden files in ../testdata")

func TestParseThreshold(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		expr string
		want results.Threshold // Expr is filled in from expr
		err  bool
	}{
		{expr: "< 1s", want: results.Threshold{Op: results.Less, Value: 1e9, Lit: results.Nanoseconds}},                // duration
		{expr: "<=50ms", want: results.Threshold{Op: results.LessEqual, Value: 50e6, Lit: results.Nanoseconds}},        // no space
		{expr: "  >= 1.5m ", want: results.Threshold{Op: results.GreaterEqual, Value: 90e9, Lit: results.Nanoseconds}}, // padded, fractional
		{expr: "< 1%", want: results.Threshold{Op: results.Less, Value: 1, Lit: results.Percent}},                      // percentage
		{expr: "< 0.5 %", want: results.Threshold{Op: results.Less, Value: 0.5, Lit: results.Percent}},                 // spaced percentage
		{expr: "< 512MiB", want: results.Threshold{Op: results.Less, Value: 512 << 20, Lit: results.Bytes}},            // binary size
		{expr: "< 1.5 GB", want: results.Threshold{Op: results.Less, Value: 1.5e9, Lit: results.Bytes}},                // decimal size
		{expr: "< 64kib", want: results.Threshold{Op: results.Less, Value: 64 << 10, Lit: results.Bytes}},              // case-insensitive unit
		{expr: "> 100", want: results.Threshold{Op: results.Greater, Value: 100, Lit: results.Count}},                  // bare number
		{expr: "== 0", want: results.Threshold{Op: results.Equal, Value: 0, Lit: results.Count}},                       // equality
		{expr: "!= -1", want: results.Threshold{Op: results.NotEqual, Value: -1, Lit: results.Count}},                  // negative
		{expr: "1s", err: true},           // no operator
		{expr: "<", err: true},            // no value
		{expr: "< fast", err: true},       // not a number
		{expr: "< 10 parsecs", err: true}, // unknown unit
		{expr: "=< 1s", err: true},        // wrong operator
		{expr: "< 1..2s", err: true},      // malformed number
		{expr: "", err: true},             // empty
		{expr: "< NaN", err: true},        // NaN is not a limit
	} {
		got, err := results.ParseThreshold(tc.expr)
		if tc.err {
			if err == nil || !errors.Is(err, results.ErrThreshold) {
				t.Errorf("ParseThreshold(%q) = (%+v, %v); want an ErrThreshold", tc.expr, got, err)
			}
			continue
		}
		tc.want.Expr = strings.TrimSpace(tc.expr)
		if err != nil || got != tc.want {
			t.Errorf("ParseThreshold(%q) = (%+v, %v); want (%+v, nil)", tc.expr, got, err, tc.want)
		}
	}
}

func TestHolds(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		expr  string
		value float64
		unit  results.Unit
		want  bool
		err   bool
	}{
		{"< 1s", 999e6, results.Nanoseconds, true, false},    // under
		{"< 1s", 1e9, results.Nanoseconds, false, false},     // equal fails a strict <
		{"<= 1s", 1e9, results.Nanoseconds, true, false},     // equal passes <=
		{"< 1%", 0.009, results.Ratio, true, false},          // % against a 0…1 ratio
		{"< 1%", 0.011, results.Ratio, false, false},         // over
		{"< 0.01", 0.011, results.Ratio, false, false},       // bare number against a ratio
		{"< 150%", 120, results.Percent, true, false},        // CPU percent
		{"< 512MiB", 600 << 20, results.Bytes, false, false}, // bytes over
		{"> 100", 150, results.Count, true, false},           // count
		{"< 1s", 1 << 20, results.Bytes, false, true},        // duration against bytes
		{"< 512MiB", 1e6, results.Nanoseconds, false, true},  // bytes against duration
		{"< 1%", 5, results.Count, false, true},              // percent against a count
	} {
		th, err := results.ParseThreshold(tc.expr)
		if err != nil {
			t.Fatalf("ParseThreshold(%q): %v", tc.expr, err)
		}
		got, err := th.Holds(tc.value, tc.unit)
		if (err != nil) != tc.err || got != tc.want {
			t.Errorf("%q.Holds(%v, %s) = (%t, %v); want (%t, err %t)", tc.expr, tc.value, tc.unit, got, err, tc.want, tc.err)
		}
	}
}

func FuzzParseThreshold(f *testing.F) {
	for _, s := range []string{"< 1s", "<= 50ms", "< 1%", "< 512MiB", "> 100", ">= 0.8", "!= 3 GB", "<"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, expr string) {
		th, err := results.ParseThreshold(expr)
		if err != nil {
			if !errors.Is(err, results.ErrThreshold) {
				t.Fatalf("ParseThreshold(%q) error %v does not wrap ErrThreshold", expr, err)
			}
			return
		}
		if math.IsNaN(th.Value) || math.IsInf(th.Value, 0) {
			t.Fatalf("ParseThreshold(%q) = %+v: value not finite", expr, th)
		}
		// Reparsing what was accepted gives the same threshold.
		again, err := results.ParseThreshold(th.Expr)
		if err != nil || again != th {
			t.Fatalf("ParseThreshold(%q) = %+v, reparse of %q = (%+v, %v)", expr, th, th.Expr, again, err)
		}
		if _, err := th.Holds(1, th.Lit); err != nil {
			t.Fatalf("%+v.Holds(1, own unit): %v", th, err)
		}
	})
}

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

func TestParseRules(t *testing.T) {
	t.Parallel()
	rules, err := results.ParseRules(map[string]string{"cycle_p99": "< 1s", "error_rate": "< 1%"})
	if err != nil || len(rules) != 2 || rules[0].Metric != "cycle_p99" {
		t.Fatalf("ParseRules(valid) = (%+v, %v); want 2 rules sorted", rules, err)
	}
	_, err = results.ParseRules(map[string]string{"cycle_p99x": "< 1s", "rss_peak": "< 1s", "error_rate": "<"})
	if !cfgerr.Is(err) {
		t.Fatalf("ParseRules(bad) error %v is not a *cfgerr.Error", err)
	}
	for _, field := range []string{"thresholds.cycle_p99x", "thresholds.rss_peak", "thresholds.error_rate"} {
		if !strings.Contains(err.Error(), field) {
			t.Errorf("ParseRules(bad) error %q does not name %s", err, field)
		}
	}
}

func TestEvaluate(t *testing.T) {
	t.Parallel()
	run := &results.Run{Cells: []results.Cell{
		cell("sync", 100, 0, 500*time.Millisecond, 100<<20), // passes
		cell("sync", 1000, 0, 8*time.Second, 100<<20),       // too slow
		{Mode: "sync", Cameras: 1000, Repeat: 1, Status: results.StatusOverBudget},
	}}
	rules, err := results.ParseRules(map[string]string{"cycle_p99": "< 1s"})
	if err != nil {
		t.Fatal(err)
	}
	got := Evaluate(run, rules)
	want := []struct {
		pass, measured bool
		reason         string
	}{{true, true, ""}, {false, true, ""}, {false, false, "cell over budget"}}
	if len(got) != len(want) {
		t.Fatalf("Evaluate = %d checks; want %d", len(got), len(want))
	}
	for i, w := range want {
		if got[i].Pass != w.pass || got[i].Measured != w.measured || got[i].Reason != w.reason {
			t.Errorf("Evaluate[%d] (%s) = %+v; want pass %t measured %t reason %q", i, got[i].Cell(), got[i], w.pass, w.measured, w.reason)
		}
	}
}

// synthRun builds a run of one cell group with n repetitions whose cycle
// durations and rss come from rng around the given centres (±10% noise).
func synthRun(rng *rand.Rand, n, cycles int, cycle time.Duration, rss int64) *results.Run {
	r := &results.Run{Schema: results.SchemaVersion, Scenario: "synthetic"}
	for rep := 0; rep < n; rep++ {
		c := cell("batched", 1000, rep, cycle, rss)
		noise := func() float64 { return 1 + 0.1*(rng.Float64()*2-1) }
		for i := 0; i < cycles; i++ {
			c.Cycles.Durations = append(c.Cycles.Durations, results.Duration(float64(cycle)*noise()))
		}
		c.Resources.RSSPeak = int64(float64(rss) * noise())
		c.Resources.CPUCorePercent = 50 * noise()
		r.Cells = append(r.Cells, c)
	}
	return r
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
		warn                 string // metric expected to carry a warning
	}{
		// A clear 30% slowdown and 40% more memory over 10 repeats: flagged.
		{"regression", 10, 1.3, 1.4, map[string]Change{"cycle_p99": Regression, "rss_peak": Regression, "cpu_core": NoChange}, ""},
		// The same build twice (A/A): nothing flagged.
		{"A/A", 10, 1, 1, map[string]Change{"cycle_p99": NoChange, "rss_peak": NoChange, "cpu_core": NoChange, "error_rate": NoChange}, ""},
		// 30% faster: an improvement, not a failure.
		{"improvement", 10, 0.7, 1, map[string]Change{"cycle_p99": Improvement}, ""},
		// 2% slower, very significant on 200 cycles, but under the 5% minimum effect.
		{"tiny", 10, 1.02, 1, map[string]Change{"rss_peak": NoChange}, ""},
		// 40% more memory but only 3 repeats: the U test cannot reach
		// alpha 0.05 with 3+3 samples, so a warning and no failure.
		{"too few", 3, 1, 1.4, map[string]Change{"rss_peak": NoChange}, "rss_peak"},
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
					t.Errorf("Compare(%s): %s = %s (%s → %s, p=%.4f); want %s", tc.name, m, got.Change,
						results.Format(got.Base, got.Unit), results.Format(got.Head, got.Unit), got.P, want)
				}
			}
			if tc.warn != "" {
				r := findRow(rows, tc.warn)
				if len(r.Warnings) == 0 || !strings.Contains(strings.Join(r.Warnings, ";"), "need >= 4 samples") {
					t.Errorf("Compare(%s): %s warnings = %q; want benchmath's 'need >= 4 samples'", tc.name, tc.warn, r.Warnings)
				}
			}
			v := &Verdict{Rows: rows, Options: DefaultOptions}
			wantFail := false
			for _, c := range tc.want {
				wantFail = wantFail || c == Regression
			}
			if v.Failed() != wantFail {
				t.Errorf("Compare(%s): verdict failed = %t; want %t", tc.name, v.Failed(), wantFail)
			}
		})
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
	if got := pairsNeeded(0.05); got != 5 {
		t.Errorf("pairsNeeded(0.05) = %d; want 5", got)
	}
}

func TestComparePairs(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		pairs int
		shift float64
		want  Change
		warn  bool
	}{
		{"slower in every pair", 6, 1.25, Regression, false},
		{"A/A", 6, 1, NoChange, false},
		{"faster", 6, 0.75, Improvement, false},
		{"too few pairs", 3, 1.25, NoChange, true},
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
				if tc.shift == 1 {
					h = time.Duration(float64(b) * (0.98 + 0.04*rng.Float64()))
				}
				br := &results.Run{Cells: []results.Cell{cell("batched", 1000, 0, b, 1<<20)}}
				hr := &results.Run{Cells: []results.Cell{cell("batched", 1000, 0, h, 1<<20)}}
				pairs = append(pairs, Pair{Base: br, Head: hr})
			}
			rows, err := ComparePairs(pairs, DefaultOptions)
			if err != nil {
				t.Fatal(err)
			}
			r := findRow(rows, "cycle_p99")
			if r.Change != tc.want || (len(r.Warnings) > 0) != tc.warn {
				t.Errorf("ComparePairs(%s): cycle_p99 = %s ratio %.3f p=%.4f warnings %q; want %s, warning %t",
					tc.name, r.Change, r.Ratio, r.P, r.Warnings, tc.want, tc.warn)
			}
		})
	}
}

// golden compares got with ../testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("..", "testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (go test -update rewrites it):\n%s", name, lineDiff(string(want), string(got)))
	}
}

// lineDiff lists the lines that differ between want and got.
func lineDiff(want, got string) string {
	wl, gl := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	for i := 0; i < len(wl) || i < len(gl); i++ {
		var w, g string
		if i < len(wl) {
			w = wl[i]
		}
		if i < len(gl) {
			g = gl[i]
		}
		if w != g {
			fmt.Fprintf(&b, "line %d:\n- %s\n+ %s\n", i+1, w, g)
		}
	}
	return b.String()
}

func TestGolden(t *testing.T) {
	base, err := results.Read(filepath.Join("..", "testdata", "run.json"))
	if err != nil {
		t.Fatal(err)
	}
	head, err := results.Read(filepath.Join("..", "testdata", "head.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		golden     string
		head, base *results.Run
		failed     bool
	}{
		{"gate.golden", base, nil, true},           // thresholds only
		{"gate-baseline.golden", head, base, true}, // thresholds + comparison
	} {
		v, err := Judge(tc.head, tc.base, DefaultOptions)
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
	}
}

func ExampleParseThreshold() {
	t, _ := results.ParseThreshold("< 512MiB")
	ok, _ := t.Holds(600<<20, results.Bytes)
	fmt.Println(t.Op, t.Value, t.Lit, ok)
	// Output: < 5.36870912e+08 bytes false
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
