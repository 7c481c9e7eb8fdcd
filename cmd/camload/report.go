package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/camload/camload/bench"
	"github.com/camload/camload/internal/cfgerr"
	"github.com/camload/camload/internal/cli"
	"github.com/camload/camload/reports"
)

// getenv is os.Getenv; tests replace it.
var getenv = os.Getenv

func newReportCmd(a *app) *cobra.Command {
	var (
		o           reports.RunOptions
		diffProfile bool
		merge       bool
		top         int
	)
	cmd := &cobra.Command{
		Use:   "report RUN_DIR | report --diff-profile A.pb.gz B.pb.gz | report --merge --out DIR NODE_DIR…",
		Short: "Write report.md, report.html and junit.xml for a run folder",
		Long:  help("report"),
		Args: func(_ *cobra.Command, args []string) error {
			return reports.CommandOptions{Merge: merge, DiffProfile: diffProfile, Out: o.Out, Args: args}.Validate()
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if merge {
				n, err := bench.MergeNodes(o.Out, args)
				if err != nil {
					return cfgerr.Usage("%v", err)
				}
				return reports.WriteNodeReport(a.stdout, o.Out, n)
			}
			if diffProfile {
				return reports.DiffProfileFiles(a.stdout, args[0], args[1], top)
			}
			o.Run, o.StepSummary = args[0], getenv("GITHUB_STEP_SUMMARY")
			rep, err := reports.WriteRunReports(o)
			if rep != nil && rep.NotJudged != nil {
				// Rules naming cells the run lacks, not explained by its
				// --modes/--cameras filter (a typo, an older or
				// interrupted run), cannot be judged, but the figures can
				// still be reported (camload gate refuses such a run).
				fmt.Fprintf(a.stderr, "camload report: rules not judged: %v\n", rep.NotJudged)
			}
			if rep != nil {
				for _, p := range rep.Files {
					fmt.Fprintln(a.stdout, "wrote", p)
				}
			}
			if err != nil {
				return err
			}
			if o.StepSummary != "" {
				fmt.Fprintln(a.stdout, "appended the Markdown to", o.StepSummary)
			}
			fmt.Fprintln(a.stdout, rep.Verdict.Summary())
			return nil
		},
	}
	cmd.Flags().StringVar(&o.Baseline, "baseline", "", "results.json (or run folder) of a baseline run to compare with")
	cmd.Flags().StringVar(&o.Out, "out", "", "folder for the reports (default: the run folder)")
	cmd.Flags().BoolVar(&diffProfile, "diff-profile", false, "compare two pprof profiles: the arguments are A.pb.gz B.pb.gz")
	cmd.Flags().IntVar(&top, "top", 15, "with --diff-profile, how many growing functions to list")
	cmd.Flags().BoolVar(&merge, "merge", false, "merge load-node folders (camload attack) into --out")
	cli.Gate(cmd.Flags(), &o.Gate)
	return cmd
}
