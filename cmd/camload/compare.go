package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/spf13/cobra"

	"github.com/camload/camload/bench"
	"github.com/camload/camload/internal/cfgerr"
	"github.com/camload/camload/reports"
	"github.com/camload/camload/reports/gate"
	"github.com/camload/camload/scenarios"
)

func init() { register("compare", newCompareCmd) }

// isTTY reports whether w is a terminal (progress bars) rather than a pipe
// or a CI log (plain lines).
func isTTY(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && isatty.IsTerminal(f.Fd())
}

// compareRunner runs one scenario with one system binary; tests replace it.
var compareRunner = bench.Run

func newCompareCmd(a *app) *cobra.Command {
	var (
		g          gateFlags
		baseBin    string
		headBin    string
		pairs      int
		outDir     string
		allowRemot bool
		cameras    []int
		modes      []string
		order      string
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
			opts := g.options()
			if err := opts.Validate(); err != nil {
				return err
			}
			var errs []error
			for _, b := range []struct{ flag, path string }{{"base", baseBin}, {"head", headBin}} {
				if b.path == "" {
					errs = append(errs, cfgerr.Field("--"+b.flag, "required: a camload binary whose `serve` is the system"))
					continue
				}
				if fi, err := os.Stat(b.path); err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
					errs = append(errs, cfgerr.Field("--"+b.flag, "%s is not an executable file", b.path))
				}
			}
			if order != "alternate" && order != "fixed" {
				errs = append(errs, cfgerr.Field("--order", `must be "alternate" or "fixed", got %q`, order))
			}
			if cmd.Flags().Changed("pairs") && (pairs < 1 || pairs > 100) {
				errs = append(errs, cfgerr.Field("--pairs", "must be 1 … 100, got %d", pairs))
			}
			if err := cfgerr.Join(errs...); err != nil {
				return err
			}
			sc, err := scenarios.Load(args[0])
			if err != nil {
				return err
			}
			sc.Repeat = 1 // the pairs are the repetitions
			if cmd.Flags().Changed("cameras") {
				sc.Fleet.Cameras = cameras
			}
			if cmd.Flags().Changed("modes") {
				sc.System.Modes = modes
			}
			if err := sc.Validate(); err != nil {
				return err
			}
			if outDir == "" {
				outDir = filepath.Join("runs", "compare-"+sc.Name+"-"+time.Now().UTC().Format("20060102-150405"))
			}
			rows := len(sc.Fleet.Cameras) * len(sc.System.Modes) * len(gate.DefaultMetrics)
			if len(opts.Metrics) > 0 {
				rows = len(sc.Fleet.Cameras) * len(sc.System.Modes) * len(opts.Metrics)
			} else {
				rows += len(sc.Fleet.Cameras) * len(sc.System.Modes) * len(sc.Load)
			}
			need := min(gate.PairsNeeded(opts.Alpha/float64(max(rows, 1))), 100)
			if !cmd.Flags().Changed("pairs") {
				pairs = need
				fmt.Fprintf(a.stderr, "compare: %d pairs: the fewest whose sign test can reach alpha %v over %d comparisons (2·0.5^n ≤ %.3g)\n", pairs, opts.Alpha, rows, opts.Alpha/float64(max(rows, 1)))
			} else if pairs < need {
				fmt.Fprintf(a.stderr, "compare: warning: %d pairs cannot reach significance at alpha %v over %d comparisons (need >= %d); the rows will read \"insufficient samples\"\n", pairs, opts.Alpha, rows, need)
			}
			ver, _ := buildInfo()
			ps, err := bench.RunPairs(a.ctx, sc, bench.PairOptions{
				BaseBinary: baseBin, HeadBinary: headBin, Pairs: pairs, Order: order, OutDir: outDir,
				Run:      bench.Options{AllowRemote: allowRemot, Progress: a.stderr, IsTTY: isTTY(a.stderr), Version: ver},
				Progress: a.stderr, Runner: compareRunner,
			})
			if err != nil {
				return err
			}
			v, err := gate.JudgePairs(ps, opts)
			if err != nil {
				return err
			}
			if v.BaseCommit == "" || v.BaseCommit == "unknown" {
				v.BaseCommit = filepath.Base(baseBin)
			}
			if v.HeadCommit == "" || v.HeadCommit == "unknown" {
				v.HeadCommit = filepath.Base(headBin)
			}
			var text, junit bytes.Buffer
			fmt.Fprintf(&text, "compare: %s, %d pairs; base %s, head %s\n\n", sc.Name, pairs, baseBin, headBin)
			if err := v.Write(&text); err != nil {
				return err
			}
			if err := reports.WriteJUnit(&junit, ps[len(ps)-1].Head, v); err != nil {
				return err
			}
			if err := os.WriteFile(filepath.Join(outDir, "verdict.txt"), text.Bytes(), 0o644); err != nil {
				return fmt.Errorf("compare: %w", err)
			}
			if err := os.WriteFile(filepath.Join(outDir, "junit.xml"), junit.Bytes(), 0o644); err != nil {
				return fmt.Errorf("compare: %w", err)
			}
			if _, err := a.stdout.Write(text.Bytes()); err != nil {
				return err
			}
			if v.Failed() {
				return errFailed
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&baseBin, "base", "", "camload binary of the base build (its `serve` is the system)")
	cmd.Flags().StringVar(&headBin, "head", "", "camload binary of the head build")
	cmd.Flags().IntVar(&pairs, "pairs", 0, "number of interleaved base/head pairs, 1 … 100 (default: the fewest that can reach --alpha, see above)")
	cmd.Flags().StringVar(&outDir, "out", "", "folder for the runs and the verdict (default runs/compare-<scenario>-<time>)")
	cmd.Flags().BoolVar(&allowRemot, "allow-remote", false, "allow backend URIs that are not loopback")
	cmd.Flags().StringVar(&order, "order", "alternate", `order within pairs: "alternate" (A B, B A, …: cancels a bias towards the first or second run of a pair) or "fixed" (A B, A B, …)`)
	cmd.Flags().IntSliceVar(&cameras, "cameras", nil, "override the scenario's camera counts")
	cmd.Flags().StringSliceVar(&modes, "modes", nil, "override the scenario's modes")
	g.add(cmd)
	return cmd
}
