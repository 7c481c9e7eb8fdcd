package simulator

import (
	"math"
	"sort"
	"time"
)

// Fleet-side measurement: what any polling system did to the fleet,
// derived from the fetch log alone (it needs nothing from the system).
//
// A visit is a request the camera served (any answer, faults included),
// that is every request but those refused by a full host or camera
// (Fetch.Refused). A sweep begins with the first request after the
// previous sweep ended and ends when every camera of the set has had a
// visit since it began; its duration runs from the start of its first
// request to the latest end among those first visits. A camera's revisit
// interval is the time between the starts of two consecutive visits.

// Summary is a distribution of durations: nearest-rank percentiles over
// N values (with N < 100, P99 is the maximum; say n beside it).
type Summary struct {
	N    int           `json:"n"`
	Min  time.Duration `json:"minNs"`
	Mean time.Duration `json:"meanNs"`
	P50  time.Duration `json:"p50Ns"`
	P90  time.Duration `json:"p90Ns"`
	P99  time.Duration `json:"p99Ns"`
	Max  time.Duration `json:"maxNs"`
}

// Summarize returns the summary of ds (the zero Summary when empty); ds
// is not modified.
func Summarize(ds []time.Duration) Summary {
	if len(ds) == 0 {
		return Summary{}
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(a, b int) bool { return s[a] < s[b] })
	var sum float64
	for _, d := range s {
		sum += float64(d)
	}
	rank := func(p float64) time.Duration {
		return s[max(int(math.Ceil(p*float64(len(s))))-1, 0)]
	}
	return Summary{N: len(s), Min: s[0], Mean: time.Duration(sum / float64(len(s))),
		P50: rank(0.50), P90: rank(0.90), P99: rank(0.99), Max: s[len(s)-1]}
}

// Sweep is one complete pass over the cameras.
type Sweep struct {
	Start    time.Time     `json:"start"`
	End      time.Time     `json:"end"`
	Duration time.Duration `json:"durationNs"`
	// Requests counts every request that started in the sweep (refused
	// and repeated ones included); RequestsPerCamera is Requests over the
	// sweep's cameras (1 = no over-polling) and MaxPerCamera the most
	// requests one camera got.
	Requests          int     `json:"requests"`
	RequestsPerCamera float64 `json:"requestsPerCamera"`
	MaxPerCamera      int     `json:"maxPerCamera"`
}

// CameraFetchStats is one camera's share of a fetch log.
type CameraFetchStats struct {
	Camera      string        `json:"camera"`
	Requests    int           `json:"requests"`
	Visits      int           `json:"visits"`
	Errors      int           `json:"errors"`  // visits answered with a fault
	Refused     int           `json:"refused"` // requests refused by a full host or camera
	MaxRevisit  time.Duration `json:"maxRevisitNs"`
	MeanRevisit time.Duration `json:"meanRevisitNs"`
}

// FetchStats is the fleet-side measurement of a fetch log.
type FetchStats struct {
	// Cameras is the number of cameras a sweep covers.
	Cameras  int `json:"cameras"`
	Requests int `json:"requests"`
	Visits   int `json:"visits"`
	// NewConnections counts requests that opened a connection.
	NewConnections int `json:"newConnections"`
	// Refused counts requests refused by a full host or camera, by kind
	// (overflow_503, overflow_reset, device_overflow_503, …).
	Refused map[string]int `json:"refused"`
	// Errors counts visits answered with a fault, by kind (http_5xx,
	// hang, reset, truncated, garbage, slow_drip, oversized, placeholder,
	// offline); ErrorsTotal is their sum.
	Errors      map[string]int `json:"errors"`
	ErrorsTotal int            `json:"errorsTotal"`
	// Sweeps are the complete sweeps in order; PartialCovered is how many
	// cameras the unfinished last sweep had covered (0: none open).
	Sweeps         []Sweep `json:"sweeps"`
	PartialCovered int     `json:"partialCovered"`
	SweepDuration  Summary `json:"sweepDuration"`
	// Revisit is the distribution of every camera's revisit intervals.
	Revisit Summary `json:"revisit"`
	// Unvisited counts cameras of the set with no visit at all.
	Unvisited int `json:"unvisited"`
	// PerCamera is filled when asked for (StatsOptions.PerCamera), in the
	// order of the camera set.
	PerCamera []CameraFetchStats `json:"perCamera,omitempty"`
	// LogTruncated is set by Fleet.FetchStats when the fetch log had
	// dropped requests of the window (FetchLog.Truncated): every count is
	// then a lower bound.
	LogTruncated bool `json:"logTruncated"`
}

// StatsOptions says what ComputeFetchStats measures against.
type StatsOptions struct {
	// Cameras is the set a sweep must cover (the reachable cameras); nil
	// means every camera that appears in the fetches.
	Cameras []string
	// PerCamera fills FetchStats.PerCamera.
	PerCamera bool
}

// ComputeFetchStats derives sweeps, revisit intervals, over-polling,
// connections, refusals and errors from fetches (in any order; the slice
// is not modified). It is a pure function of its arguments.
func ComputeFetchStats(fetches []Fetch, opt StatsOptions) FetchStats {
	fs := append([]Fetch(nil), fetches...)
	sort.SliceStable(fs, func(a, b int) bool { return fs[a].Start.Before(fs[b].Start) })
	index := map[string]int{}
	names := opt.Cameras
	if names == nil {
		for _, fe := range fs {
			if _, ok := index[fe.Camera]; !ok {
				index[fe.Camera] = len(names)
				names = append(names, fe.Camera)
			}
		}
	} else {
		for k, c := range names {
			if _, dup := index[c]; !dup {
				index[c] = k
			}
		}
	}
	n := len(names)
	st := FetchStats{Cameras: n, Refused: map[string]int{}, Errors: map[string]int{}}
	per := make([]CameraFetchStats, n)
	lastVisit := make([]time.Time, n)
	var revisits []time.Duration
	var revisitSum []time.Duration
	if opt.PerCamera {
		revisitSum = make([]time.Duration, n)
	}

	covered := make([]bool, n)
	inSweep := make([]int, n)
	var cur Sweep
	open, nCovered := false, 0
	closeSweep := func() {
		cur.Duration = cur.End.Sub(cur.Start)
		if n > 0 {
			cur.RequestsPerCamera = float64(cur.Requests) / float64(n)
		}
		st.Sweeps = append(st.Sweeps, cur)
		open, nCovered = false, 0
		clear(covered)
		clear(inSweep)
	}
	for _, fe := range fs {
		st.Requests++
		if fe.NewConn {
			st.NewConnections++
		}
		k, known := index[fe.Camera]
		if !open {
			open, cur = true, Sweep{Start: fe.Start, End: fe.Start}
		}
		cur.Requests++
		if known {
			per[k].Requests++
			inSweep[k]++
			cur.MaxPerCamera = max(cur.MaxPerCamera, inSweep[k])
		}
		if fe.Refused() {
			st.Refused[fe.Fault]++
			if known {
				per[k].Refused++
			}
			continue
		}
		st.Visits++
		if fe.Fault != "" {
			st.Errors[fe.Fault]++
			st.ErrorsTotal++
		}
		if !known {
			continue
		}
		p := &per[k]
		p.Visits++
		if fe.Fault != "" {
			p.Errors++
		}
		if !lastVisit[k].IsZero() {
			d := fe.Start.Sub(lastVisit[k])
			revisits = append(revisits, d)
			p.MaxRevisit = max(p.MaxRevisit, d)
			if revisitSum != nil {
				revisitSum[k] += d
			}
		}
		lastVisit[k] = fe.Start
		if !covered[k] {
			covered[k] = true
			nCovered++
			if end := fe.Start.Add(fe.Duration); end.After(cur.End) {
				cur.End = end
			}
			if nCovered == n {
				closeSweep()
			}
		}
	}
	if open {
		st.PartialCovered = nCovered
	}
	durs := make([]time.Duration, len(st.Sweeps))
	for k, s := range st.Sweeps {
		durs[k] = s.Duration
	}
	st.SweepDuration = Summarize(durs)
	st.Revisit = Summarize(revisits)
	for k := range per {
		if per[k].Visits == 0 {
			st.Unvisited++
		}
	}
	if opt.PerCamera {
		for k := range per {
			per[k].Camera = names[k]
			if per[k].Visits > 1 {
				per[k].MeanRevisit = revisitSum[k] / time.Duration(per[k].Visits-1)
			}
		}
		st.PerCamera = per
	}
	return st
}

// FetchStats measures the fetch log of [since, until) (zero: open) against
// every camera the fleet serves; see ComputeFetchStats.
func (f *Fleet) FetchStats(since, until time.Time, perCamera bool) FetchStats {
	ids := make([]string, 0, len(f.cams))
	for i := range f.cams {
		if f.serves(i) {
			ids = append(ids, f.cams[i].ID)
		}
	}
	log := f.Fetches(since, until)
	st := ComputeFetchStats(log.Fetches, StatsOptions{Cameras: ids, PerCamera: perCamera})
	st.LogTruncated = log.Truncated
	return st
}
