package system_test

import (
	"context"
	"fmt"
	"os"
	"testing"

	"github.com/camload/camload/internal/testenv"
	"github.com/camload/camload/system/backends"
)

// mongoURIs are the MongoDB-wire servers the integration tests use:
// embedded FerretDB (SQLite) always; FerretDB on PostgreSQL as well when
// CAMLOAD_TEST_POSTGRES_URL is set. Each test uses its own database.
var mongoURIs []string

func TestMain(m *testing.M) {
	// The system's cache (system/cache's L1) starts golang-lru's expiry
	// goroutines.
	os.Exit(testenv.Main(m, func(ctx context.Context, closeAfter func(func() error)) error {
		for _, fdb := range testenv.FerretDBs() {
			b, err := backends.Start(ctx, backends.Options{Mongo: backends.Embedded, FerretDBPostgres: fdb.Postgres})
			if err != nil {
				return fmt.Errorf("starting FerretDB (%s): %w", fdb.Name, err)
			}
			closeAfter(b.Close)
			mongoURIs = append(mongoURIs, b.MongoURI())
		}
		return nil
	}, testenv.IgnoreLRUExpiry))
}

// dbName is a fresh database name for one test.
func dbName(t testing.TB) string { return testenv.DBName(t) }
