package store_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/camload/camload/system/backends"
	"github.com/camload/camload/system/store"
)

// backend is one MongoDB-wire server the tests run against.
type backend struct {
	name string
	uri  string
	// sqlite, when set, is embedded FerretDB on SQLite: openStore adds
	// the _id expression indexes (backends.IndexIDs) as the runner and
	// camload serve do, unless noIndex.
	sqlite  *backends.Backends
	noIndex bool
	// benchOnly backends are left out of tests (forEachBackend) and
	// measured side by side in benchmarks.
	benchOnly bool
}

// testBackends are started once for the package: FerretDB on SQLite
// always, FerretDB on PostgreSQL when CAMLOAD_TEST_POSTGRES_URL is set.
// Each test uses its own database and drops it.
var testBackends []backend

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var started []*backends.Backends
	defer func() {
		for _, b := range started {
			if err := b.Close(); err != nil {
				fmt.Fprintln(os.Stderr, "closing backends:", err)
			}
		}
	}()
	sqlite, err := backends.Start(ctx, backends.Options{Mongo: backends.Embedded})
	if err != nil {
		fmt.Fprintln(os.Stderr, "starting FerretDB (SQLite):", err)
		return 1
	}
	started = append(started, sqlite)
	testBackends = append(testBackends,
		backend{name: "sqlite", uri: sqlite.MongoURI(), sqlite: sqlite},
		backend{name: "sqlite-noindex", uri: sqlite.MongoURI(), sqlite: sqlite, noIndex: true, benchOnly: true})
	if pg := os.Getenv("CAMLOAD_TEST_POSTGRES_URL"); pg != "" {
		b, err := backends.Start(ctx, backends.Options{Mongo: backends.Embedded, FerretDBPostgres: pg})
		if err != nil {
			fmt.Fprintln(os.Stderr, "starting FerretDB (PostgreSQL):", err)
			return 1
		}
		started = append(started, b)
		testBackends = append(testBackends, backend{name: "postgresql", uri: b.MongoURI()})
	}
	code := m.Run()
	for _, b := range started {
		if err := b.Close(); err != nil {
			fmt.Fprintln(os.Stderr, "closing backends:", err)
			code = 1
		}
	}
	started = nil
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	return code
}

// dbName is a fresh database name for one test.
func dbName(t testing.TB) string {
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

// openStore opens a store on a fresh database of be and drops it (and
// disconnects) when the test ends.
func openStore(t testing.TB, be backend, opts ...store.MongoOption) *store.Mongo {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := store.OpenMongo(ctx, be.uri, dbName(t), opts...)
	if err != nil {
		t.Fatalf("OpenMongo(%s) = %v", be.name, err)
	}
	if be.sqlite != nil && !be.noIndex {
		if _, err := be.sqlite.IndexIDs(ctx, s.Database().Name()); err != nil {
			t.Fatalf("IndexIDs: %v", err)
		}
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := s.Drop(ctx); err != nil {
			t.Errorf("Drop: %v", err)
		}
		if err := s.Close(ctx); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

// forEachBackend runs f as a subtest per backend.
func forEachBackend(t *testing.T, f func(t *testing.T, be backend)) {
	for _, be := range testBackends {
		if be.benchOnly {
			continue
		}
		t.Run(be.name, func(t *testing.T) {
			t.Parallel()
			f(t, be)
		})
	}
}
