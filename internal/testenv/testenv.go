// Package testenv holds the test set-up that several of camload's packages
// share: the Redis servers a test runs on (miniredis, and a real Redis when
// CAMLOAD_TEST_REDIS_URL is set), the embedded FerretDB variants a package's
// tests start in TestMain (SQLite, and PostgreSQL when
// CAMLOAD_TEST_POSTGRES_URL is set), a TestMain body that closes them and
// looks for leaked goroutines, fresh database names and reading a metric
// from a registry. It is imported by tests only, and imports nothing of
// camload's, so that any package's tests may use it.
package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/goleak"
)

// RedisEnv names the environment variable holding the redis:// URL of a
// real Redis the tests run on as well as miniredis.
const RedisEnv = "CAMLOAD_TEST_REDIS_URL"

// PostgresEnv names the environment variable holding the postgres:// URL
// of a PostgreSQL the tests run embedded FerretDB on as well as SQLite.
const PostgresEnv = "CAMLOAD_TEST_POSTGRES_URL"

// RedisServer is one Redis a test runs on.
type RedisServer struct {
	Name string               // "miniredis" or "redis"
	URL  string               // redis://host:port/0
	Mini *miniredis.Miniredis // nil for a real server
}

// RealRedis returns the URL of CAMLOAD_TEST_REDIS_URL, "" when unset.
func RealRedis() string { return os.Getenv(RedisEnv) }

// Redis returns the Redis servers a test runs on: miniredis on a free
// loopback port always (closed when the test ends), and the real Redis of
// CAMLOAD_TEST_REDIS_URL when set.
func Redis(t testing.TB) []RedisServer {
	t.Helper()
	m := miniredis.RunT(t) // listens on 127.0.0.1:<random>
	out := []RedisServer{{Name: "miniredis", URL: "redis://" + m.Addr() + "/0", Mini: m}}
	if u := RealRedis(); u != "" {
		out = append(out, RedisServer{Name: "redis", URL: u})
	}
	return out
}

// FerretDB is one way to run embedded FerretDB for a package's tests.
type FerretDB struct {
	Name     string // "sqlite" or "postgresql"
	Postgres string // the PostgreSQL URL; "" for SQLite
}

// FerretDBs are the embedded FerretDB variants the integration tests run
// on: SQLite always, PostgreSQL as well when CAMLOAD_TEST_POSTGRES_URL is
// set.
func FerretDBs() []FerretDB {
	out := []FerretDB{{Name: "sqlite"}}
	if pg := os.Getenv(PostgresEnv); pg != "" {
		out = append(out, FerretDB{Name: "postgresql", Postgres: pg})
	}
	return out
}

// IgnoreLRUExpiry is the goleak option for the goroutine golang-lru v2's
// expirable LRU (system/cache's L1) starts and never stops: its done
// channel is never closed (see the comment in expirable.NewLRU,
// hashicorp/golang-lru#159).
var IgnoreLRUExpiry = goleak.IgnoreAnyFunction("github.com/hashicorp/golang-lru/v2/expirable.NewLRU[...].func1")

// Main is the body of a TestMain that starts servers for a package's
// tests. It calls setup with a context that ends after a minute (or when
// Main returns) and a function registering what to close after the tests,
// runs the tests, closes what setup registered (also when setup failed),
// and, when all of that succeeded, fails on leaked goroutines (goleak.Find
// with opts). It writes each failure to stderr, as a TestMain does, and
// returns the exit code for os.Exit.
func Main(m *testing.M, setup func(ctx context.Context, closeAfter func(close func() error)) error, opts ...goleak.Option) int {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var closers []func() error
	closeAll := func() int {
		code := 0
		for _, c := range closers {
			if err := c(); err != nil {
				fmt.Fprintln(os.Stderr, "closing test servers:", err)
				code = 1
			}
		}
		closers = nil
		return code
	}
	defer closeAll()
	if err := setup(ctx, func(c func() error) { closers = append(closers, c) }); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	code := m.Run()
	if c := closeAll(); c != 0 {
		code = c
	}
	if code == 0 {
		if err := goleak.Find(opts...); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	return code
}

// DBName returns a fresh database name for one test: its name (letters
// and digits, the rest as '_', cut at 30) and a random suffix.
func DBName(t testing.TB) string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	name := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			return r
		}
		return '_'
	}, t.Name())
	if len(name) > 30 {
		name = name[:30]
	}
	return "t_" + name + "_" + hex.EncodeToString(b[:])
}

// Metric sums the values (counter, gauge or untyped) of the series of
// metric name in g whose labels have the given values: labels are pairs of
// a label name and its value, and a series without a label has the value
// "" for it. ok reports whether any series matched. A failing Gather
// fails the test.
func Metric(t testing.TB, g prometheus.Gatherer, name string, labels ...string) (v float64, ok bool) {
	t.Helper()
	if len(labels)%2 != 0 {
		t.Fatalf("Metric(%s, %q): labels come in name, value pairs", name, labels)
	}
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	series:
		for _, m := range mf.GetMetric() {
			have := map[string]string{}
			for _, l := range m.GetLabel() {
				have[l.GetName()] = l.GetValue()
			}
			for i := 0; i < len(labels); i += 2 {
				if have[labels[i]] != labels[i+1] {
					continue series
				}
			}
			v += m.GetCounter().GetValue() + m.GetGauge().GetValue() + m.GetUntyped().GetValue()
			ok = true
		}
	}
	return v, ok
}
