package system

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/camload/camload/system/group"
)

// This file runs the system as one replica of a group (camload serve
// --group NAME, package group): the coordinator enqueues a cycle's cameras
// as jobs (GroupCycle) and every replica processes the jobs it reads, one
// camera at a time (ProcessCamera through GroupHandler); with BulkWrites
// the store writes of jobs finishing together are combined (jobWriter).
//
// A group replica does not dedupe across cycles: a camera's jobs go to
// whichever replica reads them, so this replica's memory of the camera's
// last ETag and frame hash may be cycles old while other replicas stored
// newer frames; skipping on it would be wrong. Every job therefore
// fetches without If-None-Match and stores the frame it got. The store's
// writes are idempotent per frame (the observation's _id is camera/frame
// hash) and the latest state is an upsert per camera, so a job run twice
// in a cycle (group's rare redelivery) leaves the same documents.

// CameraError is the failure of one camera in one cycle: Kind is the error
// kind of the cycle summary (see the Err* constants; "canceled" when the
// context ended first).
type CameraError struct {
	Camera string
	Kind   string
	Err    error // the cause, when known
}

func (e *CameraError) Error() string {
	if e.Err != nil {
		return e.Kind + ": camera " + e.Camera + ": " + e.Err.Error()
	}
	return e.Kind + ": camera " + e.Camera
}

func (e *CameraError) Unwrap() error { return e.Err }

// ErrUnknownCamera is returned by ProcessCamera for a camera ID the
// registry does not hold.
var ErrUnknownCamera = errors.New("system: unknown camera")

// ProcessCamera visits one camera as a cycle does (fetch → analyze →
// store, and the latest state into the cache), as part of cycle. With
// BulkWrites the observation is written together with those of the jobs
// finishing at the same time (jobWriter). It returns nil when the frame was stored
// (or, without dedupe never, skipped), a *CameraError with the kind
// otherwise, ErrNotReady before LoadRegistry and ErrUnknownCamera (wrapped)
// for an ID outside the registry. The camera's metrics are counted as in a
// cycle; it does not take the cycle lock, so it may run while this
// replica's coordinator side waits in GroupCycle.
func (s *System) ProcessCamera(ctx context.Context, cycle int64, cameraID string) error {
	s.regMu.RLock()
	cams, byID, hosts := s.cams, s.byID, s.hostKeys
	s.regMu.RUnlock()
	if cams == nil {
		return ErrNotReady
	}
	i, ok := byID[cameraID]
	if !ok {
		return fmt.Errorf("%w %q", ErrUnknownCamera, cameraID)
	}
	c := cams[i] // a copy: visit may not touch the registry
	host := ""
	if i < len(hosts) {
		host = hosts[i]
	}
	// Fresh state: no dedupe across replicas (see the file comment).
	tv := &trackedVisit{cam: &c, state: &camState{}}
	v := &tv.v
	bulk := s.cfg.Knobs.BulkWrites
	s.visit(ctx, cycle, &c, tv.state, host, v, !bulk)
	if bulk && v.newFrame() {
		s.jobs.write(s, tv)
	}
	s.m.retries.Add(float64(v.retries))
	switch {
	case v.kind == "canceled":
		return &CameraError{Camera: c.ID, Kind: v.kind, Err: context.Cause(ctx)}
	case v.kind != "":
		s.m.errors.WithLabelValues(v.kind).Inc()
		return &CameraError{Camera: c.ID, Kind: v.kind}
	case v.skipped:
		s.m.skipped.Inc()
	case v.stored:
		s.m.processed.Inc()
	}
	return nil
}

// jobWriter combines the store writes of the jobs a replica's workers
// finish at the same time (group commit), so that concurrent jobs cost one
// bulk insert, one bulk upsert and one pipelined cache update instead of
// one of each per camera. A job whose frame is analyzed queues it; when no
// write is running it becomes the writer and writes the queue (at most
// BatchSize frames) with writeVisits, else it waits. A writer that finds
// frames queued after its write hands the writing on to the first of them
// and returns, so no job waits for more than the write before its own.
// There is no timer: a lone job writes at once, as a batch of one, and a
// batch holds only the frames that finished while the previous write was in
// flight, so batches grow as the store slows down.
type jobWriter struct {
	mu      sync.Mutex
	queue   []*jobWrite
	writing bool // a writer runs; false implies an empty queue
}

// jobWrite is one queued frame; wake receives true once it is written,
// false when its job is to write the queue.
type jobWrite struct {
	tv   *trackedVisit
	wake chan bool
}

// write stores tv's new frame with those of the jobs writing at the same
// time; it returns once the frame is written (tv.v stored, or kind
// ErrStore).
func (w *jobWriter) write(s *System, tv *trackedVisit) {
	jw := &jobWrite{tv: tv, wake: make(chan bool, 1)}
	w.mu.Lock()
	w.queue = append(w.queue, jw)
	if w.writing {
		w.mu.Unlock()
		if <-jw.wake {
			return
		}
		w.mu.Lock() // handed on: jw is w.queue[0]
	}
	w.writing = true
	n := min(len(w.queue), max(1, s.cfg.Knobs.BatchSize))
	batch := w.queue[:n:n]
	w.queue = w.queue[n:]
	w.mu.Unlock()

	tvs := make([]*trackedVisit, n)
	for i, b := range batch {
		tvs[i] = b.tv
	}
	s.writeVisits(tvs, true)

	w.mu.Lock()
	if len(w.queue) > 0 {
		w.queue[0].wake <- false
	} else {
		w.writing, w.queue = false, nil
	}
	w.mu.Unlock()
	for _, b := range batch {
		if b != jw {
			b.wake <- true
		}
	}
}

// GroupHandler returns the group.Handler that processes a job with
// ProcessCamera; the job's cycle ID (a decimal number, as group.Enqueue
// allocates them) is the observation's cycle.
func (s *System) GroupHandler() group.Handler {
	return func(ctx context.Context, j group.Job) error {
		n, err := strconv.ParseInt(j.Cycle, 10, 64)
		if err != nil {
			return fmt.Errorf("system: job %s: cycle %q is not a number", j.ID, j.Cycle)
		}
		return s.ProcessCamera(ctx, n, j.Camera)
	}
}

// GroupSummary is the CycleSummary of a group cycle and what the group
// adds to it. Latencies and Freshness stay empty (the cameras ran on
// several replicas); Errors holds the kinds of the failed cameras whose
// error text the group kept (group.MaxErrors) and counts the rest as
// ErrUnrecorded.
type GroupSummary struct {
	CycleSummary
	// Group is the group's cycle ID (CycleSummary.Cycle is it as a number).
	Group string `json:"group_cycle"`
	// Replicas counts the cameras processed per replica (consumer name).
	Replicas map[string]int `json:"replicas"`
	// Reclaimed counts jobs taken over from a replica that stopped or
	// stalled (XAUTOCLAIM); Duplicates counts deliveries of a camera
	// already done in the cycle (see group.Summary).
	Reclaimed  int `json:"reclaimed"`
	Duplicates int `json:"duplicates"`
	// Complete is false when ctx ended before every job was acknowledged.
	Complete bool `json:"complete"`
}

// ErrUnrecorded is the error kind of a group cycle's failed cameras beyond
// the group.MaxErrors whose error text the group keeps.
const ErrUnrecorded = "unrecorded"

// GroupCycle runs one cycle across the group from its coordinator r:
// it enqueues every camera of the registry as a job, waits until all are
// acknowledged (by any replica) and returns the cycle's summary, which it
// also makes this system's LastCycle. Cycles of this system run one at a
// time (with RunCycle too). It fails with group.ErrNotCoordinator on a
// replica that does not hold the lease, ErrNotReady before LoadRegistry,
// and with ctx's error (and the summary so far) when ctx ends first.
func (s *System) GroupCycle(ctx context.Context, r *group.Replica) (GroupSummary, error) {
	s.cycleMu.Lock()
	defer s.cycleMu.Unlock()
	s.regMu.RLock()
	cams := s.cams
	s.regMu.RUnlock()
	if cams == nil {
		return GroupSummary{}, ErrNotReady
	}
	ids := make([]string, len(cams))
	for i := range cams {
		ids[i] = cams[i].ID
	}
	started := s.now()
	t0 := time.Now()
	id, err := r.Enqueue(ctx, ids)
	if err != nil && id == "" {
		return GroupSummary{}, err
	}
	gs, werr := r.Wait(ctx, id)
	sum := groupSummary(gs, s.cfg.Mode, started, time.Since(t0))
	if werr != nil && sum.Group == "" {
		sum.Group = id
	}
	s.m.cycle.Observe(sum.Duration.Seconds())
	s.last.Store(&sum.CycleSummary)
	if err := errors.Join(err, werr); err != nil {
		return sum, fmt.Errorf("group cycle %s: %w", id, err)
	}
	return sum, nil
}

// groupSummary turns the group's record of a cycle into a GroupSummary.
func groupSummary(gs group.Summary, mode Mode, started time.Time, d time.Duration) GroupSummary {
	n, _ := strconv.ParseInt(gs.Cycle, 10, 64)
	sum := GroupSummary{
		CycleSummary: CycleSummary{
			Cycle: n, Mode: mode, Started: started, Duration: d,
			Cameras: gs.Jobs, Processed: gs.ProcessedTotal(), Errors: map[string]int{},
		},
		Group:      gs.Cycle,
		Replicas:   gs.Processed,
		Reclaimed:  gs.Reclaimed,
		Duplicates: gs.Duplicates,
		Complete:   gs.Jobs > 0 && gs.Complete(),
	}
	if sum.Replicas == nil {
		sum.Replicas = map[string]int{}
	}
	recorded := 0
	for _, msg := range gs.Errors {
		kind, _, ok := strings.Cut(msg, ": ")
		if !ok || kind == "" || strings.ContainsAny(kind, " \t") {
			kind = ErrUnrecorded
		}
		sum.Errors[kind]++
		recorded++
	}
	if rest := gs.Failures - recorded; rest > 0 {
		sum.Errors[ErrUnrecorded] += rest
	}
	return sum
}

// GroupCycleHandler is POST /api/v1/cycles of a group replica: on the
// coordinator it runs a GroupCycle and answers its GroupSummary; on any
// other replica it answers 409 naming the coordinator (or saying that
// none holds the lease yet), and 503 before the registry is loaded.
func (s *System) GroupCycleHandler(r *group.Replica) http.Handler {
	return s.route("cycles", func(req *http.Request) ([]byte, error) {
		if !r.IsCoordinator() {
			return nil, notCoordinator(req.Context(), r)
		}
		sum, err := s.GroupCycle(req.Context(), r)
		switch {
		case errors.Is(err, ErrNotReady):
			return nil, &apiError{Status: http.StatusServiceUnavailable, Message: err.Error()}
		case errors.Is(err, group.ErrNotCoordinator):
			return nil, notCoordinator(req.Context(), r) // the lease moved meanwhile
		case err != nil:
			return nil, err
		}
		return json.Marshal(sum)
	})
}

func notCoordinator(ctx context.Context, r *group.Replica) error {
	holder, err := r.Coordinator(ctx)
	msg := "this replica (" + r.Consumer() + ") is not the coordinator of group " + r.Options().Name + "; "
	switch {
	case err != nil:
		return fmt.Errorf("reading the coordinator lease: %w", err)
	case holder == "":
		msg += "no replica holds the coordinator lease yet, retry shortly"
	default:
		msg += "POST /api/v1/cycles to the coordinator " + holder
	}
	return &apiError{Status: http.StatusConflict, Message: msg}
}
