package main

import (
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/camload/camload/internal/cfgerr"
	"github.com/camload/camload/reports/gate"
	"github.com/camload/camload/results"
)

func init() { register("gate", newGateCmd) }

// gateFlags are the judgement settings shared by gate and compare.
type gateFlags struct {
	alpha             float64
	minEffect         float64
	metrics           []string
	thresholds        []string
	expect            []string
	allowInconclusive bool
	allowEmpty        bool
	allowMissingBase  bool
	strict            bool
}

func (g *gateFlags) add(cmd *cobra.Command) {
	cmd.Flags().Float64Var(&g.alpha, "alpha", gate.DefaultOptions.Alpha, "significance level of the comparison, over all its rows (Holm–Bonferroni)")
	cmd.Flags().Float64Var(&g.minEffect, "min-effect", gate.DefaultOptions.MinEffect, "smallest relative change that counts as a regression (0.05 = 5%)")
	cmd.Flags().StringSliceVar(&g.metrics, "metric", nil, "metrics to compare, one value per repetition (default: cycle_p50, cycle_p99, rss_peak, cpu_core, error_rate and api.<endpoint>.p99)")
	// StringArray, not StringSlice: rules contain commas ({mode:a,cameras:1}).
	cmd.Flags().StringArrayVar(&g.thresholds, "threshold", nil, `add a threshold rule, e.g. 'cycle_p99{mode:batched}: < 1s' (repeatable)`)
	cmd.Flags().StringArrayVar(&g.expect, "expect", nil, `add an expect rule, e.g. 'rss_peak{mode:batched} <= 0.2 * rss_peak{mode:async}' (repeatable)`)
	cmd.Flags().BoolVar(&g.allowInconclusive, "allow-inconclusive", false, "let a rule whose interval straddles its limit pass (default: it fails)")
	cmd.Flags().BoolVar(&g.allowEmpty, "allow-empty", false, "accept results without cells (default: exit 2)")
	cmd.Flags().BoolVar(&g.allowMissingBase, "allow-missing-baseline", false, "accept a baseline with no cell in common (default: exit 2)")
	cmd.Flags().BoolVar(&g.strict, "strict", false, "fail when a comparison has too few repetitions or pairs to reach significance (default: warn)")
}

func (g *gateFlags) options() gate.Options {
	return gate.Options{Alpha: g.alpha, MinEffect: g.minEffect, Metrics: g.metrics,
		Thresholds: g.thresholds, Expect: g.expect, AllowInconclusive: g.allowInconclusive,
		AllowEmpty: g.allowEmpty, AllowMissingBaseline: g.allowMissingBase, Strict: g.strict}
}

// readResults reads a results.json, or DIR/results.json when path is a
// folder. Unreadable or malformed input is a usage error (exit 2) naming
// the file and the problem.
func readResults(path string) (*results.Run, error) {
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		path = filepath.Join(path, "results.json")
	}
	r, err := results.Read(path)
	if err != nil {
		return nil, cfgerr.Usage("%w", err)
	}
	return r, nil
}

func newGateCmd(a *app) *cobra.Command {
	var (
		g        gateFlags
		baseline string
	)
	cmd := &cobra.Command{
		Use:   "gate [--threshold RULE] [--expect RULE] [--baseline base.json] results.json",
		Short: "Judge a run's rules and cells and, with a baseline, regressions (exit 1 on failure)",
		Long: `gate judges the rules recorded in results.json (the scenario's thresholds and
expect rules, plus --threshold and --expect) on the cells their selectors
name, e.g. 'cycle_p99{mode:batched,cameras:1000}: < 1s' or
'rss_peak{mode:batched} <= 0.2 * rss_peak{mode:async}'. Each operand is the
median over its cell's repetitions; with several repetitions a rule is judged
on its 95% bootstrap interval: pass, fail or inconclusive. Every cell must
complete, except those the scenario declares in expect_over_budget.

With --baseline, each (mode, cameras) cell is compared with the baseline, one
value per repetition (its cycle median, its p99, its RSS peak, …): Mann–Whitney
U test (golang.org/x/perf/benchmath), Holm–Bonferroni over the rows at
--alpha, plus a minimum effect size. "~" marks no significant change; a row
whose repetitions are too few to ever reach significance is "insufficient
samples" (a warning, or a failure with --strict).

Exit 0 pass; 1 a rule failed or was inconclusive (unless --allow-inconclusive),
a cell did not complete unexpectedly, a metric regressed; 2 bad input: a
malformed rule, a selector that matches no cell, results without cells (unless
--allow-empty), a baseline without a cell in common (unless
--allow-missing-baseline).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			head, err := readResults(args[0])
			if err != nil {
				return err
			}
			var base *results.Run
			if baseline != "" {
				if base, err = readResults(baseline); err != nil {
					return err
				}
			}
			v, err := gate.Judge(head, base, g.options())
			if err != nil {
				return err
			}
			if err := v.Write(a.stdout); err != nil {
				return err
			}
			if v.Failed() {
				return errFailed
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&baseline, "baseline", "", "results.json (or run folder) of the baseline run")
	g.add(cmd)
	return cmd
}
