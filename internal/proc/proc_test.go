package proc

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"runtime"
	"testing"
	"time"
)

func skipNoProc(t *testing.T) {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("needs Linux /proc")
	}
}

// TestSelfCountsBurnedCPU burns CPU in this process and checks that Self's
// CPU seconds grow (never more than wall time × cores). It burns until
// /proc shows 0.1 s of CPU, not for a fixed wall time: on a busy machine
// 300 ms of wall time may get this goroutine far less than 0.05 s.
func TestSelfCountsBurnedCPU(t *testing.T) {
	skipNoProc(t)
	before, err := Self()
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Now()
	x := 0
	var after Usage
	for {
		for i := 0; i < 1e6; i++ {
			x += i
		}
		if after, err = Self(); err != nil {
			t.Fatal(err)
		}
		if after.CPUSeconds-before.CPUSeconds >= 0.1 || time.Since(t0) > time.Minute {
			break
		}
	}
	_ = x
	d := after.CPUSeconds - before.CPUSeconds
	wall := time.Since(t0).Seconds()
	if d < 0.1 || d > wall*float64(runtime.NumCPU())+0.05 {
		t.Fatalf("Self CPU grew %.3fs over %.3fs of busy wall time; want ≥ 0.1 (within a minute) and ≤ wall × cores", d, wall)
	}
	if after.RSS <= 0 || after.HWM < after.RSS/2 || after.Procs != 1 {
		t.Fatalf("Self() = %+v; want RSS > 0, HWM ≈≥ RSS, 1 process", after)
	}
}

// TestTreeIncludesChildren starts a shell with two sleeping children and
// checks Tree counts all three processes, and One only the shell.
func TestTreeIncludesChildren(t *testing.T) {
	skipNoProc(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "sh", "-c", "sleep 30 & sleep 30 & wait")
	if err := cmd.Start(); err != nil {
		t.Skipf("cannot start sh: %v", err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	var u Usage
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		var err error
		if u, err = Tree(cmd.Process.Pid); err != nil {
			t.Fatal(err)
		}
		if u.Procs >= 3 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if u.Procs != 3 {
		t.Fatalf("Tree(sh with 2 children).Procs = %d; want 3", u.Procs)
	}
	one, err := One(cmd.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	if one.Procs != 1 || one.RSS >= u.RSS {
		t.Fatalf("One = %+v, Tree = %+v; want 1 process with less RSS than the tree", one, u)
	}
}

func TestMissingProcess(t *testing.T) {
	skipNoProc(t)
	if _, err := Tree(1 << 30); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Tree(no such pid) error = %v; want not-exist", err)
	}
}

// TestMachineBusy checks the machine's busy share over a busy interval is
// within 0…100 and that a reading against itself is 0.
func TestMachineBusy(t *testing.T) {
	skipNoProc(t)
	a, err := MachineCPU()
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Now()
	for time.Since(t0) < 200*time.Millisecond {
	}
	b, err := MachineCPU()
	if err != nil {
		t.Fatal(err)
	}
	p := b.BusyPercent(a)
	if p <= 0 || p > 100.0001 || a.Cores < 1 {
		t.Fatalf("BusyPercent over a busy loop = %.1f (cores %d); want in (0, 100]", p, a.Cores)
	}
	if b.BusyPercent(b) != 0 {
		t.Fatal("BusyPercent of a reading against itself should be 0")
	}
}

// TestBusyPercentWholeTicks: readings are sums of float seconds of whole
// ticks; an all-busy window reads exactly 100, never a hair above.
func TestBusyPercentWholeTicks(t *testing.T) {
	t.Parallel()
	// 0.1 + 0.2 ≠ 0.3 in floats: the sums carry rounding errors.
	a := Machine{Busy: 0.1 + 0.2 + 1234.56, Total: 0.1 + 0.2 + 1234.56 + 7.77, Cores: 2}
	b := Machine{Busy: a.Busy + 0.7 + 0.1 + 0.2, Total: a.Total + 1.0, Cores: 2}
	if got := b.BusyPercent(a); got != 100 {
		t.Errorf("all-busy window: BusyPercent = %v; want exactly 100", got)
	}
	c := Machine{Busy: a.Busy + 0.33, Total: a.Total + 1.32, Cores: 2}
	if got := c.BusyPercent(a); got != 25 {
		t.Errorf("33 of 132 ticks busy: BusyPercent = %v; want 25", got)
	}
	if got := a.BusyPercent(a); got != 0 {
		t.Errorf("no time passed: BusyPercent = %v; want 0", got)
	}
}
