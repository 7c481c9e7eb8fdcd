package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/camload/camload/results"
)

const testdata = "../../reports/testdata"

// writeRun writes a copy of testdata/run.json changed by edit to a temp
// folder and returns the folder.
func writeRun(t *testing.T, edit func(*results.Run)) string {
	t.Helper()
	r, err := results.Read(filepath.Join(testdata, "run.json"))
	if err != nil {
		t.Fatal(err)
	}
	edit(r)
	dir := t.TempDir()
	if err := results.Write(filepath.Join(dir, "results.json"), r); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestGateCLI(t *testing.T) {
	run := filepath.Join(testdata, "run.json")
	// complete: every cell completed (the over-budget repetition dropped).
	complete := func(r *results.Run) { r.Cells = append(r.Cells[:5], r.Cells[6:]...) }
	loose := writeRun(t, func(r *results.Run) {
		r.Thresholds = map[string]string{"cycle_p99": "< 30s", "error_rate": "< 50%"}
		complete(r)
	})
	noRules := writeRun(t, func(r *results.Run) { r.Thresholds = nil; complete(r) })
	badThreshold := writeRun(t, func(r *results.Run) { r.Thresholds = map[string]string{"cycle_p99": "< fast", "speed": "< 1s"} })
	declared := writeRun(t, func(r *results.Run) { r.Thresholds = nil; r.ExpectOverBudget = []string{"mode:sync,cameras:1000"} })
	undeclared := writeRun(t, func(r *results.Run) { r.Thresholds = nil })
	empty := writeRun(t, func(r *results.Run) { r.Cells = nil })
	other := writeRun(t, func(r *results.Run) {
		r.Thresholds = nil
		for i := range r.Cells {
			r.Cells[i].Cameras *= 7
		}
	})
	malformed := filepath.Join(t.TempDir(), "results.json")
	if err := os.WriteFile(malformed, []byte(`{"schema": 1, "cells": [`), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		args   []string
		code   int
		stdout []string // stdout must contain these
		stderr []string
	}{
		{"thresholds fail", []string{"gate", run}, exitFailed, []string{"FAIL: 13 of 36 rule checks failed"}, nil},
		{"thresholds pass", []string{"gate", loose}, exitOK, []string{"PASS: 12 rule checks passed, 6 cells completed"}, nil},
		// Issue 10's done-when: an ad hoc rule on the cells a selector names.
		{"--threshold fails", []string{"gate", "--threshold", "cycle_p99{mode:batched}: < 1ns", loose}, exitFailed,
			[]string{"FAIL cycle_p99{mode:batched}: < 1ns on batched/100: measured 126ms", "FAIL cycle_p99{mode:batched}: < 1ns on batched/1000"}, nil},
		{"--threshold passes", []string{"gate", "--threshold", "cycle_p99{mode:batched}: < 1h", loose}, exitOK, []string{"PASS cycle_p99{mode:batched}: < 1h on batched/1000"}, nil},
		{"--threshold malformed", []string{"gate", "--threshold", "cycle_p99{mode:batched: < 1h", loose}, exitUsage, nil, []string{"--threshold[0]", "cycle_p99{mode:batched: < 1h"}},
		{"--threshold matches nothing", []string{"gate", "--threshold", "cycle_p99{mode:turbo}: < 1h", loose}, exitUsage, nil,
			[]string{`"cycle_p99{mode:turbo}" matches no cell`, "mode: sync, pooled, batched"}},
		{"--threshold unknown metric", []string{"gate", "--threshold", "cycle_p98: < 1h", loose}, exitUsage, nil, []string{"--threshold[0]", `unknown metric "cycle_p98"`}},
		{"--threshold bare number for a duration", []string{"gate", "--threshold", "cycle_p99: < 5", loose}, exitUsage, nil, []string{"--threshold[0]"}},
		{"--expect fails", []string{"gate", "--expect", "rss_peak{mode:batched} <= 0.2 * rss_peak{mode:sync}", loose}, exitFailed,
			[]string{"FAIL rss_peak{mode:batched} <= 0.2 * rss_peak{mode:sync}: measured 44.5 MiB"}, nil},
		{"--expect passes", []string{"gate", "--expect", "rss_peak{mode:batched} < rss_peak{mode:sync}", "--expect", "cycle_p99{mode:sync,cameras:1000} / cycle_p99{mode:sync,cameras:100} >= 5", loose}, exitOK,
			[]string{"PASS rss_peak{mode:batched} < rss_peak{mode:sync}", "PASS cycle_p99{mode:sync,cameras:1000} / cycle_p99{mode:sync,cameras:100} >= 5"}, nil},
		{"inconclusive fails", []string{"gate", "--threshold", "cycle_p99{mode:pooled,cameras:1000}: < 2.1s", noRules}, exitFailed, []string{"INCONCLUSIVE", "1 inconclusive"}, nil},
		{"inconclusive allowed", []string{"gate", "--allow-inconclusive", "--threshold", "cycle_p99{mode:pooled,cameras:1000}: < 2.1s", noRules}, exitOK, []string{"1 inconclusive (allowed)"}, nil},
		{"expected over budget", []string{"gate", declared}, exitOK, []string{"expected (expect_over_budget)", "PASS: no rules, 5 cells completed, 1 over budget as expected"}, nil},
		{"unexpected over budget", []string{"gate", undeclared}, exitFailed, []string{"FAIL: no rules, 1 of 6 cells did not complete"}, nil},
		// Issue 15 hole 5: no false PASS on nothing.
		{"no cells", []string{"gate", empty}, exitUsage, nil, []string{"no cells", "--allow-empty"}},
		{"no cells allowed", []string{"gate", "--allow-empty", empty}, exitOK, []string{"warning: the results have no cells"}, nil},
		{"baseline without common cells", []string{"gate", "--baseline", other, noRules}, exitUsage, nil, []string{"no cell in common", "sync/700", "--allow-missing-baseline"}},
		{"baseline without common cells allowed", []string{"gate", "--allow-missing-baseline", "--baseline", other, noRules}, exitOK, []string{"warning: the baseline has no cell in common"}, nil},
		// 3 repetitions a side cannot reach significance: a warning, or a
		// failure with --strict, never a silent pass.
		{"A/A with too few repetitions", []string{"gate", "--baseline", noRules, noRules}, exitOK, []string{"PASS", "no regression in 42 comparisons, 42 with insufficient samples (a warning; --strict fails)"}, nil},
		{"A/A --strict", []string{"gate", "--strict", "--baseline", noRules, noRules}, exitFailed, []string{"FAIL", "42 with insufficient samples"}, nil},
		{"malformed results", []string{"gate", malformed}, exitUsage, nil, []string{malformed, "not valid results JSON"}},
		{"missing file", []string{"gate", "/nonexistent/results.json"}, exitUsage, nil, []string{"/nonexistent/results.json"}},
		{"bad thresholds", []string{"gate", badThreshold}, exitUsage, nil, []string{"thresholds.cycle_p99", "thresholds.speed"}},
		{"bad alpha", []string{"gate", "--alpha", "2", run}, exitUsage, nil, []string{"alpha"}},
		{"no argument", []string{"gate"}, exitUsage, nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, errs, code := camload(t, tc.args...)
			if code != tc.code {
				t.Fatalf("camload %v: exit %d; want %d\nstdout:\n%s\nstderr:\n%s", tc.args, code, tc.code, out, errs)
			}
			for _, s := range tc.stdout {
				if !strings.Contains(out, s) {
					t.Errorf("camload %v: stdout lacks %q:\n%s", tc.args, s, out)
				}
			}
			for _, s := range tc.stderr {
				if !strings.Contains(errs, s) {
					t.Errorf("camload %v: stderr lacks %q:\n%s", tc.args, s, errs)
				}
			}
		})
	}
}

func TestReportCLI(t *testing.T) {
	dir := writeRun(t, func(*results.Run) {})
	summary := filepath.Join(t.TempDir(), "summary.md")
	if err := os.WriteFile(summary, []byte("previous step\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	old := getenv
	getenv = func(k string) string {
		if k == "GITHUB_STEP_SUMMARY" {
			return summary
		}
		return ""
	}
	defer func() { getenv = old }()

	out, errs, code := camload(t, "report", dir)
	if code != exitOK {
		t.Fatalf("camload report: exit %d; stderr %s", code, errs)
	}
	md, err := os.ReadFile(filepath.Join(dir, "report.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"report.html", "junit.xml"} {
		if fi, err := os.Stat(filepath.Join(dir, f)); err != nil || fi.Size() == 0 {
			t.Errorf("camload report: %s missing or empty (%v)", f, err)
		}
	}
	s, err := os.ReadFile(summary)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(s), "previous step\n") || !strings.Contains(string(s), string(md)) {
		t.Errorf("GITHUB_STEP_SUMMARY = %d bytes; want the previous content followed by report.md", len(s))
	}
	if !strings.Contains(out, "FAIL: 13 of 36 rule checks failed") {
		t.Errorf("camload report stdout lacks the verdict summary:\n%s", out)
	}

	// Usage errors.
	for _, args := range [][]string{
		{"report"},                                  // no folder
		{"report", "a", "b"},                        // two folders
		{"report", "--diff-profile", "a.pb.gz"},     // one profile
		{"report", filepath.Join(t.TempDir(), "x")}, // no results.json
	} {
		if _, errs, code := camload(t, args...); code != exitUsage {
			t.Errorf("camload %v: exit %d (stderr %q); want %d", args, code, errs, exitUsage)
		}
	}
}

func TestReportBaselineJUnit(t *testing.T) {
	dir := writeRun(t, func(r *results.Run) { r.Thresholds = nil })
	if _, errs, code := camload(t, "report", "--baseline", filepath.Join(testdata, "head.json"), dir); code != exitOK {
		t.Fatalf("camload report --baseline: exit %d: %s", code, errs)
	}
	b, err := os.ReadFile(filepath.Join(dir, "junit.xml"))
	if err != nil {
		t.Fatal(err)
	}
	// run.json is faster than head.json: judged against head as the
	// baseline, batched/1000 improved, so no failure.
	if !strings.Contains(string(b), "no regression in cycle_p99") || strings.Contains(string(b), `type="regression"`) {
		t.Errorf("junit.xml with a baseline: want comparison test cases and no regression failure")
	}
}
