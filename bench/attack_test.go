package bench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/camload/camload/scenarios"
)

// stallServer answers at once, except that the first request after
// stallAfter blocks every request for stall.
func stallServer(t *testing.T, stallAfter, stall time.Duration) *httptest.Server {
	start := time.Now()
	var mu sync.Mutex
	var until time.Time
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		if until.IsZero() && time.Since(start) >= stallAfter {
			until = time.Now().Add(stall)
		}
		wait := time.Until(until)
		mu.Unlock()
		if wait > 0 {
			time.Sleep(wait)
		}
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestAttackCoordinatedOmission(t *testing.T) {
	t.Parallel()
	const stall = 600 * time.Millisecond
	srv := stallServer(t, 300*time.Millisecond, stall)
	var buf bytes.Buffer
	spec := AttackSpec{Name: "co", URLs: []string{srv.URL + "/x"}, Rate: 100, Duration: 2 * time.Second,
		Timeout: 5 * time.Second, Workers: 1, MaxWorkers: 1}
	r, err := Attack(context.Background(), spec, NewEncoder(&buf))
	if err != nil {
		t.Fatal(err)
	}
	corrected, raw := r.Latency.Quantile(99), r.Raw.Quantile(99)
	// One worker is stuck for the stall; the ~60 requests it should have
	// sent meanwhile go out late but fast. Uncorrected, they look fast;
	// corrected, they are charged their wait (up to the whole stall).
	if corrected < stall/2 {
		t.Errorf("corrected p99 = %s; want ≥ %s (half the stall)", corrected, stall/2)
	}
	if raw*4 > corrected {
		t.Errorf("uncorrected p99 = %s, corrected = %s; want corrected ≥ 4× uncorrected", raw, corrected)
	}
	if r.Endpoint.Requests < 100 || r.Failed != 0 {
		t.Errorf("requests = %d, failed = %d; want ≥ 100 and 0", r.Endpoint.Requests, r.Failed)
	}
	// Every result went to the encoder, decodable by vegeta.
	dec := vegeta.NewDecoder(&buf)
	var n uint64
	for {
		var res vegeta.Result
		if err := dec.Decode(&res); err != nil {
			break
		}
		n++
	}
	if n != r.Endpoint.Requests {
		t.Errorf("decoded %d results from the .bin stream; want %d", n, r.Endpoint.Requests)
	}
}

// bucketServer is a server of known capacity: a token bucket refilled at
// rate tokens/s holding at most burst; a request without a token gets 503.
func bucketServer(t *testing.T, rate, burst float64) *httptest.Server {
	var mu sync.Mutex
	tokens, last := burst, time.Now()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		now := time.Now()
		tokens = min(burst, tokens+now.Sub(last).Seconds()*rate)
		last = now
		ok := tokens >= 1
		if ok {
			tokens--
		}
		mu.Unlock()
		if !ok {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// The known-capacity server of the search tests: a token bucket of
// bucketRate req/s holding bucketBurst tokens. The burst is a quarter of a
// second of the rate: go test runs other packages beside these tests, and
// vegeta's pacer catches up after a scheduling stall by sending the missed
// hits at once (CI stalled the attacker 242 ms at 100 req/s; a burst of 20
// refused 4 of the 24 it sent together, and the step failed on errors).
// A step of d = bucketStep that starts with a full bucket serves
// bucketRate·d + bucketBurst requests; with bucketSLO's error rate e it
// passes while r·d·(1−e) ≤ bucketRate·d + bucketBurst, i.e. r ≤
// bucketStepCap. The bucket carries over between steps: after a failed
// step it starts empty, so the bisection closes between bucketRate and
// bucketStepCap.
const (
	bucketRate  = 400.0
	bucketBurst = 100.0
	bucketStep  = 500 * time.Millisecond
)

var (
	bucketSLO     = scenarios.SLO{P99: time.Second, ErrorRate: 0.02}
	bucketStepCap = (bucketRate*bucketStep.Seconds() + bucketBurst) / (bucketStep.Seconds() * (1 - bucketSLO.ErrorRate)) // ≈ 612 req/s
)

// TestCapacitySearch is not parallel: it runs alone among this package's
// tests. A server of known capacity (bucketServer; 503 without a token) is
// bracketed: the ramp passes up to 400 and fails by 800, the bisection
// narrows the bracket around the bucket's capacity over a step.
func TestCapacitySearch(t *testing.T) {
	if testing.Short() {
		t.Skip("eight 0.5 s attacks")
	}
	srv := bucketServer(t, bucketRate, bucketBurst)
	base := AttackSpec{Name: "cap", URLs: []string{srv.URL}, Timeout: 2 * time.Second, Workers: 4}
	c := scenarios.Capacity{SLO: bucketSLO, MinRate: 50, MaxRate: 100000, Steps: 8, StepDuration: bucketStep}
	var bins []string
	open := func(step int) (io.WriteCloser, string, error) {
		name := filepath.Join(t.TempDir(), fmt.Sprintf("step-%d.bin", step))
		f, err := os.Create(name)
		bins = append(bins, name)
		return f, name, err
	}
	got, err := CapacitySearch(context.Background(), base, c, CapacityOptions{Logf: t.Logf, Open: open})
	if err != nil {
		t.Fatal(err)
	}
	if got.Censored || got.LastPass == nil || got.FirstFail == nil {
		t.Fatalf("CapacitySearch(server of 400 req/s) = %+v; want a bracket", got)
	}
	lp, ff := *got.LastPass, *got.FirstFail
	if ff < bucketStepCap/2 || ff > 800 || lp >= ff || got.Rate != lp || lp < 200 || lp > bucketStepCap {
		t.Errorf("bracket [%g, %g], rate %g; want first fail within 2× of the bucket's %.0f req/s over a step, by 800, and last pass below both", lp, ff, got.Rate, bucketStepCap)
	}
	if len(got.Steps) != 8 && ff/lp > bracketRatio {
		t.Errorf("steps = %d; want all 8 unless the bracket closed", len(got.Steps))
	}
	for i, st := range got.Steps {
		want := JudgedP99
		switch {
		case st.JudgedOn == JudgedDecided:
			// a miss decided before the step's end: never a pass
			want = JudgedDecided
			if st.Pass || st.Planned == 0 || st.Requests > uint64(st.Planned)+uint64(base.Workers)+8 {
				t.Errorf("step %d = %+v; want a failed step that stopped near or before its %d planned requests", i, st, st.Planned)
			}
		case st.Requests < 100:
			want = JudgedMax
		}
		if st.JudgedOn != want || st.Requests == 0 || st.Max < st.P99 || st.BinFile != bins[i] {
			t.Errorf("step %d = %+v; want judged on %s, max ≥ p99, bin file %s", i, st, want, bins[i])
		}
		if i > 0 && st.Rate == got.Steps[i-1].Rate {
			t.Errorf("step %d repeats rate %g", i, st.Rate)
		}
	}
	// The ramp doubles from the floor until the first failure.
	for i, want := range []float64{50, 100, 200} {
		if got.Steps[i].Rate != want || !got.Steps[i].Pass {
			t.Errorf("ramp step %d = %+v; want %g passing", i, got.Steps[i], want)
		}
	}
	// Each step's .bin file decodes with vegeta's own decoder.
	f, err := os.Open(bins[len(bins)-1])
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var n uint64
	dec := vegeta.NewDecoder(f)
	for {
		var r vegeta.Result
		if err := dec.Decode(&r); err != nil {
			break
		}
		n++
	}
	if last := got.Steps[len(got.Steps)-1]; n != last.Requests {
		t.Errorf("last step's bin file holds %d results; want %d", n, last.Requests)
	}
}

// TestCapacitySearchStartAbove: a search that starts above the capacity
// of the bucket server halves down until a step passes, then bisects; it
// never goes below the floor, and a floor that fails too is an upper
// bound. Not parallel, as TestCapacitySearch.
func TestCapacitySearchStartAbove(t *testing.T) {
	if testing.Short() {
		t.Skip("several 0.5 s attacks")
	}
	srv := bucketServer(t, bucketRate, bucketBurst)
	base := AttackSpec{Name: "cap", URLs: []string{srv.URL}, Timeout: 2 * time.Second, Workers: 4}
	c := scenarios.Capacity{SLO: bucketSLO, MinRate: 50, StartRate: 3200, MaxRate: 100000, Steps: 6, StepDuration: bucketStep}
	got, err := CapacitySearch(context.Background(), base, c, CapacityOptions{Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	if got.Steps[0].Rate != 3200 || got.Steps[0].Pass || got.Steps[1].Rate != 1600 {
		t.Fatalf("steps = %+v; want 3200 failing first, then 1600", got.Steps)
	}
	if got.LastPass == nil || got.FirstFail == nil || *got.LastPass < 100 || *got.LastPass > bucketStepCap || *got.FirstFail > 800 || *got.FirstFail <= *got.LastPass {
		t.Errorf("CapacitySearch(400 req/s, start 3200) = %+v; want a bracket between 100 and 800 around the bucket's %.0f req/s over a step", got, bucketStepCap)
	}
	// The floor failing too: an upper bound at the floor.
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(500) }))
	defer down.Close()
	base.URLs = []string{down.URL}
	c.MinRate, c.StartRate, c.MaxRate = 20, 80, 1000
	got, err = CapacitySearch(context.Background(), base, c, CapacityOptions{})
	if err != nil || got.LastPass != nil || got.FirstFail == nil || *got.FirstFail != 20 || len(got.Steps) != 3 {
		t.Errorf("CapacitySearch(always 500, start 80, floor 20) = (%+v, %v); want 80, 40, 20 failing, capacity < 20", got, err)
	}
}

// TestCapacitySearchCensored: a server that never fails, searched up to a
// low cap, is reported as at least the cap (censored), never as measured.
func TestCapacitySearchCensored(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	base := AttackSpec{Name: "fast", URLs: []string{srv.URL}, Timeout: time.Second, Workers: 2}
	c := scenarios.Capacity{SLO: scenarios.SLO{P99: time.Second, ErrorRate: 0.01}, MinRate: 40, MaxRate: 120, Steps: 6, StepDuration: 300 * time.Millisecond}
	got, err := CapacitySearch(context.Background(), base, c, CapacityOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !got.Censored || got.FirstFail != nil || got.LastPass == nil || got.Rate != 120 || got.Cap != 120 {
		t.Errorf("CapacitySearch(unbounded server, cap 120) = %+v; want censored at 120", got)
	}
	if rates := []float64{40, 80, 120}; len(got.Steps) != len(rates) {
		t.Errorf("steps = %+v; want rates %v (ramp ×2, clipped to the cap)", got.Steps, rates)
	} else {
		for i, r := range rates {
			if got.Steps[i].Rate != r {
				t.Errorf("step %d rate %g; want %g", i, got.Steps[i].Rate, r)
			}
		}
	}
}

func TestCapacitySearchFloorFails(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(500) }))
	defer srv.Close()
	base := AttackSpec{Name: "down", URLs: []string{srv.URL}, Timeout: time.Second, Workers: 2}
	c := scenarios.Capacity{SLO: scenarios.SLO{P99: time.Second, ErrorRate: 0.01}, MinRate: 20, MaxRate: 100, Steps: 4, StepDuration: 300 * time.Millisecond}
	got, err := CapacitySearch(context.Background(), base, c, CapacityOptions{})
	if err != nil || got.LastPass != nil || got.Rate != 0 || got.Censored || got.FirstFail == nil || *got.FirstFail != 20 || len(got.Steps) != 1 {
		t.Errorf("CapacitySearch(always 500) = (%+v, %v); want one failed step at the floor, no pass", got, err)
	}
}

// TestCapacityStepSizedForP99: a step whose step_duration holds fewer
// requests than a p99 needs is lengthened to 100 requests and judged on
// its p99, so one slow answer among them is the 1% the SLO allows, not the
// verdict (judged on the maximum, it failed the step).
func TestCapacityStepSizedForP99(t *testing.T) {
	t.Parallel()
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) == 5 {
			time.Sleep(300 * time.Millisecond)
		}
	}))
	defer srv.Close()
	base := AttackSpec{Name: "short", URLs: []string{srv.URL}, Timeout: time.Second, Workers: 2}
	c := scenarios.Capacity{SLO: scenarios.SLO{P99: 200 * time.Millisecond, ErrorRate: 0.01}, MinRate: 60, MaxRate: 1000, Steps: 1, StepDuration: 500 * time.Millisecond}
	got, err := CapacitySearch(context.Background(), base, c, CapacityOptions{})
	if err != nil {
		t.Fatal(err)
	}
	st := got.Steps[0]
	if st.Requests < 100 || st.JudgedOn != JudgedP99 || st.Duration.D() != StepDuration(60, 500*time.Millisecond) || st.Duration.D() <= 500*time.Millisecond {
		t.Errorf("step = %+v; want ≥ 100 requests over a lengthened step, judged on p99", st)
	}
	if st.RawP99 <= 0 || st.RawP99 > st.Max || st.SendLagMax < 0 {
		t.Errorf("step = %+v; want a raw p99 in (0, max] and a send lag ≥ 0", st)
	}
	// The slow answer is the warm-up's (request 1) or a step's: either
	// way at most one of ≥ 100 is slow, which the p99 allows.
	if !st.Pass {
		t.Errorf("step = %+v; want a pass: one slow answer in ≥ 100 is within a p99 SLO", st)
	}
}

// TestCapacityStepDecidedEarly: a step at 2 req/s plans 101 requests (50
// s); against a server slower than the SLO every answer misses, so after
// the second slow answer its p99 over 101 cannot meet the SLO whatever
// the rest do: it stops there, judged "decided", a miss.
func TestCapacityStepDecidedEarly(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(60 * time.Millisecond)
	}))
	defer srv.Close()
	base := AttackSpec{Name: "slow", URLs: []string{srv.URL}, Timeout: time.Second, Workers: 2}
	c := scenarios.Capacity{SLO: scenarios.SLO{P99: 50 * time.Millisecond, ErrorRate: 0.01}, MinRate: 2, MaxRate: 100, Steps: 3, StepDuration: time.Second}
	got, err := CapacitySearch(context.Background(), base, c, CapacityOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Steps) != 1 || got.LastPass != nil || got.FirstFail == nil || *got.FirstFail != 2 {
		t.Fatalf("CapacitySearch(server slower than the SLO) = %+v; want one failed step at the floor", got)
	}
	st := got.Steps[0]
	if st.JudgedOn != JudgedDecided || st.Pass || st.Planned != 101 || st.Requests < 2 || st.Requests >= 101 {
		t.Errorf("step = %+v; want decided after 2 of 101 planned requests, a miss", st)
	}
}

// TestFailFastLimits: the counts beyond which a verdict is decided are the
// p99's and the error rate's allowance over the planned requests.
func TestFailFastLimits(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		ff             FailFast
		slow, failures int
	}{
		{FailFast{Planned: 101, ErrorRate: 0.01}, 1, 1}, // 2 slow or 2 failed decide
		{FailFast{Planned: 100, ErrorRate: 0.01}, 1, 1}, // rank 99 of 100: one slow is allowed
		{FailFast{Planned: 1000, ErrorRate: 0.05}, 10, 50},
		{FailFast{Planned: 50, ErrorRate: 0}, 0, 0}, // too few for any slack
	} {
		if s, f := tc.ff.limits(); s != tc.slow || f != tc.failures {
			t.Errorf("%+v.limits() = %d slow, %d failed; want %d, %d", tc.ff, s, f, tc.slow, tc.failures)
		}
	}
}

func TestStepDuration(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		rate float64
		min  time.Duration
		want time.Duration
	}{
		{2, 2 * time.Second, 50500 * time.Millisecond}, // 101 requests at 2 req/s
		{100, 2 * time.Second, 2 * time.Second},        // 200 requests already
		{50.5, 2 * time.Second, 2 * time.Second},       // 101
		{0, time.Second, time.Second},
	} {
		got := StepDuration(tc.rate, tc.min)
		if got != tc.want {
			t.Errorf("StepDuration(%g, %s) = %s; want %s", tc.rate, tc.min, got, tc.want)
		}
		if tc.rate > 0 && tc.rate*got.Seconds() < stepRequests {
			t.Errorf("StepDuration(%g, %s) = %s holds %g requests; want ≥ %d", tc.rate, tc.min, got, tc.rate*got.Seconds(), stepRequests)
		}
	}
}

// TestCapacityWarmup: before the first step the search requests every
// distinct URL once; those requests are counted in Warmup, in no step.
func TestCapacityWarmup(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	hits := map[string]int{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		hits[r.URL.Path]++
		mu.Unlock()
		if r.URL.Path == "/gone" {
			w.WriteHeader(http.StatusNotFound)
		}
	}))
	defer srv.Close()
	urls := []string{srv.URL + "/a", srv.URL + "/b", srv.URL + "/a", srv.URL + "/gone"}
	base := AttackSpec{Name: "warm", URLs: urls, Timeout: time.Second, Workers: 2}
	// Step 1 misses the SLO on its errors (/gone is a 404 for a quarter of
	// the requests): one step, then the search ends.
	c := scenarios.Capacity{SLO: scenarios.SLO{P99: time.Second, ErrorRate: 0.01}, MinRate: 200, MaxRate: 1000, Steps: 1, StepDuration: 500 * time.Millisecond}
	got, err := CapacitySearch(context.Background(), base, c, CapacityOptions{})
	if err != nil {
		t.Fatal(err)
	}
	w := got.Warmup
	if w == nil || w.URLs != 3 || w.Requests != 3 || w.Failed != 1 || w.Elapsed <= 0 {
		t.Fatalf("Warmup = %+v; want 3 distinct URLs, 3 requests, 1 failed (the 404)", w)
	}
	mu.Lock()
	total := hits["/a"] + hits["/b"] + hits["/gone"]
	mu.Unlock()
	if st := got.Steps[0]; uint64(total) != st.Requests+3 {
		t.Errorf("server saw %d requests; step counted %d + warm-up 3", total, st.Requests)
	}
}

func TestAttackCancel(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	r, err := Attack(ctx, AttackSpec{Name: "c", URLs: []string{srv.URL}, Rate: 50, Duration: time.Minute, Timeout: time.Second, Workers: 2}, nil)
	if err == nil || r == nil || r.Endpoint.Requests == 0 || r.Endpoint.Requests > 50*10 {
		t.Errorf("Attack cancelled after 300ms = (%+v, %v); want partial results and the context error", r, err)
	}
}

// BenchmarkAttackOverhead measures the runner's own cost of an attack at
// 5,000 req/s on a trivial server running in a child process (this test
// binary as a fake serve), so getrusage(RUSAGE_SELF) counts the runner
// only: cores used per second of attack, and bytes allocated per request.
// Run:
//
//	go test ./bench -run XXX -bench AttackOverhead -benchtime 1x
func BenchmarkAttackOverhead(b *testing.B) {
	dir := b.TempDir()
	exe, err := os.Executable()
	if err != nil {
		b.Fatal(err)
	}
	c, err := startChild(context.Background(), exe, []string{"serve", "--fleet", "http://127.0.0.1:1"}, dir, filepath.Join(dir, "log"), 20*time.Second, DefaultStopGrace)
	if err != nil {
		b.Fatal(err)
	}
	defer c.stop()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		var before, after syscall.Rusage
		_ = syscall.Getrusage(syscall.RUSAGE_SELF, &before)
		start := time.Now()
		r, err := Attack(context.Background(), AttackSpec{Name: "overhead", URLs: []string{c.API + "/api/v1/stats"}, Rate: 5000, Duration: 5 * time.Second, Timeout: time.Second, Workers: 50}, vegeta.NewEncoder(discard{}))
		if err != nil {
			b.Fatal(err)
		}
		_ = syscall.Getrusage(syscall.RUSAGE_SELF, &after)
		wall := time.Since(start).Seconds()
		cpu := tv(after.Utime) + tv(after.Stime) - tv(before.Utime) - tv(before.Stime)
		b.ReportMetric(cpu/wall, "cores")
		b.ReportMetric(float64(r.Endpoint.Requests)/wall, "req/s")
		b.ReportMetric(float64(r.Latency.Quantile(99).Microseconds())/1000, "p99-ms")
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

func tv(t syscall.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }

// TestAttackMemoryFlat checks that an attack keeps no per-result state:
// the live heap after 1,000 results and after 5,000 differs by less than
// a result slice would need. Workers are capped so that a stall of this
// busy machine does not add connections (memory that is not per result).
func TestAttackMemoryFlat(t *testing.T) {
	if testing.Short() {
		t.Skip("3 s attack")
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	var n int
	var heapAt = map[int]uint64{}
	enc := func(*vegeta.Result) error {
		n++
		if n == 1000 || n == 5000 {
			runtime.GC()
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			heapAt[n] = ms.HeapAlloc
		}
		return nil
	}
	r, err := Attack(context.Background(), AttackSpec{Name: "mem", URLs: []string{srv.URL + "/a", srv.URL + "/b"}, Rate: 2500, Duration: 3 * time.Second, Timeout: time.Second, Workers: 20, MaxWorkers: 50}, enc)
	if err != nil {
		t.Fatal(err)
	}
	if len(heapAt) < 2 {
		t.Skipf("only %d results on this machine; need 5000", r.Endpoint.Requests)
	}
	growth := int64(heapAt[5000]) - int64(heapAt[1000])
	t.Logf("live heap after 1000 results %d B, after 5000 %d B (growth %d B)", heapAt[1000], heapAt[5000], growth)
	if growth > 1<<20 {
		t.Errorf("live heap grew %d B over 4000 results; want < 1 MiB (no per-result state)", growth)
	}
}

// TestAttackBinFaithful: the .bin stream holds what vegeta's own attacker
// records, so that vegeta's decoder and Metrics (what `vegeta report`
// prints) see the JSON bodies' bytes; with DropBodies the bodies go but
// their size stays.
func TestAttackBinFaithful(t *testing.T) {
	t.Parallel()
	const body = `{"cameras":[{"id":"cam-000001","status":"online"}],"page":1}`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, body)
	}))
	defer srv.Close()
	for _, drop := range []bool{false, true} {
		var buf bytes.Buffer
		spec := AttackSpec{Name: "json", URLs: []string{srv.URL + "/api/v1/cameras"}, Rate: 100, Duration: 300 * time.Millisecond, Timeout: time.Second, Workers: 2, DropBodies: drop}
		r, err := Attack(context.Background(), spec, NewEncoder(&buf))
		if err != nil {
			t.Fatal(err)
		}
		dec := vegeta.NewDecoder(&buf)
		var m vegeta.Metrics
		for {
			var res vegeta.Result
			if err := dec.Decode(&res); err != nil {
				break
			}
			if res.Method != "GET" || res.URL != spec.URLs[0] || res.Code != 200 || res.Headers.Get("Content-Type") != "application/json" || res.Timestamp.IsZero() || res.Latency <= 0 {
				t.Fatalf("drop=%t: decoded %+v; want method, URL, code, headers, timestamp and latency", drop, res)
			}
			if want := map[bool]string{false: body, true: ""}[drop]; string(res.Body) != want {
				t.Fatalf("drop=%t: body %q; want %q", drop, res.Body, want)
			}
			m.Add(&res)
		}
		m.Close()
		if m.Requests != r.Endpoint.Requests || m.BytesIn.Total != uint64(len(body))*m.Requests || m.BytesIn.Total != r.Endpoint.BytesIn || m.BytesIn.Total == 0 {
			t.Errorf("drop=%t: vegeta.Metrics over the stream: %d requests, bytes in %d; attack: %d requests, bytes in %d; want equal and %d per request", drop, m.Requests, m.BytesIn.Total, r.Endpoint.Requests, r.Endpoint.BytesIn, len(body))
		}
	}
}
