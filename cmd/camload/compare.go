package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/camload/camload/bench"
	"github.com/camload/camload/internal/cli"
	"github.com/camload/camload/reports"
	"github.com/camload/camload/reports/gate"
)

func init() { register("compare", newCompareCmd) }

// compareRunner runs one scenario with one system binary; tests replace it.
var compareRunner = bench.Run

func newCompareCmd(a *app) *cobra.Command {
	var (
		g           gate.Options
		co          bench.CompareOptions
		outDir      string
		allowRemote bool
		sf          *cli.Scenario
	)
	cmd := &cobra.Command{
		Use:   "compare --base OLD_BINARY --head NEW_BINARY [--pairs N] scenario.yaml",
		Short: "Run two builds of the system interleaved (A B A B …) and judge the head pair by pair",
		Long: `compare runs the scenario with the base build of the system, then with the
head build, and repeats the pair --pairs times on this machine, each run with
repeat forced to 1. Runs are interleaved, and by default the order within a
pair alternates (A B, B A, A B, …) so that a bias towards the first or the
second run of a pair does not read as a difference between the builds; an
A/A comparison measured here (5 pairs, smoke scenario) showed the second run
of every pair with ~5% more RSS. --order fixed runs A B, A B, …. Each pair gives a head ÷ base ratio per
(mode, cameras) cell and metric; a metric regresses when the median ratio is
worse than 1 + --min-effect and a sign test over the pairs is significant
at --alpha, the rows judged together (Holm–Bonferroni). n pairs reach at best
p = 2·0.5^n, so the default --pairs is derived from alpha: the smallest n with
2·0.5^n ≤ alpha ÷ rows, rows = cells × compared metrics (at alpha 0.05, one
cell and one metric need 6; 14 rows need 10). Fewer pairs are "insufficient
samples" (a warning, or a failure with --strict). Noise that hits the machine
hits both members of a pair alike, which is why this is the way to gate on a
noisy CI machine.

Each run's folder is OUT/pair-NN-base and OUT/pair-NN-head; the verdict is
printed and written to OUT/verdict.txt and OUT/junit.xml. Exit 0 pass,
1 regression or threshold failed, 2 bad input, 130 interrupted.`,
		Args: cobra.ExactArgs(1),
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
			if outDir == "" {
				outDir = bench.DefaultOutDir("compare-"+sc.Name, time.Now())
			}
			if note := co.ResolvePairs(sc, g); note != "" {
				fmt.Fprintln(a.stderr, note)
			}
			ver, _ := buildInfo()
			ps, err := bench.RunPairs(a.ctx, sc, bench.PairOptions{
				BaseBinary: co.Base, HeadBinary: co.Head, Pairs: co.Pairs, Order: co.Order, OutDir: outDir,
				Run:      bench.Options{AllowRemote: allowRemote, Progress: a.stderr, IsTTY: cli.IsTTY(a.stderr), Version: ver},
				Progress: a.stderr, Runner: compareRunner,
			})
			if err != nil {
				return err
			}
			v, err := reports.WriteComparison(a.stdout, reports.Comparison{Scenario: sc.Name, Base: co.Base, Head: co.Head, Pairs: ps, Gate: g, OutDir: outDir})
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
	fl.StringVar(&outDir, "out", "", "folder for the runs and the verdict (default runs/compare-<scenario>-<time>)")
	fl.BoolVar(&allowRemote, "allow-remote", false, "allow backend URIs that are not loopback")
	fl.StringVar(&co.Order, "order", bench.OrderAlternate, `order within pairs: "alternate" (A B, B A, …: cancels a bias towards the first or second run of a pair) or "fixed" (A B, A B, …)`)
	sf = cli.AddScenario(fl, "override the scenario's camera counts", "override the scenario's modes")
	cli.Gate(fl, &g)
	return cmd
}
