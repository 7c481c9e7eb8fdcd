//go:build unix

package system

import (
	"runtime"
	"syscall"
	"testing"
)

// TestPeakRSS checks the mechanism: touching 64 MiB raises the high-water
// mark by about that much, and a reset brings it back near the current RSS.
// The 64 MiB are a fresh anonymous mapping, not the Go heap, whose free
// but resident spans (left by earlier tests) a new slice may reuse
// without any growth of the RSS.
func TestPeakRSS(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("VmHWM is Linux's")
	}
	resetPeakRSS()
	before := peakRSS()
	if before <= 0 {
		t.Fatalf("peakRSS() = %v; want > 0", before)
	}
	buf, err := syscall.Mmap(-1, 0, 64<<20, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < len(buf); i += 4096 {
		buf[i] = 1
	}
	during := peakRSS()
	if err := syscall.Munmap(buf); err != nil {
		t.Fatal(err)
	}
	if during-before < 48<<20 {
		t.Fatalf("peak RSS grew by %.0f MiB after touching 64 MiB; want ≥ 48", (during-before)/(1<<20))
	}
	resetPeakRSS()
	if after := peakRSS(); after >= during {
		t.Logf("peak after reset %.0f MiB ≥ during %.0f MiB (memory not yet returned to the OS)", after/(1<<20), during/(1<<20))
	}
}
