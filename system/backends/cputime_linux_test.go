//go:build linux

package backends_test

import (
	"time"

	"golang.org/x/sys/unix"
)

// processCPU is this process's CPU time (user + system, every thread).
func processCPU() time.Duration {
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
