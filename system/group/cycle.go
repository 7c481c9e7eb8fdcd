package group

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// enqueueChunk is how many XADDs one pipeline of Enqueue sends.
const enqueueChunk = 512

// waitPoll bounds one wait for a cycle's completion signal (BLPOP), so
// that Wait notices ctx within that time.
const waitPoll = 250 * time.Millisecond

// Summary is the state of one cycle, as the replicas recorded it in Redis.
type Summary struct {
	Cycle string
	// Jobs is how many jobs were enqueued for the cycle.
	Jobs int
	// Acked is how many of them were acknowledged; the cycle is complete
	// when Acked == Jobs.
	Acked int
	// Processed counts, per consumer, the cameras whose Handler succeeded
	// first in this cycle; each camera is counted once in all.
	Processed map[string]int
	// Reclaimed counts the acknowledged jobs that had been taken over from
	// another consumer with XAUTOCLAIM.
	Reclaimed int
	// Duplicates counts deliveries of a camera already done in the cycle:
	// skipped without running the Handler, or (rarely) run twice because
	// a replica died between its Handler and its acknowledgement.
	Duplicates int
	// Failures counts the jobs whose Handler returned an error.
	Failures int
	// Errors holds the error text of the first MaxErrors failed cameras,
	// by camera.
	Errors map[string]string
	// Started is when Enqueue began the cycle (the coordinator's clock).
	Started time.Time
}

// Complete reports whether every job of the cycle is acknowledged.
func (s Summary) Complete() bool { return s.Acked >= s.Jobs }

// ProcessedTotal is the number of cameras processed in the cycle, over all
// replicas.
func (s Summary) ProcessedTotal() int {
	n := 0
	for _, v := range s.Processed {
		n += v
	}
	return n
}

// Consumers returns the consumer names of Processed, sorted.
func (s Summary) Consumers() []string {
	names := make([]string, 0, len(s.Processed))
	for c := range maps.Keys(s.Processed) {
		names = append(names, c)
	}
	sort.Strings(names)
	return names
}

// Enqueue starts a new cycle: it allocates a cycle ID (unique in the group,
// across coordinators) and puts one job per camera on the stream, in
// pipelined batches. Only the coordinator may enqueue (ErrNotCoordinator).
// On error the cycle holds only the jobs enqueued before it, and its
// expected job count is lowered to match when Redis can still be reached.
// Enqueue trims the stream of completed jobs first.
func (r *Replica) Enqueue(ctx context.Context, cameras []string) (string, error) {
	if !r.IsCoordinator() {
		return "", ErrNotCoordinator
	}
	for i, c := range cameras {
		if c == "" {
			return "", fmt.Errorf("group: camera %d of %d has an empty ID", i+1, len(cameras))
		}
	}
	if _, err := r.Trim(ctx); err != nil {
		return "", err
	}
	n, err := r.rdb.Incr(ctx, r.keys.cycles()).Result()
	if err != nil {
		return "", fmt.Errorf("group: allocating a cycle ID: %w", err)
	}
	id := strconv.FormatInt(n, 10)
	hash := r.keys.cycle(id)
	ttl := r.opts.Retention
	added := 0
	for start := 0; start == 0 || start < len(cameras); start += enqueueChunk {
		end := min(start+enqueueChunk, len(cameras))
		_, err = r.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			if start == 0 {
				// Commands of one connection run in order: the count is
				// in place before any job can be acknowledged.
				p.HSet(ctx, hash, "jobs", len(cameras), "started", time.Now().UnixMilli())
				p.PExpire(ctx, hash, ttl)
			}
			for _, c := range cameras[start:end] {
				p.XAdd(ctx, &redis.XAddArgs{Stream: r.keys.stream, Values: []string{"cycle", id, "camera", c}})
			}
			return nil
		})
		if err != nil {
			break
		}
		added = end
	}
	if err != nil {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), commitTimeout)
		defer cancel()
		_ = r.rdb.HIncrBy(cctx, hash, "jobs", int64(added-len(cameras))).Err()
		return id, fmt.Errorf("group: enqueueing cycle %s (%d of %d jobs enqueued): %w", id, added, len(cameras), err)
	}
	return id, nil
}

// Summary returns the state of cycle now, from any replica.
func (r *Replica) Summary(ctx context.Context, cycle string) (Summary, error) {
	h, err := r.rdb.HGetAll(ctx, r.keys.cycle(cycle)).Result()
	if err != nil {
		return Summary{Cycle: cycle}, fmt.Errorf("group: reading cycle %s: %w", cycle, err)
	}
	return parseSummary(cycle, h)
}

// Latest returns the ID of the last cycle enqueued in the group, or ""
// when there is none.
func (r *Replica) Latest(ctx context.Context) (string, error) {
	v, err := r.rdb.Get(ctx, r.keys.cycles()).Result()
	if errors.Is(err, redis.Nil) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("group: reading the last cycle: %w", err)
	}
	return v, nil
}

func parseSummary(cycle string, h map[string]string) (Summary, error) {
	s := Summary{Cycle: cycle, Processed: map[string]int{}, Errors: map[string]string{}}
	if _, ok := h["jobs"]; !ok {
		return s, fmt.Errorf("%w %s", ErrUnknownCycle, cycle)
	}
	num := func(f string) (int, error) {
		v, ok := h[f]
		if !ok || v == "" {
			return 0, nil
		}
		n, err := strconv.Atoi(v)
		if err != nil {
			return 0, fmt.Errorf("group: cycle %s: field %s: %w", cycle, f, err)
		}
		return n, nil
	}
	var errs []error
	for f, dst := range map[string]*int{
		"jobs": &s.Jobs, "acked": &s.Acked, "reclaimed": &s.Reclaimed,
		"duplicates": &s.Duplicates, "failed": &s.Failures,
	} {
		n, err := num(f)
		errs = append(errs, err)
		*dst = n
	}
	for f, v := range h {
		switch {
		case strings.HasPrefix(f, "processed:"):
			n, err := num(f)
			errs = append(errs, err)
			s.Processed[strings.TrimPrefix(f, "processed:")] = n
		case strings.HasPrefix(f, "error:"):
			s.Errors[strings.TrimPrefix(f, "error:")] = v
		}
	}
	if ms, err := num("started"); err == nil && ms > 0 {
		s.Started = time.UnixMilli(int64(ms))
	}
	return s, errors.Join(errs...)
}

// Wait blocks until every job of cycle is acknowledged, or ctx is done,
// and returns the cycle's summary (the last one read, with ctx.Err(), when
// ctx ends first). It notices completion at once (the last
// acknowledgement pushes a signal) and ctx within waitPoll. It trims the
// stream of the completed jobs.
func (r *Replica) Wait(ctx context.Context, cycle string) (Summary, error) {
	for {
		s, err := r.Summary(ctx, cycle)
		if err != nil {
			return s, err
		}
		if s.Complete() {
			if _, err := r.Trim(ctx); err != nil {
				return s, err
			}
			return s, nil
		}
		d := waitPoll
		if dl, ok := ctx.Deadline(); ok {
			d = min(d, time.Until(dl))
		}
		if d <= 0 {
			<-ctx.Done() // the deadline passed; Done closes at once
			return s, ctx.Err()
		}
		// BLPOP with a fractional timeout in seconds (Redis ≥ 6).
		err = r.rdb.Do(ctx, "BLPOP", r.keys.signal(cycle), strconv.FormatFloat(max(d.Seconds(), 0.001), 'f', 3, 64)).Err()
		if err != nil && !errors.Is(err, redis.Nil) {
			if ctx.Err() != nil {
				return s, ctx.Err()
			}
			return s, fmt.Errorf("group: waiting for cycle %s: %w", cycle, err)
		}
		if ctx.Err() != nil {
			return s, ctx.Err()
		}
	}
}

// Trim deletes the stream entries that every consumer group has been
// delivered and acknowledged (XTRIM MINID), so that the stream holds only
// jobs still to do; it returns how many it deleted. Safe to call from any
// replica at any time: entries below the lowest pending job and the last
// delivered one cannot be pending or undelivered.
func (r *Replica) Trim(ctx context.Context) (int64, error) {
	groups, err := r.rdb.XInfoGroups(ctx, r.keys.stream).Result()
	if err != nil {
		if strings.Contains(err.Error(), "no such key") {
			return 0, nil
		}
		return 0, fmt.Errorf("group: trimming %s: %w", r.keys.stream, err)
	}
	bound := ""
	for _, g := range groups {
		b := nextID(g.LastDeliveredID)
		if g.Pending > 0 {
			p, err := r.rdb.XPending(ctx, r.keys.stream, g.Name).Result()
			if err != nil {
				return 0, fmt.Errorf("group: trimming %s: %w", r.keys.stream, err)
			}
			if p.Count > 0 && lessID(p.Lower, b) {
				b = p.Lower
			}
		}
		if bound == "" || lessID(b, bound) {
			bound = b
		}
	}
	if bound == "" {
		return 0, nil
	}
	n, err := r.rdb.XTrimMinID(ctx, r.keys.stream, bound).Result()
	if err != nil {
		return 0, fmt.Errorf("group: trimming %s below %s: %w", r.keys.stream, bound, err)
	}
	return n, nil
}

// parseID splits a stream entry ID "ms-seq".
func parseID(id string) (ms, seq uint64) {
	a, b, _ := strings.Cut(id, "-")
	ms, _ = strconv.ParseUint(a, 10, 64)
	seq, _ = strconv.ParseUint(b, 10, 64)
	return ms, seq
}

func lessID(a, b string) bool {
	am, as := parseID(a)
	bm, bs := parseID(b)
	return am < bm || am == bm && as < bs
}

// nextID is the smallest entry ID after id.
func nextID(id string) string {
	ms, seq := parseID(id)
	return strconv.FormatUint(ms, 10) + "-" + strconv.FormatUint(seq+1, 10)
}
