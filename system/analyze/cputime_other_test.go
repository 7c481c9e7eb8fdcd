//go:build !linux

package analyze_test

import "testing"

// cpuMeter reports nothing where the thread's CPU time is not available.
type cpuMeter struct{}

func startCPU(*testing.B) *cpuMeter { return &cpuMeter{} }

func (*cpuMeter) stop() {}
