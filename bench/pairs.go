package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"

	"github.com/camload/camload/reports/gate"
	"github.com/camload/camload/results"
	"github.com/camload/camload/scenarios"
)

// Orders of the two runs within a pair.
const (
	// OrderAlternate runs A B, B A, A B, …: whatever the second run of a
	// pair inherits from the first (warm page cache, heap of the runner,
	// thermal state) falls on each build equally.
	OrderAlternate = "alternate"
	// OrderFixed runs A B, A B, ….
	OrderFixed = "fixed"
)

// PairOptions configure RunPairs.
type PairOptions struct {
	// BaseBinary and HeadBinary are the camload binaries whose `serve` is
	// the system of each side. Required.
	BaseBinary, HeadBinary string
	// Pairs is the number of base/head pairs; zero means
	// gate.PairsNeeded(gate.DefaultOptions.Alpha), the fewest whose sign
	// test can reach the default alpha on one comparison (6).
	Pairs int
	// Order is OrderAlternate (zero) or OrderFixed.
	Order string
	// OutDir receives each run's folder, OUT/pair-NN-base and
	// OUT/pair-NN-head. Required.
	OutDir string
	// Run is the template of every run's Options; OutDir and SystemBinary
	// are set per run, Progress is Progress.
	Run Options
	// Progress receives one line per run started and per run whose cells
	// failed; nil discards them.
	Progress io.Writer
	// Runner runs one scenario with one binary; nil means Run. Tests
	// replace it.
	Runner func(context.Context, *scenarios.Scenario, Options) (*results.Run, error)
}

// RunPairs runs sc (a clone per run; set Repeat to 1 first, the pairs are
// the repetitions) with the base and the head binary, interleaved, Pairs
// times. A run whose cells failed (ErrCellsFailed) is kept and judged as
// failed cells; any other error stops the loop and is returned with the
// pairs completed so far.
func RunPairs(ctx context.Context, sc *scenarios.Scenario, o PairOptions) ([]gate.Pair, error) {
	if o.Pairs == 0 {
		o.Pairs = gate.PairsNeeded(gate.DefaultOptions.Alpha)
	}
	if o.Order == "" {
		o.Order = OrderAlternate
	}
	if o.Order != OrderAlternate && o.Order != OrderFixed {
		return nil, fmt.Errorf("bench: pair order %q: want %q or %q", o.Order, OrderAlternate, OrderFixed)
	}
	if o.Runner == nil {
		o.Runner = Run
	}
	progress := o.Progress
	if progress == nil {
		progress = io.Discard
	}
	var ps []gate.Pair
	for i := 1; i <= o.Pairs; i++ {
		var p gate.Pair
		type side struct {
			name string
			bin  string
			dst  **results.Run
		}
		sides := []side{{"base", o.BaseBinary, &p.Base}, {"head", o.HeadBinary, &p.Head}}
		if o.Order == OrderAlternate && i%2 == 0 {
			sides[0], sides[1] = sides[1], sides[0]
		}
		for _, side := range sides {
			dir := filepath.Join(o.OutDir, fmt.Sprintf("pair-%02d-%s", i, side.name))
			fmt.Fprintf(progress, "compare: pair %d/%d: %s (%s) → %s\n", i, o.Pairs, side.name, side.bin, dir)
			ropts := o.Run
			ropts.OutDir, ropts.SystemBinary = dir, side.bin
			run, err := o.Runner(ctx, sc.Clone(), ropts)
			switch {
			case run == nil:
				return ps, fmt.Errorf("compare: pair %d %s: %w", i, side.name, err)
			case err != nil && !errors.Is(err, ErrCellsFailed):
				// Interrupted or broken: stop, keep what ran.
				return ps, fmt.Errorf("compare: pair %d %s: %w", i, side.name, err)
			case err != nil:
				fmt.Fprintf(progress, "compare: pair %d %s: %v (judged as failed cells)\n", i, side.name, err)
			}
			*side.dst = run
		}
		ps = append(ps, p)
	}
	return ps, nil
}
