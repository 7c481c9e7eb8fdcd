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
const SchemaVersion = 1

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
	// Thresholds copied from the scenario: metric → expression ("< 1s").
	Thresholds map[string]string `json:"thresholds,omitempty"`
	Cells      []Cell            `json:"cells"`
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

	Cycles    Cycles              `json:"cycles"`
	Faults    map[string]int      `json:"faults"` // injected by the fleet, by kind
	Resources Resources           `json:"resources"`
	API       map[string]Endpoint `json:"api,omitempty"` // by endpoint name
	Profiles  Profiles            `json:"profiles"`
	Ideal     Ideal               `json:"ideal"`
	// External is set for an external system under test (see External).
	External *External `json:"external,omitempty"`
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
	// ErrorRate is errors ÷ visits (0 … 1).
	ErrorRate float64 `json:"error_rate"`
	// Reconciled is true when every error the system counted is matched
	// by a fault the fleet injected; Mismatch says what did not match.
	Reconciled bool   `json:"reconciled"`
	Mismatch   string `json:"mismatch,omitempty"`
}

// Quantiles of a latency distribution, from an HDR histogram.
type Quantiles struct {
	Count int64    `json:"count"`
	Mean  Duration `json:"mean"`
	P50   Duration `json:"p50"`
	P90   Duration `json:"p90"`
	P95   Duration `json:"p95"`
	P99   Duration `json:"p99"`
	Max   Duration `json:"max"`
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
	// Capacity is the highest rate that met the SLO, when searched.
	Capacity *float64 `json:"capacity,omitempty"`
}

// Profiles are pprof files relative to the run folder, with their top
// functions (flat share) for reports.
type Profiles struct {
	CPU     string    `json:"cpu,omitempty"`
	Heap    string    `json:"heap,omitempty"`
	CPUTop  []TopFunc `json:"cpu_top,omitempty"`
	HeapTop []TopFunc `json:"heap_top,omitempty"`
}

// TopFunc is one line of a profile's top list.
type TopFunc struct {
	Func  string  `json:"func"`
	Flat  int64   `json:"flat"`  // ns of CPU or bytes in use
	Share float64 `json:"share"` // of the profile's total, 0 … 1
}

// Ideal is the best cycle time the scenario allows and how close the system
// came to it.
type Ideal struct {
	CycleTime  Duration `json:"cycle_time"`
	Efficiency float64  `json:"efficiency"` // ideal ÷ actual p50, 0 … 1
	Basis      string   `json:"basis"`      // which bound set it: latency, host capacity or CPU
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
func Write(path string, r *Run) error {
	b, err := json.MarshalIndent(r, "", "  ")
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
	if r.Schema != SchemaVersion {
		return nil, fmt.Errorf("schema version %d, this build reads %d", r.Schema, SchemaVersion)
	}
	for i, c := range r.Cells {
		if c.Mode == "" || c.Cameras <= 0 {
			return nil, fmt.Errorf("cells[%d]: mode and cameras are required", i)
		}
	}
	return &r, nil
}
