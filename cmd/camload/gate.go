package main

import (
	"github.com/spf13/cobra"

	"github.com/camload/camload/internal/cli"
	"github.com/camload/camload/reports"
	"github.com/camload/camload/reports/gate"
)

func init() { register("gate", newGateCmd) }

func newGateCmd(a *app) *cobra.Command {
	var (
		g        gate.Options
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
			head, base, err := reports.ReadRunAndBaseline(args[0], baseline)
			if err != nil {
				return err
			}
			v, err := gate.Judge(head, base, g)
			if err != nil {
				return err
			}
			if err := v.Write(a.stdout); err != nil {
				return err
			}
			if v.Failed() {
				return cli.ErrFailed
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&baseline, "baseline", "", "results.json (or run folder) of the baseline run")
	cli.Gate(cmd.Flags(), &g)
	return cmd
}
