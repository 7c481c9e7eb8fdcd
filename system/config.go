package system

import (
	"net/url"
	"runtime"
	"strings"
	"time"

	"github.com/camload/camload/internal/cfgerr"
)

// Mode names a preset of knobs; the presets are cumulative (see Preset).
type Mode string

// The five modes, in the order of the blog's optimization steps.
const (
	ModeSync    Mode = "sync"
	ModeAsync   Mode = "async"
	ModePooled  Mode = "pooled"
	ModeCached  Mode = "cached"
	ModeBatched Mode = "batched"
)

// Modes lists every mode in order.
var Modes = []Mode{ModeSync, ModeAsync, ModePooled, ModeCached, ModeBatched}

// FanOut is how a cycle spreads camera work.
type FanOut string

const (
	FanOutSequential FanOut = "sequential" // one camera after another
	FanOutUnbounded  FanOut = "unbounded"  // one goroutine per camera
	FanOutPool       FanOut = "pool"       // bounded worker pool
	FanOutBatches    FanOut = "batches"    // batches of BatchSize, each concurrent through the pool
)

// ClientKind is how the camera HTTP client is built.
type ClientKind string

const (
	ClientNewConn   ClientKind = "new-conn"   // shared client, keep-alive off: a new connection per request
	ClientNewClient ClientKind = "new-client" // a new http.Client and Transport per request
	ClientShared    ClientKind = "shared"     // one shared, pooled keep-alive transport
)

// Knobs are the orthogonal settings the modes are presets of. The
// `mapstructure` tags are the keys of a scenario's `system.knobs` section and
// the names of the matching `camload serve` flags (with - for _).
type Knobs struct {
	FanOut  FanOut `mapstructure:"fan_out" json:"fan_out"`
	Workers int    `mapstructure:"workers" json:"workers"`
	// BatchSize is the number of cameras per batch (fan-out "batches")
	// and the number of observations per bulk write.
	BatchSize int        `mapstructure:"batch_size" json:"batch_size"`
	Client    ClientKind `mapstructure:"client" json:"client"`
	// MaxConns and MaxConnsPerHost bound the shared transport.
	MaxConns        int           `mapstructure:"max_conns" json:"max_conns"`
	MaxConnsPerHost int           `mapstructure:"max_conns_per_host" json:"max_conns_per_host"`
	IdleTimeout     time.Duration `mapstructure:"idle_timeout" json:"idle_timeout"`
	// Dedupe skips unchanged frames (conditional GET and content hash).
	Dedupe bool `mapstructure:"dedupe" json:"dedupe"`
	// APICache serves API reads through L1 (in-process TTL) and L2 (Redis).
	APICache bool          `mapstructure:"api_cache" json:"api_cache"`
	L1TTL    time.Duration `mapstructure:"l1_ttl" json:"l1_ttl"`
	L1Size   int           `mapstructure:"l1_size" json:"l1_size"`
	L2TTL    time.Duration `mapstructure:"l2_ttl" json:"l2_ttl"`
	// BulkWrites stores a batch's observations with one bulk write (in
	// chunks of at most 50 documents) and pipelines its Redis updates.
	BulkWrites bool `mapstructure:"bulk_writes" json:"bulk_writes"`
	// FetchTimeout bounds one snapshot request; MaxBody bounds its size.
	FetchTimeout time.Duration `mapstructure:"fetch_timeout" json:"fetch_timeout"`
	MaxBody      int64         `mapstructure:"max_body" json:"max_body"`
	// AnalyzeCost is real CPU work added per analyzed frame, standing in
	// for the detection model.
	AnalyzeCost time.Duration `mapstructure:"analyze_cost" json:"analyze_cost"`
	// AnalyzeWorkers bounds how many frames are analyzed at once (CPU
	// work), apart from how many fetches are in flight (I/O); 0 = no
	// bound: every fetching goroutine analyzes its own frame at once, and
	// with hundreds of them the CPU-bound work starves the network I/O.
	AnalyzeWorkers int `mapstructure:"analyze_workers" json:"analyze_workers"`
}

// Preset returns the knobs of mode m and whether m is a known mode. The
// presets are cumulative, as tabled in the design brief. The bounded modes
// (pooled, cached, batched) run up to Workers (500, as many as the shared
// transport's connections) fetches at once and analyze at most GOMAXPROCS
// frames at once; sync and async analyze inline.
func Preset(m Mode) (Knobs, bool) {
	k := Knobs{
		FanOut:          FanOutSequential,
		Workers:         500,
		BatchSize:       100,
		Client:          ClientNewConn,
		MaxConns:        500,
		MaxConnsPerHost: 10,
		IdleTimeout:     30 * time.Second,
		L1TTL:           2 * time.Second,
		L1Size:          10000,
		L2TTL:           30 * time.Second,
		FetchTimeout:    5 * time.Second,
		MaxBody:         4 << 20,
	}
	switch m {
	case ModeSync:
	case ModeAsync:
		k.FanOut, k.Client = FanOutUnbounded, ClientNewClient
	case ModePooled:
		k.FanOut, k.Client = FanOutPool, ClientShared
		k.AnalyzeWorkers = runtime.GOMAXPROCS(0)
	case ModeCached:
		k.FanOut, k.Client = FanOutPool, ClientShared
		k.Dedupe, k.APICache = true, true
		k.AnalyzeWorkers = runtime.GOMAXPROCS(0)
	case ModeBatched:
		k.FanOut, k.Client = FanOutBatches, ClientShared
		k.Dedupe, k.APICache, k.BulkWrites = true, true, true
		k.AnalyzeWorkers = runtime.GOMAXPROCS(0)
	default:
		return Knobs{}, false
	}
	return k, true
}

// Error kinds of a camera fetch/analysis, as counted in CycleSummary.Errors
// and in the camload_errors_total metric.
const (
	ErrTimeout     = "timeout"     // request or body read exceeded FetchTimeout
	ErrConn        = "conn"        // refused or reset connection
	ErrHTTP5xx     = "http_5xx"    // any 5xx status
	ErrHTTPStatus  = "http_status" // another unexpected status
	ErrBadImage    = "bad_image"   // not a decodable JPEG (truncated, garbage)
	ErrTooLarge    = "too_large"   // body over MaxBody
	ErrPlaceholder = "placeholder" // the camera's "not available" image
	ErrStore       = "store"       // observation could not be stored (buffered for retry)
)

// CycleSummary is the JSON answer of POST /api/v1/cycles and what the runner
// records per cycle.
type CycleSummary struct {
	Cycle     int64         `json:"cycle"`
	Mode      Mode          `json:"mode"`
	Started   time.Time     `json:"started"`
	Duration  time.Duration `json:"duration_ns"`
	Cameras   int           `json:"cameras"`
	Processed int           `json:"processed"` // new frames analyzed and stored
	Skipped   int           `json:"skipped"`   // unchanged frames (304 or same hash)
	// Errors by kind (see the Err* constants).
	Errors map[string]int `json:"errors"`
	// Retries counts snapshot requests the HTTP transport retried on a
	// fresh connection after a reused keep-alive connection failed before
	// answering (a camera reset absorbed by the retry; the camera is then
	// counted by the retry's outcome).
	Retries int `json:"retries,omitempty"`
	// Latencies is each visited camera's fetch+analyze+store time, in
	// camera order; Freshness is capture → stored for each stored frame.
	Latencies []time.Duration `json:"latencies_ns,omitempty"`
	Freshness []time.Duration `json:"freshness_ns,omitempty"`
}

// Config configures a System. Start from Preset(mode) for Knobs; explicit
// knobs override the preset.
type Config struct {
	Mode  Mode  `json:"mode"`
	Knobs Knobs `json:"knobs"`
	// FleetURL is the fleet's control API (GET {FleetURL}/cameras).
	FleetURL string `json:"fleet_url"`
	// Interval runs cycles continuously (Run) when > 0.
	Interval time.Duration `json:"interval"`
	// RegistryTimeout bounds the registry load (GET /cameras and the
	// upsert); 0 means DefaultRegistryTimeout.
	RegistryTimeout time.Duration `json:"registry_timeout"`
}

// DefaultRegistryTimeout bounds the registry load when Config leaves it 0.
const DefaultRegistryTimeout = time.Minute

// DefaultConfig returns the configuration of mode m with its preset knobs and
// the given fleet URL; it reports false for an unknown mode.
func DefaultConfig(m Mode, fleetURL string) (Config, bool) {
	k, ok := Preset(m)
	return Config{Mode: m, Knobs: k, FleetURL: fleetURL}, ok
}

// Validate reports every bad field of c as *cfgerr.Error values joined.
func (c Config) Validate() error {
	var errs []error
	if _, ok := Preset(c.Mode); !ok {
		errs = append(errs, cfgerr.Field("mode", "unknown mode %q (want one of %s)", c.Mode, modeNames()))
	}
	if c.FleetURL == "" {
		errs = append(errs, cfgerr.Field("fleet", "must be set (the fleet's control URL)"))
	} else if u, err := url.Parse(c.FleetURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		errs = append(errs, cfgerr.Field("fleet", "%q is not an http(s) URL", c.FleetURL))
	}
	if c.Interval < 0 {
		errs = append(errs, cfgerr.Field("interval", "must be ≥ 0, got %s", c.Interval))
	}
	if c.RegistryTimeout < 0 {
		errs = append(errs, cfgerr.Field("registry_timeout", "must be ≥ 0, got %s", c.RegistryTimeout))
	}
	errs = append(errs, c.Knobs.validate())
	return cfgerr.Join(errs...)
}

// Validate reports every bad knob as *cfgerr.Error values joined; fields are
// named by their flag names.
func (k Knobs) Validate() error { return k.validate() }

func (k Knobs) validate() error {
	var errs []error
	switch k.FanOut {
	case FanOutSequential, FanOutUnbounded, FanOutPool, FanOutBatches:
	default:
		errs = append(errs, cfgerr.Field("fan-out", "unknown fan-out %q (want sequential, unbounded, pool or batches)", k.FanOut))
	}
	switch k.Client {
	case ClientNewConn, ClientNewClient, ClientShared:
	default:
		errs = append(errs, cfgerr.Field("client", "unknown client %q (want new-conn, new-client or shared)", k.Client))
	}
	positive := []struct {
		name string
		v    int
		max  int
	}{
		{"workers", k.Workers, 100000},
		{"batch-size", k.BatchSize, 100000},
		{"max-conns", k.MaxConns, 100000},
		{"max-conns-per-host", k.MaxConnsPerHost, 100000},
		{"l1-size", k.L1Size, 10000000},
	}
	for _, p := range positive {
		if p.v < 1 || p.v > p.max {
			errs = append(errs, cfgerr.Field(p.name, "must be 1 … %d, got %d", p.max, p.v))
		}
	}
	durations := []struct {
		name string
		v    time.Duration
	}{
		{"idle-timeout", k.IdleTimeout},
		{"l1-ttl", k.L1TTL},
		{"l2-ttl", k.L2TTL},
		{"fetch-timeout", k.FetchTimeout},
	}
	for _, d := range durations {
		if d.v <= 0 {
			errs = append(errs, cfgerr.Field(d.name, "must be > 0, got %s", d.v))
		}
	}
	if k.MaxBody < 1024 {
		errs = append(errs, cfgerr.Field("max-body", "must be ≥ 1024 bytes, got %d", k.MaxBody))
	}
	if k.AnalyzeWorkers < 0 || k.AnalyzeWorkers > 100000 {
		errs = append(errs, cfgerr.Field("analyze-workers", "must be 0 (no bound) … 100000, got %d", k.AnalyzeWorkers))
	}
	if k.AnalyzeCost < 0 {
		errs = append(errs, cfgerr.Field("analyze-cost", "must be ≥ 0, got %s", k.AnalyzeCost))
	}
	return cfgerr.Join(errs...)
}

func modeNames() string {
	s := make([]string, len(Modes))
	for i, m := range Modes {
		s[i] = string(m)
	}
	return strings.Join(s, ", ")
}
