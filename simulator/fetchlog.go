package simulator

import (
	"context"
	"net"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultFetchLog is the capacity of the fetch log when WithFetchLog is
// not given: the last 262,144 snapshot requests (about 10 MiB once full;
// the log grows with use up to it). At 30,000 snapshots/s it holds the
// last ~9 s; at a polling system's pace (1000 cameras every second or
// two) several minutes.
const DefaultFetchLog = 1 << 18

// WithFetchLog makes the fleet record the last n snapshot requests (the
// fetch log, Fleet.Fetches and GET /fetches); n = 0 records nothing. The
// default is DefaultFetchLog. A request is recorded just before its answer
// is written, so a client that has its response finds it in the log.
func WithFetchLog(n int) Option {
	return func(f *Fleet) { f.logCap = max(n, 0) }
}

// Fetch is one snapshot request for an existing camera, as the fleet saw
// it: when it arrived, the latency the fleet drew for it (the delay it
// added before answering; 0 when the request was refused before a draw),
// whether it was the first request of its connection (NewConn; it then
// paid Handshake, the configured connection cost) and how it ended.
type Fetch struct {
	Camera string    `json:"camera"`
	Host   int       `json:"host"`
	Start  time.Time `json:"start"`
	// Duration is how long the fleet took to answer: arrival → the
	// moment it began writing its answer (capacity waits and the drawn
	// latency included; the body's transfer, e.g. a slow drip, not), or
	// began the reset, or ended a hang or a request its client gave up.
	Duration time.Duration `json:"durationNs"`
	// Latency is the drawn latency (0: refused or no latency configured).
	Latency time.Duration `json:"latencyNs"`
	// NewConn is true for the first request of a connection. Requests
	// served through HostHandler (httptest) are never NewConn.
	NewConn bool `json:"newConn"`
	// Handshake is the connection cost the request paid: the configured
	// fleet.capacity.handshake when NewConn, else 0.
	Handshake time.Duration `json:"handshakeNs"`
	// Code is the HTTP status answered, 0 when none (a reset, a hang, a
	// client that gave up).
	Code int `json:"code"`
	// Fault is the fault kind (FaultHTTP5xx … FaultDeviceOverflowReset),
	// "" for a normal answer.
	Fault string `json:"fault,omitempty"`
}

// Refused reports whether the request was refused by a full host or
// camera (an overflow kind): the camera never served it.
func (f Fetch) Refused() bool {
	switch f.Fault {
	case FaultOverflow503, FaultOverflowReset, FaultDeviceOverflow503, FaultDeviceOverflowReset:
		return true
	}
	return false
}

// FetchLog is the part of the fetch log a window asked for.
type FetchLog struct {
	// Fetches started in the window, in order of Start.
	Fetches []Fetch `json:"fetches"`
	// Capacity is the log's size in records.
	Capacity int `json:"capacity"`
	// Recorded counts every request recorded since the fleet was built.
	Recorded uint64 `json:"recorded"`
	// Dropped counts records overwritten since the fleet was built (the
	// log keeps only the last Capacity).
	Dropped uint64 `json:"dropped"`
	// Truncated is true when some overwritten record started at or after
	// the window's start: Fetches may be missing requests of the window.
	Truncated bool `json:"truncated"`
}

// fetchRec is a Fetch as the log stores it (40 bytes).
type fetchRec struct {
	start   int64 // unix ns
	end     int64
	latency int64
	cam     int32
	host    int32
	code    int8 // code label index (code200 …)
	kind    int8 // fault kind index, kNone = -1
	newConn bool
}

// fetchLog is a bounded ring of fetch records, allocated in chunks as it
// fills (never copied). One mutex guards it; the hot path holds it for a
// copy of 40 bytes.
type fetchLog struct {
	mu           sync.Mutex
	chunks       [][]fetchRec
	cap          int
	total        uint64
	droppedStart int64 // latest start among overwritten records
}

const logChunk = 4096

func newFetchLog(n int) *fetchLog { return &fetchLog{cap: n} }

func (l *fetchLog) add(r *fetchRec, now func() time.Time) {
	r.end = now().UnixNano()
	l.mu.Lock()
	slot := int(l.total % uint64(l.cap))
	c := slot / logChunk
	if c == len(l.chunks) {
		l.chunks = append(l.chunks, make([]fetchRec, min(logChunk, l.cap-c*logChunk)))
	}
	dst := &l.chunks[c][slot%logChunk]
	if l.total >= uint64(l.cap) {
		l.droppedStart = max(l.droppedStart, dst.start)
	}
	*dst = *r
	l.total++
	l.mu.Unlock()
}

// filled is the number of records held.
func (l *fetchLog) filled() int { return int(min(l.total, uint64(l.cap))) }

var codeStatus = [nCodes]int{200, 304, 404, 500, 502, 503, 0}

// Fetches returns the recorded snapshot requests that started in
// [since, until), in order of start; a zero since or until leaves that end
// of the window open. It is safe for concurrent use; a request still being
// served is not in the log yet.
func (f *Fleet) Fetches(since, until time.Time) FetchLog {
	out := FetchLog{Capacity: f.logCap}
	l := f.log
	if l == nil {
		return out
	}
	lo, hi := int64(-1<<63), int64(1<<63-1)
	if !since.IsZero() {
		lo = since.UnixNano()
	}
	if !until.IsZero() {
		hi = until.UnixNano()
	}
	l.mu.Lock()
	var recs []fetchRec
	held := l.filled()
	for i := range held {
		if r := &l.chunks[i/logChunk][i%logChunk]; r.start >= lo && r.start < hi {
			recs = append(recs, *r)
		}
	}
	out.Recorded = l.total
	if l.total > uint64(held) {
		out.Dropped = l.total - uint64(held)
		out.Truncated = l.droppedStart >= lo
	}
	l.mu.Unlock()
	sort.SliceStable(recs, func(a, b int) bool { return recs[a].start < recs[b].start })
	hs := f.cfg.Capacity.Handshake
	out.Fetches = make([]Fetch, len(recs))
	for i, r := range recs {
		fe := Fetch{
			Camera: CameraID(int(r.cam)), Host: int(r.host),
			Start:    time.Unix(0, r.start).UTC(),
			Duration: time.Duration(r.end - r.start), Latency: time.Duration(r.latency),
			NewConn: r.newConn, Code: codeStatus[r.code],
		}
		if r.newConn {
			fe.Handshake = hs
		}
		if r.kind >= 0 {
			fe.Fault = faultKinds[r.kind]
		}
		out.Fetches[i] = fe
	}
	return out
}

// connKey keys a host connection's connInfo in its requests' contexts.
type connKey struct{}

// connInfo counts the requests of one connection (to tell its first).
type connInfo struct{ reqs atomic.Uint64 }

// hostConnContext gives every accepted host connection its connInfo.
func hostConnContext(ctx context.Context, _ net.Conn) context.Context {
	return context.WithValue(ctx, connKey{}, &connInfo{})
}
