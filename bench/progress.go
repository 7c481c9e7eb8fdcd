package bench

import (
	"fmt"
	"io"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/camload/camload/dashboard"
	"github.com/camload/camload/results"
	"github.com/camload/camload/scenarios"
)

// progress shows a run's progress: a bar over cells on a terminal, plain
// lines otherwise (CI logs), and dashboard events when Options.Events is
// set (events.go). Used from Run's goroutine only.
type progress struct {
	w     io.Writer
	bar   *progressbar.ProgressBar
	total int
	last  time.Time

	// The dashboard (events.go); hub nil = none.
	hub    *dashboard.Hub
	sc     *scenarios.Scenario
	outDir string
	logf   func(string, ...any)
	every  time.Duration
	done   int         // cells finished
	cur    *cellEvents // the running cell
}

// newProgress returns the progress of a run of sc with opts (its Progress,
// IsTTY, Events) and publishes the run's plan to opts.Events.
func newProgress(opts Options, sc *scenarios.Scenario) *progress {
	cells := sc.Cells()
	p := &progress{w: opts.Progress, total: cells, hub: opts.Events, sc: sc, outDir: opts.OutDir, logf: opts.Logf, every: DefaultEventsEvery}
	if p.w != nil && opts.IsTTY {
		p.bar = progressbar.NewOptions(cells,
			progressbar.OptionSetWriter(p.w),
			progressbar.OptionSetDescription("starting"),
			progressbar.OptionShowCount(),
			progressbar.OptionSetElapsedTime(true),
			progressbar.OptionSetPredictTime(false),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionClearOnFinish(),
		)
	}
	p.publishPlan()
	return p
}

// step reports what a cell is doing.
func (p *progress) step(c *cellRun, what string) {
	p.stepEvent(c, what)
	desc := fmt.Sprintf("[%d/%d] %s × %d cameras (r%d): %s", c.index, p.total, c.mode, c.cameras, c.rep, what)
	switch {
	case p.bar != nil:
		p.bar.Describe(desc)
	case p.w != nil:
		fmt.Fprintln(p.w, desc)
	}
}

// cellDone reports a finished cell.
func (p *progress) cellDone(c results.Cell) {
	p.done++
	p.cellFinishedEvent(c)
	line := fmt.Sprintf("%s × %d cameras (r%d): %s in %s, cycle p50 %s p99 %s, errors %.2f%%",
		c.Mode, c.Cameras, c.Repeat, c.Status, c.Elapsed.D().Round(time.Millisecond),
		c.Cycles.Latency.P50, c.Cycles.Latency.P99, 100*c.Cycles.ErrorRate)
	switch {
	case p.bar != nil:
		_ = p.bar.Clear() // keep each finished cell's line above the bar
		fmt.Fprintln(p.w, line)
		_ = p.bar.Add(1)
	case p.w != nil:
		fmt.Fprintln(p.w, line)
	}
}

func (p *progress) finish() {
	p.endCell()
	if p.bar != nil {
		_ = p.bar.Finish()
	}
}
