package system

import (
	"context"
	"encoding/json"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/camload/camload/system/resilience"
	"github.com/camload/camload/system/store"
)

// resilient holds the mechanisms of system/resilience the knobs turn on;
// each is nil when off.
type resilient struct {
	s         *System
	deadlines *resilience.Deadlines
	breakers  *resilience.Breakers
	hosts     *resilience.HostLimits
	tracker   *resilience.Tracker[int, *trackedVisit]
	// workers bounds the fetches in flight of the tracked cycle
	// (Knobs.Workers), abandoned ones included: the cycle takes a slot
	// before it starts a camera's goroutine, which gives it back when done.
	workers chan struct{}
	// next is the index of the camera the last cycle stopped admitting at
	// (its cut-off came first), where the next cycle begins; only the
	// running cycle uses it.
	next int

	// tail learns how long a cycle runs past its cut-off (the on-time
	// frames' last write, results landing meanwhile), so that the next
	// cut-off leaves that much of the budget: the cycle ends at its budget.
	tail tailReserve

	lateMu sync.Mutex
	late   lateCounts // since the last summary
	// lateBuf holds, with BulkWrites, late new frames waiting to be
	// written in bulk; the OnLate call that finds no late write running
	// becomes the writer and writes batches until lateBuf is empty (late
	// frames landing meanwhile join the next batch), lateWriting is set
	// while it does. lateQueued marks the cameras of lateBuf and of the
	// batch being written: no cycle starts them until they are written,
	// so a camera's newer frame is never written before its older one.
	lateBuf     []*trackedVisit
	lateQueued  map[int]bool
	lateWriting bool
	lateIdle    *sync.Cond // on lateMu: lateWriting became false
}

// trackedVisit is one camera's visit in a tracked cycle, handed from its
// fetch goroutine to the cycle (on time) or to onLate (late).
type trackedVisit struct {
	idx   int // the camera's index
	v     visit
	cam   *store.Camera
	state *camState
	fresh *camFresh
}

// lateCounts are the late results since the last summary.
type lateCounts struct {
	n, processed, skipped, retries int
	errors                         map[string]int
	timeouts                       []TimedOut
}

// newResilient builds the mechanisms s's knobs turn on, or returns nil
// when none is.
func newResilient(s *System) (*resilient, error) {
	k := s.cfg.Knobs
	if !k.resilient() {
		return nil, nil
	}
	r := &resilient{s: s}
	r.lateIdle = sync.NewCond(&r.lateMu)
	var err error
	if k.AdaptiveDeadline {
		r.deadlines, err = resilience.NewDeadlines(resilience.DeadlineOptions{
			Initial: k.FetchTimeout, K: k.DeadlineK, Floor: k.DeadlineFloor, Cap: k.DeadlineCap,
			Window: k.DeadlineWindow, MinSamples: min(resilience.DefaultDeadlineMinSamples, k.DeadlineWindow)})
		if err != nil {
			return nil, err
		}
	}
	if k.BreakerFailures > 0 {
		r.breakers, err = resilience.NewBreakers(resilience.BreakerOptions{
			Failures: k.BreakerFailures, Base: k.BreakerBackoff, Max: k.BreakerMax, Now: s.now})
		if err != nil {
			return nil, err
		}
	}
	if k.HostLimitInitial > 0 {
		r.hosts, err = resilience.NewHostLimits(resilience.HostLimitOptions{Initial: k.HostLimitInitial, Max: k.HostLimitMax})
		if err != nil {
			return nil, err
		}
	}
	if k.CycleDeadline > 0 {
		r.tracker = resilience.NewTracker(resilience.TrackerOptions[int, *trackedVisit]{OnLate: r.onLate})
		r.workers = make(chan struct{}, k.Workers)
	}
	src := resilience.Sources{Breakers: r.breakers, HostLimits: r.hosts}
	if r.tracker != nil {
		src.Tracker = r.tracker.Stats
	}
	if s.reg != nil {
		if err := s.reg.Register(resilience.NewCollector(src)); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// hostKey is the limiter key of a snapshot URL (its host:port); the
// registry validated the URL, so the error case keeps the URL itself.
func hostKey(snapshotURL string) string {
	k, err := resilience.HostKey(snapshotURL)
	if err != nil {
		return snapshotURL
	}
	return k
}

// runTracked runs a cycle under Knobs.CycleDeadline: every camera whose
// breaker allows it and that is not still in flight from an earlier cycle
// is fetched by a goroutine of the system's own (bg, under runCtx, not
// ctx), at most Workers at once: the cycle admits a camera only once a
// worker is free for it, in turn from where the last cycle stopped, and
// at its cut-off (or ctx) stops admitting (the cameras it did not reach
// are not fetched, SkipNoWorker) and cuts off the cameras in flight,
// whose results are stored late by onLate. With BulkWrites the on-time new frames are written in
// batches of BatchSize as they land, and the last partial batch after the
// cut-off. The cut-off is the deadline less the tail the last cycles ran
// past their cut-off (tailReserve), so that the cycle, writes included,
// ends at its budget. It returns when the visits are filled in, with the
// cycle's duration (a drain's wait is not part of it).
func (s *System) runTracked(ctx context.Context, n int64, cams []store.Camera, states []camState, hosts []string, visits []visit, drain bool) cycleExtra {
	r := s.res
	k := s.cfg.Knobs
	t0 := time.Now()
	budget, cancel := context.WithDeadline(ctx, t0.Add(k.CycleDeadline-r.tail.reserve(k.CycleDeadline)))
	defer cancel()
	s.regMu.RLock()
	fresh := s.fresh
	s.regMu.RUnlock()
	c := r.tracker.Begin(n)
	bulk := k.BulkWrites
	var w *cycleWriter
	if bulk {
		w = newCycleWriter(s)
	}
	now := s.now()
	// The cycle admits cameras as workers free up, in turn from where the
	// last cycle's admissions stopped: a camera gets a goroutine only with
	// a worker, so the goroutines in flight are at most Workers whatever
	// the number of cameras. At the cut-off it stops admitting; the
	// cameras it did not reach are not fetched (SkipNoWorker) and come
	// first in the next cycle.
	var inFlight map[int]int64 // after the cut-off: the cameras still in flight
	start := 0
	if len(cams) > 0 {
		start = r.next % len(cams)
	}
	stopped := false
	for j := range cams {
		i := (start + j) % len(cams)
		if bulk && r.isQueued(i) { // its late frame is being written
			visits[i].notFetched = SkipStillInFlight
			continue
		}
		if k.RefreshAware && fresh[i].notDue(now) {
			visits[i].notFetched = SkipNotDue
			continue
		}
		if !stopped {
			select {
			case r.workers <- struct{}{}:
			case <-budget.Done():
				stopped = true
			case <-s.runCtx.Done():
				stopped = true
			}
			if stopped {
				r.next = i
				inFlight = r.tracker.InFlight()
			}
		}
		if stopped {
			visits[i].notFetched = r.unreached(cams[i].ID, i, inFlight)
			continue
		}
		var tk resilience.Ticket
		if r.breakers != nil {
			var ok bool
			if tk, ok = r.breakers.Allow(cams[i].ID); !ok {
				<-r.workers
				visits[i].notFetched = SkipBreakerOpen
				continue
			}
		}
		if st := c.Start(i); st != resilience.Started {
			<-r.workers
			if r.breakers != nil {
				r.breakers.Report(tk, resilience.Abandoned)
			}
			visits[i].notFetched = SkipStillInFlight
			continue
		}
		tv := &trackedVisit{idx: i, cam: &cams[i], state: &states[i], fresh: &fresh[i]}
		s.bg.Add(1)
		go func() { // owner: s.bg (Close waits); stops with s.runCtx; holds a worker
			defer s.bg.Done()
			s.visit(s.runCtx, n, tv.cam, tv.state, hosts[i], &tv.v, !bulk)
			<-r.workers
			if r.breakers != nil {
				r.breakers.Report(tk, tv.v.outcome)
			}
			if c.Done(i, tv) {
				if v := &tv.v; v.kind == "" && (v.skipped || v.stored) {
					tv.fresh.mark(n, s.observedAt(v.start), v.capturedAt) // fresh as it lands
				}
				if w != nil {
					w.add(tv) // on time: nothing blocks between Done and add
				}
			}
		}()
	}
	c.Close()
	co := c.Wait(budget)
	cut := time.Now()
	if w != nil {
		w.finish(len(co.Results))
	}
	for i, tv := range co.Results {
		visits[i] = tv.v
	}
	for _, a := range co.Abandoned {
		visits[a.ID].abandoned = true
	}
	ex := cycleExtra{duration: time.Since(t0)}
	r.tail.observe(time.Since(cut))
	if drain {
		if err := r.tracker.WaitIdle(ctx); err != nil {
			s.log.Warn("draining the cameras in flight", "cycle", n, "err", err)
		}
		r.flushLate()
	}
	return ex
}

// unreached is why camera i (id), which the cycle did not reach before
// its cut-off, is not fetched: its breaker is open, it is still in flight
// from an earlier cycle (inFlight, taken at the cut-off), or no worker
// was free for it (SkipNoWorker).
func (r *resilient) unreached(id string, i int, inFlight map[int]int64) string {
	if _, ok := inFlight[i]; ok {
		return SkipStillInFlight
	}
	if r.breakers != nil {
		if st := r.breakers.Status(id); st.State == resilience.Open && r.s.now().Before(st.Until) {
			return SkipBreakerOpen
		}
	}
	return SkipNoWorker
}

// tailReserve learns how long cycles run past their cut-off: the largest
// tail of the last tailWindow cycles, at most a quarter of the budget (the
// fetches keep at least three quarters of it, and a few cycles forget an
// unusual tail, e.g. a first cycle's thousand new frames). Cycles run one
// at a time, but the mutex keeps it safe to read from anywhere.
type tailReserve struct {
	mu   sync.Mutex
	ring [tailWindow]time.Duration
	next int
}

// tailWindow is how many cycles' tails the reserve remembers.
const tailWindow = 4

func (t *tailReserve) observe(d time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.ring[t.next] = d
	t.next = (t.next + 1) % tailWindow
}

// reserve returns how much of budget to leave after the cut-off.
func (t *tailReserve) reserve(budget time.Duration) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	var m time.Duration
	for _, d := range t.ring {
		m = max(m, d)
	}
	return min(m, budget/4)
}

// cycleWriter writes a tracked cycle's on-time new frames in bulk as they
// land: the result that fills a batch of BatchSize writes it; finish
// writes the rest once every on-time result is in.
type cycleWriter struct {
	s      *System
	size   int
	mu     sync.Mutex
	added  sync.Cond // on mu: adds grew
	adds   int       // on-time results handed to add
	buf    []*trackedVisit
	writes sync.WaitGroup // batches being written
}

func newCycleWriter(s *System) *cycleWriter {
	w := &cycleWriter{s: s, size: s.cfg.Knobs.BatchSize}
	w.added.L = &w.mu
	return w
}

// newFrame reports whether v holds a new frame still to be written.
func (v *visit) newFrame() bool {
	return v.kind == "" && !v.skipped && v.obs != nil && !v.stored
}

// add takes an on-time result; when its new frame fills a batch, the
// caller writes the batch.
func (w *cycleWriter) add(tv *trackedVisit) {
	w.mu.Lock()
	w.adds++
	var batch []*trackedVisit
	if tv.v.newFrame() {
		w.buf = append(w.buf, tv)
		if len(w.buf) >= w.size {
			batch, w.buf = w.buf, nil
			w.writes.Add(1)
		}
	}
	w.added.Broadcast()
	w.mu.Unlock()
	if batch != nil {
		w.s.writeVisits(batch, true)
		w.writes.Done()
	}
}

// finish waits until the n on-time results of the cut-off are all added,
// writes the partial batch and waits for the batches being written.
func (w *cycleWriter) finish(n int) {
	w.mu.Lock()
	for w.adds < n {
		w.added.Wait()
	}
	batch := w.buf
	w.buf = nil
	w.mu.Unlock()
	w.s.writeVisits(batch, true)
	w.writes.Wait()
}

// onLate stores the late result of an abandoned camera and counts it for
// the next summary. A new frame is written at once without BulkWrites;
// with them it joins the late batch, written in bulk right away by the
// late writer (this call, when no late write is running).
func (r *resilient) onLate(l resilience.Late[int, *trackedVisit]) {
	s, tv := r.s, l.Result
	v := &tv.v
	if v.newFrame() {
		if s.cfg.Knobs.BulkWrites {
			r.lateMu.Lock()
			if r.lateQueued == nil {
				r.lateQueued = map[int]bool{}
			}
			r.lateBuf = append(r.lateBuf, tv)
			r.lateQueued[tv.idx] = true
			if r.lateWriting {
				r.lateMu.Unlock()
				return
			}
			r.lateWriting = true
			for len(r.lateBuf) > 0 {
				n := min(len(r.lateBuf), s.cfg.Knobs.BatchSize)
				batch := r.lateBuf[:n:n]
				r.lateBuf = r.lateBuf[n:]
				r.lateMu.Unlock()
				r.writeLate(batch)
				r.lateMu.Lock()
			}
			r.lateBuf = nil
			r.lateWriting = false
			r.lateIdle.Broadcast()
			r.lateMu.Unlock()
			return
		}
		s.storeVisit(s.runCtx, tv.cam, tv.state, v)
	}
	r.count(tv)
}

// flushLate waits until no late frame waits for its bulk write.
func (r *resilient) flushLate() {
	r.lateMu.Lock()
	defer r.lateMu.Unlock()
	for r.lateWriting {
		r.lateIdle.Wait()
	}
}

// isQueued reports whether camera i's late frame waits for (or is in) its
// bulk write.
func (r *resilient) isQueued(i int) bool {
	r.lateMu.Lock()
	defer r.lateMu.Unlock()
	return r.lateQueued[i]
}

// writeLate writes late new frames in bulk and counts them.
func (r *resilient) writeLate(batch []*trackedVisit) {
	if len(batch) == 0 {
		return
	}
	r.s.writeVisits(batch, false)
	for _, tv := range batch {
		r.count(tv)
	}
	r.lateMu.Lock()
	for _, tv := range batch {
		delete(r.lateQueued, tv.idx)
	}
	r.lateMu.Unlock()
}

// writeVisits writes the new frames of batch with one bulk write and one
// pipelined cache update, and marks them stored (or ErrStore). onTime adds
// the write's time to each visit's latency, as the batched flush does.
func (s *System) writeVisits(batch []*trackedVisit, onTime bool) {
	if len(batch) == 0 {
		return
	}
	obs := make([]store.Observation, len(batch))
	for i, tv := range batch {
		obs[i] = *tv.v.obs
	}
	ts := time.Now()
	err := s.store.InsertObservations(s.runCtx, obs)
	d := time.Since(ts)
	s.m.store.Observe(d.Seconds())
	storedAt := s.now()
	if err != nil {
		s.log.Warn("storing observations", "count", len(obs), "err", err)
	}
	kv := make(map[string][]byte, len(obs))
	for _, tv := range batch {
		v := &tv.v
		if onTime {
			v.latency += d
		}
		if err != nil {
			v.kind = ErrStore
			continue
		}
		v.stored, v.storedAt = true, storedAt
		tv.state.etag, tv.state.hash = v.etag, v.obs.FrameHash
		if b, err := json.Marshal(v.obs); err == nil {
			kv[LatestKey(v.obs.CameraID)] = b
		}
	}
	if s.cache != nil && len(kv) > 0 {
		if err := s.cache.SetMany(s.runCtx, kv); err != nil {
			s.log.Debug("caching latest states", "count", len(kv), "err", err)
		}
	}
	for _, tv := range batch {
		if tv.v.stored {
			tv.v.e2e = time.Since(tv.v.start)
			if onTime && tv.fresh != nil {
				tv.fresh.mark(tv.v.obs.Cycle, s.observedAt(tv.v.start), tv.v.capturedAt)
			}
		}
	}
}

// count counts a late result for the next summary.
func (r *resilient) count(tv *trackedVisit) {
	s, v := r.s, &tv.v
	now := s.cycleN.Load() // the late frame is as fresh as the cycle it landed in
	r.lateMu.Lock()
	defer r.lateMu.Unlock()
	switch {
	case v.kind == "canceled":
		// the system is closing: no verdict
	case v.kind != "":
		if r.late.errors == nil {
			r.late.errors = map[string]int{}
		}
		r.late.errors[v.kind]++
		s.m.errors.WithLabelValues(v.kind).Inc()
		if v.timedOut != nil {
			r.late.timeouts = append(r.late.timeouts, *v.timedOut)
		}
	case v.skipped:
		r.late.skipped++
		tv.fresh.mark(now, s.observedAt(v.start), v.capturedAt)
	case v.stored:
		r.late.processed++
		s.m.processed.Inc()
		tv.fresh.mark(now, s.observedAt(v.start), v.capturedAt)
	}
	r.late.n++
	r.late.retries += v.retries
}

// takeLate moves the late counts since the last summary into sum, with
// the cameras still in flight.
func (r *resilient) takeLate(sum *CycleSummary) {
	if r.tracker == nil {
		return
	}
	r.lateMu.Lock()
	l := r.late
	r.late = lateCounts{}
	r.lateMu.Unlock()
	sum.Late, sum.LateProcessed, sum.LateSkipped, sum.LateErrors = l.n, l.processed, l.skipped, l.errors
	sum.Retries += l.retries
	sum.Timeouts = append(sum.Timeouts, l.timeouts...)
	sum.InFlight = r.tracker.Stats().InFlight
}

// camFresh is when a camera last answered usefully (a new or an unchanged
// frame): the cycle and the time its fetch began (on the system's clock).
//
// It also learns the camera's refresh schedule from the capture times its
// answers carry: captured is the newest capture seen, period the shortest
// interval seen between two successive captures (a camera that refreshes
// every R seconds shows R, or a multiple of it when a frame was missed).
type camFresh struct {
	cycle    atomic.Int64
	at       atomic.Int64 // unix ns
	captured atomic.Int64 // unix ns, 0: none seen
	period   atomic.Int64 // ns, 0: not learned
}

// mark records a useful answer (a new or an unchanged frame) whose fetch
// began at at; captured is the capture time the answer carried (zero:
// none).
func (f *camFresh) mark(cycle int64, at, captured time.Time) {
	f.at.Store(at.UnixNano())
	f.cycle.Store(cycle)
	if captured.IsZero() {
		return
	}
	c := captured.UnixNano()
	// Answers land out of order (a late one after a newer): only a newer
	// capture counts, and only its distance from the previous one.
	for {
		prev := f.captured.Load()
		if c <= prev {
			return
		}
		if f.captured.CompareAndSwap(prev, c) {
			if prev != 0 {
				d := c - prev
				for {
					p := f.period.Load()
					if (p != 0 && p <= d) || f.period.CompareAndSwap(p, d) {
						break
					}
				}
			}
			return
		}
	}
}

// dueAt is when the camera's next frame is due by its learned schedule
// (the newest capture + the period); ok is false while the schedule is
// not learned.
func (f *camFresh) dueAt() (time.Time, bool) {
	c, p := f.captured.Load(), f.period.Load()
	if c == 0 || p == 0 {
		return time.Time{}, false
	}
	return time.Unix(0, c+p), true
}

// notDue reports whether, by its learned schedule, the camera cannot
// have a newer frame than the one the system has at now: its next
// capture is still ahead. A capture time ahead of now (the camera's clock
// runs ahead of the system's) disowns the schedule: the camera is due.
func (f *camFresh) notDue(now time.Time) bool {
	due, ok := f.dueAt()
	if !ok || time.Unix(0, f.captured.Load()).After(now) {
		return false
	}
	return now.Before(due)
}

// observedAt is when a visit that began at start (time.Now) began, on the
// system's clock (s.now), the clock the API's freshness is judged on.
func (s *System) observedAt(start time.Time) time.Time {
	return s.now().Add(-time.Since(start))
}

// Camera statuses in GET /api/v1/cameras/{id}/latest.
const (
	StatusOK      = "ok"      // answered within the last two cycle periods
	StatusStale   = "stale"   // its last useful answer is older than that
	StatusOffline = "offline" // its circuit breaker is open
)

// Freshness is how fresh the API says a camera's latest observation is.
type Freshness struct {
	Status string `json:"status"`
	Stale  bool   `json:"stale"`
	// ObservedAt is when the fetch of the camera's last useful answer
	// began; zero before its first answer in this process.
	ObservedAt time.Time `json:"observed_at,omitzero"`
}

// CameraFreshness returns camera id's freshness and whether it is known.
//
// A camera is stale when its last useful answer (a new or an unchanged
// frame, on time or late) began more than two cycle periods ago: it has
// missed at least one whole cycle, whichever way (a fault, a cut-off it
// has not answered since, a skip). The period is what the system runs
// at: the last cycle's duration, or Config.Interval or the cycle deadline
// when longer; while a cycle runs longer than that, the allowance is one
// period plus the running cycle's time. Under a cycle deadline, which does
// not wait for a slow camera, the camera's own fetch deadline (learned
// from its latencies) is added: a camera that takes 3 s to answer is
// revisited every 3 s or so, and is not stale for it. Whether the answer arrived before its cycle's deadline does
// not matter, only how old it is: a straggler that lands a moment after
// the cut-off is as fresh as its neighbours. A camera never answered is
// stale once a cycle has completed. It is offline (and stale) while its
// breaker is open or half-open. A new frame is marked once it is stored
// and cached: a read in between serves it with the previous answer's
// freshness, erring towards stale, never old data as ok.
func (s *System) CameraFreshness(id string) (Freshness, bool) {
	s.regMu.RLock()
	i, ok := s.byID[id]
	fresh := s.fresh
	s.regMu.RUnlock()
	if !ok {
		return Freshness{}, false
	}
	f := &fresh[i]
	var out Freshness
	at := f.at.Load()
	if at != 0 {
		out.ObservedAt = time.Unix(0, at).UTC()
	}
	if last := s.last.Load(); last != nil {
		now := s.now()
		period := max(last.Duration, s.cfg.Interval, s.cfg.Knobs.CycleDeadline)
		// A cycle running longer than a period (waiting for a hang) has
		// not yet had its chance at the camera.
		allow := 2 * period
		if r := s.running.Load(); r != 0 {
			allow = period + max(period, now.Sub(time.Unix(0, r)))
		}
		if s.res != nil && s.res.tracker != nil {
			// A cycle that does not wait for its stragglers does not
			// include their answering time: add the camera's own.
			allow += s.fetchDeadline(id)
		}
		// A camera whose next frame is not due yet has nothing newer
		// than what the system has (RefreshAware skips it): its age
		// counts from when its next frame is due.
		since := out.ObservedAt
		if due, ok := f.dueAt(); ok && s.cfg.Knobs.RefreshAware && due.After(since) {
			since = due
		}
		out.Stale = at == 0 || now.Sub(since) > allow
	}
	out.Status = StatusOK
	if out.Stale {
		out.Status = StatusStale
	}
	if s.res != nil && s.res.breakers != nil {
		if st := s.res.breakers.Status(id).State; st == resilience.Open || st == resilience.HalfOpen {
			out.Status, out.Stale = StatusOffline, true
		}
	}
	return out, true
}

// fetchDeadline is how long a fetch of camera id may take: its learned
// deadline, or the fetch timeout.
func (s *System) fetchDeadline(id string) time.Duration {
	if s.res != nil && s.res.deadlines != nil {
		return s.res.deadlines.Deadline(id)
	}
	return s.cfg.Knobs.FetchTimeout
}

// withFreshness appends f's fields to the JSON object b.
func withFreshness(b []byte, f Freshness) []byte {
	if len(b) < 2 || b[len(b)-1] != '}' {
		return b
	}
	out := make([]byte, 0, len(b)+80)
	out = append(out, b[:len(b)-1]...)
	if len(b) > 2 {
		out = append(out, ',')
	}
	out = append(out, `"status":`...)
	out = strconv.AppendQuote(out, f.Status)
	out = append(out, `,"stale":`...)
	out = strconv.AppendBool(out, f.Stale)
	if !f.ObservedAt.IsZero() {
		out = append(out, `,"observed_at":"`...)
		out = f.ObservedAt.AppendFormat(out, time.RFC3339Nano)
		out = append(out, '"')
	}
	return append(out, '}')
}

// ResilienceStats is the resilience section of GET /api/v1/stats.
type ResilienceStats struct {
	Breakers *resilience.BreakerCounts `json:"breakers,omitempty"`
	Tracker  *resilience.TrackerStats  `json:"tracker,omitempty"`
	Hosts    []resilience.HostStatus   `json:"hosts,omitempty"`
}

// Resilience returns the state of the resilience mechanisms in use, and
// false when none is.
func (s *System) Resilience() (ResilienceStats, bool) {
	r := s.res
	if r == nil {
		return ResilienceStats{}, false
	}
	var out ResilienceStats
	if r.breakers != nil {
		c := r.breakers.Counts()
		out.Breakers = &c
	}
	if r.tracker != nil {
		t := r.tracker.Stats()
		out.Tracker = &t
	}
	if r.hosts != nil {
		out.Hosts = r.hosts.Hosts()
	}
	return out, true
}

// withResilience adds the "resilience" member to the JSON object b.
func (s *System) withResilience(b []byte) []byte {
	rs, ok := s.Resilience()
	if !ok || len(b) < 2 || b[len(b)-1] != '}' {
		return b
	}
	rb, err := json.Marshal(rs)
	if err != nil {
		return b
	}
	out := make([]byte, 0, len(b)+len(rb)+16)
	out = append(out, b[:len(b)-1]...)
	if len(b) > 2 {
		out = append(out, ',')
	}
	out = append(out, `"resilience":`...)
	out = append(out, rb...)
	return append(out, '}')
}
