// Package proc reads the CPU time and memory of processes and of the
// machine from Linux's /proc (through github.com/prometheus/procfs), so that
// the runner can measure any system under test — camload's own or an
// external command and all its children — and itself, in the same window.
//
// Every function reads /proc once per call and holds no state; all are safe
// for concurrent use. Where /proc is missing (not Linux) they return
// ErrUnavailable.
package proc

import (
	"errors"
	"fmt"
	"math"
	"os"

	"github.com/prometheus/procfs"
)

// ErrUnavailable is returned where /proc cannot be read.
var ErrUnavailable = errors.New("proc: /proc is not available")

// Usage is what a process tree uses at one instant.
type Usage struct {
	// CPUSeconds is user + system CPU time of every process of the tree,
	// since each started (children that exited and were waited for are
	// counted by the kernel in their parent's cutime, which is not
	// included: sample often enough to see short-lived children).
	CPUSeconds float64
	// RSS is the sum of the resident sets of the tree's processes.
	RSS int64
	// HWM is the sum of the processes' resident-set high-water marks
	// (VmHWM); for one process, its peak RSS since it started or since its
	// mark was last reset.
	HWM int64
	// Procs is the number of processes in the tree.
	Procs int
}

func fs() (procfs.FS, error) {
	f, err := procfs.NewFS(procfs.DefaultMountPoint)
	if err != nil {
		return procfs.FS{}, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	return f, nil
}

// Tree returns the usage of process pid and all its descendants.
func Tree(pid int) (Usage, error) {
	f, err := fs()
	if err != nil {
		return Usage{}, err
	}
	all, err := f.AllProcs()
	if err != nil {
		return Usage{}, fmt.Errorf("proc: listing processes: %w", err)
	}
	children := map[int][]procfs.Proc{}
	var root *procfs.Proc
	for i := range all {
		p := all[i]
		st, err := p.Stat()
		if err != nil {
			continue // exited meanwhile
		}
		if p.PID == pid {
			root = &all[i]
		}
		children[st.PPID] = append(children[st.PPID], p)
	}
	if root == nil {
		return Usage{}, fmt.Errorf("proc: process %d: %w", pid, os.ErrNotExist)
	}
	var u Usage
	seen := map[int]bool{}
	queue := []procfs.Proc{*root}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		if seen[p.PID] {
			continue
		}
		seen[p.PID] = true
		add(&u, p)
		queue = append(queue, children[p.PID]...)
	}
	return u, nil
}

// Self returns the usage of the calling process alone (its threads
// included, its children not).
func Self() (Usage, error) {
	return One(os.Getpid())
}

// One returns the usage of process pid alone.
func One(pid int) (Usage, error) {
	f, err := fs()
	if err != nil {
		return Usage{}, err
	}
	p, err := f.Proc(pid)
	if err != nil {
		return Usage{}, fmt.Errorf("proc: process %d: %w", pid, err)
	}
	var u Usage
	if !add(&u, p) {
		return Usage{}, fmt.Errorf("proc: process %d: %w", pid, os.ErrNotExist)
	}
	return u, nil
}

// add folds p into u; false when p vanished.
func add(u *Usage, p procfs.Proc) bool {
	st, err := p.Stat()
	if err != nil {
		return false
	}
	u.CPUSeconds += st.CPUTime()
	u.RSS += int64(st.ResidentMemory())
	if s, err := p.NewStatus(); err == nil {
		u.HWM += int64(s.VmHWM)
	}
	u.Procs++
	return true
}

// Machine is the machine's cumulative CPU time, in seconds over all cores.
type Machine struct {
	Busy  float64 // user, nice, system, irq, softirq, steal
	Total float64 // Busy + idle + iowait
	Cores int
}

// MachineCPU reads /proc/stat.
func MachineCPU() (Machine, error) {
	f, err := fs()
	if err != nil {
		return Machine{}, err
	}
	s, err := f.Stat()
	if err != nil {
		return Machine{}, fmt.Errorf("proc: reading /proc/stat: %w", err)
	}
	c := s.CPUTotal
	busy := c.User + c.Nice + c.System + c.IRQ + c.SoftIRQ + c.Steal
	return Machine{Busy: busy, Total: busy + c.Idle + c.Iowait, Cores: len(s.CPU)}, nil
}

// BusyPercent is the machine's busy share between an earlier reading and m:
// 100 = every core busy. It is 0 when no time passed. /proc/stat counts
// whole ticks (USER_HZ = 100), which the readings hold as sums of float
// seconds: the deltas are rounded back to ticks, so that an all-busy
// window reads exactly 100, not 100.0000000008.
func (m Machine) BusyPercent(earlier Machine) float64 {
	dt := math.Round((m.Total - earlier.Total) * userHZ)
	if dt <= 0 {
		return 0
	}
	return 100 * math.Round((m.Busy-earlier.Busy)*userHZ) / dt
}

// userHZ is the kernel's USER_HZ, the ticks per second of /proc's CPU times.
const userHZ = 100
