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
		cameras       []int
		modes         []string
		quiet, detail bool
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
written, children are stopped).`,
		Example: `  camload run scenarios/smoke.yaml
  camload run --out runs/modes --modes sync,batched --cameras 100 scenarios/modes.yaml
  vegeta report runs/modes/cells/sync-100-r0/api-latest.bin`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			sc, err := scenarios.Load(args[0])
			if err != nil {
				return err
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
			ver, _ := buildInfo()
			opts := bench.Options{OutDir: out, SystemBinary: sysBin, AllowRemote: allowRemote, Version: ver}
			if !quiet {
				opts.Progress = a.stderr
				if f, ok := a.stderr.(*os.File); ok {
					opts.IsTTY = isatty.IsTerminal(f.Fd())
				}
			}
			if detail {
				opts.Logf = func(format string, args ...any) { fmt.Fprintf(a.stderr, format+"\n", args...) }
			}
			run, runErr := bench.Run(a.ctx, sc, opts)
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
	fl.IntSliceVar(&cameras, "cameras", nil, "override fleet.cameras, e.g. 100,1000")
	fl.StringSliceVar(&modes, "modes", nil, "override system.modes, e.g. sync,batched")
	fl.BoolVarP(&quiet, "quiet", "q", false, "no progress output")
	fl.BoolVarP(&detail, "verbose", "v", false, "log details (profiles, capacity steps, cell errors) to stderr")
	return cmd
}
