//go:build linux

package analyze_test

import (
	"runtime"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// threadCPU returns the calling thread's CPU time (user + system).
func threadCPU() time.Duration {
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_THREAD, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// cpuMeter reports a benchmark's CPU time per op as "cpu-ns/op" beside
// its wall time: on a shared machine the wall time includes waiting for a
// core, the thread's CPU time does not. It locks the benchmark goroutine to
// its thread until stop.
type cpuMeter struct {
	b     *testing.B
	start time.Duration
}

func startCPU(b *testing.B) *cpuMeter {
	runtime.LockOSThread()
	return &cpuMeter{b: b, start: threadCPU()}
}

func (m *cpuMeter) stop() {
	d := threadCPU() - m.start
	runtime.UnlockOSThread()
	if m.b.N > 0 {
		m.b.ReportMetric(float64(d.Nanoseconds())/float64(m.b.N), "cpu-ns/op")
	}
}
