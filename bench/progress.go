package bench

import (
	"fmt"
	"io"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/camload/camload/results"
)

// progress shows a run's progress: a bar over cells on a terminal, plain
// lines otherwise (CI logs). Used from Run's goroutine only.
type progress struct {
	w     io.Writer
	bar   *progressbar.ProgressBar
	total int
	last  time.Time
}

func newProgress(w io.Writer, tty bool, cells int) *progress {
	p := &progress{w: w, total: cells}
	if w != nil && tty {
		p.bar = progressbar.NewOptions(cells,
			progressbar.OptionSetWriter(w),
			progressbar.OptionSetDescription("starting"),
			progressbar.OptionShowCount(),
			progressbar.OptionSetElapsedTime(true),
			progressbar.OptionSetPredictTime(false),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionClearOnFinish(),
		)
	}
	return p
}

// step reports what a cell is doing.
func (p *progress) step(c *cellRun, what string) {
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
	if p.bar != nil {
		_ = p.bar.Finish()
	}
}
