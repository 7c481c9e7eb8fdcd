package group

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// TestExactlyOncePerCycle: three replicas share N cameras × M cycles; each
// camera is processed exactly once per cycle, the summaries add up, the
// work is spread, and the stream is empty once the cycles are done.
func TestExactlyOncePerCycle(t *testing.T) {
	forEach(t, func(t *testing.T, s server) {
		const n, m = 60, 4
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		name := groupName(t, s)
		l := newLedger()
		var rs []*running
		for i := range 3 {
			c := fmt.Sprintf("r%d", i)
			o := testOptions(name, c)
			o.Workers = 2
			rs = append(rs, start(t, s.client(t), o, l.handler(c, time.Millisecond)))
		}
		cams := cameraIDs(n)
		seen := map[string]bool{}
		for range m {
			co := coordinator(t, ctx, rs...)
			id, err := co.Enqueue(ctx, cams)
			if err != nil {
				t.Fatal(err)
			}
			if seen[id] {
				t.Fatalf("cycle ID %s allocated twice", id)
			}
			seen[id] = true
			sum, err := rs[0].Wait(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if sum.Jobs != n || sum.Acked != n || sum.ProcessedTotal() != n || sum.Duplicates != 0 || sum.Failures != 0 {
				t.Errorf("Wait(%s) = %+v; want %d jobs acked and processed once, no duplicates or failures", id, sum, n)
			}
			l.checkOnce(t, id, cams)
		}
		l.mu.Lock()
		workers := len(l.by)
		l.mu.Unlock()
		if workers < 2 {
			t.Errorf("jobs processed by %d replica(s) (%v); want the work shared by at least 2 of 3", workers, l.by)
		}
		if n, err := s.client(t).XLen(ctx, rs[0].Options().Stream).Result(); err != nil || n != 0 {
			t.Errorf("XLEN after the last cycle = %d, %v; want 0 (completed jobs trimmed)", n, err)
		}
		for _, r := range rs {
			if err := r.stop(); err != nil {
				t.Error(err)
			}
		}
		// Replicas that stop with nothing pending leave the group.
		if cs, err := s.client(t).XInfoConsumers(ctx, rs[0].Options().Stream, rs[0].Options().Group).Result(); err != nil || len(cs) != 0 {
			t.Errorf("XINFO CONSUMERS after every replica stopped = %+v, %v; want none", cs, err)
		}
	})
}

// TestReplicaKilledMidCycle: a replica that read jobs and dies before
// acknowledging them (its Run cancelled, or its connection cut as by
// SIGKILL) leaves them pending; the others take them over after
// ClaimIdle, every camera of the cycle is processed exactly once, and the
// summary counts the reclaimed jobs.
func TestReplicaKilledMidCycle(t *testing.T) {
	for _, kill := range []string{"cancel", "close"} {
		t.Run(kill, func(t *testing.T) {
			forEach(t, func(t *testing.T, s server) {
				const n = 40
				ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
				defer cancel()
				name := groupName(t, s)
				l := newLedger()

				// The victim starts alone, becomes coordinator, enqueues the
				// cycle and reads a batch; its Handler never finishes.
				started := make(chan struct{}, 1)
				victimClient := s.client(t)
				victim := start(t, victimClient, testOptions(name, "victim"), func(ctx context.Context, j Job) error {
					select {
					case started <- struct{}{}:
					default:
					}
					<-ctx.Done()
					return ctx.Err()
				})
				if err := victim.WaitCoordinator(ctx); err != nil {
					t.Fatal(err)
				}
				cams := cameraIDs(n)
				id, err := victim.Enqueue(ctx, cams)
				if err != nil {
					t.Fatal(err)
				}
				select {
				case <-started:
				case <-ctx.Done():
					t.Fatal("the victim never started a job")
				}
				a := start(t, s.client(t), testOptions(name, "a"), l.handler("a", time.Millisecond))
				b := start(t, s.client(t), testOptions(name, "b"), l.handler("b", time.Millisecond))

				switch kill {
				case "cancel":
					if err := victim.stop(); err != nil {
						t.Errorf("victim Run = %v; want nil", err)
					}
				case "close":
					if err := victimClient.Close(); err != nil {
						t.Fatal(err)
					}
				}
				sum, err := a.Wait(ctx, id)
				if err != nil {
					t.Fatal(err)
				}
				if kill == "close" {
					// Let the victim's Run end (its cleanup cannot reach Redis).
					if err := victim.stop(); err == nil {
						t.Error("victim Run = nil after its client was closed; want the cleanup error")
					}
				}
				l.checkOnce(t, id, cams)
				if sum.Jobs != n || sum.Acked != n || sum.ProcessedTotal() != n || sum.Processed["victim"] != 0 {
					t.Errorf("Wait = %+v; want %d jobs acked, all processed by a and b", sum, n)
				}
				if sum.Reclaimed < 1 || sum.Reclaimed > testOptions("", "").Batch {
					t.Errorf("Wait: Reclaimed = %d; want 1..%d (the victim's batch)", sum.Reclaimed, testOptions("", "").Batch)
				}
				for _, r := range []*running{a, b} {
					if err := r.stop(); err != nil {
						t.Error(err)
					}
				}
			})
		})
	}
}

// TestRedeliveredJobNotProcessedTwice: a job delivered again after its
// camera was processed in the cycle (a coordinator re-enqueueing after a
// failover, a Redis failover losing an acknowledgement) is acknowledged
// without running the Handler again, and counted as a duplicate.
func TestRedeliveredJobNotProcessedTwice(t *testing.T) {
	forEach(t, func(t *testing.T, s server) {
		const n = 10
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		name := groupName(t, s)
		l := newLedger()
		a := start(t, s.client(t), testOptions(name, "a"), l.handler("a", 0))
		b := start(t, s.client(t), testOptions(name, "b"), l.handler("b", 0))
		co := coordinator(t, ctx, a, b)
		cams := cameraIDs(n)
		id, err := co.Enqueue(ctx, cams)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := a.Wait(ctx, id); err != nil {
			t.Fatal(err)
		}

		// Deliver camera 3 of the cycle once more.
		raw := s.client(t)
		if err := raw.HIncrBy(ctx, a.keys.cycle(id), "jobs", 1).Err(); err != nil {
			t.Fatal(err)
		}
		if err := raw.XAdd(ctx, &redis.XAddArgs{Stream: a.Options().Stream, Values: []string{"cycle", id, "camera", cams[3]}}).Err(); err != nil {
			t.Fatal(err)
		}
		sum, err := b.Wait(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		l.checkOnce(t, id, cams)
		if sum.Jobs != n+1 || sum.Acked != n+1 || sum.ProcessedTotal() != n || sum.Duplicates != 1 {
			t.Errorf("Wait = %+v; want %d jobs acked, %d processed, 1 duplicate", sum, n+1, n)
		}
	})
}

// TestSlowJobNotStolen: a live replica whose job takes longer than
// ClaimIdle keeps it (its heartbeat refreshes the job's idle time), so no
// other replica takes it over and runs it again.
func TestSlowJobNotStolen(t *testing.T) {
	forEach(t, func(t *testing.T, s server) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		name := groupName(t, s)
		l := newLedger()
		o := testOptions(name, "slow")
		o.ClaimIdle = 400 * time.Millisecond
		started := make(chan struct{})
		h := l.handler("slow", 4*o.ClaimIdle)
		slow := start(t, s.client(t), o, func(ctx context.Context, j Job) error {
			close(started)
			return h(ctx, j)
		})
		if err := slow.WaitCoordinator(ctx); err != nil {
			t.Fatal(err)
		}
		id, err := slow.Enqueue(ctx, []string{"cam-slow"})
		if err != nil {
			t.Fatal(err)
		}
		<-started
		o.Consumer = "fast"
		fast := start(t, s.client(t), o, l.handler("fast", 0))
		sum, err := fast.Wait(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if n := l.count(id, "cam-slow"); n != 1 || sum.Reclaimed != 0 || sum.Duplicates != 0 || sum.Processed["slow"] != 1 {
			t.Errorf("slow job: %d Handler calls, summary %+v; want 1 call by slow, nothing reclaimed", n, sum)
		}
	})
}

// TestFailuresCounted: a Handler error is the camera's failure in the
// cycle: acknowledged, counted, its text kept, not retried.
func TestFailuresCounted(t *testing.T) {
	forEach(t, func(t *testing.T, s server) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		name := groupName(t, s)
		calls := map[string]int{}
		var mu = make(chan struct{}, 1)
		r := start(t, s.client(t), testOptions(name, "r"), func(ctx context.Context, j Job) error {
			mu <- struct{}{}
			calls[j.Camera]++
			<-mu
			if j.Camera == "cam-0001" {
				return errors.New("snapshot: 503 Service Unavailable")
			}
			return nil
		})
		if err := r.WaitCoordinator(ctx); err != nil {
			t.Fatal(err)
		}
		id, err := r.Enqueue(ctx, cameraIDs(3))
		if err != nil {
			t.Fatal(err)
		}
		sum, err := r.Wait(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if sum.Failures != 1 || sum.ProcessedTotal() != 2 || sum.Errors["cam-0001"] != "snapshot: 503 Service Unavailable" || calls["cam-0001"] != 1 {
			t.Errorf("Wait = %+v, calls %v; want cam-0001 failed once with its error text, 2 processed", sum, calls)
		}
	})
}

// TestEnqueueNeedsLease: only the coordinator enqueues; an empty cycle is
// complete at once.
func TestEnqueueNeedsLease(t *testing.T) {
	forEach(t, func(t *testing.T, s server) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		name := groupName(t, s)
		l := newLedger()
		a := start(t, s.client(t), testOptions(name, "a"), l.handler("a", 0))
		if err := a.WaitCoordinator(ctx); err != nil {
			t.Fatal(err)
		}
		b, err := New(s.client(t), testOptions(name, "b"), l.handler("b", 0))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := b.Enqueue(ctx, cameraIDs(1)); !errors.Is(err, ErrNotCoordinator) {
			t.Errorf("Enqueue on a non-coordinator = %v; want ErrNotCoordinator", err)
		}
		id, err := a.Enqueue(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if sum, err := b.Wait(ctx, id); err != nil || !sum.Complete() || sum.Jobs != 0 {
			t.Errorf("Wait(empty cycle) = %+v, %v; want complete with 0 jobs", sum, err)
		}
		if latest, err := b.Latest(ctx); err != nil || latest != id {
			t.Errorf("Latest = %q, %v; want %q", latest, err, id)
		}
		if _, err := b.Summary(ctx, "no-such-cycle"); !errors.Is(err, ErrUnknownCycle) {
			t.Errorf("Summary(unknown) = %v; want ErrUnknownCycle", err)
		}
		if _, err := a.Enqueue(ctx, []string{"ok", ""}); err == nil {
			t.Error("Enqueue with an empty camera ID succeeded")
		}
	})
}

// TestWaitHonoursContext: Wait on a cycle nobody works on returns the
// context's error with the partial summary.
func TestWaitHonoursContext(t *testing.T) {
	forEach(t, func(t *testing.T, s server) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		name := groupName(t, s)
		release := make(chan struct{})
		r := start(t, s.client(t), testOptions(name, "r"), func(ctx context.Context, j Job) error {
			select {
			case <-release:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		})
		defer close(release)
		if err := r.WaitCoordinator(ctx); err != nil {
			t.Fatal(err)
		}
		id, err := r.Enqueue(ctx, cameraIDs(2))
		if err != nil {
			t.Fatal(err)
		}
		wctx, wcancel := context.WithTimeout(ctx, 100*time.Millisecond)
		defer wcancel()
		sum, err := r.Wait(wctx, id)
		if !errors.Is(err, context.DeadlineExceeded) || sum.Jobs != 2 || sum.Complete() {
			t.Errorf("Wait = %+v, %v; want an incomplete summary of 2 jobs and DeadlineExceeded", sum, err)
		}
	})
}
