package group

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/camload/camload/internal/cfgerr"
	"github.com/camload/camload/internal/testenv"
	"github.com/redis/go-redis/v9"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// server is one Redis the tests run against: miniredis on a loopback port
// always, the real Redis of CAMLOAD_TEST_REDIS_URL when set.
type server struct{ testenv.RedisServer }

func servers(t testing.TB) []server {
	t.Helper()
	var out []server
	for _, r := range testenv.Redis(t) {
		out = append(out, server{r})
	}
	return out
}

// forEach runs f as a subtest on every server.
func forEach(t *testing.T, f func(t *testing.T, s server)) {
	for _, s := range servers(t) {
		t.Run(s.Name, func(t *testing.T) { f(t, s) })
	}
}

// client returns a new client of s, closed when the test ends. Several
// clients of one server stand for several replica processes.
func (s server) client(t testing.TB) *redis.Client {
	t.Helper()
	o, err := redis.ParseURL(s.URL)
	if err != nil {
		t.Fatal(err)
	}
	c := redis.NewClient(o)
	t.Cleanup(func() {
		if err := c.Close(); err != nil && !errors.Is(err, redis.ErrClosed) {
			t.Error(err)
		}
	})
	return c
}

// elapse lets d pass for the server's key TTLs: miniredis does not expire
// keys by the clock, only by FastForward; a real Redis needs the wait.
func (s server) elapse(d time.Duration) {
	if s.Mini != nil {
		s.Mini.FastForward(d)
		return
	}
	time.Sleep(d)
}

// groupName returns a group name unique to the test and deletes the
// group's keys when the test ends.
func groupName(t testing.TB, s server) string {
	t.Helper()
	var b [4]byte
	_, _ = rand.Read(b[:])
	name := "test-" + strings.NewReplacer("/", "-", " ", "-").Replace(t.Name()) + "-" + hex.EncodeToString(b[:])
	if s.Mini == nil {
		c := s.client(t)
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			iter := c.Scan(ctx, 0, prefix(name)+"*", 100).Iterator()
			for iter.Next(ctx) {
				if err := c.Del(ctx, iter.Val()).Err(); err != nil {
					t.Error(err)
				}
			}
			if err := iter.Err(); err != nil {
				t.Error(err)
			}
		})
	}
	return name
}

// running is a Replica whose Run goroutine the test owns.
type running struct {
	*Replica
	cancel context.CancelFunc
	done   chan error
	once   sync.Once
	err    error
}

// start runs a replica until stop (or the end of the test).
func start(t testing.TB, rdb redis.UniversalClient, o Options, h Handler) *running {
	t.Helper()
	r, err := New(rdb, o, h)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	rr := &running{Replica: r, cancel: cancel, done: make(chan error, 1)}
	go func() { rr.done <- r.Run(ctx) }()
	t.Cleanup(func() { _ = rr.stop() })
	return rr
}

// stop cancels the replica's Run and returns what it returned.
func (rr *running) stop() error {
	rr.once.Do(func() {
		rr.cancel()
		rr.err = <-rr.done
	})
	return rr.err
}

// ledger records the completed Handler calls, as an idempotent store
// keyed by (cycle, camera) would see them.
type ledger struct {
	mu    sync.Mutex
	calls map[[2]string]int // (cycle, camera) → completed calls
	by    map[string]int    // consumer → completed calls
}

func newLedger() *ledger {
	return &ledger{calls: map[[2]string]int{}, by: map[string]int{}}
}

// handler returns a Handler that takes d per job (cut short, with an
// error, when ctx ends) and records each completed call.
func (l *ledger) handler(consumer string, d time.Duration) Handler {
	return func(ctx context.Context, j Job) error {
		if d > 0 {
			if !sleep(ctx, d) {
				return ctx.Err()
			}
		}
		l.mu.Lock()
		defer l.mu.Unlock()
		l.calls[[2]string{j.Cycle, j.Camera}]++
		l.by[consumer]++
		return nil
	}
}

func (l *ledger) count(cycle, camera string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.calls[[2]string{cycle, camera}]
}

// checkOnce fails unless every camera of cycle completed exactly once.
func (l *ledger) checkOnce(t *testing.T, cycle string, cameras []string) {
	t.Helper()
	for _, c := range cameras {
		if n := l.count(cycle, c); n != 1 {
			t.Errorf("cycle %s camera %s: Handler completed %d times; want 1", cycle, c, n)
		}
	}
}

func cameraIDs(n int) []string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("cam-%04d", i)
	}
	return ids
}

// coordinator waits until one of rs holds the lease and returns it.
func coordinator(t testing.TB, ctx context.Context, rs ...*running) *running {
	t.Helper()
	for {
		for _, r := range rs {
			if r.IsCoordinator() {
				return r
			}
		}
		if !sleep(ctx, 5*time.Millisecond) {
			t.Fatal("no replica became coordinator:", ctx.Err())
		}
	}
}

// testOptions are short timings for tests. They keep a margin over the
// scheduling stalls of a loaded machine: at a load average of 21 on two
// cores under -race, a heartbeat ticking every 100ms was seen 220ms apart,
// so ClaimIdle (and LeaseTTL) must be several tick periods long.
func testOptions(name, consumer string) Options {
	return Options{
		Name:      name,
		Consumer:  consumer,
		ClaimIdle: time.Second,
		LeaseTTL:  time.Second,
		Block:     50 * time.Millisecond,
		Batch:     4,
	}
}

// containsField reports whether err holds a *cfgerr.Error for field.
func containsField(err error, field string) bool {
	var joined interface{ Unwrap() []error }
	if errors.As(err, &joined) {
		for _, e := range joined.Unwrap() {
			if containsField(e, field) {
				return true
			}
		}
		return false
	}
	var ce *cfgerr.Error
	return errors.As(err, &ce) && ce.Field == field
}
