package system

import (
	"fmt"
	"net/url"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/camload/camload/internal/cfgerr"
	"github.com/camload/camload/system/resilience"
)

// Mode names a preset of knobs; the presets are cumulative (see Preset).
type Mode string

// The six modes, in the order of the blog's optimization steps.
const (
	ModeSync    Mode = "sync"
	ModeAsync   Mode = "async"
	ModePooled  Mode = "pooled"
	ModeCached  Mode = "cached"
	ModeBatched Mode = "batched"
	// ModeResilient is batched plus the tail-tolerant mechanisms of
	// system/resilience: a cycle deadline, per-camera adaptive fetch
	// deadlines, per-camera circuit breakers and adaptive per-host limits.
	ModeResilient Mode = "resilient"
)

// Modes lists every mode in order.
var Modes = []Mode{ModeSync, ModeAsync, ModePooled, ModeCached, ModeBatched, ModeResilient}

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

	// CycleDeadline is the cycle's budget, an operator's SLO setting: a
	// cycle ends when it is over, and the cameras still in flight go on
	// in the background, their results stored as late. 0 = no deadline
	// (a cycle waits for every camera). Resilient: 1 s.
	CycleDeadline time.Duration `mapstructure:"cycle_deadline" json:"cycle_deadline"`
	// AdaptiveDeadline replaces FetchTimeout by a per-camera deadline of
	// DeadlineK × the p99 of the camera's last DeadlineWindow latencies,
	// within [DeadlineFloor, DeadlineCap]; FetchTimeout until a camera
	// has 5 samples.
	AdaptiveDeadline bool          `mapstructure:"adaptive_deadline" json:"adaptive_deadline"`
	DeadlineK        float64       `mapstructure:"deadline_k" json:"deadline_k"`
	DeadlineFloor    time.Duration `mapstructure:"deadline_floor" json:"deadline_floor"`
	DeadlineCap      time.Duration `mapstructure:"deadline_cap" json:"deadline_cap"`
	DeadlineWindow   int           `mapstructure:"deadline_window" json:"deadline_window"`
	// BreakerFailures consecutive failures (timeouts, 5xx but 503, bad
	// images, placeholders) open a camera's breaker: it is skipped for
	// BreakerBackoff, doubled after each failed half-open probe up to
	// BreakerMax. 0 = no breakers.
	BreakerFailures int           `mapstructure:"breaker_failures" json:"breaker_failures"`
	BreakerBackoff  time.Duration `mapstructure:"breaker_backoff" json:"breaker_backoff"`
	BreakerMax      time.Duration `mapstructure:"breaker_max" json:"breaker_max"`
	// HostLimitInitial, when > 0, bounds the requests in flight to each
	// camera host by a limit learned AIMD-style from 503s and resets,
	// starting here and never above HostLimitMax. 0 = no learned limits.
	HostLimitInitial int `mapstructure:"host_limit_initial" json:"host_limit_initial"`
	HostLimitMax     int `mapstructure:"host_limit_max" json:"host_limit_max"`
	// RefreshAware (with a cycle deadline) learns each camera's refresh
	// schedule from the capture times its answers carry and does not
	// fetch a camera whose next frame is not due yet (counted as not
	// fetched, not_due): its fetches start within a cycle of each new
	// frame instead of whenever its previous fetch happened to end, and
	// it stays fresh until its next frame is due. false = fetch every
	// camera every cycle.
	RefreshAware bool `mapstructure:"refresh_aware" json:"refresh_aware"`
}

// resilient reports whether k uses the tracker's cycle (a cycle deadline).
func (k Knobs) resilient() bool {
	return k.CycleDeadline > 0 || k.AdaptiveDeadline || k.BreakerFailures > 0 || k.HostLimitInitial > 0
}

// Preset returns the knobs of mode m and whether m is a known mode. The
// presets are cumulative, as tabled in the design brief. The bounded modes
// (pooled, cached, batched, resilient) run up to Workers (500, as many as the shared
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
		// The resilience knobs are off (0, false) below resilient; their
		// parameters carry system/resilience's defaults.
		DeadlineK:      resilience.DefaultDeadlineK,
		DeadlineFloor:  resilience.DefaultDeadlineFloor,
		DeadlineCap:    resilience.DefaultDeadlineCap,
		DeadlineWindow: resilience.DefaultDeadlineWindow,
		BreakerBackoff: resilience.DefaultBreakerBase,
		BreakerMax:     resilience.DefaultBreakerMax,
		HostLimitMax:   resilience.DefaultHostLimitMax,
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
	case ModeResilient:
		k.FanOut, k.Client = FanOutBatches, ClientShared
		k.Dedupe, k.APICache, k.BulkWrites = true, true, true
		k.AnalyzeWorkers = runtime.GOMAXPROCS(0)
		k.CycleDeadline = time.Second
		k.AdaptiveDeadline = true
		k.BreakerFailures = resilience.DefaultBreakerFailures
		k.HostLimitInitial = resilience.DefaultHostLimitInitial
		k.RefreshAware = true
		// The learned limit, not the transport, caps a host's
		// concurrency.
		k.MaxConnsPerHost = k.HostLimitMax
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

// Reasons a camera was not fetched in a cycle (resilient), as counted in
// CycleSummary.NotFetched; no request was sent, so the fleet counts
// nothing for them.
const (
	SkipBreakerOpen   = "breaker_open"    // its circuit breaker is open
	SkipStillInFlight = "still_in_flight" // abandoned by an earlier cycle, its result not in yet
	SkipNotDue        = "not_due"         // its next frame is not due yet by its learned schedule (RefreshAware)
	SkipNoWorker      = "no_worker"       // every worker was busy until the cycle's cut-off: it comes first next cycle
)

// TimedOut is one fetch that exceeded its deadline.
type TimedOut struct {
	Camera   string        `json:"camera"`
	Start    time.Time     `json:"start"`       // when the request was sent (wall clock)
	Deadline time.Duration `json:"deadline_ns"` // the deadline it had
}

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
	// counted by the retry's outcome). The retries of a late result
	// (resilient) count in the summary its outcome lands in (Late).
	Retries int `json:"retries,omitempty"`
	// Latencies is each visited camera's fetch+analyze+store time, in
	// camera order; Freshness is capture → stored for each stored frame.
	Latencies []time.Duration `json:"latencies_ns,omitempty"`
	Freshness []time.Duration `json:"freshness_ns,omitempty"`
	// FrameLatencies is, for each frame stored in the cycle, the time
	// from its fetch's start to its being stored and cached (end to end).
	FrameLatencies []time.Duration `json:"frame_latencies_ns,omitempty"`

	// The accounting of the cycle deadline and the breakers (resilient).
	// Every camera of the cycle is exactly one of: processed, skipped,
	// an error, abandoned or not fetched.
	//
	// NotFetched counts cameras no request was sent for, by reason
	// (SkipBreakerOpen, SkipStillInFlight).
	NotFetched map[string]int `json:"not_fetched,omitempty"`
	// Abandoned counts cameras still in flight at the cycle deadline;
	// each one's outcome comes later, in Late/LateErrors of a later
	// summary.
	Abandoned int `json:"abandoned,omitempty"`
	// Late counts the results of abandoned cameras (of any earlier cycle)
	// that arrived since the previous summary: LateProcessed of them were
	// new frames, stored late; LateSkipped unchanged; LateErrors counts
	// the others by error kind (a hang cut off by its camera's deadline
	// is a timeout). Errors plus LateErrors, summed over cycles, is every
	// outcome the system saw.
	Late          int            `json:"late,omitempty"`
	LateProcessed int            `json:"late_processed,omitempty"`
	LateSkipped   int            `json:"late_skipped,omitempty"`
	LateErrors    map[string]int `json:"late_errors,omitempty"`
	// Timeouts lists every fetch counted a timeout in this summary
	// (Errors and LateErrors): its camera, when the request began and
	// the deadline it had, so that a reader can match each one with the
	// camera's own record of the request (the runner does, with the
	// fleet's fetch log).
	Timeouts []TimedOut `json:"timeouts,omitempty"`
	// InFlight is how many cameras were still in flight (their outcome
	// not yet counted anywhere) when the summary was made: 0 after a
	// drained cycle (POST /api/v1/cycles?drain=1).
	InFlight int `json:"in_flight,omitempty"`
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
	errs = append(errs, c.Knobs.Validate())
	return cfgerr.Join(errs...)
}

// Validate reports every bad knob as *cfgerr.Error values joined, in
// KnobTable order; fields are named by their flag names (fetch-timeout).
func (k Knobs) Validate() error { return k.validate(KnobSpec.Flag) }

// ValidateKeys is Validate with every field named prefix + the knob's
// scenario key, e.g. ValidateKeys("system.knobs.") names
// system.knobs.fetch_timeout.
func (k Knobs) ValidateKeys(prefix string) error {
	return k.validate(func(s KnobSpec) string { return prefix + s.Key })
}

func (k Knobs) validate(name func(KnobSpec) string) error {
	var errs []error
	for _, s := range KnobTable {
		if s.check == nil {
			continue
		}
		if err := s.check(k); err != nil {
			errs = append(errs, &cfgerr.Error{Field: name(s), Err: err})
		}
	}
	return cfgerr.Join(errs...)
}

// KnobSpec is one row of KnobTable: a knob's scenario key, its
// documentation, the Knobs field it sets and its valid values.
type KnobSpec struct {
	// Key is the knob's key in a scenario's system.knobs section and its
	// `mapstructure` tag; the `camload serve` flag is Key with - for _.
	Key string
	// Usage documents the knob; it is the flag's usage text.
	Usage string
	// field returns a pointer to the knob's field of k: *int, *int64,
	// *float64, *bool, *time.Duration, *FanOut or *ClientKind.
	field func(k *Knobs) any
	// check reports a bad value (the message without the field name);
	// nil accepts every value.
	check func(k Knobs) error
}

// KnobTable lists every knob, in Knobs field order. It is the one place a
// knob is declared: `camload serve` defines its flags from it, scenarios
// read and pass them through it, and Knobs.Validate checks with it. Adding
// a knob means adding a Knobs field (with its mapstructure and json tags)
// and a row here; TestKnobTable checks that every field has a row.
var KnobTable = []KnobSpec{
	{Key: "fan_out", Usage: "sequential, unbounded, pool or batches",
		field: func(k *Knobs) any { return &k.FanOut },
		check: func(k Knobs) error {
			switch k.FanOut {
			case FanOutSequential, FanOutUnbounded, FanOutPool, FanOutBatches:
				return nil
			}
			return fmt.Errorf("unknown fan-out %q (want sequential, unbounded, pool or batches)", k.FanOut)
		}},
	{Key: "workers", Usage: "worker pool size",
		field: func(k *Knobs) any { return &k.Workers }, check: intIn(func(k Knobs) int { return k.Workers }, 1, 100000)},
	{Key: "batch_size", Usage: "cameras per batch and observations per bulk write",
		field: func(k *Knobs) any { return &k.BatchSize }, check: intIn(func(k Knobs) int { return k.BatchSize }, 1, 100000)},
	{Key: "client", Usage: "camera HTTP client: new-conn, new-client or shared",
		field: func(k *Knobs) any { return &k.Client },
		check: func(k Knobs) error {
			switch k.Client {
			case ClientNewConn, ClientNewClient, ClientShared:
				return nil
			}
			return fmt.Errorf("unknown client %q (want new-conn, new-client or shared)", k.Client)
		}},
	{Key: "max_conns", Usage: "shared transport: connections in total",
		field: func(k *Knobs) any { return &k.MaxConns }, check: intIn(func(k Knobs) int { return k.MaxConns }, 1, 100000)},
	{Key: "max_conns_per_host", Usage: "shared transport: connections per host",
		field: func(k *Knobs) any { return &k.MaxConnsPerHost }, check: intIn(func(k Knobs) int { return k.MaxConnsPerHost }, 1, 100000)},
	{Key: "idle_timeout", Usage: "shared transport: idle connection timeout",
		field: func(k *Knobs) any { return &k.IdleTimeout }, check: positive(func(k Knobs) time.Duration { return k.IdleTimeout })},
	{Key: "dedupe", Usage: "skip unchanged frames (conditional GET, content hash)",
		field: func(k *Knobs) any { return &k.Dedupe }},
	{Key: "api_cache", Usage: "API reads through L1 (in-process) and L2 (Redis)",
		field: func(k *Knobs) any { return &k.APICache }},
	{Key: "l1_ttl", Usage: "L1 cache TTL",
		field: func(k *Knobs) any { return &k.L1TTL }, check: positive(func(k Knobs) time.Duration { return k.L1TTL })},
	{Key: "l1_size", Usage: "L1 cache entries",
		field: func(k *Knobs) any { return &k.L1Size }, check: intIn(func(k Knobs) int { return k.L1Size }, 1, 10000000)},
	{Key: "l2_ttl", Usage: "L2 (Redis) TTL",
		field: func(k *Knobs) any { return &k.L2TTL }, check: positive(func(k Knobs) time.Duration { return k.L2TTL })},
	{Key: "bulk_writes", Usage: "bulk writes per batch and Redis pipelining",
		field: func(k *Knobs) any { return &k.BulkWrites }},
	{Key: "fetch_timeout", Usage: "per-snapshot timeout, body included",
		field: func(k *Knobs) any { return &k.FetchTimeout }, check: positive(func(k Knobs) time.Duration { return k.FetchTimeout })},
	{Key: "max_body", Usage: "largest snapshot body in bytes",
		field: func(k *Knobs) any { return &k.MaxBody },
		check: func(k Knobs) error {
			if k.MaxBody < 1024 {
				return fmt.Errorf("must be ≥ 1024 bytes, got %d", k.MaxBody)
			}
			return nil
		}},
	{Key: "analyze_cost", Usage: "CPU work added per analyzed frame (stands in for the detector)",
		field: func(k *Knobs) any { return &k.AnalyzeCost },
		check: func(k Knobs) error {
			if k.AnalyzeCost < 0 {
				return fmt.Errorf("must be ≥ 0, got %s", k.AnalyzeCost)
			}
			return nil
		}},
	{Key: "analyze_workers", Usage: "frames analyzed at once (0 = no bound: each fetch analyzes its own frame)",
		field: func(k *Knobs) any { return &k.AnalyzeWorkers },
		check: func(k Knobs) error {
			if k.AnalyzeWorkers < 0 || k.AnalyzeWorkers > 100000 {
				return fmt.Errorf("must be 0 (no bound) … 100000, got %d", k.AnalyzeWorkers)
			}
			return nil
		}},
	{Key: "cycle_deadline", Usage: "cycle budget (an SLO): stragglers go on in the background, stored late (0 = wait for every camera)",
		field: func(k *Knobs) any { return &k.CycleDeadline }, check: nonNegative(func(k Knobs) time.Duration { return k.CycleDeadline })},
	{Key: "adaptive_deadline", Usage: "per-camera fetch deadline learned from the camera's own latencies instead of fetch-timeout",
		field: func(k *Knobs) any { return &k.AdaptiveDeadline }},
	{Key: "deadline_k", Usage: "adaptive deadline: multiple of the camera's p99 latency (≥ 1)",
		field: func(k *Knobs) any { return &k.DeadlineK },
		check: func(k Knobs) error {
			if !(k.DeadlineK >= 1 && k.DeadlineK <= 100) {
				return fmt.Errorf("must be 1 … 100, got %v", k.DeadlineK)
			}
			return nil
		}},
	{Key: "deadline_floor", Usage: "adaptive deadline: lower bound",
		field: func(k *Knobs) any { return &k.DeadlineFloor }, check: positive(func(k Knobs) time.Duration { return k.DeadlineFloor })},
	{Key: "deadline_cap", Usage: "adaptive deadline: upper bound (≥ deadline-floor)",
		field: func(k *Knobs) any { return &k.DeadlineCap },
		check: func(k Knobs) error {
			if k.DeadlineCap < k.DeadlineFloor {
				return fmt.Errorf("must be ≥ deadline-floor %s, got %s", k.DeadlineFloor, k.DeadlineCap)
			}
			return nil
		}},
	{Key: "deadline_window", Usage: "adaptive deadline: latencies kept per camera",
		field: func(k *Knobs) any { return &k.DeadlineWindow }, check: intIn(func(k Knobs) int { return k.DeadlineWindow }, 5, 10000)},
	{Key: "breaker_failures", Usage: "consecutive failures that open a camera's circuit breaker (0 = no breakers)",
		field: func(k *Knobs) any { return &k.BreakerFailures }, check: intIn(func(k Knobs) int { return k.BreakerFailures }, 0, 1000)},
	{Key: "breaker_backoff", Usage: "first open period of a breaker, doubled per failed probe",
		field: func(k *Knobs) any { return &k.BreakerBackoff }, check: positive(func(k Knobs) time.Duration { return k.BreakerBackoff })},
	{Key: "breaker_max", Usage: "longest open period of a breaker (≥ breaker-backoff)",
		field: func(k *Knobs) any { return &k.BreakerMax },
		check: func(k Knobs) error {
			if k.BreakerMax < k.BreakerBackoff {
				return fmt.Errorf("must be ≥ breaker-backoff %s, got %s", k.BreakerBackoff, k.BreakerMax)
			}
			return nil
		}},
	{Key: "host_limit_initial", Usage: "learned per-host limit (AIMD on 503s and resets): starting value (0 = no learned limits)",
		field: func(k *Knobs) any { return &k.HostLimitInitial }, check: intIn(func(k Knobs) int { return k.HostLimitInitial }, 0, 100000)},
	{Key: "host_limit_max", Usage: "learned per-host limit: upper bound (≥ host-limit-initial)",
		field: func(k *Knobs) any { return &k.HostLimitMax },
		check: func(k Knobs) error {
			if k.HostLimitMax < max(1, k.HostLimitInitial) || k.HostLimitMax > 100000 {
				return fmt.Errorf("must be max(1, host-limit-initial %d) … 100000, got %d", k.HostLimitInitial, k.HostLimitMax)
			}
			return nil
		}},
	{Key: "refresh_aware", Usage: "learn each camera's refresh schedule from its capture times and skip it until its next frame is due (needs cycle-deadline)",
		field: func(k *Knobs) any { return &k.RefreshAware },
		check: func(k Knobs) error {
			if k.RefreshAware && k.CycleDeadline <= 0 {
				return fmt.Errorf("needs a cycle deadline (cycle-deadline > 0)")
			}
			return nil
		}},
}

func nonNegative(get func(Knobs) time.Duration) func(Knobs) error {
	return func(k Knobs) error {
		if v := get(k); v < 0 {
			return fmt.Errorf("must be ≥ 0, got %s", v)
		}
		return nil
	}
}

func intIn(get func(Knobs) int, lo, hi int) func(Knobs) error {
	return func(k Knobs) error {
		if v := get(k); v < lo || v > hi {
			return fmt.Errorf("must be %d … %d, got %d", lo, hi, v)
		}
		return nil
	}
}

func positive(get func(Knobs) time.Duration) func(Knobs) error {
	return func(k Knobs) error {
		if v := get(k); v <= 0 {
			return fmt.Errorf("must be > 0, got %s", v)
		}
		return nil
	}
}

// LookupKnob returns the row of the knob with scenario key or flag name
// name (fetch_timeout or fetch-timeout).
func LookupKnob(name string) (KnobSpec, bool) {
	key := strings.ReplaceAll(strings.ToLower(name), "-", "_")
	for _, s := range KnobTable {
		if s.Key == key {
			return s, true
		}
	}
	return KnobSpec{}, false
}

// Flag is the knob's `camload serve` flag name, Key with - for _.
func (s KnobSpec) Flag() string { return strings.ReplaceAll(s.Key, "_", "-") }

// Value returns the knob's value in k, typed: int, int64, float64, bool,
// time.Duration, FanOut or ClientKind.
func (s KnobSpec) Value(k Knobs) any {
	switch p := s.field(&k).(type) {
	case *int:
		return *p
	case *int64:
		return *p
	case *float64:
		return *p
	case *bool:
		return *p
	case *time.Duration:
		return *p
	case *FanOut:
		return *p
	case *ClientKind:
		return *p
	}
	panic("system: knob " + s.Key + " has a field of an unknown type")
}

// Format returns the knob's value in k as a flag value: a duration as
// time.Duration.String, the rest as fmt.Sprint.
func (s KnobSpec) Format(k Knobs) string { return fmt.Sprint(s.Value(k)) }

// Set parses text as the knob's value and stores it in k. The error (no
// field name) says what kind of value was wanted.
func (s KnobSpec) Set(k *Knobs, text string) error {
	t := strings.TrimSpace(text)
	switch p := s.field(k).(type) {
	case *int:
		n, err := strconv.Atoi(t)
		if err != nil {
			return fmt.Errorf("not an integer: %q", text)
		}
		*p = n
	case *int64:
		n, err := strconv.ParseInt(t, 10, 64)
		if err != nil {
			return fmt.Errorf("not a byte count: %q", text)
		}
		*p = n
	case *float64:
		f, err := strconv.ParseFloat(t, 64)
		if err != nil {
			return fmt.Errorf("not a number: %q", text)
		}
		*p = f
	case *bool:
		b, err := strconv.ParseBool(t)
		if err != nil {
			return fmt.Errorf("not a boolean: %q", text)
		}
		*p = b
	case *time.Duration:
		d, err := time.ParseDuration(t)
		if err != nil {
			return fmt.Errorf("not a duration: %q", text)
		}
		*p = d
	case *FanOut:
		*p = FanOut(text)
	case *ClientKind:
		*p = ClientKind(text)
	default:
		panic("system: knob " + s.Key + " has a field of an unknown type")
	}
	return nil
}

func modeNames() string {
	s := make([]string, len(Modes))
	for i, m := range Modes {
		s[i] = string(m)
	}
	return strings.Join(s, ", ")
}
