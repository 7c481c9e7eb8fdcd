package store

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/camload/camload/internal/cfgerr"
)

// Errors of Buffered.
var (
	// ErrBufferFull is returned (wrapped) when observations were dropped
	// because the buffer was full.
	ErrBufferFull = errors.New("store: write buffer full")
	// ErrClosed is returned by writes after Close.
	ErrClosed = errors.New("store: closed")
)

// BufferOptions configures Buffered. Start from DefaultBufferOptions.
type BufferOptions struct {
	// Capacity is how many observations are held while the inner store
	// fails; beyond it observations are dropped and counted.
	Capacity int
	// Batch is how many observations one retry writes.
	Batch int
	// MinBackoff is the wait after the first failed retry; it doubles
	// after each further failure up to MaxBackoff.
	MinBackoff, MaxBackoff time.Duration
	// AttemptTimeout bounds one retry.
	AttemptTimeout time.Duration
}

// DefaultBufferOptions hold a few cycles of a 1000-camera fleet.
var DefaultBufferOptions = BufferOptions{
	Capacity:       10000,
	Batch:          500,
	MinBackoff:     100 * time.Millisecond,
	MaxBackoff:     5 * time.Second,
	AttemptTimeout: 10 * time.Second,
}

func (o BufferOptions) validate() error {
	var errs []error
	if o.Capacity < 1 {
		errs = append(errs, cfgerr.Field("buffer.capacity", "%d: must be ≥ 1", o.Capacity))
	}
	if o.Batch < 1 {
		errs = append(errs, cfgerr.Field("buffer.batch", "%d: must be ≥ 1", o.Batch))
	}
	if o.MinBackoff <= 0 {
		errs = append(errs, cfgerr.Field("buffer.min-backoff", "%s: must be > 0", o.MinBackoff))
	}
	if o.MaxBackoff < o.MinBackoff {
		errs = append(errs, cfgerr.Field("buffer.max-backoff", "%s: must be ≥ min-backoff %s", o.MaxBackoff, o.MinBackoff))
	}
	if o.AttemptTimeout <= 0 {
		errs = append(errs, cfgerr.Field("buffer.attempt-timeout", "%s: must be > 0", o.AttemptTimeout))
	}
	return cfgerr.Join(errs...)
}

// Buffered is a Store that survives an outage of the store it wraps: an
// observation whose write fails is kept in a bounded buffer and written
// again in the background, with exponential backoff, until it is stored.
// While the buffer holds anything, new observations join it behind the
// older ones instead of hitting the failing store. Writes are idempotent
// (ObservationID), so a retried write never stores a frame twice. Reads
// and camera upserts pass through. Buffered is safe for concurrent use.
//
// Buffered owns one goroutine, which Close stops.
type Buffered struct {
	inner Store
	opts  BufferOptions

	mu     sync.Mutex
	queue  []Observation // oldest first; only the deliverer removes
	closed bool

	deliverMu sync.Mutex // one delivery at a time: retrier or Flush
	wake      chan struct{}
	stop      context.CancelFunc
	done      chan struct{}

	m bufferMetrics
}

var _ Store = (*Buffered)(nil)

type bufferMetrics struct {
	pending   prometheus.Gauge
	buffered  prometheus.Counter
	dropped   prometheus.Counter
	retries   *prometheus.CounterVec
	delivered prometheus.Counter
}

// NewBuffered wraps inner. Its metrics are registered on reg:
// camload_store_buffer_pending, camload_store_buffered_total,
// camload_store_buffer_dropped_total, camload_store_buffer_retries_total
// {result="ok|error"} and camload_store_buffer_delivered_total.
func NewBuffered(inner Store, reg prometheus.Registerer, opts BufferOptions) (*Buffered, error) {
	if inner == nil {
		return nil, errors.New("store: NewBuffered: nil inner store")
	}
	if err := opts.validate(); err != nil {
		return nil, err
	}
	m := bufferMetrics{
		pending: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "camload_store_buffer_pending",
			Help: "Observations waiting in the write buffer for the store to come back.",
		}),
		buffered: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "camload_store_buffered_total",
			Help: "Observations put in the write buffer because the store failed or others were waiting.",
		}),
		dropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "camload_store_buffer_dropped_total",
			Help: "Observations lost: the write buffer was full, or the store was still down at Close.",
		}),
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "camload_store_buffer_retries_total",
			Help: "Attempts to write buffered observations, by result.",
		}, []string{"result"}),
		delivered: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "camload_store_buffer_delivered_total",
			Help: "Buffered observations written to the store.",
		}),
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{m.pending, m.buffered, m.dropped, m.retries, m.delivered} {
			if err := reg.Register(c); err != nil {
				return nil, fmt.Errorf("store: registering buffer metrics: %w", err)
			}
		}
	}
	m.retries.WithLabelValues("ok")
	m.retries.WithLabelValues("error")

	ctx, stop := context.WithCancel(context.Background())
	b := &Buffered{
		inner: inner,
		opts:  opts,
		wake:  make(chan struct{}, 1),
		stop:  stop,
		done:  make(chan struct{}),
		m:     m,
	}
	go b.run(ctx)
	return b, nil
}

// Pending is the number of observations waiting in the buffer.
func (b *Buffered) Pending() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.queue)
}

// InsertObservation writes o, or buffers it when the store fails (the
// error is then nil: o will be written). It returns an error wrapping
// ErrBufferFull when o had to be dropped, and inner errors marked
// ErrInvalid as they are.
func (b *Buffered) InsertObservation(ctx context.Context, o Observation) error {
	return b.write(ctx, []Observation{o}, func() error { return b.inner.InsertObservation(ctx, o) })
}

// InsertObservations writes obs, or buffers them when the store fails
// (see InsertObservation).
func (b *Buffered) InsertObservations(ctx context.Context, obs []Observation) error {
	if len(obs) == 0 {
		return nil
	}
	return b.write(ctx, obs, func() error { return b.inner.InsertObservations(ctx, obs) })
}

func (b *Buffered) write(_ context.Context, obs []Observation, insert func() error) error {
	b.mu.Lock()
	closed, waiting := b.closed, len(b.queue) > 0
	b.mu.Unlock()
	if closed {
		return ErrClosed
	}
	for i, o := range obs {
		// Refuse now what no retry could store, so that it never
		// poisons a buffered batch.
		if err := validObservation(o); err != nil {
			return fmt.Errorf("observation %d: %w", i, err)
		}
	}
	var cause error
	if !waiting {
		cause = insert()
		if cause == nil || errors.Is(cause, ErrInvalid) {
			return cause
		}
	}
	return b.enqueue(obs, cause)
}

// enqueue buffers what fits of obs and wakes the retrier.
func (b *Buffered) enqueue(obs []Observation, cause error) error {
	b.mu.Lock()
	room := b.opts.Capacity - len(b.queue)
	if b.closed {
		room = 0
	}
	n := min(max(room, 0), len(obs))
	b.queue = append(b.queue, obs[:n]...)
	b.m.pending.Set(float64(len(b.queue)))
	b.mu.Unlock()

	b.m.buffered.Add(float64(n))
	if n > 0 {
		select {
		case b.wake <- struct{}{}:
		default:
		}
	}
	if dropped := len(obs) - n; dropped > 0 {
		b.m.dropped.Add(float64(dropped))
		if cause == nil {
			cause = errors.New("earlier observations still waiting")
		}
		return fmt.Errorf("%w: %d of %d observations dropped (capacity %d): %w", ErrBufferFull, dropped, len(obs), b.opts.Capacity, cause)
	}
	return nil
}

// run is the retrier: woken by the first buffered observation, it writes
// batches until the buffer is empty, backing off after each failure.
func (b *Buffered) run(ctx context.Context) {
	defer close(b.done)
	var backoff time.Duration // 0 = not backing off: wait for a wake-up
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	for {
		if backoff == 0 {
			select {
			case <-ctx.Done():
				return
			case <-b.wake:
			}
		} else {
			timer.Reset(backoff)
			select {
			case <-ctx.Done():
				return
			case <-timer.C:
			}
		}
		backoff = 0
		for ctx.Err() == nil {
			n, err := b.deliver(ctx)
			if err != nil {
				backoff = b.nextBackoff(backoff)
				break
			}
			if n == 0 {
				break
			}
		}
	}
}

func (b *Buffered) nextBackoff(cur time.Duration) time.Duration {
	if cur == 0 {
		return b.opts.MinBackoff
	}
	return min(2*cur, b.opts.MaxBackoff)
}

// deliver writes the oldest batch, removing it from the buffer on
// success. It returns how many observations it wrote.
func (b *Buffered) deliver(ctx context.Context) (int, error) {
	b.deliverMu.Lock()
	defer b.deliverMu.Unlock()
	b.mu.Lock()
	n := min(len(b.queue), b.opts.Batch)
	batch := append([]Observation(nil), b.queue[:n]...)
	b.mu.Unlock()
	if n == 0 {
		return 0, nil
	}
	actx, cancel := context.WithTimeout(ctx, b.opts.AttemptTimeout)
	err := b.inner.InsertObservations(actx, batch)
	cancel()
	if err != nil {
		b.m.retries.WithLabelValues("error").Inc()
		if errors.Is(err, ErrInvalid) {
			// Retrying cannot help: drop the batch, counted.
			b.remove(n)
			b.m.dropped.Add(float64(n))
		}
		return 0, fmt.Errorf("store: writing %d buffered observations: %w", n, err)
	}
	b.m.retries.WithLabelValues("ok").Inc()
	b.m.delivered.Add(float64(n))
	b.remove(n)
	return n, nil
}

// remove drops the n oldest observations (already delivered or dropped).
func (b *Buffered) remove(n int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	clear(b.queue[:n]) // no references kept by the backing array
	b.queue = b.queue[n:]
	if len(b.queue) == 0 {
		b.queue = nil // let the backing array go
	}
	b.m.pending.Set(float64(len(b.queue)))
}

// Flush writes everything buffered now, in batches, until the buffer is
// empty, a write fails or ctx ends.
func (b *Buffered) Flush(ctx context.Context) error {
	for {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("store: flushing %d buffered observations: %w", b.Pending(), err)
		}
		n, err := b.deliver(ctx)
		if err != nil {
			return fmt.Errorf("store: flushing (%d left): %w", b.Pending(), err)
		}
		if n == 0 {
			return nil
		}
	}
}

// Close stops the retrier, flushes what it can within ctx, counts what is
// left as dropped and closes the inner store. Writes after Close fail with
// ErrClosed.
func (b *Buffered) Close(ctx context.Context) error {
	b.mu.Lock()
	already := b.closed
	b.closed = true
	b.mu.Unlock()
	if already {
		return nil
	}
	b.stop()
	<-b.done
	var errs []error
	if err := b.Flush(ctx); err != nil {
		b.mu.Lock()
		lost := len(b.queue)
		b.queue = nil
		b.m.pending.Set(0)
		b.mu.Unlock()
		b.m.dropped.Add(float64(lost))
		errs = append(errs, fmt.Errorf("store: closing with %d observations not written: %w", lost, err))
	}
	if err := b.inner.Close(ctx); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// UpsertCameras passes through.
func (b *Buffered) UpsertCameras(ctx context.Context, cams []Camera) error {
	return b.inner.UpsertCameras(ctx, cams)
}

// Cameras passes through.
func (b *Buffered) Cameras(ctx context.Context, f Filter, p Page) ([]Camera, int, error) {
	return b.inner.Cameras(ctx, f, p)
}

// Camera passes through.
func (b *Buffered) Camera(ctx context.Context, id string) (Camera, error) {
	return b.inner.Camera(ctx, id)
}

// Latest passes through: an observation still in the buffer is not seen.
func (b *Buffered) Latest(ctx context.Context, cameraID string) (Observation, error) {
	return b.inner.Latest(ctx, cameraID)
}

// Stats passes through.
func (b *Buffered) Stats(ctx context.Context) (Stats, error) { return b.inner.Stats(ctx) }

// Ping passes through.
func (b *Buffered) Ping(ctx context.Context) error { return b.inner.Ping(ctx) }
