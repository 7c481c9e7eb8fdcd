package results

import "strconv"

// StatusSkipped is the status of a cell that could not run on this
// machine, its Error saying why (e.g. a replicas cell without a Redis that
// several processes can share).
const StatusSkipped = "skipped"

// Replicas is what a cell run as a group of system replicas (scenario key
// system.replicas) measured. Every figure covers the cycles window: the
// measured cycles, from just before the first is posted to the
// coordinator to the last one's answer. The cell's Windows.Cycles is the
// group's over the same span: the CPU of every replica's process tree
// summed, the resident-set peak of the largest replica.
type Replicas struct {
	// Count is the number of replicas (n), each a `camload serve --group`
	// process.
	Count int `json:"count"`
	// GOMAXPROCS is each replica's GOMAXPROCS (0: the Go default).
	GOMAXPROCS int `json:"gomaxprocs,omitempty"`
	// Group is the group's name; Redis names the Redis that carried its
	// stream (passwords redacted).
	Group string `json:"group"`
	Redis string `json:"redis"`
	// Window is the cycles window.
	Window Span `json:"window"`
	// Cycles is how many measured cycles there were; Processed how many
	// cameras they processed in all (each once per cycle, over every
	// replica); CycleSeconds the sum of their durations as the
	// coordinator measured them (enqueue → last acknowledgement).
	Cycles       int     `json:"cycles"`
	Processed    int     `json:"processed"`
	CycleSeconds float64 `json:"cycle_seconds"`
	// Throughput is Processed ÷ CycleSeconds, cameras per second over the
	// whole group; PerReplica is Throughput ÷ Count.
	Throughput float64 `json:"throughput"`
	PerReplica float64 `json:"throughput_per_replica"`
	// Reclaimed counts the window's jobs taken over from another replica
	// (XAUTOCLAIM); Duplicates its deliveries of a camera already done in
	// its cycle; Incomplete its cycles not every job of which was
	// acknowledged.
	Reclaimed  int `json:"reclaimed"`
	Duplicates int `json:"duplicates"`
	Incomplete int `json:"incomplete,omitempty"`
	// Members are the replicas in start order.
	Members []Replica `json:"members"`
	// CPUMachinePercent is the machine's busy share over the window
	// (every process on it, not only the replicas).
	CPUMachinePercent float64 `json:"cpu_machine_percent"`
	// CPUSecondsRunner is the runner's CPU time over the window: the
	// fleet, embedded FerretDB and hosted miniredis run in it.
	// CPUSecondsRedis is that of the redis-server the runner started (0
	// for another Redis).
	CPUSecondsRunner float64 `json:"cpu_seconds_runner"`
	CPUSecondsRedis  float64 `json:"cpu_seconds_redis,omitempty"`
}

// Replica is one member of a cell's group over the cycles window.
type Replica struct {
	// Consumer is its consumer name in the group.
	Consumer string `json:"consumer"`
	Pid      int    `json:"pid"`
	// Processed is how many cameras it processed first in their cycle.
	Processed int `json:"processed"`
	// CPUSeconds is the CPU time of its process tree (-1: unknown).
	CPUSeconds float64 `json:"cpu_seconds"`
	// Coordinator is true for the replica that held the lease and ran
	// the cycles.
	Coordinator bool `json:"coordinator,omitempty"`
}

// Scaleout is a run's scaling across replica counts for one (mode,
// cameras): throughput(n) and its efficiency throughput(n) ÷ (n ×
// throughput(1)), never clipped. Window names the figures' window.
type Scaleout struct {
	Mode    string       `json:"mode"`
	Cameras int          `json:"cameras"`
	Window  string       `json:"window"`
	Points  []ScalePoint `json:"points"`
}

// ScalePoint is one replica count of a Scaleout. Values are medians over
// the repetitions (the unit of replication); the 95% intervals are
// bootstrapped over them and nil below 5 repetitions.
type ScalePoint struct {
	Replicas int `json:"replicas"`
	// N is the number of ok repetitions; Cycles the measured cycles over
	// them.
	N      int `json:"n"`
	Cycles int `json:"cycles"`
	// Throughput and PerReplica are cameras per second (Replicas.Throughput,
	// Replicas.PerReplica).
	Throughput   float64     `json:"throughput"`
	ThroughputCI *[2]float64 `json:"throughput_ci95,omitempty"`
	PerReplica   float64     `json:"throughput_per_replica"`
	// Efficiency is the median over repetitions of throughput_r(n) ÷ (n ×
	// throughput_r(1)), repetition r of n replicas paired with repetition
	// r of one (they share their seed); EfficiencyN is how many pairs.
	// nil when no repetition of one replica completed.
	Efficiency   *float64    `json:"efficiency,omitempty"`
	EfficiencyN  int         `json:"efficiency_n,omitempty"`
	EfficiencyCI *[2]float64 `json:"efficiency_ci95,omitempty"`
	// CPUMachinePercent is the median machine busy share over the cycles
	// windows: a point near 100% had no core left to scale onto.
	CPUMachinePercent float64 `json:"cpu_machine_percent"`
	// CPUPerCamera is the median over repetitions of the replicas' CPU
	// time summed over the cycles window ÷ the cameras processed in it,
	// in seconds: the work per camera, coordination included, whatever
	// share of the cores the replicas got; 0 when unknown.
	CPUPerCamera float64 `json:"cpu_per_camera_seconds,omitempty"`
	// CoreShare is the median over repetitions of the replicas' CPU time
	// over the cycles window ÷ (the window × n × GOMAXPROCS): the share of
	// its cores a replica got. Below 1 the replicas waited for CPU (or
	// for I/O); 0 when GOMAXPROCS is the default or a CPU is unknown.
	CoreShare float64 `json:"core_share,omitempty"`
	// SupportCores is the median over repetitions of the cores the
	// runner (fleet, embedded FerretDB, hosted miniredis) and the
	// runner's redis-server used over the cycles window: CPU seconds ÷
	// the window. On a machine of C cores, n replicas get at most
	// C − SupportCores − what other processes take.
	SupportCores float64 `json:"support_cores"`
}

// groupKey is the key of a cell's Group: "sync/1000", with "×N" for N
// replicas.
func groupKey(c Cell) string {
	k := c.Mode + "/" + strconv.Itoa(c.Cameras)
	if c.Replicas != nil {
		k += "×" + strconv.Itoa(c.Replicas.Count)
	}
	return k
}
