package main

import (
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/camload/camload/bench"
	"github.com/camload/camload/dashboard"
	"github.com/camload/camload/internal/cfgerr"
	"github.com/camload/camload/internal/cli"
	"github.com/camload/camload/reports"
)

func newRunCmd(a *app) *cobra.Command {
	var (
		opts          bench.Options
		lo            dashboard.LiveOptions
		sf            *cli.Scenario
		quiet, detail bool
	)
	cmd := &cobra.Command{
		Use:     "run [flags] SCENARIO.yaml",
		Short:   "Run a scenario: every mode × camera count × repetition, measured",
		Long:    help("run"),
		Example: help("run.example"),
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			sc, err := bench.LoadScenario(args[0], sf.Overrides(), func(w string) { fmt.Fprintf(a.stderr, "%s: warning: %s\n", args[0], w) })
			if err != nil {
				return err
			}
			if opts.OutDir == "" {
				opts.OutDir = bench.DefaultOutDir(sc.Name, time.Now())
			}
			if err := bench.CheckSystemBinary(opts.SystemBinary); err != nil {
				return err
			}
			lo = lo.WithEnv(getenv, cmd.Flags().Changed("dashboard"), cmd.Flags().Changed("dashboard-linger"))
			lo.Dir = opts.OutDir
			if err := lo.Validate(); err != nil {
				return err
			}
			var dash *dashboard.Live
			if lo.Addr != "" {
				if dash, err = dashboard.Serve(lo); err != nil {
					return err
				}
				fmt.Fprintf(a.stderr, "dashboard: %s\n", dash.URL)
				opts.Events = dash.Hub
			}
			opts.Version, _ = cli.BuildInfo(version)
			if !quiet {
				opts.Progress, opts.IsTTY = a.stderr, cli.IsTTY(a.stderr)
			}
			if detail {
				opts.Logf = a.logf
			}
			run, runErr := runRunner(a.ctx, sc, opts)
			if dash != nil {
				defer func() {
					report, err := reports.WriteFinalHTML(opts.OutDir, run)
					if err != nil {
						a.logf("dashboard: report.html: %v", err)
					}
					if err := dash.Finish(a.ctx, bench.RunFinishedEvent(run, report), lo.Linger, a.logf); err != nil {
						a.logf("dashboard: %v", err)
					}
				}()
			}
			if errors.Is(runErr, bench.ErrRemote) {
				return cfgerr.Usage("%v", runErr)
			}
			if run != nil {
				if err := reports.WriteSummary(a.stdout, run); err != nil {
					return err
				}
				fmt.Fprintf(a.stdout, "results: %s\n", filepath.Join(opts.OutDir, "results.json"))
			}
			if runErr != nil && errors.Is(runErr, bench.ErrCellsFailed) {
				return fmt.Errorf("%w: %v", cli.ErrFailed, runErr)
			}
			return runErr
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&opts.OutDir, "out", "o", "", "run folder (default runs/<scenario>-<UTC time>)")
	fl.StringVar(&opts.SystemBinary, "system-binary", "", "camload binary whose `serve` is the system under test (default: this one)")
	fl.BoolVar(&opts.AllowRemote, "allow-remote", false, "allow backends and targets that are not on loopback")
	fl.BoolVar(&opts.KeepData, "keep-data", false, "keep each cell's database after the cell (default: dropped)")
	fl.StringVar(&opts.RedisServer, "redis-server", "", "redis-server binary for replica cells (default: from PATH; \""+bench.NoRedisServer+"\": host miniredis instead)")
	sf = cli.AddScenario(fl, "override fleet.cameras, e.g. 100,1000", "override system.modes, e.g. sync,batched")
	fl.BoolVarP(&quiet, "quiet", "q", false, "no progress output")
	fl.StringVar(&lo.Addr, "dashboard", "", "serve a live dashboard of the run on this address, e.g. 127.0.0.1:5665 (also "+dashboard.EnvAddr+")")
	fl.BoolVar(&lo.Expose, "expose", false, "allow --dashboard on an address that is not loopback")
	fl.DurationVar(&lo.Linger, "dashboard-linger", dashboard.DefaultLinger, "keep the dashboard up this long after the run (0 when CI is set)")
	fl.BoolVarP(&detail, "verbose", "v", false, "log details (profiles, capacity steps, cell errors) to stderr")
	return cmd
}

// runRunner runs a scenario; tests replace it.
var runRunner = bench.Run
