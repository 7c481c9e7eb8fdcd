package server

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
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/camload/camload/internal/cfgerr"
	"github.com/camload/camload/internal/wait"
	"github.com/camload/camload/system"
	"github.com/camload/camload/system/backends"
	"github.com/camload/camload/system/cache"
	"github.com/camload/camload/system/store"
)

// Defaults used for zero Options fields.
const (
	DefaultListen          = "127.0.0.1:8080"
	DefaultAdmin           = "127.0.0.1:8081"
	DefaultDB              = "camload"
	DefaultShutdownTimeout = 30 * time.Second
	DefaultBufferSize      = 10000
)

// Options configure Run. The zero value of every field but Config is
// usable and means the documented default; Config must be a valid
// system.Config (see system.DefaultConfig).
type Options struct {
	// Config is the system's configuration: mode, fleet URL, knobs,
	// interval. Required.
	Config system.Config

	// Listen is the API's listen address; zero means DefaultListen. Port 0
	// picks any free port (the ready file says which).
	Listen string
	// Admin is the listen address of /metrics, /debug/pprof, /healthz and
	// /readyz; zero means DefaultAdmin.
	Admin string
	// Expose allows Listen and Admin addresses beyond loopback: an empty
	// host (":8081"), 0.0.0.0 or :: (every interface), any other IP or a
	// host name other than localhost. Zero (false) refuses them, so the
	// admin endpoints (profiles, metrics) and the API are reachable from
	// this machine only. Run logs a warning for every exposed address.
	Expose bool

	// MongoURI is a mongodb:// URI; zero or backends.Embedded runs
	// FerretDB in this process.
	MongoURI string
	// RedisURL is a redis:// URL; zero or backends.Embedded runs
	// miniredis in this process. Only used when Config.Knobs.APICache.
	RedisURL string
	// FerretDBPostgres is the PostgreSQL URL of an embedded FerretDB;
	// zero means SQLite in a temporary directory.
	FerretDBPostgres string
	// DB is the MongoDB database name; zero means DefaultDB.
	DB string

	// ReadyFile, when set, receives a ReadyInfo once the system is ready
	// and is removed on shutdown; zero writes none.
	ReadyFile string
	// Stdin, when set, is read to EOF; EOF (the parent died) shuts the
	// system down. Zero watches nothing (camload serve --exit-with-stdin
	// passes os.Stdin).
	Stdin io.Reader
	// ParentPID, when > 0, shuts the system down once os.Getppid() is no
	// longer ParentPID; zero watches nothing.
	ParentPID int
	// ParentPoll is how often ParentPID is checked; zero means 500ms.
	ParentPoll time.Duration

	// RegistryTimeout bounds connecting to the store and loading the
	// camera registry (retried with back-off); zero means
	// Config.RegistryTimeout, or system.DefaultRegistryTimeout if that is
	// zero too.
	RegistryTimeout time.Duration
	// ShutdownTimeout bounds graceful shutdown; zero means
	// DefaultShutdownTimeout.
	ShutdownTimeout time.Duration
	// BufferSize is how many observations are buffered while MongoDB is
	// down (beyond: dropped and counted); zero means DefaultBufferSize.
	BufferSize int

	// Logger receives the service's log; nil discards it.
	Logger *slog.Logger

	// Group, when set, makes this system a replica of the group of that
	// name (package group): the replicas share every cycle's cameras
	// through a Redis Stream on RedisURL (which must then be a Redis all
	// replicas reach; embedded makes a group of one), the coordinator
	// among them runs the cycles (POST /api/v1/cycles, --interval) and the
	// others answer that POST with 409 naming it. Zero: a standalone
	// system.
	Group string
	// GroupClaimIdle is how long a job of a replica that stopped may stay
	// pending before another replica takes it over; zero means
	// group.DefaultClaimIdle.
	GroupClaimIdle time.Duration
	// GroupLeaseTTL is the lifetime of the coordinator lease; zero means
	// group.DefaultLeaseTTL.
	GroupLeaseTTL time.Duration
}

// ReadyInfo is what Run writes to Options.ReadyFile once the system is
// ready, and what the runner reads.
type ReadyInfo struct {
	API   string `json:"api"`   // http://host:port of the JSON API
	Admin string `json:"admin"` // http://host:port of the admin endpoints
	PID   int    `json:"pid"`   // the serving process
}

// withDefaults returns o with zero fields set to their defaults.
func (o Options) withDefaults() Options {
	if o.Listen == "" {
		o.Listen = DefaultListen
	}
	if o.Admin == "" {
		o.Admin = DefaultAdmin
	}
	if o.MongoURI == "" {
		o.MongoURI = backends.Embedded
	}
	if o.RedisURL == "" {
		o.RedisURL = backends.Embedded
	}
	if o.DB == "" {
		o.DB = DefaultDB
	}
	if o.ParentPoll == 0 {
		o.ParentPoll = 500 * time.Millisecond
	}
	if o.RegistryTimeout == 0 {
		o.RegistryTimeout = o.Config.RegistryTimeout
	}
	if o.RegistryTimeout == 0 {
		o.RegistryTimeout = system.DefaultRegistryTimeout
	}
	if o.ShutdownTimeout == 0 {
		o.ShutdownTimeout = DefaultShutdownTimeout
	}
	if o.BufferSize == 0 {
		o.BufferSize = DefaultBufferSize
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// Validate reports every bad field, each as a *cfgerr.Error named after
// its camload serve flag (listen, admin, parent-pid, buffer,
// shutdown-timeout, registry-timeout), then the Config's errors. A listen
// address beyond loopback without Expose is an error of its field.
func (o Options) Validate() error {
	var errs []error
	d := o.withDefaults()
	for _, a := range []struct{ name, addr string }{{"listen", d.Listen}, {"admin", d.Admin}} {
		if _, _, err := net.SplitHostPort(a.addr); err != nil {
			errs = append(errs, cfgerr.Field(a.name, "not host:port: %q", a.addr))
		} else if !o.Expose && !loopbackAddr(a.addr) {
			errs = append(errs, cfgerr.Field(a.name, "%q listens on %s; pass --expose to allow that (default: loopback only)", a.addr, interfacesOf(a.addr)))
		}
	}
	if o.ParentPID < 0 {
		errs = append(errs, cfgerr.Field("parent-pid", "must be ≥ 0"))
	}
	if o.BufferSize < 0 {
		errs = append(errs, cfgerr.Field("buffer", "must be ≥ 1"))
	}
	if o.ShutdownTimeout < 0 {
		errs = append(errs, cfgerr.Field("shutdown-timeout", "must be > 0"))
	}
	if o.RegistryTimeout < 0 {
		errs = append(errs, cfgerr.Field("registry-timeout", "must be > 0"))
	}
	if o.ParentPoll < 0 {
		errs = append(errs, cfgerr.Field("parent-poll", "must be > 0"))
	}
	errs = append(errs, o.validateGroup()...)
	if err := o.Config.Validate(); err != nil {
		errs = append(errs, err)
	}
	return cfgerr.Join(errs...)
}

// Run runs the system until ctx ends, Options.Stdin reaches EOF or the
// parent changes (Options.ParentPID), then shuts down gracefully: running
// cycles finish (up to ShutdownTimeout), buffered observations are
// flushed, and it returns nil. Shutdown order: API listener (in-flight
// requests answered), cycles, admin listener, store flush, ready file,
// store and Redis, backends.
func Run(ctx context.Context, o Options) error {
	if err := o.Validate(); err != nil {
		return err
	}
	o = o.withDefaults()
	log := o.Logger
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	watchersDone := watchParent(ctx, cancel, o)
	defer func() { <-watchersDone }()
	defer cancel()

	// Redis is only needed when API reads are cached or for a group.
	redisURL := o.RedisURL
	if !o.Config.Knobs.APICache && o.Group == "" {
		redisURL = ""
	}
	be, err := backends.Start(ctx, backends.Options{Mongo: o.MongoURI, Redis: redisURL, FerretDBPostgres: o.FerretDBPostgres})
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
	cfg := o.Config
	cfg.RegistryTimeout = o.RegistryTimeout
	sys, err := system.New(cfg, opts...)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	defer sys.Close()
	gm, err := newMember(o, be.RedisURL(), sys)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	defer func() {
		if err := gm.stop(); err != nil {
			log.Warn("stopping the group replica", "err", err)
		}
	}()

	apiLn, err := net.Listen("tcp", o.Listen)
	if err != nil {
		return cfgerr.Field("listen", "%v", err)
	}
	adminLn, err := net.Listen("tcp", o.Admin)
	if err != nil {
		apiLn.Close()
		return cfgerr.Field("admin", "%v", err)
	}
	warnExposed(log, apiLn.Addr().String(), adminLn.Addr().String())
	apiSrv := &http.Server{Handler: gm.apiHandler(sys), ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}
	adminSrv := &http.Server{Handler: adminHandler(sys.AdminHandler(reg)), ReadHeaderTimeout: 10 * time.Second}
	srvErr := make(chan error, 2)
	go func() { srvErr <- serveHTTP(adminSrv, adminLn, "admin") }()
	go func() { srvErr <- serveHTTP(apiSrv, apiLn, "api") }()
	apiURL, adminURL := "http://"+apiLn.Addr().String(), "http://"+adminLn.Addr().String()
	log.Info("listening", "api", apiURL, "admin", adminURL, "mode", cfg.Mode)

	// Until shutdown, cycles run on cycleCtx, which outlives ctx by up to
	// ShutdownTimeout so a running cycle can finish.
	cycleCtx, cancelCycles := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelCycles()
	runDone := make(chan error, 1)
	var runErr error
	err = loadRegistry(ctx, sys, o.RegistryTimeout, log)
	if err == nil {
		log.Info("ready", "cameras", len(sys.Cameras()))
		if o.ReadyFile != "" {
			err = writeReadyFile(o.ReadyFile, ReadyInfo{API: apiURL, Admin: adminURL, PID: os.Getpid()})
		}
	}
	if err == nil {
		gm.start(ctx)
		go func() { runDone <- gm.runCycles(cycleCtx, ctx.Done(), sys) }()
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
		case <-time.After(o.ShutdownTimeout):
			cancelCycles()
			runErr = errors.Join(runErr, <-runDone)
		}
	} else {
		runErr = err
	}

	// Graceful: in-flight API requests (a POST /api/v1/cycles among them)
	// finish within the shutdown timeout; then cycles are cancelled.
	sctx, scancel := context.WithTimeout(context.WithoutCancel(ctx), o.ShutdownTimeout)
	defer scancel()
	if err := apiSrv.Shutdown(sctx); err != nil {
		cancelCycles()
		_ = apiSrv.Close()
	}
	cancelCycles()
	if err := gm.stop(); err != nil { // its unfinished jobs go to other replicas
		log.Warn("stopping the group replica", "err", err)
	}
	_ = adminSrv.Shutdown(sctx)
	for range 2 {
		if err := <-srvErr; err != nil {
			runErr = errors.Join(runErr, err)
		}
	}
	// Cameras abandoned by a cycle deadline finish (their late results
	// stored) within the shutdown timeout; the rest are canceled.
	if err := sys.Drain(sctx); err != nil {
		log.Warn("waiting for the cameras in flight", "err", err)
	}
	_ = sys.Close()
	// Observations still buffered are written now; what cannot be (the
	// store is down) is counted as dropped when the store closes and
	// logged — a lost write at shutdown is data, not a failed shutdown.
	if err := d.store.Flush(sctx); err != nil {
		log.Warn("flushing buffered observations", "pending", d.store.Pending(), "err", err)
	}
	if o.ReadyFile != "" {
		_ = os.Remove(o.ReadyFile)
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
// starting) until it succeeds, ctx ends or timeout passes. The delay
// between attempts doubles from 100ms up to 2s.
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
func writeReadyFile(path string, info ReadyInfo) error {
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

// watchParent cancels ctx when o.Stdin reaches EOF or the parent process
// changes (o.ParentPID). The returned channel closes when the watchers
// have stopped, which they do when ctx ends.
func watchParent(ctx context.Context, cancel context.CancelFunc, o Options) <-chan struct{} {
	log := o.Logger
	done := make(chan struct{})
	var n int
	finished := make(chan struct{}, 2)
	if o.Stdin != nil {
		n++
		go func() {
			defer func() { finished <- struct{}{} }()
			// A read on stdin ends with EOF when the parent dies; it
			// cannot be interrupted, so it is left to end with the
			// process once ctx ends.
			eof := make(chan struct{})
			go func() {
				_, _ = io.Copy(io.Discard, o.Stdin)
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
	if o.ParentPID > 0 {
		n++
		go func() {
			defer func() { finished <- struct{}{} }()
			wait.Every(ctx, o.ParentPoll, func(time.Time) {
				if os.Getppid() != o.ParentPID {
					log.Info("parent gone: shutting down", "parent", o.ParentPID)
					cancel() // the last step: ctx is done
				}
			})
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

// deps are the system's store and cache, owned by Run.
type deps struct {
	store *store.Buffered
	rdb   *redis.Client
	cache *cache.Cache
}

// openDeps connects the store (wrapped to buffer observations through a
// MongoDB outage) and, when API reads are cached, Redis and the cache.
func openDeps(ctx context.Context, o Options, be *backends.Backends, reg prometheus.Registerer) (*deps, error) {
	cctx, cancel := context.WithTimeout(ctx, o.RegistryTimeout)
	defer cancel()
	m, err := store.OpenMongo(cctx, be.MongoURI(), o.DB)
	if err != nil {
		return nil, fmt.Errorf("serve: %w", err)
	}
	// Embedded FerretDB on SQLite scans a table for every _id lookup
	// unless given the index its queries can use.
	if _, err := be.IndexIDs(cctx, o.DB); err != nil && !errors.Is(err, backends.ErrNotSQLite) {
		_ = m.Close(context.WithoutCancel(ctx))
		return nil, fmt.Errorf("serve: %w", err)
	}
	bopts := store.DefaultBufferOptions
	bopts.Capacity = o.BufferSize
	buf, err := store.NewBuffered(m, reg, bopts)
	if err != nil {
		_ = m.Close(context.WithoutCancel(ctx))
		return nil, fmt.Errorf("serve: %w", err)
	}
	d := &deps{store: buf}
	if !o.Config.Knobs.APICache {
		return d, nil
	}
	d.rdb, err = cache.NewRedis(be.RedisURL())
	if err == nil {
		copts := cache.DefaultOptions
		k := o.Config.Knobs
		copts.L1Size, copts.L1TTL, copts.L2TTL = k.L1Size, k.L1TTL, k.L2TTL
		d.cache, err = cache.New(d.rdb, reg, copts)
	}
	if err == nil {
		// A Redis that rejects the password is a configuration error:
		// fail now rather than after the registry's retries. An
		// unreachable Redis is an outage the cache tolerates (Check
		// returns nil for it).
		err = d.cache.Check(ctx)
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
