package resilience

import (
	"math"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/camload/camload/internal/cfgerr"
)

// Defaults of BreakerOptions.
const (
	DefaultBreakerFailures = 3
	DefaultBreakerBase     = 2 * time.Second
	DefaultBreakerMax      = 2 * time.Minute
	DefaultBreakerJitter   = 0.2
)

// BreakerOptions configures Breakers. Every zero value means its default.
type BreakerOptions struct {
	// Failures is how many consecutive failures open a camera's breaker.
	// Zero means DefaultBreakerFailures.
	Failures int
	// Base is the first open period; each failed half-open probe doubles
	// it, up to Max. Zero means DefaultBreakerBase and DefaultBreakerMax.
	Base, Max time.Duration
	// Jitter, in [0, 1], shortens each open period by a random fraction
	// of up to Jitter, so cameras that failed together are not probed
	// together. Zero means DefaultBreakerJitter; a negative value means
	// no jitter.
	Jitter float64
	// Now is the clock. Nil means time.Now.
	Now func() time.Time
	// Rand returns a random number in [0, 1) for the jitter; it is called
	// with a breaker's lock held and must be safe for concurrent use. Nil
	// means math/rand/v2's Float64.
	Rand func() float64
}

func (o BreakerOptions) withDefaults() BreakerOptions {
	if o.Failures == 0 {
		o.Failures = DefaultBreakerFailures
	}
	if o.Base == 0 {
		o.Base = DefaultBreakerBase
	}
	if o.Max == 0 {
		o.Max = max(DefaultBreakerMax, o.Base)
	}
	switch {
	case o.Jitter == 0:
		o.Jitter = DefaultBreakerJitter
	case o.Jitter < 0:
		o.Jitter = 0
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Rand == nil {
		o.Rand = rand.Float64
	}
	return o
}

// Validate reports every bad field (after defaults), each as a
// *cfgerr.Error naming the knob.
func (o BreakerOptions) Validate() error {
	o = o.withDefaults()
	var errs []error
	if o.Failures < 1 {
		errs = append(errs, cfgerr.Field("breaker_failures", "must be ≥ 1, got %d", o.Failures))
	}
	if o.Base < 0 {
		errs = append(errs, cfgerr.Field("breaker_backoff", "must be > 0, got %s", o.Base))
	}
	if o.Max < o.Base {
		errs = append(errs, cfgerr.Field("breaker_backoff_max", "must be ≥ breaker_backoff (%s), got %s", o.Base, o.Max))
	}
	if !(o.Jitter <= 1) { // also NaN
		errs = append(errs, cfgerr.Field("breaker_jitter", "must be ≤ 1, got %g", o.Jitter))
	}
	return cfgerr.Join(errs...)
}

// State is the state of one camera's breaker.
type State uint8

const (
	// Closed: the camera is fetched.
	Closed State = iota
	// Open: the camera is skipped until its open period ends; it still
	// reads Open after that, until the next Allow takes the probe.
	Open
	// HalfOpen: one probe fetch at a time; its success closes the breaker,
	// its failure opens it again for twice as long.
	HalfOpen
)

var stateNames = [...]string{"closed", "open", "half-open"}

// String returns the state's lower-case name.
func (s State) String() string {
	if int(s) < len(stateNames) {
		return stateNames[s]
	}
	return "state(?)"
}

// Breakers is one circuit breaker per camera: after Failures consecutive
// failures a camera is skipped (open) for an exponentially growing,
// jittered period, then probed one fetch at a time (half-open) and closed
// on a success. Breakers learn only from the Outcomes reported to them:
// Failure counts, Success closes, Overload and Abandoned count for nothing.
//
// Breakers is safe for concurrent use; breakers of different cameras do
// not contend beyond a map read.
//
// gobreaker (github.com/sony/gobreaker/v2) was considered: its open period
// is one fixed Settings.Timeout per breaker (no exponential back-off or
// jitter) and it reads time.Now itself (no injectable clock), so this is
// a small state machine of its own, with the same generation rule for
// reports of fetches admitted before a state change.
type Breakers struct {
	o        BreakerOptions
	cams     sync.Map // camera ID → *breaker
	open     atomic.Int64
	halfOpen atomic.Int64
}

type breaker struct {
	mu       sync.Mutex
	state    State
	gen      uint64 // bumped on every state change
	failures int    // consecutive, while closed
	trips    int    // opens since the breaker was last closed
	until    time.Time
	probing  bool // a half-open probe is in flight
}

// Ticket is the admission of one fetch by Breakers.Allow, handed back to
// Report with the fetch's outcome. The zero Ticket reports nothing.
type Ticket struct {
	b     *breaker
	gen   uint64
	probe bool
}

// Probe reports whether the ticket admits the half-open probe.
func (t Ticket) Probe() bool { return t.probe }

// NewBreakers returns Breakers with o's defaults filled in, or o's
// validation error.
func NewBreakers(o BreakerOptions) (*Breakers, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	return &Breakers{o: o.withDefaults()}, nil
}

func (bs *Breakers) get(id string) *breaker {
	v, ok := bs.cams.Load(id)
	if !ok {
		v, _ = bs.cams.LoadOrStore(id, &breaker{})
	}
	return v.(*breaker)
}

// Allow reports whether camera id may be fetched now and, when it may,
// the Ticket its outcome must be reported with. In half-open state only
// one caller at a time is allowed (the probe).
func (bs *Breakers) Allow(id string) (Ticket, bool) {
	b := bs.get(id)
	b.mu.Lock()
	defer b.mu.Unlock()
	switch b.state {
	case Closed:
		return Ticket{b: b, gen: b.gen}, true
	case Open:
		if bs.o.Now().Before(b.until) {
			return Ticket{}, false
		}
		b.state = HalfOpen
		b.gen++
		bs.open.Add(-1)
		bs.halfOpen.Add(1)
	}
	if b.probing {
		return Ticket{}, false
	}
	b.probing = true
	return Ticket{b: b, gen: b.gen, probe: true}, true
}

// Report records the outcome of the fetch t admitted. A report of a fetch
// admitted before the breaker last changed state is ignored.
func (bs *Breakers) Report(t Ticket, o Outcome) {
	b := t.b
	if b == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if t.gen != b.gen {
		return
	}
	switch b.state {
	case Closed:
		switch o {
		case Success:
			b.failures = 0
		case Failure:
			b.failures++
			if b.failures >= bs.o.Failures {
				b.trips = 0
				bs.trip(b)
				bs.open.Add(1)
			}
		}
	case HalfOpen:
		if !t.probe {
			return
		}
		b.probing = false
		switch o {
		case Success:
			b.state, b.failures, b.trips = Closed, 0, 0
			b.gen++
			bs.halfOpen.Add(-1)
		case Failure:
			bs.trip(b)
			bs.halfOpen.Add(-1)
			bs.open.Add(1)
		}
	}
}

// trip opens b for its next back-off period; b.mu is held.
func (bs *Breakers) trip(b *breaker) {
	b.trips++
	b.state = Open
	b.gen++
	b.until = bs.o.Now().Add(bs.backoff(b.trips))
}

// backoff returns the open period after the n-th consecutive trip.
func (bs *Breakers) backoff(n int) time.Duration {
	d := float64(bs.o.Base) * math.Pow(2, float64(n-1))
	d = math.Min(d, float64(bs.o.Max))
	if bs.o.Jitter > 0 {
		d *= 1 - bs.o.Jitter*bs.o.Rand()
	}
	return time.Duration(d)
}

// BreakerStatus is one camera's breaker as Breakers.Status sees it.
type BreakerStatus struct {
	State State
	// Failures is the count of consecutive failures while closed.
	Failures int
	// Trips is how many times the breaker opened since it was last
	// closed.
	Trips int
	// Until is when the current (or last) open period ends; zero if the
	// breaker never opened since it was last closed.
	Until time.Time
}

// Status returns camera id's breaker status; a camera never reported is
// Closed.
func (bs *Breakers) Status(id string) BreakerStatus {
	v, ok := bs.cams.Load(id)
	if !ok {
		return BreakerStatus{}
	}
	b := v.(*breaker)
	b.mu.Lock()
	defer b.mu.Unlock()
	st := BreakerStatus{State: b.state, Failures: b.failures, Trips: b.trips}
	if b.trips > 0 {
		st.Until = b.until
	}
	return st
}

// BreakerCounts counts breakers by state, for metrics and /api/v1/stats.
type BreakerCounts struct {
	Open     int `json:"open"`
	HalfOpen int `json:"half_open"`
}

// Counts returns how many breakers are open and half-open now, in O(1).
func (bs *Breakers) Counts() BreakerCounts {
	return BreakerCounts{Open: int(bs.open.Load()), HalfOpen: int(bs.halfOpen.Load())}
}

// Forget drops camera id's breaker (a camera removed from the registry);
// tickets it handed out report nothing afterwards.
func (bs *Breakers) Forget(id string) {
	v, ok := bs.cams.LoadAndDelete(id)
	if !ok {
		return
	}
	b := v.(*breaker)
	b.mu.Lock()
	defer b.mu.Unlock()
	switch b.state {
	case Open:
		bs.open.Add(-1)
	case HalfOpen:
		bs.halfOpen.Add(-1)
	}
	b.state = Closed
	b.gen++
}
