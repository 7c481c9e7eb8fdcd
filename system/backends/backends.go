// Package backends starts the stores the system talks to: MongoDB (any
// mongodb:// URI, or FerretDB embedded in this process) and Redis (any
// redis:// URL, or miniredis embedded in this process). The runner hosts
// embedded backends in its own process so that the measured system's memory
// and CPU are its own; `camload serve` hosts them when it runs alone.
package backends

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"

	"github.com/FerretDB/FerretDB/ferretdb"
	"github.com/alicebob/miniredis/v2"

	"github.com/camload/camload/internal/cfgerr"
)

// Embedded is the Options value that asks for an in-process backend.
const Embedded = "embedded"

// Options says which backends to use. The zero value is not valid; start
// from DefaultOptions.
type Options struct {
	// Mongo is "embedded" (FerretDB in this process) or a mongodb:// URI;
	// "" means none (MongoURI returns "").
	Mongo string
	// Redis is "embedded" (miniredis in this process) or a redis:// URL;
	// "" means none (RedisURL returns "").
	Redis string
	// FerretDBPostgres, when set, is a postgres:// URL: embedded FerretDB
	// then stores its data in PostgreSQL instead of SQLite.
	FerretDBPostgres string
	// Dir is the directory for FerretDB's SQLite files; "" makes a
	// temporary one that Close removes.
	Dir string
	// SQLiteSync is SQLite's synchronous pragma for embedded FerretDB:
	// "normal" (the default when "") or "full". With "full" SQLite syncs
	// its WAL to disk at every commit, and FerretDB commits every upsert
	// and update statement on its own; "normal" syncs at checkpoints,
	// which is how MongoDB acknowledges a default (w:1) write: before its
	// journal commit, every 100 ms.
	SQLiteSync string
	// SQLiteCacheKiB is SQLite's page cache per connection for embedded
	// FerretDB, in KiB (the cache_size pragma); 0 means SQLite's default,
	// 2000 KiB. BenchmarkSQLiteCache measures what a larger one buys.
	SQLiteCacheKiB int
	// Logger receives FerretDB's logs. nil discards them: FerretDB logs
	// every error response at WARN with a wire dump, which would drown a
	// benchmark's output.
	Logger *slog.Logger
}

// SQLite synchronous settings for Options.SQLiteSync.
const (
	SyncNormal = "normal"
	SyncFull   = "full"
)

// DefaultOptions runs both backends embedded, SQLite in a temporary
// directory.
var DefaultOptions = Options{Mongo: Embedded, Redis: Embedded}

// Backends are running (or merely addressed) stores. Methods are safe for
// concurrent use; Close is idempotent.
type Backends struct {
	mongoURI string
	redisURL string
	describe Description

	ferret     *ferretdb.FerretDB
	stopFerret context.CancelFunc
	ferretDone chan error
	redis      *miniredis.Miniredis
	tempDir    string
	dir        string

	closeOnce sync.Once
	closeErr  error
}

// Start validates opts and starts the embedded backends it asks for. The
// embedded servers listen on 127.0.0.1 on ephemeral ports and run until
// Close (ctx only bounds start-up). On error nothing is left running.
func Start(ctx context.Context, opts Options) (*Backends, error) {
	if err := opts.validate(); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("backends: starting: %w", err)
	}
	b := &Backends{}
	ok := false
	defer func() {
		if !ok {
			_ = b.Close()
		}
	}()

	switch opts.Mongo {
	case "":
	case Embedded:
		if err := b.startFerret(opts); err != nil {
			return nil, err
		}
	default:
		b.mongoURI = opts.Mongo
		b.describe.Mongo = Redact(opts.Mongo)
	}

	switch opts.Redis {
	case "":
	case Embedded:
		m := miniredis.NewMiniRedis()
		if err := m.StartAddr("127.0.0.1:0"); err != nil {
			return nil, fmt.Errorf("backends: starting miniredis: %w", err)
		}
		b.redis = m
		b.redisURL = "redis://" + m.Addr() + "/0"
		b.describe.Redis = "miniredis " + moduleVersion("github.com/alicebob/miniredis/v2", MiniredisVersion) + " (embedded)"
	default:
		b.redisURL = opts.Redis
		b.describe.Redis = Redact(opts.Redis)
	}
	ok = true
	return b, nil
}

// ferretNewMu serializes ferretdb.New (see startFerret).
var ferretNewMu sync.Mutex

func (b *Backends) startFerret(opts Options) error {
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	cfg := &ferretdb.Config{
		Listener: ferretdb.ListenerConfig{TCP: "127.0.0.1:0"},
		Logger:   logger,
	}
	version := moduleVersion("github.com/FerretDB/FerretDB", FerretDBVersion)
	if opts.FerretDBPostgres != "" {
		cfg.Handler = "postgresql"
		cfg.PostgreSQLURL = opts.FerretDBPostgres
		b.describe.Mongo = "ferretdb " + version + " postgresql (embedded, " + Redact(opts.FerretDBPostgres) + ")"
	} else {
		dir := opts.Dir
		if dir == "" {
			d, err := os.MkdirTemp("", "camload-ferretdb-")
			if err != nil {
				return fmt.Errorf("backends: making FerretDB's SQLite directory: %w", err)
			}
			b.tempDir = d
			dir = d
		} else if err := os.MkdirAll(dir, 0o750); err != nil {
			return fmt.Errorf("backends: dir %q: %w", dir, err)
		}
		b.dir = dir
		cfg.Handler = "sqlite"
		// FerretDB wants a directory URI that ends with a slash.
		sync := opts.SQLiteSync
		if sync == "" {
			sync = SyncNormal
		}
		q := url.Values{"_pragma": {"synchronous(" + sync + ")"}}
		if opts.SQLiteCacheKiB > 0 {
			q.Add("_pragma", "cache_size(-"+strconv.Itoa(opts.SQLiteCacheKiB)+")")
		}
		cfg.SQLiteURL = (&url.URL{Scheme: "file", Path: strings.TrimSuffix(dir, "/") + "/", RawQuery: q.Encode()}).String()
		b.describe.Mongo = "ferretdb " + version + " sqlite (embedded)"
		if sync != SyncNormal {
			b.describe.Mongo = "ferretdb " + version + " sqlite synchronous=" + sync + " (embedded)"
		}
	}

	// ferretdb.New writes a package-level version record without a lock:
	// two embedded servers starting at once (parallel tests, several
	// runners in one process) would race on it.
	ferretNewMu.Lock()
	f, err := ferretdb.New(cfg)
	ferretNewMu.Unlock()
	if err != nil {
		return fmt.Errorf("backends: starting FerretDB (%s): %w", cfg.Handler, err)
	}
	// The listener is already bound: New listens, Run accepts.
	runCtx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.Run(runCtx) }()
	b.ferret, b.stopFerret, b.ferretDone = f, stop, done
	b.mongoURI = f.MongoDBURI()
	return nil
}

// MongoURI is the mongodb:// URI to connect to (without a database name).
func (b *Backends) MongoURI() string { return b.mongoURI }

// Dir is the directory of embedded FerretDB's SQLite files ("" when
// FerretDB is not embedded on SQLite).
func (b *Backends) Dir() string { return b.dir }

// RedisURL is the redis:// URL to connect to.
func (b *Backends) RedisURL() string { return b.redisURL }

// Description names the stores in use, e.g. "ferretdb-sqlite (embedded)"
// or "mongodb://127.0.0.1:27017". It converts to results.Backends.
type Description struct {
	Mongo string
	Redis string
}

// Describe names the backends for reports, passwords redacted.
func (b *Backends) Describe() Description { return b.describe }

// Close stops the embedded servers and removes the temporary directory.
// Clients should disconnect first: FerretDB gives connected clients a few
// seconds to leave before it closes their connections.
func (b *Backends) Close() error {
	b.closeOnce.Do(func() {
		var errs []error
		if b.stopFerret != nil {
			b.stopFerret()
			if err := <-b.ferretDone; err != nil {
				errs = append(errs, fmt.Errorf("backends: stopping FerretDB: %w", err))
			}
		}
		if b.redis != nil {
			b.redis.Close()
		}
		if b.tempDir != "" {
			if err := os.RemoveAll(b.tempDir); err != nil {
				errs = append(errs, fmt.Errorf("backends: removing %s: %w", b.tempDir, err))
			}
		}
		b.closeErr = errors.Join(errs...)
	})
	return b.closeErr
}

// Redact returns a URI with any password replaced by "xxxxx"; a string that
// does not parse as a URL is returned as "(unparsable URI)" so that it can
// never leak a secret.
func Redact(uri string) string {
	u, err := url.Parse(uri)
	if err != nil {
		return "(unparsable URI)"
	}
	return u.Redacted()
}

func (o Options) validate() error {
	switch {
	case o.Mongo != "" && o.Mongo != Embedded && !hasScheme(o.Mongo, "mongodb", "mongodb+srv"):
		return cfgerr.Field("mongo", "%s: must be %q or a mongodb:// URI", Redact(o.Mongo), Embedded)
	case o.Redis != "" && o.Redis != Embedded && !hasScheme(o.Redis, "redis", "rediss", "unix"):
		return cfgerr.Field("redis", "%s: must be %q or a redis:// URL", Redact(o.Redis), Embedded)
	case o.FerretDBPostgres != "" && !hasScheme(o.FerretDBPostgres, "postgres", "postgresql"):
		return cfgerr.Field("ferretdb-postgres", "%s: must be a postgres:// URL", Redact(o.FerretDBPostgres))
	case o.SQLiteSync != "" && o.SQLiteSync != SyncNormal && o.SQLiteSync != SyncFull:
		return cfgerr.Field("sqlite-sync", "%q: must be %q or %q", o.SQLiteSync, SyncNormal, SyncFull)
	case o.SQLiteCacheKiB < 0:
		return cfgerr.Field("sqlite-cache", "%d KiB: must be ≥ 0 (0: SQLite's default)", o.SQLiteCacheKiB)
	case o.FerretDBPostgres != "" && o.Mongo != Embedded:
		return cfgerr.Field("ferretdb-postgres", "only applies to an embedded MongoDB (mongo = %q)", Embedded)
	}
	return nil
}

func hasScheme(raw string, schemes ...string) bool {
	u, err := url.Parse(raw)
	if err != nil {
		return false
	}
	for _, s := range schemes {
		if strings.EqualFold(u.Scheme, s) {
			return u.Host != "" || u.Scheme == "unix"
		}
	}
	return false
}

// Versions of the embedded servers in go.mod, for builds that carry no
// module information (test binaries); TestVersionsMatchGoMod keeps them
// honest.
const (
	FerretDBVersion  = "1.24.2"
	MiniredisVersion = "2.40.0"
)

// moduleVersion reports the version of a dependency linked into this
// binary, or fallback when the build carries no module information.
func moduleVersion(path, fallback string) string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return fallback
	}
	for _, d := range bi.Deps {
		if d.Path == path {
			v := d.Version
			if d.Replace != nil {
				v = d.Replace.Version
			}
			return strings.TrimPrefix(v, "v")
		}
	}
	return fallback
}
