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
	head := filepath.Join(testdata, "head.json")
	loose := writeRun(t, func(r *results.Run) {
		r.Thresholds = map[string]string{"cycle_p99": "< 30s", "error_rate": "< 50%"}
		r.Cells = append(r.Cells[:5], r.Cells[6:]...) // without the over-budget cell
	})
	noThresholds := writeRun(t, func(r *results.Run) { r.Thresholds = nil })
	badThreshold := writeRun(t, func(r *results.Run) { r.Thresholds = map[string]string{"cycle_p99": "< fast", "speed": "< 1s"} })
	malformed := filepath.Join(t.TempDir(), "results.json")
	if err := os.WriteFile(malformed, []byte(`{"schema": 1, "cells": [`), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		args   []string
		code   int
		golden string   // stdout must equal this file in reports/testdata
		stdout []string // or contain these
		stderr []string
	}{
		{"thresholds fail", []string{"gate", run}, exitFailed, "gate.golden", nil, nil},
		{"regression vs baseline", []string{"gate", "--baseline", run, head}, exitFailed, "gate-baseline.golden", nil, nil},
		{"thresholds pass", []string{"gate", loose}, exitOK, "", []string{"PASS: 34 threshold checks passed"}, nil},
		{"A/A passes", []string{"gate", "--baseline", noThresholds, noThresholds}, exitOK, "", []string{"PASS", "no regression in 36 comparisons"}, nil},
		{"min effect above the change", []string{"gate", "--min-effect", "0.5", "--baseline", noThresholds, writeRun(t, func(r *results.Run) {
			h, _ := results.Read(head)
			r.Cells, r.Thresholds = h.Cells, nil
		})}, exitOK, "", []string{"PASS"}, nil},
		{"malformed results", []string{"gate", malformed}, exitUsage, "", nil, []string{malformed, "not valid results JSON"}},
		{"missing file", []string{"gate", "/nonexistent/results.json"}, exitUsage, "", nil, []string{"/nonexistent/results.json"}},
		{"bad thresholds", []string{"gate", badThreshold}, exitUsage, "", nil, []string{"thresholds.cycle_p99", "thresholds.speed"}},
		{"bad alpha", []string{"gate", "--alpha", "2", run}, exitUsage, "", nil, []string{"alpha"}},
		{"no argument", []string{"gate"}, exitUsage, "", nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, errs, code := camload(t, tc.args...)
			if code != tc.code {
				t.Fatalf("camload %v: exit %d; want %d\nstdout:\n%s\nstderr:\n%s", tc.args, code, tc.code, out, errs)
			}
			if tc.golden != "" {
				want, err := os.ReadFile(filepath.Join(testdata, tc.golden))
				if err != nil {
					t.Fatal(err)
				}
				if out != string(want) {
					t.Errorf("camload %v: stdout differs from %s (go test ./reports/gate -update rewrites it):\n%s", tc.args, tc.golden, out)
				}
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
	if !strings.Contains(out, "FAIL: 35 of 108 threshold checks failed") {
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
