// Package dashboard serves a live web page for a `camload run`: the run's
// plan and progress, live charts of the running cell and the finished
// cells side by side, updated by server-sent events.
//
// The runner publishes Events to a Hub; the Hub keeps a bounded history so
// a browser opened late (or reconnecting) gets what it missed first, and
// streams every new event to each connected browser. Publishing never
// waits for a browser: a client that falls behind is dropped.
//
// A runner publishes, in order:
//
//	Plan                        once, before the first cell
//	per cell (Event.Cell = its 1-based index):
//	  CellStarted               before the fleet and system start
//	  Phase{starting}
//	  Phase{warmup k/W}, Cycle{Warmup: true}   per warm-up cycle
//	  Phase{cycle k/N}, Cycle                  per measured cycle, with its
//	                                           errors and the faults injected
//	                                           during it (fleet delta)
//	  Resource                  per sampler reading (system's /metrics and
//	                            the runner's own), any time in the cell
//	  Phase{profile}
//	  Phase{load target @rate}, Attack ...     per load target, a window a second
//	  Phase{capacity step s @rate}, CapacityStep  per capacity step
//	  Phase{stopping}
//	  CellFinished              with the cell's summary and its files
//	RunFinished                 once, after results.json and report.html
//
// A nil *Hub discards events, so the runner calls Publish unconditionally.
package dashboard

import (
	"errors"
	"fmt"
	"time"
)

// Version is the version of the event format (Event.V). A reader rejects
// events of another version.
const Version = 1

// Kind names what an Event reports.
type Kind string

// Event kinds, one per payload field of Event.
const (
	KindPlan         Kind = "plan"          // Event.Plan
	KindCellStarted  Kind = "cell_started"  // Event.CellStarted
	KindPhase        Kind = "phase"         // Event.Phase
	KindCycle        Kind = "cycle"         // Event.Cycle
	KindResource     Kind = "resource"      // Event.Resource
	KindAttack       Kind = "attack"        // Event.Attack
	KindCapacityStep Kind = "capacity_step" // Event.CapacityStep
	KindCellFinished Kind = "cell_finished" // Event.CellFinished
	KindRunFinished  Kind = "run_finished"  // Event.RunFinished
)

// Event is one thing that happened in a run. Exactly one payload field is
// set; Kind names it (Publish fills Kind, V, ID and At when they are
// zero). Cell is the 1-based index of the cell in Plan.Cells an event
// belongs to, 0 for run-wide events (plan, run finished).
//
// Durations are JSON numbers of nanoseconds (fields ending in _ns), so the
// page needs no parsing.
type Event struct {
	V    int       `json:"v"`
	ID   uint64    `json:"id"`
	Kind Kind      `json:"kind"`
	At   time.Time `json:"at"`
	Cell int       `json:"cell,omitempty"`

	Plan         *Plan         `json:"plan,omitempty"`
	CellStarted  *CellStarted  `json:"cell_started,omitempty"`
	Phase        *Phase        `json:"phase,omitempty"`
	Cycle        *Cycle        `json:"cycle,omitempty"`
	Resource     *Resource     `json:"resource,omitempty"`
	Attack       *Attack       `json:"attack,omitempty"`
	CapacityStep *CapacityStep `json:"capacity_step,omitempty"`
	CellFinished *CellFinished `json:"cell_finished,omitempty"`
	RunFinished  *RunFinished  `json:"run_finished,omitempty"`
}

// CellRef names one matrix cell: mode × cameras × repetition.
type CellRef struct {
	Index   int    `json:"index"` // 1-based position in Plan.Cells
	Mode    string `json:"mode"`
	Cameras int    `json:"cameras"`
	Repeat  int    `json:"repeat"` // 0-based repetition
}

// Plan is the run's matrix, published once before the first cell.
type Plan struct {
	Scenario     string    `json:"scenario"`
	ScenarioFile string    `json:"scenario_file,omitempty"`
	Started      time.Time `json:"started"`
	Cells        []CellRef `json:"cells"`
	// Warmup and Cycles are the warm-up and measured cycles of each cell.
	Warmup int `json:"warmup"`
	Cycles int `json:"cycles"`
	// Load names the API load targets each cell attacks, in order.
	Load []string `json:"load,omitempty"`
	// Files is true when the hub serves the run folder under /files/ (set
	// by Publish from Options.Files), so the page links profiles.
	Files bool `json:"files"`
}

// CellStarted says a cell began (fleet and system starting).
type CellStarted struct {
	CellRef
	Hosts int `json:"hosts"`
	// Dir is the cell's folder relative to the run folder.
	Dir string `json:"dir,omitempty"`
}

// PhaseName is a step of a cell's sequence.
type PhaseName string

// A cell's phases, in order.
const (
	PhaseStarting PhaseName = "starting" // fleet and system starting
	PhaseWarmup   PhaseName = "warmup"   // warm-up cycle Step of Steps
	PhaseCycle    PhaseName = "cycle"    // measured cycle Step of Steps
	PhaseProfile  PhaseName = "profile"  // heap profile, summaries
	PhaseLoad     PhaseName = "load"     // API load on Target at Rate
	PhaseCapacity PhaseName = "capacity" // capacity search step Step at Rate
	PhaseStopping PhaseName = "stopping" // system and fleet stopping
)

// Phase says what the cell is doing now; each replaces the previous.
type Phase struct {
	Name  PhaseName `json:"name"`
	Step  int       `json:"step,omitempty"`  // 1-based, for warmup, cycle, capacity
	Steps int       `json:"steps,omitempty"` // of how many (capacity: at most)
	// Target and Rate (req/s) for load and capacity.
	Target string  `json:"target,omitempty"`
	Rate   float64 `json:"rate,omitempty"`
}

// String is the phase as the page shows it: "cycle 3/10".
func (p Phase) String() string {
	s := string(p.Name)
	if p.Target != "" {
		s += " " + p.Target
	}
	if p.Steps > 0 {
		s += fmt.Sprintf(" %d/%d", p.Step, p.Steps)
	} else if p.Step > 0 {
		s += fmt.Sprintf(" %d", p.Step)
	}
	if p.Rate > 0 {
		s += fmt.Sprintf(" at %g req/s", p.Rate)
	}
	return s
}

// Quantiles of a latency distribution. Count is how many values it holds.
type Quantiles struct {
	Count int64         `json:"count"`
	P50   time.Duration `json:"p50_ns"`
	P90   time.Duration `json:"p90_ns"`
	P99   time.Duration `json:"p99_ns"`
	Max   time.Duration `json:"max_ns"`
}

// Cycle is one finished processing cycle, warm-up or measured.
type Cycle struct {
	N      int           `json:"n"`  // 1-based among its kind (warm-up or measured)
	Of     int           `json:"of"` // how many of its kind the cell runs
	Warmup bool          `json:"warmup,omitempty"`
	Took   time.Duration `json:"duration_ns"`
	// Cameras visited, new frames processed, unchanged frames skipped.
	Cameras   int `json:"cameras"`
	Processed int `json:"processed"`
	Skipped   int `json:"skipped"`
	// PerFrame is one camera's fetch+analyze+store time in this cycle.
	PerFrame Quantiles `json:"per_frame"`
	// Errors the system counted in this cycle, by kind; Faults the fleet
	// injected during it, by kind.
	Errors  map[string]int `json:"errors,omitempty"`
	Faults  map[string]int `json:"faults,omitempty"`
	Retries int            `json:"retries,omitempty"`
}

// Proc is one process's (or the machine's) resource reading.
type Proc struct {
	RSS        int64   `json:"rss_bytes"`
	CPUPercent float64 `json:"cpu_core_percent"` // 100 = one core busy
	Goroutines int     `json:"goroutines"`
}

// Resource is a resource sample of the system and of the runner, Since
// the cell started. A fine-grained sample: the history thins old ones.
type Resource struct {
	Since  time.Duration `json:"since_ns"`
	System Proc          `json:"system"`
	Runner Proc          `json:"runner"`
}

// Attack is a window of an API attack: requests that completed in the
// window ending Since the attack began. A fine-grained sample.
type Attack struct {
	Target     string        `json:"target"`
	Since      time.Duration `json:"since_ns"`
	Rate       float64       `json:"rate"`       // requested req/s
	Throughput float64       `json:"throughput"` // successful req/s in the window
	Requests   uint64        `json:"requests"`   // in the window
	Errors     uint64        `json:"errors"`     // failed requests in the window
	// Latency from the intended send time (coordinated omission
	// corrected), in the window.
	Latency Quantiles `json:"latency"`
}

// CapacityStep is one finished step of a capacity search.
type CapacityStep struct {
	Target    string        `json:"target"`
	Step      int           `json:"step"` // 1-based
	Rate      float64       `json:"rate"` // req/s
	Requests  uint64        `json:"requests"`
	P99       time.Duration `json:"p99_ns"`
	ErrorRate float64       `json:"error_rate"` // 0 … 1
	Pass      bool          `json:"pass"`       // met the SLO
	// The SLO the step was judged by.
	SLOP99       time.Duration `json:"slo_p99_ns"`
	SLOErrorRate float64       `json:"slo_error_rate"`
}

// Endpoint is a finished cell's outcome for one load target.
type Endpoint struct {
	Name       string        `json:"name"`
	Rate       float64       `json:"rate"`
	Throughput float64       `json:"throughput"`
	Success    float64       `json:"success"` // 0 … 1
	P50        time.Duration `json:"p50_ns"`
	P99        time.Duration `json:"p99_ns"`
	// Capacity is the highest rate that met the SLO; nil when not
	// searched or none did.
	Capacity *float64 `json:"capacity,omitempty"`
}

// Link is a file of the run folder: Path is relative to it, with forward
// slashes ("cells/latest-100-r0/cpu.pb.gz").
type Link struct {
	Name string `json:"name"`
	Path string `json:"path"`
}

// CellFinished is a cell's summary: the same metrics as the report.
type CellFinished struct {
	CellRef
	Status  string        `json:"status"` // results.Status*: ok, over_budget, failed, interrupted
	Error   string        `json:"error,omitempty"`
	Elapsed time.Duration `json:"elapsed_ns"`

	Cycles    int       `json:"cycles"`
	CycleTime Quantiles `json:"cycle_time"`
	PerFrame  Quantiles `json:"per_frame"`
	ErrorRate float64   `json:"error_rate"` // errors ÷ visits
	// Errors counted by the system and faults injected by the fleet over
	// the measured cycles, by kind; Reconciled when they match.
	Errors     map[string]int `json:"errors,omitempty"`
	Faults     map[string]int `json:"faults,omitempty"`
	Reconciled bool           `json:"reconciled"`

	RSSPeak        int64   `json:"rss_peak_bytes"`
	CPUPercent     float64 `json:"cpu_core_percent"`
	GoroutinesPeak int     `json:"goroutines_peak"`

	API []Endpoint `json:"api,omitempty"`
	// Files are the cell's profiles and vegeta .bin files.
	Files []Link `json:"files,omitempty"`
}

// RunFinished is the last event of a run.
type RunFinished struct {
	Elapsed     time.Duration `json:"elapsed_ns"`
	Interrupted bool          `json:"interrupted,omitempty"`
	// Verdict is the gate's one-line verdict, when judged.
	Verdict string `json:"verdict,omitempty"`
	// Report and Results are relative to the run folder ("report.html").
	Report  string `json:"report,omitempty"`
	Results string `json:"results,omitempty"`
}

// ErrPayload is returned by Publish for an event that does not have
// exactly one payload matching its Kind.
var ErrPayload = errors.New("dashboard: an event needs exactly one payload, matching its kind")

// payloadKind is the kind of e's payload, or "" when e has none or several.
func (e *Event) payloadKind() Kind {
	var k Kind
	n := 0
	set := func(ok bool, kind Kind) {
		if ok {
			n++
			k = kind
		}
	}
	set(e.Plan != nil, KindPlan)
	set(e.CellStarted != nil, KindCellStarted)
	set(e.Phase != nil, KindPhase)
	set(e.Cycle != nil, KindCycle)
	set(e.Resource != nil, KindResource)
	set(e.Attack != nil, KindAttack)
	set(e.CapacityStep != nil, KindCapacityStep)
	set(e.CellFinished != nil, KindCellFinished)
	set(e.RunFinished != nil, KindRunFinished)
	if n != 1 {
		return ""
	}
	return k
}

// fine is true for the fine-grained kinds the history thins.
func (k Kind) fine() bool { return k == KindResource || k == KindAttack }
