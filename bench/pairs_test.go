package bench

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/camload/camload/results"
	"github.com/camload/camload/scenarios"
)

func TestRunPairsOrderAndFailures(t *testing.T) {
	sc := fakeScenario(t)
	var order []string
	runner := func(_ context.Context, _ *scenarios.Scenario, o Options) (*results.Run, error) {
		order = append(order, filepath.Base(o.OutDir)+"="+o.SystemBinary)
		r := &results.Run{}
		if strings.HasSuffix(o.OutDir, "pair-02-head") {
			return r, ErrCellsFailed // kept, judged as failed cells
		}
		return r, nil
	}
	var progress strings.Builder
	ps, err := RunPairs(context.Background(), sc, PairOptions{
		BaseBinary: "A", HeadBinary: "B", Pairs: 3, OutDir: "out", Progress: &progress, Runner: runner,
	})
	if err != nil || len(ps) != 3 {
		t.Fatalf("RunPairs = %d pairs, %v; want 3, nil", len(ps), err)
	}
	want := "pair-01-base=A pair-01-head=B pair-02-head=B pair-02-base=A pair-03-base=A pair-03-head=B"
	if got := strings.Join(order, " "); got != want {
		t.Errorf("runs = %s; want %s (alternating)", got, want)
	}
	if !strings.Contains(progress.String(), "compare: pair 2 head: ") || !strings.Contains(progress.String(), "(judged as failed cells)") {
		t.Errorf("progress does not report the failed cells:\n%s", progress.String())
	}

	order = nil
	broken := errors.New("boom")
	ps, err = RunPairs(context.Background(), sc, PairOptions{
		BaseBinary: "A", HeadBinary: "B", Pairs: 3, Order: OrderFixed, OutDir: "out",
		Runner: func(ctx context.Context, s *scenarios.Scenario, o Options) (*results.Run, error) {
			if strings.HasSuffix(o.OutDir, "pair-02-base") {
				return nil, broken
			}
			return runner(ctx, s, o)
		},
	})
	if !errors.Is(err, broken) || len(ps) != 1 {
		t.Errorf("RunPairs with a broken run = %d pairs, %v; want 1 pair and the error", len(ps), err)
	}
	if _, err := RunPairs(context.Background(), sc, PairOptions{Order: "random", Runner: runner}); err == nil {
		t.Error("an unknown order was accepted")
	}
}
