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

	res := &AttackResult{Latency: newHist(), Raw: newHist()}
	ep := &res.Endpoint
	ep.Rate, ep.Duration = spec.Rate, results.Duration(spec.Duration)
	codes := map[string]int{}
	errs := map[string]bool{}
	var ok uint64
	var first, last time.Time
	var encErr error

	began := time.Now()
	for r := range atk.Attack(targeter, pacer, spec.Duration, spec.Name) {
		if enc != nil && encErr == nil {
			r.Headers = nil // not needed by vegeta report/plot; halves the encoding cost
			encErr = enc(r)
		}
		end := r.Timestamp.Add(r.Latency)
		intended := began.Add(time.Duration(r.Seq+1) * interval)
		co := end.Sub(intended)
		if co < r.Latency {
			co = r.Latency
		}
		res.Latency.Record(co)
		res.Raw.Record(r.Latency)
		ep.Requests++
		codes[strconv.Itoa(int(r.Code))]++
		if r.Error == "" && r.Code >= 200 && r.Code < 400 {
			ok++
		} else {
			res.Failed++
			if len(errs) < maxDistinctErrors && r.Error != "" {
				errs[r.Error] = true
			}
		}
		if first.IsZero() || r.Timestamp.Before(first) {
			first = r.Timestamp
		}
		if end.After(last) {
			last = end
		}
	}
	if encErr != nil {
		return nil, fmt.Errorf("bench: attack %s: writing results: %w", spec.Name, encErr)
	}
	ep.StatusCodes = codes
	for e := range errs {
		ep.Errors = append(ep.Errors, e)
	}
	sort.Strings(ep.Errors)
	if ep.Requests > 0 {
		ep.Success = float64(ok) / float64(ep.Requests)
	}
	if span := last.Sub(first); span > 0 {
		ep.Throughput = float64(ok) / span.Seconds()
	}
	ep.Latency = res.Latency.Quantiles()
	ep.LatencyRaw = res.Raw.Quantiles()
	return res, ctx.Err()
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
