package dashboard

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults for the zero values of Options.
const (
	// DefaultMaxSamples is how many fine-grained samples (resource and
	// attack events) the history keeps. At a sample a second that is over
	// an hour at full resolution; beyond it old samples are thinned.
	DefaultMaxSamples = 4096
	// DefaultClientBuffer is how many events may wait for one browser
	// before it is dropped: a run publishes a few events a second, so a
	// client this far behind is stuck, not slow.
	DefaultClientBuffer = 256
	// DefaultHeartbeat is the interval of the comment lines that keep an
	// idle stream open through proxies and show a dead peer.
	DefaultHeartbeat = 15 * time.Second
	// DefaultWriteTimeout bounds one write to a browser.
	DefaultWriteTimeout = 10 * time.Second
)

// Options configure a Hub. The zero value is ready to use.
type Options struct {
	// MaxSamples caps the fine-grained samples (KindResource, KindAttack)
	// kept in the history; zero means DefaultMaxSamples. When the cap is
	// passed, every other sample of the older half is dropped, so recent
	// samples keep full resolution and old ones thin out. Other events
	// (plan, cells, phases, cycles, capacity steps, run finished) are kept
	// for the whole run — their number is bounded by the plan — except
	// that a cell's phase replaces its previous one.
	MaxSamples int
	// ClientBuffer is how many events may wait for one client; zero means
	// DefaultClientBuffer. A client whose buffer is full when an event is
	// published is dropped: its connection is closed and Stats.Dropped
	// counted. Its EventSource reconnects and resumes from its last id.
	ClientBuffer int
	// Heartbeat is the interval of comment lines on an idle stream; zero
	// means DefaultHeartbeat.
	Heartbeat time.Duration
	// WriteTimeout bounds each write to a client; zero means
	// DefaultWriteTimeout.
	WriteTimeout time.Duration
	// Files is the run folder, served read-only under /files/ so the page
	// links profiles, .bin files and report.html; nil serves nothing.
	// Prefer (*os.Root).FS(), which also refuses symlinks leading out.
	Files fs.FS
}

// ErrClosed is returned by Publish after Close.
var ErrClosed = errors.New("dashboard: hub closed")

// Stats are a Hub's counters, for tests and logs.
type Stats struct {
	Published    uint64 // events accepted by Publish
	History      int    // events in the history now
	HistoryBytes int64  // their encoded size
	Samples      int    // fine-grained samples among them
	Thinned      uint64 // samples dropped from the history to respect MaxSamples
	Replaced     uint64 // phase events replaced by a newer phase of their cell
	Clients      int    // connected event streams
	Connected    uint64 // event streams ever opened
	Dropped      uint64 // clients dropped for falling behind
	Buffered     int64  // bytes of events waiting for clients now
	PeakBuffered int64  // the most Buffered has been
}

// record is one published event, encoded once. Immutable but for gone,
// which is guarded by Hub.mu.
type record struct {
	id   uint64
	kind Kind
	cell int
	data []byte // the event's JSON
	gone bool   // removed from the history (replaced or thinned)
}

// client is one event stream.
type client struct {
	ch      chan *record
	gone    chan struct{} // closed when dropped or the hub closes
	dropped bool          // set before gone is closed: dropped, not closed
	queued  atomic.Int64  // bytes in ch
	abort   func()        // unblocks a write in progress
}

// Hub collects a run's events and streams them to browsers. It is safe
// for concurrent use; a nil *Hub accepts and discards events, so a runner
// without a dashboard calls it unconditionally. A Hub starts no goroutine:
// each stream is served by its HTTP handler's goroutine, which returns
// when its client goes, is dropped or the hub is closed.
type Hub struct {
	opts Options
	page []byte

	mu        sync.Mutex
	closed    bool
	nextID    uint64
	hist      []*record // ascending ids; may hold gone records until compacted
	tombs     int       // gone records in hist
	samples   int       // live fine-grained records in hist
	histBytes int64
	lastPhase map[int]*record
	clients   map[*client]struct{}
	st        Stats
}

// New returns a Hub; bad options are an error naming the field.
func New(opts Options) (*Hub, error) {
	switch {
	case opts.MaxSamples < 0:
		return nil, fmt.Errorf("dashboard: Options.MaxSamples %d: must be ≥ 0", opts.MaxSamples)
	case opts.ClientBuffer < 0:
		return nil, fmt.Errorf("dashboard: Options.ClientBuffer %d: must be ≥ 0", opts.ClientBuffer)
	case opts.Heartbeat < 0:
		return nil, fmt.Errorf("dashboard: Options.Heartbeat %s: must be ≥ 0", opts.Heartbeat)
	case opts.WriteTimeout < 0:
		return nil, fmt.Errorf("dashboard: Options.WriteTimeout %s: must be ≥ 0", opts.WriteTimeout)
	}
	if opts.MaxSamples == 0 {
		opts.MaxSamples = DefaultMaxSamples
	}
	opts.MaxSamples = max(opts.MaxSamples, 2)
	if opts.ClientBuffer == 0 {
		opts.ClientBuffer = DefaultClientBuffer
	}
	if opts.Heartbeat == 0 {
		opts.Heartbeat = DefaultHeartbeat
	}
	if opts.WriteTimeout == 0 {
		opts.WriteTimeout = DefaultWriteTimeout
	}
	return &Hub{opts: opts, page: pageHTML, lastPhase: map[int]*record{}, clients: map[*client]struct{}{}}, nil
}

// Publish records e and sends it to every connected client. It never
// waits for a client: one whose buffer is full is dropped. Publish fills
// e's Kind, V, ID and At (when zero); it returns ErrPayload for an event
// without exactly one payload (or a Kind that does not match it),
// ErrClosed after Close, or the encoding error of a value JSON cannot
// hold (a NaN). On a nil Hub it does nothing.
func (h *Hub) Publish(e Event) error {
	if h == nil {
		return nil
	}
	k := e.payloadKind()
	if k == "" || (e.Kind != "" && e.Kind != k) {
		return ErrPayload
	}
	e.Kind, e.V = k, Version
	if e.At.IsZero() {
		e.At = time.Now().UTC()
	}
	if e.Plan != nil {
		p := *e.Plan
		p.Files = h.opts.Files != nil
		e.Plan = &p
	}

	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return ErrClosed
	}
	e.ID = h.nextID + 1
	data, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("dashboard: encoding %s event: %w", k, err)
	}
	h.nextID = e.ID
	r := &record{id: e.ID, kind: k, cell: e.Cell, data: data}
	h.st.Published++
	h.remember(r)

	var buffered int64
	for c := range h.clients {
		select {
		case c.ch <- r:
			buffered += c.queued.Add(int64(len(r.data)))
		default:
			h.drop(c)
		}
	}
	h.st.PeakBuffered = max(h.st.PeakBuffered, buffered)
	return nil
}

// remember appends r to the history, replacing its cell's previous phase
// and thinning samples. Called with mu held.
func (h *Hub) remember(r *record) {
	h.hist = append(h.hist, r)
	h.histBytes += int64(len(r.data))
	switch {
	case r.kind == KindPhase:
		if old := h.lastPhase[r.cell]; old != nil {
			h.bury(old)
			h.st.Replaced++
		}
		h.lastPhase[r.cell] = r
	case r.kind.fine():
		h.samples++
		if h.samples > h.opts.MaxSamples {
			h.thin()
		}
	}
	if h.tombs > 64 && h.tombs > len(h.hist)/2 {
		h.compact()
	}
}

// bury marks r as removed from the history. Called with mu held.
func (h *Hub) bury(r *record) {
	r.gone = true
	h.tombs++
	h.histBytes -= int64(len(r.data))
	if r.kind.fine() {
		h.samples--
	}
}

// thin drops every other sample of the older half of the samples.
// Called with mu held.
func (h *Hub) thin() {
	half := h.samples / 2
	seen := 0
	for _, r := range h.hist {
		if seen >= half {
			break
		}
		if r.gone || !r.kind.fine() {
			continue
		}
		if seen%2 == 1 {
			h.bury(r)
			h.st.Thinned++
		}
		seen++
	}
	h.compact()
}

// compact removes gone records from the history. Called with mu held.
func (h *Hub) compact() {
	live := h.hist[:0]
	for _, r := range h.hist {
		if !r.gone {
			live = append(live, r)
		}
	}
	clear(h.hist[len(live):]) // let the buried records go
	h.hist, h.tombs = live, 0
}

// since returns the history after id. Called with mu held.
func (h *Hub) since(id uint64) []*record {
	out := make([]*record, 0, len(h.hist)-h.tombs)
	for _, r := range h.hist {
		if r.id > id && !r.gone {
			out = append(out, r)
		}
	}
	return out
}

// drop disconnects c for falling behind. Called with mu held.
func (h *Hub) drop(c *client) {
	delete(h.clients, c)
	c.dropped = true
	close(c.gone)
	c.abort()
	h.st.Dropped++
}

// join registers a new stream and returns the history after last; ok
// is false, and the stream not registered, when the hub is closed or
// once is set. Called without mu.
func (h *Hub) join(c *client, last uint64, once bool) (backlog []*record, ok bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	backlog = h.since(last)
	if h.closed || once {
		return backlog, false
	}
	h.clients[c] = struct{}{}
	h.st.Connected++
	return backlog, true
}

// leave unregisters c after its handler returns.
func (h *Hub) leave(c *client) {
	h.mu.Lock()
	delete(h.clients, c)
	h.mu.Unlock()
}

// History returns the events kept in the history, oldest first, as the
// JSON they are streamed as.
func (h *Hub) History() []json.RawMessage {
	h.mu.Lock()
	defer h.mu.Unlock()
	rs := h.since(0)
	out := make([]json.RawMessage, len(rs))
	for i, r := range rs {
		out[i] = r.data
	}
	return out
}

// Stats returns the hub's counters.
func (h *Hub) Stats() Stats {
	h.mu.Lock()
	defer h.mu.Unlock()
	s := h.st
	s.History = len(h.hist) - h.tombs
	s.HistoryBytes = h.histBytes
	s.Samples = h.samples
	s.Clients = len(h.clients)
	for c := range h.clients {
		s.Buffered += c.queued.Load()
	}
	return s
}

// Close ends every event stream once it has written the events already
// sent to it, and makes Publish return ErrClosed. The page and history
// stay served; a browser that has every event is told (204) to stop
// reconnecting. Close is idempotent and always returns nil.
func (h *Hub) Close() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil
	}
	h.closed = true
	for c := range h.clients {
		delete(h.clients, c)
		close(c.gone)
	}
	return nil
}
