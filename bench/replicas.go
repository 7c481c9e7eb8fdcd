package bench

// This file runs a cell as a group of system replicas (scenario key
// system.replicas): N `camload serve --group NAME` children, each with the
// scenario's GOMAXPROCS, share the cycles' cameras through a Redis Stream
// (system/group). MongoDB is the run's store (embedded FerretDB listens on
// a loopback port in the runner, so every replica reaches the same one);
// Redis is, in this order, backends.redis when it is a URL, a
// redis-server the runner starts on a free loopback port when one is found
// (Options.RedisServer, else PATH), or miniredis hosted by the runner on a
// loopback port. Whichever it is must pass probeStreams (streams, consumer
// groups, XAUTOCLAIM, Lua), else the cell is skipped with the reason.
//
// The cycles window: the coordinator (whichever replica holds the lease)
// runs each measured cycle (POST /api/v1/cycles answers its
// system.GroupSummary); throughput = cameras processed ÷ the sum of the
// coordinator's cycle durations. Every process started here is owned by
// the cell and stopped when it ends.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/camload/camload/internal/wait"
	"github.com/camload/camload/results"
	"github.com/camload/camload/scenarios"
	"github.com/camload/camload/system"
	"github.com/camload/camload/system/backends"
)

// NoRedisServer is the Options.RedisServer value that never starts a
// redis-server: the runner hosts miniredis instead.
const NoRedisServer = "-"

// skipError is a cell that cannot run on this machine; the cell is
// recorded as skipped with the reason.
type skipError struct{ reason string }

func (e *skipError) Error() string { return "skipped: " + e.reason }

// name is the cell's folder and database suffix: sync-100-r0, or
// batched-1000-x2-r0 for a cell of 2 replicas.
func (c *cellRun) name() string { return cellNameN(c.mode, c.cameras, c.replicas, c.rep) }

// cellNameN is cellName with the replica count (0: a plain cell).
func cellNameN(mode string, cameras, replicas, rep int) string {
	if replicas > 0 {
		return fmt.Sprintf("%s-%d-x%d-r%d", mode, cameras, replicas, rep)
	}
	return cellName(mode, cameras, rep)
}

// gomaxprocsEnv is the environment entry of the scenario's
// system.gomaxprocs, or nil for the Go default.
func gomaxprocsEnv(sc *scenarios.Scenario) []string {
	if sc.System.GOMAXPROCS > 0 {
		return []string{"GOMAXPROCS=" + strconv.Itoa(sc.System.GOMAXPROCS)}
	}
	return nil
}

// measureReplicas is measure for a cell of c.replicas replicas: fleet,
// Redis, replicas, warm-up, measured cycles, API load on the
// coordinator, stop.
func (c *cellRun) measureReplicas(ctx context.Context) (err error) {
	knobs := c.knobs
	fleet, cfg, err := c.startFleet(ctx, c.seed)
	if err != nil {
		return err
	}
	defer closeFleet(fleet, &err)

	c.prog.step(c, "starting Redis")
	rd, err := startReplicaRedis(ctx, c.sc.Backends.Redis, c.be.RedisURL(), c.opts.RedisServer, c.dir, c.opts.StopGrace)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, rd.stop()) }()

	db, drop, err := c.prepareCellDB(ctx)
	if err != nil {
		return err
	}
	defer drop() // registered before the replicas' stop, so it runs after it
	spec := replicaSpec{
		Bin: c.opts.SystemBinary, Args: c.serveArgs(fleet.ControlURL(), db), N: c.replicas, Env: gomaxprocsEnv(c.sc),
		Group: "cl-" + unsafeName.ReplaceAllString(c.name(), "-") + "-" + strconv.FormatInt(time.Now().UnixNano()&0xffffff, 16),
		Redis: rd.url, Dir: c.dir, ReadyTimeout: c.sc.System.ReadyTimeout, Grace: c.opts.StopGrace,
	}
	c.prog.step(c, fmt.Sprintf("starting %d replicas", c.replicas))
	set, err := startReplicaSet(ctx, spec)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, set.stop()) }()
	rep := &results.Replicas{Count: c.replicas, GOMAXPROCS: c.sc.System.GOMAXPROCS, Group: spec.Group, Redis: rd.describe}
	c.cell.Replicas = rep

	client := &http.Client{Timeout: c.sc.System.CycleTimeout}
	if err := c.warmUpCycles(func(int, bool) error {
		_, err := set.cycle(ctx, client)
		return err
	}); err != nil {
		return err
	}

	// The cycles window.
	before := fleet.Faults()
	redis0, redisOK := readTree(rd.pid)
	wins := make([]*window, len(set.members))
	for i, m := range set.members {
		wins[i] = startWindow(ctx, m.Pid, "", c.opts.SampleEvery)
	}
	cyc := newCycleStats()
	byConsumer := map[string]int{}
	winStart := time.Now()
	var seconds float64
	for i := 0; i < c.sc.System.Cycles; i++ {
		c.prog.step(c, fmt.Sprintf("cycle %d/%d", i+1, c.sc.System.Cycles))
		s, err := set.cycle(ctx, client)
		if err != nil {
			c.cell.Cycles = cyc.summary()
			return fmt.Errorf("cycle %d: %w", i+1, err)
		}
		cyc.add(&s.CycleSummary)
		seconds += s.Duration.Seconds()
		rep.Processed += s.Processed
		rep.Reclaimed += s.Reclaimed
		rep.Duplicates += s.Duplicates
		if !s.Complete {
			rep.Incomplete++
		}
		for k, n := range s.Replicas {
			byConsumer[k] += n
		}
	}
	winEnd := time.Now()
	if redis1, ok := readTree(rd.pid); ok && redisOK && rd.pid > 0 {
		rep.CPUSecondsRedis = max(redis1.CPUSeconds-redis0.CPUSeconds, 0)
	}
	rep.Window = results.Span{Start: winStart.UTC(), End: winEnd.UTC()}
	rep.Cycles, rep.CycleSeconds = c.sc.System.Cycles, seconds
	if seconds > 0 {
		rep.Throughput = float64(rep.Processed) / seconds
		rep.PerReplica = rep.Throughput / float64(c.replicas)
	}
	// The cell's cycles window is the group's: the CPU of every replica
	// summed, the resident-set peak of the largest replica.
	var group results.Window
	for i, m := range set.members {
		w, _ := wins[i].stop(context.WithoutCancel(ctx))
		if i == 0 {
			rep.CPUMachinePercent, rep.CPUSecondsRunner = w.CPUMachinePercent, w.CPUSecondsRunner
			group = w
		} else {
			group.CPUSecondsSystem += w.CPUSecondsSystem
			group.RSSPeak = max(group.RSSPeak, w.RSSPeak)
		}
		cpu := -1.0 // unknown unless the process tree was read at both ends
		if wins[i].sysOK && alive(m.Pid) {
			cpu = w.CPUSecondsSystem
		}
		r := results.Replica{Pid: m.Pid, CPUSeconds: cpu, Coordinator: i == set.coord}
		r.Consumer, r.Processed = consumerOf(byConsumer, m.Pid)
		rep.Members = append(rep.Members, r)
	}
	c.cell.Windows.Cycles = &group
	c.cell.Cycles = cyc.summary()
	c.cell.Faults = faultDelta(before, fleet.Faults())
	drip := slowDrip(frameSizes(fleet), cfg.Faults.SlowDripRate, knobs.FetchTimeout)
	if knobs.AdaptiveDeadline && drip != dripNone {
		drip = dripEither
	}
	c.cell.Cycles.Reconciled, c.cell.Cycles.Mismatch = reconcile(c.cell.Cycles.Errors, c.cell.Faults, c.cell.Cycles.Retries, drip)

	if len(c.sc.Load) > 0 {
		cams := fleet.Cameras()
		api := set.members[set.coord].API
		c.cell.API = map[string]results.Endpoint{}
		for ti, t := range c.sc.Load {
			c.prog.step(c, "load "+t.Name)
			ep, err := c.attack(ctx, api, t, ti, cams)
			if err != nil {
				return err
			}
			c.cell.API[t.Name] = ep
		}
	}
	return nil
}

// consumerOf finds the consumer name of the replica with pid among the
// group's consumers (the default name is "<host>-<pid>-<hex>") and its
// count.
func consumerOf(byConsumer map[string]int, pid int) (string, int) {
	mark := "-" + strconv.Itoa(pid) + "-"
	for k, n := range byConsumer {
		if strings.Contains(k, mark) {
			return k, n
		}
	}
	return "", 0
}

// replicaSpec describes a group of replicas to start.
type replicaSpec struct {
	Bin   string
	Args  []string // serve flags without --group and --redis-url
	N     int
	Env   []string // extra environment of every replica (GOMAXPROCS)
	Group string
	Redis string // redis:// URL
	// Dir holds each replica's folder replica-<i>/ (ready file,
	// system.log).
	Dir          string
	ReadyTimeout time.Duration
	Grace        time.Duration
}

// replicaSet is a running group of replicas. coord is the index of the
// member that answered the last cycle. Not safe for concurrent use, except
// stop, which may be called more than once.
type replicaSet struct {
	members []*child
	coord   int
	timeout time.Duration
}

// startReplicaSet starts spec.N replicas one after the other, each until
// ready (registry loaded). On error every one started is stopped.
func startReplicaSet(ctx context.Context, spec replicaSpec) (*replicaSet, error) {
	s := &replicaSet{timeout: spec.ReadyTimeout}
	for i := 1; i <= spec.N; i++ {
		dir := filepath.Join(spec.Dir, "replica-"+strconv.Itoa(i))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, errors.Join(err, s.stop())
		}
		args := append(append([]string(nil), spec.Args...), "--group", spec.Group, "--redis-url", spec.Redis)
		m, err := startChildEnv(ctx, spec.Bin, args, spec.Env, dir, filepath.Join(dir, "system.log"), spec.ReadyTimeout, spec.Grace)
		if err != nil {
			return nil, errors.Join(fmt.Errorf("replica %d of %d: %w", i, spec.N, err), s.stop())
		}
		s.members = append(s.members, m)
	}
	return s, nil
}

// stop stops every member (SIGTERM, SIGKILL after the grace period, in
// parallel) and returns how each ended when that was not as asked.
func (s *replicaSet) stop() error {
	if s == nil {
		return nil
	}
	errs := make([]error, len(s.members))
	var wg sync.WaitGroup
	for i, m := range s.members {
		wg.Add(1)
		go func() { // owner: stop, which waits
			defer wg.Done()
			if err := m.stop(); err != nil {
				errs[i] = fmt.Errorf("replica %d: %w", i+1, err)
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// errNotCoordinator is a 409 of POST /api/v1/cycles: the replica does not
// hold the lease.
var errNotCoordinator = errors.New("not the coordinator")

// cycle runs one group cycle on the coordinator: it posts to the member
// that answered last and, while members answer 409 (not the coordinator,
// or no lease holder yet), to the next, for at most the ready timeout.
func (s *replicaSet) cycle(ctx context.Context, client *http.Client) (*system.GroupSummary, error) {
	deadline := time.Now().Add(s.timeout)
	var last error
	for tries := 0; ; tries++ {
		i := (s.coord + tries) % len(s.members)
		sum, err := postGroupCycle(ctx, client, s.members[i].API)
		if err == nil {
			s.coord = i
			return sum, nil
		}
		if !errors.Is(err, errNotCoordinator) {
			return nil, fmt.Errorf("replica %d: %w", i+1, err)
		}
		last = err
		if (tries+1)%len(s.members) == 0 { // a round without a coordinator
			if time.Now().After(deadline) {
				return nil, fmt.Errorf("no replica became the coordinator in %s: %w", s.timeout, last)
			}
			if !sleepCtx(ctx, 50*time.Millisecond) {
				return nil, ctx.Err()
			}
		}
	}
}

// sleepCtx waits d or until ctx is done; it returns false when ctx is
// done. (replicas_test.go waits with it too.)
func sleepCtx(ctx context.Context, d time.Duration) bool { return wait.Sleep(ctx, d) }

// postGroupCycle posts one cycle to a replica's API.
func postGroupCycle(ctx context.Context, client *http.Client, api string) (*system.GroupSummary, error) {
	resp, b, err := postRead(ctx, client, api+"/api/v1/cycles")
	if err != nil {
		return nil, err
	}
	switch resp.StatusCode {
	case http.StatusOK:
	case http.StatusConflict:
		return nil, fmt.Errorf("%w: %s", errNotCoordinator, bytes.TrimSpace(b[:min(len(b), 300)]))
	default:
		return nil, fmt.Errorf("POST /api/v1/cycles: %s: %s", resp.Status, bytes.TrimSpace(b[:min(len(b), 300)]))
	}
	var s system.GroupSummary
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("POST /api/v1/cycles: decoding the group summary: %w", err)
	}
	if s.Group == "" {
		return nil, errors.New("POST /api/v1/cycles: the answer is not a group cycle's summary (is the system a --group replica?)")
	}
	return &s, nil
}

// replicaRedis is the Redis of a replicas cell; stop ends what the runner
// started for it (nothing for a given URL).
type replicaRedis struct {
	url      string
	describe string
	pid      int // of the redis-server the runner started, else 0
	stop     func() error
}

// startReplicaRedis picks the Redis of a replicas cell: the scenario's
// backends.redis when it is a URL (url, as the run's backends resolved
// it), else a redis-server started on a free loopback port (server: its
// path, "" to look it up on PATH, NoRedisServer for none), else miniredis
// hosted on a loopback port. The Redis must pass probeStreams; otherwise
// the error is a *skipError with the reason.
func startReplicaRedis(ctx context.Context, scenarioRedis, url, server, dir string, grace time.Duration) (*replicaRedis, error) {
	var rd *replicaRedis
	switch {
	case scenarioRedis != "" && scenarioRedis != backends.Embedded:
		rd = &replicaRedis{url: url, describe: backends.Redact(url) + " (backends.redis)", stop: func() error { return nil }}
	default:
		if server == "" {
			server, _ = exec.LookPath("redis-server")
		}
		var err error
		if server != "" && server != NoRedisServer {
			rd, err = startRedisServer(ctx, server, filepath.Join(dir, "redis"), grace)
		} else {
			rd, err = hostMiniredis()
		}
		if err != nil {
			return nil, err
		}
	}
	if err := probeStreams(ctx, rd.url); err != nil {
		return nil, errors.Join(&skipError{fmt.Sprintf("%s cannot carry a group of replicas: %v", rd.describe, err)}, rd.stop())
	}
	return rd, nil
}

// probeStreams checks that the Redis at url does what system/group needs:
// a consumer group on a stream, XREADGROUP, XAUTOCLAIM, XACK, XTRIM MINID,
// SET NX PX and Lua scripts. It leaves no key behind.
func probeStreams(ctx context.Context, url string) error {
	o, err := redis.ParseURL(url)
	if err != nil {
		return err
	}
	rdb := redis.NewClient(o)
	defer rdb.Close()
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	key := fmt.Sprintf("camload:{probe-%d}:jobs", time.Now().UnixNano())
	lease := key + ":lease"
	defer rdb.Del(context.WithoutCancel(ctx), key, lease)
	steps := []struct {
		what string
		run  func() error
	}{
		{"XGROUP CREATE MKSTREAM", func() error { return rdb.XGroupCreateMkStream(ctx, key, "g", "0").Err() }},
		{"XADD", func() error {
			return rdb.XAdd(ctx, &redis.XAddArgs{Stream: key, Values: []string{"cycle", "1", "camera", "c"}}).Err()
		}},
		{"XREADGROUP", func() error {
			res, err := rdb.XReadGroup(ctx, &redis.XReadGroupArgs{Group: "g", Consumer: "a", Streams: []string{key, ">"}, Count: 1, Block: -1}).Result()
			if err == nil && (len(res) != 1 || len(res[0].Messages) != 1) {
				err = fmt.Errorf("read %d streams, want the 1 job", len(res))
			}
			return err
		}},
		{"XAUTOCLAIM", func() error {
			msgs, _, err := rdb.XAutoClaim(ctx, &redis.XAutoClaimArgs{Stream: key, Group: "g", Consumer: "b", MinIdle: 0, Start: "0-0", Count: 1}).Result()
			if err == nil && len(msgs) != 1 {
				err = fmt.Errorf("claimed %d jobs, want the 1 pending", len(msgs))
			}
			return err
		}},
		{"XACK", func() error {
			p, err := rdb.XPending(ctx, key, "g").Result()
			if err != nil {
				return err
			}
			if p.Count != 1 {
				return fmt.Errorf("%d jobs pending, want 1", p.Count)
			}
			return rdb.XAck(ctx, key, "g", p.Lower).Err()
		}},
		{"XTRIM MINID", func() error { return rdb.XTrimMinID(ctx, key, "0-1").Err() }},
		{"SET NX PX", func() error { return rdb.SetNX(ctx, lease, "a", time.Minute).Err() }},
		{"EVAL", func() error {
			return redis.NewScript(`return redis.call('GET', KEYS[1])`).Run(ctx, rdb, []string{lease}).Err()
		}},
	}
	for _, s := range steps {
		if err := s.run(); err != nil {
			return fmt.Errorf("%s: %w", s.what, err)
		}
	}
	return nil
}

// freeLoopbackPort returns a TCP port free on 127.0.0.1 at the time of the
// call.
func freeLoopbackPort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// startRedisServer starts the redis-server at path on a free loopback port
// (no persistence, its files in dir), in its own process group, killed if
// the runner dies, and waits until it answers PING.
func startRedisServer(ctx context.Context, path, dir string, grace time.Duration) (*replicaRedis, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("bench: redis-server: %w", err)
	}
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ { // the free port may be taken meanwhile
		port, err := freeLoopbackPort()
		if err != nil {
			return nil, fmt.Errorf("bench: redis-server: %w", err)
		}
		p, err := startOwned(path, []string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1",
			"--save", "", "--appendonly", "no", "--dir", dir, "--protected-mode", "yes"}, filepath.Join(dir, "redis.log"), grace)
		if err != nil {
			return nil, fmt.Errorf("bench: starting redis-server %s: %w", path, err)
		}
		url := fmt.Sprintf("redis://127.0.0.1:%d/0", port)
		if err := waitPing(ctx, url, p.done, 10*time.Second); err != nil {
			lastErr = errors.Join(fmt.Errorf("bench: redis-server on port %d: %w", port, err), p.stop())
			if ctx.Err() != nil {
				return nil, lastErr
			}
			continue
		}
		version := "redis-server"
		if out, err := exec.CommandContext(ctx, path, "--version").Output(); err == nil {
			if f := strings.Fields(string(out)); len(f) >= 3 {
				version += " " + strings.TrimPrefix(f[2], "v=")
			}
		}
		return &replicaRedis{url: url, describe: version + " (started by the runner on 127.0.0.1:" + strconv.Itoa(port) + ")", pid: p.pid, stop: p.stop}, nil
	}
	return nil, lastErr
}

// waitPing waits until the Redis at url answers PING, died closes, or
// timeout passes.
func waitPing(ctx context.Context, url string, died <-chan struct{}, timeout time.Duration) error {
	o, err := redis.ParseURL(url)
	if err != nil {
		return err
	}
	rdb := redis.NewClient(o)
	defer rdb.Close()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		pctx, pcancel := context.WithTimeout(ctx, time.Second)
		err := rdb.Ping(pctx).Err()
		pcancel()
		if err == nil {
			return nil
		}
		select {
		case <-died:
			return errors.New("exited before answering PING")
		case <-ctx.Done():
			return fmt.Errorf("no PING answer after %s: %w", timeout, err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// owned is a helper process of the runner (redis-server) in its own
// process group, SIGKILLed by the kernel if the runner dies (Pdeathsig,
// on a locked thread as in startChild).
type owned struct {
	pid   int
	grace time.Duration
	done  chan struct{}
	log   *os.File
	once  sync.Once
}

func startOwned(path string, args []string, logPath string, grace time.Duration) (*owned, error) {
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(path, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	p := &owned{grace: grace, done: make(chan struct{}), log: logf}
	started := make(chan error, 1)
	go func() { // owner: p; ends when the process has been waited for
		runtime.LockOSThread() // never unlocked: the thread ends with the process
		if err := cmd.Start(); err != nil {
			started <- err
			close(p.done)
			return
		}
		started <- nil
		_ = cmd.Wait()
		close(p.done)
	}()
	if err := <-started; err != nil {
		logf.Close()
		return nil, err
	}
	p.pid = cmd.Process.Pid
	return p, nil
}

// stop ends the process group: SIGTERM, SIGKILL after the grace period.
// Safe to call more than once.
func (p *owned) stop() error {
	p.once.Do(func() {
		stopGroup(p.pid, p.done, p.grace, nil)
		p.log.Close()
	})
	return nil
}

// miniredisTick is how often hosted miniredis's clock is advanced.
const miniredisTick = 20 * time.Millisecond

// hostMiniredis runs miniredis on a free loopback port. miniredis expires
// keys only when its clock is advanced (FastForward); a goroutine owned by
// the returned stop advances it by the real time passed every
// miniredisTick, so that the group's lease (SET NX PX) and the cycles'
// retention expire as on a real Redis. XAUTOCLAIM's idle times are
// miniredis's wall clock already.
func hostMiniredis() (*replicaRedis, error) {
	m := miniredis.NewMiniRedis()
	if err := m.StartAddr("127.0.0.1:0"); err != nil {
		return nil, fmt.Errorf("bench: hosting miniredis: %w", err)
	}
	quit, done := make(chan struct{}), make(chan struct{})
	go func() { // owner: stop below
		defer close(done)
		t := time.NewTicker(miniredisTick)
		defer t.Stop()
		last := time.Now()
		for {
			select {
			case <-quit:
				return
			case now := <-t.C:
				m.FastForward(now.Sub(last))
				last = now
			}
		}
	}()
	var once sync.Once
	stop := func() error {
		once.Do(func() {
			close(quit)
			<-done
			m.Close()
		})
		return nil
	}
	return &replicaRedis{url: "redis://" + m.Addr() + "/0", describe: "miniredis " + backends.MiniredisVersion + " (hosted by the runner on " + m.Addr() + ")", stop: stop}, nil
}

// Scaleouts computes the scaling of the replica cells of cells, one entry
// per (mode, cameras) in order of first appearance, points by replica
// count: throughput(n) and efficiency throughput(n) ÷ (n ×
// throughput(1)) per repetition (repetition r of n replicas paired with
// repetition r of one), medians over repetitions, never clipped. nil
// without replica cells.
func Scaleouts(cells []results.Cell) []results.Scaleout {
	type key struct {
		mode    string
		cameras int
	}
	var order []key
	byKey := map[key]map[int]map[int]*results.Replicas{} // → replicas → repetition
	for i := range cells {
		c := &cells[i]
		if c.Replicas == nil || (c.Status != results.StatusOK && c.Status != "") || c.Replicas.Throughput <= 0 {
			continue
		}
		k := key{c.Mode, c.Cameras}
		if byKey[k] == nil {
			byKey[k] = map[int]map[int]*results.Replicas{}
			order = append(order, k)
		}
		if byKey[k][c.Replicas.Count] == nil {
			byKey[k][c.Replicas.Count] = map[int]*results.Replicas{}
		}
		byKey[k][c.Replicas.Count][c.Repeat] = c.Replicas
	}
	var out []results.Scaleout
	for _, k := range order {
		so := results.Scaleout{Mode: k.mode, Cameras: k.cameras,
			Window: "measured cycles: cameras processed ÷ the sum of the coordinator's cycle durations (enqueue → last acknowledgement)"}
		counts := make([]int, 0, len(byKey[k]))
		for n := range byKey[k] {
			counts = append(counts, n)
		}
		sort.Ints(counts)
		base := byKey[k][1]
		for _, n := range counts {
			reps := byKey[k][n]
			var thr, per, mach, eff, cpu, share, support []float64
			p := results.ScalePoint{Replicas: n}
			for r, x := range reps {
				thr = append(thr, x.Throughput)
				per = append(per, x.PerReplica)
				mach = append(mach, x.CPUMachinePercent)
				if v, ok := cpuPerCamera(x); ok {
					cpu = append(cpu, v)
				}
				if v, ok := coreShare(x); ok {
					share = append(share, v)
				}
				if win := x.Window.End.Sub(x.Window.Start).Seconds(); win > 0 {
					support = append(support, (x.CPUSecondsRunner+x.CPUSecondsRedis)/win)
				}
				p.Cycles += x.Cycles
				if b, ok := base[r]; ok && b.Throughput > 0 {
					eff = append(eff, x.Throughput/(float64(n)*b.Throughput))
				}
			}
			p.N = len(thr)
			p.Throughput, p.ThroughputCI = medianCI(thr)
			p.PerReplica = results.Median(per)
			p.CPUMachinePercent = results.Median(mach)
			if len(cpu) > 0 {
				p.CPUPerCamera = results.Median(cpu)
			}
			if len(share) > 0 {
				p.CoreShare = results.Median(share)
			}
			if len(support) > 0 {
				p.SupportCores = results.Median(support)
			}
			if len(eff) > 0 {
				e, ci := medianCI(eff)
				p.Efficiency, p.EfficiencyN, p.EfficiencyCI = &e, len(eff), ci
			}
			so.Points = append(so.Points, p)
		}
		out = append(out, so)
	}
	return out
}

// cpuPerCamera is the replicas' CPU seconds over the window ÷ the cameras
// processed; ok is false when a replica's CPU is unknown.
func cpuPerCamera(x *results.Replicas) (float64, bool) {
	var sum float64
	for _, m := range x.Members {
		if m.CPUSeconds < 0 {
			return 0, false
		}
		sum += m.CPUSeconds
	}
	if x.Processed == 0 || len(x.Members) == 0 {
		return 0, false
	}
	return sum / float64(x.Processed), true
}

// coreShare is the replicas' CPU seconds over the window ÷ (the window ×
// Count × GOMAXPROCS); ok is false without a GOMAXPROCS or a CPU reading.
func coreShare(x *results.Replicas) (float64, bool) {
	win := x.Window.End.Sub(x.Window.Start).Seconds()
	if x.GOMAXPROCS <= 0 || win <= 0 || x.Count == 0 {
		return 0, false
	}
	var sum float64
	for _, m := range x.Members {
		if m.CPUSeconds < 0 {
			return 0, false
		}
		sum += m.CPUSeconds
	}
	return sum / (win * float64(x.Count*x.GOMAXPROCS)), true
}

// medianCI is the median of vs and, from 5 values on, the percentile
// bootstrap 95% interval of it (seeded by the count, as ci95).
func medianCI(vs []float64) (float64, *[2]float64) {
	m := results.Median(vs)
	if len(vs) < ciMinN {
		return m, nil
	}
	s := append([]float64(nil), vs...)
	sort.Float64s(s)
	lo, hi, _, _ := bootstrap(s, bootstrapResamples, uint64(len(s)))
	return m, &[2]float64{lo, hi}
}
