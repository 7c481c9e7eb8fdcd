package gate

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/camload/camload/internal/cfgerr"
	"github.com/camload/camload/results"
	"github.com/camload/camload/results/rule"
)

// Verdict is a judged run: its rules, its cells and, with a baseline, the
// comparison rows. It is plain data, safe to copy once built.
type Verdict struct {
	Scenario string
	// Rules are the rules judged (the run's and the ad hoc ones), and
	// Results their outcomes: one per matched cell for a threshold, one
	// per joined combination of cells for an expect rule.
	Rules   []*rule.Rule
	Results []rule.Result
	// Cells is the completion of every (mode, cameras) group.
	Cells []CellCheck
	// Rows is nil when no baseline was given.
	Rows []Row
	// BaseCommit and HeadCommit label the comparison.
	BaseCommit, HeadCommit string
	Options                Options
	// Method names how Rows were judged, for people.
	Method string
	// Replication is the unit of replication of the comparison:
	// UnitRepetition or UnitPair.
	Replication string
	// Warnings are caveats that do not fail the gate (an
	// expect_over_budget selector that matches nothing, an empty run
	// allowed by AllowEmpty).
	Warnings []string
	// NotInRun counts the Results (Skipped) of rules on cells a filtered
	// run left out (results.Run.Filtered); Filter names the flags that
	// left them out ("--modes batched,resilient").
	NotInRun int
	Filter   string
}

// Methods of comparison.
const (
	MethodMannWhitney = "Mann–Whitney U test over repetitions, Holm–Bonferroni over rows"
	MethodSignTest    = "sign test over interleaved pairs, Holm–Bonferroni over rows"
)

// Judge judges head: its rules (the run's thresholds and expect rules and
// opts' ad hoc ones), its cells and, when base is not nil, the comparison
// with base. Errors, all *cfgerr.Error (exit 2): bad options, a malformed
// rule or one that matches no cell (naming the rule), a run without cells
// (unless opts.AllowEmpty), a baseline without a cell in common (unless
// opts.AllowMissingBaseline).
func Judge(head, base *results.Run, opts Options) (*Verdict, error) {
	v, err := judge(head, opts)
	if err != nil {
		return nil, err
	}
	if base != nil {
		v.BaseCommit, v.Method, v.Replication = base.Env.Commit, MethodMannWhitney, UnitRepetition
		if v.Rows, err = Compare(base, head, opts); err != nil {
			return nil, err
		}
		if v.Rows == nil {
			v.Rows = []Row{}
		}
		if len(v.Rows) == 0 {
			if !opts.AllowMissingBaseline {
				return nil, errNoCommonCells(base, head)
			}
			v.Warnings = append(v.Warnings, "the baseline has no cell in common with the run: nothing was compared (--allow-missing-baseline)")
		}
	}
	return v, nil
}

func errNoCommonCells(base, head *results.Run) error {
	keys := func(r *results.Run) string {
		var ks []string
		for _, g := range results.Groups(r) {
			ks = append(ks, g.Key())
		}
		if len(ks) == 0 {
			return "none"
		}
		return strings.Join(ks, ", ")
	}
	return cfgerr.Usage("gate: the baseline has no cell in common with the run (baseline cells: %s; run cells: %s): nothing would be compared; --allow-missing-baseline accepts it",
		keys(base), keys(head))
}

// judge evaluates head's rules and cells.
func judge(head *results.Run, opts Options) (*Verdict, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	v := &Verdict{Scenario: head.Scenario, Options: opts, HeadCommit: head.Env.Commit}
	rules, err := Rules(head, opts)
	if err != nil {
		return nil, err
	}
	v.Rules = rules
	if len(head.Cells) == 0 {
		if !opts.AllowEmpty {
			return nil, cfgerr.Usage("gate: the results have no cells (cells: []): nothing was measured, so nothing can pass; --allow-empty accepts it")
		}
		v.Warnings = append(v.Warnings, "the results have no cells: no rule was judged (--allow-empty)")
		return v, nil
	}
	sels, err := ParseCellSelectors("expect_over_budget", head.ExpectOverBudget)
	if err != nil {
		return nil, err
	}
	src, unmatched := NewSource(head, sels)
	for _, sel := range unmatched {
		if selectorNotInRun(sel, head.Filtered) {
			continue // a cell the run left out: nothing to excuse
		}
		v.Warnings = append(v.Warnings, fmt.Sprintf("expect_over_budget %s matches no cell of the run: it excuses nothing", sel))
	}
	v.Filter = head.Filtered.Flags()
	var errs []error
	for _, r := range rules {
		if notInRun(r, src.Cells(), head.Filtered) {
			v.Results = append(v.Results, notInRunResult(r, head.Filtered))
			v.NotInRun++
			continue
		}
		res, err := r.Evaluate(src, opts.Rule)
		if err != nil {
			if head.Filtered != nil && errors.Is(err, rule.ErrNoMatch) {
				err = fmt.Errorf("%w\n(the run was filtered by %s; %s)", err, v.Filter, head.Filtered.Describe())
			}
			errs = append(errs, cfgerr.Usage("%w", err))
			continue
		}
		v.Results = append(v.Results, res...)
	}
	if err := cfgerr.Join(errs...); err != nil {
		return nil, err
	}
	v.Cells = cellChecks(head, src)
	return v, nil
}

// Count returns how many rule results have verdict x.
func (v *Verdict) Count(x rule.Verdict) int {
	n := 0
	for _, r := range v.Results {
		if r.Verdict == x {
			n++
		}
	}
	return n
}

// FailedCells returns the cells that did not complete and were not
// expected to fail.
func (v *Verdict) FailedCells() []CellCheck {
	var out []CellCheck
	for _, c := range v.Cells {
		if c.Failed() {
			out = append(out, c)
		}
	}
	return out
}

// Regressions returns the rows judged regressions.
func (v *Verdict) Regressions() []Row { return v.rowsWith(Regression) }

// Insufficient returns the rows with too few samples to judge.
func (v *Verdict) Insufficient() []Row { return v.rowsWith(Insufficient) }

func (v *Verdict) rowsWith(c Change) []Row {
	var out []Row
	for _, r := range v.Rows {
		if r.Change == c {
			out = append(out, r)
		}
	}
	return out
}

// ResultFails reports whether a rule result fails the gate under the
// verdict's options: a failure, or an inconclusive result unless
// AllowInconclusive.
func (v *Verdict) ResultFails(r rule.Result) bool {
	return r.Verdict == rule.Fail || (r.Verdict == rule.Inconclusive && !v.Options.AllowInconclusive)
}

// Failed reports whether the verdict fails the gate: a rule failed (or was
// inconclusive, unless allowed), a cell did not complete unexpectedly, a
// metric regressed, or (with Strict) a comparison had too few samples.
func (v *Verdict) Failed() bool {
	for _, r := range v.Results {
		if v.ResultFails(r) {
			return true
		}
	}
	return len(v.FailedCells()) > 0 || len(v.Regressions()) > 0 || (v.Options.Strict && len(v.Insufficient()) > 0)
}

// Summary is the verdict in one line: "PASS: 12 rule checks passed, 6
// cells completed, no regression in 24 comparisons" or "FAIL: 2 of 12
// rule checks failed, …".
func (v *Verdict) Summary() string {
	var parts []string
	// Rules on cells a filtered run left out are counted apart: they were
	// not judged at all.
	n := len(v.Results) - v.NotInRun
	fail, inc, skip := v.Count(rule.Fail), v.Count(rule.Inconclusive), v.Count(rule.Skipped)-v.NotInRun
	switch {
	case n == 0 && v.NotInRun > 0:
		// Only rules on cells the run left out: said below.
	case n == 0:
		parts = append(parts, "no rules")
	case fail == 0 && inc == 0:
		parts = append(parts, fmt.Sprintf("%d rule checks passed", n-skip))
	default:
		if fail > 0 {
			parts = append(parts, fmt.Sprintf("%d of %d rule checks failed", fail, n))
		} else {
			parts = append(parts, fmt.Sprintf("%d of %d rule checks passed", n-skip-inc, n))
		}
		if inc > 0 {
			s := fmt.Sprintf("%d inconclusive", inc)
			if v.Options.AllowInconclusive {
				s += " (allowed)"
			}
			parts = append(parts, s)
		}
	}
	if skip > 0 {
		parts = append(parts, fmt.Sprintf("%d skipped", skip))
	}
	if v.NotInRun > 0 {
		parts = append(parts, fmt.Sprintf("%d %s skipped: not in this run (filtered by %s)", v.NotInRun, plural(v.NotInRun, "rule", "rules"), v.Filter))
	}
	expected := 0
	for _, c := range v.Cells {
		if c.Expected {
			expected++
		}
	}
	if f := v.FailedCells(); len(f) > 0 {
		parts = append(parts, fmt.Sprintf("%d of %d cells did not complete", len(f), len(v.Cells)))
	} else if len(v.Cells) > 0 {
		parts = append(parts, fmt.Sprintf("%d cells completed", len(v.Cells)-expected))
	}
	if expected > 0 {
		parts = append(parts, fmt.Sprintf("%d over budget as expected", expected))
	}
	if v.Rows != nil {
		if k := len(v.Regressions()); k > 0 {
			parts = append(parts, fmt.Sprintf("%d of %d comparisons regressed", k, len(v.Rows)))
		} else {
			parts = append(parts, fmt.Sprintf("no regression in %d comparisons", len(v.Rows)))
		}
		if k := len(v.Insufficient()); k > 0 {
			s := fmt.Sprintf("%d with insufficient samples", k)
			if !v.Options.Strict {
				s += " (a warning; --strict fails)"
			}
			parts = append(parts, s)
		}
	}
	status := "PASS"
	if v.Failed() {
		status = "FAIL"
	}
	return status + ": " + strings.Join(parts, ", ")
}

// Write renders the verdict as text: one line per rule result (the rule,
// the cells, the measured values with their intervals and n), the cells
// that did not complete, the comparison table with footnoted warnings,
// and the one-line summary last.
func (v *Verdict) Write(w io.Writer) error {
	var b strings.Builder
	if len(v.Rules) > 0 {
		th := 0
		for _, r := range v.Rules {
			if r.Kind == rule.Threshold {
				th++
			}
		}
		fmt.Fprintf(&b, "rules (%d thresholds, %d expect; each operand is the median over its cell's repetitions, the unit of replication):\n", th, len(v.Rules)-th)
		// A caveat shared by many results is a footnote, not a repeat.
		var notes []string
		for _, r := range v.Results {
			msg, fn := r.Message, ""
			for _, w := range r.Warnings {
				if !strings.HasSuffix(msg, "; "+w) && !strings.Contains(msg, "; "+w+";") {
					continue
				}
				msg = strings.Replace(msg, "; "+w, "", 1)
				i := slices.Index(notes, w)
				if i < 0 {
					i = len(notes)
					notes = append(notes, w)
				}
				fn += footnote(i)
			}
			fmt.Fprintf(&b, "  %s%s\n", msg, fn)
		}
		for i, n := range notes {
			fmt.Fprintf(&b, "  %s %s\n", footnote(i), n)
		}
		b.WriteString("\n")
	} else {
		b.WriteString("rules: none in the results\n\n")
	}
	if len(v.Cells) > 0 {
		var notOK []CellCheck
		for _, c := range v.Cells {
			if c.Status != results.StatusOK {
				notOK = append(notOK, c)
			}
		}
		if len(notOK) == 0 {
			fmt.Fprintf(&b, "cells: all %d completed\n\n", len(v.Cells))
		} else {
			fmt.Fprintf(&b, "cells (%d of %d did not complete):\n", len(notOK), len(v.Cells))
			tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
			for _, c := range notOK {
				mark := "FAIL"
				if c.Expected {
					mark = "expected (expect_over_budget)"
				}
				fmt.Fprintf(tw, "  %s\t%s\t%d of %d repetitions ok\t%s\t\n", c.Cell, strings.ReplaceAll(c.Status, "_", " "), c.OK, c.Reps, mark)
			}
			tw.Flush()
			b.WriteString("\n")
		}
	}
	for _, w := range v.Warnings {
		fmt.Fprintf(&b, "warning: %s\n", w)
	}
	if len(v.Warnings) > 0 {
		b.WriteString("\n")
	}
	if v.Rows != nil {
		writeRows(&b, v)
	}
	b.WriteString(v.Summary())
	b.WriteString("\n")
	_, err := io.WriteString(w, b.String())
	return err
}

var superscripts = []string{"¹", "²", "³", "⁴", "⁵", "⁶", "⁷", "⁸", "⁹"}

func footnote(i int) string {
	if i < len(superscripts) {
		return superscripts[i]
	}
	return fmt.Sprintf("[%d]", i+1)
}

func writeRows(b *strings.Builder, v *Verdict) {
	base, head := "base", "head"
	if v.BaseCommit != "" {
		base += " (" + shortCommit(v.BaseCommit) + ")"
	}
	if v.HeadCommit != "" {
		head += " (" + shortCommit(v.HeadCommit) + ")"
	}
	unit := v.Replication
	if unit == "" {
		unit = UnitRepetition
	}
	fmt.Fprintf(b, "comparison with the baseline (%s, alpha %.2g, minimum effect %.3g%%; unit of replication: the %s):\n", v.Method, v.Options.Alpha, v.Options.MinEffect*100, unit)
	if len(v.Rows) == 0 {
		b.WriteString("  no cell is in both runs\n\n")
		return
	}
	var notes []string
	noteIndex := map[string]int{}
	tw := tabwriter.NewWriter(b, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "cell\tmetric\t%s\t%s\tdelta\tp-value\t\n", base, head)
	last := ""
	for _, r := range v.Rows {
		cell := r.Cell
		if cell == last {
			cell = ""
		}
		last = r.Cell
		fn := ""
		for _, w := range r.Warnings {
			i, ok := noteIndex[w]
			if !ok {
				i = len(notes)
				noteIndex[w] = i
				notes = append(notes, w)
			}
			fn += footnote(i)
		}
		delta := r.Delta
		if r.Change == Missing || (r.Change == Regression && r.Note != "") {
			delta = "?"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", cell, r.Metric,
			r.formatCentre(r.Base, r.BaseRange, r.NBase), r.formatCentre(r.Head, r.HeadRange, r.NHead),
			delta+fn, r.formatP(), r.mark())
	}
	tw.Flush()
	for i, n := range notes {
		fmt.Fprintf(b, "%s %s\n", footnote(i), n)
	}
	if regs := v.Regressions(); len(regs) > 0 {
		b.WriteString("\nregressions:\n")
		for _, r := range regs {
			if r.Note != "" {
				fmt.Fprintf(b, "  %s: %s\n", r.metricLabel(), r.Note)
				continue
			}
			fmt.Fprintf(b, "  %s: %s → %s (%s, %s)\n", r.metricLabel(), results.Format(r.Base, r.Unit), results.Format(r.Head, r.Unit), r.Delta, r.formatP())
		}
	}
	b.WriteString("\n")
}

func shortCommit(c string) string {
	if len(c) > 12 {
		return c[:12]
	}
	return c
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
