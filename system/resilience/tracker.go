package resilience

import (
	"context"
	"sync"
	"time"
)

// TrackerOptions configures a Tracker. The zero value is usable.
type TrackerOptions[K comparable, R any] struct {
	// OnLate receives every result that arrives after its cycle was cut
	// off, for storing as late. It is called by the goroutine calling
	// Done, with no lock held; the camera counts as in flight until it
	// returns. Nil drops late results (they are still counted).
	OnLate func(Late[K, R])
	// Now is the clock. Nil means time.Now.
	Now func() time.Time
}

// Tracker tracks the cameras in flight across cycles, so a cycle can end
// at its budget without waiting for stragglers: Cycle.Wait cuts the cycle
// off, the cameras still in flight are abandoned by it, and their results,
// when they arrive, are handed to OnLate. A camera still in flight from an
// earlier cycle is not started again until it is done.
//
// The Tracker starts no goroutines: the caller starts the fetches and must
// call Done exactly once for every Start that returned Started, even when
// the fetch failed or its context ended, or the camera stays in flight.
//
// Tracker is safe for concurrent use.
type Tracker[K comparable, R any] struct {
	o         TrackerOptions[K, R]
	mu        sync.Mutex
	inFlight  map[K]flight[K, R]
	idle      chan struct{} // closed when nothing is in flight; made by WaitIdle
	late      uint64
	abandoned uint64
	lastSize  int // cameras started in the last cycle, to size the next
}

type flight[K comparable, R any] struct {
	c       *Cycle[K, R]
	started time.Time
	done    bool // late, its OnLate running
}

// NewTracker returns an idle Tracker.
func NewTracker[K comparable, R any](o TrackerOptions[K, R]) *Tracker[K, R] {
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Tracker[K, R]{o: o, inFlight: map[K]flight[K, R]{}}
}

// Cycle is one cycle of a Tracker; it is safe for concurrent use.
type Cycle[K comparable, R any] struct {
	t        *Tracker[K, R]
	n        int64
	closed   bool // no more Starts
	cut      bool
	pending  int
	started  int
	complete chan struct{} // closed once closed && pending == 0
	results  map[K]R
	cutoff   Cutoff[K, R]
}

// Begin starts tracking cycle n.
func (t *Tracker[K, R]) Begin(n int64) *Cycle[K, R] {
	t.mu.Lock()
	size := t.lastSize
	t.mu.Unlock()
	return &Cycle[K, R]{t: t, n: n, complete: make(chan struct{}), results: make(map[K]R, size)}
}

// StartResult says whether Cycle.Start started a camera.
type StartResult uint8

const (
	// Started: the camera is in flight in this cycle.
	Started StartResult = iota
	// StillInFlight: the camera is still in flight from an earlier cycle
	// (or was started twice); it is not started again.
	StillInFlight
	// CycleOver: the cycle was closed or cut off; nothing starts in it.
	CycleOver
)

var startNames = [...]string{"started", "still_in_flight", "cycle_over"}

// String returns the result's name, usable as an error kind.
func (s StartResult) String() string {
	if int(s) < len(startNames) {
		return startNames[s]
	}
	return "start(?)"
}

// Start records that camera id is being fetched in c, unless the camera is
// still in flight or c is over.
func (c *Cycle[K, R]) Start(id K) StartResult {
	t := c.t
	t.mu.Lock()
	defer t.mu.Unlock()
	if c.closed || c.cut {
		return CycleOver
	}
	if _, ok := t.inFlight[id]; ok {
		return StillInFlight
	}
	t.inFlight[id] = flight[K, R]{c: c, started: t.o.Now()}
	c.pending++
	c.started++
	return Started
}

// Done records camera id's result and reports whether it was on time. A
// result after c was cut off is late: it is counted and handed to OnLate,
// and the camera stays in flight (StillInFlight to later cycles) until
// OnLate returns. Done of a camera not in flight in c does nothing and
// returns false.
func (c *Cycle[K, R]) Done(id K, r R) (onTime bool) {
	t := c.t
	t.mu.Lock()
	f, ok := t.inFlight[id]
	if !ok || f.c != c || f.done {
		t.mu.Unlock()
		return false
	}
	c.pending--
	if !c.cut {
		t.land(id)
		c.results[id] = r
		if c.closed && c.pending == 0 {
			close(c.complete)
		}
		t.mu.Unlock()
		return true
	}
	// Late: the camera stays in flight until OnLate returns, so the next
	// cycle does not fetch it before its late result is stored, and
	// WaitIdle waits for the storing.
	t.late++
	f.done = true
	t.inFlight[id] = f
	late := Late[K, R]{ID: id, Cycle: c.n, Result: r, Took: t.o.Now().Sub(f.started)}
	t.mu.Unlock()
	if t.o.OnLate != nil {
		t.o.OnLate(late)
	}
	t.mu.Lock()
	t.land(id)
	t.mu.Unlock()
	return false
}

// land removes camera id from the cameras in flight; t.mu is held.
func (t *Tracker[K, R]) land(id K) {
	delete(t.inFlight, id)
	if len(t.inFlight) == 0 && t.idle != nil {
		close(t.idle)
		t.idle = nil
	}
}

// Close says no more cameras will be started in c; once every started
// camera is done, Wait returns.
func (c *Cycle[K, R]) Close() {
	t := c.t
	t.mu.Lock()
	defer t.mu.Unlock()
	if c.closed {
		return
	}
	c.closed = true
	if c.pending == 0 && !c.cut {
		close(c.complete)
	}
}

// Wait returns when every camera started in c is done after Close, or
// when ctx ends (the cycle's budget: a context.WithTimeout that is not the
// fetches' context), whichever is first, and then cuts c off.
func (c *Cycle[K, R]) Wait(ctx context.Context) Cutoff[K, R] {
	select {
	case <-c.complete:
	case <-ctx.Done():
	}
	return c.Cut()
}

// Cut cuts c off now: the cameras still in flight in it are abandoned and
// their results will be late. It returns the cycle's Cutoff; later calls
// return the same.
func (c *Cycle[K, R]) Cut() Cutoff[K, R] {
	t := c.t
	t.mu.Lock()
	defer t.mu.Unlock()
	if c.cut {
		return c.cutoff
	}
	c.cut = true
	t.lastSize = c.started
	now := t.o.Now()
	co := Cutoff[K, R]{Results: c.results, Complete: c.closed && c.pending == 0}
	for id, f := range t.inFlight {
		if f.c == c {
			co.Abandoned = append(co.Abandoned, Abandon[K]{ID: id, For: now.Sub(f.started)})
		}
	}
	t.abandoned += uint64(len(co.Abandoned))
	c.results = nil
	c.cutoff = co
	return co
}

// Cutoff is what a cycle got within its budget.
type Cutoff[K comparable, R any] struct {
	// Results holds the results that were on time, by camera.
	Results map[K]R
	// Abandoned lists the cameras still in flight at the cut-off, in no
	// particular order.
	Abandoned []Abandon[K]
	// Complete says every started camera was done and the cycle closed
	// before the cut-off.
	Complete bool
}

// Abandon is a camera a cycle stopped waiting for.
type Abandon[K comparable] struct {
	ID K
	// For is how long it had been in flight at the cut-off.
	For time.Duration
}

// Late is a result that arrived after its cycle was cut off.
type Late[K comparable, R any] struct {
	ID     K
	Cycle  int64
	Result R
	// Took is the time from Start to Done.
	Took time.Duration
}

// TrackerStats counts a Tracker's cameras.
type TrackerStats struct {
	InFlight  int    `json:"in_flight"`
	Abandoned uint64 `json:"abandoned"` // total, over all cycles
	Late      uint64 `json:"late"`      // abandoned cameras whose result arrived
}

// Stats returns the Tracker's counts.
func (t *Tracker[K, R]) Stats() TrackerStats {
	t.mu.Lock()
	defer t.mu.Unlock()
	return TrackerStats{InFlight: len(t.inFlight), Abandoned: t.abandoned, Late: t.late}
}

// InFlight returns the cameras in flight now, with the cycle each was
// started in.
func (t *Tracker[K, R]) InFlight() map[K]int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	m := make(map[K]int64, len(t.inFlight))
	for id, f := range t.inFlight {
		m[id] = f.c.n
	}
	return m
}

// WaitIdle waits until no camera is in flight and every OnLate call has
// returned (for a graceful shutdown), or returns ctx's error when ctx ends
// first.
func (t *Tracker[K, R]) WaitIdle(ctx context.Context) error {
	t.mu.Lock()
	if len(t.inFlight) == 0 {
		t.mu.Unlock()
		return nil
	}
	if t.idle == nil {
		t.idle = make(chan struct{})
	}
	idle := t.idle
	t.mu.Unlock()
	select {
	case <-idle:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
