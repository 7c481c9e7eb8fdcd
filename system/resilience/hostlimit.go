package resilience

import (
	"context"
	"fmt"
	"math"
	"net/url"
	"slices"
	"strings"
	"sync"

	"github.com/camload/camload/internal/cfgerr"
)

// Defaults of HostLimitOptions.
const (
	// DefaultHostLimitInitial is the blog's limit_per_host.
	DefaultHostLimitInitial = 10
	DefaultHostLimitMax     = 64
	DefaultHostLimitBackoff = 0.9
	DefaultHostLimitWindow  = 20
)

// ceilingSlowdown is how many times more successes it takes to raise the
// limit back to the level of the last overload: the gateway is probed
// there less often, so it answers fewer 503s, yet a gateway that got
// more capacity is still found.
const ceilingSlowdown = 4

// HostLimitOptions configures HostLimits. Every zero value means its
// default.
type HostLimitOptions struct {
	// Initial is a new host's concurrency limit. Zero means
	// DefaultHostLimitInitial.
	Initial int
	// Max caps the limit; it must be ≥ Initial. Zero means
	// max(DefaultHostLimitMax, Initial).
	Max int
	// Backoff, in (0, 1), multiplies the limit on an overload (and takes
	// at least 1 off it), at most once per round of requests: only a
	// request admitted after the last decrease can cause the next. Zero
	// means DefaultHostLimitBackoff.
	Backoff float64
	// Window is the least number of successes, of requests admitted while
	// at least half the limit was in flight, that raise the limit by 1
	// (a host used far below its limit does not raise it); the window is
	// max(Window, limit), so the increase is about one per round of
	// requests, and four times that to reach the level of the last
	// overload again. Zero means DefaultHostLimitWindow.
	Window int
}

func (o HostLimitOptions) withDefaults() HostLimitOptions {
	if o.Initial == 0 {
		o.Initial = DefaultHostLimitInitial
	}
	if o.Max == 0 {
		o.Max = max(DefaultHostLimitMax, o.Initial)
	}
	if o.Backoff == 0 {
		o.Backoff = DefaultHostLimitBackoff
	}
	if o.Window == 0 {
		o.Window = DefaultHostLimitWindow
	}
	return o
}

// Validate reports every bad field (after defaults), each as a
// *cfgerr.Error naming the knob.
func (o HostLimitOptions) Validate() error {
	o = o.withDefaults()
	var errs []error
	if o.Initial < 1 {
		errs = append(errs, cfgerr.Field("host_limit_initial", "must be ≥ 1, got %d", o.Initial))
	}
	if o.Max < o.Initial {
		errs = append(errs, cfgerr.Field("host_limit_max", "must be ≥ host_limit_initial (%d), got %d", o.Initial, o.Max))
	}
	if !(o.Backoff > 0 && o.Backoff < 1) {
		errs = append(errs, cfgerr.Field("host_limit_backoff", "must be in (0, 1), got %g", o.Backoff))
	}
	if o.Window < 1 {
		errs = append(errs, cfgerr.Field("host_limit_window", "must be ≥ 1, got %d", o.Window))
	}
	return cfgerr.Join(errs...)
}

// HostLimits bounds the requests in flight to each host (camera gateway)
// by a limit it learns AIMD-style from the outcomes reported on release:
// Overload (a 503, a reset) multiplies the limit by Backoff, a window of
// Successes adds 1; Failure and Abandoned change nothing. The limit stays
// within [1, Max]. Waiters are admitted in FIFO order.
//
// HostLimits is safe for concurrent use.
type HostLimits struct {
	o     HostLimitOptions
	mu    sync.Mutex
	hosts map[string]*host
}

type host struct {
	mu        sync.Mutex
	limit     float64 // admission uses ⌊limit⌋ ≥ 1
	inFlight  int
	successes int    // toward the next increase
	ceiling   int    // the limit at the last decrease; 0 before any
	epoch     uint64 // bumped on every decrease
	waiters   []*waiter
	overloads uint64
	decreases uint64
	increases uint64
}

type waiter struct {
	ch      chan struct{} // closed when granted
	granted bool
	busy    bool
	epoch   uint64
}

// NewHostLimits returns HostLimits with o's defaults filled in, or o's
// validation error.
func NewHostLimits(o HostLimitOptions) (*HostLimits, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	return &HostLimits{o: o.withDefaults(), hosts: map[string]*host{}}, nil
}

func (hl *HostLimits) get(key string) *host {
	hl.mu.Lock()
	defer hl.mu.Unlock()
	h := hl.hosts[key]
	if h == nil {
		h = &host{limit: float64(hl.o.Initial)}
		hl.hosts[key] = h
	}
	return h
}

func (h *host) cap() int { return max(1, int(h.limit)) }

// busy says a request just admitted uses the limit: at least half of it is
// in flight (a host used far below its limit learns nothing about it).
func (h *host) busy() bool { return 2*h.inFlight >= h.cap() }

// Acquire waits for a slot at host key and returns the function that gives
// it back with the request's outcome; call it exactly once (later calls do
// nothing). It fails only when ctx ends first, with ctx's error.
func (hl *HostLimits) Acquire(ctx context.Context, key string) (release func(Outcome), err error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	h := hl.get(key)
	h.mu.Lock()
	if len(h.waiters) == 0 && h.inFlight < h.cap() {
		h.inFlight++
		r := hl.releaser(h, h.busy(), h.epoch)
		h.mu.Unlock()
		return r, nil
	}
	w := &waiter{ch: make(chan struct{})}
	h.waiters = append(h.waiters, w)
	h.mu.Unlock()
	select {
	case <-w.ch:
		return hl.releaser(h, w.busy, w.epoch), nil
	case <-ctx.Done():
		h.mu.Lock()
		if w.granted { // granted meanwhile: hand the slot on
			h.inFlight--
			hl.grant(h)
		} else {
			h.waiters = slices.DeleteFunc(h.waiters, func(x *waiter) bool { return x == w })
		}
		h.mu.Unlock()
		return nil, ctx.Err()
	}
}

// TryAcquire is Acquire without waiting: ok is false when host key is at
// its limit (or others wait for it).
func (hl *HostLimits) TryAcquire(key string) (release func(Outcome), ok bool) {
	h := hl.get(key)
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.waiters) > 0 || h.inFlight >= h.cap() {
		return nil, false
	}
	h.inFlight++
	return hl.releaser(h, h.busy(), h.epoch), true
}

// grant admits waiters while there is room; h.mu is held. A waiter was
// admitted at the limit by definition (busy).
func (hl *HostLimits) grant(h *host) {
	for len(h.waiters) > 0 && h.inFlight < h.cap() {
		w := h.waiters[0]
		h.waiters[0] = nil
		h.waiters = h.waiters[1:]
		h.inFlight++
		w.granted, w.busy, w.epoch = true, true, h.epoch
		close(w.ch)
	}
}

// releaser returns the release function of a request admitted in epoch;
// busy says the host used its limit when it was admitted (only those
// requests' successes show the limit is safe to raise).
func (hl *HostLimits) releaser(h *host, busy bool, epoch uint64) func(Outcome) {
	var once sync.Once
	return func(o Outcome) {
		once.Do(func() {
			h.mu.Lock()
			defer h.mu.Unlock()
			h.inFlight--
			switch o {
			case Success:
				if busy {
					h.successes++
					need := max(hl.o.Window, h.cap())
					if h.ceiling > 0 && h.cap()+1 >= h.ceiling {
						need *= ceilingSlowdown
					}
					if h.successes >= need && h.limit < float64(hl.o.Max) {
						h.limit = math.Min(h.limit+1, float64(hl.o.Max))
						h.successes = 0
						h.increases++
					}
				}
			case Overload:
				h.overloads++
				if epoch == h.epoch {
					c := h.cap()
					h.ceiling = c
					h.limit = math.Max(1, math.Min(h.limit*hl.o.Backoff, float64(c-1)))
					h.successes = 0
					h.epoch++
					if h.cap() < c {
						h.decreases++
					}
				}
			}
			hl.grant(h)
		})
	}
}

// HostStatus is one host's limiter state.
type HostStatus struct {
	Host      string `json:"host"`
	Limit     int    `json:"limit"`
	InFlight  int    `json:"in_flight"`
	Waiting   int    `json:"waiting"`
	Overloads uint64 `json:"overloads"`
	Decreases uint64 `json:"decreases"`
	Increases uint64 `json:"increases"`
}

// Limit returns host key's current limit (Initial for a host not seen).
func (hl *HostLimits) Limit(key string) int {
	hl.mu.Lock()
	h := hl.hosts[key]
	hl.mu.Unlock()
	if h == nil {
		return hl.o.Initial
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.cap()
}

// Hosts returns every host's status, sorted by host.
func (hl *HostLimits) Hosts() []HostStatus {
	hl.mu.Lock()
	keys := make([]string, 0, len(hl.hosts))
	hs := make(map[string]*host, len(hl.hosts))
	for k, h := range hl.hosts {
		keys = append(keys, k)
		hs[k] = h
	}
	hl.mu.Unlock()
	slices.Sort(keys)
	out := make([]HostStatus, 0, len(keys))
	for _, k := range keys {
		h := hs[k]
		h.mu.Lock()
		out = append(out, HostStatus{Host: k, Limit: h.cap(), InFlight: h.inFlight, Waiting: len(h.waiters),
			Overloads: h.overloads, Decreases: h.decreases, Increases: h.increases})
		h.mu.Unlock()
	}
	return out
}

// HostKey returns the limiter key of a snapshot URL: its host[:port],
// lower-cased.
func HostKey(rawURL string) (string, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "", fmt.Errorf("resilience: host of snapshot URL: %w", err)
	}
	if u.Host == "" {
		return "", fmt.Errorf("resilience: snapshot URL %q has no host", rawURL)
	}
	return strings.ToLower(u.Host), nil
}
