// Package gate judges a run: its rules (results/rule: thresholds with
// selectors such as "cycle_p99{mode:batched}: < 1s" and cross-cell expect
// rules), that every cell completed or was expected not to, and, against a
// baseline, regressions judged over repetitions (one summary per
// repetition, Mann–Whitney U test, golang.org/x/perf/benchmath) with a
// minimum effect size. It reads results.Run values and never prints; its
// Write methods render verdicts to an io.Writer. The metric vocabulary
// (names, units, groups, formatting) lives in package results.
package gate

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/camload/camload/internal/cfgerr"
	"github.com/camload/camload/results"
	"github.com/camload/camload/results/rule"
)

// Source is a rule.Source over a run: one cell per (mode, cameras) group
// with labels mode and cameras, and per metric one value per ok
// repetition (the unit of replication is the repetition). A repetition
// that is not ok (over budget, failed) counts as missing, so a rule on its
// cell fails; a censored capacity is a lower bound, one whose search
// failed at its floor an upper bound (results.UpperBound); a group declared in
// the run's expect_over_budget that ran over its budget is excused.
type Source struct {
	run    *results.Run
	groups map[string]results.Group
	cells  []rule.Cell
	excuse map[string]bool
}

// NewSource builds the rule source of r. overBudget are the selectors of
// cells expected over budget (Run.ExpectOverBudget, parsed); a selector
// that matches no cell is returned in unmatched (a warning for callers:
// it excuses nothing).
func NewSource(r *results.Run, overBudget []rule.Selector) (src *Source, unmatched []rule.Selector) {
	s := &Source{run: r, groups: map[string]results.Group{}, excuse: map[string]bool{}}
	for _, g := range results.Groups(r) {
		c := rule.Cell{Name: g.Key(), Labels: map[string]string{"mode": g.Mode, "cameras": strconv.Itoa(g.Cameras)}}
		s.cells = append(s.cells, c)
		s.groups[c.Name] = g
	}
	for _, sel := range overBudget {
		hit := false
		for _, c := range s.cells {
			if sel.Matches(c.Labels) {
				s.excuse[c.Name], hit = true, true
			}
		}
		if !hit {
			unmatched = append(unmatched, sel)
		}
	}
	return s, unmatched
}

// Cells returns one cell per (mode, cameras) group in the run's order.
func (s *Source) Cells() []rule.Cell { return s.cells }

// ExpectedOverBudget reports whether the cell is declared as expected over
// budget.
func (s *Source) ExpectedOverBudget(cell string) bool { return s.excuse[cell] }

// Sample returns the metric's value in every ok repetition of c.
func (s *Source) Sample(c rule.Cell, metric string) (rule.Sample, error) {
	u, err := results.MetricUnit(metric)
	if err != nil {
		return rule.Sample{}, err
	}
	g := s.groups[c.Name]
	out := rule.Sample{Unit: u}
	if s.excuse[c.Name] && g.Status() == results.StatusOverBudget {
		out.Excused = "expected over budget (expect_over_budget)"
		return out, nil
	}
	var reasons []string
	addReason := func(r string) {
		for _, x := range reasons {
			if x == r {
				return
			}
		}
		reasons = append(reasons, r)
	}
	censored, below := false, false
	for _, cell := range g.Cells {
		if cell.Status != results.StatusOK && cell.Status != "" {
			out.Missing++
			addReason("repetition " + strings.ReplaceAll(cell.Status, "_", " ") + partial(cell, metric))
			continue
		}
		v, _, ok := results.RuleValue(cell, metric)
		bz := false
		if !ok {
			// A capacity whose search failed at its floor: below it.
			if v, ok = results.UpperBound(cell, metric); !ok {
				out.Missing++
				addReason("not measured")
				continue
			}
			bz = true
		}
		out.Values = append(out.Values, v)
		cz := results.Censored(cell, metric)
		censored, below = censored || cz, below || bz
		out.Censored = append(out.Censored, cz)
		out.Below = append(out.Below, bz)
	}
	var notes []string
	if censored {
		notes = append(notes, "capacity search never failed")
	} else {
		out.Censored = nil
	}
	if below {
		notes = append(notes, "capacity search failed at its floor")
	} else {
		out.Below = nil
	}
	out.Note = strings.Join(notes, "; ")
	out.Reason = strings.Join(reasons, ", ")
	return out, nil
}

// partial describes what a repetition that did not complete measured of
// metric before it stopped, for the message of the rule it fails: "; it
// measured 1m32.9s over 2 cycles before it stopped, not judged". Empty
// when it measured nothing. The value never enters a verdict: a run cut
// short by its budget is not extrapolated.
func partial(c results.Cell, metric string) string {
	v, u, ok := results.Metric(c, metric)
	if !ok || (v == 0 && c.Cycles.Count == 0) {
		return ""
	}
	over := ""
	if strings.HasPrefix(metric, "cycle_") || strings.HasPrefix(metric, "per_camera_") {
		over = fmt.Sprintf(" over %d cycles", c.Cycles.Count)
	}
	return fmt.Sprintf("; it measured %s%s before it stopped, not judged", results.Format(v, u), over)
}

// ParseCellSelectors parses expect_over_budget entries: "mode:sync,cameras:1000"
// (braces optional). Errors are *cfgerr.Error naming field[i].
func ParseCellSelectors(field string, list []string) ([]rule.Selector, error) {
	var out []rule.Selector
	var errs []error
	for i, s := range list {
		sel, err := results.ParseCellSelector(s)
		if err != nil {
			errs = append(errs, cfgerr.Field(fmt.Sprintf("%s[%d]", field, i), "%v", err))
			continue
		}
		out = append(out, sel)
	}
	return out, cfgerr.Join(errs...)
}

// Rules parses the run's rules (Run.Thresholds, Run.Expect) and the ad hoc
// ones of opts (--threshold "KEY: COND", --expect "EXPR"), checked against
// the metric vocabulary. Every bad rule is a *cfgerr.Error naming its
// field: thresholds.KEY, expect[i], --threshold[i], --expect[i].
func Rules(r *results.Run, opts Options) ([]*rule.Rule, error) {
	rules, err := rule.ParseSet(r.Thresholds, r.Expect, results.MetricUnit)
	errs := []error{err}
	for i, line := range opts.Thresholds {
		x, err := rule.ParseThresholdLine(line)
		if err == nil {
			err = x.Check(results.MetricUnit)
		}
		if err != nil {
			errs = append(errs, &cfgerr.Error{Field: fmt.Sprintf("--threshold[%d]", i), Err: err})
			continue
		}
		rules = append(rules, x)
	}
	for i, line := range opts.Expect {
		x, err := rule.ParseExpect(line)
		if err == nil {
			err = x.Check(results.MetricUnit)
		}
		if err != nil {
			errs = append(errs, &cfgerr.Error{Field: fmt.Sprintf("--expect[%d]", i), Err: err})
			continue
		}
		rules = append(rules, x)
	}
	return rules, cfgerr.Join(errs...)
}

// CellCheck is the completion of one (mode, cameras) group.
type CellCheck struct {
	Cell string // "sync/1000"
	// Status is the group's status (results.Group.Status).
	Status string
	// Expected is true when the group is not ok but was declared in
	// expect_over_budget and ran over its budget: not a failure.
	Expected bool
	Reps, OK int
	// Error is the first failing repetition's error.
	Error string
}

// Failed reports whether the cell fails the gate: not ok and not expected.
func (c CellCheck) Failed() bool { return c.Status != results.StatusOK && !c.Expected }

func cellChecks(r *results.Run, src *Source) []CellCheck {
	var out []CellCheck
	for _, g := range results.Groups(r) {
		cc := CellCheck{Cell: g.Key(), Status: g.Status(), Reps: len(g.Cells), OK: len(g.OK())}
		if cc.Status == results.StatusOverBudget && src.ExpectedOverBudget(cc.Cell) {
			cc.Expected = true
		}
		for _, c := range g.Cells {
			if c.Status != results.StatusOK && c.Status != "" {
				cc.Error = c.Error
				break
			}
		}
		out = append(out, cc)
	}
	return out
}

// ReportOptions are opts for rendering a report rather than gating: a run
// without cells or a baseline without a cell in common is shown as such,
// not refused.
func ReportOptions(opts Options) Options {
	opts.AllowEmpty, opts.AllowMissingBaseline = true, true
	return opts
}

// Measured renders a result's measured side and its limit: "1.2s (95% CI
// 1.1s … 1.3s)" and "< 1s", or "not measured" when a cell had no value.
func Measured(r rule.Result) (measured, need string) {
	need = string(r.Rule.Op) + " " + r.Rule.Right.String()
	if r.Left.Confidence == 0 { // never computed: a value was missing or the cell excused
		if r.Verdict == rule.Skipped {
			return "skipped", need
		}
		return "not measured", need
	}
	return r.Left.String(), string(r.Rule.Op) + " " + r.Right.Limit()
}

// notInRun reports whether rule r is not applicable to a filtered run
// (results.Run.Filtered): some reference matches no cell of the run, and
// each such reference names cells the run left out (selectorNotInRun).
// A reference with a value the scenario does not have (a typo), or one
// whose values were all kept but whose cells are absent (an interrupted
// run), is not excused: the rule is evaluated and fails to bind (exit 2).
func notInRun(r *rule.Rule, cells []rule.Cell, f *results.Filter) bool {
	if f == nil {
		return false
	}
	unmatched := false
	for _, ref := range r.Refs() {
		if slices.ContainsFunc(cells, func(c rule.Cell) bool { return ref.Selector.Matches(c.Labels) }) {
			continue
		}
		if !selectorNotInRun(ref.Selector, f) {
			return false
		}
		unmatched = true
	}
	return unmatched
}

// selectorNotInRun reports whether sel, which matches no cell of a run
// filtered by f, names only values of the scenario's matrix or of the
// run's, at least one of them a value the run left out.
func selectorNotInRun(sel rule.Selector, f *results.Filter) bool {
	if f == nil {
		return false
	}
	out := false
	for _, l := range sel {
		if !f.Known(l.Key, l.Value) {
			return false
		}
		out = out || f.FilteredOut(l.Key, l.Value)
	}
	return out
}

// notInRunResult is the result of a rule not applicable to a filtered
// run: Skipped, as a rule on a cell expected over budget is, with the
// filter as its reason, and no cells.
func notInRunResult(r *rule.Rule, f *results.Filter) rule.Result {
	return rule.Result{Rule: r, Verdict: rule.Skipped,
		Message: fmt.Sprintf("%s %s: not in this run (filtered by %s)", rule.Skipped, r, f.Flags())}
}

// NotInRunCells is what ResultCells shows for a rule not in the run.
const NotInRunCells = "not in this run"

// ResultCells names a result's cells for tables and JUnit case names:
// r.CellNames(), or NotInRunCells for a rule on cells a filtered run
// left out.
func ResultCells(r rule.Result) string {
	if len(r.Cells) == 0 && r.Verdict == rule.Skipped {
		return NotInRunCells
	}
	return r.CellNames()
}
