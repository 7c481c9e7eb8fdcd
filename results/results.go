// Package results is the versioned schema of a run's results.json: what the
// runner writes and what reports and gates read. Types here are plain data
// and safe to copy; nothing here is safe for concurrent mutation.
package results

import (
	"encoding/json"
	"fmt"
	"os"
	"time"
)

// SchemaVersion is the version of the results.json format written by this
// build. Readers reject other major versions.
const SchemaVersion = 2

// minSchema is the oldest version this build reads (schema 1 lacks the
// windows, bracketed capacities and CIs; its fields read as before).
const minSchema = 1

// Run is one run of a scenario: every cell of its matrix.
type Run struct {
	Schema       int       `json:"schema"`
	Scenario     string    `json:"scenario"`      // scenario name
	ScenarioFile string    `json:"scenario_file"` // path as given
	Started      time.Time `json:"started"`
	Finished     time.Time `json:"finished"`
	Env          Env       `json:"env"`
	// Interrupted is true when the run was stopped (Ctrl-C) and holds
	// partial results.
	Interrupted bool `json:"interrupted,omitempty"`
	// Thresholds copied from the scenario: a metric with an optional
	// selector → a condition (results/rule grammar), e.g.
	// "cycle_p99{mode:batched}" → "< 1s".
	Thresholds map[string]string `json:"thresholds,omitempty"`
	// Expect holds the scenario's cross-cell rules (results/rule grammar).
	Expect []string `json:"expect,omitempty"`
	// Compare names the comparisons the report shows; nil = the first and
	// last modes that completed (the report says so).
	Compare *Comparisons `json:"compare,omitempty"`
	// ExpectOverBudget lists selectors ("mode:sync,cameras:1000") of cells
	// the scenario expects to run over their budget: such a cell is
	// reported as expected, not failed.
	ExpectOverBudget []string `json:"expect_over_budget,omitempty"`
	// Seed is the scenario's seed; each cell records the seed derived
	// from it for its repetition (Cell.Seed).
	Seed int64 `json:"seed,omitempty"`
	// Filtered is the scenario's own matrix and the part the run kept
	// when --modes or --cameras changed it; nil for a run of the whole
	// matrix. Rules on the cells left out are not judged (reports/gate).
	Filtered *Filter `json:"filtered,omitempty"`
	Cells    []Cell  `json:"cells"`
	// Scaleout is the scaling across replica counts, one entry per
	// (mode, cameras) run with system.replicas; nil otherwise.
	Scaleout []Scaleout `json:"scaleout,omitempty"`
}

// Comparisons are the tables a scenario declares for its report.
type Comparisons struct {
	// Scaling compares one mode across the scenario's camera counts.
	Scaling *ScalingComparison `json:"scaling,omitempty" mapstructure:"scaling"`
	// BeforeAfter compares two modes at the largest camera count.
	BeforeAfter *BeforeAfterComparison `json:"before_after,omitempty" mapstructure:"before_after"`
}

// ScalingComparison names the mode of the scaling table.
type ScalingComparison struct {
	Mode string `json:"mode" mapstructure:"mode"`
}

// BeforeAfterComparison names the modes of the before/after table.
type BeforeAfterComparison struct {
	Before string `json:"before" mapstructure:"before"`
	After  string `json:"after" mapstructure:"after"`
}

// Env is the environment a run was measured in. Every report states it.
type Env struct {
	GoVersion string   `json:"go_version"`
	OS        string   `json:"os"`
	Arch      string   `json:"arch"`
	CPUModel  string   `json:"cpu_model"`
	Cores     int      `json:"cores"`
	MemTotal  int64    `json:"mem_total_bytes"`
	Hostname  string   `json:"hostname"`
	Commit    string   `json:"commit"`
	Camload   string   `json:"camload_version"`
	Backends  Backends `json:"backends"`
}

// Backends names the stores a run used, e.g. "ferretdb-sqlite (embedded)"
// or "mongodb://127.0.0.1:27017".
type Backends struct {
	Mongo string `json:"mongo"`
	Redis string `json:"redis"`
}

// Cell status values.
const (
	StatusOK          = "ok"
	StatusOverBudget  = "over_budget"
	StatusFailed      = "failed"
	StatusInterrupted = "interrupted"
)

// Cell is one matrix cell: mode × cameras × repetition.
type Cell struct {
	Mode    string         `json:"mode"`
	Cameras int            `json:"cameras"`
	Hosts   int            `json:"hosts"`
	Repeat  int            `json:"repeat"` // 0-based repetition index
	Knobs   map[string]any `json:"knobs,omitempty"`
	Status  string         `json:"status"`
	Error   string         `json:"error,omitempty"`
	Started time.Time      `json:"started"`
	// Elapsed is the cell's wall-clock time, start-up included.
	Elapsed Duration `json:"elapsed"`
	// Seed is the seed of this repetition's random draws (fleet faults and
	// latency, API targets), derived from the scenario's seed so that
	// repetitions differ and a rerun repeats them.
	Seed uint64 `json:"seed,omitempty"`
	// Database is the cell's database when it was kept (--keep-data, or
	// dropping it failed); "" once dropped.
	Database string `json:"database,omitempty"`
	// Windows are the measured phases; every resource and CPU figure
	// belongs to exactly one.
	Windows Windows `json:"windows"`
	// FreshnessServed is the age of the data the API served during the
	// cycles window (sampled `latest` reads); nil when not sampled.
	FreshnessServed *Freshness `json:"freshness_served,omitempty"`

	Cycles    Cycles              `json:"cycles"`
	Faults    map[string]int      `json:"faults"` // injected by the fleet, by kind
	Resources Resources           `json:"resources"`
	API       map[string]Endpoint `json:"api,omitempty"` // by endpoint name
	Profiles  Profiles            `json:"profiles"`
	Ideal     Ideal               `json:"ideal"`
	// External is set for an external system under test (see External).
	External *External `json:"external,omitempty"`
	// Replicas is set for a cell run as a group of replicas
	// (system.replicas; see Replicas).
	Replicas *Replicas `json:"replicas,omitempty"`
}

// Cycles summarizes the measured processing cycles of a cell.
type Cycles struct {
	Count     int       `json:"count"`
	Latency   Quantiles `json:"latency"`    // whole-cycle duration
	PerCamera Quantiles `json:"per_camera"` // one camera's fetch+analyze+store
	Freshness Quantiles `json:"freshness"`  // capture → stored
	// Durations is every measured cycle's duration, for gates judging
	// repetitions.
	Durations []Duration     `json:"durations"`
	Visits    int            `json:"visits"` // camera visits over all cycles
	Processed int            `json:"processed"`
	Skipped   int            `json:"skipped"`
	Errors    map[string]int `json:"errors"` // by kind, summed over cycles
	// Retries counts snapshot requests the system's transport retried
	// after a reused connection failed (system.CycleSummary.Retries); a
	// retry absorbs a fleet reset fault.
	Retries int `json:"retries,omitempty"`
	// Connections is the number of new connections the fleet's hosts
	// accepted during the measured cycles (connection churn); nil in
	// results written before it was measured.
	Connections *int64 `json:"fleet_connections,omitempty"`
	// Abandoned counts cameras still in flight at a cycle deadline
	// (resilient mode); their outcomes arrive later as Late, their errors
	// are in Errors.
	Abandoned int `json:"abandoned,omitempty"`
	// Late counts results of abandoned cameras that arrived after their
	// cycle's deadline.
	Late int `json:"late,omitempty"`
	// LateProcessed counts the late results that were new frames,
	// analyzed and stored after their cycle's deadline: frames processed
	// beside Processed (the on-time ones), the same work.
	LateProcessed int `json:"late_processed,omitempty"`
	// NotFetched counts cameras no request was sent for, by reason
	// (breaker_open, still_in_flight, not_due).
	NotFetched map[string]int `json:"not_fetched,omitempty"`
	// InFlight is how many cameras were still in flight when the window
	// ended (0 when its last cycle was drained).
	InFlight int `json:"in_flight,omitempty"`
	// GaveUp counts requests the fleet saw the system give up on before
	// any answer and without an injected fault (a deadline shorter than
	// the drawn latency): each is a timeout the system counts.
	GaveUp int `json:"client_gave_up,omitempty"`
	// TimeoutsMidAnswer counts timeouts the system counted whose request
	// the fleet logged as answered (with no fault, or with a fault the
	// system would have counted as another kind had the deadline not cut
	// it off), matched request by request (camera, start, deadline): the
	// fleet had begun its answer when the system's deadline expired — a
	// race at the deadline, or a system too busy to read the answer in
	// time (async's thousand goroutines on two cores). Each is a timeout
	// the system counts.
	TimeoutsMidAnswer int `json:"timeouts_mid_answer,omitempty"`
	// FleetLatency is the latency the fleet drew for the requests it
	// served in the cycles window (the camera's own time to answer, from
	// its fetch log; refused requests drew none): the "camera latency"
	// that bounds what any client can achieve, beside the cycle's figures.
	FleetLatency *Quantiles `json:"fleet_latency,omitempty"`
	// TimeoutsUnmatched counts timeouts with no fleet record of their
	// request (0 unless the fleet's log was truncated).
	TimeoutsUnmatched int `json:"timeouts_unmatched,omitempty"`
	// ErrorRate is errors ÷ visits (0 … 1).
	ErrorRate float64 `json:"error_rate"`
	// Reconciled is true when every error the system counted is matched
	// by a fault the fleet injected; Mismatch says what did not match.
	Reconciled bool   `json:"reconciled"`
	Mismatch   string `json:"mismatch,omitempty"`
}

// Quantiles of a latency distribution, from an HDR histogram. Count is
// the n behind every figure; a percentile that n cannot support is shown
// by reports as the maximum (see Supports).
type Quantiles struct {
	Count int64    `json:"count"`
	Mean  Duration `json:"mean"`
	P50   Duration `json:"p50"`
	P90   Duration `json:"p90"`
	P95   Duration `json:"p95"`
	P99   Duration `json:"p99"`
	Max   Duration `json:"max"`
	// P50CI and MeanCI are 95% confidence intervals [lo, hi] (bootstrap
	// over the samples); nil when too few samples were kept to compute one.
	P50CI  *[2]Duration `json:"p50_ci95,omitempty"`
	MeanCI *[2]Duration `json:"mean_ci95,omitempty"`
}

// Supports reports whether n samples support quantile q (0 … 1): at least
// 1/(1−q) samples lie above it on average, so p99 needs n ≥ 100, p95 n ≥ 20,
// p90 n ≥ 10 and the median n ≥ 2. Below that, reports show the maximum
// with its n, never the percentile.
func Supports(n int64, q float64) bool {
	if q <= 0 {
		return n >= 1
	}
	if q >= 1 {
		return n >= 1
	}
	return float64(n) >= 1/(1-q)-1e-9
}

// Resources are the system's own figures, sampled from its /metrics.
type Resources struct {
	RSSPeak           int64    `json:"rss_peak_bytes"`
	RSSMean           int64    `json:"rss_mean_bytes"`
	CPUCorePercent    float64  `json:"cpu_core_percent"`    // 100 = one core busy
	CPUMachinePercent float64  `json:"cpu_machine_percent"` // 100 = every core busy
	GoroutinesPeak    int      `json:"goroutines_peak"`
	FDsPeak           int      `json:"fds_peak"`
	GCPauseTotal      Duration `json:"gc_pause_total"`
	GCPauseMax        Duration `json:"gc_pause_max"`
	Series            []Sample `json:"series,omitempty"`
}

// Sample is one resource reading, At from the cell's measured start.
type Sample struct {
	At         Duration `json:"at"`
	RSS        int64    `json:"rss_bytes"`
	CPUPercent float64  `json:"cpu_core_percent"`
	Goroutines int      `json:"goroutines"`
	FDs        int      `json:"fds"`
}

// Endpoint is the outcome of attacking one API endpoint.
type Endpoint struct {
	Path       string    `json:"path"` // target template
	Rate       float64   `json:"rate"` // requested req/s
	Duration   Duration  `json:"duration"`
	Requests   uint64    `json:"requests"`
	Throughput float64   `json:"throughput"` // successful req/s
	Success    float64   `json:"success"`    // 0 … 1
	Latency    Quantiles `json:"latency"`    // from intended send time
	// LatencyRaw is measured from the actual send time, as vegeta reports
	// it (no coordinated-omission correction); compare with Latency to see
	// how much the load generator fell behind.
	LatencyRaw  Quantiles      `json:"latency_raw"`
	Errors      []string       `json:"errors,omitempty"`
	StatusCodes map[string]int `json:"status_codes,omitempty"`
	// BinFile is the vegeta results file, relative to the run folder.
	BinFile string `json:"bin_file,omitempty"`
	// BytesIn and BytesOut are the response and request bytes over the
	// attack, as vegeta counts them.
	BytesIn  uint64 `json:"bytes_in,omitempty"`
	BytesOut uint64 `json:"bytes_out,omitempty"`
	// Capacity is the outcome of the capacity search, when searched.
	Capacity *Capacity `json:"capacity,omitempty"`
}

// Profiles are pprof files relative to the run folder, with their top
// functions (flat share) for reports.
type Profiles struct {
	CPU  string `json:"cpu,omitempty"`
	Heap string `json:"heap,omitempty"`
	// CPUWindow is when the CPU profile ran; it lies inside
	// Windows.Cycles.
	CPUWindow *Span     `json:"cpu_window,omitempty"`
	CPUTop    []TopFunc `json:"cpu_top,omitempty"`
	HeapTop   []TopFunc `json:"heap_top,omitempty"`
}

// TopFunc is one line of a profile's top list.
type TopFunc struct {
	Func  string  `json:"func"`
	Flat  int64   `json:"flat"`  // ns of CPU or bytes in use
	Share float64 `json:"share"` // of the profile's total, 0 … 1
}

// Ideal is a lower bound on the cycle time the scenario allows and how
// close the system came to it.
type Ideal struct {
	CycleTime Duration `json:"cycle_time"`
	// Efficiency is ideal ÷ actual p50, never clipped: a value above 1
	// means the bound was not a bound (a bug), and fails the cell.
	Efficiency float64 `json:"efficiency"`
	Basis      string  `json:"basis"` // which bound set it: latency, host capacity or CPU
	// Draws is the number of the fleet's own latency draws (requests of
	// the measured cycles) the latency bound was computed from; 0 when it
	// was computed from the latency distribution instead.
	Draws int `json:"draws,omitempty"`
	// Handshakes is the number of connection handshakes the bound counts
	// (one per connection slot a perfect client would open).
	Handshakes int `json:"handshakes,omitempty"`
	// PerFrame is the CPU work per analyzed frame the CPU term counts
	// (the runner's own analysis of a fleet frame, mean over the fleet's
	// frames, the analysis cost included; the term is capped by the CPU
	// the cycle certainly used) and Cores the cores it divides that work by; both zero when no
	// CPU work was counted.
	PerFrame Duration `json:"per_frame,omitempty"`
	Cores    int      `json:"cores,omitempty"`
}

// Windows are a cell's measured phases. Every resource, CPU and profile
// figure belongs to exactly one of them, never to both.
type Windows struct {
	// Cycles runs from the first measured cycle's start to the last
	// measured cycle's end (warm-up excluded).
	Cycles *Window `json:"cycles,omitempty"`
	// API runs from the first load target's start to the end of the last
	// capacity search (nil when the scenario has no load).
	API *Window `json:"api,omitempty"`
}

// Window is one phase of a cell and what the processes used during it.
type Window struct {
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
	// CPUSecondsSystem is the CPU time (user+system) of the system under
	// test over the window: its /proc/<pid>/stat for camload serve, the sum
	// over its process tree for an external system.
	CPUSecondsSystem float64 `json:"cpu_seconds_system"`
	// CPUSecondsRunner is the runner process's CPU time over the window:
	// the embedded backends (FerretDB, miniredis), the fleet and vegeta.
	CPUSecondsRunner float64 `json:"cpu_seconds_runner"`
	// CPUMachinePercent is the whole machine's busy share from /proc/stat
	// over the window (100 = every core busy).
	CPUMachinePercent float64 `json:"cpu_machine_percent"`
	// RSSPeak and RSSMean are the system's resident set over the window
	// (peak: the kernel's high-water mark when the system exports it).
	RSSPeak int64 `json:"rss_peak_bytes"`
	RSSMean int64 `json:"rss_mean_bytes"`
	// Samples is the number of resource readings behind RSSMean.
	Samples int `json:"samples"`
	// Cache is the system's L1/L2 cache traffic over the window, from its
	// metrics (nil when the system exports none).
	Cache *CacheStats `json:"cache,omitempty"`
}

// Seconds is the window's length.
func (w *Window) Seconds() float64 { return w.End.Sub(w.Start).Seconds() }

// CacheStats counts cache lookups over a window.
type CacheStats struct {
	L1Hits   int64 `json:"l1_hits"`
	L1Misses int64 `json:"l1_misses"`
	L2Hits   int64 `json:"l2_hits"`
	L2Misses int64 `json:"l2_misses"`
}

// Span is a time interval.
type Span struct {
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
}

// Estimate is a statistic with its 95% confidence interval (bootstrap over
// the samples it was computed from) and its n.
type Estimate struct {
	Value float64    `json:"value"`
	CI95  [2]float64 `json:"ci95"`
	N     int        `json:"n"`
}

// Capacity is the outcome of a capacity search: ramp ×2 until the SLO fails
// or Cap is reached, then bisect between LastPass and FirstFail.
type Capacity struct {
	// Rate is the highest rate that met the SLO (== LastPass).
	Rate float64 `json:"rate"`
	// Censored is true when no step failed: the true capacity is ≥ Rate
	// (the search stopped at its cap or its time budget).
	Censored  bool     `json:"censored"`
	LastPass  *float64 `json:"last_pass"`
	FirstFail *float64 `json:"first_fail"`
	// Cap is the highest rate the search was allowed to try.
	Cap float64 `json:"cap"`
	// Warmup is the pass before the first step: one request to every
	// distinct URL, counted in no step (nil in results written before it
	// existed).
	Warmup *CapacityWarmup `json:"warmup,omitempty"`
	Steps  []CapacityStep  `json:"steps"`
}

// CapacityWarmup is a capacity search's warm-up pass.
type CapacityWarmup struct {
	URLs     int      `json:"urls"`
	Requests int      `json:"requests"`
	Failed   int      `json:"failed"`
	Elapsed  Duration `json:"elapsed"`
}

// CapacityStep is one rate the search tried.
type CapacityStep struct {
	Rate float64 `json:"rate"`
	// Duration is the step's attack: the scenario's step_duration, or
	// longer so that the step holds the 100 requests its p99 needs (0 in
	// results written before steps recorded it).
	Duration  Duration `json:"duration,omitempty"`
	Requests  uint64   `json:"requests"`
	P99       Duration `json:"p99"`
	Max       Duration `json:"max"`
	ErrorRate float64  `json:"error_rate"`
	// RawP99 is the p99 from each request's actual send time (vegeta's
	// own latency); P99 and Max are from the intended one. SendLagMax is
	// the most a request was sent late: when the runner itself could not
	// keep the schedule (a starved machine), P99 − RawP99 is its lateness,
	// not the system's. Both 0 in results written before they existed.
	RawP99     Duration `json:"raw_p99,omitempty"`
	SendLagMax Duration `json:"send_lag_max,omitempty"`
	Pass       bool     `json:"pass"`
	// JudgedOn says which statistic was held to the SLO: "p99", or "max"
	// when the step had too few requests to support its percentile
	// (stricter, never looser), or "decided" when the step stopped early
	// because more of its Planned requests had already missed the SLO
	// (too slow or failed) than its p99 or error rate allow: a miss
	// whatever the rest would have done. Requests, P99 … are then over
	// the requests it sent.
	JudgedOn string `json:"judged_on"`
	// Planned is the requests a step decided early had planned.
	Planned int    `json:"planned,omitempty"`
	BinFile string `json:"bin_file,omitempty"`
}

// Freshness is the age of the data the system's API serves, sampled by
// reading `latest` for random cameras during the cycles window.
type Freshness struct {
	Age   Quantiles `json:"age"` // now − captured_at of each read that served data
	Reads int       `json:"reads"`
	// AgeFresh is Age over the reads the API served as fresh (a capture,
	// neither stale nor offline), Fresh their count: the age of what the
	// system presents as current, apart from the last good observations
	// it serves, marked, for cameras it cannot reach.
	AgeFresh Quantiles `json:"age_fresh"`
	Fresh    int       `json:"fresh"`
	Stale    int       `json:"stale"`   // reads marked stale
	Offline  int       `json:"offline"` // reads of offline cameras
	NotFound int       `json:"not_found"`
	// Dark is how many reads were of a camera the fleet had in an offline
	// period at the read (its ground truth, not the system's view);
	// unknown (0) when the fleet could not say.
	Dark int `json:"dark"`
}

// UnmarshalJSON reads a Capacity object, or a bare number (results
// written by schema 1: the rate of a search whose bracket was not
// recorded, read as censored since it was never shown to fail).
func (c *Capacity) UnmarshalJSON(b []byte) error {
	var rate float64
	if err := json.Unmarshal(b, &rate); err == nil {
		*c = Capacity{Rate: rate, Censored: true, LastPass: &rate}
		return nil
	}
	type plain Capacity
	var p plain
	if err := json.Unmarshal(b, &p); err != nil {
		return fmt.Errorf("results: capacity: %w", err)
	}
	*c = Capacity(p)
	return nil
}

// Duration is a time.Duration that reads and writes JSON as a string
// ("1.5s") and also reads a number of nanoseconds.
type Duration time.Duration

// D returns d as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

func (d Duration) String() string { return time.Duration(d).String() }

// MarshalJSON writes d as a Go duration string.
func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).String())
}

// UnmarshalJSON reads a duration string or a number of nanoseconds.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		v, err := time.ParseDuration(s)
		if err != nil {
			return fmt.Errorf("results: bad duration %q: %w", s, err)
		}
		*d = Duration(v)
		return nil
	}
	var n int64
	if err := json.Unmarshal(b, &n); err != nil {
		return fmt.Errorf("results: duration must be a string or nanoseconds, got %s", b)
	}
	*d = Duration(n)
	return nil
}

// Write stores r as indented JSON at path, atomically (temp file + rename)
// so a reader never sees half a file.
func Write(path string, r *Run) error { return writeJSON(path, r) }

// writeJSON stores v as indented JSON at path, atomically.
func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("results: encoding: %w", err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("results: writing %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("results: writing %s: %w", path, err)
	}
	return nil
}

// Read loads and checks a results.json.
func Read(path string) (*Run, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("results: %w", err)
	}
	r, err := Decode(b)
	if err != nil {
		return nil, fmt.Errorf("results: %s: %w", path, err)
	}
	return r, nil
}

// Decode parses and checks results.json bytes.
func Decode(b []byte) (*Run, error) {
	var r Run
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("not valid results JSON: %w", err)
	}
	if r.Schema < minSchema || r.Schema > SchemaVersion {
		return nil, fmt.Errorf("schema version %d, this build reads %d…%d", r.Schema, minSchema, SchemaVersion)
	}
	for i, c := range r.Cells {
		if c.Mode == "" || c.Cameras <= 0 {
			return nil, fmt.Errorf("cells[%d]: mode and cameras are required", i)
		}
	}
	return &r, nil
}
