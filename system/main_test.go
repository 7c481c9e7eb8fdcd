package system_test

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
)

// mongoURIs are the MongoDB-wire servers the integration tests use:
// embedded FerretDB (SQLite) always; FerretDB on PostgreSQL as well when
// CAMLOAD_TEST_POSTGRES_URL is set. Each test uses its own database.
var mongoURIs []string

func TestMain(m *testing.M) { os.Exit(runMain(m)) }

func runMain(m *testing.M) int {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var started []*backends.Backends
	closeAll := func() int {
		code := 0
		for _, b := range started {
			if err := b.Close(); err != nil {
				fmt.Fprintln(os.Stderr, "closing backends:", err)
				code = 1
			}
		}
		started = nil
		return code
	}
	defer closeAll()
	b, err := backends.Start(ctx, backends.Options{Mongo: backends.Embedded})
	if err != nil {
		fmt.Fprintln(os.Stderr, "starting FerretDB:", err)
		return 1
	}
	started = append(started, b)
	mongoURIs = append(mongoURIs, b.MongoURI())
	if pg := os.Getenv("CAMLOAD_TEST_POSTGRES_URL"); pg != "" {
		b, err := backends.Start(ctx, backends.Options{Mongo: backends.Embedded, FerretDBPostgres: pg})
		if err != nil {
			fmt.Fprintln(os.Stderr, "starting FerretDB (PostgreSQL):", err)
			return 1
		}
		started = append(started, b)
		mongoURIs = append(mongoURIs, b.MongoURI())
	}
	code := m.Run()
	if c := closeAll(); c != 0 {
		code = c
	}
	if code == 0 {
		// golang-lru v2's expirable LRU (system/cache's L1) starts an
		// expiry goroutine it never stops (hashicorp/golang-lru#159).
		if err := goleak.Find(goleak.IgnoreAnyFunction("github.com/hashicorp/golang-lru/v2/expirable.NewLRU[...].func1")); err != nil {
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
	name := strings.NewReplacer("/", "_", " ", "_", "-", "_").Replace(t.Name())
	if len(name) > 30 {
		name = name[:30]
	}
	return "t_" + name + "_" + hex.EncodeToString(b[:])
}
