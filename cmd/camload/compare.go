package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/camload/camload/bench"
	"github.com/camload/camload/internal/cli"
	"github.com/camload/camload/reports"
	"github.com/camload/camload/reports/gate"
)

// compareRunner runs one scenario with one system binary; tests replace it.
var compareRunner = bench.Run

func newCompareCmd(a *app) *cobra.Command {
	var (
		g  gate.Options
		co bench.CompareOptions
		sf *cli.Scenario
	)
	cmd := &cobra.Command{
		Use:   "compare --base OLD_BINARY --head NEW_BINARY [--pairs N] scenario.yaml",
		Short: "Run two builds of the system interleaved (A B A B …) and judge the head pair by pair",
		Long:  help("compare"),
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			co.PairsGiven = cmd.Flags().Changed("pairs")
			if err := g.Validate(); err != nil {
				return err
			}
			if err := co.Validate(); err != nil {
				return err
			}
			ov := sf.Overrides()
			ov.Repeat = 1 // the pairs are the repetitions
			sc, err := bench.LoadScenario(args[0], ov, nil)
			if err != nil {
				return err
			}
			if note := co.ResolvePairs(sc, g); note != "" {
				fmt.Fprintln(a.stderr, note)
			}
			ver, _ := cli.BuildInfo(version)
			run := bench.Options{Progress: a.stderr, IsTTY: cli.IsTTY(a.stderr), Version: ver}
			ps, err := bench.RunPairs(a.ctx, sc, co.PairOptions(run, a.stderr, compareRunner))
			if err != nil {
				return err
			}
			v, err := reports.WriteComparison(a.stdout, reports.Comparison{Scenario: sc.Name, Base: co.Base, Head: co.Head, Pairs: ps, Gate: g, OutDir: co.OutDir})
			if err != nil {
				return err
			}
			if v.Failed() {
				return cli.ErrFailed
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&co.Base, "base", "", "camload binary of the base build (its `serve` is the system)")
	fl.StringVar(&co.Head, "head", "", "camload binary of the head build")
	fl.IntVar(&co.Pairs, "pairs", 0, "number of interleaved base/head pairs, 1 … 100 (default: the fewest that can reach --alpha, see above)")
	fl.StringVar(&co.OutDir, "out", "", "folder for the runs and the verdict (default runs/compare-<scenario>-<time>)")
	fl.BoolVar(&co.AllowRemote, "allow-remote", false, "allow backend URIs that are not loopback")
	fl.StringVar(&co.Order, "order", bench.OrderAlternate, `order within pairs: "alternate" (A B, B A, …: cancels a bias towards the first or second run of a pair) or "fixed" (A B, A B, …)`)
	sf = cli.AddScenario(fl, "override the scenario's camera counts", "override the scenario's modes")
	cli.Gate(fl, &g)
	return cmd
}
