package simulator

import (
	"context"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/camload/camload/internal/wait"
)

// Status code labels of the requests metric; codeNone is a request that got
// no HTTP response (reset, hang the client gave up on, overflow reset).
const (
	code200 = iota
	code304
	code404
	code500
	code502
	code503
	codeNone
	nCodes
)

var codeLabels = [nCodes]string{"200", "304", "404", "500", "502", "503", "none"}

// faultKinds lists the kinds in /faults and metric order; index 0 of the
// metric's fault label is "none".
var faultKinds = []string{
	FaultHTTP5xx, FaultHang, FaultReset, FaultTruncated, FaultGarbage, FaultSlowDrip,
	FaultOversized, FaultPlaceholder, FaultOffline, FaultOverflow503, FaultOverflowReset,
	FaultDeviceOverflow503, FaultDeviceOverflowReset,
}

const (
	kHTTP5xx = iota
	kHang
	kReset
	kTruncated
	kGarbage
	kSlowDrip
	kOversized
	kPlaceholder
	kOffline
	kOverflow503
	kOverflowReset
	kDeviceOverflow503
	kDeviceOverflowReset
	nKinds
	kNone = -1
)

// limiter is a capacity: a semaphore of service slots and a bounded queue
// of waiters. The zero value (nil slots) is unlimited.
type limiter struct {
	slots   chan struct{} // nil: unlimited
	queue   int64
	waiting atomic.Int64
	active  atomic.Int64
}

func (l *limiter) init(concurrent, queue int) {
	l.queue = int64(queue)
	if concurrent > 0 {
		l.slots = make(chan struct{}, concurrent)
	}
}

// acquire takes a service slot, waiting in the queue if there is room.
// It returns false when the queue is full or ctx ended while waiting.
func (l *limiter) acquire(ctx context.Context) bool {
	if l.slots == nil {
		l.active.Add(1)
		return true
	}
	select {
	case l.slots <- struct{}{}:
		l.active.Add(1)
		return true
	default:
	}
	if l.waiting.Add(1) > l.queue {
		l.waiting.Add(-1)
		return false
	}
	defer l.waiting.Add(-1)
	select {
	case l.slots <- struct{}{}:
		l.active.Add(1)
		return true
	case <-ctx.Done():
		return false
	}
}

func (l *limiter) release() {
	l.active.Add(-1)
	if l.slots != nil {
		<-l.slots
	}
}

// host is one camera gateway: its capacity and its counters.
type host struct {
	limiter
	f     *Fleet
	idx   int
	label string
	conns atomic.Uint64
	bytes atomic.Uint64
	reqs  [nCodes][nKinds + 1]atomic.Uint64
}

func newHost(f *Fleet, i int) *host {
	h := &host{f: f, idx: i, label: strconv.Itoa(i)}
	h.init(f.cfg.Capacity.Concurrent, f.cfg.Capacity.Queue)
	return h
}

// count counts a request's outcome on the host and, when rec is not nil,
// records it in the fetch log. Every snapshot request of an existing
// camera is counted exactly once, just before its answer (or reset) is
// written.
func (h *host) count(rec *fetchRec, code, kind int) {
	h.reqs[code][kind+1].Add(1)
	if rec != nil { // before the answer is written: a client that has it finds it in the log
		rec.code, rec.kind = int8(code), int8(kind)
		h.f.log.add(rec, h.f.now)
	}
}

var (
	hdrJPEG       = []string{"image/jpeg"}
	hdrText       = []string{"text/plain; charset=utf-8"}
	hdrNoCache    = []string{"no-cache"}
	hdrNotFound   = []byte("404 camera not found\n")
	hdrBusy       = []byte("503 camera host busy\n")
	hdrDeviceBusy = []byte("503 camera busy\n")
	hdrRetry      = []string{"1"}
	hdrUpstream   = []byte("camera upstream error\n")
	zeros         = make([]byte, 32<<10)
)

// camState caches the header values of a camera's current frame, so the
// hot path formats nothing until the frame changes.
type camState struct {
	seq      int64
	fr       *frame
	lastMod  []string
	captured []string
	frameNo  []string
}

func (f *Fleet) state(i int, now time.Time) *camState {
	seq, captured := f.seq(i, now)
	if st := f.states[i].Load(); st != nil && st.seq == seq {
		return st
	}
	st := &camState{
		seq: seq, fr: f.frameAt(i, seq),
		lastMod:  []string{captured.Format(http.TimeFormat)},
		captured: []string{captured.Format(time.RFC3339Nano)},
		frameNo:  []string{strconv.FormatInt(seq, 10)},
	}
	f.states[i].Store(st)
	return st
}

// ServeHTTP serves GET /cameras/{id}/snapshot.jpg for the cameras of this host.
func (h *host) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f := h.f
	if !f.track.enter() {
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	defer f.track.exit()
	id, ok := strings.CutPrefix(r.URL.Path, "/cameras/")
	if ok {
		id, ok = strings.CutSuffix(id, "/snapshot.jpg")
	}
	i := -1
	if ok && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
		i = parseCameraID(id)
	}
	if i < 0 || i >= len(f.cams) || f.cams[i].host != h.idx {
		h.count(nil, code404, kNone)
		hd := w.Header()
		hd["Content-Type"] = hdrText
		w.WriteHeader(http.StatusNotFound)
		w.Write(hdrNotFound)
		return
	}
	f.faults.requests.Add(1)
	n := f.counters[i].Add(1) - 1
	ctx := r.Context()
	if f.log != nil {
		rec := fetchRec{cam: int32(i), host: int32(h.idx), start: f.now().UnixNano(), code: codeNone, kind: kNone}
		if ci, _ := ctx.Value(connKey{}).(*connInfo); ci != nil && ci.reqs.Add(1) == 1 {
			rec.newConn = true
		}
		h.serve(w, r, i, n, &rec)
		return
	}
	h.serve(w, r, i, n, nil)
}

// serve answers a snapshot request for camera i, its request n; rec, when
// not nil, receives the drawn latency and the outcome.
func (h *host) serve(w http.ResponseWriter, r *http.Request, i int, n uint64, rec *fetchRec) {
	f := h.f
	ctx := r.Context()
	if !h.acquire(ctx) {
		h.refuse(w, ctx, i, f.cfg.Capacity.Overflow == OverflowReset, kOverflowReset, kOverflow503, hdrBusy, rec)
		return
	}
	defer h.release()
	if f.devices != nil {
		d := &f.devices[i]
		if !d.acquire(ctx) {
			h.refuse(w, ctx, i, f.devReset, kDeviceOverflowReset, kDeviceOverflow503, hdrDeviceBusy, rec)
			return
		}
		defer d.release()
	}

	if d := f.sampler.Sample(i, n); d > 0 {
		if rec != nil {
			rec.latency = int64(d)
		}
		if !wait.Sleep(ctx, d) {
			h.count(rec, codeNone, kNone)
			closeConn(w, false)
			return
		}
	}
	now := f.now()
	if f.offline(i, now) {
		f.faults.add(i, kOffline)
		h.serveFrame(w, r, f.placeholder, nil, kOffline, rec)
		return
	}
	kind := f.drawFault(i, n)
	switch kind {
	case kNone:
		h.serveFrame(w, r, nil, f.state(i, now), kNone, rec)
		return
	case kPlaceholder:
		f.faults.add(i, kind)
		h.serveFrame(w, r, f.placeholder, nil, kind, rec)
		return
	}
	f.faults.add(i, kind)
	hd := w.Header()
	switch kind {
	case kHTTP5xx:
		code, label := http.StatusInternalServerError, code500
		if hash4(uint64(f.cfg.Seed), salt5xx, uint64(i), n)&1 == 1 {
			code, label = http.StatusBadGateway, code502
		}
		h.count(rec, label, kind)
		hd["Content-Type"] = hdrText
		w.WriteHeader(code)
		w.Write(hdrUpstream)
	case kHang:
		t := time.NewTimer(f.cfg.Faults.HangFor)
		select {
		case <-ctx.Done():
			t.Stop()
		case <-t.C:
		}
		h.count(rec, codeNone, kind)
		closeConn(w, false) // never answer: returning would send an empty 200
	case kReset:
		h.count(rec, codeNone, kind)
		resetConn(w)
	case kTruncated:
		body := f.state(i, now).fr.body
		cut := len(body) * (30 + int(hash4(uint64(f.cfg.Seed), saltTruncate, uint64(i), n)%50)) / 100
		h.writeBody(w, r, code200, kind, body[:cut], rec)
	case kGarbage:
		h.writeBody(w, r, code200, kind, f.garbage, rec)
	case kSlowDrip:
		h.slowDrip(w, r, f.state(i, now).fr.body, rec)
	case kOversized:
		h.oversized(w, r, f.state(i, now).fr.body, rec)
	}
}

// refuse answers a request that found a capacity (host or camera) and its
// queue full: a reset or a 503, counted as the given kind; a request whose
// client gave up while queued is only closed.
func (h *host) refuse(w http.ResponseWriter, ctx context.Context, i int, reset bool, kReset, k503 int, body []byte, rec *fetchRec) {
	f := h.f
	if ctx.Err() != nil { // the client gave up (or the fleet closed) while queued
		h.count(rec, codeNone, kNone)
		closeConn(w, false)
		return
	}
	if reset {
		f.faults.add(i, kReset)
		h.count(rec, codeNone, kReset)
		resetConn(w)
		return
	}
	f.faults.add(i, k503)
	h.count(rec, code503, k503)
	hd := w.Header()
	hd["Content-Type"] = hdrText
	hd["Retry-After"] = hdrRetry
	w.WriteHeader(http.StatusServiceUnavailable)
	w.Write(body)
}

// drawFault draws the per-request fault of request n of camera i.
func (f *Fleet) drawFault(i int, n uint64) int {
	u := unit(hash4(uint64(f.cfg.Seed), saltFault, uint64(i), n))
	fc := &f.cfg.Faults
	for k, r := range [...]float64{fc.HTTP5xx, fc.Hang, fc.Reset, fc.Truncated, fc.Garbage, fc.SlowDrip, fc.Oversized, fc.Placeholder} {
		if u < r {
			return k
		}
		u -= r
	}
	return kNone
}

// serveFrame answers 200 (or 304) with a frame: either fr (placeholder) or
// the camera's current frame st.
func (h *host) serveFrame(w http.ResponseWriter, r *http.Request, fr *frame, st *camState, kind int, rec *fetchRec) {
	hd := w.Header()
	if st != nil {
		fr = st.fr
		hd["Last-Modified"] = st.lastMod
		hd["X-Camload-Captured-At"] = st.captured
		hd["X-Camload-Frame"] = st.frameNo
	} else {
		hd["Last-Modified"] = h.f.startedHdr
	}
	hd["Cache-Control"] = hdrNoCache
	if h.f.cfg.ETag {
		hd["Etag"] = fr.hdrETag
		if inm := r.Header["If-None-Match"]; len(inm) > 0 && etagMatch(inm, fr.etag) {
			h.count(rec, code304, kind)
			w.WriteHeader(http.StatusNotModified)
			return
		}
	}
	hd["Content-Type"] = hdrJPEG
	hd["Content-Length"] = fr.hdrLen
	h.count(rec, code200, kind)
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		n, _ := w.Write(fr.body)
		h.bytes.Add(uint64(n))
	}
}

func etagMatch(inm []string, etag string) bool {
	for _, v := range inm {
		if v == etag || v == "*" || strings.Contains(v, etag) {
			return true
		}
	}
	return false
}

// writeBody answers 200 image/jpeg with body (truncated or garbage images).
func (h *host) writeBody(w http.ResponseWriter, r *http.Request, code, kind int, body []byte, rec *fetchRec) {
	hd := w.Header()
	hd["Content-Type"] = hdrJPEG
	hd["Content-Length"] = []string{strconv.Itoa(len(body))}
	h.count(rec, code, kind)
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		n, _ := w.Write(body)
		h.bytes.Add(uint64(n))
	}
}

// slowDrip sends body at cfg.Faults.SlowDripRate bytes/s, in ten chunks a
// second, until done or the client gives up.
func (h *host) slowDrip(w http.ResponseWriter, r *http.Request, body []byte, rec *fetchRec) {
	hd := w.Header()
	hd["Content-Type"] = hdrJPEG
	hd["Content-Length"] = []string{strconv.Itoa(len(body))}
	h.count(rec, code200, kSlowDrip)
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return
	}
	rate := h.f.cfg.Faults.SlowDripRate
	chunk, every := rate/10, 100*time.Millisecond
	if chunk < 1 {
		chunk, every = 1, time.Second/time.Duration(rate)
	}
	rc := http.NewResponseController(w)
	t := time.NewTicker(every)
	defer t.Stop()
	for len(body) > 0 {
		c := min(chunk, len(body))
		n, err := w.Write(body[:c])
		h.bytes.Add(uint64(n))
		if err != nil || rc.Flush() != nil {
			return
		}
		body = body[c:]
		if len(body) == 0 {
			return
		}
		select {
		case <-r.Context().Done():
			return
		case <-t.C:
		}
	}
}

// oversized sends the frame followed by zero padding up to
// cfg.Faults.OversizedBytes.
func (h *host) oversized(w http.ResponseWriter, r *http.Request, body []byte, rec *fetchRec) {
	size := max(h.f.cfg.Faults.OversizedBytes, len(body))
	hd := w.Header()
	hd["Content-Type"] = hdrJPEG
	hd["Content-Length"] = []string{strconv.Itoa(size)}
	h.count(rec, code200, kOversized)
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return
	}
	n, err := w.Write(body)
	h.bytes.Add(uint64(n))
	for left := size - len(body); left > 0 && err == nil; left -= n {
		n, err = w.Write(zeros[:min(left, len(zeros))])
		h.bytes.Add(uint64(n))
	}
}

// resetConn hijacks the connection and closes it with SO_LINGER 0, so the
// client sees a TCP reset.
func resetConn(w http.ResponseWriter) { closeConn(w, true) }

func closeConn(w http.ResponseWriter, reset bool) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return // not hijackable (HTTP/2, a recorder): the handler returning ends the exchange
	}
	if reset {
		if tc := tcpConn(conn); tc != nil {
			tc.SetLinger(0)
		}
	}
	conn.Close()
}

// tcpConn unwraps TLS and our listener wrappers down to the TCP connection.
func tcpConn(c net.Conn) *net.TCPConn {
	for range 8 {
		switch v := c.(type) {
		case *net.TCPConn:
			return v
		case interface{ NetConn() net.Conn }:
			c = v.NetConn()
		default:
			return nil
		}
	}
	return nil
}

// countingListener counts accepted connections per host and, with a delay,
// makes each new connection wait that long before its first read (the cost
// of a connection to a real camera gateway).
type countingListener struct {
	net.Listener
	h     *host
	delay time.Duration
	done  <-chan struct{}
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	l.h.conns.Add(1)
	if l.delay <= 0 {
		return c, nil
	}
	return &delayConn{Conn: c, delay: l.delay, done: l.done, closed: make(chan struct{})}, nil
}

// delayConn delays its first Read by delay, unless closed first.
type delayConn struct {
	net.Conn
	delay     time.Duration
	done      <-chan struct{}
	once      sync.Once
	closeOnce sync.Once
	closed    chan struct{}
}

func (c *delayConn) Read(p []byte) (int, error) {
	var err error
	c.once.Do(func() {
		t := time.NewTimer(c.delay)
		defer t.Stop()
		select {
		case <-t.C:
		case <-c.closed:
			err = net.ErrClosed
		case <-c.done:
			err = net.ErrClosed
		}
	})
	if err != nil {
		return 0, err
	}
	return c.Conn.Read(p)
}

func (c *delayConn) Close() error {
	c.closeOnce.Do(func() { close(c.closed) })
	return c.Conn.Close()
}

// NetConn returns the wrapped connection.
func (c *delayConn) NetConn() net.Conn { return c.Conn }

// faultCounter counts injected faults exactly, by kind and camera.
type faultCounter struct {
	requests atomic.Int64
	byKind   [nKinds]atomic.Int64
	mu       sync.Mutex
	byCamera map[int]*[nKinds]int64
}

func (c *faultCounter) init() { c.byCamera = map[int]*[nKinds]int64{} }

func (c *faultCounter) add(camera, kind int) {
	c.mu.Lock() // byKind moves under the lock too, so a report is consistent
	c.byKind[kind].Add(1)
	m := c.byCamera[camera]
	if m == nil {
		m = new([nKinds]int64)
		c.byCamera[camera] = m
	}
	m[kind]++
	c.mu.Unlock()
}

// FaultReport is what the fleet injected: GET /faults and Fleet.Faults.
// Requests counts snapshot requests for existing cameras (all outcomes).
type FaultReport struct {
	Requests int64                       `json:"requests"`
	Total    int64                       `json:"total"`
	ByKind   map[string]int64            `json:"byKind"`
	ByCamera map[string]map[string]int64 `json:"byCamera"`
}

// Faults returns a snapshot of the injected-fault counts.
func (f *Fleet) Faults() FaultReport {
	rep := FaultReport{ByKind: map[string]int64{}, ByCamera: map[string]map[string]int64{}}
	c := &f.faults
	c.mu.Lock()
	for cam, m := range c.byCamera {
		km := map[string]int64{}
		for k, v := range m {
			if v > 0 {
				km[faultKinds[k]] = v
			}
		}
		rep.ByCamera[CameraID(cam)] = km
	}
	for k := range c.byKind {
		if v := c.byKind[k].Load(); v > 0 {
			rep.ByKind[faultKinds[k]] = v
			rep.Total += v
		}
	}
	rep.Requests = c.requests.Load()
	c.mu.Unlock()
	return rep
}
