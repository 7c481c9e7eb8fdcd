// Package bench runs scenarios: for every cell of a scenario's matrix
// (mode × cameras × repetition) it starts the fake-camera fleet in process,
// the system under test as a child process (`camload serve`), runs and
// measures processing cycles, attacks the system's API with vegeta, samples
// the system's resources and profiles, and writes a run folder with
// results.json. It never prints or exits; progress goes to the writers in
// Options.
//
// A run folder holds:
//
//	results.json                      the versioned results (results)
//	cells/<mode>-<cameras>-r<rep>/
//	    api-<target>.bin              vegeta results: vegeta report|plot FILE
//	    capacity-<target>-NN.bin      one per capacity-search step (bodies
//	                                  left out, their size kept)
//	    cpu.pb.gz, heap.pb.gz         pprof profiles: go tool pprof FILE
//	    system.log                    the system's stdout and stderr
//	    ready.json                    the system's ready file (ports, pid)
//	cells/<mode>-<cameras>-x<n>-r<rep>/  a cell of n replicas (system.replicas,
//	    replica-<i>/system.log        replicas.go): each replica's log and
//	    redis/redis.log               ready file; the redis-server the runner
//	                                  started for the group, if any
//
// How each figure is measured:
//
//   - Cycles: warm-up cycles, then K × POST /api/v1/cycles; cycle,
//     per-camera and freshness latencies go into HDR histograms (no
//     per-camera slice is kept).
//   - Errors are reconciled with the fleet's GET /faults delta over the
//     measured cycles: http_5xx, overflow_503 and device_overflow_503 →
//     http_5xx, hang → timeout, slow_drip → timeout when every frame at
//     the drip rate outlasts the fetch timeout (none when the largest takes
//     under a quarter of it, else up to one timeout each), reset,
//     overflow_reset and device_overflow_reset → conn less the transport's
//     retries, truncated and garbage → bad_image, oversized → too_large,
//     placeholder and offline → placeholder.
//   - Per-camera latency (cycles.per_camera) is every camera visit of the
//     measured cycles; every Quantiles carries its n (count) and 95%
//     confidence intervals of its median and mean (ci95).
//   - The ideal cycle is a lower bound from the fleet's own log of each
//     measured cycle's requests (the latency it drew for each): see
//     idealBound. Efficiency = ideal ÷ actual p50, never clipped; above 1
//     the cell fails ("ideal above actual: bug").
//   - API latency is measured from each request's intended send time
//     (began + (seq+1)/rate), correcting coordinated omission; the
//     uncorrected figure is kept as latency_raw.
//   - Windows: the cycles window runs from just before the first measured
//     cycle is posted to the last one's answer; the API window from the
//     first load target to the end of the last capacity search. Each has
//     its own sampler of the system's /metrics (every Options.SampleEvery),
//     the CPU time of the system's process tree and of the runner
//     (internal/proc) and the machine's busy share over it, and the
//     system's cache traffic. The legacy resources field is the cycles
//     window's sampler. The CPU profile starts inside the cycles window,
//     and the measured cycles go on (beyond system.cycles) until it has
//     ended; the heap profile is taken between the windows.
package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/camload/camload/dashboard"
	"github.com/camload/camload/results"
	"github.com/camload/camload/scenarios"
	"github.com/camload/camload/system/backends"
	"github.com/camload/camload/system/store"
)

// Options are the settings of Run that are not part of the scenario.
type Options struct {
	// OutDir is the run folder (created): results.json, cells/<cell>/
	// with vegeta .bin files, profiles and the system's log.
	OutDir string
	// SystemBinary is the camload binary whose `serve` is the system under
	// test; "" means this executable (os.Executable). `camload compare`
	// passes other builds.
	SystemBinary string
	// AllowRemote permits backend URIs that are not loopback.
	AllowRemote bool
	// Progress receives progress: bars when IsTTY, else plain lines.
	// nil = none.
	Progress io.Writer
	IsTTY    bool
	// Logf receives details (one line each); nil = none.
	Logf func(format string, args ...any)
	// Version is the camload version recorded in results.
	Version string

	// StopGrace is how long a stopped system gets between SIGTERM and
	// SIGKILL of its process group; zero means DefaultStopGrace.
	StopGrace time.Duration
	// SampleEvery is the resource sampling period of the system's
	// /metrics; zero means DefaultSampleEvery.
	SampleEvery time.Duration
	// TopN is the number of functions kept from each profile's top list;
	// zero means DefaultTopN.
	TopN int
	// Events receives the run's live dashboard events (bench/events.go); nil = none.
	Events *dashboard.Hub
	// KeepData keeps each cell's database after the cell; false (the
	// default) drops it once the system has stopped, so that a run on
	// external backends leaves nothing behind.
	KeepData bool
	// RedisServer is the redis-server the runner starts for the cells of
	// system.replicas when backends.redis is embedded: "" looks it up on
	// PATH, NoRedisServer never starts one (miniredis is hosted on a
	// loopback port instead). See replicas.go.
	RedisServer string
}

// Defaults of the zero Options tuning fields.
const (
	DefaultStopGrace   = 5 * time.Second
	DefaultSampleEvery = 250 * time.Millisecond
	DefaultTopN        = 10
)

// withDefaults returns o with zero tuning fields set to their defaults.
func (o Options) withDefaults() Options {
	if o.StopGrace <= 0 {
		o.StopGrace = DefaultStopGrace
	}
	if o.SampleEvery <= 0 {
		o.SampleEvery = DefaultSampleEvery
	}
	if o.TopN <= 0 {
		o.TopN = DefaultTopN
	}
	return o
}

// ErrCellsFailed is wrapped by Run's error when the run completed but some
// cells failed.
var ErrCellsFailed = errors.New("bench: cells failed")

// Run runs every cell of sc in order and writes OutDir/results.json after
// each cell, so an interrupted run leaves its partial results. When ctx is
// cancelled it stops the current cell, kills the system, writes the
// results with Interrupted set and returns an error wrapping
// context.Canceled. Run is not safe for concurrent use with the same
// OutDir.
func Run(ctx context.Context, sc *scenarios.Scenario, opts Options) (*results.Run, error) {
	if err := sc.Validate(); err != nil {
		return nil, err
	}
	opts = opts.withDefaults()
	if opts.OutDir == "" {
		return nil, errors.New("bench: Options.OutDir is required")
	}
	if opts.SystemBinary == "" {
		exe, err := os.Executable()
		if err != nil {
			return nil, fmt.Errorf("bench: finding the system binary: %w", err)
		}
		opts.SystemBinary = exe
	}
	if opts.Logf == nil {
		opts.Logf = func(string, ...any) {}
	}
	if !opts.AllowRemote {
		for _, u := range []struct{ field, uri string }{
			{"backends.mongo", sc.Backends.Mongo}, {"backends.redis", sc.Backends.Redis}, {"backends.ferretdb_postgres", sc.Backends.FerretDBPostgres},
		} {
			if u.uri == "" || u.uri == "embedded" || u.uri == scenarios.FerretDBPostgres {
				continue
			}
			if err := checkLoopback(u.uri); err != nil {
				return nil, fmt.Errorf("%s: %w", u.field, err)
			}
		}
	}
	if err := os.MkdirAll(opts.OutDir, 0o755); err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}

	be, err := backends.Start(ctx, backends.Options{Mongo: sc.Backends.MongoOption(), Redis: sc.Backends.Redis, FerretDBPostgres: sc.Backends.FerretDBPostgres})
	if err != nil {
		return nil, fmt.Errorf("bench: starting backends: %w", err)
	}
	defer be.Close()

	run := &results.Run{
		Schema:       results.SchemaVersion,
		Scenario:     sc.Name,
		ScenarioFile: sc.File,
		Started:      time.Now().UTC(),
		Env:          Environment(opts.Version),
		Thresholds:   sc.Thresholds,
		// The gate's rules and the reports' declarations (reports/gate).
		Expect:           sc.Expect,
		Compare:          sc.Compare,
		ExpectOverBudget: sc.ExpectOverBudget,
		Filtered:         sc.Filtered,
	}
	run.Env.Backends = results.Backends(be.Describe())
	run.Seed = sc.Seed
	resultsPath := filepath.Join(opts.OutDir, "results.json")
	prog := newProgress(opts, sc)
	defer prog.finish()

	var failed int
	idx := 0
	// Interleaved: repetition 0 of every camera count and mode, then
	// repetition 1, …, so that drift (a busy machine, a warming disk) hits
	// every mode alike. Every cell of one repetition shares its seed: the
	// modes meet the same fault and latency draws.
	for _, k := range cellOrder(sc) {
		idx++
		if ctx.Err() != nil {
			break
		}
		cr := &cellRun{sc: sc, opts: opts, be: be, mode: k.mode, cameras: k.cameras, replicas: k.replicas, rep: k.rep, seed: RepSeed(sc.Seed, k.rep), index: idx, prog: prog}
		cell := cr.run(ctx)
		if cell.Status == results.StatusFailed {
			failed++
		}
		run.Cells = append(run.Cells, cell)
		run.Scaleout = Scaleouts(run.Cells) // nil without replica cells
		prog.cellDone(cell)
		run.Finished = time.Now().UTC()
		run.Interrupted = ctx.Err() != nil
		if err := results.Write(resultsPath, run); err != nil {
			return run, fmt.Errorf("bench: %w", err)
		}
	}
	run.Finished = time.Now().UTC()
	if ctx.Err() != nil {
		run.Interrupted = true
		if err := results.Write(resultsPath, run); err != nil {
			return run, fmt.Errorf("bench: %w", err)
		}
		return run, fmt.Errorf("bench: run interrupted after %d of %d cells: %w", len(run.Cells), sc.Cells(), ctx.Err())
	}
	if failed > 0 {
		return run, fmt.Errorf("%w: %d of %d (see %s)", ErrCellsFailed, failed, len(run.Cells), resultsPath)
	}
	return run, nil
}

// cellKey names one cell of the matrix.
type cellKey struct {
	mode     string
	cameras  int
	rep      int
	replicas int // 0: one plain system, not a group
}

// cellOrder is the order Run runs sc's cells in: repetition-major, then
// camera count, then replica count (system.replicas), then mode.
func cellOrder(sc *scenarios.Scenario) []cellKey {
	replicas := sc.System.Replicas
	if len(replicas) == 0 {
		replicas = []int{0}
	}
	var out []cellKey
	for rep := 0; rep < sc.Repeat; rep++ {
		for _, cams := range sc.Fleet.Cameras {
			for _, n := range replicas {
				for _, mode := range sc.System.Modes {
					out = append(out, cellKey{mode, cams, rep, n})
				}
			}
		}
	}
	return out
}

// RepSeed is the seed of repetition rep of a scenario seeded with seed:
// the scenario's seed itself for repetition 0, and for the others a
// SplitMix64 mix of both, so that repetitions draw different faults and
// latencies while a rerun repeats them.
func RepSeed(seed int64, rep int) int64 {
	if rep == 0 {
		return seed
	}
	z := uint64(seed) + uint64(rep)*0x9e3779b97f4a7c15
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return int64((z ^ (z >> 31)) & (1<<62 - 1))
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9_-]+`)

// cellName is the cell's folder and database suffix: sync-100-r0.
func cellName(mode string, cameras, rep int) string {
	return fmt.Sprintf("%s-%d-r%d", mode, cameras, rep)
}

// prepareDB creates database db's collections and indexes (the store's
// own) before the system starts, so that embedded FerretDB on SQLite can be
// given the _id expression indexes it lacks (backends.IndexIDs); other
// backends need nothing more.
func prepareDB(ctx context.Context, be *backends.Backends, db string) error {
	s, err := store.OpenMongo(ctx, be.MongoURI(), db)
	if err != nil {
		return fmt.Errorf("preparing database %s: %w", db, err)
	}
	if err := s.Close(ctx); err != nil {
		return fmt.Errorf("preparing database %s: %w", db, err)
	}
	if _, err := be.IndexIDs(ctx, db); err != nil && !errors.Is(err, backends.ErrNotSQLite) {
		return fmt.Errorf("preparing database %s: %w", db, err)
	}
	return nil
}

// dropDB drops database db after its cell (Options.KeepData false).
func dropDB(ctx context.Context, be *backends.Backends, db string) error {
	s, err := store.OpenMongo(ctx, be.MongoURI(), db)
	if err != nil {
		return fmt.Errorf("dropping database %s: %w", db, err)
	}
	derr := s.Drop(ctx)
	if cerr := s.Close(ctx); derr == nil {
		derr = cerr
	}
	if derr != nil {
		return fmt.Errorf("dropping database %s: %w", db, derr)
	}
	return nil
}

// dbName is a fresh database name per cell and run.
func dbName(scenario string, cell string, at time.Time) string {
	s := strings.ToLower(unsafeName.ReplaceAllString(scenario+"_"+cell, "_"))
	s = fmt.Sprintf("cl_%s_%x", s, at.UnixNano()&0xffffff)
	if len(s) > 60 {
		s = s[:60]
	}
	return strings.ReplaceAll(s, "-", "_")
}
