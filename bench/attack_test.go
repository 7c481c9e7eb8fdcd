package bench

import (
	"bytes"
	"context"
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

// TestCapacitySearch is not parallel: it runs alone, so scheduling noise
// from other tests does not burst its requests.
func TestCapacitySearch(t *testing.T) {
	if testing.Short() {
		t.Skip("six 1 s attacks")
	}
	// 400 req/s; bursts of 0.5 s are absorbed, so a sender that stalls on
	// this busy machine and catches up does not fail a rate it can hold.
	srv := bucketServer(t, 400, 200)
	base := AttackSpec{Name: "cap", URLs: []string{srv.URL}, Timeout: 2 * time.Second, Workers: 4}
	c := scenarios.Capacity{SLO: scenarios.SLO{P99: time.Second, ErrorRate: 0.02}, MinRate: 50, MaxRate: 1000, Steps: 6, StepDuration: 2 * time.Second}
	var steps atomic.Int32
	got, err := CapacitySearch(context.Background(), base, c, func(f string, a ...any) { steps.Add(1); t.Logf(f, a...) })
	if err != nil {
		t.Fatal(err)
	}
	if got == nil || *got < 250 || *got > 540 {
		t.Errorf("CapacitySearch(server of 400 req/s) = %v; want 250…540", deref(got))
	}
	if steps.Load() != 6 {
		t.Errorf("steps = %d; want 6", steps.Load())
	}
}

func TestCapacitySearchFloorFails(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(500) }))
	defer srv.Close()
	base := AttackSpec{Name: "down", URLs: []string{srv.URL}, Timeout: time.Second, Workers: 2}
	c := scenarios.Capacity{SLO: scenarios.SLO{P99: time.Second, ErrorRate: 0.01}, MinRate: 20, MaxRate: 100, Steps: 4, StepDuration: 300 * time.Millisecond}
	got, err := CapacitySearch(context.Background(), base, c, nil)
	if err != nil || got != nil {
		t.Errorf("CapacitySearch(always 500) = (%v, %v); want (nil, nil) after the floor fails", deref(got), err)
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

func deref(p *float64) any {
	if p == nil {
		return "nil"
	}
	return *p
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
