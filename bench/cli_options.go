package bench

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/camload/camload/internal/cfgerr"
	"github.com/camload/camload/reports/gate"
	"github.com/camload/camload/results"
	"github.com/camload/camload/scenarios"
)

// ScenarioOverrides change a loaded scenario before it is validated, as
// the --cameras and --modes flags of `camload run` and `camload compare`
// do. The zero value changes nothing: a nil list keeps the scenario's; a
// non-nil one (even empty, which then fails validation) replaces it.
type ScenarioOverrides struct {
	// Cameras replaces fleet.cameras when not nil.
	Cameras []int
	// Modes replaces system.modes when not nil.
	Modes []string
	// Repeat replaces repeat when > 0 (compare sets 1: the pairs are the
	// repetitions).
	Repeat int
}

// LoadScenario loads the scenario file path, passes its warnings to warn
// (when not nil), applies o and validates the result. When o changes the
// matrix, sc.Filtered records the file's own (results.Run.Filtered).
// Every error is a *cfgerr.Error naming the file, line and field.
func LoadScenario(path string, o ScenarioOverrides, warn func(string)) (*scenarios.Scenario, error) {
	sc, err := scenarios.Load(path)
	if err != nil {
		return nil, err
	}
	if warn != nil {
		for _, w := range sc.Warnings() {
			warn(w)
		}
	}
	if o.Repeat > 0 {
		sc.Repeat = o.Repeat
	}
	modes, cameras := sc.System.Modes, sc.Fleet.Cameras
	if o.Cameras != nil {
		sc.Fleet.Cameras = o.Cameras
	}
	if o.Modes != nil {
		sc.System.Modes = o.Modes
	}
	// The scenario's own matrix, so that the gate can tell a rule on the
	// cells left out from a typo.
	sc.Filtered = results.NewFilter(modes, cameras, sc.System.Modes, sc.Fleet.Cameras)
	if err := sc.Validate(); err != nil {
		return nil, err
	}
	return sc, nil
}

// DefaultOutDir is the run folder used when none is given:
// runs/<name>-<UTC time of now>, e.g. runs/smoke-20260101-120000.
func DefaultOutDir(name string, now time.Time) string {
	return filepath.Join("runs", name+"-"+now.UTC().Format("20060102-150405"))
}

// CheckSystemBinary checks that path ("" means this executable) exists;
// the error names the --system-binary flag.
func CheckSystemBinary(path string) error {
	if path == "" {
		return nil
	}
	if _, err := os.Stat(path); err != nil {
		return cfgerr.Field("--system-binary", "%v", err)
	}
	return nil
}

// MaxPairs is the most pairs a comparison runs.
const MaxPairs = 100

// CompareOptions are the settings of `camload compare` that choose what
// is compared and how often; errors name its flags.
type CompareOptions struct {
	// Base and Head are executable camload binaries whose `serve` is the
	// system of each side. Required: the zero value fails Validate.
	Base, Head string
	// Pairs is the number of interleaved pairs, 1 … MaxPairs. Zero, with
	// PairsGiven false, means derived by ResolvePairs: the fewest whose
	// sign test can reach alpha over every comparison.
	Pairs int
	// PairsGiven says Pairs was chosen (--pairs): then 0 is an error.
	PairsGiven bool
	// Order is OrderAlternate or OrderFixed; "" fails Validate (the flag's
	// default is OrderAlternate).
	Order string
	// OutDir receives the runs and the verdict; "" means
	// DefaultOutDir("compare-"+scenario name, now), set by ResolvePairs.
	OutDir string
	// AllowRemote permits backend URIs that are not loopback.
	AllowRemote bool
}

// PairOptions returns the RunPairs options of o (after ResolvePairs):
// run is the template of every run (its AllowRemote is o's), progress
// receives the pair lines, runner runs one scenario (nil: Run).
func (o CompareOptions) PairOptions(run Options, progress io.Writer, runner func(context.Context, *scenarios.Scenario, Options) (*results.Run, error)) PairOptions {
	run.AllowRemote = o.AllowRemote
	return PairOptions{BaseBinary: o.Base, HeadBinary: o.Head, Pairs: o.Pairs, Order: o.Order, OutDir: o.OutDir,
		Run: run, Progress: progress, Runner: runner}
}

// Validate reports every bad field, each a *cfgerr.Error naming its flag.
func (o CompareOptions) Validate() error {
	var errs []error
	for _, b := range []struct{ flag, path string }{{"base", o.Base}, {"head", o.Head}} {
		if b.path == "" {
			errs = append(errs, cfgerr.Field("--"+b.flag, "required: a camload binary whose `serve` is the system"))
			continue
		}
		if fi, err := os.Stat(b.path); err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
			errs = append(errs, cfgerr.Field("--"+b.flag, "%s is not an executable file", b.path))
		}
	}
	if o.Order != OrderAlternate && o.Order != OrderFixed {
		errs = append(errs, cfgerr.Field("--order", `must be "alternate" or "fixed", got %q`, o.Order))
	}
	if (o.PairsGiven || o.Pairs != 0) && (o.Pairs < 1 || o.Pairs > MaxPairs) {
		errs = append(errs, cfgerr.Field("--pairs", "must be 1 … %d, got %d", MaxPairs, o.Pairs))
	}
	return cfgerr.Join(errs...)
}

// ComparedRows is the number of rows a comparison of sc judges: cells ×
// metrics, the metrics opts.Metrics or else gate.DefaultMetrics plus one
// per load target.
func ComparedRows(sc *scenarios.Scenario, opts gate.Options) int {
	cells := len(sc.Fleet.Cameras) * len(sc.System.Modes)
	if len(opts.Metrics) > 0 {
		return cells * len(opts.Metrics)
	}
	return cells * (len(gate.DefaultMetrics) + len(sc.Load))
}

// ResolvePairs sets o.OutDir when "" and o.Pairs, when not given, to the
// fewest pairs whose sign test can reach opts.Alpha over sc's
// ComparedRows (at most MaxPairs), and returns the line that says so;
// with too few pairs given it returns a warning; else "".
func (o *CompareOptions) ResolvePairs(sc *scenarios.Scenario, opts gate.Options) string {
	if o.OutDir == "" {
		o.OutDir = DefaultOutDir("compare-"+sc.Name, time.Now())
	}
	rows := ComparedRows(sc, opts)
	level := opts.Alpha / float64(max(rows, 1))
	need := min(gate.PairsNeeded(level), MaxPairs)
	switch {
	case !o.PairsGiven && o.Pairs == 0:
		o.Pairs = need
		return fmt.Sprintf("compare: %d pairs: the fewest whose sign test can reach alpha %v over %d comparisons (2·0.5^n ≤ %.3g)", o.Pairs, opts.Alpha, rows, level)
	case o.Pairs < need:
		return fmt.Sprintf("compare: warning: %d pairs cannot reach significance at alpha %v over %d comparisons (need >= %d); the rows will read \"insufficient samples\"", o.Pairs, opts.Alpha, rows, need)
	}
	return ""
}

// Validate reports a missing BaseURL or OutDir as the usage error of
// `camload attack` (its --target and --out).
func (o NodeOptions) Validate() error {
	if o.BaseURL == "" || o.OutDir == "" {
		return cfgerr.Usage("attack needs --target and --out")
	}
	return nil
}
