package server

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/camload/camload/internal/cfgerr"
	"github.com/camload/camload/system"
	"github.com/camload/camload/system/group"
)

// member is this process as a replica of Options.Group: the group's Redis
// client, the replica, and the goroutine running it. A nil *member (no
// --group) is a standalone system; its methods then fall back to it.
type member struct {
	r      *group.Replica
	rdb    *redis.Client
	log    *slog.Logger
	cancel context.CancelFunc
	done   chan error
	// stopped is set by the first stop; Run's goroutine calls stop only.
	stopped bool
}

// validateGroup checks the group fields, named after their flags.
func (o Options) validateGroup() []error {
	var errs []error
	if o.Group != "" && (strings.ContainsAny(o.Group, "{}") || strings.TrimSpace(o.Group) != o.Group) {
		errs = append(errs, cfgerr.Field("group", "%q: a group name must not contain braces or surrounding spaces", o.Group))
	}
	for _, d := range []struct {
		name string
		v    time.Duration
		min  time.Duration
	}{{"group-claim-idle", o.GroupClaimIdle, time.Millisecond}, {"group-lease-ttl", o.GroupLeaseTTL, 3 * time.Millisecond}} {
		if d.v < 0 || (d.v > 0 && d.v < d.min) {
			errs = append(errs, cfgerr.Field(d.name, "%s: must be at least %s (or 0 for the default)", d.v, d.min))
		}
	}
	return errs
}

// newMember connects to the group's Redis (redisURL) and builds the
// replica processing jobs with sys; nil, nil without Options.Group.
func newMember(o Options, redisURL string, sys *system.System) (*member, error) {
	if o.Group == "" {
		return nil, nil
	}
	workers := groupWorkers(o.Config.Knobs)
	ropts, err := redis.ParseURL(redisURL)
	if err != nil {
		return nil, &cfgerr.Error{Field: "redis-url", Err: err}
	}
	// Every worker blocks in its own XREADGROUP; the lease, claim and
	// heartbeat loops and Wait need a few more connections.
	ropts.PoolSize = max(ropts.PoolSize, workers+8)
	rdb := redis.NewClient(ropts)
	log := o.Logger.With("group", o.Group)
	r, err := group.New(rdb, group.Options{
		Name:      o.Group,
		ClaimIdle: o.GroupClaimIdle,
		LeaseTTL:  o.GroupLeaseTTL,
		Workers:   workers,
		OnError:   func(err error) { log.Warn("group", "err", err) },
	}, sys.GroupHandler())
	if err != nil {
		_ = rdb.Close()
		return nil, err
	}
	log.Info("group replica", "consumer", r.Consumer(), "workers", r.Options().Workers)
	return &member{r: r, rdb: rdb, log: log}, nil
}

// MaxGroupWorkers bounds how many jobs a replica processes at once: each
// job worker holds a Redis connection blocked in XREADGROUP.
const MaxGroupWorkers = 64

// groupWorkers is how many jobs a replica processes at once: one with
// sequential fan-out, else Knobs.Workers up to MaxGroupWorkers.
func groupWorkers(k system.Knobs) int {
	if k.FanOut == system.FanOutSequential {
		return 1
	}
	return min(max(1, k.Workers), MaxGroupWorkers)
}

// apiHandler is sys's API, with POST /api/v1/cycles running group cycles
// when m is a replica.
func (m *member) apiHandler(sys *system.System) http.Handler {
	if m == nil {
		return sys.APIHandler()
	}
	mux := http.NewServeMux()
	mux.Handle("POST /api/v1/cycles", sys.GroupCycleHandler(m.r))
	mux.Handle("/", sys.APIHandler())
	return mux
}

// start runs the replica in a goroutine until stop; ctx only carries
// values (stop cancels the replica).
func (m *member) start(ctx context.Context) {
	if m == nil {
		return
	}
	ctx, m.cancel = context.WithCancel(context.WithoutCancel(ctx))
	m.done = make(chan error, 1)
	go func() { m.done <- m.r.Run(ctx) }()
}

// stop stops the replica (jobs it is processing stay pending for another
// replica to take over), waits for Run and closes the Redis client. Calls
// after the first do nothing.
func (m *member) stop() error {
	if m == nil {
		return nil
	}
	if m.stopped {
		return nil
	}
	m.stopped = true
	var err error
	if m.cancel != nil {
		m.cancel()
		err = <-m.done
	}
	return errors.Join(err, m.rdb.Close())
}

// runCycles is sys.Run for a replica: every Config.Interval the
// coordinator runs a group cycle; the other replicas only process jobs.
// It returns nil once stop is closed or ctx ends; closing stop lets a
// running cycle finish.
func (m *member) runCycles(ctx context.Context, stop <-chan struct{}, sys *system.System) error {
	if m == nil {
		return sys.Run(ctx, stop)
	}
	interval := sys.Config().Interval
	if interval <= 0 {
		return nil
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if m.r.IsCoordinator() {
			sum, err := sys.GroupCycle(ctx, m.r)
			switch {
			case err != nil && ctx.Err() == nil && !errors.Is(err, group.ErrNotCoordinator):
				m.log.Warn("group cycle failed", "err", err)
			case err == nil:
				m.log.Debug("group cycle", "cycle", sum.Group, "processed", sum.Processed,
					"reclaimed", sum.Reclaimed, "duplicates", sum.Duplicates, "took", sum.Duration)
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-stop:
			return nil
		case <-t.C:
		}
	}
}
