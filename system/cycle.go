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
}

// LatestKey is the cache key of a camera's latest observation.
func LatestKey(id string) string { return "latest:" + id }

// RunCycle visits every camera once (fetch → analyze → store) and returns the
// cycle's summary. A failing camera never fails the cycle: its error is
// counted by kind. Cycles run one at a time: a call while another cycle runs
// waits for it to finish and then runs the next cycle. It fails only when ctx
// ends (the summary then holds what was done) or before LoadRegistry.
func (s *System) RunCycle(ctx context.Context) (CycleSummary, error) {
	s.cycleMu.Lock()
	defer s.cycleMu.Unlock()
	s.regMu.RLock()
	cams, states := s.cams, s.states
	s.regMu.RUnlock()
	if cams == nil {
		return CycleSummary{}, ErrNotReady
	}
	n := s.cycleN.Add(1)
	resetPeakRSS() // the peak-RSS gauge now covers this cycle
	started := s.now()
	t0 := time.Now()
	visits := make([]visit, len(cams))
	flusher := s.newFlusher(n, cams, states, visits)
	do := func(i int) {
		if ctx.Err() != nil {
			visits[i].kind = "canceled"
			flusher.done(ctx, i)
			return
		}
		s.visit(ctx, n, &cams[i], &states[i], &visits[i], flusher == nil)
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
	sum := CycleSummary{
		Cycle:     n,
		Mode:      s.cfg.Mode,
		Started:   started,
		Duration:  time.Since(t0),
		Cameras:   len(cams),
		Errors:    map[string]int{},
		Latencies: make([]time.Duration, 0, len(cams)),
	}
	for i := range visits {
		v := &visits[i]
		switch {
		case v.kind == "canceled":
			continue
		case v.kind != "":
			sum.Errors[v.kind]++
			s.m.errors.WithLabelValues(v.kind).Inc()
		case v.skipped:
			sum.Skipped++
		case v.stored:
			sum.Processed++
			if !v.obs.CapturedAt.IsZero() {
				sum.Freshness = append(sum.Freshness, max(0, v.storedAt.Sub(v.obs.CapturedAt)))
			}
		}
		sum.Latencies = append(sum.Latencies, v.latency)
		sum.Retries += v.retries
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
func (s *System) visit(ctx context.Context, cycle int64, c *store.Camera, st *camState, v *visit, storeNow bool) {
	k := s.cfg.Knobs
	t0 := time.Now()
	defer func() { v.latency += time.Since(t0) }()
	etag := ""
	if k.Dedupe {
		etag = st.etag
	}
	r, err := s.fetch(ctx, c.SnapshotURL, etag)
	s.m.fetch.Observe(time.Since(t0).Seconds())
	v.retries = r.retries
	if err != nil {
		v.kind = errorKind(err)
		if ctx.Err() != nil {
			v.kind = "canceled"
		}
		s.log.Debug("camera error", "camera", c.ID, "kind", v.kind, "after", time.Since(t0), "err", err)
		return
	}
	if r.notModified {
		v.skipped = true
		return
	}
	defer putBuf(r.body)
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
		v.kind = ErrBadImage
		return
	}
	if a.Placeholder {
		v.kind = ErrPlaceholder
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
	ts := time.Now()
	err = s.store.InsertObservation(ctx, *v.obs)
	s.m.store.Observe(time.Since(ts).Seconds())
	if err != nil {
		s.log.Warn("storing observation", "camera", c.ID, "err", err)
		v.kind = ErrStore
		return
	}
	v.stored, v.storedAt = true, s.now()
	st.etag, st.hash = v.etag, hash
	if s.cache != nil {
		if b, err := json.Marshal(v.obs); err == nil {
			if err := s.cache.Set(ctx, LatestKey(c.ID), b); err != nil {
				s.log.Debug("caching latest", "camera", c.ID, "err", err)
			}
		}
	}
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
	if s.cache == nil {
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
}
