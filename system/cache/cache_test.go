package cache_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"go.uber.org/goleak"

	"github.com/camload/camload/internal/cfgerr"
	"github.com/camload/camload/internal/testenv"
	"github.com/camload/camload/system/cache"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m, testenv.IgnoreLRUExpiry) }

// forEachRedis runs f as a subtest on every Redis server
// (testenv.Redis), with a client of it.
func forEachRedis(t *testing.T, f func(t *testing.T, rdb *redis.Client)) {
	for _, srv := range testenv.Redis(t) {
		t.Run(srv.Name, func(t *testing.T) { f(t, client(t, srv.URL)) })
	}
}

func client(t *testing.T, url string) *redis.Client {
	t.Helper()
	rdb, err := cache.NewRedis(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rdb.Close() })
	return rdb
}

// testOptions are the defaults under a unique key prefix, so that tests
// sharing a real Redis cannot see each other's keys.
func testOptions(t *testing.T) cache.Options {
	var b [4]byte
	_, _ = rand.Read(b[:])
	o := cache.DefaultOptions
	o.Prefix = "camload-test:" + hex.EncodeToString(b[:]) + ":"
	o.L2Timeout = time.Second // tolerant of a loaded machine
	o.L1TTL = time.Minute     // no expiry during a test
	return o
}

func newCache(t *testing.T, rdb redis.UniversalClient, opts cache.Options) (*cache.Cache, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	c, err := cache.New(rdb, reg, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Invalidate(context.Background(), "") })
	return c, reg
}

// counter reads camload_cache_requests_total{level, result} or, with
// level "", a label-less counter called name; 0 when it has no such series.
func counter(t *testing.T, reg *prometheus.Registry, name, level, result string) float64 {
	t.Helper()
	v, _ := testenv.Metric(t, reg, name, "level", level, "result", result)
	return v
}

type countingLoader struct {
	calls atomic.Int64
	val   []byte
}

func (l *countingLoader) load(context.Context) ([]byte, error) {
	l.calls.Add(1)
	return l.val, nil
}

func TestGetLevels(t *testing.T) {
	forEachRedis(t, func(t *testing.T, rdb *redis.Client) {
		ctx := context.Background()
		opts := testOptions(t)
		c1, reg := newCache(t, rdb, opts)
		c2, _ := newCache(t, rdb, opts) // another replica: same Redis, own L1
		ld := &countingLoader{val: []byte(`{"id":"cam-1"}`)}
		steps := []struct {
			c     *cache.Cache
			want  cache.Level
			calls int64
		}{
			{c1, cache.Miss, 1}, // nothing anywhere: loaded
			{c1, cache.L1, 1},   // now in c1's L1
			{c2, cache.L2, 1},   // c2 finds it in Redis
			{c2, cache.L1, 1},   // and keeps it in its L1
		}
		for i, s := range steps {
			v, lvl, err := s.c.Get(ctx, "cameras/cam-1", ld.load)
			if err != nil || lvl != s.want || string(v) != string(ld.val) || ld.calls.Load() != s.calls {
				t.Errorf("step %d: Get = %q, %v, %v (loads %d); want %q, %v, nil (loads %d)",
					i, v, lvl, err, ld.calls.Load(), ld.val, s.want, s.calls)
			}
		}
		if got := counter(t, reg, "camload_cache_requests_total", "l1", "hit"); got != 1 {
			t.Errorf("c1 l1 hits = %v; want 1", got)
		}
		if got := counter(t, reg, "camload_cache_requests_total", "l2", "miss"); got != 1 {
			t.Errorf("c1 l2 misses = %v; want 1", got)
		}
		// Delete reaches both levels: the next Get loads again.
		if err := c1.Delete(ctx, "cameras/cam-1"); err != nil {
			t.Fatalf("Delete = %v", err)
		}
		if _, lvl, _ := c1.Get(ctx, "cameras/cam-1", ld.load); lvl != cache.Miss || ld.calls.Load() != 2 {
			t.Errorf("Get after Delete = %v (loads %d); want Miss (loads 2)", lvl, ld.calls.Load())
		}
		// A loader's error fails the Get and is not cached.
		boom := errors.New("boom")
		if _, _, err := c1.Get(ctx, "bad", func(context.Context) ([]byte, error) { return nil, boom }); !errors.Is(err, boom) {
			t.Errorf("Get(failing loader) = %v; want boom", err)
		}
		if _, lvl, err := c1.Get(ctx, "bad", ld.load); err != nil || lvl != cache.Miss {
			t.Errorf("Get after a failed load = %v, %v; want Miss", lvl, err)
		}
	})
}

func TestSetManyAndInvalidate(t *testing.T) {
	forEachRedis(t, func(t *testing.T, rdb *redis.Client) {
		ctx := context.Background()
		opts := testOptions(t)
		c1, _ := newCache(t, rdb, opts)
		c2, _ := newCache(t, rdb, opts)
		items := make([]cache.Item, 120)
		for i := range items {
			items[i] = cache.Item{Key: fmt.Sprintf("latest/cam-%03d", i), Value: []byte(fmt.Sprint(i))}
		}
		items = append(items, cache.Item{Key: "stats", Value: []byte("s")})
		if err := c1.SetMany(ctx, items); err != nil {
			t.Fatalf("SetMany(%d) = %v", len(items), err)
		}
		ttl, err := rdb.TTL(ctx, opts.Prefix+"latest/cam-007").Result()
		if err != nil || ttl <= 0 || ttl > opts.L2TTL {
			t.Errorf("TTL of a pipelined key = %v, %v; want (0, %v]", ttl, err, opts.L2TTL)
		}
		never := func(context.Context) ([]byte, error) { return nil, errors.New("loader called") }
		for _, it := range items {
			if v, lvl, err := c1.Get(ctx, it.Key, never); err != nil || lvl != cache.L1 || string(v) != string(it.Value) {
				t.Fatalf("c1.Get(%s) = %q, %v, %v; want %q from L1", it.Key, v, lvl, err, it.Value)
			}
			if v, lvl, err := c2.Get(ctx, it.Key, never); err != nil || lvl != cache.L2 || string(v) != string(it.Value) {
				t.Fatalf("c2.Get(%s) = %q, %v, %v; want %q from L2", it.Key, v, lvl, err, it.Value)
			}
		}
		if err := c1.Invalidate(ctx, "latest/"); err != nil {
			t.Fatalf("Invalidate(latest/) = %v", err)
		}
		n, err := rdb.Exists(ctx, opts.Prefix+"latest/cam-000", opts.Prefix+"latest/cam-119").Result()
		if err != nil || n != 0 {
			t.Errorf("after Invalidate, %d latest/ keys left in Redis (%v); want 0", n, err)
		}
		if v, lvl, err := c1.Get(ctx, "stats", never); err != nil || lvl != cache.L1 || string(v) != "s" {
			t.Errorf("Get(stats) after Invalidate(latest/) = %q, %v, %v; want kept", v, lvl, err)
		}
		ld := &countingLoader{val: []byte("new")}
		if _, lvl, _ := c1.Get(ctx, "latest/cam-005", ld.load); lvl != cache.Miss {
			t.Errorf("Get(latest/cam-005) after Invalidate = %v; want Miss", lvl)
		}
	})
}

// TestStampede has N concurrent Gets of a cold key share one load.
func TestStampede(t *testing.T) {
	forEachRedis(t, func(t *testing.T, rdb *redis.Client) {
		c, reg := newCache(t, rdb, testOptions(t))
		const n = 64
		release := make(chan struct{})
		var calls atomic.Int64
		load := func(ctx context.Context) ([]byte, error) {
			calls.Add(1)
			select {
			case <-release:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
			return []byte("v"), nil
		}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		var wg sync.WaitGroup
		errs := make(chan error, n)
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				v, _, err := c.Get(ctx, "hot", load)
				if err == nil && string(v) != "v" {
					err = fmt.Errorf("got %q", v)
				}
				errs <- err
			}()
		}
		// Let the first loader run once some callers are queued
		// behind it; late ones find the value in L1. Either way the
		// loader runs once.
		for i := 0; i < 200 && counter(t, reg, "camload_cache_requests_total", "l1", "miss") < n/2; i++ {
			time.Sleep(time.Millisecond)
		}
		close(release)
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatalf("concurrent Get = %v", err)
			}
		}
		if got := calls.Load(); got != 1 {
			t.Errorf("%d concurrent Gets ran the loader %d times; want 1", n, got)
		}
		if got := counter(t, reg, "camload_cache_loads_total", "", ""); got != 1 {
			t.Errorf("camload_cache_loads_total = %v; want 1", got)
		}
	})
}

// TestRedisOutage closes miniredis: reads keep working from L1 and the
// loader, errors are counted, and the cache uses Redis again once it is
// back (go-redis reconnects by itself).
func TestRedisOutage(t *testing.T) {
	ctx := context.Background()
	m := miniredis.RunT(t)
	rdb := client(t, "redis://"+m.Addr()+"/0")
	opts := testOptions(t)
	opts.L2Timeout = 500 * time.Millisecond
	opts.L2Backoff = 0 // try Redis on every read: the test controls the outage
	c, reg := newCache(t, rdb, opts)
	ld := &countingLoader{val: []byte("x")}

	if _, lvl, err := c.Get(ctx, "warm", ld.load); err != nil || lvl != cache.Miss {
		t.Fatalf("Get(warm) = %v, %v", lvl, err)
	}
	m.Close()
	if _, lvl, err := c.Get(ctx, "warm", ld.load); err != nil || lvl != cache.L1 {
		t.Errorf("Get(warm) with Redis down = %v, %v; want L1", lvl, err)
	}
	if v, lvl, err := c.Get(ctx, "cold", ld.load); err != nil || lvl != cache.Miss || string(v) != "x" {
		t.Errorf("Get(cold) with Redis down = %q, %v, %v; want loaded", v, lvl, err)
	}
	if got := counter(t, reg, "camload_cache_requests_total", "l2", "error"); got != 1 {
		t.Errorf("l2 errors = %v; want 1", got)
	}
	if err := c.Set(ctx, "k", []byte("v")); !errors.Is(err, cache.ErrL2) {
		t.Errorf("Set with Redis down = %v; want ErrL2", err)
	}
	if v, lvl, _ := c.Get(ctx, "k", ld.load); lvl != cache.L1 || string(v) != "v" {
		t.Errorf("Get(k) after a Set with Redis down = %q, %v; want L1 (set anyway)", v, lvl)
	}

	if err := m.Restart(); err != nil {
		t.Fatalf("miniredis Restart: %v", err)
	}
	// go-redis drops the broken connections and dials again; allow a few
	// attempts for its retry backoff (bounded).
	var err error
	for i := 0; i < 50; i++ {
		if err = c.Set(ctx, "after", []byte("a")); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("Set after Redis came back = %v", err)
	}
	c2, _ := newCache(t, rdb, opts)
	if v, lvl, err := c2.Get(ctx, "after", ld.load); err != nil || lvl != cache.L2 || string(v) != "a" {
		t.Errorf("Get(after) from another replica = %q, %v, %v; want L2", v, lvl, err)
	}
}

// TestL2Backoff checks that a dead Redis is skipped for L2Backoff after an
// error instead of costing every read a timeout.
func TestL2Backoff(t *testing.T) {
	ctx := context.Background()
	m := miniredis.RunT(t)
	rdb := client(t, "redis://"+m.Addr()+"/0")
	m.Close()
	opts := testOptions(t)
	opts.L2Backoff = time.Hour
	c, _ := newCache(t, rdb, opts)
	var cmds atomic.Int64
	rdb.AddHook(cmdCounter{&cmds})
	ld := &countingLoader{val: []byte("x")}
	for i := 0; i < 20; i++ {
		if _, lvl, err := c.Get(ctx, fmt.Sprint("k", i), ld.load); err != nil || lvl != cache.Miss {
			t.Fatalf("Get %d with Redis down = %v, %v; want loaded", i, lvl, err)
		}
	}
	if got := cmds.Load(); got != 1 {
		t.Errorf("%d Redis commands over 20 reads with Redis down; want 1 (one failed GET, then skipped)", got)
	}
}

// cmdCounter counts the commands a client sends (or tries to).
type cmdCounter struct{ n *atomic.Int64 }

func (cmdCounter) DialHook(next redis.DialHook) redis.DialHook { return next }

func (c cmdCounter) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		c.n.Add(1)
		return next(ctx, cmd)
	}
}

func (c cmdCounter) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		c.n.Add(int64(len(cmds)))
		return next(ctx, cmds)
	}
}

func TestL1Only(t *testing.T) {
	c, reg := newCache(t, nil, testOptions(t))
	ld := &countingLoader{val: []byte("x")}
	for i, want := range []cache.Level{cache.Miss, cache.L1} {
		if _, lvl, err := c.Get(context.Background(), "k", ld.load); err != nil || lvl != want {
			t.Errorf("Get %d without Redis = %v, %v; want %v", i, lvl, err, want)
		}
	}
	if got := counter(t, reg, "camload_cache_requests_total", "l2", "error"); got != 0 {
		t.Errorf("l2 errors without Redis = %v; want 0", got)
	}
}

func TestOptionsValidation(t *testing.T) {
	tests := []struct {
		name  string
		mod   func(*cache.Options)
		field string
	}{
		{"zero size", func(o *cache.Options) { o.L1Size = 0 }, "cache.l1-size"},
		{"zero l1 ttl", func(o *cache.Options) { o.L1TTL = 0 }, "cache.l1-ttl"},
		{"zero l2 ttl", func(o *cache.Options) { o.L2TTL = 0 }, "cache.l2-ttl"},
		{"zero timeout", func(o *cache.Options) { o.L2Timeout = 0 }, "cache.l2-timeout"},
		{"negative backoff", func(o *cache.Options) { o.L2Backoff = -time.Second }, "cache.l2-backoff"},
	}
	for _, tt := range tests {
		o := cache.DefaultOptions
		tt.mod(&o)
		_, err := cache.New(nil, nil, o)
		var ce *cfgerr.Error
		if !errors.As(err, &ce) || ce.Field != tt.field {
			t.Errorf("%s: New(%+v) = %v; want a cfgerr naming %s", tt.name, o, err, tt.field)
		}
	}
	if _, err := cache.NewRedis("http://127.0.0.1:6379"); !cfgerr.Is(err) {
		t.Errorf("NewRedis(http://…) = %v; want a cfgerr", err)
	}
}

// l1Cache is an L1-only cache holding val at key, for the L1 hit
// benchmarks.
func l1Cache(b *testing.B, key string, val []byte) *cache.Cache {
	b.Helper()
	opts := cache.DefaultOptions
	opts.L1TTL = time.Hour // the benchmark measures hits, not expiry
	c, err := cache.New(nil, nil, opts)
	if err != nil {
		b.Fatal(err)
	}
	if err := c.Set(context.Background(), key, val); err != nil {
		b.Fatal(err)
	}
	return c
}

// neverLoad is the loader of a Get that must hit.
func neverLoad(context.Context) ([]byte, error) { return nil, errors.New("miss") }

func BenchmarkGetL1Hit(b *testing.B) {
	c := l1Cache(b, "latest/cam-0001", make([]byte, 512))
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, lvl, err := c.Get(ctx, "latest/cam-0001", neverLoad); err != nil || lvl != cache.L1 {
			b.Fatalf("Get = %v, %v", lvl, err)
		}
	}
}

func BenchmarkGetL1HitParallel(b *testing.B) {
	c := l1Cache(b, "k", []byte("v"))
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, _, err := c.Get(ctx, "k", neverLoad); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// layer is the interface the system's API and cycle use (system.Cache).
type layer interface {
	Get(ctx context.Context, key string, load func(context.Context) ([]byte, error)) ([]byte, error)
	Set(ctx context.Context, key string, val []byte) error
	SetMany(ctx context.Context, kv map[string][]byte) error
}

var _ layer = cache.Layer{}

func TestLayer(t *testing.T) {
	ctx := context.Background()
	c, reg := newCache(t, nil, testOptions(t))
	var l layer = cache.Layer{C: c}
	if err := l.SetMany(ctx, map[string][]byte{"a": []byte("1"), "b": []byte("2")}); err != nil {
		t.Fatal(err)
	}
	ld := &countingLoader{val: []byte("3")}
	for key, want := range map[string]string{"a": "1", "b": "2", "c": "3"} {
		if v, err := l.Get(ctx, key, ld.load); err != nil || string(v) != want {
			t.Errorf("Layer.Get(%s) = %q, %v; want %q", key, v, err, want)
		}
	}
	if ld.calls.Load() != 1 || counter(t, reg, "camload_cache_requests_total", "l1", "hit") != 2 {
		t.Errorf("Layer: %d loads, %v L1 hits; want 1, 2", ld.calls.Load(), counter(t, reg, "camload_cache_requests_total", "l1", "hit"))
	}
}

// TestInvalidateGlobChars invalidates a prefix holding Redis glob
// metacharacters: they match literally, not as patterns.
func TestInvalidateGlobChars(t *testing.T) {
	forEachRedis(t, func(t *testing.T, rdb *redis.Client) {
		ctx := context.Background()
		opts := testOptions(t)
		c, _ := newCache(t, rdb, opts)
		keys := []string{`a*[b]?\-^/1`, `a*[b]?\-^/2`, `aX[b]?\-^/1`, `az/1`}
		items := make([]cache.Item, len(keys))
		for i, k := range keys {
			items[i] = cache.Item{Key: k, Value: []byte(k)}
		}
		if err := c.SetMany(ctx, items); err != nil {
			t.Fatal(err)
		}
		if err := c.Invalidate(ctx, `a*[b]?\-^/`); err != nil {
			t.Fatalf("Invalidate = %v", err)
		}
		for i, k := range keys {
			n, err := rdb.Exists(ctx, opts.Prefix+k).Result()
			wantN := int64(0)
			if i >= 2 {
				wantN = 1
			}
			if err != nil || n != wantN {
				t.Errorf("after Invalidate, Exists(%q) = %d, %v; want %d", k, n, err, wantN)
			}
		}
	})
}

// BenchmarkSet100 writes 100 keys to both levels one Set at a time (one
// Redis round trip each) and with SetMany (one pipeline), against
// CAMLOAD_TEST_REDIS_URL when set, else miniredis. One op is 100 keys.
func BenchmarkSet100(b *testing.B) {
	url := testenv.RealRedis()
	if url == "" {
		url = "redis://" + miniredis.RunT(b).Addr() + "/0"
	}
	rdb, err := cache.NewRedis(url)
	if err != nil {
		b.Fatal(err)
	}
	defer rdb.Close()
	opts := cache.DefaultOptions
	opts.Prefix = "camload-bench:"
	opts.L2Timeout = 5 * time.Second
	c, err := cache.New(rdb, nil, opts)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Invalidate(context.Background(), "")
	ctx := context.Background()
	items := make([]cache.Item, 100)
	for i := range items {
		items[i] = cache.Item{Key: fmt.Sprintf("latest/cam-%04d", i), Value: make([]byte, 300)}
	}
	b.Run("Set", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			for _, it := range items {
				if err := c.Set(ctx, it.Key, it.Value); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
	b.Run("SetMany", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if err := c.SetMany(ctx, items); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// TestCheckAuth: Check fails with ErrAuth when Redis rejects the
// credentials (wrong password, missing password, unknown user) and passes
// when they are right, when there is no Redis and when Redis is merely
// unreachable (an outage is tolerated, not a misconfiguration).
func TestCheckAuth(t *testing.T) {
	t.Parallel()
	m := miniredis.RunT(t)
	m.RequireAuth("s3cret")
	m.RequireUserAuth("camload", "pw")
	// A port with nothing listening: bind one, then close it.
	dead := miniredis.RunT(t)
	deadAddr := dead.Addr()
	dead.Close()
	type tc struct {
		name, url string
		auth      bool // want ErrAuth
	}
	tests := []tc{
		{"right password", "redis://:s3cret@" + m.Addr() + "/0", false},
		{"right user", "redis://camload:pw@" + m.Addr() + "/0", false},
		{"wrong password", "redis://:wrong@" + m.Addr() + "/0", true},
		{"wrong user password", "redis://camload:wrong@" + m.Addr() + "/0", true},
		{"no password", "redis://" + m.Addr() + "/0", true},
		{"unreachable", "redis://" + deadAddr + "/0", false},
	}
	if u := testenv.RealRedis(); u != "" {
		// A user the real server does not have: WRONGPASS from real Redis.
		pu, err := url.Parse(u)
		if err != nil {
			t.Fatal(err)
		}
		pu.User = url.UserPassword("camload-no-such-user", "wrong")
		tests = append(tests, tc{"real redis: unknown user", pu.String(), true}, tc{"real redis: configured", u, false})
	}
	for _, tc := range tests {
		c, _ := newCache(t, client(t, tc.url), testOptions(t))
		err := c.Check(context.Background())
		if got := errors.Is(err, cache.ErrAuth); got != tc.auth || (!tc.auth && err != nil) {
			t.Errorf("%s: Check() = %v; want ErrAuth %t", tc.name, err, tc.auth)
		}
		if err != nil && strings.Contains(err.Error(), "s3cret") {
			t.Errorf("%s: Check() error shows the password: %v", tc.name, err)
		}
	}
	l1, _ := newCache(t, nil, testOptions(t))
	if err := l1.Check(context.Background()); err != nil {
		t.Errorf("L1-only Check() = %v; want nil", err)
	}
}
