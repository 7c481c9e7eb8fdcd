package gate

import (
	"bytes"
	"encoding/xml"
	"errors"
	"strings"
	"testing"

	"github.com/camload/camload/internal/cfgerr"
	"github.com/camload/camload/results"
	"github.com/camload/camload/results/rule"
)

// filteredRun is the fixture's run as `camload run --modes pooled,batched
// --cameras 1000` leaves it: the pooled/1000 and batched/1000 cells, and
// the scenario's own matrix (sync, pooled, batched × 100, 1000) in
// Filtered, with thresholds and expect rules replaced by rules.
func filteredRun(t *testing.T, thresholds map[string]string, expect ...string) *results.Run {
	t.Helper()
	run, _ := fixture(t)
	r := *run
	r.Cells = nil
	for _, c := range run.Cells {
		if c.Mode != "sync" && c.Cameras == 1000 {
			r.Cells = append(r.Cells, c)
		}
	}
	r.Filtered = results.NewFilter([]string{"sync", "pooled", "batched"}, []int{100, 1000}, []string{"pooled", "batched"}, []int{1000})
	r.Thresholds, r.Expect = thresholds, expect
	return &r
}

const filteredBy = "not in this run (filtered by --modes pooled,batched --cameras 1000)"

// TestJudgeFiltered: in a filtered run, rules on the cells it kept are
// judged (and fail), rules on the cells it left out are skipped with the
// filter as reason, and the summary counts them apart.
func TestJudgeFiltered(t *testing.T) {
	t.Parallel()
	head := filteredRun(t, map[string]string{
		"cycle_p99{mode:batched,cameras:1000}": "< 1s",    // kept: passes (791ms)
		"cycle_p99{mode:pooled}":               "< 1s",    // kept: fails (2.02s)
		"rss_peak{mode:sync}":                  "< 1GiB",  // sync left out
		"cycle_p99{cameras:100}":               "< 100ms", // cameras 100 left out
	},
		"cycle_p99{mode:sync,cameras:1000} >= 5 * cycle_p99{mode:batched,cameras:1000}", // one side left out
		"rss_peak{mode:batched} <= rss_peak{mode:pooled}",                               // kept: passes
	)
	head.ExpectOverBudget = []string{"mode:sync,cameras:1000"} // left out: no warning
	v, err := Judge(head, nil, DefaultOptions)
	if err != nil {
		t.Fatalf("Judge = %v; want rules on the left-out cells skipped, not an error", err)
	}
	verdicts := map[string]rule.Verdict{}
	for _, r := range v.Results {
		verdicts[r.Rule.String()] = r.Verdict
		if r.Verdict == rule.Skipped && !strings.HasSuffix(r.Message, ": "+filteredBy) {
			t.Errorf("skipped %s: message %q; want it to end %q", r.Rule, r.Message, filteredBy)
		}
	}
	for rl, want := range map[string]rule.Verdict{
		"cycle_p99{mode:batched,cameras:1000}: < 1s":                                    rule.Pass,
		"cycle_p99{mode:pooled}: < 1s":                                                  rule.Fail,
		"rss_peak{mode:sync}: < 1GiB":                                                   rule.Skipped,
		"cycle_p99{cameras:100}: < 100ms":                                               rule.Skipped,
		"cycle_p99{mode:sync,cameras:1000} >= 5 * cycle_p99{mode:batched,cameras:1000}": rule.Skipped,
		"rss_peak{mode:batched} <= rss_peak{mode:pooled}":                               rule.Pass,
	} {
		if got, ok := verdicts[rl]; !ok || got != want {
			t.Errorf("%s: verdict %v (judged: %t); want %v", rl, got, ok, want)
		}
	}
	if len(v.Results) != 6 || v.NotInRun != 3 {
		t.Errorf("%d results, %d not in the run; want 6 and 3", len(v.Results), v.NotInRun)
	}
	if !v.Failed() {
		t.Error("Failed() = false; want the failing rule on a kept cell to fail the gate")
	}
	if len(v.Warnings) != 0 {
		t.Errorf("warnings %q; want none (expect_over_budget names a cell the run left out)", v.Warnings)
	}
	want := "FAIL: 1 of 3 rule checks failed, 3 rules skipped: " + filteredBy + ", 2 cells completed"
	if got := v.Summary(); got != want {
		t.Errorf("Summary = %q; want %q", got, want)
	}
	var buf bytes.Buffer
	if err := v.Write(&buf); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "  SKIP rss_peak{mode:sync}: < 1GiB: "+filteredBy+"\n") {
		t.Errorf("Write lacks the skipped rule:\n%s", buf.String())
	}
}

// TestJudgeFilteredOnlySkipped: a filtered run none of whose rules apply
// passes, but its summary says how many rules were skipped and why, not
// "no rules".
func TestJudgeFilteredOnlySkipped(t *testing.T) {
	t.Parallel()
	head := filteredRun(t, map[string]string{"cycle_p99{mode:sync}": "< 1s"}, "cycle_p99{mode:sync,cameras:100} >= 5 * cycle_p99{mode:batched,cameras:100}")
	v, err := Judge(head, nil, DefaultOptions)
	if err != nil {
		t.Fatal(err)
	}
	want := "PASS: 2 rules skipped: " + filteredBy + ", 2 cells completed"
	if got := v.Summary(); got != want || v.Failed() {
		t.Errorf("Summary = %q, Failed() = %t; want %q, false", got, v.Failed(), want)
	}
}

// TestJudgeFilteredErrors: what a filter does not excuse is still an
// error of the rule (exit 2): a value the scenario does not have (a
// typo), a label no cell has, a rule one of whose references is a typo,
// kept values whose cells are absent (an interrupted run), and any
// unmatched selector in a run that records no filter.
func TestJudgeFilteredErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		head    *results.Run
		want    []string
		notWant string // a note the error must not carry
	}{
		{"typo", filteredRun(t, map[string]string{"cycle_p99{mode:bached}": "< 1s"}),
			[]string{`"cycle_p99{mode:bached}" matches no cell`, "the run was filtered by --modes pooled,batched --cameras 1000; the scenario has cameras: 100, 1000; mode: sync, pooled, batched"}, ""},
		{"typo, filtered or not", filteredRun(t, map[string]string{"cycle_p99{mode:bached,cameras:100}": "< 1s"}), []string{`"cycle_p99{mode:bached,cameras:100}" matches no cell`}, ""},
		{"unknown label", filteredRun(t, map[string]string{"cycle_p99{camera:100}": "< 1s"}), []string{`no cell has label "camera"`}, ""},
		{"camera count the scenario lacks", filteredRun(t, map[string]string{"cycle_p99{cameras:500}": "< 1s"}), []string{`"cycle_p99{cameras:500}" matches no cell`}, ""},
		{"typo beside a left-out reference", filteredRun(t, nil, "cycle_p99{mode:sync,cameras:100} >= 5 * cycle_p99{mode:bached,cameras:100}"),
			[]string{`"cycle_p99{mode:bached,cameras:100}" matches no cell`}, ""},
		{"kept but absent", func() *results.Run {
			r := filteredRun(t, map[string]string{"cycle_p99{mode:batched}": "< 1s"})
			r.Cells = r.Cells[:3] // pooled/1000 only: batched was kept, then interrupted
			return r
		}(), []string{`"cycle_p99{mode:batched}" matches no cell`}, ""},
		{"no filter recorded", func() *results.Run {
			r := filteredRun(t, map[string]string{"rss_peak{mode:sync}": "< 1GiB"})
			r.Filtered = nil
			return r
		}(), []string{`"rss_peak{mode:sync}" matches no cell`}, "filtered by"},
	} {
		_, err := Judge(tc.head, nil, DefaultOptions)
		if err == nil || !errors.Is(err, rule.ErrNoMatch) || !cfgerr.Is(err) {
			t.Errorf("%s: Judge = %v; want a usage error wrapping rule.ErrNoMatch", tc.name, err)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q lacks %q", tc.name, err, w)
			}
		}
		if tc.notWant != "" && strings.Contains(err.Error(), tc.notWant) {
			t.Errorf("%s: error %q says %q", tc.name, err, tc.notWant)
		}
	}
	// expect_over_budget: a typo still warns in a filtered run.
	head := filteredRun(t, nil)
	head.ExpectOverBudget = []string{"mode:sinc,cameras:1000"}
	v, err := Judge(head, nil, DefaultOptions)
	if err != nil || len(v.Warnings) != 1 || !strings.Contains(v.Warnings[0], "mode:sinc") {
		t.Errorf("Judge = %v, warnings %q; want the typo of expect_over_budget warned about", err, v.Warnings)
	}
}

// TestJUnitFiltered: a rule on cells a filtered run left out is a passing
// JUnit case, excused as a cell expected over budget is, whose output
// says it was not in the run.
func TestJUnitFiltered(t *testing.T) {
	t.Parallel()
	head := filteredRun(t, map[string]string{"rss_peak{mode:sync}": "< 1GiB", "cycle_p99{mode:pooled}": "< 1s"})
	v, err := Judge(head, nil, DefaultOptions)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := WriteJUnit(&b, head, v); err != nil {
		t.Fatal(err)
	}
	var got junitSuites
	if err := xml.Unmarshal(b.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	s := got.Suites[0]
	found := false
	for _, c := range s.Cases {
		if !strings.HasPrefix(c.Name, "rss_peak{mode:sync}") {
			continue
		}
		found = true
		props := map[string]string{}
		for _, p := range c.Properties {
			props[p.Name] = p.Value
		}
		if c.Name != "rss_peak{mode:sync}: < 1GiB [not in this run]" || c.Failure != nil || c.Skipped != nil ||
			!strings.Contains(c.SystemOut, filteredBy) || props["excused"] != "true" || props["verdict"] != "SKIP" {
			t.Errorf("case %+v; want a passing, excused case named for the run and saying %q", c, filteredBy)
		}
	}
	if !found {
		t.Fatalf("no case for the left-out rule:\n%s", b.String())
	}
	if s.Failures != 1 || s.Skipped != 0 {
		t.Errorf("%d failures, %d skipped; want 1 (cycle_p99 of pooled/1000) and 0", s.Failures, s.Skipped)
	}
}
