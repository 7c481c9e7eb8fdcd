package system

import (
	"bufio"
	"bytes"
	"os"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
)

// Peak RSS is the kernel's high-water mark of the process's resident set
// (VmHWM in /proc/self/status): unlike RSS sampled every 250 ms it cannot miss
// a short burst, such as a thousand goroutines each holding a decoded frame
// for a few hundred milliseconds. Each cycle resets the mark (writing "5" to
// /proc/self/clear_refs, Linux ≥ 4.0), so the gauge is the peak since the
// current or last cycle began. Both are no-ops where /proc is missing.

// peakRSS returns VmHWM in bytes, or -1 when it cannot be read.
func peakRSS() float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return -1
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := bytes.Fields(sc.Bytes())
		if len(f) >= 2 && string(f[0]) == "VmHWM:" {
			kb, err := strconv.ParseFloat(string(f[1]), 64)
			if err != nil {
				return -1
			}
			return kb * 1024
		}
	}
	return -1
}

// resetPeakRSS starts a new high-water mark at the current RSS.
func resetPeakRSS() {
	_ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0)
}

// newPeakRSSGauge is camload_process_rss_peak_bytes.
func newPeakRSSGauge() prometheus.GaugeFunc {
	return prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "camload_process_rss_peak_bytes",
		Help: "Peak resident set size (VmHWM) since the current or last processing cycle began.",
	}, peakRSS)
}
