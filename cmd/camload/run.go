package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/spf13/cobra"

	"github.com/camload/camload/bench"
	"github.com/camload/camload/internal/cfgerr"
	"github.com/camload/camload/reports"
	"github.com/camload/camload/scenarios"
)

func init() { register("run", newRunCmd) }

func newRunCmd(a *app) *cobra.Command {
	var (
		out, sysBin   string
		allowRemote   bool
		keepData      bool
		cameras       []int
		modes         []string
		quiet, detail bool
		dashAddr      string
		expose        bool
		linger        time.Duration
	)
	cmd := &cobra.Command{
		Use:   "run [flags] SCENARIO.yaml",
		Short: "Run a scenario: every mode × camera count × repetition, measured",
		Long: `Run a scenario (see scenarios/README.md): for every cell of its matrix it starts
the fake-camera fleet in this process, the system under test as a child process
(camload serve), runs the measured cycles, attacks the API with vegeta, samples
resources and profiles, and writes a run folder: results.json, vegeta .bin
files, pprof profiles and the system's log per cell. A plain-text summary goes
to stdout; progress to stderr (bars on a terminal).

Exit codes: 0 every cell ran (thresholds are judged by camload gate), 1 a
cell failed, 2 bad scenario or usage, 130 interrupted (partial results are
written, children are stopped).

--dashboard ADDR (or CAMLOAD_DASHBOARD) serves a live page of the run on
ADDR: the plan and progress, charts of the running cell (cycle times,
per-frame latency, CPU and RSS of the system and the runner, errors beside
the fleet's faults, API latency and throughput, capacity steps), finished
cells with links to their profiles and .bin files, and report.html (written
into the run folder) when the run ends. Loopback only unless --expose. After
the run the page stays up for --dashboard-linger (default 30s; 0 when CI is
set); Ctrl-C ends it.`,
		Example: `  camload run scenarios/smoke.yaml
  camload run --out runs/modes --modes sync,batched --cameras 100 scenarios/modes.yaml
  vegeta report runs/modes/cells/sync-100-r0/api-latest.bin
  camload run --dashboard 127.0.0.1:5665 scenarios/smoke.yaml   # open http://127.0.0.1:5665/`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			sc, err := scenarios.Load(args[0])
			if err != nil {
				return err
			}
			for _, w := range sc.Warnings() {
				fmt.Fprintf(a.stderr, "%s: warning: %s\n", args[0], w)
			}
			if cmd.Flags().Changed("cameras") {
				sc.Fleet.Cameras = cameras
			}
			if cmd.Flags().Changed("modes") {
				sc.System.Modes = modes
			}
			if err := sc.Validate(); err != nil {
				return err
			}
			if out == "" {
				out = filepath.Join("runs", fmt.Sprintf("%s-%s", sc.Name, time.Now().UTC().Format("20060102-150405")))
			}
			if sysBin != "" {
				if _, err := os.Stat(sysBin); err != nil {
					return cfgerr.Field("--system-binary", "%v", err)
				}
			}
			if !cmd.Flags().Changed("dashboard") {
				dashAddr = getenv(dashboardEnv)
			}
			if !cmd.Flags().Changed("dashboard-linger") && getenv("CI") != "" {
				linger = 0
			}
			if linger < 0 {
				return cfgerr.Field("--dashboard-linger", "%s: must be ≥ 0", linger)
			}
			var dash *liveDashboard
			if dashAddr != "" {
				if err := checkDashboardAddr(dashAddr, expose); err != nil {
					return err
				}
				if dash, err = startDashboard(dashAddr, out); err != nil {
					return err
				}
				fmt.Fprintf(a.stderr, "dashboard: %s\n", dash.URL)
			}
			ver, _ := buildInfo()
			opts := bench.Options{OutDir: out, SystemBinary: sysBin, AllowRemote: allowRemote, KeepData: keepData, Version: ver}
			if !quiet {
				opts.Progress = a.stderr
				if f, ok := a.stderr.(*os.File); ok {
					opts.IsTTY = isatty.IsTerminal(f.Fd())
				}
			}
			if detail {
				opts.Logf = func(format string, args ...any) { fmt.Fprintf(a.stderr, format+"\n", args...) }
			}
			if dash != nil {
				opts.Events = dash.Hub
			}
			run, runErr := bench.Run(a.ctx, sc, opts)
			if dash != nil {
				defer func() {
					if err := dash.finish(a.ctx, run, out, linger, a.stderr); err != nil {
						fmt.Fprintf(a.stderr, "dashboard: %v\n", err)
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
				fmt.Fprintf(a.stdout, "results: %s\n", filepath.Join(out, "results.json"))
			}
			if runErr != nil && errors.Is(runErr, bench.ErrCellsFailed) {
				return fmt.Errorf("%w: %v", errFailed, runErr)
			}
			return runErr
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&out, "out", "o", "", "run folder (default runs/<scenario>-<UTC time>)")
	fl.StringVar(&sysBin, "system-binary", "", "camload binary whose `serve` is the system under test (default: this one)")
	fl.BoolVar(&allowRemote, "allow-remote", false, "allow backends and targets that are not on loopback")
	fl.BoolVar(&keepData, "keep-data", false, "keep each cell's database after the cell (default: dropped)")
	fl.IntSliceVar(&cameras, "cameras", nil, "override fleet.cameras, e.g. 100,1000")
	fl.StringSliceVar(&modes, "modes", nil, "override system.modes, e.g. sync,batched")
	fl.BoolVarP(&quiet, "quiet", "q", false, "no progress output")
	fl.StringVar(&dashAddr, "dashboard", "", "serve a live dashboard of the run on this address, e.g. 127.0.0.1:5665 (also "+dashboardEnv+")")
	fl.BoolVar(&expose, "expose", false, "allow --dashboard on an address that is not loopback")
	fl.DurationVar(&linger, "dashboard-linger", defaultLinger, "keep the dashboard up this long after the run (0 when CI is set)")
	fl.BoolVarP(&detail, "verbose", "v", false, "log details (profiles, capacity steps, cell errors) to stderr")
	return cmd
}
