package gate

import (
	"bytes"
	"encoding/xml"
	"strings"
	"testing"

	"github.com/camload/camload/results"
	"github.com/camload/camload/results/rule"
)

// TestJUnit checks the JUnit document's structure against the verdict: one
// case per cell, per rule result and per row, failures where the verdict
// fails, passing cases that say why for results on cells expected over
// budget (never skips: nothing is left to do about them), skips only for
// insufficient baseline rows, and the measured value with its interval on
// every rule case.
func TestJUnit(t *testing.T) {
	t.Parallel()
	run, head := fixture(t)
	for _, tc := range []struct {
		name       string
		head, base *results.Run
		opts       Options
	}{
		{"rules", withRules(run), nil, DefaultOptions},
		{"rules allowing inconclusive", withRules(run), nil, Options{Alpha: 0.05, AllowInconclusive: true}},
		{"baseline strict", withRules(head), run, Options{Alpha: 0.05, Strict: true}},
	} {
		v, err := Judge(tc.head, tc.base, tc.opts)
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		if err := WriteJUnit(&b, tc.head, v); err != nil {
			t.Fatal(err)
		}
		var got junitSuites
		if err := xml.Unmarshal(b.Bytes(), &got); err != nil {
			t.Fatalf("%s: not XML: %v", tc.name, err)
		}
		s := got.Suites[0]
		want := len(v.Cells) + len(v.Results) + len(v.Rows)
		if len(s.Cases) != want || s.Tests != want {
			t.Errorf("%s: %d cases (tests=%d); want %d (cells + rule results + rows)", tc.name, len(s.Cases), s.Tests, want)
		}
		wantFail, wantSkip, wantExcused := len(v.FailedCells())+len(v.Regressions()), 0, 0
		for _, r := range v.Results {
			switch {
			case r.Verdict == rule.Skipped:
				wantExcused++
			case v.ResultFails(r):
				wantFail++
			}
		}
		if v.Options.Strict {
			wantFail += len(v.Insufficient())
		} else {
			wantSkip += len(v.Insufficient())
		}
		fails, skips, excused := 0, 0, 0
		for _, c := range s.Cases {
			if c.Failure != nil {
				fails++
			}
			if c.Skipped != nil {
				skips++
			}
			if c.Classname == s.Name+".rules" && c.Skipped == nil {
				props := map[string]string{}
				for _, p := range c.Properties {
					props[p.Name] = p.Value
				}
				if props["measured"] == "" || props["limit"] == "" || props["n"] == "" || props["verdict"] == "" {
					t.Errorf("%s: case %q lacks measured/limit/n/verdict: %+v", tc.name, c.Name, props)
				}
				if props["excused"] == "true" {
					excused++
					if c.Failure != nil || !strings.Contains(c.SystemOut, "expected over budget") {
						t.Errorf("%s: excused case %q = %+v; want a pass whose output says it is expected over budget", tc.name, c.Name, c)
					}
				}
			}
		}
		if tc.name == "rules" && wantExcused == 0 {
			t.Errorf("%s: the fixture has no result on a cell expected over budget; the excused case is untested", tc.name)
		}
		if excused != wantExcused {
			t.Errorf("%s: %d excused rule cases; want %d", tc.name, excused, wantExcused)
		}
		if fails != wantFail || s.Failures != wantFail || skips != wantSkip || s.Skipped != wantSkip {
			t.Errorf("%s: %d failures (attr %d), %d skipped (attr %d); want %d and %d", tc.name, fails, s.Failures, skips, s.Skipped, wantFail, wantSkip)
		}
		if tc.opts.AllowInconclusive && strings.Contains(b.String(), `type="inconclusive"`) {
			t.Errorf("%s: an allowed inconclusive result is a failure", tc.name)
		}
	}
}
