package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/camload/camload/bench"
	"github.com/camload/camload/internal/cfgerr"
	"github.com/camload/camload/reports"
	"github.com/camload/camload/reports/gate"
	"github.com/camload/camload/results"
	"github.com/camload/camload/results/rule"
)

func init() { register("report", newReportCmd) }

// getenv is os.Getenv; tests replace it.
var getenv = os.Getenv

func newReportCmd(a *app) *cobra.Command {
	var (
		g           gateFlags
		baseline    string
		outDir      string
		diffProfile bool
		merge       bool
		top         int
	)
	cmd := &cobra.Command{
		Use:   "report RUN_DIR | report --diff-profile A.pb.gz B.pb.gz | report --merge --out DIR NODE_DIR…",
		Short: "Write report.md, report.html and junit.xml for a run folder",
		Long: `report reads RUN_DIR/results.json and writes report.md (the blog's tables),
report.html (one self-contained file with charts) and junit.xml into the run
folder (or --out). When GITHUB_STEP_SUMMARY is set, the Markdown is appended
to it. With --baseline, the reports include the comparison with that run.

report --diff-profile A.pb.gz B.pb.gz lists the functions whose flat value
grew from profile A to profile B (CPU time or in-use heap).

report --merge --out DIR NODE_DIR… merges the folders of several load nodes
(camload attack): each target's vegeta results ordered by timestamp into
DIR/api-<target>.bin, and DIR/attack.json + DIR/report.md with the merged and
per-node figures.

report never fails on a failed threshold or regression: that is camload gate's job.`,
		Args: func(cmd *cobra.Command, args []string) error {
			if merge {
				if len(args) < 2 || outDir == "" {
					return cfgerr.Usage("report --merge takes --out DIR and at least two node folders, got %d", len(args))
				}
				return nil
			}
			if diffProfile {
				if len(args) != 2 {
					return cfgerr.Usage("report --diff-profile takes two profiles, got %d arguments", len(args))
				}
				return nil
			}
			if len(args) != 1 {
				return cfgerr.Usage("report takes one run folder, got %d arguments", len(args))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if merge {
				return runMerge(a, outDir, args)
			}
			if diffProfile {
				return runDiffProfile(a, args[0], args[1], top)
			}
			dir := args[0]
			run, err := readResults(dir)
			if err != nil {
				return err
			}
			var base *results.Run
			if baseline != "" {
				if base, err = readResults(baseline); err != nil {
					return err
				}
			}
			v, err := gate.Judge(run, base, gate.ReportOptions(g.options()))
			if errors.Is(err, rule.ErrNoMatch) {
				// A run restricted with --modes/--cameras: rules naming
				// cells it lacks cannot be judged, but the figures can
				// still be reported (camload gate refuses such a run).
				fmt.Fprintf(a.stderr, "camload report: rules not judged: %v\n", err)
				run.Thresholds, run.Expect = nil, nil
				v, err = gate.Judge(run, base, gate.ReportOptions(g.options()))
			}
			if err != nil {
				return err
			}
			if outDir == "" {
				outDir = dir
				if fi, err := os.Stat(dir); err == nil && !fi.IsDir() {
					outDir = filepath.Dir(dir)
				}
			}
			var md, page, junit bytes.Buffer
			if err := reports.WriteMarkdownVerdict(&md, run, v); err != nil {
				return err
			}
			if err := reports.WriteHTMLVerdict(&page, run, v); err != nil {
				return err
			}
			if err := reports.WriteJUnit(&junit, run, v); err != nil {
				return err
			}
			for _, f := range []struct {
				name string
				b    []byte
			}{{"report.md", md.Bytes()}, {"report.html", page.Bytes()}, {"junit.xml", junit.Bytes()}} {
				p := filepath.Join(outDir, f.name)
				if err := os.WriteFile(p, f.b, 0o644); err != nil {
					return fmt.Errorf("report: %w", err)
				}
				fmt.Fprintln(a.stdout, "wrote", p)
			}
			if summary := getenv("GITHUB_STEP_SUMMARY"); summary != "" {
				if err := appendFile(summary, md.Bytes()); err != nil {
					return fmt.Errorf("report: GITHUB_STEP_SUMMARY: %w", err)
				}
				fmt.Fprintln(a.stdout, "appended the Markdown to", summary)
			}
			fmt.Fprintln(a.stdout, v.Summary())
			return nil
		},
	}
	cmd.Flags().StringVar(&baseline, "baseline", "", "results.json (or run folder) of a baseline run to compare with")
	cmd.Flags().StringVar(&outDir, "out", "", "folder for the reports (default: the run folder)")
	cmd.Flags().BoolVar(&diffProfile, "diff-profile", false, "compare two pprof profiles: the arguments are A.pb.gz B.pb.gz")
	cmd.Flags().IntVar(&top, "top", 15, "with --diff-profile, how many growing functions to list")
	cmd.Flags().BoolVar(&merge, "merge", false, "merge load-node folders (camload attack) into --out")
	g.add(cmd)
	return cmd
}

func runDiffProfile(a *app, pathA, pathB string, top int) error {
	fa, err := os.Open(pathA)
	if err != nil {
		return cfgerr.Usage("%w", err)
	}
	defer fa.Close()
	fb, err := os.Open(pathB)
	if err != nil {
		return cfgerr.Usage("%w", err)
	}
	defer fb.Close()
	d, err := reports.DiffProfiles(fa, fb, top)
	if err != nil {
		return &cfgerr.Error{File: pathA + ", " + pathB, Err: err}
	}
	fmt.Fprintf(a.stdout, "A: %s\nB: %s\n", pathA, pathB)
	return d.Write(a.stdout)
}

func appendFile(path string, b []byte) error {
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(append(b, '\n')); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// runMerge merges load-node folders into outDir and writes its report.
func runMerge(a *app, outDir string, nodes []string) error {
	n, err := bench.MergeNodes(outDir, nodes)
	if err != nil {
		return cfgerr.Usage("%v", err)
	}
	var md bytes.Buffer
	if err := reports.WriteNodeMarkdown(&md, n); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(outDir, "report.md"), md.Bytes(), 0o644); err != nil {
		return err
	}
	_, err = a.stdout.Write(md.Bytes())
	return err
}
