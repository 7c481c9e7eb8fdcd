package resilience_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/camload/camload/system/resilience"
)

// errDown is a camera's own failure; errBusy a gateway's 503.
var (
	errDown = errors.New("camera down")
	errBusy = errors.New("503 gateway busy")
)

// result is what one camera visit produced.
type result struct {
	err     error
	latency time.Duration
}

// poller is the shape of a resilient cycle: breakers decide who is
// fetched, the tracker cuts the cycle off at its budget, fetches wait for
// their host's learned limit and run under their camera's learned
// deadline. Its fetch goroutines are owned by the poller (wg) and run
// under the poller's context, not the cycle's budget.
type poller struct {
	fetch     func(ctx context.Context, id string) (time.Duration, error)
	deadlines *resilience.Deadlines
	breakers  *resilience.Breakers
	hosts     *resilience.HostLimits
	tracker   *resilience.Tracker[string, result]
	wg        sync.WaitGroup
}

func (p *poller) cycle(ctx context.Context, n int64, cams []string, budget time.Duration) string {
	c := p.tracker.Begin(n)
	skipped := map[string][]string{}
	for _, id := range cams {
		tk, ok := p.breakers.Allow(id)
		if !ok {
			skipped["breaker_open"] = append(skipped["breaker_open"], id)
			continue
		}
		if st := c.Start(id); st != resilience.Started {
			p.breakers.Report(tk, resilience.Abandoned)
			skipped[st.String()] = append(skipped[st.String()], id)
			continue
		}
		p.wg.Go(func() {
			release, err := p.hosts.Acquire(ctx, "gw")
			if err != nil {
				p.breakers.Report(tk, resilience.Abandoned)
				c.Done(id, result{err: err})
				return
			}
			dl := p.deadlines.Deadline(id)
			fctx, cancel := context.WithTimeout(ctx, dl)
			lat, err := p.fetch(fctx, id)
			cancel()
			out := resilience.Success
			switch {
			case errors.Is(err, errBusy):
				out = resilience.Overload
			case errors.Is(err, context.DeadlineExceeded):
				out = resilience.Failure
				p.deadlines.Expired(id, dl)
			case err != nil:
				out = resilience.Failure
			default:
				p.deadlines.Observe(id, lat)
			}
			release(out)
			p.breakers.Report(tk, out)
			c.Done(id, result{err, lat})
		})
	}
	c.Close()
	bctx, cancel := context.WithTimeout(ctx, budget)
	co := c.Wait(bctx)
	cancel()
	var ok, failed, abandoned []string
	for id, r := range co.Results {
		if r.err == nil {
			ok = append(ok, id)
		} else {
			failed = append(failed, id)
		}
	}
	for _, a := range co.Abandoned {
		abandoned = append(abandoned, a.ID)
	}
	line := fmt.Sprintf("cycle %d: ok %v failed %v abandoned %v", n, sorted(ok), sorted(failed), sorted(abandoned))
	ks := keys(skipped)
	slices.Sort(ks)
	for _, k := range ks {
		line += fmt.Sprintf(" %s %v", k, skipped[k])
	}
	return line + fmt.Sprintf(" breakers %+v", p.breakers.Counts())
}

func sorted(s []string) string {
	slices.Sort(s)
	return "[" + strings.Join(s, " ") + "]"
}

func keys(m map[string][]string) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	return ks
}

// Example runs five cycles over three cameras: "ok" answers at once,
// "hung" hangs through cycle 1 (abandoned, its result stored late) and
// "dead" always fails, so its breaker opens after two failures, skips it
// and probes it again once its back-off has passed.
func Example() {
	clk := newClock()
	unhang := make(chan struct{})
	var late []string
	var lateMu sync.Mutex
	p := &poller{
		fetch: func(ctx context.Context, id string) (time.Duration, error) {
			switch id {
			case "hung":
				select {
				case <-unhang:
					return 4 * time.Second, nil
				case <-ctx.Done():
					return 0, ctx.Err()
				}
			case "dead":
				return 0, errDown
			}
			return 300 * time.Millisecond, nil
		},
		tracker: resilience.NewTracker(resilience.TrackerOptions[string, result]{OnLate: func(l resilience.Late[string, result]) {
			lateMu.Lock()
			defer lateMu.Unlock()
			late = append(late, fmt.Sprintf("%s of cycle %d (err %v)", l.ID, l.Cycle, l.Result.err))
		}}),
	}
	var err error
	p.deadlines, err = resilience.NewDeadlines(resilience.DeadlineOptions{Initial: 10 * time.Second})
	if err != nil {
		panic(err)
	}
	p.breakers, err = resilience.NewBreakers(resilience.BreakerOptions{Failures: 2, Base: time.Minute, Jitter: -1, Now: clk.Now})
	if err != nil {
		panic(err)
	}
	p.hosts, err = resilience.NewHostLimits(resilience.HostLimitOptions{})
	if err != nil {
		panic(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer func() { cancel(); p.wg.Wait() }()
	cams := []string{"ok", "hung", "dead"}

	fmt.Println(p.cycle(ctx, 1, cams, 200*time.Millisecond))
	fmt.Println(p.cycle(ctx, 2, cams, 200*time.Millisecond))
	close(unhang)
	if err := p.tracker.WaitIdle(ctx); err != nil {
		panic(err)
	}
	fmt.Println("late:", late)
	fmt.Println(p.cycle(ctx, 3, cams, 200*time.Millisecond))
	clk.Advance(time.Minute)
	fmt.Println(p.cycle(ctx, 4, cams, 200*time.Millisecond))
	fmt.Println("dead:", p.breakers.Status("dead").State, "for", p.breakers.Status("dead").Until.Sub(clk.Now()))
	fmt.Printf("%+v\n", p.tracker.Stats())
	// Output:
	// cycle 1: ok [ok] failed [dead] abandoned [hung] breakers {Open:0 HalfOpen:0}
	// cycle 2: ok [ok] failed [dead] abandoned [] still_in_flight [hung] breakers {Open:1 HalfOpen:0}
	// late: [hung of cycle 1 (err <nil>)]
	// cycle 3: ok [hung ok] failed [] abandoned [] breaker_open [dead] breakers {Open:1 HalfOpen:0}
	// cycle 4: ok [hung ok] failed [dead] abandoned [] breakers {Open:1 HalfOpen:0}
	// dead: open for 2m0s
	// {InFlight:0 Abandoned:1 Late:1}
}
