package resilience

import (
	"math"
	"slices"
	"sync"
	"time"

	"github.com/camload/camload/internal/cfgerr"
)

// Defaults of DeadlineOptions.
const (
	DefaultDeadlineInitial    = 5 * time.Second
	DefaultDeadlineK          = 2.0
	DefaultDeadlineFloor      = 200 * time.Millisecond
	DefaultDeadlineCap        = 10 * time.Second
	DefaultDeadlineWindow     = 32
	DefaultDeadlineMinSamples = 5
	DefaultDeadlineQuantile   = 0.99
)

// DeadlineOptions configures Deadlines. Every zero value means its default.
type DeadlineOptions struct {
	// Initial is the deadline of a camera with fewer than MinSamples
	// recorded latencies, used as is (neither floored nor capped). Zero
	// means DefaultDeadlineInitial (the global fetch timeout of the other
	// modes).
	Initial time.Duration
	// K multiplies the latency quantile estimate; it must be ≥ 1. Zero
	// means DefaultDeadlineK.
	K float64
	// Floor and Cap bound a learned deadline. Zero means
	// DefaultDeadlineFloor and DefaultDeadlineCap.
	Floor, Cap time.Duration
	// Window is how many of a camera's latest latencies are kept. Zero
	// means DefaultDeadlineWindow. With fewer than 100 samples the 0.99
	// quantile is the window's maximum.
	Window int
	// MinSamples is how many latencies a camera needs before its deadline
	// is learned; at most Window. Zero means DefaultDeadlineMinSamples.
	MinSamples int
	// Quantile is the latency quantile in (0, 1] the deadline is K times.
	// Zero means DefaultDeadlineQuantile.
	Quantile float64
}

func (o DeadlineOptions) withDefaults() DeadlineOptions {
	def := func(v *time.Duration, d time.Duration) {
		if *v == 0 {
			*v = d
		}
	}
	def(&o.Initial, DefaultDeadlineInitial)
	def(&o.Floor, DefaultDeadlineFloor)
	def(&o.Cap, DefaultDeadlineCap)
	if o.K == 0 {
		o.K = DefaultDeadlineK
	}
	if o.Window == 0 {
		o.Window = DefaultDeadlineWindow
	}
	if o.MinSamples == 0 {
		o.MinSamples = min(DefaultDeadlineMinSamples, o.Window)
	}
	if o.Quantile == 0 {
		o.Quantile = DefaultDeadlineQuantile
	}
	return o
}

// Validate reports every bad field (after defaults), each as a
// *cfgerr.Error naming the knob.
func (o DeadlineOptions) Validate() error {
	o = o.withDefaults()
	var errs []error
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"deadline_initial", o.Initial}, {"deadline_floor", o.Floor}, {"deadline_cap", o.Cap}} {
		if d.v < 0 {
			errs = append(errs, cfgerr.Field(d.name, "must be > 0, got %s", d.v))
		}
	}
	if o.Floor > o.Cap {
		errs = append(errs, cfgerr.Field("deadline_floor", "must be ≤ deadline_cap (%s), got %s", o.Cap, o.Floor))
	}
	if o.K < 1 || math.IsNaN(o.K) || math.IsInf(o.K, 0) {
		errs = append(errs, cfgerr.Field("deadline_k", "must be a finite number ≥ 1, got %g", o.K))
	}
	if o.Window < 1 {
		errs = append(errs, cfgerr.Field("deadline_window", "must be ≥ 1, got %d", o.Window))
	}
	if o.MinSamples < 1 || o.MinSamples > o.Window {
		errs = append(errs, cfgerr.Field("deadline_min_samples", "must be in [1, deadline_window=%d], got %d", o.Window, o.MinSamples))
	}
	if !(o.Quantile > 0 && o.Quantile <= 1) {
		errs = append(errs, cfgerr.Field("deadline_quantile", "must be in (0, 1], got %g", o.Quantile))
	}
	return cfgerr.Join(errs...)
}

// Deadlines learns a fetch deadline per camera from that camera's own
// recent latencies: K × the Quantile of its last Window latencies, within
// [Floor, Cap]; Initial until it has MinSamples. A fetch that hit its
// deadline is recorded as taking the deadline (a lower bound of its real
// latency), so a camera that became slower widens its deadline by K per
// timeout, up to Cap, instead of timing out for ever.
//
// Deadlines is safe for concurrent use; calls for different cameras do not
// contend beyond a map read.
type Deadlines struct {
	o    DeadlineOptions
	cams sync.Map // camera ID → *latencies
}

// latencies is one camera's ring of recent latencies.
type latencies struct {
	mu       sync.Mutex
	ring     []time.Duration
	n        int // samples recorded, ≤ len(ring)
	next     int // ring index of the next sample
	deadline time.Duration
}

// NewDeadlines returns Deadlines with o's defaults filled in, or o's
// validation error.
func NewDeadlines(o DeadlineOptions) (*Deadlines, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	return &Deadlines{o: o.withDefaults()}, nil
}

// Options returns the options in use, defaults filled in.
func (d *Deadlines) Options() DeadlineOptions { return d.o }

// Deadline returns the fetch deadline of camera id.
func (d *Deadlines) Deadline(id string) time.Duration {
	v, ok := d.cams.Load(id)
	if !ok {
		return d.o.Initial
	}
	l := v.(*latencies)
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.deadline
}

// Observe records the latency of a fetch of camera id that got an answer.
// Negative latencies count as 0.
func (d *Deadlines) Observe(id string, latency time.Duration) {
	d.record(id, max(0, latency), false)
}

// Expired records that a fetch of camera id hit deadline, the one
// Deadline returned for it when the fetch started; it counts as a latency
// of deadline (a lower bound of the real one). A deadline ≤ 0 means the
// camera's current deadline.
func (d *Deadlines) Expired(id string, deadline time.Duration) {
	d.record(id, deadline, deadline <= 0)
}

func (d *Deadlines) record(id string, latency time.Duration, expired bool) {
	v, ok := d.cams.Load(id)
	if !ok {
		v, _ = d.cams.LoadOrStore(id, &latencies{ring: make([]time.Duration, d.o.Window), deadline: d.o.Initial})
	}
	l := v.(*latencies)
	l.mu.Lock()
	defer l.mu.Unlock()
	if expired {
		latency = l.deadline
	}
	l.ring[l.next] = latency
	l.next = (l.next + 1) % len(l.ring)
	l.n = min(l.n+1, len(l.ring))
	if l.n < d.o.MinSamples {
		return
	}
	q := quantile(l.ring[:l.n], d.o.Quantile)
	dl := time.Duration(math.Min(float64(q)*d.o.K, float64(d.o.Cap)))
	l.deadline = min(max(dl, d.o.Floor), d.o.Cap)
}

// Samples returns how many latencies of camera id are held (≤ Window).
func (d *Deadlines) Samples(id string) int {
	v, ok := d.cams.Load(id)
	if !ok {
		return 0
	}
	l := v.(*latencies)
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.n
}

// Forget drops what was learned of camera id (a camera removed from the
// registry).
func (d *Deadlines) Forget(id string) { d.cams.Delete(id) }

// quantile returns the q-quantile of s (nearest rank: the ⌈q·n⌉-th
// smallest) without modifying s.
func quantile(s []time.Duration, q float64) time.Duration {
	r := int(math.Ceil(q*float64(len(s)))) - 1
	if r >= len(s)-1 { // the maximum (q=0.99 with fewer than 100 samples)
		return slices.Max(s)
	}
	var buf [128]time.Duration
	c := append(buf[:0], s...)
	slices.Sort(c)
	return c[max(r, 0)]
}
