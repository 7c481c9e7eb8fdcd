package system_test

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/camload/camload/system"
	"github.com/camload/camload/system/backends"
	"github.com/camload/camload/system/cache"
)

// redisServer is a real redis-server process on a loopback port, without
// persistence, stopped by the test's cleanup.
type redisServer struct {
	bin, addr string
	cmd       *exec.Cmd
	done      chan struct{}
}

// freePort returns a loopback port that was free a moment ago.
func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func startRedisServer(t *testing.T, bin, addr string) *redisServer {
	t.Helper()
	_, port, _ := net.SplitHostPort(addr)
	r := &redisServer{bin: bin, addr: addr, done: make(chan struct{})}
	r.cmd = exec.Command(bin, "--bind", "127.0.0.1", "--port", port, "--save", "", "--appendonly", "no", "--protected-mode", "yes")
	r.cmd.Stdout, r.cmd.Stderr = nil, nil
	if err := r.cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", bin, err)
	}
	go func() { _ = r.cmd.Wait(); close(r.done) }() // owner: r; ends with the process
	t.Cleanup(r.stop)
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	defer rdb.Close()
	deadline := time.Now().Add(10 * time.Second)
	for rdb.Ping(context.Background()).Err() != nil {
		select {
		case <-r.done:
			t.Fatalf("redis-server on %s exited at start", addr)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("redis-server on %s not answering PING within 10s", addr)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return r
}

// stop ends the server (SIGTERM, SIGKILL after 5s) and waits for it.
func (r *redisServer) stop() {
	select {
	case <-r.done:
		return
	default:
	}
	_ = r.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-r.done:
	case <-time.After(5 * time.Second):
		_ = r.cmd.Process.Kill()
		<-r.done
	}
}

// TestRedisServerRestart: a real redis-server stopped mid-run and
// restarted on the same port. While it is down the API answers every read
// (from L1 or the store), cycles store every observation and the failed
// cache operations are counted as L2 errors; once it is back the cache
// uses it again. The miniredis variant is TestRedisOutage.
func TestRedisServerRestart(t *testing.T) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Skip("redis-server not on PATH (TestRedisOutage covers miniredis)")
	}
	t.Parallel()
	const cams = 20
	addr := freePort(t)
	rs := startRedisServer(t, bin, addr)
	reg := prometheus.NewRegistry()
	rdb, err := cache.NewRedis("redis://" + addr + "/0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rdb.Close() })
	c, err := cache.New(rdb, reg, outageCacheOptions())
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, envOpts{fleet: quietFleet(cams, 2), mode: system.ModeBatched,
		options: []system.Option{system.WithCache(cache.Layer{C: c})}})
	l2 := l2Counter(t, reg)
	if s := e.cycle(t); s.Processed != cams {
		t.Fatalf("cycle 1: processed %d, errors %v", s.Processed, s.Errors)
	}
	if n, err := rdb.DBSize(testCtx(t, 5*time.Second)).Result(); err != nil || n < cams {
		t.Fatalf("after a cycle redis-server holds %d keys (%v); want ≥ %d", n, err, cams)
	}

	rs.stop()
	errsBefore := l2("error")
	url := e.api.URL + "/api/v1/cameras/cam-00002/latest"
	for i := range 10 {
		if code := getJSON(t, url, nil); code != 200 {
			t.Fatalf("read %d with redis-server stopped: status %d", i, code)
		}
		time.Sleep(20 * time.Millisecond) // past L1's TTL now and then
	}
	e.clock.Advance(time.Hour) // every frame new
	if s := e.cycle(t); s.Processed != cams || errorTotal(s.Errors) != 0 {
		t.Fatalf("cycle with redis-server stopped: processed %d, errors %v; want %d, none", s.Processed, s.Errors, cams)
	}
	if n := e.observations(t); n != 2*cams {
		t.Fatalf("with redis-server stopped the store holds %d observations; want %d (none lost)", n, 2*cams)
	}
	downErrs := l2("error") - errsBefore
	if downErrs == 0 {
		t.Fatal("no L2 errors counted while redis-server was stopped")
	}

	startRedisServer(t, bin, addr)
	hitsBefore := l2("hit")
	deadline := time.Now().Add(15 * time.Second)
	for l2("hit") == hitsBefore {
		if time.Now().After(deadline) {
			t.Fatalf("no L2 hit within 15s of redis-server coming back (L2 errors %v)", l2("error"))
		}
		if code := getJSON(t, url, nil); code != 200 {
			t.Fatalf("read after redis-server came back: status %d", code)
		}
		time.Sleep(60 * time.Millisecond) // let L1 expire so L2 is asked
	}
	e.clock.Advance(time.Hour)
	if s := e.cycle(t); s.Processed != cams {
		t.Fatalf("cycle after the restart: processed %d, errors %v", s.Processed, s.Errors)
	}
	if n, err := rdb.DBSize(testCtx(t, 5*time.Second)).Result(); err != nil || n < cams {
		t.Errorf("after a cycle on the restarted redis-server it holds %d keys (%v); want ≥ %d", n, err, cams)
	}
	t.Logf("redis-server stopped and restarted: %v L2 errors counted while down, %d observations stored through the outage, none lost", downErrs, 2*cams)
}

// TestFerretDBRestart: embedded FerretDB stopped mid-run and started again
// on the same data (SQLite directory; PostgreSQL when
// CAMLOAD_TEST_POSTGRES_URL is set). Observations of the cycle run while
// it is down are buffered and all stored once it is back; none is
// dropped.
func TestFerretDBRestart(t *testing.T) {
	cases := []struct{ name, pg string }{{"sqlite", ""}}
	if pg := os.Getenv("CAMLOAD_TEST_POSTGRES_URL"); pg != "" {
		cases = append(cases, struct{ name, pg string }{"postgresql", pg})
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			testFerretDBRestart(t, tc.pg)
		})
	}
}

func testFerretDBRestart(t *testing.T, pg string) {
	const cams = 30
	dir := filepath.Join(t.TempDir(), "ferretdb")
	start := func() *backends.Backends {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		opts := backends.Options{Mongo: backends.Embedded, Dir: dir, FerretDBPostgres: pg}
		if pg != "" {
			opts.Dir = ""
		}
		b, err := backends.Start(ctx, opts)
		if err != nil {
			t.Fatalf("starting FerretDB: %v", err)
		}
		return b
	}
	hostOf := func(b *backends.Backends) string {
		h := strings.TrimPrefix(b.MongoURI(), "mongodb://")
		if i := strings.IndexAny(h, "/?"); i >= 0 {
			h = h[:i]
		}
		return h
	}
	b1 := start()
	closed := false
	t.Cleanup(func() {
		if !closed {
			_ = b1.Close()
		}
	})
	px := newProxy(t, hostOf(b1))
	reg := prometheus.NewRegistry()
	e, buf := bufferedEnv(t, cams, px.addr, reg)
	if s := e.cycle(t); s.Processed != cams {
		t.Fatalf("cycle 1: processed %d, errors %v", s.Processed, s.Errors)
	}

	// Stop FerretDB itself (not only the path to it).
	px.cut()
	if err := b1.Close(); err != nil {
		t.Fatalf("stopping FerretDB: %v", err)
	}
	closed = true
	px.restore(t) // the proxy accepts, the upstream refuses
	e.clock.Advance(time.Hour)
	s := e.cycle(t)
	if s.Processed != cams || errorTotal(s.Errors) != 0 {
		t.Fatalf("cycle with FerretDB stopped: processed %d, errors %v; want %d buffered, no errors", s.Processed, s.Errors, cams)
	}
	if n := buf.Pending(); n != cams {
		t.Fatalf("with FerretDB stopped %d observations pending; want %d", n, cams)
	}

	b2 := start()
	t.Cleanup(func() { _ = b2.Close() })
	px.cut()
	px.upstream = hostOf(b2) // the proxy's goroutines have stopped
	px.restore(t)
	// Cycle 1 kept on disk, cycle 2 delivered from the buffer.
	checkDelivered(t, e, buf, reg, "FerretDB restarted", 2*cams, s.Cycle)
	t.Logf("FerretDB (%s) stopped and restarted: %d buffered, all delivered, 0 dropped", map[bool]string{true: "postgresql", false: "sqlite"}[pg != ""], cams)
}
