package system

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/camload/camload/system/resilience"
	"github.com/camload/camload/system/store"
)

// ErrNotReady is returned by RunCycle before LoadRegistry succeeded.
var ErrNotReady = errors.New("system: registry not loaded")

// camState is what dedupe remembers of a camera's last stored frame.
type camState struct {
	etag string
	hash string
}

// visit is the outcome of one camera in one cycle.
type visit struct {
	kind     string // error kind, "" when fine
	retries  int
	skipped  bool
	obs      *store.Observation
	etag     string
	latency  time.Duration
	stored   bool
	storedAt time.Time
	start    time.Time     // when the visit began (fetch start)
	e2e      time.Duration // start → stored and cached, when stored
	// outcome is the verdict for the camera's breaker.
	outcome resilience.Outcome
	// notFetched is why no request was sent (resilient), or "".
	notFetched string
	abandoned  bool // still in flight at the cycle deadline
	// timedOut is the fetch when it exceeded its deadline (kind timeout).
	timedOut *TimedOut
	// capturedAt is when the camera says it captured the frame it
	// answered (its X-Camload-Captured-At or Last-Modified header), zero
	// when it did not say or answered no frame.
	capturedAt time.Time
}

// LatestKey is the cache key of a camera's latest observation.
func LatestKey(id string) string { return "latest:" + id }

// RunCycle visits every camera once (fetch → analyze → store) and returns the
// cycle's summary. A failing camera never fails the cycle: its error is
// counted by kind. Cycles run one at a time: a call while another cycle runs
// waits for it to finish and then runs the next cycle. It fails only when ctx
// ends (the summary then holds what was done) or before LoadRegistry.
func (s *System) RunCycle(ctx context.Context) (CycleSummary, error) {
	return s.runCycle(ctx, false)
}

// RunCycleDrained is RunCycle that, after the cycle's deadline, also waits
// (within ctx) until no camera abandoned by this or an earlier cycle is in
// flight any more, so that the summary's Late fields hold every outcome
// and its InFlight is 0: the runner calls it at the ends of a measured
// window, for an exact reconciliation with the fleet's faults. Duration
// is still the cycle's own. Without a cycle deadline it is RunCycle.
func (s *System) RunCycleDrained(ctx context.Context) (CycleSummary, error) {
	return s.runCycle(ctx, true)
}

func (s *System) runCycle(ctx context.Context, drain bool) (CycleSummary, error) {
	s.cycleMu.Lock()
	defer s.cycleMu.Unlock()
	s.regMu.RLock()
	cams, states, hosts, fresh := s.cams, s.states, s.hostKeys, s.fresh
	s.regMu.RUnlock()
	if cams == nil {
		return CycleSummary{}, ErrNotReady
	}
	n := s.cycleN.Add(1)
	resetPeakRSS() // the peak-RSS gauge now covers this cycle
	started := s.now()
	t0 := time.Now()
	s.running.Store(started.UnixNano())
	defer s.running.Store(0)
	visits := make([]visit, len(cams))
	var cyc cycleExtra
	if s.res != nil && s.res.tracker != nil {
		cyc = s.runTracked(ctx, n, cams, states, hosts, visits, drain)
	} else {
		s.runAll(ctx, n, cams, states, hosts, fresh, visits)
	}
	sum := CycleSummary{
		Cycle:     n,
		Mode:      s.cfg.Mode,
		Started:   started,
		Duration:  cyc.duration,
		Cameras:   len(cams),
		Errors:    map[string]int{},
		Latencies: make([]time.Duration, 0, len(cams)),
	}
	if cyc.duration == 0 {
		sum.Duration = time.Since(t0)
	}
	for i := range visits {
		v := &visits[i]
		switch {
		case v.notFetched != "":
			if sum.NotFetched == nil {
				sum.NotFetched = map[string]int{}
			}
			sum.NotFetched[v.notFetched]++
			s.m.notFetched.WithLabelValues(v.notFetched).Inc()
			continue
		case v.abandoned:
			sum.Abandoned++
			continue
		case v.kind == "canceled":
			continue
		case v.kind != "":
			sum.Errors[v.kind]++
			s.m.errors.WithLabelValues(v.kind).Inc()
			if v.timedOut != nil {
				sum.Timeouts = append(sum.Timeouts, *v.timedOut)
			}
		case v.skipped:
			sum.Skipped++
			fresh[i].mark(n, s.observedAt(v.start), v.capturedAt)
		case v.stored:
			sum.Processed++
			fresh[i].mark(n, s.observedAt(v.start), v.capturedAt)
			if !v.obs.CapturedAt.IsZero() {
				sum.Freshness = append(sum.Freshness, max(0, v.storedAt.Sub(v.obs.CapturedAt)))
			}
			sum.FrameLatencies = append(sum.FrameLatencies, v.e2e)
		}
		sum.Latencies = append(sum.Latencies, v.latency)
		sum.Retries += v.retries
	}
	if s.res != nil {
		s.res.takeLate(&sum)
	}
	s.m.cycle.Observe(sum.Duration.Seconds())
	s.m.processed.Add(float64(sum.Processed))
	s.m.skipped.Add(float64(sum.Skipped))
	s.m.retries.Add(float64(sum.Retries))
	s.last.Store(&sum)
	if err := ctx.Err(); err != nil {
		return sum, fmt.Errorf("cycle %d: %w", n, err)
	}
	return sum, nil
}

// cycleExtra is what the tracked cycle reports beside its visits.
type cycleExtra struct {
	duration time.Duration // 0: measured by the caller
}

// runAll runs every camera of the cycle through Knobs.FanOut and waits for
// them all.
func (s *System) runAll(ctx context.Context, n int64, cams []store.Camera, states []camState, hosts []string, fresh []camFresh, visits []visit) {
	flusher := s.newFlusher(n, cams, states, visits)
	if flusher != nil {
		flusher.fresh = fresh
	}
	do := func(i int) {
		if ctx.Err() != nil {
			visits[i].kind = "canceled"
			flusher.done(ctx, i)
			return
		}
		var tk resilience.Ticket
		if s.res != nil && s.res.breakers != nil {
			var ok bool
			if tk, ok = s.res.breakers.Allow(cams[i].ID); !ok {
				visits[i].notFetched = SkipBreakerOpen
				flusher.done(ctx, i)
				return
			}
		}
		v := &visits[i]
		s.visit(ctx, n, &cams[i], &states[i], hosts[i], v, flusher == nil)
		if s.res != nil && s.res.breakers != nil {
			s.res.breakers.Report(tk, v.outcome)
		}
		// The camera is fresh as soon as it answered usefully (its new
		// frame stored), not only once the whole cycle is over: the
		// flusher marks the frames it stores.
		if v.kind == "" && (v.skipped || v.stored) {
			fresh[i].mark(n, s.observedAt(v.start), v.capturedAt)
		}
		flusher.done(ctx, i)
	}
	k := s.cfg.Knobs
	switch k.FanOut {
	case FanOutSequential:
		for i := range cams {
			do(i)
		}
	case FanOutUnbounded:
		var wg sync.WaitGroup
		for i := range cams {
			wg.Add(1)
			go func() {
				defer wg.Done()
				do(i)
			}()
		}
		wg.Wait()
	case FanOutPool, FanOutBatches:
		// batches: the pool takes cameras batch by batch in order; a
		// batch is written as soon as its last camera is done, while
		// the workers already fetch the next one (no barrier).
		workers := min(k.Workers, len(cams))
		next := make(chan int)
		var wg sync.WaitGroup
		for range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range next {
					do(i)
				}
			}()
		}
		for i := range cams {
			next <- i
		}
		close(next)
		wg.Wait()
	}
}

// LastCycle returns the summary of the last finished cycle, if any.
func (s *System) LastCycle() (CycleSummary, bool) {
	p := s.last.Load()
	if p == nil {
		return CycleSummary{}, false
	}
	return *p, true
}

// Run runs cycles continuously, one every Config.Interval (a cycle that
// takes longer is followed at once by the next), until stop is closed or ctx
// ends, and then returns nil. Closing stop lets a running cycle finish (a
// graceful stop); ending ctx cancels it. With Interval 0 it returns at once.
// Cycles started by POST /api/v1/cycles meanwhile take turns with these.
func (s *System) Run(ctx context.Context, stop <-chan struct{}) error {
	if s.cfg.Interval <= 0 {
		return nil
	}
	t := time.NewTicker(s.cfg.Interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-stop:
			return nil
		default:
		}
		if _, err := s.RunCycle(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("cycle failed", "err", err)
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

// visit processes camera c: fetch, dedupe, analyze and, when storeNow, store
// the observation and the latest state. Without storeNow, the observation is
// left in v for the batch flush.
func (s *System) visit(ctx context.Context, cycle int64, c *store.Camera, st *camState, host string, v *visit, storeNow bool) {
	k := s.cfg.Knobs
	t0 := time.Now()
	v.start = t0
	defer func() { v.latency += time.Since(t0) }()
	etag := ""
	if k.Dedupe {
		etag = st.etag
	}
	timeout := k.FetchTimeout
	var release func(resilience.Outcome)
	if rs := s.res; rs != nil {
		if rs.hosts != nil {
			var err error
			if release, err = rs.hosts.Acquire(ctx, host); err != nil {
				v.kind = "canceled"
				return
			}
		}
		if rs.deadlines != nil {
			timeout = rs.deadlines.Deadline(c.ID)
		}
	}
	tf := time.Now()
	r, err := s.fetch(ctx, c.SnapshotURL, etag, timeout)
	took := time.Since(tf)
	s.m.fetch.Observe(took.Seconds())
	v.retries = r.retries
	switch {
	case err == nil:
		v.outcome = resilience.Success
	case ctx.Err() != nil:
		v.outcome = resilience.Abandoned
	case isOverload(err):
		v.outcome = resilience.Overload
	default:
		v.outcome = resilience.Failure
	}
	if release != nil {
		release(v.outcome)
	}
	if rs := s.res; rs != nil && rs.deadlines != nil {
		switch {
		case err == nil || (v.outcome == resilience.Failure && errorKind(err) != ErrTimeout):
			rs.deadlines.Observe(c.ID, took) // an answer, if a bad one
		case v.outcome == resilience.Failure:
			rs.deadlines.Expired(c.ID, timeout)
		}
	}
	if err != nil {
		v.kind = errorKind(err)
		if ctx.Err() != nil {
			v.kind = "canceled"
		}
		if v.kind == ErrTimeout {
			v.timedOut = &TimedOut{Camera: c.ID, Start: tf, Deadline: timeout}
		}
		s.log.Debug("camera error", "camera", c.ID, "kind", v.kind, "after", time.Since(t0), "err", err)
		return
	}
	if r.notModified {
		v.skipped = true
		return
	}
	defer putBuf(r.body)
	v.capturedAt = r.capturedAt
	frame := r.body.Bytes()
	var hash string
	if k.Dedupe {
		sum := sha256.Sum256(frame)
		hash = hex.EncodeToString(sum[:16])
		if hash == st.hash {
			v.skipped = true
			st.etag = r.etag
			return
		}
	}
	if s.analyzeSem != nil {
		select {
		case s.analyzeSem <- struct{}{}:
		case <-ctx.Done():
			v.kind = "canceled"
			return
		}
	}
	ta := time.Now()
	a, err := s.analyze(frame, k.AnalyzeCost)
	s.m.analyze.Observe(time.Since(ta).Seconds())
	if s.analyzeSem != nil {
		<-s.analyzeSem
	}
	if err != nil {
		v.kind, v.outcome = ErrBadImage, resilience.Failure
		return
	}
	if a.Placeholder {
		v.kind, v.outcome = ErrPlaceholder, resilience.Failure
		return
	}
	if hash == "" {
		sum := sha256.Sum256(frame)
		hash = hex.EncodeToString(sum[:16])
	}
	now := s.now()
	captured := r.capturedAt
	if captured.IsZero() {
		captured = now
	}
	v.obs = &store.Observation{
		CameraID:     c.ID,
		Cycle:        cycle,
		FrameHash:    hash,
		CapturedAt:   captured,
		ProcessedAt:  now,
		VehicleCount: a.Vehicles,
		Intensity:    a.Intensity,
		Congestion:   a.Congestion,
		District:     c.District,
	}
	v.etag = r.etag
	if !storeNow {
		return
	}
	s.storeVisit(ctx, c, st, v)
}

// storeVisit stores v's observation and caches it as c's latest state.
func (s *System) storeVisit(ctx context.Context, c *store.Camera, st *camState, v *visit) {
	ts := time.Now()
	err := s.store.InsertObservation(ctx, *v.obs)
	s.m.store.Observe(time.Since(ts).Seconds())
	if err != nil {
		s.log.Warn("storing observation", "camera", c.ID, "err", err)
		v.kind = ErrStore
		return
	}
	v.stored, v.storedAt = true, s.now()
	st.etag, st.hash = v.etag, v.obs.FrameHash
	if s.cache != nil {
		if b, err := json.Marshal(v.obs); err == nil {
			if err := s.cache.Set(ctx, LatestKey(c.ID), b); err != nil {
				s.log.Debug("caching latest", "camera", c.ID, "err", err)
			}
		}
	}
	v.e2e = time.Since(v.start)
}

// flusher writes the observations of each batch of BatchSize cameras (in
// camera order) with one bulk write and one pipelined cache update, as soon
// as the batch's last camera is done. It is nil without BulkWrites.
type flusher struct {
	s       *System
	cycle   int64
	cams    []store.Camera
	states  []camState
	visits  []visit
	size    int
	pending []atomic.Int32 // cameras not yet done, per batch
	fresh   []camFresh     // marked as frames are stored; nil: not marked here
}

func (s *System) newFlusher(cycle int64, cams []store.Camera, states []camState, visits []visit) *flusher {
	if !s.cfg.Knobs.BulkWrites {
		return nil
	}
	size := s.cfg.Knobs.BatchSize
	nb := (len(cams) + size - 1) / size
	f := &flusher{s: s, cycle: cycle, cams: cams, states: states, visits: visits, size: size, pending: make([]atomic.Int32, nb)}
	for b := range nb {
		f.pending[b].Store(int32(min(size, len(cams)-b*size)))
	}
	return f
}

// done marks camera i done; the goroutine finishing a batch flushes it.
func (f *flusher) done(ctx context.Context, i int) {
	if f == nil {
		return
	}
	b := i / f.size
	if f.pending[b].Add(-1) == 0 {
		f.flush(ctx, b*f.size, min((b+1)*f.size, len(f.cams)))
	}
}

func (f *flusher) flush(ctx context.Context, lo, hi int) {
	s := f.s
	var obs []store.Observation
	var idx []int
	for i := lo; i < hi; i++ {
		if v := &f.visits[i]; v.kind == "" && v.obs != nil {
			obs = append(obs, *v.obs)
			idx = append(idx, i)
		}
	}
	if len(obs) == 0 {
		return
	}
	ts := time.Now()
	err := s.store.InsertObservations(ctx, obs)
	d := time.Since(ts)
	s.m.store.Observe(d.Seconds())
	storedAt := s.now()
	for _, i := range idx {
		v := &f.visits[i]
		v.latency += d
		if err != nil {
			v.kind = ErrStore
			continue
		}
		v.stored, v.storedAt = true, storedAt
		f.states[i].etag, f.states[i].hash = v.etag, v.obs.FrameHash
	}
	if err != nil {
		s.log.Warn("storing observations", "batch", lo/f.size, "count", len(obs), "err", err)
		return
	}
	defer func() {
		if f.fresh != nil {
			for _, i := range idx {
				f.fresh[i].mark(f.cycle, s.observedAt(f.visits[i].start), f.visits[i].capturedAt)
			}
		}
	}()
	if s.cache == nil {
		for _, i := range idx {
			f.visits[i].e2e = time.Since(f.visits[i].start)
		}
		return
	}
	kv := make(map[string][]byte, len(obs))
	for i := range obs {
		if b, err := json.Marshal(&obs[i]); err == nil {
			kv[LatestKey(obs[i].CameraID)] = b
		}
	}
	if err := s.cache.SetMany(ctx, kv); err != nil {
		s.log.Debug("caching latest states", "count", len(kv), "err", err)
	}
	for _, i := range idx {
		f.visits[i].e2e = time.Since(f.visits[i].start)
	}
}
