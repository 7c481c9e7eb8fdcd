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
	alpha     float64
	minEffect float64
	metrics   []string
}

func (g *gateFlags) add(cmd *cobra.Command) {
	cmd.Flags().Float64Var(&g.alpha, "alpha", gate.DefaultOptions.Alpha, "significance level of the statistical test")
	cmd.Flags().Float64Var(&g.minEffect, "min-effect", gate.DefaultOptions.MinEffect, "smallest relative change that counts as a regression (0.05 = 5%)")
	cmd.Flags().StringSliceVar(&g.metrics, "metric", nil, "metrics to compare (default: cycle_p99, rss_peak, cpu_core, error_rate and api.<endpoint>.p99)")
}

func (g *gateFlags) options() gate.Options {
	return gate.Options{Alpha: g.alpha, MinEffect: g.minEffect, Metrics: g.metrics}
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
		Use:   "gate [--baseline base.json] results.json",
		Short: "Check a run's thresholds and, with a baseline, judge regressions (exit 1 on failure)",
		Long: `gate checks the thresholds recorded in results.json on every cell and, with
--baseline, compares each (mode, cameras) cell with the baseline over its
repetitions: Mann–Whitney U test (golang.org/x/perf/benchmath) plus a minimum
effect size. "~" marks no significant change. Exit 0 pass, 1 a threshold
failed or a metric regressed, 2 bad input.`,
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
