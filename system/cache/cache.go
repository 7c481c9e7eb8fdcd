// Package cache is the two-level cache of the system's API reads: L1 an
// in-process TTL LRU, L2 Redis (shared by the replicas), with concurrent
// misses of one key collapsed into one load (no stampede). Redis is an
// optimisation, never a dependency: when it is down reads are served from
// L1 and from the loader, and its errors are counted, not returned.
package cache

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/hashicorp/golang-lru/v2/expirable"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"golang.org/x/sync/singleflight"

	"github.com/camload/camload/internal/cfgerr"
)

// Level says where Get found a value.
type Level int

// Levels.
const (
	Miss Level = iota // loaded by the loader
	L1                // in-process LRU
	L2                // Redis
)

func (l Level) String() string {
	switch l {
	case L1:
		return "l1"
	case L2:
		return "l2"
	case Miss:
		return "miss"
	}
	return fmt.Sprintf("Level(%d)", int(l))
}

// Options configure a Cache. Start from DefaultOptions.
type Options struct {
	// L1Size is the most entries the in-process LRU holds.
	L1Size int
	// L1TTL is how long an entry lives in L1. Keep it short: L1 is not
	// invalidated across replicas.
	L1TTL time.Duration
	// L2TTL is how long an entry lives in Redis.
	L2TTL time.Duration
	// L2Timeout bounds each Redis call, so that a slow or dead Redis
	// costs a read at most this much.
	L2Timeout time.Duration
	// L2Backoff is how long L2 is skipped after a Redis error, so that a
	// dead Redis costs one timeout per L2Backoff instead of one per read
	// (skipped lookups count as level="l2",result="error"); 0 never
	// skips. go-redis reconnects on the first lookup after it.
	L2Backoff time.Duration
	// Prefix namespaces the Redis keys.
	Prefix string
}

// DefaultOptions suit API reads refreshed every processing cycle.
var DefaultOptions = Options{
	L1Size:    10000,
	L1TTL:     time.Second,
	L2TTL:     5 * time.Second,
	L2Timeout: 100 * time.Millisecond,
	L2Backoff: time.Second,
	Prefix:    "camload:",
}

func (o Options) validate() error {
	var errs []error
	if o.L1Size < 1 {
		errs = append(errs, cfgerr.Field("cache.l1-size", "%d: must be ≥ 1", o.L1Size))
	}
	if o.L1TTL <= 0 {
		errs = append(errs, cfgerr.Field("cache.l1-ttl", "%s: must be > 0", o.L1TTL))
	}
	if o.L2TTL <= 0 {
		errs = append(errs, cfgerr.Field("cache.l2-ttl", "%s: must be > 0", o.L2TTL))
	}
	if o.L2Timeout <= 0 {
		errs = append(errs, cfgerr.Field("cache.l2-timeout", "%s: must be > 0", o.L2Timeout))
	}
	if o.L2Backoff < 0 {
		errs = append(errs, cfgerr.Field("cache.l2-backoff", "%s: must be ≥ 0", o.L2Backoff))
	}
	return cfgerr.Join(errs...)
}

// Cache is a two-level read-through cache. It is safe for concurrent use.
// Values are shared, not copied: callers must not modify a []byte they
// put in or got out.
type Cache struct {
	opts  Options
	l1    *expirable.LRU[string, []byte]
	redis redis.UniversalClient // nil: L1 only
	group singleflight.Group
	// l2DownUntil is when L2 may be tried again after an error (Unix
	// nanoseconds; 0 = up).
	l2DownUntil atomic.Int64

	requests    *prometheus.CounterVec
	l1Hit       prometheus.Counter
	l1Miss      prometheus.Counter
	l2Hit       prometheus.Counter
	l2Miss      prometheus.Counter
	l2Error     prometheus.Counter
	l2WriteErrs prometheus.Counter
	loads       prometheus.Counter
	shared      prometheus.Counter
}

// New makes a cache on rdb (nil for L1 only; the caller owns and closes
// rdb) and registers its metrics on reg:
// camload_cache_requests_total{level="l1|l2",result="hit|miss|error"},
// camload_cache_l2_write_errors_total, camload_cache_loads_total and
// camload_cache_shared_loads_total.
//
// The L1 LRU of golang-lru v2 runs an expiry goroutine that cannot be
// stopped (hashicorp/golang-lru#159): one per Cache for the life of the
// process, so make one Cache per process, not per request.
func New(rdb redis.UniversalClient, reg prometheus.Registerer, opts Options) (*Cache, error) {
	if err := opts.validate(); err != nil {
		return nil, err
	}
	requests := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "camload_cache_requests_total",
		Help: "Cache lookups by level and result.",
	}, []string{"level", "result"})
	l2WriteErrs := prometheus.NewCounter(prometheus.CounterOpts{
		Name: "camload_cache_l2_write_errors_total",
		Help: "Failed writes and deletes of the L2 (Redis) cache.",
	})
	loads := prometheus.NewCounter(prometheus.CounterOpts{
		Name: "camload_cache_loads_total",
		Help: "Values computed by a loader after missing both levels.",
	})
	shared := prometheus.NewCounter(prometheus.CounterOpts{
		Name: "camload_cache_shared_loads_total",
		Help: "Gets that waited for another caller's load of the same key instead of loading.",
	})
	if reg != nil {
		for _, c := range []prometheus.Collector{requests, l2WriteErrs, loads, shared} {
			if err := reg.Register(c); err != nil {
				return nil, fmt.Errorf("cache: registering metrics: %w", err)
			}
		}
	}
	return &Cache{
		opts:        opts,
		l1:          expirable.NewLRU[string, []byte](opts.L1Size, nil, opts.L1TTL),
		redis:       rdb,
		requests:    requests,
		l1Hit:       requests.WithLabelValues("l1", "hit"),
		l1Miss:      requests.WithLabelValues("l1", "miss"),
		l2Hit:       requests.WithLabelValues("l2", "hit"),
		l2Miss:      requests.WithLabelValues("l2", "miss"),
		l2Error:     requests.WithLabelValues("l2", "error"),
		l2WriteErrs: l2WriteErrs,
		loads:       loads,
		shared:      shared,
	}, nil
}

// NewRedis connects a client to a redis:// URL (the caller closes it).
// go-redis reconnects by itself when Redis comes back.
func NewRedis(url string) (*redis.Client, error) {
	o, err := redis.ParseURL(url)
	if err != nil {
		return nil, &cfgerr.Error{Field: "redis-url", Err: err}
	}
	return redis.NewClient(o), nil
}

// ErrAuth is wrapped by Check's error when Redis rejects the configured
// credentials (NOAUTH: a password is required and none was given;
// WRONGPASS: wrong user or password).
var ErrAuth = errors.New("cache: Redis rejected authentication (check the user and password of --redis-url)")

// Check pings Redis once (bounded by ctx) and tells a misconfiguration
// from an outage: an authentication error is returned wrapping ErrAuth,
// because it will not heal by itself and L2 would be silently skipped
// forever; an unreachable, slow (no answer within L2Timeout, at least 1 s)
// or failing Redis returns nil, as Get and
// SetMany tolerate it (counted as L2 errors, served from L1 and the
// loader). Without Redis it returns nil.
func (c *Cache) Check(ctx context.Context) error {
	if c.redis == nil {
		return nil
	}
	// Bounded on its own, so that a dead Redis costs a readiness probe
	// at most this much and not the probe's whole deadline.
	ctx, cancel := context.WithTimeout(ctx, max(c.opts.L2Timeout, time.Second))
	defer cancel()
	err := c.redis.Ping(ctx).Err()
	if err != nil && redis.IsAuthError(err) {
		return fmt.Errorf("%w: %w", ErrAuth, err)
	}
	return nil
}

type result struct {
	val   []byte
	level Level
}

// Get returns the value of key from L1, else from L2, else from load
// (storing it in both levels). Concurrent Gets of one key that miss L1
// share one L2 lookup and one load. Only load's error fails a Get; Redis
// errors are counted and skipped.
//
// The shared lookup runs under the context of the Get that started it; a
// Get whose flight was cancelled by another caller's context tries again
// under its own.
func (c *Cache) Get(ctx context.Context, key string, load func(context.Context) ([]byte, error)) ([]byte, Level, error) {
	if v, ok := c.l1.Get(key); ok {
		c.l1Hit.Inc()
		return v, L1, nil
	}
	c.l1Miss.Inc()
	for attempt := 0; ; attempt++ {
		v, err, shared := c.group.Do(key, func() (any, error) { return c.fill(ctx, key, load) })
		if shared {
			c.shared.Inc()
		}
		if err != nil {
			if shared && attempt == 0 && ctx.Err() == nil &&
				(errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)) {
				continue
			}
			return nil, Miss, fmt.Errorf("cache: loading %q: %w", key, err)
		}
		r := v.(result)
		return r.val, r.level, nil
	}
}

// fill runs once per key at a time: L1 again (a flight may have just
// filled it), L2, then the loader.
func (c *Cache) fill(ctx context.Context, key string, load func(context.Context) ([]byte, error)) (result, error) {
	if v, ok := c.l1.Get(key); ok {
		return result{v, L1}, nil
	}
	useL2 := c.l2Up()
	if useL2 {
		rctx, cancel := context.WithTimeout(ctx, c.opts.L2Timeout)
		v, err := c.redis.Get(rctx, c.opts.Prefix+key).Bytes()
		cancel()
		switch {
		case err == nil:
			c.l2Hit.Inc()
			c.l1.Add(key, v)
			return result{v, L2}, nil
		case errors.Is(err, redis.Nil):
			c.l2Miss.Inc()
		default:
			c.l2Error.Inc()
			c.l2Failed()
			useL2 = false
		}
	} else if c.redis != nil {
		c.l2Error.Inc()
	}
	v, err := load(ctx)
	if err != nil {
		return result{}, err
	}
	c.loads.Inc()
	c.l1.Add(key, v)
	if useL2 {
		rctx, cancel := context.WithTimeout(ctx, c.opts.L2Timeout)
		if err := c.redis.Set(rctx, c.opts.Prefix+key, v, c.opts.L2TTL).Err(); err != nil {
			c.l2WriteErrs.Inc()
			c.l2Failed()
		}
		cancel()
	}
	return result{v, Miss}, nil
}

// l2Up reports whether L2 should be tried now.
func (c *Cache) l2Up() bool {
	if c.redis == nil {
		return false
	}
	until := c.l2DownUntil.Load()
	return until == 0 || time.Now().UnixNano() >= until
}

// l2Failed skips L2 reads for L2Backoff.
func (c *Cache) l2Failed() {
	if c.opts.L2Backoff > 0 {
		c.l2DownUntil.Store(time.Now().Add(c.opts.L2Backoff).UnixNano())
	}
}

// l2OK marks L2 up again after a successful write.
func (c *Cache) l2OK() {
	if c.l2DownUntil.Load() != 0 {
		c.l2DownUntil.Store(0)
	}
}

// Item is one key and value for SetMany.
type Item struct {
	Key   string
	Value []byte
}

// ErrL2 wraps the Redis error of a write: the L1 part of the write
// succeeded anyway, so callers may ignore it (it is also counted).
var ErrL2 = errors.New("cache: L2 (Redis) write failed")

var errL2Down = errors.New("skipped: Redis failed less than L2Backoff ago")

// Set puts a value in both levels.
func (c *Cache) Set(ctx context.Context, key string, val []byte) error {
	return c.SetMany(ctx, []Item{{key, val}})
}

// SetMany puts values in both levels, in one Redis pipeline (one round
// trip whatever the number of items). Within L2Backoff of a Redis error
// only L1 is written.
func (c *Cache) SetMany(ctx context.Context, items []Item) error {
	for _, it := range items {
		c.l1.Add(it.Key, it.Value)
	}
	if c.redis == nil || len(items) == 0 {
		return nil
	}
	if !c.l2Up() {
		c.l2WriteErrs.Inc()
		return fmt.Errorf("%w: setting %d keys: %w", ErrL2, len(items), errL2Down)
	}
	rctx, cancel := context.WithTimeout(ctx, c.opts.L2Timeout)
	defer cancel()
	_, err := c.redis.Pipelined(rctx, func(p redis.Pipeliner) error {
		for _, it := range items {
			p.Set(rctx, c.opts.Prefix+it.Key, it.Value, c.opts.L2TTL)
		}
		return nil
	})
	if err != nil {
		c.l2WriteErrs.Inc()
		c.l2Failed()
		return fmt.Errorf("%w: setting %d keys: %w", ErrL2, len(items), err)
	}
	c.l2OK()
	return nil
}

// Delete removes keys from both levels. Other replicas' L1 keep their copy
// until it expires (L1TTL).
func (c *Cache) Delete(ctx context.Context, keys ...string) error {
	if len(keys) == 0 {
		return nil
	}
	full := make([]string, len(keys))
	for i, k := range keys {
		c.l1.Remove(k)
		full[i] = c.opts.Prefix + k
	}
	if c.redis == nil {
		return nil
	}
	rctx, cancel := context.WithTimeout(ctx, c.opts.L2Timeout)
	defer cancel()
	if err := c.redis.Del(rctx, full...).Err(); err != nil {
		c.l2WriteErrs.Inc()
		return fmt.Errorf("%w: deleting %d keys: %w", ErrL2, len(keys), err)
	}
	return nil
}

// Invalidate removes every key that starts with prefix from both levels
// (Redis by SCAN, in pages of 500 keys). Use it after writes that change
// many cached reads, e.g. every page of the camera list.
func (c *Cache) Invalidate(ctx context.Context, prefix string) error {
	for _, k := range c.l1.Keys() {
		if strings.HasPrefix(k, prefix) {
			c.l1.Remove(k)
		}
	}
	if c.redis == nil {
		return nil
	}
	rctx, cancel := context.WithTimeout(ctx, 10*c.opts.L2Timeout)
	defer cancel()
	match := escapeGlob(c.opts.Prefix+prefix) + "*"
	var cursor uint64
	for {
		keys, next, err := c.redis.Scan(rctx, cursor, match, 500).Result()
		if err == nil && len(keys) > 0 {
			err = c.redis.Del(rctx, keys...).Err()
		}
		if err != nil {
			c.l2WriteErrs.Inc()
			return fmt.Errorf("%w: invalidating %q: %w", ErrL2, prefix, err)
		}
		if next == 0 {
			return nil
		}
		cursor = next
	}
}

// escapeGlob quotes Redis glob metacharacters.
func escapeGlob(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch r {
		case '*', '?', '[', ']', '\\', '^', '-':
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// Len is the number of entries in L1.
func (c *Cache) Len() int { return c.l1.Len() }

// Layer adapts a Cache to callers that do not need to know the level a
// value came from (the system's Cache interface). The zero Layer is not
// usable; it is safe for concurrent use.
type Layer struct{ C *Cache }

// Get is Cache.Get without the level.
func (l Layer) Get(ctx context.Context, key string, load func(context.Context) ([]byte, error)) ([]byte, error) {
	v, _, err := l.C.Get(ctx, key, load)
	return v, err
}

// Set is Cache.Set.
func (l Layer) Set(ctx context.Context, key string, val []byte) error { return l.C.Set(ctx, key, val) }

// Check is Cache.Check.
func (l Layer) Check(ctx context.Context) error { return l.C.Check(ctx) }

// SetMany is Cache.SetMany from a map.
func (l Layer) SetMany(ctx context.Context, kv map[string][]byte) error {
	items := make([]Item, 0, len(kv))
	for k, v := range kv {
		items = append(items, Item{Key: k, Value: v})
	}
	return l.C.SetMany(ctx, items)
}
