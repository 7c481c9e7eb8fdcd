package bench

import (
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"sort"
	"strconv"
	"sync/atomic"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/camload/camload/results"
	"github.com/camload/camload/scenarios"
)

// maxDistinctErrors bounds the error strings kept per endpoint.
const maxDistinctErrors = 10

// AttackSpec is one open-loop attack: a constant rate over URLs cycled in
// order.
type AttackSpec struct {
	Name       string
	Method     string
	URLs       []string // cycled in order; at least one
	Rate       float64  // req/s
	Duration   time.Duration
	Timeout    time.Duration
	Workers    int
	MaxWorkers int // 0 = unbounded
}

// AttackResult is an attack's summary. Latency is measured from each
// request's intended send time (coordinated omission corrected); Raw from
// its actual send time, as vegeta reports it.
type AttackResult struct {
	Endpoint results.Endpoint
	Latency  *hist // corrected
	Raw      *hist // uncorrected
	Failed   uint64
}

// ErrorRate is failed ÷ requests.
func (r *AttackResult) ErrorRate() float64 {
	if r.Endpoint.Requests == 0 {
		return 0
	}
	return float64(r.Failed) / float64(r.Endpoint.Requests)
}

// Attack runs spec with vegeta and streams every result into histograms
// and, when enc is not nil, into enc (vegeta's binary format, so `vegeta
// report` and `vegeta plot` read it). No result is kept in memory. It
// returns early, with what it measured, when ctx ends.
//
// The constant pacer intends hit i (0-based) at began + (i+1)·interval;
// vegeta stamps each result with its sequence number and actual send time,
// so a sender that fell behind (all workers blocked on a stalled server)
// is charged the time it could not send: latency = end − intended.
func Attack(ctx context.Context, spec AttackSpec, enc vegeta.Encoder) (*AttackResult, error) {
	if len(spec.URLs) == 0 || spec.Rate <= 0 || spec.Duration <= 0 {
		return nil, fmt.Errorf("bench: attack %s: needs URLs, a rate and a duration", spec.Name)
	}
	interval := time.Duration(float64(time.Second) / spec.Rate)
	if interval <= 0 {
		interval = 1
	}
	pacer := vegeta.ConstantPacer{Freq: 1, Per: interval}
	opts := []func(*vegeta.Attacker){
		vegeta.Timeout(spec.Timeout),
		vegeta.MaxBody(0), // bodies are not kept, only drained
		vegeta.KeepAlive(true),
		vegeta.Connections(10000),
		vegeta.Redirects(vegeta.NoFollow),
	}
	if spec.Workers > 0 {
		opts = append(opts, vegeta.Workers(uint64(spec.Workers)))
	}
	if spec.MaxWorkers > 0 {
		opts = append(opts, vegeta.MaxWorkers(uint64(spec.MaxWorkers)))
	}
	atk := vegeta.NewAttacker(opts...)
	method := spec.Method
	if method == "" {
		method = http.MethodGet
	}
	var next atomic.Uint64
	targeter := func(t *vegeta.Target) error {
		i := next.Add(1) - 1
		t.Method = method
		t.URL = spec.URLs[i%uint64(len(spec.URLs))]
		return nil
	}

	stopped := make(chan struct{})
	watchDone := make(chan struct{})
	go func() { // owner: Attack; ends when the attack ends or ctx does
		defer close(watchDone)
		select {
		case <-ctx.Done():
			atk.Stop()
		case <-stopped:
		}
	}()
	defer func() { close(stopped); <-watchDone }()

	var encErr error
	m := NewAttackMetrics(spec.Rate, spec.Duration, time.Now(), interval)
	for r := range atk.Attack(targeter, pacer, spec.Duration, spec.Name) {
		if enc != nil && encErr == nil {
			r.Headers = nil // not needed by vegeta report/plot; halves the encoding cost
			encErr = enc(r)
		}
		m.Add(r)
	}
	if encErr != nil {
		return nil, fmt.Errorf("bench: attack %s: writing results: %w", spec.Name, encErr)
	}
	return m.Close(), ctx.Err()
}

// AttackMetrics folds an attack's vegeta results into an AttackResult as
// they stream in, in the manner of vegeta's lib.Metrics: Add every result,
// then Close once. No result is kept. Not safe for concurrent use.
type AttackMetrics struct {
	began    time.Time
	interval time.Duration
	res      *AttackResult
	codes    map[string]int
	errs     map[string]bool
	ok       uint64
	first    time.Time
	last     time.Time
}

// NewAttackMetrics returns an aggregator for an attack at rate (req/s)
// for duration whose constant pacer began at began and intends hit i
// (0-based, vegeta's Seq) at began + (i+1)·interval.
func NewAttackMetrics(rate float64, duration time.Duration, began time.Time, interval time.Duration) *AttackMetrics {
	m := &AttackMetrics{
		began: began, interval: interval,
		res:   &AttackResult{Latency: newHist(), Raw: newHist()},
		codes: map[string]int{}, errs: map[string]bool{},
	}
	m.res.Endpoint.Rate, m.res.Endpoint.Duration = rate, results.Duration(duration)
	return m
}

// Add folds in one result: its latency from the intended send time
// (coordinated omission corrected, never below vegeta's own latency) and
// from the actual one, its status code, and its error when it failed.
func (m *AttackMetrics) Add(r *vegeta.Result) {
	end := r.Timestamp.Add(r.Latency)
	intended := m.began.Add(time.Duration(r.Seq+1) * m.interval)
	co := end.Sub(intended)
	if co < r.Latency {
		co = r.Latency
	}
	m.res.Latency.Record(co)
	m.res.Raw.Record(r.Latency)
	m.res.Endpoint.Requests++
	m.codes[strconv.Itoa(int(r.Code))]++
	if r.Error == "" && r.Code >= 200 && r.Code < 400 {
		m.ok++
	} else {
		m.res.Failed++
		if len(m.errs) < maxDistinctErrors && r.Error != "" {
			m.errs[r.Error] = true
		}
	}
	if m.first.IsZero() || r.Timestamp.Before(m.first) {
		m.first = r.Timestamp
	}
	if end.After(m.last) {
		m.last = end
	}
}

// Close computes the summary (status codes, distinct errors sorted,
// success, throughput of successful requests over first send → last
// answer, latency quantiles) and returns it.
func (m *AttackMetrics) Close() *AttackResult {
	ep := &m.res.Endpoint
	ep.StatusCodes = m.codes
	for e := range m.errs {
		ep.Errors = append(ep.Errors, e)
	}
	sort.Strings(ep.Errors)
	if ep.Requests > 0 {
		ep.Success = float64(m.ok) / float64(ep.Requests)
	}
	if span := m.last.Sub(m.first); span > 0 {
		ep.Throughput = float64(m.ok) / span.Seconds()
	}
	ep.Latency = m.res.Latency.Quantiles()
	ep.LatencyRaw = m.res.Raw.Quantiles()
	return m.res
}

// CapacitySearch binary-searches (geometrically) the highest rate in [MinRate, MaxRate]
// whose attack meets the SLO (corrected p99 and error rate), one attack of
// StepDuration per step. It returns nil when no tested rate met the SLO.
func CapacitySearch(ctx context.Context, base AttackSpec, c scenarios.Capacity, logf func(string, ...any)) (*float64, error) {
	lo, hi := c.MinRate, c.MaxRate
	var best *float64
	for step := 0; step < c.Steps; step++ {
		// Geometric midpoint: rates span orders of magnitude (an uncached
		// endpoint may hold a few req/s, a cached one thousands), and an
		// arithmetic bisection of 1…5000 would never test below 20.
		rate := math.Sqrt(lo * hi)
		if step == 0 {
			rate = lo // the floor first: if it fails there is nothing to search
		}
		spec := base
		spec.Rate, spec.Duration = rate, c.StepDuration
		r, err := Attack(ctx, spec, nil)
		if err != nil {
			return best, err
		}
		p99 := r.Latency.Quantile(99)
		pass := r.Endpoint.Requests > 0 && p99 <= c.SLO.P99 && r.ErrorRate() <= c.SLO.ErrorRate
		if logf != nil {
			logf("capacity %s: %.0f req/s → p99 %s, errors %.2f%%: %s", base.Name, rate, p99.Round(time.Microsecond), 100*r.ErrorRate(), map[bool]string{true: "meets SLO", false: "misses SLO"}[pass])
		}
		switch {
		case pass:
			v := math.Round(rate*10) / 10
			best = &v
			if step == 0 {
				continue // search (lo, hi) next
			}
			lo = rate
		case step == 0:
			return nil, nil
		default:
			hi = rate
		}
	}
	return best, nil
}

// NewEncoder returns vegeta's binary result encoder on w.
func NewEncoder(w io.Writer) vegeta.Encoder { return vegeta.NewEncoder(w) }
