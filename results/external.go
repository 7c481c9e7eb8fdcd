package results

// External is what the runner measured of an external system under test
// (a scenario's system.external or one of its system.external_modes): the
// fleet-side view of its polling, which needs nothing from the system, and
// the resources of its process tree from /proc. Such a cell also fills
// Cycles (from the timed POSTs to cycle_url, else from the fleet's sweeps)
// and Resources (from /proc), so thresholds on cycle_*, error_rate,
// rss_*, cpu_* and api.* judge it like camload's own cells.
type External struct {
	// Command is the command as run, placeholders substituted.
	Command []string `json:"command"`
	// APIAddr is the host:port the system was given for its API.
	APIAddr string `json:"api_addr"`
	Pid     int    `json:"pid,omitempty"`
	// ReadyBy is how readiness was judged: "ready_url" or "first_fetch";
	// ReadyAfter is start → ready.
	ReadyBy    string   `json:"ready_by"`
	ReadyAfter Duration `json:"ready_after"`
	// CyclesBy is what delimited the measured window: "cycle_url" (timed
	// POSTs), "sweeps" (system.cycles sweeps seen by the fleet) or
	// "window" (a fixed duration).
	CyclesBy string `json:"cycles_by"`
	// Fleet is the fleet-side measurement of the measured window.
	Fleet FleetSide `json:"fleet_side"`
	// Windows are the process tree's resources per measurement window:
	// "cycles" (the same window as Fleet) and "load" (the API load, when
	// the scenario has one).
	Windows []ProcWindow `json:"proc_windows,omitempty"`
	// NoProfiles says why the cell has no CPU or heap profile: they are
	// taken only of camload's own system.
	NoProfiles string `json:"no_profiles,omitempty"`
	// ExitStatus is how the process ended: "exit status 3", "signal:
	// terminated" (stopped by the runner), … ; Exited is true when it
	// ended before the runner stopped it (the cell then failed) and
	// OutputTail holds the last lines of its output.
	ExitStatus string `json:"exit_status,omitempty"`
	Exited     bool   `json:"exited_early,omitempty"`
	OutputTail string `json:"output_tail,omitempty"`
	// Log is the system's stdout and stderr, relative to the run folder.
	Log string `json:"log,omitempty"`
}

// FleetSide is the fleet's view of a polling system over one window, from
// its fetch log (simulator.ComputeFetchStats): a visit is a request the
// camera served (any answer, faults included); a sweep ends when every
// camera has had a visit since it began.
type FleetSide struct {
	// Window is the measured window's length.
	Window   Duration `json:"window"`
	Cameras  int      `json:"cameras"`
	Requests int      `json:"requests"`
	Visits   int      `json:"visits"`
	// Sweeps is the number of complete sweeps; PartialCovered the cameras
	// the unfinished last one had covered; SweepTime their durations.
	Sweeps         int     `json:"sweeps"`
	PartialCovered int     `json:"partial_covered"`
	SweepTime      Summary `json:"sweep_time"`
	// Revisit is the distribution of every camera's interval between two
	// visits: the freshness of a polling system is bounded by it.
	Revisit Summary `json:"revisit"`
	// RequestsPerCamera is requests ÷ cameras per complete sweep, the
	// mean over sweeps (1 = no over-polling); MaxPerCamera the most
	// requests one camera got in one sweep.
	RequestsPerCamera float64 `json:"requests_per_camera"`
	MaxPerCamera      int     `json:"max_per_camera"`
	// NewConnections counts requests that opened a connection.
	NewConnections int `json:"new_connections"`
	// Refused counts requests a full host or camera refused (503s and
	// resets of overloaded gateways), by kind.
	Refused map[string]int `json:"refused,omitempty"`
	// Errors counts visits answered with a fault, by kind; ErrorsTotal
	// is their sum.
	Errors      map[string]int `json:"errors,omitempty"`
	ErrorsTotal int            `json:"errors_total"`
	// Unvisited counts cameras never visited in the window.
	Unvisited int `json:"unvisited"`
	// LogTruncated: the fleet's fetch log overflowed; counts are lower
	// bounds.
	LogTruncated bool `json:"log_truncated,omitempty"`
}

// Summary is a distribution of durations by nearest rank over N values
// (with N < 100, P99 is the maximum: show n beside it).
type Summary struct {
	N    int      `json:"n"`
	Min  Duration `json:"min"`
	Mean Duration `json:"mean"`
	P50  Duration `json:"p50"`
	P90  Duration `json:"p90"`
	P99  Duration `json:"p99"`
	Max  Duration `json:"max"`
}

// ProcWindow is a process tree's resources over one window, from /proc,
// sampled every few hundred milliseconds.
type ProcWindow struct {
	// Name is the window: "cycles" or "load".
	Name     string   `json:"name"`
	Duration Duration `json:"duration"`
	// CPUSeconds is user + system time of the tree's processes in the
	// window (children that exit between two samples lose their last
	// interval); CPUCorePercent is it over the window (100 = one core).
	CPUSeconds        float64 `json:"cpu_seconds"`
	CPUCorePercent    float64 `json:"cpu_core_percent"`
	CPUMachinePercent float64 `json:"cpu_machine_percent"` // the whole machine's busy share
	// RSSPeak and RSSMean are over the samples of the summed resident
	// sets; ProcsPeak the most processes seen at once.
	RSSPeak   int64 `json:"rss_peak_bytes"`
	RSSMean   int64 `json:"rss_mean_bytes"`
	ProcsPeak int   `json:"procs_peak"`
	Samples   int   `json:"samples"`
}
