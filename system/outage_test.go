package system_test

import (
	"context"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/camload/camload/system"
	"github.com/camload/camload/system/cache"
	"github.com/camload/camload/system/store"
)

// withCache starts a miniredis and a cache on it for the test.
func withCache(t testing.TB, reg prometheus.Registerer, opts cache.Options) (*miniredis.Miniredis, *cache.Cache) {
	t.Helper()
	mr := miniredis.NewMiniRedis()
	if err := mr.StartAddr("127.0.0.1:0"); err != nil {
		t.Fatalf("miniredis: %v", err)
	}
	t.Cleanup(mr.Close)
	rdb, err := cache.NewRedis("redis://" + mr.Addr() + "/0")
	if err != nil {
		t.Fatalf("NewRedis: %v", err)
	}
	t.Cleanup(func() { _ = rdb.Close() })
	c, err := cache.New(rdb, reg, opts)
	if err != nil {
		t.Fatalf("cache.New: %v", err)
	}
	return mr, c
}

// metric returns the value of the counter or gauge name with labels from g.
func metric(t *testing.T, g prometheus.Gatherer, name string, labels map[string]string) float64 {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatalf("Gather: %v", err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if v, ok := labels[lp.GetName()]; ok && v != lp.GetValue() {
					continue next
				}
			}
			return value(m)
		}
	}
	return 0
}

func value(m *dto.Metric) float64 {
	switch {
	case m.Counter != nil:
		return m.Counter.GetValue()
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	}
	return 0
}

// TestCacheHitsAndMisses: API reads go through L1 and L2 and the store is
// read once per cold key, however many readers ask at once.
func TestCacheHitsAndMisses(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	opts := cache.DefaultOptions
	opts.L1TTL = time.Hour
	// The accounting, not Redis timeouts, is under test: under -race on a
	// busy machine a 100 ms call can time out, the cache then skips L2
	// for its back-off, and a cycle's writes go missing (CI failure:
	// 14 keys of 20).
	opts.L2Timeout = 5 * time.Second
	mr, c := withCache(t, reg, opts)
	e := newEnv(t, envOpts{fleet: quietFleet(20, 2), mode: system.ModeCached,
		options: []system.Option{system.WithCache(cache.Layer{C: c})}})
	hits := func(level, result string) float64 {
		return metric(t, reg, "camload_cache_requests_total", map[string]string{"level": level, "result": result})
	}
	loads := func() float64 { return metric(t, reg, "camload_cache_loads_total", nil) }

	// A cold key: 30 concurrent readers, one load from the store.
	var wg sync.WaitGroup
	codes := make([]int, 30)
	for i := range codes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			codes[i] = getJSON(t, e.api.URL+"/api/v1/cameras/cam-00003", nil)
		}()
	}
	wg.Wait()
	for i, c := range codes {
		if c != 200 {
			t.Fatalf("reader %d: status %d", i, c)
		}
	}
	if n := loads(); n != 1 {
		t.Errorf("30 concurrent cold reads: %v loads; want 1", n)
	}
	if n := hits("l2", "miss"); n != 1 {
		t.Errorf("30 concurrent cold reads: %v L2 misses; want 1", n)
	}
	// Warm: L1 hits, no more loads.
	before := hits("l1", "hit")
	for range 5 {
		getJSON(t, e.api.URL+"/api/v1/cameras/cam-00003", nil)
	}
	if got := hits("l1", "hit") - before; got != 5 || loads() != 1 {
		t.Errorf("5 warm reads: %v L1 hits, %v loads; want 5, 1", got, loads())
	}
	// A cycle writes every camera's latest state to both levels, so
	// /latest is a hit without a load.
	e.cycle(t)
	if n := len(mr.Keys()); n < 20 {
		t.Errorf("after a cycle Redis holds %d keys; want ≥ 20 (latest per camera)", n)
	}
	loadsBefore, hitsBefore := loads(), hits("l1", "hit")
	for _, cam := range e.sys.Cameras() {
		var o store.Observation
		if code := getJSON(t, e.api.URL+"/api/v1/cameras/"+cam.ID+"/latest", &o); code != 200 || o.CameraID != cam.ID {
			t.Fatalf("GET latest of %s = %d %+v", cam.ID, code, o)
		}
	}
	if loads() != loadsBefore || hits("l1", "hit")-hitsBefore != 20 {
		t.Errorf("20 latest reads after a cycle: %v loads, %v L1 hits; want 0, 20", loads()-loadsBefore, hits("l1", "hit")-hitsBefore)
	}
}

// TestRedisOutage: with Redis down the API keeps answering (L1, then the
// store) and uses Redis again once it is back.
func TestRedisOutage(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	mr, c := withCache(t, reg, outageCacheOptions())
	e := newEnv(t, envOpts{fleet: quietFleet(10, 1), mode: system.ModeBatched,
		options: []system.Option{system.WithCache(cache.Layer{C: c})}})
	e.cycle(t)
	url := e.api.URL + "/api/v1/cameras/cam-00002/latest"
	l2 := l2Counter(t, reg)
	mr.Close()
	for i := range 10 {
		if code := getJSON(t, url, nil); code != 200 {
			t.Fatalf("read %d with Redis down: status %d", i, code)
		}
		time.Sleep(20 * time.Millisecond) // past L1's TTL now and then
	}
	if l2("error") == 0 {
		t.Errorf("no L2 errors counted while Redis was down")
	}
	// A cycle with Redis down still stores everything.
	e.clock.Advance(time.Hour)
	if s := e.cycle(t); s.Processed != 10 {
		t.Fatalf("cycle with Redis down: processed %d, errors %v; want 10", s.Processed, s.Errors)
	}
	if err := mr.Restart(); err != nil {
		t.Fatalf("miniredis Restart: %v", err)
	}
	// Back: reads fill L2 again and then hit it.
	deadline := time.Now().Add(10 * time.Second)
	for l2("hit") == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("no L2 hit within 10s of Redis coming back (errors %v)", l2("error"))
		}
		if code := getJSON(t, url, nil); code != 200 {
			t.Fatalf("read after Redis came back: status %d", code)
		}
		time.Sleep(60 * time.Millisecond) // let L1 expire so L2 is asked
	}
}

// proxy is a TCP proxy whose upstream can be cut off, standing for a
// MongoDB outage. Close stops it and waits for its goroutines.
type proxy struct {
	addr, upstream string
	mu             sync.Mutex
	ln             net.Listener
	conns          map[net.Conn]bool
	wg             sync.WaitGroup
}

func newProxy(t *testing.T, upstream string) *proxy {
	t.Helper()
	p := &proxy{upstream: upstream, conns: map[net.Conn]bool{}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("proxy listen: %v", err)
	}
	p.addr = ln.Addr().String()
	p.serve(ln)
	t.Cleanup(p.cut)
	return p
}

func (p *proxy) serve(ln net.Listener) {
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			u, err := net.Dial("tcp", p.upstream)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns[c], p.conns[u] = true, true
			p.mu.Unlock()
			p.wg.Add(2)
			go func() { defer p.wg.Done(); _, _ = io.Copy(u, c); u.Close() }()
			go func() { defer p.wg.Done(); _, _ = io.Copy(c, u); c.Close() }()
		}
	}()
}

// cut closes the listener and every connection (connections are refused
// until restore) and waits for the proxy's goroutines.
func (p *proxy) cut() {
	p.mu.Lock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for c := range p.conns {
		c.Close()
	}
	p.conns = map[net.Conn]bool{}
	p.mu.Unlock()
	p.wg.Wait()
}

func (p *proxy) restore(t *testing.T) {
	t.Helper()
	ln, err := net.Listen("tcp", p.addr)
	if err != nil {
		t.Fatalf("proxy re-listen on %s: %v", p.addr, err)
	}
	p.serve(ln)
}

// TestMongoOutage: observations made while MongoDB is unreachable are
// buffered and all stored once it is back; none is lost.
func TestMongoOutage(t *testing.T) {
	t.Parallel()
	const cams = 30
	upstream := mongoURIs[0][len("mongodb://"):]
	if i := indexByte(upstream, '/'); i >= 0 {
		upstream = upstream[:i]
	}
	px := newProxy(t, upstream)
	reg := prometheus.NewRegistry()
	e, buf := bufferedEnv(t, cams, px.addr, reg)
	if s := e.cycle(t); s.Processed != cams {
		t.Fatalf("cycle 1: processed %d, errors %v", s.Processed, s.Errors)
	}
	px.cut()
	e.clock.Advance(time.Hour) // every frame new
	s := e.cycle(t)
	if s.Processed != cams || errorTotal(s.Errors) != 0 {
		t.Fatalf("cycle with MongoDB down: processed %d, errors %v; want %d buffered, no errors", s.Processed, s.Errors, cams)
	}
	if n := buf.Pending(); n != cams {
		t.Fatalf("with MongoDB down %d observations pending; want %d", n, cams)
	}
	px.restore(t)
	checkDelivered(t, e, buf, reg, "MongoDB came back", 2*cams, s.Cycle)
}

// bufferedEnv is a batched system over a write-behind buffer (short
// back-off) whose MongoDB is reached at addr (a proxy the test cuts).
func bufferedEnv(t *testing.T, cams int, addr string, reg prometheus.Registerer) (*env, *store.Buffered) {
	t.Helper()
	var buf *store.Buffered
	e := newEnv(t, envOpts{
		fleet: quietFleet(cams, 2), mode: system.ModeBatched,
		uri: "mongodb://" + addr + "/?serverSelectionTimeoutMS=500&connectTimeoutMS=500",
		wrap: func(s store.Store) store.Store {
			opts := store.DefaultBufferOptions
			opts.MinBackoff, opts.MaxBackoff, opts.AttemptTimeout = 50*time.Millisecond, 200*time.Millisecond, time.Second
			b, err := store.NewBuffered(noClose{s}, reg, opts)
			if err != nil {
				t.Fatalf("NewBuffered: %v", err)
			}
			t.Cleanup(func() {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				if err := b.Close(ctx); err != nil {
					t.Errorf("closing the buffer: %v", err)
				}
			})
			buf = b
			return b
		},
	})
	return e, buf
}

// checkDelivered waits (≤ 30 s) for the buffer to drain after the store
// came back (when names the event), then checks that want observations are
// stored, none dropped, and every camera's latest is of cycle.
func checkDelivered(t *testing.T, e *env, buf *store.Buffered, reg prometheus.Gatherer, when string, want int64, cycle int64) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for buf.Pending() > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d observations still pending 30s after %s", buf.Pending(), when)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if n := e.observations(t); n != want {
		t.Fatalf("after %s %d observations stored; want %d", when, n, want)
	}
	if d := metric(t, reg, "camload_store_buffer_dropped_total", nil); d != 0 {
		t.Fatalf("%v observations dropped", d)
	}
	// The latest state is the newest frame for every camera.
	ctx := testCtx(t, 30*time.Second)
	for _, c := range e.sys.Cameras() {
		o, err := e.store.Latest(ctx, c.ID)
		if err != nil || o.Cycle != cycle {
			t.Errorf("Latest(%s) = cycle %d, %v; want cycle %d", c.ID, o.Cycle, err, cycle)
		}
	}
}

// outageCacheOptions are the cache options of the Redis outage tests:
// L1 entries and L2 back-off short enough that reads reach L2 often.
func outageCacheOptions() cache.Options {
	opts := cache.DefaultOptions
	opts.L1TTL, opts.L2Backoff, opts.L2Timeout = 50*time.Millisecond, 50*time.Millisecond, 200*time.Millisecond
	return opts
}

// l2Counter reads the L2 request counter of one result (hit, miss, error).
func l2Counter(t *testing.T, reg prometheus.Gatherer) func(result string) float64 {
	return func(result string) float64 {
		return metric(t, reg, "camload_cache_requests_total", map[string]string{"level": "l2", "result": result})
	}
}

// noClose leaves closing the inner store to the test environment.
type noClose struct{ store.Store }

func (noClose) Close(context.Context) error { return nil }

func indexByte(s string, c byte) int {
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			return i
		}
	}
	return -1
}
