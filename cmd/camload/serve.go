package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"github.com/spf13/cobra"
	"github.com/spf13/viper"

	"github.com/camload/camload/internal/cfgerr"
	"github.com/camload/camload/system"
	"github.com/camload/camload/system/backends"
	"github.com/camload/camload/system/cache"
	"github.com/camload/camload/system/store"
)

func init() { register("serve", newServeCmd) }

// serveOptions are camload serve's settings besides the system's knobs.
type serveOptions struct {
	cfg             system.Config
	listen, admin   string
	mongoURI        string
	redisURL        string
	ferretPostgres  string
	db              string
	readyFile       string
	exitWithStdin   bool
	parentPID       int
	registryTimeout time.Duration
	shutdownTimeout time.Duration
	bufferSize      int
	logLevel        slog.Level
}

// serveViper returns the viper instance bound to cmd's flags and the
// CAMLOAD_SERVE_* environment.
func serveViper(cmd *cobra.Command) *viper.Viper {
	v := viper.New()
	_ = v.BindPFlags(cmd.Flags())
	v.SetEnvPrefix("CAMLOAD_SERVE")
	v.SetEnvKeyReplacer(strings.NewReplacer("-", "_"))
	v.AutomaticEnv()
	return v
}

func newServeCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the camera-processing system under test (poll → analyze → store → API)",
		Long: `serve runs the camera-processing system: it loads the camera registry from
the fleet, runs cycles (POST /api/v1/cycles, or every --interval) and serves the
JSON API on --listen and /metrics, /debug/pprof, /healthz, /readyz on --admin.
Every flag can also be set as CAMLOAD_SERVE_<FLAG> (upper case, - → _).
Knob flags override the preset of --mode.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o, err := serveConfig(serveViper(cmd))
			if err != nil {
				return err
			}
			return serve(cmd.Context(), a, o)
		},
	}
	f := cmd.Flags()
	f.String("mode", string(system.ModeBatched), "mode preset: sync, async, pooled, cached or batched")
	f.String("fleet", "http://127.0.0.1:8700", "the fleet's control URL")
	f.String("listen", "127.0.0.1:8080", "API listen address (port 0 = any free port)")
	f.String("admin", "127.0.0.1:8081", "admin listen address: /metrics, /debug/pprof, /healthz, /readyz")
	f.String("mongo-uri", backends.Embedded, "MongoDB URI, or embedded (FerretDB in this process)")
	f.String("redis-url", backends.Embedded, "Redis URL, or embedded (miniredis in this process)")
	f.String("ferretdb-postgres", "", "PostgreSQL URL for the embedded FerretDB (default SQLite in a temp dir)")
	f.String("db", "camload", "MongoDB database name")
	f.Duration("interval", 0, "run cycles continuously, one every D (0 = only on POST /api/v1/cycles)")
	f.String("ready-file", "", "write {api, admin, pid} JSON here once ready")
	f.Bool("exit-with-stdin", false, "shut down when stdin is closed (the parent died)")
	f.Int("parent-pid", 0, "shut down when this process is no longer the parent")
	f.Duration("registry-timeout", system.DefaultRegistryTimeout, "how long to keep trying to load the registry")
	f.Duration("shutdown-timeout", 30*time.Second, "how long graceful shutdown may take")
	f.Int("buffer", 10000, "observations buffered while MongoDB is down (beyond: dropped and counted)")
	f.String("log-level", "info", "log level: debug, info, warn or error")
	k, _ := system.Preset(system.ModeBatched)
	f.String("fan-out", string(k.FanOut), "knob: sequential, unbounded, pool or batches")
	f.Int("workers", k.Workers, "knob: worker pool size")
	f.Int("batch-size", k.BatchSize, "knob: cameras per batch and observations per bulk write")
	f.String("client", string(k.Client), "knob: camera HTTP client: new-conn, new-client or shared")
	f.Int("max-conns", k.MaxConns, "knob: shared transport: connections in total")
	f.Int("max-conns-per-host", k.MaxConnsPerHost, "knob: shared transport: connections per host")
	f.Duration("idle-timeout", k.IdleTimeout, "knob: shared transport: idle connection timeout")
	f.Bool("dedupe", k.Dedupe, "knob: skip unchanged frames (conditional GET, content hash)")
	f.Bool("api-cache", k.APICache, "knob: API reads through L1 (in-process) and L2 (Redis)")
	f.Duration("l1-ttl", k.L1TTL, "knob: L1 cache TTL")
	f.Int("l1-size", k.L1Size, "knob: L1 cache entries")
	f.Duration("l2-ttl", k.L2TTL, "knob: L2 (Redis) TTL")
	f.Bool("bulk-writes", k.BulkWrites, "knob: bulk writes per batch and Redis pipelining")
	f.Duration("fetch-timeout", k.FetchTimeout, "knob: per-snapshot timeout, body included")
	f.Int64("max-body", k.MaxBody, "knob: largest snapshot body in bytes")
	f.Duration("analyze-cost", k.AnalyzeCost, "knob: CPU work added per analyzed frame (stands in for the detector)")
	f.Int("analyze-workers", k.AnalyzeWorkers, "knob: frames analyzed at once (0 = no bound: each fetch analyzes its own frame)")
	return cmd
}

// serveConfig reads and validates the settings; every bad value is a
// *cfgerr.Error naming its flag.
func serveConfig(v *viper.Viper) (serveOptions, error) {
	var errs []error
	str := func(name string) string { return v.GetString(name) }
	num := func(name string) int {
		n, err := strconv.Atoi(strings.TrimSpace(str(name)))
		if err != nil {
			errs = append(errs, cfgerr.Field(name, "not an integer: %q", str(name)))
		}
		return n
	}
	dur := func(name string) time.Duration {
		d, err := time.ParseDuration(strings.TrimSpace(str(name)))
		if err != nil {
			errs = append(errs, cfgerr.Field(name, "not a duration: %q", str(name)))
		}
		return d
	}
	boolean := func(name string) bool {
		b, err := strconv.ParseBool(strings.TrimSpace(str(name)))
		if err != nil {
			errs = append(errs, cfgerr.Field(name, "not a boolean: %q", str(name)))
		}
		return b
	}
	o := serveOptions{
		listen: str("listen"), admin: str("admin"), mongoURI: str("mongo-uri"), redisURL: str("redis-url"),
		ferretPostgres: str("ferretdb-postgres"), db: str("db"), readyFile: str("ready-file"),
		exitWithStdin: boolean("exit-with-stdin"), parentPID: num("parent-pid"),
		registryTimeout: dur("registry-timeout"), shutdownTimeout: dur("shutdown-timeout"), bufferSize: num("buffer"),
	}
	if err := o.logLevel.UnmarshalText([]byte(str("log-level"))); err != nil {
		errs = append(errs, cfgerr.Field("log-level", "want debug, info, warn or error, got %q", str("log-level")))
	}
	mode := system.Mode(str("mode"))
	cfg, ok := system.DefaultConfig(mode, str("fleet"))
	if !ok {
		return o, cfgerr.Field("mode", "unknown mode %q (want sync, async, pooled, cached or batched)", mode)
	}
	cfg.Interval = dur("interval")
	cfg.RegistryTimeout = o.registryTimeout
	k := &cfg.Knobs
	set := func(name string) bool { return v.IsSet(name) }
	if set("fan-out") {
		k.FanOut = system.FanOut(str("fan-out"))
	}
	if set("workers") {
		k.Workers = num("workers")
	}
	if set("batch-size") {
		k.BatchSize = num("batch-size")
	}
	if set("client") {
		k.Client = system.ClientKind(str("client"))
	}
	if set("max-conns") {
		k.MaxConns = num("max-conns")
	}
	if set("max-conns-per-host") {
		k.MaxConnsPerHost = num("max-conns-per-host")
	}
	if set("idle-timeout") {
		k.IdleTimeout = dur("idle-timeout")
	}
	if set("dedupe") {
		k.Dedupe = boolean("dedupe")
	}
	if set("api-cache") {
		k.APICache = boolean("api-cache")
	}
	if set("l1-ttl") {
		k.L1TTL = dur("l1-ttl")
	}
	if set("l1-size") {
		k.L1Size = num("l1-size")
	}
	if set("l2-ttl") {
		k.L2TTL = dur("l2-ttl")
	}
	if set("bulk-writes") {
		k.BulkWrites = boolean("bulk-writes")
	}
	if set("fetch-timeout") {
		k.FetchTimeout = dur("fetch-timeout")
	}
	if set("max-body") {
		n, err := strconv.ParseInt(strings.TrimSpace(str("max-body")), 10, 64)
		if err != nil {
			errs = append(errs, cfgerr.Field("max-body", "not a byte count: %q", str("max-body")))
		}
		k.MaxBody = n
	}
	if set("analyze-cost") {
		k.AnalyzeCost = dur("analyze-cost")
	}
	if set("analyze-workers") {
		k.AnalyzeWorkers = num("analyze-workers")
	}
	if err := cfgerr.Join(errs...); err != nil {
		return o, err
	}
	for _, a := range []struct{ name, addr string }{{"listen", o.listen}, {"admin", o.admin}} {
		if _, _, err := net.SplitHostPort(a.addr); err != nil {
			errs = append(errs, cfgerr.Field(a.name, "not host:port: %q", a.addr))
		}
	}
	if o.mongoURI == "" {
		errs = append(errs, cfgerr.Field("mongo-uri", "must be a mongodb:// URI or embedded"))
	}
	if o.redisURL == "" {
		errs = append(errs, cfgerr.Field("redis-url", "must be a redis:// URL or embedded"))
	}
	if o.db == "" {
		errs = append(errs, cfgerr.Field("db", "must be set"))
	}
	if o.parentPID < 0 {
		errs = append(errs, cfgerr.Field("parent-pid", "must be ≥ 0"))
	}
	if o.bufferSize < 1 {
		errs = append(errs, cfgerr.Field("buffer", "must be ≥ 1"))
	}
	if o.shutdownTimeout <= 0 {
		errs = append(errs, cfgerr.Field("shutdown-timeout", "must be > 0"))
	}
	if o.registryTimeout <= 0 {
		errs = append(errs, cfgerr.Field("registry-timeout", "must be > 0"))
	}
	if err := cfg.Validate(); err != nil {
		errs = append(errs, err)
	}
	o.cfg = cfg
	return o, cfgerr.Join(errs...)
}

// readyInfo is what --ready-file receives once the system is ready.
type readyInfo struct {
	API   string `json:"api"`
	Admin string `json:"admin"`
	PID   int    `json:"pid"`
}

// serve runs the system until ctx ends (SIGINT/SIGTERM), stdin closes
// (--exit-with-stdin) or the parent changes (--parent-pid), then shuts down
// gracefully: running cycles finish (up to --shutdown-timeout), buffered
// observations are flushed, and it returns nil.
func serve(ctx context.Context, a *app, o serveOptions) error {
	log := slog.New(slog.NewTextHandler(a.stderr, &slog.HandlerOptions{Level: o.logLevel}))
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	watchersDone := watchParent(ctx, cancel, o, log)
	defer func() { <-watchersDone }()
	defer cancel()

	// Redis is only needed when API reads are cached.
	redisURL := o.redisURL
	if !o.cfg.Knobs.APICache {
		redisURL = ""
	}
	be, err := backends.Start(ctx, backends.Options{Mongo: o.mongoURI, Redis: redisURL, FerretDBPostgres: o.ferretPostgres})
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	defer func() {
		if err := be.Close(); err != nil {
			log.Warn("closing backends", "err", err)
		}
	}()
	log.Info("backends", "mongo", be.Describe().Mongo, "redis", be.Describe().Redis)

	reg := system.NewRegistry()
	d, err := openDeps(ctx, o, be, reg)
	if err != nil {
		return err
	}
	defer d.close(log)
	opts := []system.Option{system.WithStore(d.store), system.WithRegisterer(reg), system.WithLogger(log)}
	if d.cache != nil {
		opts = append(opts, system.WithCache(cache.Layer{C: d.cache}))
	}
	sys, err := system.New(o.cfg, opts...)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	defer sys.Close()

	apiLn, err := net.Listen("tcp", o.listen)
	if err != nil {
		return cfgerr.Field("listen", "%v", err)
	}
	adminLn, err := net.Listen("tcp", o.admin)
	if err != nil {
		apiLn.Close()
		return cfgerr.Field("admin", "%v", err)
	}
	apiSrv := &http.Server{Handler: sys.APIHandler(), ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}
	adminSrv := &http.Server{Handler: sys.AdminHandler(reg), ReadHeaderTimeout: 10 * time.Second}
	srvErr := make(chan error, 2)
	go func() { srvErr <- serveHTTP(adminSrv, adminLn, "admin") }()
	go func() { srvErr <- serveHTTP(apiSrv, apiLn, "api") }()
	apiURL, adminURL := "http://"+apiLn.Addr().String(), "http://"+adminLn.Addr().String()
	log.Info("listening", "api", apiURL, "admin", adminURL, "mode", o.cfg.Mode)

	// Until shutdown, cycles run on cycleCtx, which outlives ctx by up to
	// --shutdown-timeout so a running cycle can finish.
	cycleCtx, cancelCycles := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelCycles()
	runDone := make(chan error, 1)
	var runErr error
	err = loadRegistry(ctx, sys, o.registryTimeout, log)
	if err == nil {
		log.Info("ready", "cameras", len(sys.Cameras()))
		if o.readyFile != "" {
			err = writeReadyFile(o.readyFile, readyInfo{API: apiURL, Admin: adminURL, PID: os.Getpid()})
		}
	}
	if err == nil {
		go func() { runDone <- sys.Run(cycleCtx, ctx.Done()) }()
		select {
		case <-ctx.Done():
			log.Info("shutting down")
		case err := <-srvErr:
			runErr = err
			cancel()
		}
		// Run returns between cycles once ctx is done.
		select {
		case runErr2 := <-runDone:
			runErr = errors.Join(runErr, runErr2)
		case <-time.After(o.shutdownTimeout):
			cancelCycles()
			runErr = errors.Join(runErr, <-runDone)
		}
	} else {
		runErr = err
	}

	// Graceful: in-flight API requests (a POST /api/v1/cycles among them)
	// finish within the shutdown timeout; then cycles are cancelled.
	sctx, scancel := context.WithTimeout(context.WithoutCancel(ctx), o.shutdownTimeout)
	defer scancel()
	if err := apiSrv.Shutdown(sctx); err != nil {
		cancelCycles()
		_ = apiSrv.Close()
	}
	cancelCycles()
	_ = adminSrv.Shutdown(sctx)
	for range 2 {
		if err := <-srvErr; err != nil {
			runErr = errors.Join(runErr, err)
		}
	}
	// Observations still buffered are written now; what cannot be (the
	// store is down) is counted as dropped when the store closes and
	// logged — a lost write at shutdown is data, not a failed shutdown.
	if err := d.store.Flush(sctx); err != nil {
		log.Warn("flushing buffered observations", "pending", d.store.Pending(), "err", err)
	}
	if o.readyFile != "" {
		_ = os.Remove(o.readyFile)
	}
	return runErr
}

func serveHTTP(srv *http.Server, ln net.Listener, name string) error {
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %s listener: %w", name, err)
	}
	return nil
}

// loadRegistry retries LoadRegistry (the fleet or the store may still be
// starting) until it succeeds, ctx ends or timeout passes.
func loadRegistry(ctx context.Context, sys *system.System, timeout time.Duration, log *slog.Logger) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	delay := 100 * time.Millisecond
	for attempt := 1; ; attempt++ {
		err := sys.LoadRegistry(ctx)
		if err == nil {
			return nil
		}
		log.Warn("loading the registry", "attempt", attempt, "err", err)
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("serve: loading the registry (gave up after %d attempts): %w", attempt, err)
		case <-t.C:
		}
		delay = min(2*delay, 2*time.Second)
	}
}

// writeReadyFile writes info to path atomically (temp file + rename).
func writeReadyFile(path string, info readyInfo) error {
	b, err := json.Marshal(info)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".ready-*")
	if err != nil {
		return cfgerr.Field("ready-file", "%v", err)
	}
	_, werr := tmp.Write(append(b, '\n'))
	cerr := tmp.Close()
	if err := errors.Join(werr, cerr); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("serve: writing %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("serve: writing %s: %w", path, err)
	}
	return nil
}

// watchParent cancels ctx when stdin is closed (--exit-with-stdin) or the
// parent process changes (--parent-pid). The returned channel closes when
// the watchers have stopped, which they do when ctx ends.
func watchParent(ctx context.Context, cancel context.CancelFunc, o serveOptions, log *slog.Logger) <-chan struct{} {
	done := make(chan struct{})
	var n int
	finished := make(chan struct{}, 2)
	if o.exitWithStdin {
		n++
		go func() {
			defer func() { finished <- struct{}{} }()
			// A read on stdin ends with EOF when the parent dies; it
			// cannot be interrupted, so it is left to end with the
			// process once ctx ends.
			eof := make(chan struct{})
			go func() {
				_, _ = io.Copy(io.Discard, os.Stdin)
				close(eof)
			}()
			select {
			case <-eof:
				log.Info("stdin closed: shutting down")
				cancel()
			case <-ctx.Done():
			}
		}()
	}
	if o.parentPID > 0 {
		n++
		go func() {
			defer func() { finished <- struct{}{} }()
			t := time.NewTicker(500 * time.Millisecond)
			defer t.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-t.C:
					if os.Getppid() != o.parentPID {
						log.Info("parent gone: shutting down", "parent", o.parentPID)
						cancel()
						return
					}
				}
			}
		}()
	}
	go func() {
		for range n {
			<-finished
		}
		close(done)
	}()
	return done
}

// deps are the system's store and cache, owned by serve.
type deps struct {
	store *store.Buffered
	rdb   *redis.Client
	cache *cache.Cache
}

// openDeps connects the store (wrapped to buffer observations through a
// MongoDB outage) and, when API reads are cached, Redis and the cache.
func openDeps(ctx context.Context, o serveOptions, be *backends.Backends, reg prometheus.Registerer) (*deps, error) {
	cctx, cancel := context.WithTimeout(ctx, o.registryTimeout)
	defer cancel()
	m, err := store.OpenMongo(cctx, be.MongoURI(), o.db)
	if err != nil {
		return nil, fmt.Errorf("serve: %w", err)
	}
	// Embedded FerretDB on SQLite scans a table for every _id lookup
	// unless given the index its queries can use.
	if _, err := be.IndexIDs(cctx, o.db); err != nil && !errors.Is(err, backends.ErrNotSQLite) {
		_ = m.Close(context.WithoutCancel(ctx))
		return nil, fmt.Errorf("serve: %w", err)
	}
	bopts := store.DefaultBufferOptions
	bopts.Capacity = o.bufferSize
	buf, err := store.NewBuffered(m, reg, bopts)
	if err != nil {
		_ = m.Close(context.WithoutCancel(ctx))
		return nil, fmt.Errorf("serve: %w", err)
	}
	d := &deps{store: buf}
	if !o.cfg.Knobs.APICache {
		return d, nil
	}
	d.rdb, err = cache.NewRedis(be.RedisURL())
	if err == nil {
		copts := cache.DefaultOptions
		k := o.cfg.Knobs
		copts.L1Size, copts.L1TTL, copts.L2TTL = k.L1Size, k.L1TTL, k.L2TTL
		d.cache, err = cache.New(d.rdb, reg, copts)
	}
	if err != nil {
		d.close(slog.New(slog.DiscardHandler))
		return nil, fmt.Errorf("serve: %w", err)
	}
	return d, nil
}

// close flushes and closes the store (counting what cannot be written as
// dropped) and closes Redis.
func (d *deps) close(log *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := d.store.Close(ctx); err != nil {
		log.Warn("closing the store", "err", err)
	}
	if d.rdb != nil {
		_ = d.rdb.Close()
	}
}
