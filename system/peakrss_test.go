package system

import (
	"runtime"
	"testing"
)

// TestPeakRSS checks the mechanism: touching 64 MiB raises the high-water
// mark by about that much, and a reset brings it back near the current RSS.
func TestPeakRSS(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("VmHWM is Linux's")
	}
	resetPeakRSS()
	before := peakRSS()
	if before <= 0 {
		t.Fatalf("peakRSS() = %v; want > 0", before)
	}
	buf := make([]byte, 64<<20)
	for i := range buf {
		if i%4096 == 0 {
			buf[i] = 1
		}
	}
	during := peakRSS()
	if during-before < 48<<20 {
		t.Fatalf("peak RSS grew by %.0f MiB after touching 64 MiB; want ≥ 48", (during-before)/(1<<20))
	}
	runtime.KeepAlive(buf)
	buf = nil
	runtime.GC()
	resetPeakRSS()
	if after := peakRSS(); after >= during {
		t.Logf("peak after reset %.0f MiB ≥ during %.0f MiB (memory not yet returned to the OS)", after/(1<<20), during/(1<<20))
	}
}
