// Package gate judges a run: thresholds checked on every cell (k6-like
// expressions such as "< 1s") and regressions against a baseline run, judged
// over repetitions with the Mann–Whitney U test (golang.org/x/perf/benchmath)
// and a minimum effect size. It reads results.Run values and never prints;
// its Write methods render verdicts to an io.Writer. The metric vocabulary
// (names, units, groups, formatting) and the threshold expressions it judges
// live in package results.
package gate

import (
	"fmt"
	"strings"

	"github.com/camload/camload/results"
)

// Check is the outcome of one rule on one cell (one repetition).
type Check struct {
	Mode    string
	Cameras int
	Repeat  int
	Metric  string
	Expr    string // the threshold as written
	Value   float64
	Unit    results.Unit
	// Measured is false when the cell did not produce the metric (failed,
	// over budget, endpoint not attacked); such a check fails.
	Measured bool
	Pass     bool
	// Reason explains a failure without a value: "cell over budget",
	// "not measured".
	Reason string
}

// Cell names the checked repetition: "sync/1000#0".
func (c Check) Cell() string { return fmt.Sprintf("%s/%d#%d", c.Mode, c.Cameras, c.Repeat) }

// Got renders the measured value or the reason there is none.
func (c Check) Got() string {
	if !c.Measured {
		return c.Reason
	}
	return results.Format(c.Value, c.Unit)
}

// Evaluate checks every rule on every cell of r, in cell order then rule
// order. A cell whose status is not ok fails every rule ("cell
// over_budget"): a gate never passes on numbers that were not measured.
func Evaluate(r *results.Run, rules []results.Rule) []Check {
	var out []Check
	for _, c := range r.Cells {
		for _, rule := range rules {
			ch := Check{Mode: c.Mode, Cameras: c.Cameras, Repeat: c.Repeat, Metric: rule.Metric, Expr: rule.Threshold.Expr}
			v, u, ok := results.Metric(c, rule.Metric)
			ch.Unit = u
			switch {
			case c.Status != results.StatusOK && c.Status != "":
				ch.Reason = "cell " + strings.ReplaceAll(c.Status, "_", " ")
			case !ok:
				ch.Reason = "not measured"
			default:
				ch.Measured, ch.Value = true, v
				pass, err := rule.Threshold.Holds(v, u)
				if err != nil {
					ch.Reason = err.Error()
					ch.Measured = false
				}
				ch.Pass = pass
			}
			out = append(out, ch)
		}
	}
	return out
}
