package bench

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/camload/camload/results"
	"github.com/camload/camload/scenarios"
	"github.com/camload/camload/simulator"
	"github.com/camload/camload/system"
	"github.com/camload/camload/system/backends"
	"github.com/camload/camload/system/group"
)

// TestScaleouts checks the scaling figures: efficiency per repetition
// pair, medians, never clipped above 1, failed cells and plain cells left
// out.
func TestScaleouts(t *testing.T) {
	t.Parallel()
	cell := func(n, rep int, thr float64, status string) results.Cell {
		return results.Cell{Mode: "batched", Cameras: 1000, Repeat: rep, Status: status,
			Replicas: &results.Replicas{Count: n, Cycles: 3, Throughput: thr, PerReplica: thr / float64(n), CPUMachinePercent: 50}}
	}
	cells := []results.Cell{
		cell(1, 0, 100, results.StatusOK), cell(2, 0, 180, results.StatusOK), cell(3, 0, 330, results.StatusOK),
		cell(1, 1, 50, results.StatusOK), cell(2, 1, 100, results.StatusOK), cell(3, 1, 999, results.StatusFailed),
		{Mode: "batched", Cameras: 1000, Status: results.StatusOK}, // a plain cell: not a point
	}
	// Repetition 0 of 2 replicas: 10 s window, 2 × 4 CPU s, 1000 cameras.
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	r := cells[1].Replicas
	r.GOMAXPROCS, r.Processed, r.Window = 1, 1000, results.Span{Start: t0, End: t0.Add(10 * time.Second)}
	r.Members = []results.Replica{{CPUSeconds: 4}, {CPUSeconds: 4}}
	got := Scaleouts(cells)
	if len(got) != 1 || len(got[0].Points) != 3 {
		t.Fatalf("Scaleouts = %+v; want 1 entry of 3 points", got)
	}
	if p := got[0].Points[1]; math.Abs(p.CoreShare-0.4) > 1e-9 || math.Abs(p.CPUPerCamera-0.008) > 1e-9 {
		t.Errorf("2 replicas: core share %g, CPU per camera %g; want 0.4 (8 CPU s ÷ (10 s × 2 × 1)) and 0.008 (8 s ÷ 1000)", p.CoreShare, p.CPUPerCamera)
	}
	if p := got[0].Points[0]; p.CoreShare != 0 || p.CPUPerCamera != 0 {
		t.Errorf("1 replica without CPU readings: core share %g, CPU per camera %g; want 0, 0 (unknown)", p.CoreShare, p.CPUPerCamera)
	}
	want := []struct {
		n, reps int
		thr     float64
		eff     float64
	}{
		{1, 2, 75, 1},
		{2, 2, 140, (0.9 + 1.0) / 2}, // 180/(2·100) and 100/(2·50)
		{3, 1, 330, 1.1},             // 330/(3·100): above 1, kept
	}
	for i, w := range want {
		p := got[0].Points[i]
		if p.Replicas != w.n || p.N != w.reps || math.Abs(p.Throughput-w.thr) > 1e-9 || p.Efficiency == nil || math.Abs(*p.Efficiency-w.eff) > 1e-9 {
			eff := "nil"
			if p.Efficiency != nil {
				eff = fmt.Sprint(*p.Efficiency)
			}
			t.Errorf("point %d = {replicas %d, n %d, throughput %g, efficiency %s}; want {%d, %d, %g, %g}", i, p.Replicas, p.N, p.Throughput, eff, w.n, w.reps, w.thr, w.eff)
		}
	}
	if Scaleouts(cells[6:]) != nil {
		t.Errorf("Scaleouts(plain cells) != nil")
	}
}

// TestHostedMiniredisCarriesGroup runs two group replicas in this process
// against the miniredis the runner hosts, through its loopback URL, each
// with its own client: the probe passes, every camera of a cycle is
// processed once, a stopped coordinator's lease passes to the other, its
// pending jobs are taken over with XAUTOCLAIM, and keys expire on their
// TTL (hosted miniredis's clock advances), as a killed replica's lease
// must.
func TestHostedMiniredisCarriesGroup(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	rd, err := hostMiniredis()
	if err != nil {
		t.Fatal(err)
	}
	defer rd.stop()
	if err := probeStreams(ctx, rd.url); err != nil {
		t.Fatalf("probeStreams(hosted miniredis) = %v", err)
	}
	client := func() *redis.Client {
		o, err := redis.ParseURL(rd.url)
		if err != nil {
			t.Fatal(err)
		}
		c := redis.NewClient(o)
		t.Cleanup(func() { c.Close() })
		return c
	}
	opts := func(consumer string) group.Options {
		return group.Options{Name: "mini", Consumer: consumer, ClaimIdle: 200 * time.Millisecond, LeaseTTL: 300 * time.Millisecond, Block: 50 * time.Millisecond}
	}
	var mu sync.Mutex
	seen := map[string]int{}
	var victim atomic.Value // consumer name whose jobs block until it stops
	victim.Store("")
	var blocked atomic.Int32
	handler := func(me string) group.Handler {
		return func(ctx context.Context, j group.Job) error {
			if victim.Load() == me {
				blocked.Add(1)
				<-ctx.Done() // held until the replica is stopped
				return ctx.Err()
			}
			mu.Lock()
			seen[j.Camera]++
			mu.Unlock()
			return nil
		}
	}
	ra, err := group.New(client(), opts("a"), handler("a"))
	if err != nil {
		t.Fatal(err)
	}
	rb, err := group.New(client(), opts("b"), handler("b"))
	if err != nil {
		t.Fatal(err)
	}
	actx, astop := context.WithCancel(ctx)
	bctx, bstop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for _, r := range []struct {
		ctx context.Context
		r   *group.Replica
	}{{actx, ra}, {bctx, rb}} {
		wg.Add(1)
		go func() { defer wg.Done(); _ = r.r.Run(r.ctx) }()
	}
	defer func() { astop(); bstop(); wg.Wait() }()

	// The coordinator is the victim: it enqueues, holds the jobs it reads
	// and is stopped; the other must take the lease over (its TTL expires
	// on hosted miniredis's advancing clock) and claim the held jobs.
	var co, other *group.Replica
	stopCo := astop
	for co == nil {
		switch {
		case ra.IsCoordinator():
			co, other = ra, rb
		case rb.IsCoordinator():
			co, other, stopCo = rb, ra, bstop
		default:
			if !sleepCtx(ctx, 5*time.Millisecond) {
				t.Fatal("no coordinator")
			}
		}
	}
	victim.Store(co.Consumer())
	cams := make([]string, 20)
	for i := range cams {
		cams[i] = fmt.Sprintf("cam-%d", i)
	}
	id, err := co.Enqueue(ctx, cams)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		s, err := other.Summary(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if blocked.Load() > 0 && s.Acked+int(blocked.Load()) >= len(cams) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("cycle %s stuck before the coordinator was stopped: %+v, %d blocked", id, s, blocked.Load())
		}
		time.Sleep(10 * time.Millisecond)
	}
	stopCo()
	if err := other.WaitCoordinator(ctx); err != nil {
		t.Fatalf("the other replica never took the lease over: %v", err)
	}
	// A replica killed outright does not release its lease: it must
	// expire on its own, which on miniredis takes the hosted clock.
	c := client()
	if err := c.Set(ctx, "ttl-probe", "x", 300*time.Millisecond).Err(); err != nil {
		t.Fatal(err)
	}
	for n := 1; ; n++ {
		if c.Exists(ctx, "ttl-probe").Val() == 0 {
			break
		}
		if n > 500 {
			t.Fatal("a key set with PX 300 still exists after 5 s: hosted miniredis's clock does not advance")
		}
		time.Sleep(10 * time.Millisecond)
	}
	a := other
	s, err := a.Wait(ctx, id)
	if err != nil {
		t.Fatalf("Wait(%s) = %+v, %v", id, s, err)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, c := range cams {
		if seen[c] != 1 {
			t.Errorf("camera %s handled %d times; want 1", c, seen[c])
		}
	}
	if s.ProcessedTotal() != len(cams) || s.Reclaimed < 1 {
		t.Errorf("summary = %+v; want %d processed, ≥ 1 reclaimed", s, len(cams))
	}
}

// TestProbeStreamsRejects: a Redis without streams (here a server
// answering every command with an error) fails the probe naming the
// command, and startReplicaRedis turns it into a skip with the reason.
func TestProbeStreamsRejects(t *testing.T) {
	t.Parallel()
	url := noStreamsRedis(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	_, err := startReplicaRedis(ctx, url, url, "", t.TempDir(), time.Second)
	var skip *skipError
	if !errors.As(err, &skip) || !strings.Contains(err.Error(), "XGROUP CREATE") {
		t.Fatalf("startReplicaRedis(no streams) = %v; want a skip naming XGROUP CREATE", err)
	}
}

// TestRunSkipsReplicasWithoutStreams: a replicas cell on a Redis that
// cannot carry a group is recorded as skipped with the reason, and the
// run does not fail for it.
func TestRunSkipsReplicasWithoutStreams(t *testing.T) {
	t.Parallel()
	url := noStreamsRedis(t)
	sc := scenarios.Default.Clone()
	sc.Name, sc.File = "replicas-skip", "test"
	sc.Fleet.Cameras = []int{10}
	sc.System.Modes = []string{"batched"}
	sc.System.Replicas = []int{2}
	sc.Backends.Redis = url
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	run, err := Run(ctx, sc, Options{OutDir: t.TempDir(), SystemBinary: "/nonexistent/camload"})
	if err != nil {
		t.Fatalf("Run = %v; want no error (a skipped cell is not a failure)", err)
	}
	if len(run.Cells) != 1 || run.Cells[0].Status != results.StatusSkipped || !strings.Contains(run.Cells[0].Error, "cannot carry a group of replicas") {
		t.Fatalf("cells = %+v; want one skipped cell with the reason", run.Cells)
	}
}

// noStreamsRedis serves, on a loopback port until the test ends, a "Redis"
// that answers every command with an error, and returns its URL.
func noStreamsRedis(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		conns []net.Conn
	)
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	wg.Add(1)
	go func() { // owner: the test's cleanup, which closes l and the connections and waits
		defer wg.Done()
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, conn)
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer conn.Close()
				r := bufio.NewReader(conn)
				for {
					line, err := r.ReadString('\n')
					if err != nil {
						return
					}
					if strings.HasPrefix(line, "*") { // one answer per command
						if _, err := conn.Write([]byte("-ERR unknown command\r\n")); err != nil {
							return
						}
					}
				}
			}()
		}
	}()
	return "redis://" + l.Addr().String() + "/0"
}

// TestReplicaSIGKILLMidCycle runs two real `camload serve --group`
// replicas (GOMAXPROCS=1, on the Redis a replicas cell uses: redis-server
// when on PATH, else hosted miniredis) and SIGKILLs the one that is not
// the coordinator in the middle of a cycle: every camera of the cycle is
// still processed exactly once (its pending jobs claimed with XAUTOCLAIM),
// the cycle's summary counts the reclaimed jobs, and no process outlives
// the test.
func TestReplicaSIGKILLMidCycle(t *testing.T) {
	if testing.Short() {
		t.Skip("starts two camload serve processes")
	}
	bin := camloadBinary(t)
	for _, tc := range []struct{ name, server string }{
		{"redis-server", ""},         // on PATH, if there
		{"miniredis", NoRedisServer}, // hosted by the runner
	} {
		t.Run(tc.name, func(t *testing.T) { sigkillMidCycle(t, bin, tc.server) })
	}
}

func sigkillMidCycle(t *testing.T, bin, server string) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	be, err := backends.Start(ctx, backends.DefaultOptions)
	if err != nil {
		t.Fatal(err)
	}
	defer be.Close()
	dir := t.TempDir()
	rd, err := startReplicaRedis(ctx, backends.Embedded, be.RedisURL(), server, dir, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer rd.stop()
	t.Logf("redis: %s", rd.describe)
	if server == "" && !strings.HasPrefix(rd.describe, "redis-server") {
		t.Skip("no redis-server on PATH")
	}

	const cameras = 300
	cfg := simulator.DefaultConfig
	cfg.Cameras, cfg.Hosts, cfg.Listen = cameras, 10, "127.0.0.1:0"
	cfg.Latency.Median, cfg.Latency.P99 = 20*time.Millisecond, 60*time.Millisecond
	cfg.Faults = simulator.FaultConfig{OfflinePeriod: time.Minute, HangFor: time.Second, SlowDripRate: 16 << 10, OversizedBytes: 1 << 20}
	fleet, err := simulator.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := fleet.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer fleet.Close()
	db := dbName("sigkill", "r", time.Now())
	if err := prepareDB(ctx, be, db); err != nil {
		t.Fatal(err)
	}
	name := fmt.Sprintf("sigkill-%d", time.Now().UnixNano())
	set, err := startReplicaSet(ctx, replicaSpec{
		Bin: bin, N: 2, Env: []string{"GOMAXPROCS=1"}, Group: name, Redis: rd.url, Dir: dir,
		ReadyTimeout: time.Minute, Grace: 5 * time.Second,
		Args: []string{"serve", "--mode", "batched", "--fleet", fleet.ControlURL(),
			"--listen", "127.0.0.1:0", "--admin", "127.0.0.1:0", "--mongo-uri", be.MongoURI(), "--db", db,
			"--analyze-cost", "15ms", "--group-claim-idle", "1s", "--group-lease-ttl", "3s"},
	})
	if err != nil {
		t.Fatal(err)
	}
	pids := []int{set.members[0].Pid, set.members[1].Pid}
	defer set.stop()
	client := &http.Client{Timeout: 2 * time.Minute}
	if _, err := set.cycle(ctx, client); err != nil { // warm-up; finds the coordinator
		t.Fatal(err)
	}
	victim := set.members[1-set.coord]

	o, _ := redis.ParseURL(rd.url)
	rdb := redis.NewClient(o)
	defer rdb.Close()
	watch, err := group.New(rdb, group.Options{Name: name, Consumer: "test-watch"}, func(context.Context, group.Job) error { return nil })
	if err != nil {
		t.Fatal(err)
	}
	type answer struct {
		s   *system.GroupSummary
		err error
	}
	done := make(chan answer, 1)
	go func() { // owner: this test, which receives from done
		s, err := set.cycle(ctx, client)
		done <- answer{s, err}
	}()
	// Mid-cycle: once a fifth of the cameras are acknowledged and the
	// victim holds jobs, SIGKILL its process group.
	for {
		id, err := watch.Latest(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if id != "1" { // cycle 1 was the warm-up
			if s, err := watch.Summary(ctx, id); err == nil {
				p, perr := rdb.XPendingExt(ctx, &redis.XPendingExtArgs{Stream: "camload:{" + name + "}:jobs", Group: group.DefaultGroup, Start: "-", End: "+", Count: 1000}).Result()
				held := 0
				for _, e := range p {
					if strings.Contains(e.Consumer, fmt.Sprintf("-%d-", victim.Pid)) {
						held++
					}
				}
				if perr == nil && s.Acked >= cameras/5 && held > 0 {
					t.Logf("SIGKILL replica %d mid-cycle %s: %d of %d acknowledged, it holds %d", victim.Pid, id, s.Acked, s.Jobs, held)
					break
				}
				if s.Complete() {
					t.Fatalf("cycle %s completed before the victim could be killed: %+v", id, s)
				}
			}
		}
		select {
		case a := <-done:
			t.Fatalf("cycle ended before the kill: %+v, %v", a.s, a.err)
		case <-time.After(10 * time.Millisecond):
		}
	}
	if err := syscall.Kill(-victim.Pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	a := <-done
	if a.err != nil {
		t.Fatalf("cycle after the SIGKILL: %v", a.err)
	}
	s := a.s
	t.Logf("cycle %s: processed %d, per replica %v, reclaimed %d, duplicates %d", s.Group, s.Processed, s.Replicas, s.Reclaimed, s.Duplicates)
	if !s.Complete || s.Cameras != cameras || s.Processed != cameras {
		t.Errorf("summary: complete %t, %d cameras, %d processed; want complete, %d and %d (each camera once)", s.Complete, s.Cameras, s.Processed, cameras, cameras)
	}
	sum := 0
	for _, n := range s.Replicas {
		sum += n
	}
	if sum != cameras {
		t.Errorf("per-replica counts %v sum to %d; want %d", s.Replicas, sum, cameras)
	}
	if s.Reclaimed < 1 {
		t.Errorf("summary reclaimed = %d; want ≥ 1 (the killed replica's pending jobs)", s.Reclaimed)
	}
	if len(s.Errors) > 0 {
		t.Errorf("summary errors = %v; want none (no faults)", s.Errors)
	}

	// No process outlives its owner: the killed one is gone, and so is
	// every replica and the runner's redis-server once stopped.
	_ = set.stop() // the victim's "killed, not by the runner" is expected
	if err := rd.stop(); err != nil {
		t.Error(err)
	}
	for _, pid := range pids {
		if alive(pid) {
			t.Errorf("replica %d still alive after stop", pid)
		}
	}
	if strings.HasPrefix(rd.describe, "redis-server") {
		assertNoRedisServer(t, dir)
	}
}

// assertNoRedisServer fails when a redis-server started with --dir under
// dir is still running.
func assertNoRedisServer(t *testing.T, dir string) {
	t.Helper()
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue
		}
		cmd := strings.ReplaceAll(string(b), "\x00", " ")
		if strings.Contains(cmd, "redis-server") && strings.Contains(cmd, dir) {
			t.Errorf("redis-server still running: pid %s: %s", e.Name(), cmd)
		}
	}
}

// TestRunReplicaCells runs a scenario of 1 and 2 replicas through Run with
// the real camload: both cells ok, the scaleout figures written, every
// camera of every measured cycle processed, and no replica process left
// behind.
func TestRunReplicaCells(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end run of replica cells")
	}
	bin := camloadBinary(t)
	sc := scenarios.Default.Clone()
	sc.Name, sc.File = "replicas-e2e", "test"
	sc.Fleet.Cameras = []int{60}
	sc.Fleet.Config.Faults = simulator.FaultConfig{OfflinePeriod: time.Minute, HangFor: time.Second, SlowDripRate: 16 << 10, OversizedBytes: 1 << 20}
	sc.Fleet.Config.Latency.Median, sc.Fleet.Config.Latency.P99 = 10*time.Millisecond, 30*time.Millisecond
	sc.System.Modes = []string{"batched"}
	sc.System.Replicas = []int{1, 2}
	sc.System.GOMAXPROCS = 1
	sc.System.Warmup, sc.System.Cycles = 1, 2
	sc.Profiles = scenarios.Profiles{}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	dir := t.TempDir()
	run, err := Run(ctx, sc, Options{OutDir: dir, SystemBinary: bin, Version: "e2e"})
	if err != nil {
		t.Fatalf("Run = %v", err)
	}
	if len(run.Cells) != 2 {
		t.Fatalf("%d cells; want 2", len(run.Cells))
	}
	for _, c := range run.Cells {
		r := c.Replicas
		if c.Status != results.StatusOK || r == nil {
			t.Fatalf("cell %+v: want ok with replicas", c)
		}
		if r.Count != len(r.Members) || r.Processed != 60*sc.System.Cycles || r.Throughput <= 0 || r.GOMAXPROCS != 1 {
			t.Errorf("cell of %d replicas: %+v", r.Count, r)
		}
		for _, m := range r.Members {
			if alive(m.Pid) {
				t.Errorf("replica %d of the %d-replica cell still alive after the run", m.Pid, r.Count)
			}
		}
		if _, err := os.Stat(filepath.Join(dir, "cells", fmt.Sprintf("batched-60-x%d-r0", r.Count), "replica-1", "system.log")); err != nil {
			t.Errorf("replica log: %v", err)
		}
	}
	if len(run.Scaleout) != 1 || len(run.Scaleout[0].Points) != 2 || run.Scaleout[0].Points[1].Efficiency == nil {
		t.Errorf("scaleout = %+v; want one entry, 2 points, an efficiency for 2", run.Scaleout)
	}
	assertNoRedisServer(t, dir)
}
