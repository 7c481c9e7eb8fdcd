package results

// This file is the metric vocabulary shared by every stage that reads a
// run: metric names, their units, how cells group into mode/cameras
// groups and how values are formatted. reports/gate judges rules
// (results/rule) with it through MetricUnit, RuleValue and Censored;
// scenarios validates rules with MetricUnit.

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/camload/camload/results/rule"
)

// Unit is the unit of a metric's value as returned by Metric.
type Unit int

// Units of metric values.
const (
	// Count is a plain number: goroutines, requests per second.
	Count Unit = iota
	// Nanoseconds is a duration in nanoseconds.
	Nanoseconds
	// Bytes is a size in bytes.
	Bytes
	// Ratio is a fraction 0 … 1 (error rate, success, efficiency), shown
	// as a percentage.
	Ratio
	// Percent is already a percentage: CPU, where 100 is one core busy.
	Percent
)

func (u Unit) String() string {
	switch u {
	case Count:
		return "count"
	case Nanoseconds:
		return "duration"
	case Bytes:
		return "bytes"
	case Ratio:
		return "ratio"
	case Percent:
		return "percent"
	}
	return "unit(" + strconv.Itoa(int(u)) + ")"
}

// quantile returns the named statistic of q in nanoseconds.
func quantile(q Quantiles, stat string) (float64, bool) {
	if q.Count == 0 {
		return 0, false
	}
	var d Duration
	switch stat {
	case "p50":
		d = q.P50
	case "p90":
		d = q.P90
	case "p95":
		d = q.P95
	case "p99":
		d = q.P99
	case "max":
		d = q.Max
	case "mean":
		d = q.Mean
	default:
		return 0, false
	}
	return float64(d), true
}

// Metric returns the value of the named metric in cell c, its unit, and
// whether the cell holds it. Names:
//
//	cycle_{p50,p90,p95,p99,max,mean}        whole-cycle latency
//	per_camera_{p50,…}, freshness_{p50,…}   one camera's latency, capture → stored
//	fleet_latency_{p50,…}                   the latency the fleet drew for the requests it served (cycles window)
//	served_age_{p50,…}                      age of the data sampled `latest` reads served (now − captured_at)
//	served_fresh_age_{p50,…}                the same over the reads served as fresh (neither stale nor offline)
//	served_fresh                            reads served fresh ÷ reads
//	served_online                           reads of cameras the fleet had online (not in an offline period) ÷ reads
//	reconciled                              1 when every error the system counted matched a fault the fleet injected, else 0
//	error_rate                              errors ÷ camera visits
//	faults_rate                             faults the fleet injected ÷ camera visits
//	rss_peak, rss_mean                      bytes
//	cpu_core, cpu_machine                   percent (100 = one core / every core)
//	goroutines_peak, fds_peak, gc_pause_max, gc_pause_total
//	camera_connections                      new connections the fleet accepted during the measured cycles
//	efficiency, ideal_cycle                 ideal ÷ actual cycle time, ideal time
//	api_throughput                          summed over endpoints (req/s)
//	api_capacity                            summed over the endpoints whose capacity was searched (req/s)
//	api.<endpoint>.{p50,p90,p95,p99,max,mean,throughput,success,error_rate,capacity,rate}
//	api.<endpoint>.raw_{p50,…}              latency from the actual send time (no CO correction)
//	capacity.<endpoint>                     = api.<endpoint>.capacity (req/s; censored when the search never failed)
//
// A cell that was not measured (failed, over budget) still returns what it
// holds; callers decide whether a non-ok cell's numbers count.
func Metric(c Cell, name string) (float64, Unit, bool) {
	if ep, ok := strings.CutPrefix(name, "capacity."); ok {
		return apiMetric(c, ep+".capacity")
	}
	if strings.HasPrefix(name, "api.") {
		return apiMetric(c, strings.TrimPrefix(name, "api."))
	}
	for _, p := range []struct {
		prefix string
		q      Quantiles
	}{
		{"cycle_", c.Cycles.Latency},
		{"per_camera_", c.Cycles.PerCamera},
		{"freshness_", c.Cycles.Freshness},
		{"fleet_latency_", deref(c.Cycles.FleetLatency)},
		{"served_fresh_age_", ServedAge(c, true)},
		{"served_age_", ServedAge(c, false)},
	} {
		if stat, ok := strings.CutPrefix(name, p.prefix); ok {
			v, ok := quantile(p.q, stat)
			return v, Nanoseconds, ok
		}
	}
	r := c.Resources
	switch name {
	case "reconciled":
		if c.Cycles.Reconciled {
			return 1, Count, c.Cycles.Visits > 0
		}
		return 0, Count, c.Cycles.Visits > 0
	case "served_fresh", "served_online":
		f := c.FreshnessServed
		if f == nil || f.Reads <= 0 {
			return 0, Ratio, false
		}
		n := f.Fresh
		if name == "served_online" {
			n = f.Reads - f.Dark
		}
		return float64(n) / float64(f.Reads), Ratio, true
	case "error_rate":
		return c.Cycles.ErrorRate, Ratio, c.Cycles.Visits > 0
	case "faults_rate":
		if c.Cycles.Visits == 0 || c.Faults == nil {
			return 0, Ratio, false
		}
		n := 0
		for _, k := range c.Faults {
			n += k
		}
		return float64(n) / float64(c.Cycles.Visits), Ratio, true
	case "rss_peak":
		return float64(r.RSSPeak), Bytes, r.RSSPeak > 0
	case "rss_mean":
		return float64(r.RSSMean), Bytes, r.RSSMean > 0
	case "cpu_core":
		return r.CPUCorePercent, Percent, r.RSSPeak > 0 || r.CPUCorePercent > 0
	case "cpu_machine":
		return r.CPUMachinePercent, Percent, r.RSSPeak > 0 || r.CPUMachinePercent > 0
	case "goroutines_peak":
		return float64(r.GoroutinesPeak), Count, r.GoroutinesPeak > 0
	case "fds_peak":
		return float64(r.FDsPeak), Count, r.FDsPeak > 0
	case "camera_connections":
		if c.Cycles.Connections == nil {
			return 0, Count, false
		}
		return float64(*c.Cycles.Connections), Count, true
	case "gc_pause_max":
		return float64(r.GCPauseMax), Nanoseconds, r.RSSPeak > 0
	case "gc_pause_total":
		return float64(r.GCPauseTotal), Nanoseconds, r.RSSPeak > 0
	case "efficiency":
		return c.Ideal.Efficiency, Ratio, c.Ideal.CycleTime > 0
	case "ideal_cycle":
		return float64(c.Ideal.CycleTime), Nanoseconds, c.Ideal.CycleTime > 0
	case "api_throughput":
		var sum float64
		for _, e := range c.API {
			sum += e.Throughput
		}
		return sum, Count, len(c.API) > 0
	case "api_capacity":
		// A summed search whose floor failed has only an upper bound
		// (UpperBound): the sum is not a value.
		var sum float64
		n := 0
		for _, e := range c.API {
			if e.Capacity != nil {
				if floorFailed(e.Capacity) {
					return 0, Count, false
				}
				sum += e.Capacity.Rate
				n++
			}
		}
		return sum, Count, n > 0
	}
	return 0, Count, false
}

// apiUnit is the unit of an api.<endpoint>.<stat> statistic.
func apiUnit(stat string) Unit {
	switch stat {
	case "throughput", "rate", "capacity":
		return Count
	case "success", "error_rate":
		return Ratio
	}
	return Nanoseconds
}

func apiMetric(c Cell, rest string) (float64, Unit, bool) {
	i := strings.LastIndexByte(rest, '.')
	if i <= 0 {
		return 0, Count, false
	}
	stat := rest[i+1:]
	u := apiUnit(stat)
	e, ok := c.API[rest[:i]]
	if !ok {
		return 0, u, false
	}
	switch stat {
	case "throughput":
		return e.Throughput, u, true
	case "rate":
		return e.Rate, u, true
	case "success":
		return e.Success, u, e.Requests > 0
	case "error_rate":
		return 1 - e.Success, u, e.Requests > 0
	case "capacity":
		// A search whose floor already failed has no rate that met the
		// SLO (LastPass nil): the capacity is below MinRate, an upper
		// bound, not 0 — no value here; rules read the bound through
		// UpperBound.
		if e.Capacity == nil || e.Capacity.LastPass == nil {
			return 0, u, false
		}
		return e.Capacity.Rate, u, true
	default:
		if raw, ok := strings.CutPrefix(stat, "raw_"); ok {
			v, ok := quantile(e.LatencyRaw, raw)
			return v, u, ok
		}
		v, ok := quantile(e.Latency, stat)
		return v, u, ok
	}
}

// KnownMetric reports whether name is a metric name Metric understands,
// whatever a particular cell holds. It is used to reject typos in
// thresholds before a run is judged.
func KnownMetric(name string) bool {
	if ep, ok := strings.CutPrefix(name, "capacity."); ok {
		return ep != "" && !strings.Contains(ep, ".")
	}
	if rest, ok := strings.CutPrefix(name, "api."); ok {
		i := strings.LastIndexByte(rest, '.')
		if i <= 0 {
			return false
		}
		switch stat := strings.TrimPrefix(rest[i+1:], "raw_"); stat {
		case "p50", "p90", "p95", "p99", "max", "mean":
			return true
		case "throughput", "rate", "success", "error_rate", "capacity":
			return stat == rest[i+1:]
		}
		return false
	}
	for _, p := range []string{"cycle_", "per_camera_", "freshness_", "fleet_latency_", "served_fresh_age_", "served_age_"} {
		if stat, ok := strings.CutPrefix(name, p); ok {
			switch stat {
			case "p50", "p90", "p95", "p99", "max", "mean":
				return true
			}
			return false
		}
	}
	switch name {
	case "served_fresh", "served_online", "reconciled",
		"error_rate", "faults_rate", "rss_peak", "rss_mean", "cpu_core", "cpu_machine", "goroutines_peak",
		"fds_peak", "camera_connections", "gc_pause_max", "gc_pause_total", "efficiency", "ideal_cycle",
		"api_throughput", "api_capacity":
		return true
	}
	return false
}

// ErrUnknownMetric is wrapped by MetricUnit's error for a name Metric does
// not understand.
var ErrUnknownMetric = fmt.Errorf("not a metric of results.json")

// MetricUnit is the rule vocabulary (a rule.Metrics function): the unit
// of the named metric's values as RuleValue returns them, or an error
// wrapping ErrUnknownMetric for a name Metric does not understand.
// Durations are rule.Duration, sizes rule.Bytes, error rates, success,
// efficiency and CPU shares rule.Fraction (written as percentages in
// rules: cpu_core 150% is one and a half cores), counts and rates
// rule.Plain.
func MetricUnit(name string) (rule.Unit, error) {
	if !KnownMetric(name) {
		return rule.Plain, fmt.Errorf("%w (see the metric list in scenarios/README.md)", ErrUnknownMetric)
	}
	_, u, _ := Metric(Cell{}, name)
	return u.Rule(), nil
}

// Rule is the unit's counterpart in rules: Percent and Ratio are both
// rule.Fraction.
func (u Unit) Rule() rule.Unit {
	switch u {
	case Nanoseconds:
		return rule.Duration
	case Bytes:
		return rule.Bytes
	case Ratio, Percent:
		return rule.Fraction
	}
	return rule.Plain
}

// RuleValue is Metric in the base unit of u.Rule(): a Percent (100 = one
// core) becomes a fraction (1 = one core).
func RuleValue(c Cell, name string) (float64, rule.Unit, bool) {
	v, u, ok := Metric(c, name)
	if u == Percent {
		v /= 100
	}
	return v, u.Rule(), ok
}

// Censored reports whether the named metric of c is a lower bound rather
// than a value: a capacity whose search never failed (api_capacity when
// any summed endpoint is censored).
func Censored(c Cell, name string) bool {
	ep := ""
	switch {
	case name == "api_capacity":
		for _, e := range c.API {
			if e.Capacity != nil && e.Capacity.Censored {
				return true
			}
		}
		return false
	case strings.HasPrefix(name, "capacity."):
		ep = strings.TrimPrefix(name, "capacity.")
	case strings.HasPrefix(name, "api.") && strings.HasSuffix(name, ".capacity"):
		ep = strings.TrimSuffix(strings.TrimPrefix(name, "api."), ".capacity")
	default:
		return false
	}
	e, ok := c.API[ep]
	return ok && e.Capacity != nil && e.Capacity.Censored
}

// floorFailed reports whether a capacity search failed at its first rate:
// no rate met the SLO, the capacity is below that rate.
func floorFailed(c *Capacity) bool { return c.LastPass == nil && c.FirstFail != nil }

// UpperBound returns the bound of a metric of c that has no value (Metric
// says !ok) because only an upper bound of it is known: a capacity whose
// search failed at its floor is below that floor (capacity.<endpoint>,
// api.<endpoint>.capacity), and api_capacity, when some summed search
// failed at its floor and none was censored, is below the sum of the
// rates and floors. The true value is below the bound and, like every
// capacity, not negative. ok is false for any other metric or cell.
func UpperBound(c Cell, name string) (bound float64, ok bool) {
	ep := ""
	switch {
	case name == "api_capacity":
		var sum float64
		below := false
		for _, e := range c.API {
			switch {
			case e.Capacity == nil:
			case floorFailed(e.Capacity):
				sum += *e.Capacity.FirstFail
				below = true
			case e.Capacity.Censored:
				return 0, false // below one bound, above another: unknown
			default:
				sum += e.Capacity.Rate
			}
		}
		if !below {
			return 0, false
		}
		return sum, true
	case strings.HasPrefix(name, "capacity."):
		ep = strings.TrimPrefix(name, "capacity.")
	case strings.HasPrefix(name, "api.") && strings.HasSuffix(name, ".capacity"):
		ep = strings.TrimSuffix(strings.TrimPrefix(name, "api."), ".capacity")
	default:
		return 0, false
	}
	e, ok := c.API[ep]
	if !ok || e.Capacity == nil || !floorFailed(e.Capacity) {
		return 0, false
	}
	return *e.Capacity.FirstFail, true
}

// HigherIsBetter reports whether a larger value of the named metric is an
// improvement (throughput, success, capacity, efficiency); for every other
// metric a larger value is a regression.
func HigherIsBetter(name string) bool {
	for _, s := range []string{"throughput", "success", "capacity", "efficiency"} {
		if strings.HasSuffix(name, s) {
			return true
		}
	}
	return false
}

// Format renders v in unit u for people: "812ms", "1.25s", "512 MiB",
// "0.52%", "45%", "1234" (rule.Format, the rules' own notation).
func Format(v float64, u Unit) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "n/a"
	}
	switch u {
	case Nanoseconds:
		return FormatDuration(time.Duration(v))
	case Percent: // already ×100: 45 is 45%
		return rule.Format(v, rule.Plain) + "%"
	}
	return rule.Format(v, u.Rule())
}

// FormatDuration renders d with three significant digits: "812ms", "1.25s",
// "53.2µs".
func FormatDuration(d time.Duration) string { return rule.Format(float64(d), rule.Duration) }

// FormatBytes renders n bytes in binary units with three significant
// digits: "512 MiB", "1.25 GiB".
func FormatBytes(n float64) string { return rule.Format(n, rule.Bytes) }

// Group is the repetitions of one (mode, cameras) cell of a run's matrix.
type Group struct {
	Mode    string
	Cameras int
	// Replicas is the replica count of a group of replica cells
	// (Cell.Replicas), 0 otherwise.
	Replicas int
	Cells    []Cell // in repetition order
}

// Key names the group: "sync/1000", "batched/1000×2" for 2 replicas.
func (g Group) Key() string {
	k := g.Mode + "/" + strconv.Itoa(g.Cameras)
	if g.Replicas > 0 {
		k += "×" + strconv.Itoa(g.Replicas)
	}
	return k
}

// OK returns the repetitions whose status is ok.
func (g Group) OK() []Cell {
	var ok []Cell
	for _, c := range g.Cells {
		if c.Status == StatusOK || c.Status == "" {
			ok = append(ok, c)
		}
	}
	return ok
}

// Status summarizes the group: "ok" when every repetition is ok, otherwise
// the status of the first repetition that is not.
func (g Group) Status() string {
	for _, c := range g.Cells {
		if c.Status != StatusOK && c.Status != "" {
			return c.Status
		}
	}
	return StatusOK
}

// Values returns the metric's value in every ok repetition that holds it.
func (g Group) Values(name string) ([]float64, Unit) {
	var vs []float64
	unit := Count
	for _, c := range g.OK() {
		if v, u, ok := Metric(c, name); ok {
			vs = append(vs, v)
			unit = u
		}
	}
	if len(vs) == 0 {
		_, unit, _ = Metric(Cell{}, name)
	}
	return vs, unit
}

// Median returns the median of the metric over the group's ok
// repetitions; ok is false when none holds it.
func (g Group) Median(name string) (v float64, u Unit, ok bool) {
	vs, u := g.Values(name)
	if len(vs) == 0 {
		return 0, u, false
	}
	return Median(vs), u, true
}

// Median returns the median of vs (the mean of the middle two for an even
// count). It does not modify vs. It returns NaN for an empty slice.
func Median(vs []float64) float64 {
	if len(vs) == 0 {
		return math.NaN()
	}
	s := append([]float64(nil), vs...)
	sort.Float64s(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// Groups splits a run's cells into (mode, cameras) groups, modes in the
// order they first appear in the run (the scenario's order), camera counts
// ascending.
func Groups(r *Run) []Group {
	modeOrder := map[string]int{}
	idx := map[string]int{}
	var gs []Group
	for _, c := range r.Cells {
		if _, ok := modeOrder[c.Mode]; !ok {
			modeOrder[c.Mode] = len(modeOrder)
		}
		k := groupKey(c)
		i, ok := idx[k]
		if !ok {
			i = len(gs)
			idx[k] = i
			g := Group{Mode: c.Mode, Cameras: c.Cameras}
			if c.Replicas != nil {
				g.Replicas = c.Replicas.Count
			}
			gs = append(gs, g)
		}
		gs[i].Cells = append(gs[i].Cells, c)
	}
	for i := range gs {
		sort.SliceStable(gs[i].Cells, func(a, b int) bool { return gs[i].Cells[a].Repeat < gs[i].Cells[b].Repeat })
	}
	sort.SliceStable(gs, func(a, b int) bool {
		if gs[a].Mode != gs[b].Mode {
			return modeOrder[gs[a].Mode] < modeOrder[gs[b].Mode]
		}
		if gs[a].Cameras != gs[b].Cameras {
			return gs[a].Cameras < gs[b].Cameras
		}
		return gs[a].Replicas < gs[b].Replicas
	})
	return gs
}

// Modes returns the run's modes in the order they first appear.
func Modes(r *Run) []string {
	seen := map[string]bool{}
	var ms []string
	for _, c := range r.Cells {
		if !seen[c.Mode] {
			seen[c.Mode] = true
			ms = append(ms, c.Mode)
		}
	}
	return ms
}

// CameraCounts returns the run's camera counts, ascending.
func CameraCounts(r *Run) []int {
	seen := map[int]bool{}
	var ns []int
	for _, c := range r.Cells {
		if !seen[c.Cameras] {
			seen[c.Cameras] = true
			ns = append(ns, c.Cameras)
		}
	}
	sort.Ints(ns)
	return ns
}

// Find returns the group for (mode, cameras), if the run has it.
func Find(gs []Group, mode string, cameras int) (Group, bool) {
	for _, g := range gs {
		if g.Mode == mode && g.Cameras == cameras {
			return g, true
		}
	}
	return Group{}, false
}

// cellName names one repetition: "sync/1000#2".
func cellName(c Cell) string {
	return fmt.Sprintf("%s/%d#%d", c.Mode, c.Cameras, c.Repeat)
}

// ParseCellSelector parses a selector of cells as expect_over_budget
// writes them: "mode:sync,cameras:1000", braces optional
// ("{mode:sync}"). Keys are the cell labels mode and cameras.
func ParseCellSelector(s string) (rule.Selector, error) {
	t := strings.TrimSpace(s)
	if strings.HasPrefix(t, "{") && strings.HasSuffix(t, "}") {
		t = strings.TrimSpace(t[1 : len(t)-1])
	}
	if t == "" {
		return nil, fmt.Errorf("empty selector %q: write labels such as mode:sync,cameras:1000", s)
	}
	var sel rule.Selector
	for _, part := range strings.Split(t, ",") {
		k, v, ok := strings.Cut(part, ":")
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		switch {
		case !ok || k == "" || v == "":
			return nil, fmt.Errorf("selector %q: %q is not label:value", s, strings.TrimSpace(part))
		case k != "mode" && k != "cameras":
			return nil, fmt.Errorf("selector %q: unknown label %q (cells have mode and cameras)", s, k)
		case k == "cameras":
			if n, err := strconv.Atoi(v); err != nil || n <= 0 {
				return nil, fmt.Errorf("selector %q: cameras must be a positive count, got %q", s, v)
			}
		}
		sel = append(sel, rule.Label{Key: k, Value: v})
	}
	return sel, nil
}

func deref(q *Quantiles) Quantiles {
	if q == nil {
		return Quantiles{}
	}
	return *q
}

// ServedAge is the age of the data the freshness reads served: of every
// read, or (fresh) of the reads served as fresh; empty without reads.
func ServedAge(c Cell, fresh bool) Quantiles {
	f := c.FreshnessServed
	switch {
	case f == nil:
		return Quantiles{}
	case fresh:
		return f.AgeFresh
	}
	return f.Age
}
