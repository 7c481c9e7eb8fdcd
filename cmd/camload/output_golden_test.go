package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/camload/camload/results"
)

// This file holds the CLI goldens of output people read: camload report
// on a checked-in results.json, camload compare over a fake runner, and
// camload run's summary of a real (tiny) run. Each test runs in a temp
// folder (t.Chdir) with relative paths, so the paths in the output are
// the same on every machine.

// copyFile copies src to dst, creating dst's folder.
func copyFile(t *testing.T, src, dst string) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// noStepSummary makes report ignore a GITHUB_STEP_SUMMARY of the
// environment the tests run in (CI sets it).
func noStepSummary(t *testing.T) {
	old := getenv
	getenv = func(string) string { return "" }
	t.Cleanup(func() { getenv = old })
}

// TestReportGolden: what camload report prints for reports/testdata/run.json,
// and the report.md it writes.
func TestReportGolden(t *testing.T) {
	noStepSummary(t)
	src, _ := filepath.Abs(filepath.Join(testdata, "run.json"))
	dir := t.TempDir()
	copyFile(t, src, filepath.Join(dir, "run", "results.json"))
	t.Chdir(dir)
	golden(t, "report", "report", "run")
	md, err := os.ReadFile(filepath.Join("run", "report.md"))
	if err != nil {
		t.Fatal(err)
	}
	goldenBytes(t, "report-md", md)
}

// TestReportNotJudgedGolden: a run whose rules name cells it lacks (and
// records no filter that left them out, as runs written before
// results.Run.Filtered did) is reported, its rules not judged, and stderr
// says so.
func TestReportNotJudgedGolden(t *testing.T) {
	noStepSummary(t)
	dir := writeRun(t, func(r *results.Run) { r.Thresholds = map[string]string{"cycle_p99{mode:async}": "< 1s"} })
	t.Chdir(dir)
	golden(t, "report-not-judged", "report", "--out", ".", "results.json")
}

// TestCompareGolden: camload compare's verdict and notes over the fake
// runner of compare_test.go (deterministic figures), head 30% slower and
// head the same as base.
func TestCompareGolden(t *testing.T) {
	scenario, _ := filepath.Abs(filepath.Join("..", "..", "scenarios", "smoke.yaml"))
	for _, tc := range []struct {
		name     string
		headSlow float64
	}{{"compare-regression", 1.3}, {"compare-same", 1.0}} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			copyFile(t, scenario, filepath.Join(dir, "smoke.yaml"))
			for _, b := range []string{"base", "head"} {
				if err := os.WriteFile(filepath.Join(dir, b), []byte("#!/bin/sh\n"), 0o755); err != nil {
					t.Fatal(err)
				}
			}
			t.Chdir(dir)
			f := &fakeRunner{slow: map[string]float64{"base": 1, "head": tc.headSlow}}
			old := compareRunner
			compareRunner = f.run
			defer func() { compareRunner = old }()
			golden(t, tc.name, "compare", "--base", "./base", "--head", "./head", "--out", "out", "smoke.yaml")
		})
	}
}

// Measured values in camload run's output are masked before comparing:
//   - the environment after "scenario NAME — " (CPU, cores, Go, commit);
//   - in the summary tables (a header line starting "mode  "), every
//     number with its unit (ms, MiB, %, …) in the measured columns, except
//     the counts "(n=N)" and the "=max" mark, which the scenario fixes;
//     the columns are rejoined with two spaces, as their widths follow
//     the values;
//   - on stderr, durations and percentages (the cell's closing line).
var (
	envRE      = regexp.MustCompile(`(?m)^(scenario \S+ — ).*$`)
	measureRE  = regexp.MustCompile(`(^|[^=\w.])\d+(\.\d+)?( ?(ns|µs|ms|s|m|h|B|KiB|MiB|GiB|%))?`)
	durationRE = regexp.MustCompile(`\d+(\.\d+)?(ns|µs|ms|s|%)`)
	columnRE   = regexp.MustCompile(`\s{2,}`)
	measured   = map[string]bool{"cycle p50": true, "cycle p99": true, "frame p99": true, "errors": true,
		"RSS peak (cycles)": true, "CPU sys % core (cycles)": true, "ideal": true, "efficiency": true,
		"throughput": true, "success": true, "p50": true, "p99": true}
)

func maskRun(s string) string {
	if strings.Contains(s, "[1/") { // stderr: progress
		return durationRE.ReplaceAllString(s, "~")
	}
	s = envRE.ReplaceAllString(s, "${1}~")
	var header []string
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		cells := columnRE.Split(strings.TrimRight(l, " "), -1)
		switch {
		case strings.HasPrefix(l, "mode  "):
			header = cells
		case l == "":
			header = nil
		case header != nil:
			for j := range cells {
				if j < len(header) && measured[header[j]] {
					cells[j] = measureRE.ReplaceAllString(cells[j], "${1}~")
				}
			}
		}
		if header != nil {
			lines[i] = strings.Join(cells, "  ")
		}
	}
	return strings.Join(lines, "\n")
}

// TestRunGolden runs testdata/tiny.yaml (one cell, four cameras, no
// faults) with this test binary as the system (TestMain: it acts as
// camload when asCamloadEnv is set) and compares the summary, masked
// (maskRun).
func TestRunGolden(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the system with embedded backends as a child process")
	}
	t.Setenv(asCamloadEnv, "1")
	dir := t.TempDir()
	copyFile(t, filepath.Join(testdataDir, "tiny.yaml"), filepath.Join(dir, "tiny.yaml"))
	t.Chdir(dir)
	goldenNorm(t, "run-tiny", maskRun, "run", "--out", "out", "tiny.yaml")
}

// TestMaskRun: the masking keeps what the golden must pin.
func TestMaskRun(t *testing.T) {
	in := "scenario tiny — AMD EPYC, linux/amd64, 2 cores\n\nmode  cameras  cycle p99         errors  reconciled  RSS peak (cycles)\nsync  4        31.9ms=max (n=2)  0.00%   yes         42.0 MiB\n"
	want := "scenario tiny — ~\n\nmode  cameras  cycle p99  errors  reconciled  RSS peak (cycles)\nsync  4  ~=max (n=2)  ~  yes  ~\n"
	if got := maskRun(in); got != want {
		t.Errorf("maskRun =\n%q\nwant\n%q", got, want)
	}
}

// filteredRun writes run.json as `camload run --modes pooled,batched
// --cameras 1000` leaves it (the cells it kept, the scenario's matrix in
// Filtered) with rules on kept and on left-out cells, plus extra.
func filteredRun(t *testing.T, extra map[string]string) string {
	return writeRun(t, func(r *results.Run) {
		var kept []results.Cell
		for _, c := range r.Cells {
			if c.Mode != "sync" && c.Cameras == 1000 {
				kept = append(kept, c)
			}
		}
		r.Cells = kept
		r.Filtered = results.NewFilter([]string{"sync", "pooled", "batched"}, []int{100, 1000}, []string{"pooled", "batched"}, []int{1000})
		r.Thresholds = map[string]string{
			"cycle_p99{mode:batched,cameras:1000}": "< 1s",
			"cycle_p99{mode:pooled}":               "< 1s",
			"rss_peak{mode:sync}":                  "< 1GiB",
		}
		for k, v := range extra {
			r.Thresholds[k] = v
		}
		r.Expect = []string{"cycle_p99{mode:sync,cameras:1000} >= 5 * cycle_p99{mode:batched,cameras:1000}"}
		r.ExpectOverBudget = []string{"mode:sync,cameras:1000"}
	})
}

// TestGateFilteredGolden: camload gate on a filtered run judges the rules
// on the cells it kept (one fails: exit 1) and skips those on the cells it
// left out, saying why; a selector naming a value the scenario lacks is
// still refused (exit 2). camload report judges it the same way.
func TestGateFilteredGolden(t *testing.T) {
	noStepSummary(t)
	t.Run("gate", func(t *testing.T) {
		t.Chdir(filteredRun(t, nil))
		golden(t, "gate-filtered", "gate", "results.json")
	})
	t.Run("typo", func(t *testing.T) {
		t.Chdir(filteredRun(t, map[string]string{"cycle_p99{mode:bached}": "< 1s"}))
		golden(t, "gate-filtered-typo", "gate", "results.json")
	})
	t.Run("report", func(t *testing.T) {
		t.Chdir(filteredRun(t, nil))
		out, errs, code := camload(t, "report", "--out", ".", "results.json")
		if code != exitOK || strings.Contains(errs, "not judged") ||
			!strings.Contains(out, "FAIL: 1 of 2 rule checks failed, 2 rules skipped: not in this run (filtered by --modes pooled,batched --cameras 1000), 2 cells completed") {
			t.Errorf("camload report: exit %d\nstdout:\n%s\nstderr:\n%s\nwant the rules on kept cells judged, the others skipped", code, out, errs)
		}
	})
}
