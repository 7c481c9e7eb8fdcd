package bench

import (
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"sort"
	"strconv"
	"sync"
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
	// DropBodies leaves response bodies out of the encoded results (their
	// size stays in BytesIn); false records them as vegeta does. Capacity
	// steps drop them: at thousands of requests a second the bodies would
	// fill the disk.
	DropBodies bool
	// FailFast, when set, stops the attack as soon as its verdict against
	// an SLO is decided: more of its planned requests have already missed
	// the latency bound, or failed, than the SLO allows over all of them
	// (AttackResult.Decided).
	FailFast *FailFast
}

// FailFast is the SLO an attack is judged on and the requests it plans:
// once more than Planned − ⌈0.99·Planned⌉ results took longer than P99
// (their latency from the actual send, which the corrected latency can
// only exceed), the attack's p99 over its planned requests exceeds P99
// whatever the rest do; once more than ErrorRate·Planned failed, so does
// its error rate.
type FailFast struct {
	Planned   int
	P99       time.Duration
	ErrorRate float64
}

// limits are the counts of slow and of failed results beyond which the
// verdict is decided.
func (f FailFast) limits() (slow, failed int) {
	return f.Planned - int(math.Ceil(0.99*float64(f.Planned))), int(math.Floor(f.ErrorRate * float64(f.Planned)))
}

// AttackResult is an attack's summary. Latency is measured from each
// request's intended send time (coordinated omission corrected); Raw from
// its actual send time, as vegeta reports it.
type AttackResult struct {
	Endpoint results.Endpoint
	Latency  *hist // corrected
	Raw      *hist // uncorrected
	Failed   uint64
	// Decided is true when FailFast stopped the attack: its verdict was
	// decided (a miss) before its planned requests were sent.
	Decided bool
	// SendLag is the most any request was sent after its intended time
	// (vegeta's own lateness: all workers busy, or the runner not
	// scheduled). The corrected latency charges it to the system.
	SendLag time.Duration
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
// report` and `vegeta plot` read it): each result as vegeta's own attacker
// records it (code, error, timestamp, latency, bytes in and out, method,
// URL, response headers and, unless DropBodies, the body). No result is
// kept in memory. It
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
	enc = traceAttack(ctx, spec, enc)
	interval := time.Duration(float64(time.Second) / spec.Rate)
	if interval <= 0 {
		interval = 1
	}
	pacer := vegeta.ConstantPacer{Freq: 1, Per: interval}
	opts := []func(*vegeta.Attacker){
		vegeta.Timeout(spec.Timeout),
		vegeta.MaxBody(vegeta.DefaultMaxBody), // read whole, as vegeta does: BytesIn is the body's size
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
	var slow, failed int
	decided := false
	for r := range atk.Attack(targeter, pacer, spec.Duration, spec.Name) {
		if enc != nil && encErr == nil {
			if spec.DropBodies {
				r.Body = nil
			}
			encErr = enc(r)
		}
		m.Add(r)
		if ff := spec.FailFast; ff != nil && !decided {
			if r.Latency > ff.P99 {
				slow++
			}
			if !(r.Error == "" && r.Code >= 200 && r.Code < 400) {
				failed++
			}
			if maxSlow, maxFailed := ff.limits(); slow > maxSlow || failed > maxFailed {
				decided = true
				atk.Stop() // the results in flight still arrive and count
			}
		}
	}
	if encErr != nil {
		return nil, fmt.Errorf("bench: attack %s: writing results: %w", spec.Name, encErr)
	}
	res := m.Close()
	res.Decided = decided
	return res, ctx.Err()
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
	if lag := r.Timestamp.Sub(intended); lag > m.res.SendLag {
		m.res.SendLag = lag
	}
	m.res.Endpoint.Requests++
	m.res.Endpoint.BytesIn += r.BytesIn
	m.res.Endpoint.BytesOut += r.BytesOut
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

// CapacityOptions are the optional parts of a capacity search.
type CapacityOptions struct {
	// Logf receives one line per step; nil = none.
	Logf func(format string, args ...any)
	// Open, when not nil, gives step i (0-based) a vegeta results file:
	// the writer to encode its results into and its name, recorded in the
	// step. The search closes the writer.
	Open func(step int) (w io.WriteCloser, name string, err error)
}

// Judged-on values of a capacity step.
const (
	JudgedP99 = "p99"
	JudgedMax = "max"
	// JudgedDecided: the step stopped early, its miss decided (FailFast).
	JudgedDecided = "decided"
)

// bracketRatio ends the bisection early: once first fail ÷ last pass is
// within it, another step would move the capacity by < 5%.
const bracketRatio = 1.05

// CapacitySearch finds the highest rate whose attack meets the SLO
// (corrected p99 and error rate), one attack per step, at most Steps
// steps:
//
//  0. Warm-up: one request to every distinct URL of base, a few at a
//     time, before the first step; no step counts them (Capacity.Warmup
//     records how many, how many failed and how long it took). A caching
//     system is searched warm, as under a dashboard's steady load, so that
//     a page nobody had read yet is not the verdict of the step that first
//     reads it. Entries that expire during the search are missed again:
//     that is the system's behaviour under load and stays measured.
//  1. Ramp: StartRate (MinRate when 0), then ×2 each step (the last one
//     clipped to MaxRate, the hard cap) until a step fails or MaxRate has
//     passed; when the start itself fails, ÷2 each step (not below
//     MinRate) until one passes.
//  2. Bisect geometrically between the last pass and the first fail for
//     the steps left (until they are within 5% of each other): rates span
//     orders of magnitude, so the midpoint is √(pass × fail).
//
// Each step lasts StepDuration or, when that holds fewer requests than the
// SLO's p99 needs (results.Supports: 100), as long as 100 requests take at
// its rate (50 s at 2 req/s): the step is judged on its p99 as the SLO
// says, so one slow request in a hundred (a cache miss, a GC pause on a
// shared machine) is the 1% a p99 allows, not the verdict. Judging a short
// step on its maximum instead would fail a system exactly at the SLO in
// 1 − 0.99ⁿ of steps (47% at n = 64). A step that still ends with fewer
// than 100 requests (the attacker could not send them) is judged on its
// maximum, stricter, never looser, and says so (JudgedOn "max"). A step
// whose miss is decided before its end — more of its planned requests
// already too slow or failed than its p99 or error rate allow (FailFast)
// — stops there (JudgedOn "decided", with Planned): 2 slow answers of a
// 101-request step at 2 req/s end it in a second, not 50. Each step
// records its duration and n.
//
// A search in which no step failed is Censored: the capacity is at least
// Rate. When the floor itself fails, LastPass is nil and Rate 0: the
// capacity is below MinRate (an upper bound). On an error (ctx ended, a
// results file) it returns what it measured so far with the error.
func CapacitySearch(ctx context.Context, base AttackSpec, c scenarios.Capacity, o CapacityOptions) (*results.Capacity, error) {
	out := &results.Capacity{Cap: c.MaxRate}
	var lastPass, firstFail float64
	warm, err := warmUp(ctx, base)
	out.Warmup = &warm
	if o.Logf != nil {
		o.Logf("capacity %s: warm-up (not counted) %d requests to %d URLs in %s, %d failed", base.Name, warm.Requests, warm.URLs, warm.Elapsed.D().Round(time.Millisecond), warm.Failed)
	}
	if err != nil {
		return out, err
	}
	run := func(rate float64) (bool, error) {
		spec := base
		spec.Rate, spec.Duration, spec.DropBodies = rate, StepDuration(rate, c.StepDuration), true
		planned := int(math.Floor(rate * spec.Duration.Seconds()))
		spec.FailFast = &FailFast{Planned: planned, P99: c.SLO.P99, ErrorRate: c.SLO.ErrorRate}
		st := results.CapacityStep{Rate: math.Round(rate*10) / 10, Duration: results.Duration(spec.Duration)}
		var enc vegeta.Encoder
		var w io.WriteCloser
		if o.Open != nil {
			var err error
			if w, st.BinFile, err = o.Open(len(out.Steps)); err != nil {
				return false, err
			}
			enc = NewEncoder(w)
		}
		r, err := Attack(ctx, spec, enc)
		if w != nil {
			if cerr := w.Close(); cerr != nil && err == nil {
				err = cerr
			}
		}
		if err != nil {
			return false, err
		}
		st.Requests = r.Endpoint.Requests
		st.P99, st.Max = results.Duration(r.Latency.Quantile(99)), results.Duration(r.Latency.Max())
		st.ErrorRate = r.ErrorRate()
		st.RawP99, st.SendLagMax = results.Duration(r.Raw.Quantile(99)), results.Duration(r.SendLag)
		st.JudgedOn = JudgedP99
		held := st.P99
		switch {
		case r.Decided:
			// A miss decided before the step's end: more of its planned
			// requests missed the SLO than its p99 or error rate allow.
			st.JudgedOn, st.Planned = JudgedDecided, planned
		case !results.Supports(int64(st.Requests), 0.99):
			st.JudgedOn, held = JudgedMax, st.Max
		}
		st.Pass = !r.Decided && st.Requests > 0 && held.D() <= c.SLO.P99 && st.ErrorRate <= c.SLO.ErrorRate
		out.Steps = append(out.Steps, st)
		traceCapacityStep(ctx, base.Name, len(out.Steps), rate, r, st.Pass, c.SLO)
		if o.Logf != nil {
			o.Logf("capacity %s: %.1f req/s for %s → %d requests, %s %s, errors %.2f%%: %s", base.Name, st.Rate, spec.Duration.Round(time.Millisecond), st.Requests, st.JudgedOn, held.D().Round(time.Microsecond), 100*st.ErrorRate, map[bool]string{true: "meets SLO", false: "misses SLO"}[st.Pass])
		}
		return st.Pass, nil
	}
	finish := func(err error) (*results.Capacity, error) {
		if lastPass > 0 {
			v := math.Round(lastPass*10) / 10
			out.Rate, out.LastPass = v, &v
		}
		if firstFail > 0 {
			v := math.Round(firstFail*10) / 10
			out.FirstFail = &v
		}
		out.Censored = firstFail == 0 && lastPass > 0
		return out, err
	}
	rate := c.MinRate
	if c.StartRate > 0 {
		rate = c.StartRate
	}
	for len(out.Steps) < c.Steps {
		pass, err := run(rate)
		if err != nil {
			return finish(err)
		}
		if !pass {
			firstFail = rate
			break
		}
		lastPass = rate
		if rate >= c.MaxRate {
			return finish(nil) // the cap held: censored
		}
		rate = min(2*rate, c.MaxRate)
	}
	// A start above the capacity: halve down to the floor until a step
	// passes (a lower start skips nothing a ramp from the floor would have
	// found: every rate below a pass is taken to pass, as the ramp does).
	for lastPass == 0 && firstFail > c.MinRate && len(out.Steps) < c.Steps {
		rate = max(firstFail/2, c.MinRate)
		pass, err := run(rate)
		if err != nil {
			return finish(err)
		}
		if pass {
			lastPass = rate
		} else {
			firstFail = rate
		}
	}
	if lastPass == 0 || firstFail == 0 {
		return finish(nil) // the floor failed, or the steps ran out ramping
	}
	for len(out.Steps) < c.Steps && firstFail/lastPass > bracketRatio {
		mid := math.Sqrt(lastPass * firstFail)
		pass, err := run(mid)
		if err != nil {
			return finish(err)
		}
		if pass {
			lastPass = mid
		} else {
			firstFail = mid
		}
	}
	return finish(nil)
}

// stepRequests is the fewest requests a capacity step is sized for: what
// the SLO's p99 needs (results.Supports).
const stepRequests = 100

// StepDuration is how long a capacity step at rate lasts: min, or as long
// as stepRequests take at rate (plus one interval, so that the pacer's
// last hit is inside the attack), whichever is longer.
func StepDuration(rate float64, min time.Duration) time.Duration {
	if rate <= 0 {
		return min
	}
	need := time.Duration(math.Ceil(float64(stepRequests+1) / rate * float64(time.Second)))
	return max(min, need)
}

// warmUpWorkers is how many warm-up requests are in flight at once.
const warmUpWorkers = 4

// warmUp requests every distinct URL of spec once, warmUpWorkers at a
// time, and reports how many it sent, how many failed (an error or a
// status ≥ 400) and how long it took. Only ctx ending is an error.
func warmUp(ctx context.Context, spec AttackSpec) (results.CapacityWarmup, error) {
	began := time.Now()
	seen := map[string]bool{}
	var urls []string
	for _, u := range spec.URLs {
		if !seen[u] {
			seen[u] = true
			urls = append(urls, u)
		}
	}
	timeout := spec.Timeout
	if timeout <= 0 {
		timeout = vegeta.DefaultTimeout
	}
	client := &http.Client{Timeout: timeout, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	defer client.CloseIdleConnections()
	method := spec.Method
	if method == "" {
		method = http.MethodGet
	}
	var sent, failed atomic.Int64
	next := make(chan string)
	var wg sync.WaitGroup
	for range min(warmUpWorkers, len(urls)) {
		wg.Add(1)
		go func() { // owner: warmUp; ends when next is closed
			defer wg.Done()
			for u := range next {
				sent.Add(1)
				if !warmRequest(ctx, client, method, u) {
					failed.Add(1)
				}
			}
		}()
	}
feed:
	for _, u := range urls {
		select {
		case next <- u:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	return results.CapacityWarmup{URLs: len(urls), Requests: int(sent.Load()), Failed: int(failed.Load()), Elapsed: results.Duration(time.Since(began))}, ctx.Err()
}

// warmRequest sends one request and reads its body; false when it failed.
func warmRequest(ctx context.Context, client *http.Client, method, url string) bool {
	req, err := http.NewRequestWithContext(ctx, method, url, nil)
	if err != nil {
		return false
	}
	resp, err := client.Do(req)
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	_, err = io.Copy(io.Discard, resp.Body)
	return err == nil && resp.StatusCode < 400
}

// NewEncoder returns vegeta's binary result encoder on w.
func NewEncoder(w io.Writer) vegeta.Encoder { return vegeta.NewEncoder(w) }
