package bench

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/camload/camload/internal/proc"
	"github.com/camload/camload/results"
)

// window measures one phase of a cell (the measured cycles, or the API
// load): the CPU time of the system's process tree and of the runner over
// it, the machine's busy share, the system's resident set (a sampler of
// its /metrics that runs inside this window only) and its cache traffic.
// Its sampler goroutine is owned by the window and ends at stop or when
// the ctx given to startWindow ends. Not safe for concurrent use.
type window struct {
	pid   int
	start time.Time

	sys0, self0 proc.Usage
	mach0       proc.Machine
	sysOK       bool
	selfOK      bool
	machOK      bool
	peakReset   bool
	smp         *sampler
}

// startWindow opens a window on the system of pid (0: none known, no
// system CPU is measured) whose metrics are at metricsURL ("" = no
// sampler). It resets the system's resident-set high-water mark
// (/proc/<pid>/clear_refs) so that the window's peak is its own.
func startWindow(ctx context.Context, pid int, metricsURL string, every time.Duration) *window {
	w := &window{pid: pid}
	if pid > 0 {
		w.peakReset = resetPeak(pid) == nil
		w.sys0, w.sysOK = readTree(pid)
	}
	if u, err := proc.Self(); err == nil {
		w.self0, w.selfOK = u, true
	}
	if m, err := proc.MachineCPU(); err == nil {
		w.mach0, w.machOK = m, true
	}
	w.start = time.Now()
	if metricsURL != "" {
		w.smp = startSampler(ctx, metricsURL, every, w.peakReset)
	}
	return w
}

// stop closes the window and returns it with the sampler's resources
// (RSS series, goroutines, GC, the system's CPU share from its own
// process_cpu_seconds_total) over the same span.
func (w *window) stop(ctx context.Context) (results.Window, results.Resources) {
	var res results.Resources
	var first, last reading
	var n int
	if w.smp != nil {
		res = w.smp.stop(ctx)
		w.smp.mu.Lock()
		first, last, n = w.smp.first, w.smp.prev, w.smp.n
		w.smp.mu.Unlock()
	}
	end := time.Now()
	out := results.Window{Start: w.start.UTC(), End: end.UTC(), RSSPeak: res.RSSPeak, RSSMean: res.RSSMean, Samples: n}
	if w.sysOK {
		if u, ok := readTree(w.pid); ok {
			out.CPUSecondsSystem = max(u.CPUSeconds-w.sys0.CPUSeconds, 0)
			if w.peakReset {
				out.RSSPeak = max(out.RSSPeak, u.HWM)
			}
			out.RSSPeak = max(out.RSSPeak, u.RSS)
		}
	}
	if w.selfOK {
		if u, err := proc.Self(); err == nil {
			out.CPUSecondsRunner = max(u.CPUSeconds-w.self0.CPUSeconds, 0)
		}
	}
	if w.machOK {
		if m, err := proc.MachineCPU(); err == nil {
			// As measured: busy ÷ total jiffies of /proc/stat over the
			// window, never clipped (Busy is a part of Total, so a value
			// over 100 would be the kernel's counters, worth seeing).
			out.CPUMachinePercent = m.BusyPercent(w.mach0)
		}
	}
	if n > 1 && first.cache != nil && last.cache != nil {
		out.Cache = &results.CacheStats{
			L1Hits: last.cache.L1Hits - first.cache.L1Hits, L1Misses: last.cache.L1Misses - first.cache.L1Misses,
			L2Hits: last.cache.L2Hits - first.cache.L2Hits, L2Misses: last.cache.L2Misses - first.cache.L2Misses,
		}
	}
	res.RSSPeak = max(res.RSSPeak, out.RSSPeak)
	return out, res
}

// readTree is proc.Tree with its error as ok.
func readTree(pid int) (proc.Usage, bool) {
	u, err := proc.Tree(pid)
	return u, err == nil
}

// resetPeak starts a new resident-set high-water mark (VmHWM) for pid at
// its current RSS (Linux's clear_refs "5").
func resetPeak(pid int) error {
	if err := os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("5"), 0); err != nil {
		return fmt.Errorf("bench: resetting the peak RSS of %d: %w", pid, err)
	}
	return nil
}
