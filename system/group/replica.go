// Package group shares the camera work of camload system replicas through
// a Redis Stream and a consumer group (camload serve --group NAME).
//
// Any replica may become the coordinator, through a lease taken with
// SET NX PX and renewed by its holder only (compare-and-renew in Lua). The
// coordinator enqueues each cycle's cameras as jobs on the stream
// (Enqueue) and waits for the cycle to complete (Wait). Every replica
// reads jobs with XREADGROUP under its own consumer name, runs its Handler
// and acknowledges the job with XACK; jobs left pending by a replica that
// died are taken over with XAUTOCLAIM once idle for Options.ClaimIdle.
//
// Delivery is at least once; processing is made once per (cycle, camera):
// a job's done mark, the cycle's counters and its XACK are one atomic
// script, and a job whose camera is already done in its cycle is
// acknowledged without running the Handler. A redelivery can still run
// the Handler a second time in one case, when a replica dies after its
// Handler returned and before its acknowledgement reached Redis; the
// Handler's writes must therefore be idempotent per (Job.Cycle,
// Job.Camera), e.g. an upsert keyed by both, so that such a rerun is
// harmless.
//
// The stream stays bounded: Enqueue and Wait trim every entry that all
// consumer groups have been delivered and acknowledged (XTRIM MINID), and
// the bookkeeping of a cycle expires after Options.Retention.
package group

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"golang.org/x/sync/errgroup"

	"github.com/camload/camload/internal/wait"
)

// Job is one camera's work in one cycle.
type Job struct {
	Cycle  string // cycle ID, as Enqueue returned it
	Camera string // camera ID, as given to Enqueue
	// ID is the job's Redis Stream entry ID.
	ID string
	// Reclaimed is true when this replica took the job over from another
	// consumer's pending list (XAUTOCLAIM).
	Reclaimed bool
}

// Handler processes one job. It is called from Run's goroutines, by
// several at once when Options.Workers > 1. An error is the camera's
// failure in that cycle: the job is acknowledged and counted in
// Summary.Failures, not retried. When ctx is cancelled (the replica
// stops), the Handler should return promptly; a job whose Handler returns
// an error after ctx is cancelled stays pending and is taken over by
// another replica. Its writes must be idempotent per (Cycle, Camera); see
// the package documentation.
type Handler func(ctx context.Context, j Job) error

// ErrNotCoordinator is returned by Enqueue on a replica that does not hold
// the coordinator lease.
var ErrNotCoordinator = errors.New("group: this replica is not the coordinator")

// ErrUnknownCycle is returned for a cycle that was never enqueued or whose
// bookkeeping expired (Options.Retention).
var ErrUnknownCycle = errors.New("group: unknown cycle")

// commitTimeout bounds the commit of a job whose Handler finished while
// the replica was stopping, and the release of the lease on stop.
const commitTimeout = 5 * time.Second

// Replica is one member of a group. Run starts it; the other methods may be
// called at any time, concurrently, from any goroutine.
type Replica struct {
	rdb    redis.UniversalClient
	opts   Options
	handle Handler
	keys   keys
	lease  *lease
	ran    atomic.Bool

	mu       sync.Mutex
	inflight map[string]int // entry ID → workers of this replica holding it
}

// New returns a replica of the group opts.Name on rdb that processes jobs
// with h. It does not contact Redis; Run does. Bad options yield a
// *cfgerr.Error naming the field.
func New(rdb redis.UniversalClient, opts Options, h Handler) (*Replica, error) {
	if rdb == nil {
		return nil, errors.New("group: nil Redis client")
	}
	if h == nil {
		return nil, errors.New("group: nil Handler")
	}
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	k := keys{prefix: prefix(o.Name), stream: o.Stream}
	return &Replica{
		rdb:      rdb,
		opts:     o,
		handle:   h,
		keys:     k,
		lease:    newLease(rdb, k.lease(), o.Consumer, o.LeaseTTL),
		inflight: map[string]int{},
	}, nil
}

// Options returns the replica's options with the defaults filled in.
func (r *Replica) Options() Options { return r.opts }

// Consumer returns the replica's consumer name.
func (r *Replica) Consumer() string { return r.opts.Consumer }

// IsCoordinator reports whether this replica holds the coordinator lease
// now. It turns false by itself once a renewal is overdue by the TTL.
func (r *Replica) IsCoordinator() bool { return r.lease.held() }

// WaitCoordinator blocks until this replica holds the coordinator lease or
// ctx is done.
func (r *Replica) WaitCoordinator(ctx context.Context) error {
	select {
	case <-r.lease.wait():
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Coordinator returns the consumer name of the replica holding the
// coordinator lease, or "" when none does.
func (r *Replica) Coordinator(ctx context.Context) (string, error) {
	return r.lease.holder(ctx)
}

// Run runs the replica until ctx is done: it competes for and renews the
// coordinator lease, processes jobs with Options.Workers workers, takes
// over idle jobs of other replicas and keeps its own jobs from looking
// idle. It returns after every goroutine it started has ended, having
// released the lease (if held) and removed its consumer from the group (if
// it holds no pending job). Redis errors while running are retried (see
// Options.OnError); Run returns an error only when it cannot create the
// consumer group or clean up on the way out. Run may be called once.
func (r *Replica) Run(ctx context.Context) error {
	if !r.ran.CompareAndSwap(false, true) {
		return errors.New("group: Run called twice")
	}
	if err := r.ensureGroup(ctx); err != nil {
		return err
	}
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { r.leaseLoop(gctx); return nil })
	for i := range r.opts.Workers {
		g.Go(func() error { r.workLoop(gctx, i == 0); return nil })
	}
	g.Go(func() error { r.claimLoop(gctx); return nil })
	g.Go(func() error { r.heartbeatLoop(gctx); return nil })
	_ = g.Wait()

	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), commitTimeout)
	defer cancel()
	var errs []error
	if err := r.lease.release(cctx); err != nil {
		errs = append(errs, fmt.Errorf("group: releasing the coordinator lease: %w", err))
	}
	if err := forgetScript.Run(cctx, r.rdb, []string{r.keys.stream}, r.opts.Group, r.opts.Consumer).Err(); err != nil {
		errs = append(errs, fmt.Errorf("group: removing consumer %s: %w", r.opts.Consumer, err))
	}
	return errors.Join(errs...)
}

// ensureGroup creates the stream and the consumer group unless they exist.
// A new group starts at the stream's beginning so that no job enqueued
// before is missed.
func (r *Replica) ensureGroup(ctx context.Context) error {
	err := r.rdb.XGroupCreateMkStream(ctx, r.keys.stream, r.opts.Group, "0").Err()
	if err != nil && !strings.HasPrefix(err.Error(), "BUSYGROUP") {
		return fmt.Errorf("group: creating consumer group %s on %s: %w", r.opts.Group, r.keys.stream, err)
	}
	return nil
}

// report passes a survived error to Options.OnError and waits Block
// before the caller retries. It returns false when ctx is done.
func (r *Replica) report(ctx context.Context, err error) bool {
	if ctx.Err() != nil {
		return false
	}
	if isNoGroup(err) {
		// The stream or group was deleted (e.g. FLUSHDB): recreate them.
		if gerr := r.ensureGroup(ctx); gerr != nil {
			err = errors.Join(err, gerr)
		}
	}
	if r.opts.OnError != nil {
		r.opts.OnError(err)
	}
	return sleep(ctx, r.opts.Block)
}

func isNoGroup(err error) bool { return err != nil && strings.HasPrefix(err.Error(), "NOGROUP") }

// sleep waits d or until ctx is done; it returns false when ctx is done.
// (The package's tests wait with it too.)
func sleep(ctx context.Context, d time.Duration) bool { return wait.Sleep(ctx, d) }

// leaseLoop acquires or renews the lease every LeaseTTL/3.
func (r *Replica) leaseLoop(ctx context.Context) {
	t := time.NewTicker(r.opts.LeaseTTL / 3)
	defer t.Stop()
	for {
		if err := r.lease.tick(ctx); err != nil && ctx.Err() == nil && r.opts.OnError != nil {
			r.opts.OnError(fmt.Errorf("group: coordinator lease: %w", err))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// workLoop reads batches of new jobs and processes them. The first worker
// first goes through this consumer's own pending jobs (a previous run under
// the same consumer name may have left some).
func (r *Replica) workLoop(ctx context.Context, own bool) {
	start := ">"
	if own {
		start = "0"
	}
	for ctx.Err() == nil {
		args := &redis.XReadGroupArgs{
			Group:    r.opts.Group,
			Consumer: r.opts.Consumer,
			Streams:  []string{r.keys.stream, start},
			Count:    int64(r.opts.Batch),
			Block:    r.opts.Block,
		}
		if start != ">" {
			args.Block = -1 // pending entries are returned at once
		}
		res, err := r.rdb.XReadGroup(ctx, args).Result()
		if errors.Is(err, redis.Nil) {
			continue // Block passed without a job
		}
		if err != nil {
			if !r.report(ctx, fmt.Errorf("group: reading jobs: %w", err)) {
				return
			}
			continue
		}
		var msgs []redis.XMessage
		for _, s := range res {
			msgs = append(msgs, s.Messages...)
		}
		if start != ">" {
			if len(msgs) == 0 {
				start = ">"
				continue
			}
			start = msgs[len(msgs)-1].ID
		}
		r.process(ctx, msgs, false)
	}
}

// claimLoop takes over jobs idle for ClaimIdle in any consumer's pending
// list, every ClaimIdle/2, and processes them.
func (r *Replica) claimLoop(ctx context.Context) {
	wait.Every(ctx, r.opts.ClaimIdle/2, func(time.Time) {
		start := "0-0"
		for ctx.Err() == nil {
			msgs, next, err := r.rdb.XAutoClaim(ctx, &redis.XAutoClaimArgs{
				Stream:   r.keys.stream,
				Group:    r.opts.Group,
				Consumer: r.opts.Consumer,
				MinIdle:  r.opts.ClaimIdle,
				Start:    start,
				Count:    int64(r.opts.Batch),
			}).Result()
			if err != nil {
				r.report(ctx, fmt.Errorf("group: claiming idle jobs: %w", err))
				break
			}
			r.process(ctx, msgs, true)
			if next == "0-0" || next == "" {
				break
			}
			start = next
		}
	})
}

// heartbeatLoop resets the idle time of the jobs this replica holds, every
// ClaimIdle/3, so that other replicas do not take over the jobs of a live
// one (XCLAIM to itself with JUSTID, which leaves the delivery count). A
// replica stalled for longer than ClaimIdle may have lost a job to another
// replica; its next heartbeat then claims the entry back, both run the
// Handler, the first commit counts the camera and the second a duplicate.
func (r *Replica) heartbeatLoop(ctx context.Context) {
	wait.Every(ctx, r.opts.ClaimIdle/3, func(time.Time) {
		ids := r.held()
		if len(ids) == 0 {
			return
		}
		err := r.rdb.XClaimJustID(ctx, &redis.XClaimArgs{
			Stream:   r.keys.stream,
			Group:    r.opts.Group,
			Consumer: r.opts.Consumer,
			Messages: ids,
		}).Err()
		if err != nil && ctx.Err() == nil && r.opts.OnError != nil {
			r.opts.OnError(fmt.Errorf("group: refreshing held jobs: %w", err))
		}
	})
}

// hold marks id as held by a worker of this replica; it returns false when
// another worker of this replica holds it already.
func (r *Replica) hold(id string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.inflight[id] > 0 {
		return false
	}
	r.inflight[id]++
	return true
}

func (r *Replica) drop(id string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.inflight[id]--; r.inflight[id] <= 0 {
		delete(r.inflight, id)
	}
}

func (r *Replica) held() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	ids := make([]string, 0, len(r.inflight))
	for id := range r.inflight {
		ids = append(ids, id)
	}
	return ids
}

// process runs the jobs of one batch in order. A job stays pending when
// the replica stops before its Handler returned or when its commit fails.
func (r *Replica) process(ctx context.Context, msgs []redis.XMessage, reclaimed bool) {
	jobs := make([]Job, 0, len(msgs))
	for _, m := range msgs {
		if !r.hold(m.ID) {
			continue // a worker of this replica is on it already
		}
		j, ok := parseJob(m)
		if !ok {
			// Not a job of this package: acknowledge it so that it does not
			// circulate forever.
			err := r.rdb.XAck(ctx, r.keys.stream, r.opts.Group, m.ID).Err()
			r.drop(m.ID)
			if err != nil {
				r.report(ctx, fmt.Errorf("group: acknowledging malformed entry %s: %w", m.ID, err))
			} else if r.opts.OnError != nil {
				r.opts.OnError(fmt.Errorf("group: entry %s of %s is not a job (fields cycle and camera); acknowledged", m.ID, r.keys.stream))
			}
			continue
		}
		j.Reclaimed = reclaimed
		jobs = append(jobs, j)
	}
	if len(jobs) == 0 {
		return
	}
	defer func() {
		for _, j := range jobs {
			r.drop(j.ID)
		}
	}()

	// Which cameras are done in their cycle already (a redelivery)?
	done := make([]*redis.BoolCmd, len(jobs))
	_, err := r.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, j := range jobs {
			done[i] = p.SIsMember(ctx, r.keys.done(j.Cycle), j.Camera)
		}
		return nil
	})
	if err != nil {
		r.report(ctx, fmt.Errorf("group: checking done cameras: %w", err))
		return // the jobs stay pending and come back
	}
	for i, j := range jobs {
		if ctx.Err() != nil {
			return
		}
		outcome, msg := outcomeSkip, ""
		if !done[i].Val() {
			outcome = outcomeOK
			if herr := r.handle(ctx, j); herr != nil {
				if ctx.Err() != nil {
					return // stopping: leave the job to another replica
				}
				outcome, msg = outcomeFail, herr.Error()
			}
		}
		if err := r.commit(ctx, j, outcome, msg); err != nil {
			r.report(ctx, fmt.Errorf("group: committing job %s (cycle %s, camera %s): %w", j.ID, j.Cycle, j.Camera, err))
			return
		}
	}
}

// commit runs commitScript for one job. It uses a context that outlives
// ctx by commitTimeout, so that work finished while stopping is recorded.
func (r *Replica) commit(ctx context.Context, j Job, outcome, msg string) error {
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), commitTimeout)
	defer cancel()
	reclaimed := "0"
	if j.Reclaimed {
		reclaimed = "1"
	}
	return commitScript.Run(cctx, r.rdb,
		[]string{r.keys.stream, r.keys.done(j.Cycle), r.keys.cycle(j.Cycle), r.keys.signal(j.Cycle)},
		r.opts.Group, j.ID, j.Camera, r.opts.Consumer, outcome, reclaimed,
		r.opts.Retention.Milliseconds(), msg, MaxErrors,
	).Err()
}

func parseJob(m redis.XMessage) (Job, bool) {
	c, ok1 := m.Values["cycle"].(string)
	cam, ok2 := m.Values["camera"].(string)
	if !ok1 || !ok2 || c == "" || cam == "" {
		return Job{}, false
	}
	return Job{Cycle: c, Camera: cam, ID: m.ID}, true
}

// keys names the Redis keys of one group.
type keys struct {
	prefix string // "camload:{NAME}:"
	stream string
}

func (k keys) lease() string           { return k.prefix + "coordinator" }
func (k keys) cycles() string          { return k.prefix + "cycles" }
func (k keys) cycle(id string) string  { return k.prefix + "cycle:" + id }
func (k keys) done(id string) string   { return k.prefix + "cycle:" + id + ":done" }
func (k keys) signal(id string) string { return k.prefix + "cycle:" + id + ":complete" }
