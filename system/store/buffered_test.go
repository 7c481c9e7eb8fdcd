package store_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.mongodb.org/mongo-driver/bson"

	"github.com/camload/camload/internal/cfgerr"
	"github.com/camload/camload/internal/testenv"
	"github.com/camload/camload/system/store"
)

// fakeStore stores observations in memory by ObservationID and fails
// writes while down. It counts how often each frame was stored.
type fakeStore struct {
	store.Store // reads are not used by these tests

	mu     sync.Mutex
	down   bool
	stored map[string]int
	writes int
	closed bool
}

var errDown = errors.New("fake: connection refused")

func newFake() *fakeStore { return &fakeStore{stored: map[string]int{}} }

func (f *fakeStore) setDown(down bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.down = down
}

func (f *fakeStore) InsertObservation(ctx context.Context, o store.Observation) error {
	return f.InsertObservations(ctx, []store.Observation{o})
}

func (f *fakeStore) InsertObservations(ctx context.Context, obs []store.Observation) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.writes++
	if f.down {
		return fmt.Errorf("inserting %d: %w", len(obs), errDown)
	}
	for _, o := range obs {
		f.stored[store.ObservationID(o)]++
	}
	return nil
}

func (f *fakeStore) Close(context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closed = true
	return nil
}

// counts returns how many frames are stored, and how many more than once.
func (f *fakeStore) counts() (frames, dups int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, n := range f.stored {
		frames++
		if n > 1 {
			dups++
		}
	}
	return frames, dups
}

func fastBuffer(capacity int) store.BufferOptions {
	o := store.DefaultBufferOptions
	o.Capacity = capacity
	o.Batch = 7
	o.MinBackoff = time.Millisecond
	o.MaxBackoff = 10 * time.Millisecond
	o.AttemptTimeout = 5 * time.Second
	return o
}

func observations(prefix string, n int) []store.Observation {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	obs := make([]store.Observation, n)
	for i := range obs {
		obs[i] = obsOf(fmt.Sprintf("%s-%02d", prefix, i%10), i, t0.Add(time.Duration(i)*time.Second), i%100)
	}
	return obs
}

// waitFor polls cond for at most 20 s (bounded), failing the test when it
// never holds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for i := 0; i < 2000; i++ {
		if cond() {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

func TestBufferedOutageRecovery(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	inner := newFake()
	reg := prometheus.NewPedanticRegistry()
	b, err := store.NewBuffered(inner, reg, fastBuffer(1000))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close(ctx)

	inner.setDown(true)
	obs := observations("cam", 60)
	for _, o := range obs[:30] {
		if err := b.InsertObservation(ctx, o); err != nil {
			t.Fatalf("InsertObservation during outage = %v; want nil (buffered)", err)
		}
	}
	if err := b.InsertObservations(ctx, obs[30:]); err != nil {
		t.Fatalf("InsertObservations during outage = %v; want nil (buffered)", err)
	}
	// The retrier keeps failing while the store is down.
	waitFor(t, "a failed retry", func() bool {
		return metric(t, reg, "camload_store_buffer_retries_total", "error") >= 2
	})
	if got := b.Pending(); got != 60 {
		t.Fatalf("Pending() during outage = %d; want 60", got)
	}
	if frames, _ := inner.counts(); frames != 0 {
		t.Fatalf("stored during outage = %d; want 0", frames)
	}
	inner.setDown(false)
	waitFor(t, "the buffer to drain", func() bool { return b.Pending() == 0 })
	frames, dups := inner.counts()
	if frames != 60 || dups != 0 {
		t.Errorf("after recovery: %d frames stored, %d more than once; want 60, 0", frames, dups)
	}
	checks := []struct {
		name, label string
		want        float64
	}{
		{"camload_store_buffered_total", "", 60},
		{"camload_store_buffer_delivered_total", "", 60},
		{"camload_store_buffer_dropped_total", "", 0},
		{"camload_store_buffer_pending", "", 0},
	}
	for _, c := range checks {
		if got := metric(t, reg, c.name, c.label); got != c.want {
			t.Errorf("%s = %v; want %v", c.name, got, c.want)
		}
	}
	if ok := metric(t, reg, "camload_store_buffer_retries_total", "ok"); ok < 60/7 {
		t.Errorf("successful retries = %v; want ≥ %d batches", ok, 60/7)
	}
}

// metric reads one registered counter or gauge: with result "" the sum of
// its series (a label-less metric has one), else its series of that result.
func metric(t *testing.T, reg *prometheus.Registry, name, result string) float64 {
	t.Helper()
	var labels []string
	if result != "" {
		labels = []string{"result", result}
	}
	v, ok := testenv.Metric(t, reg, name, labels...)
	if !ok {
		t.Fatalf("metric %s{%s} not registered", name, result)
	}
	return v
}

func TestBufferedCapacity(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	inner := newFake()
	inner.setDown(true)
	reg := prometheus.NewPedanticRegistry()
	opts := fastBuffer(5)
	opts.MinBackoff, opts.MaxBackoff = time.Hour, time.Hour // no retry during the test
	b, err := store.NewBuffered(inner, reg, opts)
	if err != nil {
		t.Fatal(err)
	}
	obs := observations("cam", 8)
	if err := b.InsertObservations(ctx, obs[:4]); err != nil {
		t.Fatalf("InsertObservations(4 of capacity 5) = %v", err)
	}
	err = b.InsertObservations(ctx, obs[4:])
	if !errors.Is(err, store.ErrBufferFull) {
		t.Fatalf("InsertObservations(4 more) = %v; want ErrBufferFull", err)
	}
	if got := metric(t, reg, "camload_store_buffer_dropped_total", ""); got != 3 {
		t.Errorf("dropped = %v; want 3", got)
	}
	// Invalid observations are refused, not buffered.
	if err := b.InsertObservation(ctx, store.Observation{CameraID: "x"}); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("InsertObservation(invalid) = %v; want ErrInvalid", err)
	}
	// Close flushes once the store is back.
	inner.setDown(false)
	if err := b.Close(ctx); err != nil {
		t.Fatalf("Close() = %v", err)
	}
	if frames, dups := inner.counts(); frames != 5 || dups != 0 {
		t.Errorf("after Close: %d frames, %d duplicated; want 5, 0", frames, dups)
	}
	if !inner.closed {
		t.Error("Close did not close the inner store")
	}
	if err := b.InsertObservation(ctx, obs[0]); !errors.Is(err, store.ErrClosed) {
		t.Errorf("InsertObservation after Close = %v; want ErrClosed", err)
	}
}

// TestBufferedCloseWhileDown counts what Close cannot write as dropped.
func TestBufferedCloseWhileDown(t *testing.T) {
	t.Parallel()
	inner := newFake()
	inner.setDown(true)
	reg := prometheus.NewPedanticRegistry()
	b, err := store.NewBuffered(inner, reg, fastBuffer(100))
	if err != nil {
		t.Fatal(err)
	}
	if err := b.InsertObservations(context.Background(), observations("cam", 10)); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := b.Close(ctx); !errors.Is(err, errDown) {
		t.Errorf("Close() while down = %v; want the store's error", err)
	}
	if got := metric(t, reg, "camload_store_buffer_dropped_total", ""); got != 10 {
		t.Errorf("dropped at Close = %v; want 10", got)
	}
}

func TestBufferedOptions(t *testing.T) {
	t.Parallel()
	bad := []struct {
		name  string
		mod   func(*store.BufferOptions)
		field string
	}{
		{"zero capacity", func(o *store.BufferOptions) { o.Capacity = 0 }, "buffer.capacity"},
		{"zero batch", func(o *store.BufferOptions) { o.Batch = 0 }, "buffer.batch"},
		{"no backoff", func(o *store.BufferOptions) { o.MinBackoff = 0 }, "buffer.min-backoff"},
		{"max < min", func(o *store.BufferOptions) { o.MaxBackoff = time.Millisecond }, "buffer.max-backoff"},
		{"no timeout", func(o *store.BufferOptions) { o.AttemptTimeout = 0 }, "buffer.attempt-timeout"},
	}
	for _, tt := range bad {
		o := store.DefaultBufferOptions
		tt.mod(&o)
		_, err := store.NewBuffered(newFake(), nil, o)
		var ce *cfgerr.Error
		if !errors.As(err, &ce) || ce.Field != tt.field {
			t.Errorf("%s: NewBuffered(%+v) = %v; want a cfgerr naming %s", tt.name, o, err, tt.field)
		}
	}
	reg := prometheus.NewRegistry()
	b, err := store.NewBuffered(newFake(), reg, store.DefaultBufferOptions)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close(context.Background())
	if _, err := store.NewBuffered(newFake(), reg, store.DefaultBufferOptions); err == nil {
		t.Error("NewBuffered registering twice on one registry = nil; want an error")
	}
}

// proxy is a loopback TCP proxy that can refuse service: while down it
// closes every connection, as a MongoDB that went away would.
type proxy struct {
	ln     net.Listener
	target string

	mu    sync.Mutex
	down  bool
	conns map[net.Conn]struct{}
	wg    sync.WaitGroup
}

func newProxy(t *testing.T, target string) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln, target: target, conns: map[net.Conn]struct{}{}}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(p.close)
	return p
}

func (p *proxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		if p.down {
			p.mu.Unlock()
			c.Close()
			continue
		}
		up, err := net.DialTimeout("tcp", p.target, 5*time.Second)
		if err != nil {
			p.mu.Unlock()
			c.Close()
			continue
		}
		p.conns[c], p.conns[up] = struct{}{}, struct{}{}
		p.wg.Add(2)
		p.mu.Unlock()
		pipe := func(dst, src net.Conn) {
			defer p.wg.Done()
			_, _ = io.Copy(dst, src)
			dst.Close()
			src.Close()
		}
		go pipe(up, c)
		go pipe(c, up)
	}
}

// setDown refuses new connections and cuts the open ones (down) or serves
// again (up).
func (p *proxy) setDown(down bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = down
	if down {
		for c := range p.conns {
			c.Close()
		}
		clear(p.conns)
	}
}

func (p *proxy) close() {
	p.ln.Close()
	p.setDown(true)
	p.wg.Wait()
}

func (p *proxy) uri() string { return "mongodb://" + p.ln.Addr().String() + "/" }

// TestBufferedMongoOutage cuts the connection to a real FerretDB, writes,
// brings it back and checks that every observation is stored exactly
// once.
func TestBufferedMongoOutage(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be backend) {
		ctx := testCtx(t)
		direct := openStore(t, be) // creates and later drops the database
		host := be.uri[len("mongodb://"):]
		host = host[:len(host)-1]
		px := newProxy(t, host)
		ms, err := store.OpenMongo(ctx, px.uri(), direct.Database().Name(), store.ConnectTimeout(500*time.Millisecond), store.SkipIndexes())
		if err != nil {
			t.Fatal(err)
		}
		reg := prometheus.NewPedanticRegistry()
		opts := fastBuffer(1000)
		opts.Batch = 20
		opts.MaxBackoff = 200 * time.Millisecond
		b, err := store.NewBuffered(ms, reg, opts)
		if err != nil {
			t.Fatal(err)
		}
		defer b.Close(ctx)

		obs := observations("cam", 90)
		if err := b.InsertObservations(ctx, obs[:30]); err != nil { // before the outage
			t.Fatalf("InsertObservations(up) = %v", err)
		}
		px.setDown(true)
		for _, o := range obs[30:60] {
			wctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			err := b.InsertObservation(wctx, o)
			cancel()
			if err != nil {
				t.Fatalf("InsertObservation(down) = %v; want nil (buffered)", err)
			}
		}
		if err := b.InsertObservations(ctx, obs[60:]); err != nil {
			t.Fatalf("InsertObservations(down) = %v; want nil (buffered)", err)
		}
		waitFor(t, "a failed retry", func() bool {
			return metric(t, reg, "camload_store_buffer_retries_total", "error") >= 1
		})
		if b.Pending() < 60 {
			t.Fatalf("Pending() during outage = %d; want ≥ 60", b.Pending())
		}
		px.setDown(false)
		waitFor(t, "the buffer to drain", func() bool { return b.Pending() == 0 })

		coll := direct.Database().Collection(store.ObservationsCollection)
		n, err := coll.CountDocuments(ctx, bson.D{})
		if err != nil || n != int64(len(obs)) {
			t.Errorf("observations stored = %d, %v; want %d", n, err, len(obs))
		}
		for _, o := range obs {
			if c, err := coll.CountDocuments(ctx, bson.D{{Key: "_id", Value: store.ObservationID(o)}}); err != nil || c != 1 {
				t.Fatalf("observation %s stored %d times (%v); want once", store.ObservationID(o), c, err)
			}
		}
		// The latest state is the newest observation of each camera.
		for cam := 0; cam < 10; cam++ {
			id := fmt.Sprintf("cam-%02d", cam)
			got, err := direct.Latest(ctx, id)
			if err != nil || got.Cycle != int64(80+cam) {
				t.Errorf("Latest(%s) = cycle %d, %v; want %d", id, got.Cycle, err, 80+cam)
			}
		}
		if d := metric(t, reg, "camload_store_buffer_dropped_total", ""); d != 0 {
			t.Errorf("dropped = %v; want 0", d)
		}
	})
}
