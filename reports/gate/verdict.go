package gate

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/camload/camload/results"
)

// Verdict is a judged run: thresholds on every cell and, with a baseline,
// the comparison rows. It is plain data, safe to copy once built.
type Verdict struct {
	Scenario string
	Rules    []results.Rule
	Checks   []Check
	// Rows is nil when no baseline was given.
	Rows []Row
	// BaseCommit and HeadCommit label the comparison.
	BaseCommit, HeadCommit string
	Options                Options
	// Method names how Rows were judged, for people.
	Method string
}

// Methods of comparison.
const (
	MethodMannWhitney = "Mann–Whitney U test over repetitions"
	MethodSignTest    = "sign test over interleaved pairs"
)

// Judge checks head's thresholds on every cell and, when base is not nil,
// compares head with base. Bad thresholds or options are *cfgerr.Error.
func Judge(head, base *results.Run, opts Options) (*Verdict, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	rules, err := results.ParseRules(head.Thresholds)
	if err != nil {
		return nil, err
	}
	v := &Verdict{Scenario: head.Scenario, Rules: rules, Checks: Evaluate(head, rules), Options: opts, HeadCommit: head.Env.Commit}
	if base != nil {
		v.BaseCommit, v.Method = base.Env.Commit, MethodMannWhitney
		if v.Rows, err = Compare(base, head, opts); err != nil {
			return nil, err
		}
	}
	return v, nil
}

// ThresholdFailures counts failed checks.
func (v *Verdict) ThresholdFailures() int {
	n := 0
	for _, c := range v.Checks {
		if !c.Pass {
			n++
		}
	}
	return n
}

// Regressions returns the rows judged regressions.
func (v *Verdict) Regressions() []Row {
	var out []Row
	for _, r := range v.Rows {
		if r.Change == Regression {
			out = append(out, r)
		}
	}
	return out
}

// Failed reports whether the verdict fails the gate: a threshold failed or
// a metric regressed.
func (v *Verdict) Failed() bool { return v.ThresholdFailures() > 0 || len(v.Regressions()) > 0 }

// Summary is the verdict in one line: "PASS: 90 threshold checks, 24
// comparisons" or "FAIL: 2 regressions, 3 of 90 threshold checks failed".
func (v *Verdict) Summary() string {
	var parts []string
	if f := v.ThresholdFailures(); f > 0 {
		parts = append(parts, fmt.Sprintf("%d of %d threshold checks failed", f, len(v.Checks)))
	} else {
		parts = append(parts, fmt.Sprintf("%d threshold checks passed", len(v.Checks)))
	}
	if v.Rows != nil {
		if n := len(v.Regressions()); n > 0 {
			parts = append(parts, fmt.Sprintf("%d of %d comparisons regressed", n, len(v.Rows)))
		} else {
			parts = append(parts, fmt.Sprintf("no regression in %d comparisons", len(v.Rows)))
		}
	}
	status := "PASS"
	if v.Failed() {
		status = "FAIL"
	}
	return status + ": " + strings.Join(parts, ", ")
}

// ruleSummary aggregates the checks of one rule.
type ruleSummary struct {
	rule       results.Rule
	pass, fail int
	worst      *Check
}

func (v *Verdict) ruleSummaries() []ruleSummary {
	out := make([]ruleSummary, len(v.Rules))
	for i, r := range v.Rules {
		out[i].rule = r
	}
	for i := range v.Checks {
		c := &v.Checks[i]
		for j := range out {
			if out[j].rule.Metric != c.Metric {
				continue
			}
			s := &out[j]
			if c.Pass {
				s.pass++
			} else {
				s.fail++
			}
			if s.worst == nil || c.WorseThan(*s.worst, s.rule.Threshold.Op) {
				s.worst = c
			}
		}
	}
	return out
}

// WorseThan reports whether check a is further from passing than b, for a
// rule with operator op: failed before passed, unmeasured before measured,
// then the value on the wrong side of op.
func (a Check) WorseThan(b Check, op results.Op) bool {
	if a.Pass != b.Pass {
		return !a.Pass
	}
	if a.Measured != b.Measured {
		return !a.Measured
	}
	if op == results.Greater || op == results.GreaterEqual {
		return a.Value < b.Value
	}
	return a.Value > b.Value
}

// Write renders the verdict as text in benchstat's manner: the threshold
// table, every failed check, the comparison table with footnoted warnings,
// and the one-line summary last.
func (v *Verdict) Write(w io.Writer) error {
	var b strings.Builder
	if len(v.Rules) > 0 {
		fmt.Fprintf(&b, "thresholds (%d rules, each checked on every cell):\n", len(v.Rules))
		tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "metric\tthreshold\tpass\tfail\tworst cell\tworst value\t")
		for _, s := range v.ruleSummaries() {
			worstCell, worstVal := "—", "—"
			if s.worst != nil {
				worstCell, worstVal = s.worst.Cell(), s.worst.Got()
			}
			fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%s\t%s\t\n", s.rule.Metric, s.rule.Threshold.Expr, s.pass, s.fail, worstCell, worstVal)
		}
		tw.Flush()
		if v.ThresholdFailures() > 0 {
			b.WriteString("\nfailed checks:\n")
			tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
			for _, c := range v.Checks {
				if !c.Pass {
					fmt.Fprintf(tw, "  %s\t%s %s\tgot %s\t\n", c.Cell(), c.Metric, c.Expr, c.Got())
				}
			}
			tw.Flush()
		}
		b.WriteString("\n")
	} else {
		b.WriteString("thresholds: none in the results\n\n")
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
	fmt.Fprintf(b, "comparison with the baseline (%s, alpha %.2g, minimum effect %.3g%%):\n", v.Method, v.Options.Alpha, v.Options.MinEffect*100)
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
