package reports

import (
	"bytes"
	"encoding/xml"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/camload/camload/results"
)

func md(t *testing.T, run *results.Run) string {
	t.Helper()
	var b bytes.Buffer
	if err := WriteMarkdown(&b, run); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func htmlReport(t *testing.T, run *results.Run) string {
	t.Helper()
	var b bytes.Buffer
	if err := WriteHTML(&b, run); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func wantAll(t *testing.T, what, got string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(got, w) {
			t.Errorf("%s lacks %q", what, w)
		}
	}
}

func wantNone(t *testing.T, what, got string, notWant ...string) {
	t.Helper()
	for _, w := range notWant {
		if strings.Contains(got, w) {
			t.Errorf("%s has %q", what, w)
		}
	}
}

// TestPercentileSupport: the one rule every figure goes through — a
// percentile n cannot support is the maximum, named so, with its n.
func TestPercentileSupport(t *testing.T) {
	t.Parallel()
	d := func(ms int) results.Duration { return results.Duration(time.Duration(ms) * time.Millisecond) }
	q := func(n int64) results.Quantiles {
		return results.Quantiles{Count: n, Mean: d(11), P50: d(10), P90: d(20), P95: d(30), P99: d(40), Max: d(50)}
	}
	for _, tc := range []struct {
		n    int64
		stat string
		want string
	}{
		{5, "p99", "50ms=max (n=5)"},
		{99, "p99", "50ms=max (n=99)"},
		{100, "p99", "40ms (n=100)"},
		{19, "p95", "50ms=max (n=19)"},
		{20, "p95", "30ms (n=20)"},
		{9, "p90", "50ms=max (n=9)"},
		{10, "p90", "20ms (n=10)"},
		{1, "p50", "50ms=max (n=1)"},
		{2, "p50", "10ms (n=2)"},
		{3, "mean", "11ms (n=3)"},
		{3, "max", "50ms (n=3)"},
		{0, "p99", "-"},
	} {
		if got := quantText(q(tc.n), tc.stat); got != tc.want {
			t.Errorf("quantText(n=%d, %s) = %q; want %q", tc.n, tc.stat, got, tc.want)
		}
	}
	// In a table: "= max (n=…)", never the percentile's own value.
	g := results.Group{Mode: "m", Cameras: 1, Cells: []results.Cell{{Mode: "m", Cameras: 1, Status: results.StatusOK, Cycles: results.Cycles{Latency: q(5)}}}}
	r := newReader(&results.Run{Cells: g.Cells})
	if got := r.show(g, quantFig("", "p99", cycleQ)); got != "50ms = max (n=5)" {
		t.Errorf("p99 of 5 cycles = %q; want %q", got, "50ms = max (n=5)")
	}
}

// TestCentreCI: a median shows its CI — over repetitions when there are
// two or more, else the repetition's own interval over its samples.
func TestCentreCI(t *testing.T) {
	t.Parallel()
	cell := func(p50 time.Duration, ci *[2]results.Duration) results.Cell {
		return results.Cell{Mode: "m", Cameras: 1, Status: results.StatusOK,
			Cycles: results.Cycles{Latency: results.Quantiles{Count: 50, P50: results.Duration(p50), Max: results.Duration(p50), P50CI: ci}}}
	}
	one := results.Group{Cells: []results.Cell{cell(1210*time.Millisecond, &[2]results.Duration{results.Duration(1150 * time.Millisecond), results.Duration(1300 * time.Millisecond)})}}
	r := newReader(&results.Run{})
	if got, want := r.show(one, quantFig("", "p50", cycleQ)), "1.21s [1.15s, 1.3s] (n=50)"; got != want {
		t.Errorf("one repetition: %q; want %q", got, want)
	}
	noCI := results.Group{Cells: []results.Cell{cell(time.Second, nil)}}
	if got, want := r.show(noCI, quantFig("", "p50", cycleQ)), "1s (n=50)"; got != want {
		t.Errorf("one repetition without CI: %q; want %q", got, want)
	}
	three := results.Group{Cells: []results.Cell{cell(time.Second, nil), cell(1100*time.Millisecond, nil), cell(1300*time.Millisecond, nil)}}
	got := r.show(three, quantFig("", "p50", cycleQ))
	if !strings.HasPrefix(got, "1.1s [1s, 1.3s]") {
		t.Errorf("three repetitions: %q; want the median 1.1s with a bootstrap CI within the repetitions' range [1s, 1.3s]", got)
	}
}

// TestRatios: ratios carry the CI of the ratio, say n=1 without
// repetitions, and a censored side makes them a bound.
func TestRatios(t *testing.T) {
	t.Parallel()
	s := func(lower bool, vs ...float64) series {
		out := series{unit: results.Count}
		for _, v := range vs {
			out.obs = append(out.obs, obs{v: v, ok: true, lower: lower})
		}
		out.nok, out.total = len(vs), len(vs)
		return out
	}
	for _, tc := range []struct {
		a, b       series
		ratio, imp string
	}{
		{s(false, 10), s(false, 4000), "400× (n=1)", "400x ↑"},
		{s(false, 10), s(true, 4000), "≥ 400×", "≥ 400x ↑"},
		{s(false, 10, 10, 10), s(true, 4000, 4000, 4000), "≥ 400×", "≥ 400x ↑"},
		{s(true, 4000), s(false, 10), "≤ 0.0025×", "≤ 100% ↓"},
		{s(true, 4000), s(true, 4000), "unknown (both bounds)", "unknown (both bounds)"},
		{s(false, 2, 2, 2), s(false, 4, 4, 4), "2× [2×, 2×]", "2x ↑"},
		{s(false), s(false, 1), "—", "—"},
	} {
		if got := ratio(tc.a, tc.b); got != tc.ratio {
			t.Errorf("ratio(%v, %v) = %q; want %q", tc.a.values(), tc.b.values(), got, tc.ratio)
		}
		if got := improvement(tc.a, tc.b); got != tc.imp {
			t.Errorf("improvement(%v, %v) = %q; want %q", tc.a.values(), tc.b.values(), got, tc.imp)
		}
	}
	got := ratio(s(false, 1, 1.1, 0.9, 1.05), s(false, 2, 2.4, 1.8, 2.2))
	if !strings.HasPrefix(got, "2.05×") || !strings.Contains(got, " [") {
		t.Errorf("ratio over 4 repetitions = %q; want 2.05× (2.1 ÷ 1.025) with a CI", got)
	}
}

// TestMeasuredReport: the schema-2 figures of measured.json, labelled by
// window and process, with capacity steps in HTML only.
func TestMeasuredReport(t *testing.T) {
	t.Parallel()
	run := readRun(t, "measured.json")
	m := md(t, run)
	wantAll(t, "measured.md", m,
		"CPU system (cycles window, % of a core)", "CPU runner (cycles window, % of a core)", "CPU machine % (cycles window)",
		"RSS peak (cycles window)", "RSS mean (cycles window)", "RSS peak (API window)",
		"Cache L1 hit ratio (API window)", "Cache L2 hit ratio (cycles window)",
		"Freshness served p50", "Stale reads served", "Offline reads served", "Per-frame p99",
		"| Cycle p99 | over budget (expected) | 2.02s = max (n=10) |",
		"| Throughput (API capacity, req/s) | 2 | ≥ 4678 | **≥ 2339x ↑** | ≥ 2339× |",
		"≥ 5000, never failed (cap 5000)",
		"The scenario declares no before/after comparison: these are the first and last modes that completed at 1000 cameras.",
		"## Before / after at 1000 cameras: pooled vs batched",
		"ℹ️ sync/1000 repeat 0: over budget (expected)",
		"the cycles' own 10000 latency draws + 20 handshakes",
		"Backends:** MongoDB: ferretdb-sqlite (embedded); Redis: miniredis (embedded)",
	)
	wantNone(t, "measured.md", m, "Capacity search steps", "⚠️ sync/1000")
	h := htmlReport(t, run)
	wantAll(t, "measured.html", h, "Capacity search steps", "max (n=2: too few for a p99)", "<td>2</td><td>— (n too small)</td>", "p99 (n=128)", "❌ fail",
		"batched/1000 latest (repeat 0): capacity ≥ 4678 req/s")
}

// TestExpectedOverBudget: an over-budget cell the scenario did not expect
// is a warning, not a note.
func TestExpectedOverBudget(t *testing.T) {
	t.Parallel()
	run := readRun(t, "measured.json")
	run.ExpectOverBudget = []string{"mode:sync,cameras:100"} // the wrong size
	m := md(t, run)
	wantAll(t, "md", m, "> ⚠️ sync/1000 repeat 0: over budget — cell budget", "| Cycle p99 | over budget |")
	wantNone(t, "md", m, "(expected)")
}

// TestDeclaredComparisons: Run.Compare selects the tables; a declared mode
// that is not in the run falls back to the default and says so.
func TestDeclaredComparisons(t *testing.T) {
	t.Parallel()
	run := readRun(t, "measured.json")
	run.Compare = &results.Comparisons{Scaling: &results.ScalingComparison{Mode: "batched"},
		BeforeAfter: &results.BeforeAfterComparison{Before: "sync", After: "pooled"}}
	m := md(t, run)
	wantAll(t, "declared", m, "## Scaling: batched at 100 vs 1000 cameras", "Declared by the scenario (compare.scaling: batched).",
		"## Before / after at 1000 cameras: sync vs pooled", "| Cycle p99 | over budget (expected) | 2.02s = max (n=10) |")
	run.Compare = &results.Comparisons{Scaling: &results.ScalingComparison{Mode: "cached"}}
	m = md(t, run)
	wantAll(t, "undeclared mode", m, `The declared scaling mode "cached" is not in this run`, "## Scaling: pooled at 100 vs 1000 cameras",
		"The scenario declares no before/after comparison")
}

// TestEfficiencyAboveOne: an unclipped efficiency above 1 is shown and
// flagged as a bug.
func TestEfficiencyAboveOne(t *testing.T) {
	t.Parallel()
	run := readRun(t, "measured.json")
	for i := range run.Cells {
		if run.Cells[i].Mode == "batched" && run.Cells[i].Cameras == 100 {
			run.Cells[i].Ideal.CycleTime = results.Duration(150 * time.Millisecond)
			run.Cells[i].Ideal.Efficiency = 1.25
		}
	}
	m := md(t, run)
	wantAll(t, "md", m, "| batched | 100 | 150ms |", "1.25 ⚠ > 1: bug", "batched/100 repeat 0: efficiency 1.25 above 1")
	var b bytes.Buffer
	if err := WriteSummary(&b, run); err != nil {
		t.Fatal(err)
	}
	wantAll(t, "summary", b.String(), "1.25 BUG: > 1")
}

// TestGrowth: a scenario with three camera counts gets the growth table
// and three charts against cameras.
func TestGrowth(t *testing.T) {
	t.Parallel()
	run := readRun(t, "scale.json")
	m := md(t, run)
	wantAll(t, "scale.md", m, "## Growth with cameras: 1000 / 5000 / 10000 cameras",
		"| batched | 10000 | 10× | 7.66s [7.57s, 7.8s] (n=10) | 10×",
		"CPU system per processed frame (cycles window)",
		"Declared by the scenario (compare.before_after: pooled → batched).",
		"MongoDB: ferretdb-postgres (postgres://127.0.0.1:5432); Redis: redis://127.0.0.1:6379")
	doc, err := html.Parse(strings.NewReader(htmlReport(t, run)))
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]bool{}
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode && n.Data == "figure" {
			for _, a := range n.Attr {
				if a.Key == "id" {
					ids[a.Val] = true
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	for _, id := range []string{"growth-cycle", "growth-cpu-per-frame", "growth-rss"} {
		if !ids[id] {
			t.Errorf("scale.html lacks the %s chart (has %v)", id, ids)
		}
	}
	if m2 := md(t, readRun(t, "measured.json")); strings.Contains(m2, "## Growth") {
		t.Errorf("a run with two camera counts has a growth section")
	}
}

// TestSummaryMeasured: the text summary shows n, the max rule and ≥.
func TestSummaryMeasured(t *testing.T) {
	var b bytes.Buffer
	if err := WriteSummary(&b, readRun(t, "measured.json")); err != nil {
		t.Fatal(err)
	}
	s := b.String()
	wantAll(t, "summary", s, "=max (n=10)", "(n=10000)", "≥ 4678 req/s (never failed)", "44 req/s (fails at 48)", "over_budget_(expected)",
		"backends: mongo ferretdb-sqlite (embedded); redis miniredis (embedded)")
	golden(t, "summary-measured.golden", b.Bytes())
}

// TestJUnitExpectedOverBudget: without thresholds, a cell expected over
// budget does not fail the suite, an unexpected one does (one case per
// mode × cameras: its repetitions together).
func TestJUnitExpectedOverBudget(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		expect            []string
		failures, skipped int
	}{
		{[]string{"mode:sync,cameras:1000"}, 0, 0},
		{nil, 1, 0},
	} {
		run := readRun(t, "measured.json")
		run.Thresholds, run.ExpectOverBudget = nil, tc.expect
		var b bytes.Buffer
		if err := WriteJUnit(&b, run, nil); err != nil {
			t.Fatal(err)
		}
		var got struct {
			Suites []struct {
				Failures int `xml:"failures,attr"`
				Skipped  int `xml:"skipped,attr"`
				Cases    []struct {
					Name    string `xml:"name,attr"`
					Skipped *struct {
						Message string `xml:"message,attr"`
					} `xml:"skipped"`
				} `xml:"testcase"`
			} `xml:"testsuite"`
		}
		if err := xml.Unmarshal(b.Bytes(), &got); err != nil {
			t.Fatal(err)
		}
		s := got.Suites[0]
		skipped := 0
		for _, c := range s.Cases {
			if c.Skipped != nil {
				skipped++
				if !strings.Contains(c.Skipped.Message, "over budget (expected)") {
					t.Errorf("skipped case %s: message %q", c.Name, c.Skipped.Message)
				}
			}
		}
		if s.Failures != tc.failures || s.Skipped != tc.skipped || skipped != tc.skipped {
			t.Errorf("expect_over_budget %v: %d failures, %d skipped (attr), %d skipped cases; want %d failures, %d skipped",
				tc.expect, s.Failures, s.Skipped, skipped, tc.failures, tc.skipped)
		}
	}
}

// TestIdealSectionSplitsTheCPUGap: when the CPU bound sets the ideal, the
// ideal section names the bound's own inputs (work per frame, cores) and
// shows, beside them, the system's CPU and CPU per processed frame over
// the cycles window, so that the gap reads as cores × work per frame.
func TestIdealSectionSplitsTheCPUGap(t *testing.T) {
	run := readRun(t, "scale.json")
	var target *results.Cell
	for i := range run.Cells {
		c := &run.Cells[i]
		if c.Status == results.StatusOK && c.Windows.Cycles != nil && c.Windows.Cycles.CPUSecondsSystem > 0 && c.Cycles.Processed > 0 {
			target = c
			break
		}
	}
	if target == nil {
		t.Fatal("scale.json has no ok cell with a cycles window")
	}
	for i := range run.Cells { // the whole group, so that every repetition agrees
		c := &run.Cells[i]
		if c.Mode == target.Mode && c.Cameras == target.Cameras {
			c.Ideal.Basis, c.Ideal.PerFrame, c.Ideal.Cores = "cpu", results.Duration(3990*time.Microsecond), 2
			// 8.45 s of system CPU over a 5 s cycles window for 1750
			// frames: 169% of a core, 4.83 ms a frame.
			w := *c.Windows.Cycles
			w.End = w.Start.Add(5 * time.Second)
			w.CPUSecondsSystem = 8.4525
			c.Windows.Cycles = &w
			c.Cycles.Processed, c.Cycles.LateProcessed = 1700, 50
		}
	}
	sec := markdownSection(t, run, "Ideal vs actual cycle time")
	want := "frames × 3.99ms of analysis a frame (the runner's own, mean over the fleet's frames) ÷ 2 cores"
	if !strings.Contains(sec, want) {
		t.Errorf("ideal section lacks %q:\n%s", want, sec)
	}
	if want := "| 169%; 4.83ms |"; !strings.Contains(sec, want) {
		t.Errorf("ideal section lacks the system's CPU and CPU per processed frame (late ones included) %q:\n%s", want, sec)
	}
}
