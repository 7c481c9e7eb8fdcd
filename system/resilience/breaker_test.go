package resilience_test

import (
	"sync"
	"testing"
	"time"

	"github.com/camload/camload/system/resilience"
)

// clock is a manual clock for tests.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// brStep is one step of a breaker script: advance the clock, then Allow
// and (when allowed and report is set) Report.
type brStep struct {
	advance time.Duration
	allowed bool               // want from Allow
	report  resilience.Outcome // reported when allowed; Abandoned reports it too
	state   resilience.State   // want after the step
}

func TestBreakers(t *testing.T) {
	t.Parallel()
	const (
		S = resilience.Success
		F = resilience.Failure
		O = resilience.Overload
		A = resilience.Abandoned
	)
	closed, open, half := resilience.Closed, resilience.Open, resilience.HalfOpen
	opts := resilience.BreakerOptions{Failures: 3, Base: time.Second, Max: 4 * time.Second, Jitter: -1}
	tests := []struct {
		name  string
		steps []brStep
	}{
		{"successes keep it closed", []brStep{{allowed: true, report: S}, {allowed: true, report: S}}},
		// K=3 consecutive failures open it; a success in between resets the count
		{"opens after K consecutive failures", []brStep{
			{allowed: true, report: F}, {allowed: true, report: F}, {allowed: true, report: S},
			{allowed: true, report: F}, {allowed: true, report: F}, {allowed: true, report: F, state: open},
			{allowed: false, state: open},
		}},
		// overloads and abandons are not the camera's failures
		{"overload and abandon do not count", []brStep{
			{allowed: true, report: F}, {allowed: true, report: F}, {allowed: true, report: O},
			{allowed: true, report: A}, {allowed: true, report: O},
		}},
		// open for Base, then one probe; its success closes it
		{"half-open probe closes", []brStep{
			{allowed: true, report: F}, {allowed: true, report: F}, {allowed: true, report: F, state: open},
			{advance: 999 * time.Millisecond, allowed: false, state: open},
			{advance: time.Millisecond, allowed: true, report: S, state: closed},
			{allowed: true, report: F}, {allowed: true, report: F}, // the count restarted
		}},
		// failed probes double the open period: 1 s, 2 s, 4 s, 4 s (Max)
		{"exponential back-off", []brStep{
			{allowed: true, report: F}, {allowed: true, report: F}, {allowed: true, report: F, state: open},
			{advance: time.Second, allowed: true, report: F, state: open},
			{advance: 1999 * time.Millisecond, allowed: false, state: open},
			{advance: time.Millisecond, allowed: true, report: F, state: open},
			{advance: 3999 * time.Millisecond, allowed: false, state: open},
			{advance: time.Millisecond, allowed: true, report: F, state: open},
			{advance: 3999 * time.Millisecond, allowed: false, state: open},
			{advance: time.Millisecond, allowed: true, report: S, state: closed},
			// closed again: the back-off starts over at Base
			{allowed: true, report: F}, {allowed: true, report: F}, {allowed: true, report: F, state: open},
			{advance: time.Second, allowed: true, report: S, state: closed},
		}},
		// an overloaded or abandoned probe leaves it half-open, probed again
		{"inconclusive probe", []brStep{
			{allowed: true, report: F}, {allowed: true, report: F}, {allowed: true, report: F, state: open},
			{advance: time.Second, allowed: true, report: O, state: half},
			{allowed: true, report: A, state: half},
			{allowed: true, report: S, state: closed},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			clk := newClock()
			o := opts
			o.Now = clk.Now
			bs, err := resilience.NewBreakers(o)
			if err != nil {
				t.Fatal(err)
			}
			for i, s := range tt.steps {
				clk.Advance(s.advance)
				tk, ok := bs.Allow("cam")
				if ok != s.allowed {
					t.Fatalf("step %d %+v: Allow(cam) = %t; want %t", i, s, ok, s.allowed)
				}
				if ok {
					bs.Report(tk, s.report)
				}
				if got := bs.Status("cam").State; got != s.state {
					t.Fatalf("step %d %+v: state %s; want %s", i, s, got, s.state)
				}
			}
			if st := bs.Status("other"); st.State != resilience.Closed {
				t.Errorf("Status(other) = %+v; want closed (cameras are independent)", st)
			}
		})
	}
}

func TestBreakersOneProbeAtATime(t *testing.T) {
	t.Parallel()
	clk := newClock()
	bs, err := resilience.NewBreakers(resilience.BreakerOptions{Failures: 1, Base: time.Second, Jitter: -1, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	tk, _ := bs.Allow("c")
	// a fetch admitted while closed, reporting after the breaker opened
	stale, _ := bs.Allow("c")
	bs.Report(tk, resilience.Failure)
	if got := bs.Counts(); got != (resilience.BreakerCounts{Open: 1}) {
		t.Fatalf("Counts after the trip = %+v; want 1 open", got)
	}
	clk.Advance(time.Second)
	probe, ok := bs.Allow("c")
	if !ok || !probe.Probe() {
		t.Fatalf("Allow after the open period = (%+v, %t); want the probe", probe, ok)
	}
	if got := bs.Counts(); got != (resilience.BreakerCounts{HalfOpen: 1}) {
		t.Fatalf("Counts while probing = %+v; want 1 half-open", got)
	}
	var wg sync.WaitGroup
	var allowed sync.Map
	for i := range 8 {
		wg.Go(func() {
			if _, ok := bs.Allow("c"); ok {
				allowed.Store(i, true)
			}
		})
	}
	wg.Wait()
	allowed.Range(func(k, _ any) bool {
		t.Errorf("caller %v allowed while a probe is in flight", k)
		return true
	})
	bs.Report(stale, resilience.Success) // from before the trip: ignored
	if got := bs.Status("c").State; got != resilience.HalfOpen {
		t.Fatalf("a stale success changed the state to %s; want half-open", got)
	}
	bs.Report(probe, resilience.Success)
	if got := bs.Counts(); got != (resilience.BreakerCounts{}) {
		t.Errorf("Counts after the probe's success = %+v; want none", got)
	}
	bs.Report(probe, resilience.Failure) // a second report of the same ticket
	if got := bs.Status("c"); got.State != resilience.Closed || got.Failures != 0 {
		t.Errorf("a repeated report changed the breaker: %+v", got)
	}
}

func TestBreakersJitter(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		jitter, rand float64
		want         time.Duration // open period after the first trip, Base 10 s
	}{
		{0.5, 0.0, 10 * time.Second},
		{0.5, 0.5, 7500 * time.Millisecond},
		{0.2, 0.99, 8020 * time.Millisecond},
		{-1, 0.99, 10 * time.Second},
	} {
		clk := newClock()
		bs, err := resilience.NewBreakers(resilience.BreakerOptions{Failures: 1, Base: 10 * time.Second, Jitter: tt.jitter,
			Now: clk.Now, Rand: func() float64 { return tt.rand }})
		if err != nil {
			t.Fatal(err)
		}
		tk, _ := bs.Allow("c")
		bs.Report(tk, resilience.Failure)
		if got := bs.Status("c").Until.Sub(clk.Now()); got != tt.want {
			t.Errorf("jitter %g, rand %g: open for %s; want %s", tt.jitter, tt.rand, got, tt.want)
		}
	}
}

func TestBreakersCountsAndForget(t *testing.T) {
	t.Parallel()
	clk := newClock()
	bs, err := resilience.NewBreakers(resilience.BreakerOptions{Failures: 1, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"a", "b", "c"} {
		tk, _ := bs.Allow(id)
		bs.Report(tk, resilience.Failure)
	}
	clk.Advance(resilience.DefaultBreakerBase)
	if _, ok := bs.Allow("c"); !ok {
		t.Fatal("c not probed after its open period")
	}
	if got, want := bs.Counts(), (resilience.BreakerCounts{Open: 2, HalfOpen: 1}); got != want {
		t.Errorf("Counts = %+v; want %+v", got, want)
	}
	bs.Forget("a")
	bs.Forget("c")
	bs.Forget("never seen")
	if got, want := bs.Counts(), (resilience.BreakerCounts{Open: 1}); got != want {
		t.Errorf("Counts after Forget(a, c) = %+v; want %+v", got, want)
	}
}

func TestBreakerOptionsValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		o     resilience.BreakerOptions
		field string
	}{
		{"zero value", resilience.BreakerOptions{}, ""},
		{"negative failures", resilience.BreakerOptions{Failures: -1}, "breaker_failures"},
		{"negative base", resilience.BreakerOptions{Base: -time.Second, Max: time.Second}, "breaker_backoff"},
		{"max under base", resilience.BreakerOptions{Base: time.Minute, Max: time.Second}, "breaker_backoff_max"},
		{"jitter over 1", resilience.BreakerOptions{Jitter: 1.5}, "breaker_jitter"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			checkField(t, tt.o.Validate(), tt.field)
		})
	}
}
