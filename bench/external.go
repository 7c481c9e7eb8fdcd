package bench

// External systems under test: a scenario's system.external (or one of its
// system.external_modes) is any command, started here in its own process
// group and measured from the fleet's side (its fetch log) and from /proc
// (its process tree). docs/external-systems.md is the contract.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/camload/camload/internal/proc"
	"github.com/camload/camload/internal/wait"
	"github.com/camload/camload/results"
	"github.com/camload/camload/scenarios"
	"github.com/camload/camload/simulator"
	"github.com/camload/camload/system"
)

// Polling periods of an external cell: readiness and sweep progress are
// watched every extPoll; the process tree is sampled every extSample.
const (
	extPoll   = 100 * time.Millisecond
	extSample = 250 * time.Millisecond
	// extTailLines is how many lines of output an early exit records.
	extTailLines = 20
)

// noProfiles is results.External.NoProfiles.
const noProfiles = "CPU and heap profiles are taken only of camload's own system (camload serve)"

// errExited is the cause of an external cell's context when its process
// ends before the runner stopped it.
var errExited = errors.New("external system exited")

// exitSettle is how long a failed step of an external cell waits for the
// process's exit before the step's own error is reported: a process that
// exits closes its connections a moment before it is reaped.
const exitSettle = 2 * time.Second

// extProc is a started external command in its own process group. Its
// stdin is a pipe held by the runner, closed when the runner dies; the
// leader also gets SIGKILL then (Pdeathsig). Not safe for concurrent use,
// except that stop may be called more than once and done read by anyone.
type extProc struct {
	cmd     *exec.Cmd
	stdin   io.WriteCloser
	log     *os.File
	logPath string
	grace   time.Duration
	done    chan struct{} // closed when the process has been waited for
	err     error         // Wait's error, valid after done
	stopped bool          // the runner asked it to stop
	Pid     int
}

// startExternal starts argv in dir with env added to the runner's
// environment, output to logPath, in its own process group.
func startExternal(argv []string, dir string, env []string, logPath string, grace time.Duration) (*extProc, error) {
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("external system log: %w", err)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		logf.Close()
		return nil, fmt.Errorf("external system stdin: %w", err)
	}
	p := &extProc{cmd: cmd, stdin: stdin, log: logf, logPath: logPath, grace: grace, done: make(chan struct{})}
	started := make(chan error, 1)
	// Pdeathsig fires when the thread that started the child exits: start
	// and wait on one locked thread (as startChild does).
	go func() { // owner: the process; ends when it exits
		runtime.LockOSThread() // never unlocked: the thread ends with the child
		if err := cmd.Start(); err != nil {
			p.err = err
			started <- err
			close(p.done)
			return
		}
		started <- nil
		p.err = cmd.Wait()
		close(p.done)
	}()
	if err := <-started; err != nil {
		logf.Close()
		return nil, fmt.Errorf("starting external system %q: %w", argv[0], err)
	}
	p.Pid = cmd.Process.Pid
	return p, nil
}

// stop ends the process group: SIGTERM, then SIGKILL after the grace
// period, and SIGKILL to whatever is left of the group. It returns once
// the leader has been waited for; safe to call more than once.
func (p *extProc) stop() {
	if stopGroup(p.Pid, p.done, p.grace, p.stdin.Close) {
		p.stopped = true
	}
	_ = p.stdin.Close()
	p.log.Close()
}

// stopGroup ends the process group led by pid, whose Wait closes done.
// While the leader runs: SIGTERM, then closeIn (its stdin; nil: none),
// and SIGKILL once grace has passed without done. Last, whatever the
// leader did, SIGKILL to what is left of the group. It returns once done
// is closed, and whether the leader was still running (it was asked to
// stop).
func stopGroup(pid int, done <-chan struct{}, grace time.Duration, closeIn func() error) (asked bool) {
	select {
	case <-done:
	default:
		asked = true
		_ = syscall.Kill(-pid, syscall.SIGTERM)
		if closeIn != nil {
			_ = closeIn()
		}
		t := time.NewTimer(grace)
		select {
		case <-done:
			t.Stop()
		case <-t.C:
			_ = syscall.Kill(-pid, syscall.SIGKILL)
			<-done
		}
	}
	_ = syscall.Kill(-pid, syscall.SIGKILL)
	return asked
}

// status describes how the process ended (after done).
func (p *extProc) status() string {
	if p.err == nil {
		return "exit status 0"
	}
	var ee *exec.ExitError
	if errors.As(p.err, &ee) {
		return ee.ProcessState.String()
	}
	return p.err.Error()
}

// tail returns the last n lines of the process's output.
func (p *extProc) tail(n int) string {
	b, err := os.ReadFile(p.logPath)
	if err != nil {
		return ""
	}
	const maxBytes = 4 << 10
	if len(b) > maxBytes {
		b = b[len(b)-maxBytes:]
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// extRun is the state of one external cell.
type extRun struct {
	c     *cellRun
	ext   scenarios.External
	fleet *simulator.Fleet
	p     *extProc
	out   *results.External
	api   string // http://host:port
	phase string // what the cell is doing, for an early exit's message
}

// measureExternal is measure for an external system: fleet, command,
// readiness, warm-up, the measured window (timed cycles, sweeps or a
// duration), API load, stop.
func (c *cellRun) measureExternal(ctx context.Context, ext scenarios.External) (err error) {
	x := &extRun{c: c, ext: ext, out: &results.External{NoProfiles: noProfiles}}
	c.cell.External = x.out

	fleet, _, err := c.startFleet(ctx, c.sc.Seed)
	if err != nil {
		return err
	}
	x.fleet = fleet
	defer closeFleet(fleet, &err)

	addr := ext.APIAddr
	if addr == scenarios.APIAddrAuto {
		if addr, err = freeLoopbackAddr(); err != nil {
			return fmt.Errorf("api_addr auto: %w", err)
		}
	}
	x.out.APIAddr, x.api = addr, "http://"+addr
	expand := func(s string) string { return scenarios.Expand(s, fleet.ControlURL(), addr) }
	ext.ReadyURL, ext.CycleURL = expand(ext.ReadyURL), expand(ext.CycleURL)
	x.ext = ext
	if !c.opts.AllowRemote {
		for _, u := range []struct{ field, url string }{{"api_addr", x.api}, {"ready_url", ext.ReadyURL}, {"cycle_url", ext.CycleURL}} {
			if u.url == "" {
				continue
			}
			if err := checkLoopback(u.url); err != nil {
				return fmt.Errorf("system.external %s: %w", u.field, err)
			}
		}
	}
	argv := make([]string, len(ext.Command))
	for i, a := range ext.Command {
		argv[i] = expand(a)
	}
	x.out.Command = argv
	env := []string{scenarios.EnvFleetURL + "=" + fleet.ControlURL(), scenarios.EnvAPIAddr + "=" + addr}
	if c.be != nil {
		env = append(env, "CAMLOAD_MONGO_URI="+c.be.MongoURI(), "CAMLOAD_REDIS_URL="+c.be.RedisURL(),
			"CAMLOAD_DB="+dbName(c.sc.Name, cellName(c.mode, c.cameras, c.rep), time.Now()))
	}
	keys := make([]string, 0, len(ext.Env))
	for k := range ext.Env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		env = append(env, k+"="+expand(ext.Env[k]))
	}

	x.step("start-up")
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("before starting the external system: %w", context.Cause(ctx))
	}
	x.out.Log = filepath.Join(c.rel, "system.log")
	started := time.Now()
	p, err := startExternal(argv, ext.Dir, env, filepath.Join(c.dir, "system.log"), ext.StopGrace)
	if err != nil {
		return err
	}
	x.p, x.out.Pid = p, p.Pid
	// Every step runs under sctx, which ends with the cause errExited
	// when the process exits on its own.
	sctx, cancel := context.WithCancelCause(ctx)
	watchDone := make(chan struct{})
	go func() { // owner: measureExternal; ends at p.done or cancel
		defer close(watchDone)
		select {
		case <-p.done:
			cancel(errExited)
		case <-sctx.Done():
		}
	}()
	defer func() {
		if err != nil && ctx.Err() == nil {
			// A step that failed because the process is dying (its API
			// resets connections as it exits) may return before the exit
			// is reaped: give the exit a moment to show, so that it is
			// named as the cause.
			select {
			case <-p.done:
			case <-time.After(exitSettle):
			}
		}
		cancel(nil)
		<-watchDone
		exitedEarly := false
		select {
		case <-p.done:
			exitedEarly = !p.stopped
		default:
		}
		p.stop()
		x.out.ExitStatus = p.status()
		if exitedEarly {
			x.out.Exited, x.out.OutputTail = true, p.tail(extTailLines)
			if ctx.Err() != nil { // interrupted or over budget first
				err = fmt.Errorf("%w (the external system exited meanwhile: %s)", context.Cause(ctx), x.out.ExitStatus)
				return
			}
			err = fmt.Errorf("external system exited early (%s) during %s; last output:\n%s", x.out.ExitStatus, x.phase, x.out.OutputTail)
		}
	}()
	return x.measure(sctx, started)
}

// step reports progress and remembers the phase for an early exit's
// message.
func (x *extRun) step(what string) {
	x.phase = what
	x.c.prog.step(x.c, what)
}

// measure runs readiness, warm-up, the measured window and the load.
func (x *extRun) measure(ctx context.Context, started time.Time) error {
	c, sys := x.c, x.c.sc.System
	x.step("waiting for the external system")
	readyAt, err := x.waitReady(ctx, started, sys.ReadyTimeout)
	if err != nil {
		return err
	}
	x.out.ReadyAfter = results.Duration(readyAt.Sub(started))
	client := &http.Client{Timeout: sys.CycleTimeout}

	// warm-up: cycles or sweeps. Without cycle_url the measured window
	// starts at a sweep boundary (the first request after the last
	// warm-up sweep counted from its first fetch, or that first fetch when
	// it made the system ready),
	// so that its sweeps are those of the fleet's continuous count.
	t0 := time.Time{}
	if x.ext.CycleURL == "" && x.out.ReadyBy == "first_fetch" {
		t0 = readyAt
	}
	if x.ext.CycleURL != "" {
		for i := 0; i < sys.Warmup; i++ {
			x.step(fmt.Sprintf("warm-up %d/%d", i+1, sys.Warmup))
			if _, err := x.postCycle(ctx, client); err != nil {
				return fmt.Errorf("warm-up cycle %d: %w", i+1, err)
			}
		}
	} else if sys.Warmup > 0 {
		x.step(fmt.Sprintf("warm-up: %d sweeps", sys.Warmup))
		// Sweeps count from the system's first fetch (the fleet is the
		// cell's own), so that they follow its passes even when it
		// polled before its ready_url answered.
		st, err := x.waitSweeps(ctx, started, sys.Warmup, "warm-up")
		if err != nil {
			return err
		}
		t0 = x.sweepBoundary(started, st, sys.Warmup)
	}

	// The measured window [t0, t1): fleet side, /proc, faults. Whatever
	// happens from here, the cell records what was measured.
	// The fleet's counters and /proc start when the runner sees t0, at
	// most a poll later.
	before, conns := x.fleet.Faults(), x.fleet.Connections()
	if t0.IsZero() {
		t0 = time.Now()
	}
	var t1 time.Time
	cyc := newCycleStats()
	windows := []*procWindow{startProcWindow(ctx, "cycles", x.p.Pid, t0, time.Now())}
	var after simulator.FaultReport
	var conns1 uint64
	closeWindow := func() { // at t1: the fleet's counters of the window
		t1, after, conns1 = time.Now(), x.fleet.Faults(), x.fleet.Connections()
		windows[0].end(t1)
	}
	defer func() {
		if t1.IsZero() {
			closeWindow()
		}
		for _, w := range windows {
			w.end(time.Now())
		}
		c.cell.Faults = faultDelta(before, after)
		x.record(windows, t0, t1, cyc, int64(conns1-conns))
	}()
	switch {
	case x.ext.CycleURL != "":
		x.out.CyclesBy = "cycle_url"
		for i := 0; i < sys.Cycles; i++ {
			x.step(fmt.Sprintf("cycle %d/%d", i+1, sys.Cycles))
			d, err := x.postCycle(ctx, client)
			if err != nil {
				return fmt.Errorf("cycle %d: %w", i+1, err)
			}
			cyc.add(&system.CycleSummary{Duration: d})
		}
	case x.ext.Window > 0:
		x.out.CyclesBy = "window"
		x.step(fmt.Sprintf("measuring for %s", x.ext.Window))
		t := time.NewTimer(time.Until(t0.Add(x.ext.Window)))
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("measured window: %w", context.Cause(ctx))
		case <-t.C:
		}
	default:
		x.out.CyclesBy = "sweeps"
		x.step(fmt.Sprintf("measuring %d sweeps", sys.Cycles))
		if _, err := x.waitSweeps(ctx, t0, sys.Cycles, "measured"); err != nil {
			return err
		}
	}
	closeWindow()
	if x.out.CyclesBy == "window" {
		if st := x.fleet.FetchStats(t0, t1, false); st.Requests == 0 {
			return fmt.Errorf("the external system fetched no camera in its %s measured window", x.ext.Window)
		}
	}

	// d) API load, one target after another, against the external API.
	if len(c.sc.Load) == 0 {
		return nil
	}
	windows = append(windows, startProcWindow(ctx, "load", x.p.Pid, t0, time.Now()))
	cams := x.fleet.Cameras()
	c.cell.API = map[string]results.Endpoint{}
	for ti, t := range c.sc.Load {
		x.step("load " + t.Name)
		ep, err := c.attack(ctx, x.api, t, ti, cams)
		if err != nil {
			if cause := context.Cause(ctx); cause != nil {
				return fmt.Errorf("%w: %w", err, cause)
			}
			return err
		}
		c.cell.API[t.Name] = ep
	}
	return nil
}

// record fills the cell from the fleet's log of [t0, t1), the /proc
// windows and the cycles.
func (x *extRun) record(windows []*procWindow, t0, t1 time.Time, cyc *cycleStats, churn int64) {
	c := x.c
	st := x.fleet.FetchStats(t0, t1, false)
	fs := fleetSide(st, t1.Sub(t0))
	x.out.Fleet = fs
	if x.out.CyclesBy != "cycle_url" {
		for _, s := range st.Sweeps {
			cyc.add(&system.CycleSummary{Duration: s.Duration})
		}
	}
	c.cell.Cycles = cyc.summary()
	c.cell.Cycles.Visits = st.Requests
	errs := map[string]int{}
	total := 0
	for k, n := range st.Errors {
		errs[k] += n
		total += n
	}
	for k, n := range st.Refused {
		errs[k] += n
		total += n
	}
	c.cell.Cycles.Errors = errs
	c.cell.Cycles.ErrorRate = 0
	if st.Requests > 0 {
		c.cell.Cycles.ErrorRate = float64(total) / float64(st.Requests)
	}
	conns := int64(st.NewConnections)
	if churn > conns {
		conns = churn // the fleet's accept count also sees connections that sent nothing
	}
	c.cell.Cycles.Connections = &conns

	var res results.Resources
	var cpu, secs, machine, rssSum float64
	var n int
	for _, w := range windows {
		pw, series := w.result()
		x.out.Windows = append(x.out.Windows, pw)
		res.Series = append(res.Series, series...)
		res.RSSPeak = max(res.RSSPeak, pw.RSSPeak)
		rssSum += float64(pw.RSSMean) * float64(pw.Samples)
		n += pw.Samples
		cpu += pw.CPUSeconds
		secs += pw.Duration.D().Seconds()
		machine += pw.CPUMachinePercent * pw.Duration.D().Seconds()
	}
	if n > 0 {
		res.RSSMean = int64(rssSum / float64(n))
	}
	if secs > 0 {
		res.CPUCorePercent = 100 * cpu / secs
		res.CPUMachinePercent = machine / secs
	}
	c.cell.Resources = res
}

// fleetSide converts the fleet's stats into results.
func fleetSide(st simulator.FetchStats, window time.Duration) results.FleetSide {
	fs := results.FleetSide{
		Window: results.Duration(window), Cameras: st.Cameras, Requests: st.Requests, Visits: st.Visits,
		Sweeps: len(st.Sweeps), PartialCovered: st.PartialCovered,
		SweepTime: summary(st.SweepDuration), Revisit: summary(st.Revisit),
		NewConnections: st.NewConnections, ErrorsTotal: st.ErrorsTotal, Unvisited: st.Unvisited,
		LogTruncated: st.LogTruncated,
	}
	if len(st.Refused) > 0 {
		fs.Refused = st.Refused
	}
	if len(st.Errors) > 0 {
		fs.Errors = st.Errors
	}
	var rpc float64
	for _, s := range st.Sweeps {
		rpc += s.RequestsPerCamera
		fs.MaxPerCamera = max(fs.MaxPerCamera, s.MaxPerCamera)
	}
	if len(st.Sweeps) > 0 {
		fs.RequestsPerCamera = rpc / float64(len(st.Sweeps))
	}
	return fs
}

func summary(s simulator.Summary) results.Summary {
	return results.Summary{N: s.N, Min: results.Duration(s.Min), Mean: results.Duration(s.Mean), P50: results.Duration(s.P50),
		P90: results.Duration(s.P90), P99: results.Duration(s.P99), Max: results.Duration(s.Max)}
}

// waitReady waits until ready_url answers 200 or, without one, until the
// fleet has seen the system's first camera fetch; it returns the moment of
// readiness (the first fetch's start).
func (x *extRun) waitReady(ctx context.Context, started time.Time, timeout time.Duration) (time.Time, error) {
	x.out.ReadyBy = "first_fetch"
	if x.ext.ReadyURL != "" {
		x.out.ReadyBy = "ready_url"
	}
	tctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tick := time.NewTicker(extPoll)
	defer tick.Stop()
	client := &http.Client{Timeout: time.Second}
	last := "no answer yet"
	for {
		select {
		case <-tctx.Done():
			if ctx.Err() != nil {
				return time.Time{}, fmt.Errorf("waiting for readiness: %w", context.Cause(ctx))
			}
			if x.ext.ReadyURL != "" {
				return time.Time{}, fmt.Errorf("external system not ready within system.ready_timeout (%s): GET %s: %s", timeout, x.ext.ReadyURL, last)
			}
			return time.Time{}, fmt.Errorf("external system fetched no camera within system.ready_timeout (%s) (it must GET snapshots listed by %s/cameras, or give a ready_url)", timeout, x.fleet.ControlURL())
		case <-tick.C:
		}
		if x.ext.ReadyURL == "" {
			if log := x.fleet.Fetches(started, time.Time{}); len(log.Fetches) > 0 {
				return log.Fetches[0].Start, nil
			}
			continue
		}
		req, err := http.NewRequestWithContext(tctx, http.MethodGet, x.ext.ReadyURL, nil)
		if err != nil {
			return time.Time{}, fmt.Errorf("ready_url: %w", err)
		}
		resp, err := client.Do(req)
		if err != nil {
			last = err.Error()
			continue
		}
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			return time.Now(), nil
		}
		last = resp.Status
	}
}

// waitSweeps waits until the fleet has seen n complete sweeps starting at
// or after since; each must complete within system.cycle_timeout of the
// previous one (or of since). It returns when the n-th is seen.
func (x *extRun) waitSweeps(ctx context.Context, since time.Time, n int, what string) (simulator.FetchStats, error) {
	timeout := x.c.sc.System.CycleTimeout
	tick := time.NewTicker(2 * extPoll)
	defer tick.Stop()
	done, progress := 0, time.Now()
	for {
		select {
		case <-ctx.Done():
			return simulator.FetchStats{}, fmt.Errorf("%s sweep %d of %d: %w", what, done+1, n, context.Cause(ctx))
		case <-tick.C:
		}
		st := x.fleet.FetchStats(since, time.Time{}, false)
		now := time.Now()
		if len(st.Sweeps) > done {
			done, progress = len(st.Sweeps), now
			x.step(fmt.Sprintf("%s sweeps %d/%d", what, min(done, n), n))
		}
		if done >= n {
			return st, nil
		}
		if now.Sub(progress) > timeout {
			return st, x.sweepStall(what, done+1, n, timeout, since, st)
		}
	}
}

// sweepBoundary is the start of the request that opened sweep n+1 of st
// (computed from since): the first request after the n-th sweep, or now
// when none has started since.
func (x *extRun) sweepBoundary(since time.Time, st simulator.FetchStats, n int) time.Time {
	k := 0
	for _, s := range st.Sweeps[:min(n, len(st.Sweeps))] {
		k += s.Requests
	}
	if log := x.fleet.Fetches(since, time.Time{}).Fetches; k < len(log) {
		return log[k].Start
	}
	return time.Now()
}

// sweepStall says why a sweep did not complete.
func (x *extRun) sweepStall(what string, k, n int, timeout time.Duration, since time.Time, st simulator.FetchStats) error {
	head := fmt.Sprintf("%s sweep %d of %d did not complete within system.cycle_timeout (%s)", what, k, n, timeout)
	if st.Requests == 0 {
		return fmt.Errorf("%s: the external system fetched no camera", head)
	}
	per := x.fleet.FetchStats(since, time.Time{}, true).PerCamera
	var never []string
	for _, p := range per {
		if p.Visits == 0 {
			never = append(never, p.Camera)
		}
	}
	msg := fmt.Sprintf("%s: it covered %d of %d cameras (%d requests, %d refused by full hosts)", head, st.PartialCovered, st.Cameras, st.Requests, st.Requests-st.Visits)
	if len(never) > 0 {
		more := ""
		if len(never) > 5 {
			more, never = fmt.Sprintf(" and %d more", len(never)-5), never[:5]
		}
		msg += "; never fetched: " + strings.Join(never, ", ") + more
	}
	return errors.New(msg)
}

// postCycle POSTs to cycle_url and returns the round trip's duration; a
// status other than 2xx is an error.
func (x *extRun) postCycle(ctx context.Context, client *http.Client) (time.Duration, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, x.ext.CycleURL, nil)
	if err != nil {
		return 0, err
	}
	t0 := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		if cause := context.Cause(ctx); cause != nil && ctx.Err() != nil {
			return 0, fmt.Errorf("POST %s: %w", x.ext.CycleURL, cause)
		}
		return 0, fmt.Errorf("POST %s: %w", x.ext.CycleURL, err)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	d := time.Since(t0)
	if err != nil {
		return 0, fmt.Errorf("POST %s: %w", x.ext.CycleURL, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return 0, fmt.Errorf("POST %s: %s: %s", x.ext.CycleURL, resp.Status, bytes.TrimSpace(b[:min(len(b), 300)]))
	}
	return d, nil
}

// freeLoopbackAddr returns 127.0.0.1:PORT with a port that was free a
// moment ago (the system binds it; another process could take it in
// between, which then fails the cell at readiness).
func freeLoopbackAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	addr := l.Addr().String()
	return addr, l.Close()
}

// procWindow samples a process tree from /proc every extSample over one
// window. Its goroutine is owned by the window and ends at end/stop or
// when ctx ends.
type procWindow struct {
	name   string
	pid    int
	origin time.Time // Series times are from here
	start  time.Time
	m0     proc.Machine
	cancel context.CancelFunc
	done   chan struct{}

	mu       sync.Mutex
	ended    time.Time
	m1       proc.Machine
	last     float64
	haveLast bool
	cpu      float64
	rssSum   float64
	rssPeak  int64
	procs    int
	n        int
	series   []results.Sample
}

func startProcWindow(ctx context.Context, name string, pid int, origin, start time.Time) *procWindow {
	ctx, cancel := context.WithCancel(ctx)
	w := &procWindow{name: name, pid: pid, origin: origin, start: start, cancel: cancel, done: make(chan struct{})}
	w.m0, _ = proc.MachineCPU()
	w.sample(start)
	go func() { // owner: the window; ends at end/stop or ctx
		defer close(w.done)
		wait.Every(ctx, extSample, w.sample)
	}()
	return w
}

// sample folds one reading of the tree in. CPU counts only increases
// between readings: a child that exits takes its CPU time out of the sum.
func (w *procWindow) sample(now time.Time) {
	u, err := proc.Tree(w.pid)
	if err != nil {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	var pct float64
	if w.haveLast {
		if d := u.CPUSeconds - w.last; d > 0 {
			w.cpu += d
			if len(w.series) > 0 {
				if dt := now.Sub(w.origin.Add(w.series[len(w.series)-1].At.D())).Seconds(); dt > 0 {
					pct = 100 * d / dt
				}
			}
		}
	}
	w.last, w.haveLast = u.CPUSeconds, true
	w.rssSum += float64(u.RSS)
	w.rssPeak = max(w.rssPeak, u.RSS)
	w.procs = max(w.procs, u.Procs)
	w.n++
	w.series = append(w.series, results.Sample{At: results.Duration(now.Sub(w.origin)), RSS: u.RSS, CPUPercent: pct})
}

// end closes the window at t with a last reading; later calls do
// nothing.
func (w *procWindow) end(t time.Time) {
	w.stop()
	w.mu.Lock()
	ended := !w.ended.IsZero()
	w.mu.Unlock()
	if ended {
		return
	}
	w.sample(t)
	w.mu.Lock()
	w.ended = t
	w.m1, _ = proc.MachineCPU()
	w.mu.Unlock()
}

// stop ends the sampling goroutine (without a last reading).
func (w *procWindow) stop() {
	w.cancel()
	<-w.done
}

// result is the window's figures and its samples.
func (w *procWindow) result() (results.ProcWindow, []results.Sample) {
	w.mu.Lock()
	defer w.mu.Unlock()
	end := w.ended
	if end.IsZero() {
		end = time.Now()
	}
	pw := results.ProcWindow{Name: w.name, Duration: results.Duration(end.Sub(w.start)), CPUSeconds: w.cpu,
		RSSPeak: w.rssPeak, ProcsPeak: w.procs, Samples: w.n}
	if w.n > 0 {
		pw.RSSMean = int64(w.rssSum / float64(w.n))
	}
	if s := end.Sub(w.start).Seconds(); s > 0 {
		pw.CPUCorePercent = 100 * w.cpu / s
	}
	if w.m1.Total > 0 {
		pw.CPUMachinePercent = w.m1.BusyPercent(w.m0)
	}
	return pw, w.series
}
