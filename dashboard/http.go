package dashboard

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/camload/camload/internal/webstyle"
)

//go:embed page.html
var pageSource []byte

// pageHTML is the page with the style sheet it shares with report.html
// (internal/webstyle.Base) inserted at its marker.
var pageHTML = bytes.Replace(pageSource, []byte(webstyle.Marker), []byte(webstyle.Base), 1)

// csp keeps the page self-contained: nothing but this origin, no
// external script, style, font or image.
const csp = "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'"

// ServeHTTP serves the dashboard:
//
//	GET /              the page (self-contained HTML)
//	GET /events        the event stream (text/event-stream); the history
//	                   after Last-Event-ID (header, or ?last=) first;
//	                   with ?once, only that history
//	GET /?once         the page reading /events?once: a snapshot
//	GET /history.json  {"v":1,"events":[…]}, the history
//	GET /files/…       the run folder, read-only, when Options.Files is set
func (h *Hub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "dashboard: method not allowed", http.StatusMethodNotAllowed)
		return
	}
	switch p := r.URL.Path; {
	case p == "/" || p == "/index.html":
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Content-Security-Policy", csp)
		w.Header().Set("Cache-Control", "no-cache")
		_, _ = w.Write(h.page)
	case p == "/events":
		h.serveEvents(w, r)
	case p == "/history.json":
		h.serveHistory(w)
	case p == "/files" || strings.HasPrefix(p, "/files/"):
		h.serveFiles(w, r)
	default:
		http.NotFound(w, r)
	}
}

func (h *Hub) serveHistory(w http.ResponseWriter) {
	events := h.History()
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-cache")
	var b strings.Builder
	fmt.Fprintf(&b, `{"v":%d,"events":[`, Version)
	for i, e := range events {
		if i > 0 {
			b.WriteByte(',')
		}
		b.Write(e)
	}
	b.WriteString("]}\n")
	_, _ = w.Write([]byte(b.String()))
}

func (h *Hub) serveFiles(w http.ResponseWriter, r *http.Request) {
	if h.opts.Files == nil {
		http.Error(w, "dashboard: no run folder served", http.StatusNotFound)
		return
	}
	// http.FileServerFS refuses ".." in the URL and fs.FS refuses
	// invalid names; (*os.Root).FS also refuses symlinks leading out.
	for _, seg := range strings.Split(r.URL.Path, "/") {
		if seg == ".." {
			http.Error(w, "dashboard: invalid path", http.StatusBadRequest)
			return
		}
	}
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:")
	http.StripPrefix("/files", http.FileServerFS(h.opts.Files)).ServeHTTP(w, r)
}

// errGone ends a stream whose client was dropped or whose hub closed.
var errGone = errors.New("dashboard: stream ended")

// retryMillis is the reconnect delay the stream asks browsers for.
const retryMillis = 2000

func (h *Hub) serveEvents(w http.ResponseWriter, r *http.Request) {
	var last uint64
	if s := r.Header.Get("Last-Event-ID"); s != "" || r.URL.Query().Has("last") {
		if s == "" {
			s = r.URL.Query().Get("last")
		}
		n, err := strconv.ParseUint(strings.TrimSpace(s), 10, 64)
		if err != nil {
			http.Error(w, fmt.Sprintf("dashboard: Last-Event-ID %q: not an event id", s), http.StatusBadRequest)
			return
		}
		last = n
	}
	rc := http.NewResponseController(w)
	c := &client{ch: make(chan *record, h.opts.ClientBuffer), gone: make(chan struct{})}
	// abort runs under Hub.mu from Publish: it must not block. Setting a
	// deadline in the past fails the write in progress at once.
	c.abort = func() { _ = rc.SetWriteDeadline(time.Unix(1, 0)) }
	// ?once asks for the history only: the response ends after it, and
	// the EventSource's reconnect gets what came since, or 204 when
	// nothing did. Headless checks and snapshots use it.
	once := r.URL.Query().Has("once")
	backlog, open := h.join(c, last, once)
	if !open && len(backlog) == 0 {
		// The run is over (or ?once) and the client has everything: 204
		// tells an EventSource to stop reconnecting.
		w.WriteHeader(http.StatusNoContent)
		return
	}
	if open {
		defer h.leave(c)
	}

	hd := w.Header()
	hd.Set("Content-Type", "text/event-stream")
	hd.Set("Cache-Control", "no-cache")
	hd.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return
	}
	s := &stream{w: w, rc: rc, c: c, timeout: h.opts.WriteTimeout}
	if h.pump(s, r, backlog, open) != nil && c.wasDropped() {
		// Dropped for falling behind: close the connection (HTTP/1) or
		// reset the stream (HTTP/2) rather than end the response cleanly,
		// so the client sees the drop and reconnects with Last-Event-ID.
		panic(http.ErrAbortHandler)
	}
}

// pump writes the backlog, then live events and heartbeats, until the
// client goes, is dropped or the hub closes.
func (h *Hub) pump(s *stream, r *http.Request, backlog []*record, open bool) error {
	c := s.c
	if err := s.write(fmt.Appendf(nil, "retry: %d\n\n", retryMillis)); err != nil {
		return err
	}
	for _, rec := range backlog {
		if err := s.event(rec); err != nil {
			return err
		}
	}
	if err := s.flush(); err != nil || !open {
		return err
	}

	tick := time.NewTicker(h.opts.Heartbeat)
	defer tick.Stop()
	for {
		var err error
		select {
		case rec := <-c.ch:
			c.queued.Add(-int64(len(rec.data)))
			if err = s.event(rec); err == nil {
				if err = s.drain(); err == nil {
					err = s.flush()
				}
			}
		case <-tick.C:
			if err = s.write([]byte(": heartbeat\n\n")); err == nil {
				err = s.flush()
			}
		case <-c.gone:
			if c.dropped {
				return errGone
			}
			// The hub closed: send what it sent us, then end.
			if err = s.drain(); err == nil {
				err = s.flush()
			}
			return err
		case <-r.Context().Done():
			return r.Context().Err()
		}
		if err != nil {
			return err
		}
	}
}

// wasDropped is true once the hub dropped c for falling behind.
func (c *client) wasDropped() bool {
	select {
	case <-c.gone:
		return c.dropped
	default:
		return false
	}
}

// stream writes SSE frames to one client.
type stream struct {
	w       http.ResponseWriter
	rc      *http.ResponseController
	c       *client
	timeout time.Duration
	buf     []byte
}

// event writes rec as an SSE frame: "id: N\ndata: JSON\n\n" (the JSON
// holds no newline).
func (s *stream) event(rec *record) error {
	s.buf = strconv.AppendUint(append(s.buf[:0], "id: "...), rec.id, 10)
	s.buf = append(append(append(s.buf, "\ndata: "...), rec.data...), "\n\n"...)
	return s.write(s.buf)
}

// drain writes the events already queued, without waiting for more.
func (s *stream) drain() error {
	for {
		select {
		case rec := <-s.c.ch:
			s.c.queued.Add(-int64(len(rec.data)))
			if err := s.event(rec); err != nil {
				return err
			}
		default:
			return nil
		}
	}
}

// write writes b under a fresh deadline. The deadline is set before
// checking whether the client was dropped, so a drop either is seen here
// or its abort (a past deadline) comes after ours and fails the write.
func (s *stream) write(b []byte) error {
	_ = s.rc.SetWriteDeadline(time.Now().Add(s.timeout))
	select {
	case <-s.c.gone:
		if s.c.dropped {
			return errGone
		}
	default:
	}
	_, err := s.w.Write(b)
	return err
}

func (s *stream) flush() error {
	_ = s.rc.SetWriteDeadline(time.Now().Add(s.timeout))
	select {
	case <-s.c.gone:
		if s.c.dropped {
			return errGone
		}
	default:
	}
	return s.rc.Flush()
}
