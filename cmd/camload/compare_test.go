package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/camload/camload/bench"
	"github.com/camload/camload/results"
	"github.com/camload/camload/scenarios"
)

// fakeRunner stands in for bench.Run: each call measures a cycle time of
// 1s × slow[binary] × a drift that changes from call to call (a noisy
// machine), and records the order of the calls.
type fakeRunner struct {
	slow  map[string]float64
	calls []string
}

func (f *fakeRunner) run(_ context.Context, sc *scenarios.Scenario, o bench.Options) (*results.Run, error) {
	f.calls = append(f.calls, filepath.Base(o.SystemBinary))
	if sc.Repeat != 1 {
		return nil, os.ErrInvalid
	}
	drift := 0.7 + 0.1*float64((len(f.calls)-1)/2%5) // same for both members of a pair
	r := &results.Run{Schema: results.SchemaVersion, Scenario: sc.Name, Thresholds: map[string]string{"cycle_p99": "< 10s"}}
	for _, n := range sc.Fleet.Cameras {
		for _, m := range sc.System.Modes {
			d := results.Duration(float64(time.Second) * drift * f.slow[filepath.Base(o.SystemBinary)])
			c := results.Cell{Mode: m, Cameras: n, Status: results.StatusOK}
			c.Cycles.Latency = results.Quantiles{Count: 1, P50: d, P99: d, Max: d}
			c.Cycles.Visits = n
			c.Resources.RSSPeak, c.Resources.CPUCorePercent = 100<<20, 50
			r.Cells = append(r.Cells, c)
		}
	}
	if err := os.MkdirAll(o.OutDir, 0o755); err != nil {
		return nil, err
	}
	return r, results.Write(filepath.Join(o.OutDir, "results.json"), r)
}

func TestCompareCLI(t *testing.T) {
	bins := t.TempDir()
	for _, b := range []string{"base", "head"} {
		if err := os.WriteFile(filepath.Join(bins, b), []byte("#!/bin/sh\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	base, head := filepath.Join(bins, "base"), filepath.Join(bins, "head")
	scenario := filepath.Join("..", "..", "scenarios", "smoke.yaml")
	for _, tc := range []struct {
		name     string
		headSlow float64
		pairs    string
		order    string
		code     int
		want     string
	}{
		// No --pairs: the count is derived from alpha and the 28 comparisons
		// smoke.yaml makes (4 cells × 5 metrics + 2 endpoints): 11 pairs.
		{"head 30% slower", 1.3, "", "alternate", exitFailed, "REGRESSION"},
		{"same build (A/A)", 1.0, "", "alternate", exitOK, "no regression"},
		{"too few pairs to judge", 1.3, "2", "alternate", exitOK, "insufficient samples"},
		{"fixed order", 1.3, "", "fixed", exitFailed, "REGRESSION"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeRunner{slow: map[string]float64{"base": 1, "head": tc.headSlow}}
			old := compareRunner
			compareRunner = f.run
			defer func() { compareRunner = old }()
			out := t.TempDir()
			args := []string{"compare", "--base", base, "--head", head, "--order", tc.order, "--out", out, scenario}
			if tc.pairs != "" {
				args = append(args[:1], append([]string{"--pairs", tc.pairs}, args[1:]...)...)
			}
			stdout, stderr, code := camload(t, args...)
			if code != tc.code {
				t.Fatalf("camload compare (%s): exit %d; want %d\nstdout:\n%s\nstderr:\n%s", tc.name, code, tc.code, stdout, stderr)
			}
			if !strings.Contains(stdout, tc.want) {
				t.Errorf("camload compare (%s): stdout lacks %q:\n%s", tc.name, tc.want, stdout)
			}
			wantPairs, wantErr := 11, "compare: 11 pairs: the fewest whose sign test can reach alpha 0.05 over 28 comparisons"
			if tc.pairs != "" {
				wantPairs, wantErr = 2, "2 pairs cannot reach significance at alpha 0.05 over 28 comparisons (need >= 11)"
			}
			if len(f.calls) != 2*wantPairs || !strings.Contains(stderr, wantErr) {
				t.Errorf("camload compare (%s): %d runs, stderr %q; want %d runs and %q", tc.name, len(f.calls), stderr, 2*wantPairs, wantErr)
			}
			// Interleaved, the order alternating within pairs: base head,
			// head base, base head, …
			for i, c := range f.calls {
				want := []string{"base", "head"}[i%2]
				if tc.order == "alternate" && (i/2)%2 == 1 {
					want = []string{"head", "base"}[i%2]
				}
				if c != want {
					t.Fatalf("call %d ran %s; want %s (calls %v)", i, c, want, f.calls)
				}
			}
			for _, p := range []string{"verdict.txt", "junit.xml", "pair-01-base/results.json", "pair-01-head/results.json"} {
				if _, err := os.Stat(filepath.Join(out, p)); err != nil {
					t.Errorf("camload compare (%s): %v", tc.name, err)
				}
			}
		})
	}
}
