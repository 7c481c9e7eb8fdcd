package store_test

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/camload/camload/internal/testenv"
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
	os.Exit(testenv.Main(m, func(ctx context.Context, closeAfter func(func() error)) error {
		for _, fdb := range testenv.FerretDBs() {
			b, err := backends.Start(ctx, backends.Options{Mongo: backends.Embedded, FerretDBPostgres: fdb.Postgres})
			if err != nil {
				return fmt.Errorf("starting FerretDB (%s): %w", fdb.Name, err)
			}
			closeAfter(b.Close)
			if fdb.Postgres != "" {
				testBackends = append(testBackends, backend{name: fdb.Name, uri: b.MongoURI()})
				continue
			}
			testBackends = append(testBackends,
				backend{name: fdb.Name, uri: b.MongoURI(), sqlite: b},
				backend{name: fdb.Name + "-noindex", uri: b.MongoURI(), sqlite: b, noIndex: true, benchOnly: true})
		}
		return nil
	}))
}

// openStore opens a store on a fresh database of be and drops it (and
// disconnects) when the test ends.
func openStore(t testing.TB, be backend, opts ...store.MongoOption) *store.Mongo {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := store.OpenMongo(ctx, be.uri, testenv.DBName(t), opts...)
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
