// Package scenarios is the versioned schema of a camload scenario file: what
// to run (the fleet, the system modes, the backends, the API load) and what to
// measure (cycles, profiles, thresholds). Load reads a YAML file through
// viper, applies CAMLOAD_* environment overrides and validates the result;
// every error is a *cfgerr.Error naming the file, the field and, where it can
// be found, the line.
//
// A Scenario is plain data: safe to copy (Clone for a deep copy) and to read
// concurrently, not to mutate concurrently.
package scenarios

import (
	"time"

	"github.com/camload/camload/results"

	"github.com/camload/camload/simulator"
)

// SchemaVersion is the scenario format this build reads (`version: 1`).
const SchemaVersion = 1

// Scenario is one scenario file. Its matrix is Fleet.Cameras × System.Modes ×
// Repeat cells.
type Scenario struct {
	// Name identifies the scenario in results and reports.
	Name string `mapstructure:"name"`
	// Version is the schema version; it must be SchemaVersion.
	Version int `mapstructure:"version"`
	// Seed makes the fleet (inventory, latency, faults) and the API
	// targets' ids deterministic.
	Seed int64 `mapstructure:"seed"`
	// Repeat is how many times each cell runs (≥ 1); gates judge
	// regressions over repetitions.
	Repeat int `mapstructure:"repeat"`
	// CellBudget is the time one cell may take, start-up included. A cell
	// over budget is stopped and recorded as over_budget, never
	// extrapolated.
	CellBudget time.Duration `mapstructure:"cell_budget"`

	Fleet    Fleet    `mapstructure:"fleet"`
	System   System   `mapstructure:"system"`
	Backends Backends `mapstructure:"backends"`
	// Load is the API load applied to the system after its cycles, one
	// attack per target, in order.
	Load     []Target `mapstructure:"load"`
	Profiles Profiles `mapstructure:"profiles"`
	// Thresholds map a metric, with an optional selector of cells, to a
	// condition (results/rule grammar), e.g. cycle_p99: "< 1s" on every
	// cell, "cycle_p99{mode:batched,cameras:1000}": "< 1s", error_rate:
	// "< 1%", rss_peak: "< 512MiB", api.latest.p99: "< 50ms". They are
	// copied to results.json and judged by `camload gate`. nil: none.
	Thresholds map[string]string `mapstructure:"thresholds"`
	// Expect lists cross-cell rules, e.g.
	// "cycle_p99{mode:async,cameras:1000} / cycle_p99{mode:async,cameras:100} >= 5";
	// copied to results.json and judged by `camload gate`. nil: none.
	Expect []string `mapstructure:"expect"`
	// Compare declares the comparisons the reports show (scaling: {mode},
	// before_after: {before, after}); nil: the first and last modes that
	// completed.
	Compare *results.Comparisons `mapstructure:"compare"`
	// ExpectOverBudget lists selectors of cells expected to run over their
	// budget ("mode:sync,cameras:1000"): such a cell is not a failure of
	// the gate, while an unexpected one is. nil: none.
	ExpectOverBudget []string `mapstructure:"expect_over_budget"`

	// File is the path the scenario was loaded from ("" for Default).
	File string `mapstructure:"-"`
	// Filtered is set when --modes or --cameras changed the file's
	// matrix (bench.LoadScenario): its own modes and camera counts and
	// those kept, recorded in results.json for the gate. nil otherwise.
	Filtered *results.Filter `mapstructure:"-"`
}

// Fleet is the `fleet:` section: every key of simulator.Config, except that
// cameras is a list, one matrix column per entry. The fleet always listens
// on free loopback ports (listen is set by the runner); seed comes from the
// scenario's seed.
type Fleet struct {
	// Cameras lists the fleet sizes to run, each 1 … 20,000.
	Cameras []int `mapstructure:"-"`
	// CamerasPerHost, when > 0, sizes the fleet's hosts per cell:
	// ⌈cameras ÷ CamerasPerHost⌉ gateways, so that one scenario can grow
	// a city at a fixed gateway size; 0 = fleet.hosts for every size.
	CamerasPerHost int `mapstructure:"-"`
	// Config holds every other fleet key (hosts, width, height, quality,
	// refresh, etag, latency, capacity, faults, tls).
	simulator.Config `mapstructure:",squash"`
}

// ConfigFor returns the fleet configuration of a cell of the given size:
// Config with Cameras set and, when CamerasPerHost is set, the hosts it
// implies.
func (f Fleet) ConfigFor(cameras int) simulator.Config {
	cfg := f.Config
	cfg.Cameras = cameras
	if f.CamerasPerHost > 0 {
		cfg.Hosts = (cameras + f.CamerasPerHost - 1) / f.CamerasPerHost
	}
	return cfg
}

// System is the `system:` section: the system under test.
type System struct {
	// Modes lists the modes to run (sync, async, pooled, cached, batched),
	// one matrix row per entry.
	Modes []string `mapstructure:"modes"`
	// Knobs override the mode presets (keys of system.Knobs: fan_out,
	// workers, batch_size, client, max_conns, max_conns_per_host,
	// idle_timeout, dedupe, api_cache, l1_ttl, l1_size, l2_ttl,
	// bulk_writes, fetch_timeout, max_body, analyze_cost, analyze_workers).
	// They apply to every mode.
	Knobs map[string]any `mapstructure:"knobs"`
	// Cycles is the number of measured processing cycles per cell (K).
	Cycles int `mapstructure:"cycles"`
	// Warmup is the number of cycles run before measuring.
	Warmup int `mapstructure:"warmup"`
	// WarmupFor, when > 0, makes the warm-up go on in cycles until it has
	// also lasted this long (the cycle that starts after it is the last):
	// a time for what the system learns of its cameras (refresh
	// schedules, deadlines) and the age of the data it serves to reach
	// steady state, whatever a mode's cycle time. Not for external
	// systems. 0 = Warmup cycles only.
	WarmupFor time.Duration `mapstructure:"warmup_for"`
	// AnalyzeCost is the CPU work added per analyzed frame, standing in
	// for the detection model (0 = decode and count only).
	AnalyzeCost time.Duration `mapstructure:"analyze_cost"`
	// ReadyTimeout bounds the system's start-up (registry load included).
	ReadyTimeout time.Duration `mapstructure:"ready_timeout"`
	// CycleTimeout bounds one POST /api/v1/cycles (and, for an external
	// system, one POST to its cycle_url or the wait for one sweep).
	CycleTimeout time.Duration `mapstructure:"cycle_timeout"`
	// External is a system under test of the user's own, run by the mode
	// name "external"; ExternalModes are named variants of it (each over
	// External), run by their names in Modes. See External.
	External      External            `mapstructure:"external"`
	ExternalModes map[string]External `mapstructure:"external_modes"`

	// Replicas, when set, runs the system as that many `camload serve
	// --group` processes sharing the cycles' cameras through a Redis
	// Stream (system/group), one matrix column per entry, e.g. [1, 2, 3];
	// empty: one plain `camload serve`. See replicas.go.
	Replicas []int `mapstructure:"replicas"`
	// GOMAXPROCS, when > 0, is the GOMAXPROCS of every system process (the
	// cores each replica may use at once); 0 leaves the Go default (every
	// core).
	GOMAXPROCS int `mapstructure:"gomaxprocs"`
}

// Backends is the `backends:` section. "embedded" runs the backend in the
// runner's process (FerretDB on SQLite, or on ferretdb_postgres when given;
// miniredis); anything else is a URI.
type Backends struct {
	// Mongo is "embedded" (FerretDB on SQLite, or on FerretDBPostgres
	// when set), "ferretdb-postgres" (embedded FerretDB on
	// FerretDBPostgres, which is then required) or a mongodb:// URI.
	Mongo string `mapstructure:"mongo"`
	// Redis is "embedded" or a redis:// URL.
	Redis string `mapstructure:"redis"`
	// FerretDBPostgres is a postgres:// URL for the embedded FerretDB's
	// PostgreSQL backend ("" = SQLite in a temp dir).
	FerretDBPostgres string `mapstructure:"ferretdb_postgres"`
}

// FerretDBPostgres is the backends.mongo value asking for the embedded
// FerretDB on PostgreSQL (backends.ferretdb_postgres).
const FerretDBPostgres = "ferretdb-postgres"

// MongoOption is the system/backends Options.Mongo value of b.Mongo:
// "ferretdb-postgres" is the embedded FerretDB (on FerretDBPostgres).
func (b Backends) MongoOption() string {
	if b.Mongo == FerretDBPostgres {
		return "embedded"
	}
	return b.Mongo
}

// Target is one API endpoint to attack with vegeta, open loop.
type Target struct {
	// Name keys the endpoint in results (api.<name>.p99 in thresholds).
	Name string `mapstructure:"name"`
	// Method is the HTTP method (GET).
	Method string `mapstructure:"method"`
	// Path is a path template on the system's API, e.g.
	// /api/v1/cameras/{{id}}/latest or /api/v1/cameras?page={{page}}.
	// {{id}} is drawn from the fleet's inventory (skewed by Zipf),
	// {{page}} from 1 … Pages, {{district}} from the fleet's districts and
	// {{status}} from online/offline, all deterministically from the
	// repetition's seed.
	Path string `mapstructure:"path"`
	// Pages is the range of {{page}}; 0 means every page of the camera
	// list at the path's limit= (50 when absent).
	Pages int `mapstructure:"pages"`
	// Zipf skews {{id}}: 0 draws cameras uniformly, a value > 1 draws them
	// with that Zipf exponent (a few hot cameras, a long tail).
	Zipf float64 `mapstructure:"zipf"`
	// Rate is the constant request rate, per second.
	Rate float64 `mapstructure:"rate"`
	// Duration of the attack.
	Duration time.Duration `mapstructure:"duration"`
	// Timeout of one request.
	Timeout time.Duration `mapstructure:"timeout"`
	// Workers is vegeta's initial worker count; MaxWorkers caps it (0 =
	// unbounded). A capped attacker falls behind a stalled server; the
	// coordinated-omission correction still charges the wait.
	Workers    int `mapstructure:"workers"`
	MaxWorkers int `mapstructure:"max_workers"`
	// Capacity, when set, searches for the highest rate meeting its SLO.
	Capacity *Capacity `mapstructure:"capacity"`
}

// Capacity is a capacity search for the highest rate whose p99 latency
// (from the intended send time) and error rate meet the SLO, each step a
// short attack: a ramp ×2 from MinRate until a step fails or MaxRate (the
// hard cap) has passed, then a geometric bisection between the last pass
// and the first fail (bench.CapacitySearch).
type Capacity struct {
	SLO SLO `mapstructure:"slo"`
	// MinRate is the lowest rate tried and MaxRate the highest, req/s.
	MinRate float64 `mapstructure:"min_rate"`
	MaxRate float64 `mapstructure:"max_rate"`
	// StartRate is the first rate tried (0 = MinRate): the ramp doubles
	// from it while steps pass; when it fails the search halves down to
	// MinRate until one passes. Starting near where capacities lie skips
	// the slowest steps: a step holds the 100 requests its p99 needs, 50 s
	// at 2 req/s.
	StartRate float64 `mapstructure:"start_rate"`
	// Steps is the most attacks the search makes (ramp and bisection).
	Steps int `mapstructure:"steps"`
	// StepDuration is the length of each attack.
	StepDuration time.Duration `mapstructure:"step_duration"`
}

// SLO is what a rate must meet in a capacity search.
type SLO struct {
	// P99 is the highest acceptable p99 latency.
	P99 time.Duration `mapstructure:"p99"`
	// ErrorRate is the highest acceptable share of failed requests, 0 … 1.
	ErrorRate float64 `mapstructure:"error_rate"`
}

// Profiles is the `profiles:` section: pprof profiles of the system taken
// inside each cell's measured window.
type Profiles struct {
	// CPU takes a CPU profile across the measured cycles.
	CPU bool `mapstructure:"cpu"`
	// Heap takes a heap profile at the end of the measured cycles.
	Heap bool `mapstructure:"heap"`
	// Seconds is the CPU profile's length; 0 lets the runner estimate the
	// measured window from the warm-up cycles (at least 1 s).
	Seconds int `mapstructure:"seconds"`
}

// DefaultTarget holds the defaults of every load target's unset keys.
var DefaultTarget = Target{
	Method:     "GET",
	Pages:      0,
	Rate:       50,
	Duration:   5 * time.Second,
	Timeout:    5 * time.Second,
	Workers:    10,
	MaxWorkers: 1000,
}

// DefaultCapacity holds the defaults of a capacity search's unset keys.
var DefaultCapacity = Capacity{
	SLO:          SLO{P99: 100 * time.Millisecond, ErrorRate: 0.01},
	MinRate:      10,
	MaxRate:      100000,
	Steps:        8,
	StepDuration: 2 * time.Second,
}

// Default is the scenario every file starts from: keys a file leaves out
// keep these values. It is one cell (sync, 100 cameras) of the simulator's
// default fleet, 3 cycles after 1 warm-up, embedded backends, no API load.
var Default = Scenario{
	Name:       "default",
	Version:    SchemaVersion,
	Seed:       1,
	Repeat:     1,
	CellBudget: 5 * time.Minute,
	Fleet:      Fleet{Cameras: []int{100}, Config: defaultFleetConfig()},
	System: System{
		Modes:        []string{"sync"},
		Cycles:       3,
		Warmup:       1,
		ReadyTimeout: time.Minute,
		CycleTimeout: 2 * time.Minute,
	},
	Backends: Backends{Mongo: "embedded", Redis: "embedded"},
	Profiles: Profiles{CPU: true, Heap: true},
}

func defaultFleetConfig() simulator.Config {
	c := simulator.DefaultConfig
	c.Listen = "127.0.0.1:0"
	return c
}

// Clone returns a deep copy of s.
func (s *Scenario) Clone() *Scenario {
	c := *s
	c.Fleet.Cameras = append([]int(nil), s.Fleet.Cameras...)
	c.System.Modes = append([]string(nil), s.System.Modes...)
	c.System.Replicas = append([]int(nil), s.System.Replicas...)
	if s.System.Knobs != nil {
		c.System.Knobs = make(map[string]any, len(s.System.Knobs))
		for k, v := range s.System.Knobs {
			c.System.Knobs[k] = v
		}
	}
	s.cloneExternal(&c)
	if s.Load != nil {
		c.Load = make([]Target, len(s.Load))
		for i, t := range s.Load {
			if t.Capacity != nil {
				cp := *t.Capacity
				t.Capacity = &cp
			}
			c.Load[i] = t
		}
	}
	if s.Thresholds != nil {
		c.Thresholds = make(map[string]string, len(s.Thresholds))
		for k, v := range s.Thresholds {
			c.Thresholds[k] = v
		}
	}
	c.Expect = append([]string(nil), s.Expect...)
	c.ExpectOverBudget = append([]string(nil), s.ExpectOverBudget...)
	if s.Compare != nil {
		cp := results.Comparisons{}
		if s.Compare.Scaling != nil {
			x := *s.Compare.Scaling
			cp.Scaling = &x
		}
		if s.Compare.BeforeAfter != nil {
			x := *s.Compare.BeforeAfter
			cp.BeforeAfter = &x
		}
		c.Compare = &cp
	}
	return &c
}

// Cells is the number of matrix cells: cameras × modes × replicas (when
// system.replicas is set) × repeat.
func (s *Scenario) Cells() int {
	return len(s.Fleet.Cameras) * len(s.System.Modes) * max(1, len(s.System.Replicas)) * s.Repeat
}
