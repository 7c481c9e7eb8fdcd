package resilience_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"
	"testing"

	"github.com/camload/camload/system/resilience"
)

// gatewaySim is a deterministic simulation of a client that always has
// more requests to send (1000 cameras on one gateway) through HostLimits
// to a gateway that serves `accepts` requests at once and answers 503
// beyond. Time is in steps: an accepted request takes 2–5 steps (seeded),
// a 503 comes back after 1.
type gatewaySim struct {
	limits  *resilience.HostLimits
	accepts int
	rng     *rand.Rand
	serving int
	due     map[int][]pending // step → answers arriving
}

type pending struct {
	release func(resilience.Outcome)
	out     resilience.Outcome
}

type simStep struct {
	limit, sent, rejected int
}

func (g *gatewaySim) run(steps int) []simStep {
	var trace []simStep
	for now := range steps {
		for _, p := range g.due[now] {
			if p.out == resilience.Success {
				g.serving--
			}
			p.release(p.out)
		}
		delete(g.due, now)
		var st simStep
		for {
			release, ok := g.limits.TryAcquire("gw")
			if !ok {
				break
			}
			st.sent++
			if g.serving < g.accepts {
				g.serving++
				at := now + 2 + g.rng.IntN(4)
				g.due[at] = append(g.due[at], pending{release, resilience.Success})
			} else {
				st.rejected++
				g.due[now+1] = append(g.due[now+1], pending{release, resilience.Overload})
			}
		}
		st.limit = g.limits.Limit("gw")
		trace = append(trace, st)
	}
	return trace
}

func TestHostLimitsConverge(t *testing.T) {
	t.Parallel()
	const steps = 3000
	tests := []struct {
		name    string
		accepts int // the gateway's capacity C
	}{
		{"single-client device", 1},  // below the initial 10
		{"small gateway", 4},         // the 1–4 concurrent clients
		{"at the initial limit", 10}, // nothing to learn
		{"larger than initial", 30},  // the limit must grow
		{"larger than the cap", 100}, // the cap (64) holds
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			hl, err := resilience.NewHostLimits(resilience.HostLimitOptions{})
			if err != nil {
				t.Fatal(err)
			}
			g := &gatewaySim{limits: hl, accepts: tt.accepts, rng: rand.New(rand.NewPCG(1, uint64(tt.accepts))), due: map[int][]pending{}}
			trace := g.run(steps)
			rate := func(tr []simStep) float64 {
				sent, rej := 0, 0
				for _, s := range tr {
					sent, rej = sent+s.sent, rej+s.rejected
				}
				return float64(rej) / float64(max(1, sent))
			}
			first, last := trace[:100], trace[steps/2:]
			c := min(tt.accepts, resilience.DefaultHostLimitMax)
			// the limit in the second half: its median near C, never above C+1
			var ls []int
			for _, s := range last {
				ls = append(ls, s.limit)
			}
			slices.Sort(ls)
			med, hi := ls[len(ls)/2], ls[len(ls)-1]
			lo := max(1, int(0.8*float64(c))-1)
			if med < lo || hi > c+1 {
				t.Errorf("C=%d: limit in the second half: median %d, max %d; want median ≥ %d and max ≤ %d", tt.accepts, med, hi, lo, c+1)
			}
			r1, r2 := rate(first), rate(last)
			if r2 > 0.03 {
				t.Errorf("C=%d: 503 rate in the second half %.3f; want ≤ 0.03 (first 100 steps: %.3f)", tt.accepts, r2, r1)
			}
			if tt.accepts < resilience.DefaultHostLimitInitial && !(r2 < r1/2) {
				t.Errorf("C=%d: 503 rate fell from %.3f (first 100 steps) to %.3f (second half); want less than half", tt.accepts, r1, r2)
			}
			t.Logf("C=%d: limit median %d max %d; 503 rate %.3f → %.3f", tt.accepts, med, hi, r1, r2)
		})
	}
}

func TestHostLimitsAcquireBlocks(t *testing.T) {
	t.Parallel()
	hl, err := resilience.NewHostLimits(resilience.HostLimitOptions{Initial: 1, Max: 1})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	rel, err := hl.Acquire(ctx, "h")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := hl.TryAcquire("h"); ok {
		t.Fatal("TryAcquire succeeded at the limit")
	}
	// a waiter whose context ends gives up with ctx's error
	cctx, cancel := context.WithCancel(ctx)
	errc := make(chan error)
	go func() {
		_, err := hl.Acquire(cctx, "h")
		errc <- err
	}()
	waitFor(t, func() bool { return hl.Hosts()[0].Waiting == 1 })
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("Acquire with a canceled context = %v; want context.Canceled", err)
	}
	if st := hl.Hosts()[0]; st.Waiting != 0 || st.InFlight != 1 {
		t.Fatalf("after the cancel: %+v; want 0 waiting, 1 in flight", st)
	}
	// waiters are admitted in order as slots are released
	var mu sync.Mutex
	var order []int
	var wg sync.WaitGroup
	for i := range 3 {
		waitFor(t, func() bool { return hl.Hosts()[0].Waiting == i })
		wg.Go(func() {
			r, err := hl.Acquire(ctx, "h")
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			order = append(order, i)
			mu.Unlock()
			r(resilience.Failure)
		})
	}
	waitFor(t, func() bool { return hl.Hosts()[0].Waiting == 3 })
	rel(resilience.Success)
	rel(resilience.Overload) // a second call does nothing
	wg.Wait()
	if !slices.Equal(order, []int{0, 1, 2}) {
		t.Errorf("admission order %v; want FIFO [0 1 2]", order)
	}
	if st := hl.Hosts()[0]; st.InFlight != 0 || st.Overloads != 0 || st.Limit != 1 {
		t.Errorf("at the end: %+v; want nothing in flight, no overloads, limit 1", st)
	}
	if _, err := hl.Acquire(cctx, "h"); !errors.Is(err, context.Canceled) {
		t.Errorf("Acquire with an ended context = %v; want context.Canceled", err)
	}
}

func TestHostLimitsOutcomes(t *testing.T) {
	t.Parallel()
	hl, err := resilience.NewHostLimits(resilience.HostLimitOptions{Initial: 4, Max: 5, Window: 1})
	if err != nil {
		t.Fatal(err)
	}
	acquire := func(n int) []func(resilience.Outcome) {
		var rs []func(resilience.Outcome)
		for range n {
			r, ok := hl.TryAcquire("h")
			if !ok {
				t.Fatalf("TryAcquire failed below the limit %d", hl.Limit("h"))
			}
			rs = append(rs, r)
		}
		return rs
	}
	// successes of requests admitted with less than half the limit in
	// flight do not raise it
	for range 8 {
		acquire(1)[0](resilience.Success)
	}
	if got := hl.Limit("h"); got != 4 {
		t.Fatalf("limit after idle successes = %d; want 4", got)
	}
	// busy: max(Window, limit)=4 successes of requests admitted with ≥ 2 in
	// flight raise it by 1 (3 per round of 4), to the cap 5
	for range 2 {
		for _, r := range acquire(4) {
			r(resilience.Success)
		}
	}
	if got := hl.Limit("h"); got != 5 {
		t.Fatalf("limit after 6 busy successes = %d; want 5", got)
	}
	for _, r := range acquire(5) {
		r(resilience.Success)
	}
	if got := hl.Limit("h"); got != 5 {
		t.Fatalf("limit over the cap: %d; want 5", got)
	}
	// five overloads of one round decrease once: 5 → 4; failures and
	// abandons change nothing
	rs := acquire(5)
	rs[0](resilience.Failure)
	rs[1](resilience.Abandoned)
	for _, r := range rs[2:] {
		r(resilience.Overload)
	}
	if got := hl.Limit("h"); got != 4 {
		t.Fatalf("limit after one round of overloads = %d; want 4", got)
	}
	// overloads of later rounds decrease it down to 1, never below
	for range 6 {
		r := acquire(1)[0]
		r(resilience.Overload)
	}
	if got := hl.Limit("h"); got != 1 {
		t.Fatalf("limit after repeated overloads = %d; want 1", got)
	}
	st := hl.Hosts()[0]
	if st.Overloads != 9 || st.Decreases != 4 || st.Increases != 1 {
		t.Errorf("status %+v; want 9 overloads, 4 decreases (5→4→3→2→1), 1 increase", st)
	}
	if got := hl.Limit("unseen"); got != 4 {
		t.Errorf("Limit(unseen) = %d; want the initial 4", got)
	}
}

func TestHostKey(t *testing.T) {
	t.Parallel()
	tests := []struct {
		url, want string
		wantErr   bool
	}{
		{"http://127.0.0.1:8081/cams/c1/snapshot.jpg", "127.0.0.1:8081", false},
		{"https://GW.example:443/x", "gw.example:443", false},
		{"http://gw.example/x?t=1", "gw.example", false},
		{"/relative/path", "", true},
		{"http://[::1", "", true},
	}
	for _, tt := range tests {
		got, err := resilience.HostKey(tt.url)
		if got != tt.want || (err != nil) != tt.wantErr {
			t.Errorf("HostKey(%q) = (%q, %v); want (%q, error %t)", tt.url, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestHostLimitOptionsValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		o     resilience.HostLimitOptions
		field string
	}{
		{"zero value", resilience.HostLimitOptions{}, ""},
		{"initial over the default cap raises the cap", resilience.HostLimitOptions{Initial: 100}, ""},
		{"negative initial", resilience.HostLimitOptions{Initial: -1}, "host_limit_initial"},
		{"max under initial", resilience.HostLimitOptions{Initial: 10, Max: 5}, "host_limit_max"},
		{"backoff 1", resilience.HostLimitOptions{Backoff: 1}, "host_limit_backoff"},
		{"negative window", resilience.HostLimitOptions{Window: -2}, "host_limit_window"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			checkField(t, tt.o.Validate(), tt.field)
		})
	}
}

// TestHostLimitsConcurrent drives one host from many goroutines against a
// gateway of capacity 3 and checks that the requests in flight never
// exceed the initial limit of 8 (16 goroutines would, were admission not
// bounded; the limit only falls against this gateway), that every slot
// comes back and that the gateway's refusals lowered the limit below its
// initial 8 while the goroutines ran. (As the goroutines finish, demand
// falls below the limit and it may climb back, past 8: fewer than 3 in
// flight cannot overload this gateway; so the limit is judged by its
// lowest value during the run, not its value at the end.)
func TestHostLimitsConcurrent(t *testing.T) {
	t.Parallel()
	hl, err := resilience.NewHostLimits(resilience.HostLimitOptions{Initial: 8, Window: 1})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	serving, most, lowest := 0, 0, 8
	ctx := context.Background()
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			for range 200 {
				release, err := hl.Acquire(ctx, "h")
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				serving++
				ok := serving <= 3
				most = max(most, serving)
				mu.Unlock()
				runtime.Gosched()
				mu.Lock()
				serving--
				mu.Unlock()
				if ok {
					release(resilience.Success)
				} else {
					release(resilience.Overload)
				}
				l := hl.Hosts()[0].Limit
				mu.Lock()
				lowest = min(lowest, l)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	st := hl.Hosts()[0]
	if st.InFlight != 0 || st.Waiting != 0 {
		t.Errorf("after the run: %+v; want nothing in flight or waiting", st)
	}
	if most > 8 {
		t.Errorf("%d requests in flight at once; want ≤ the initial limit 8", most)
	}
	if st.Decreases == 0 || lowest >= 8 {
		t.Errorf("%+v after 3200 requests to a gateway of 3, lowest limit during the run %d; want decreases, below the initial 8", st, lowest)
	}
}
