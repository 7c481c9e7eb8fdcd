// Package simulator is a fake-camera fleet: thousands of cameras behind a
// few HTTP hosts, serving real JPEG street scenes with a known number of
// vehicles, with realistic latency, host capacity limits, connection costs
// and faults, all deterministic with a seed, and a control API that tells
// clients the ground truth and exactly which faults it injected.
//
// A Fleet is built with New (which validates and renders, starting no
// goroutines), served with Start and stopped with Close or by ending Start's
// context.
package simulator

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// ErrStarted is returned by a second Start.
var ErrStarted = errors.New("simulator: fleet already started")

// Option configures a Fleet.
type Option func(*Fleet)

// WithRegisterer registers the fleet's metrics on r (nil: not registered).
// The control API's /metrics always serves them from the fleet's own
// registry.
func WithRegisterer(r prometheus.Registerer) Option { return func(f *Fleet) { f.reg = r } }

// WithClock makes the fleet read the time from now (tests); the default is
// time.Now.
func WithClock(now func() time.Time) Option { return func(f *Fleet) { f.now = now } }

// Fleet is a running (or ready to run) camera fleet. Its methods are safe
// for concurrent use.
type Fleet struct {
	cfg         Config
	reg         prometheus.Registerer
	own         *prometheus.Registry
	now         func() time.Time
	frames      []*frame
	placeholder *frame
	garbage     []byte
	cams        []cameraInfo
	counters    []atomic.Uint64 // snapshot requests per camera (fault and latency draws)
	states      []atomic.Pointer[camState]
	sampler     *Sampler
	hosts       []*host // the hosts this fleet serves (all, or its shard's)
	local       []int   // global host index → index in hosts, -1: another shard's
	shard       Shard
	peers       []string
	devices     []limiter // per-camera capacity; nil: no per-camera limit
	devReset    bool      // a full camera resets (else 503)
	faults      faultCounter
	logCap      int
	ui          bool      // WithUI: the camera wall on the control API (ui.go)
	log         *fetchLog // nil: no fetch log
	started     time.Time // Last-Modified of the placeholder
	startedHdr  []string  // started in http.TimeFormat

	startOnce sync.Once
	closeOnce sync.Once
	ctx       context.Context
	cancel    context.CancelFunc
	servers   []*http.Server
	serveWG   sync.WaitGroup
	track     tracker
	done      chan struct{} // closed when everything has stopped
	cert      *x509.CertPool
	ctrlURL   string
	hostURLs  []string
}

// New validates cfg, builds the inventory and renders the frames. It
// starts no goroutines.
func New(cfg Config, opts ...Option) (*Fleet, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Frames == 0 {
		cfg.Frames = DefaultFrames
	}
	if cfg.Latency.Dist == "" {
		cfg.Latency.Dist = DistNone
	}
	f := &Fleet{cfg: cfg, now: time.Now, done: make(chan struct{}), logCap: DefaultFetchLog}
	for _, o := range opts {
		o(f)
	}
	if f.logCap > 0 {
		f.log = newFetchLog(f.logCap)
	}
	var err error
	if f.frames, err = renderFrames(context.Background(), cfg, cfg.Frames); err != nil {
		return nil, fmt.Errorf("simulator: rendering frames: %w", err)
	}
	if f.placeholder, err = renderPlaceholder(cfg.Width, cfg.Height, cfg.Quality); err != nil {
		return nil, fmt.Errorf("simulator: %w", err)
	}
	f.garbage = make([]byte, len(f.frames[len(f.frames)/2].body))
	for i := range f.garbage {
		f.garbage[i] = byte(hash4(uint64(cfg.Seed), saltScene, 1<<40, uint64(i)))
	}
	f.garbage[0] = 0x00 // never a JPEG SOI marker
	f.sampler = NewSampler(cfg.Latency, cfg.Seed)
	f.cams = buildInventory(cfg, len(f.frames), f.sampler)
	f.counters = make([]atomic.Uint64, cfg.Cameras)
	f.states = make([]atomic.Pointer[camState], cfg.Cameras)
	if err := f.shard.check(cfg.Hosts); err != nil {
		return nil, shardError(err)
	}
	f.local = make([]int, cfg.Hosts)
	for i := range f.local {
		f.local[i] = -1
		if f.shard.servesHost(i) {
			f.local[i] = len(f.hosts)
			f.hosts = append(f.hosts, newHost(f, i))
		}
	}
	if d := cfg.Capacity.Device; d.Concurrent > 0 {
		f.devices = make([]limiter, cfg.Cameras)
		for i := range f.devices {
			f.devices[i].init(d.Concurrent, d.Queue)
		}
		f.devReset = cfg.Capacity.deviceOverflow() == OverflowReset
	}
	f.faults.init()
	f.started = f.now()
	f.startedHdr = []string{f.started.UTC().Format(http.TimeFormat)}
	f.own = prometheus.NewRegistry()
	col := &collector{f: f}
	if err := f.own.Register(col); err != nil {
		return nil, fmt.Errorf("simulator: registering metrics: %w", err)
	}
	if f.reg != nil {
		if err := f.reg.Register(col); err != nil {
			return nil, fmt.Errorf("simulator: registering metrics: %w", err)
		}
	}
	return f, nil
}

// serves reports whether camera i is served by this fleet (its shard's).
func (f *Fleet) serves(i int) bool { return f.local[f.cams[i].host] >= 0 }

// Config returns the fleet's configuration (with defaults filled in).
func (f *Fleet) Config() Config { return f.cfg }

// Cameras returns the inventory this fleet serves (its shard's cameras
// when sharded), in id order, with statuses as of now and snapshot URLs
// (empty before Start when the listen port is 0).
func (f *Fleet) Cameras() []Camera {
	now := f.now()
	urls := f.HostURLs()
	out := make([]Camera, 0, len(f.cams))
	for i := range f.cams {
		if !f.serves(i) {
			continue
		}
		c := f.cams[i].Camera
		if f.offline(i, now) {
			c.Status = StatusOffline
		}
		if u := urls[f.local[f.cams[i].host]]; u != "" {
			c.SnapshotURL = u + "/cameras/" + c.ID + "/snapshot.jpg"
		}
		out = append(out, c)
	}
	return out
}

// Start listens: the control API on cfg.Listen and host i on port+1+i of
// the same IP (every listener on a free port when the port is 0). It
// returns once all are listening; serving stops when ctx ends or Close is
// called.
func (f *Fleet) Start(ctx context.Context) error {
	err := ErrStarted
	f.startOnce.Do(func() { err = f.start(ctx) })
	return err
}

func (f *Fleet) start(ctx context.Context) error {
	ip, port, err := splitListen(f.cfg.Listen)
	if err != nil {
		return fmt.Errorf("simulator: fleet.listen: %w", err)
	}
	if ip == "" || ip == "0.0.0.0" || ip == "::" {
		ip = "127.0.0.1"
	}
	var tlsCfg *tls.Config
	if f.cfg.TLS {
		if tlsCfg, f.cert, err = selfSignedTLS(f.started); err != nil {
			return fmt.Errorf("simulator: %w", err)
		}
	}
	var lc net.ListenConfig
	listen := func(p int) (net.Listener, error) {
		addr := net.JoinHostPort(ip, strconv.Itoa(p))
		l, err := lc.Listen(ctx, "tcp", addr)
		if err != nil {
			return nil, fmt.Errorf("simulator: listening on %s: %w", addr, err)
		}
		return l, nil
	}
	var ls []net.Listener
	fail := func(err error) error {
		for _, l := range ls {
			l.Close()
		}
		close(f.done)
		return err
	}
	ctl, err := listen(port)
	if err != nil {
		return fail(err)
	}
	ls = append(ls, ctl)
	scheme := "http"
	if f.cfg.TLS {
		scheme = "https"
	}
	urls := make([]string, len(f.hosts))
	for i := range f.hosts {
		p := 0
		if port != 0 {
			p = port + 1 + i
		}
		l, err := listen(p)
		if err != nil {
			return fail(err)
		}
		ls = append(ls, l)
		urls[i] = scheme + "://" + l.Addr().String()
	}
	f.ctx, f.cancel = context.WithCancel(ctx)
	base := func(net.Listener) context.Context { return f.ctx }
	f.ctrlURL = "http://" + ctl.Addr().String()
	f.hostURLs = urls
	quiet := log.New(io.Discard, "", 0) // a library does not print: TLS and accept errors are the clients' to see
	f.servers = append(f.servers, &http.Server{Handler: f.ControlHandler(), BaseContext: base, ReadHeaderTimeout: 10 * time.Second, ErrorLog: quiet})
	for i, h := range f.hosts {
		srv := &http.Server{Handler: h, BaseContext: base, ConnContext: hostConnContext, ReadHeaderTimeout: time.Minute, IdleTimeout: 2 * time.Minute, ErrorLog: quiet}
		var l net.Listener = &countingListener{Listener: ls[1+i], h: h, delay: f.cfg.Capacity.Handshake, done: f.ctx.Done()}
		if tlsCfg != nil {
			l = tls.NewListener(l, tlsCfg)
		}
		ls[1+i] = l
		f.servers = append(f.servers, srv)
	}
	for i, srv := range f.servers {
		f.serveWG.Add(1)
		go func() {
			defer f.serveWG.Done()
			_ = srv.Serve(ls[i]) // always ErrServerClosed after Close
		}()
	}
	go func() { // owner of the shutdown: runs once the fleet's context ends
		<-f.ctx.Done()
		f.track.close()
		for _, srv := range f.servers {
			srv.Close()
		}
		f.track.wait()
		f.serveWG.Wait()
		close(f.done)
	}()
	return nil
}

// Close stops every listener and connection and waits for every goroutine
// the fleet started. It is safe to call more than once and before Start.
func (f *Fleet) Close() error {
	f.startOnce.Do(func() { close(f.done) }) // never started: nothing to stop
	f.closeOnce.Do(func() {
		if f.cancel != nil {
			f.cancel()
		}
	})
	<-f.done
	return nil
}

// Done is closed when the fleet has stopped serving (after Close, or after
// Start's context ended and everything shut down).
func (f *Fleet) Done() <-chan struct{} { return f.done }

// ControlURL is the control API's base URL, "http://127.0.0.1:PORT"
// (empty before Start).
func (f *Fleet) ControlURL() string { return f.ctrlURL }

// HostURLs are the base URLs of the hosts this fleet serves (its shard's
// when sharded), in host order; the k-th listens on the control port+1+k.
// Before Start they are derived from cfg.Listen (empty strings when its
// port is 0).
func (f *Fleet) HostURLs() []string {
	if f.hostURLs != nil {
		return append([]string(nil), f.hostURLs...)
	}
	out := make([]string, len(f.hosts))
	ip, port, err := splitListen(f.cfg.Listen)
	if err != nil || port == 0 {
		return out
	}
	if ip == "" || ip == "0.0.0.0" || ip == "::" {
		ip = "127.0.0.1"
	}
	scheme := "http"
	if f.cfg.TLS {
		scheme = "https"
	}
	for i := range out {
		out[i] = scheme + "://" + net.JoinHostPort(ip, strconv.Itoa(port+1+i))
	}
	return out
}

// HostHandler is the snapshot handler of the fleet's i-th host (in
// HostURLs order), for mounting on httptest
// servers. Connection-level behaviour (handshake delay, resets of an
// httptest connection) still works; TLS is the test server's.
func (f *Fleet) HostHandler(i int) http.Handler { return f.hosts[i] }

// RootCAs holds the self-signed certificate of a TLS fleet (nil otherwise
// or before Start), for clients that verify it.
func (f *Fleet) RootCAs() *x509.CertPool { return f.cert }

// Truth is the ground truth of a camera's frame at some instant.
type Truth struct {
	CameraID    string    `json:"cameraId"`
	Frame       int64     `json:"frame"`
	CapturedAt  time.Time `json:"capturedAt"`
	Vehicles    int       `json:"vehicles"`
	Placeholder bool      `json:"placeholder"`
	ETag        string    `json:"etag"`
}

// Truth returns what camera id shows at instant at (false: no such camera).
// Transient per-request faults are not part of it; offline periods are
// (Placeholder true, Vehicles 0).
func (f *Fleet) Truth(id string, at time.Time) (Truth, bool) {
	i := parseCameraID(id)
	if i < 0 || i >= len(f.cams) {
		return Truth{}, false
	}
	seq, captured := f.seq(i, at)
	t := Truth{CameraID: id, Frame: seq, CapturedAt: captured}
	if f.offline(i, at) {
		t.Placeholder, t.ETag = true, f.placeholder.etag
		return t, true
	}
	fr := f.frameAt(i, seq)
	t.Vehicles, t.ETag = fr.vehicles, fr.etag
	return t, true
}

// seq returns camera i's frame number at t and when that frame was
// captured. Frame n of camera i spans [n·Refresh − phase, (n+1)·Refresh − phase).
func (f *Fleet) seq(i int, t time.Time) (int64, time.Time) {
	r := int64(f.cfg.Refresh)
	n := (t.UnixNano() + f.cams[i].phase) / r
	return n, time.Unix(0, n*r-f.cams[i].phase).UTC()
}

// frameAt maps camera i's frame n onto the rendered frames; consecutive
// frames of a camera always differ.
func (f *Fleet) frameAt(i int, n int64) *frame {
	c := &f.cams[i]
	return f.frames[(c.base+uint64(n)*c.step)%uint64(len(f.frames))]
}

// offline reports whether camera i is in an offline period at t.
func (f *Fleet) offline(i int, t time.Time) bool {
	fc := f.cfg.Faults
	if fc.Offline <= 0 {
		return false
	}
	p := (t.UnixNano() + f.cams[i].offPh) / int64(fc.OfflinePeriod)
	return unit(hash4(uint64(f.cfg.Seed), saltOffline, uint64(i), uint64(p))) < fc.Offline
}

// tracker counts running handlers so Close can wait for them. Handlers
// only take the read lock (they never wait for each other); close takes the
// write lock, so every Add happens before Wait.
type tracker struct {
	mu     sync.RWMutex
	closed bool
	wg     sync.WaitGroup
}

func (t *tracker) enter() bool {
	t.mu.RLock()
	defer t.mu.RUnlock()
	if t.closed {
		return false
	}
	t.wg.Add(1)
	return true
}

func (t *tracker) exit() { t.wg.Done() }

func (t *tracker) close() {
	t.mu.Lock()
	t.closed = true
	t.mu.Unlock()
}

func (t *tracker) wait() { t.wg.Wait() }

// FrameInfo is one of the fleet's rendered frames. JPEG must not be
// modified.
type FrameInfo struct {
	JPEG     []byte
	Vehicles int
	ETag     string
}

// Frames returns every distinct rendered frame (the placeholder excluded),
// for checking an analyzer against the truth.
func (f *Fleet) Frames() []FrameInfo {
	out := make([]FrameInfo, len(f.frames))
	for i, fr := range f.frames {
		out[i] = FrameInfo{JPEG: fr.body, Vehicles: fr.vehicles, ETag: fr.etag}
	}
	return out
}

// Placeholder returns the "camera not available" image.
func (f *Fleet) Placeholder() []byte { return f.placeholder.body }

// Snapshot returns the JPEG camera id serves at instant at when no
// per-request fault hits (the placeholder while offline) and its truth.
func (f *Fleet) Snapshot(id string, at time.Time) ([]byte, Truth, bool) {
	t, ok := f.Truth(id, at)
	if !ok {
		return nil, t, false
	}
	if t.Placeholder {
		return f.placeholder.body, t, true
	}
	return f.frameAt(parseCameraID(id), t.Frame).body, t, true
}

// Connections returns the number of connections the fleet's hosts have
// accepted since Start: a client that reuses keep-alive connections opens a
// few per host, one that does not opens one per snapshot. It is safe for
// concurrent use.
func (f *Fleet) Connections() uint64 {
	var n uint64
	for _, h := range f.hosts {
		n += h.conns.Load()
	}
	return n
}
