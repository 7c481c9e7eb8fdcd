package system

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// fetcher builds a System with just enough to fetch.
func fetcher(t testing.TB, k Knobs) *System {
	t.Helper()
	s := &System{cfg: Config{Knobs: k}, now: time.Now}
	s.client = newCameraClient(k, defaultTransport)
	t.Cleanup(s.client.close)
	return s
}

func TestFetchClassifies(t *testing.T) {
	t.Parallel()
	frame := strings.Repeat("x", 2000)
	captured := time.Date(2026, 1, 2, 3, 4, 5, 6000, time.UTC)
	hangDone := make(chan struct{})
	mux := http.NewServeMux()
	mux.HandleFunc("/ok", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("t") == "" {
			http.Error(w, "no cache-buster", 400)
			return
		}
		if r.Header.Get("If-None-Match") == `"v1"` {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("ETag", `"v1"`)
		w.Header().Set("X-Camload-Captured-At", captured.Format(time.RFC3339Nano))
		_, _ = w.Write([]byte(frame))
	})
	mux.HandleFunc("/lastmod", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Last-Modified", captured.Format(http.TimeFormat))
		_, _ = w.Write([]byte(frame))
	})
	mux.HandleFunc("/500", func(w http.ResponseWriter, r *http.Request) { http.Error(w, "boom", 503) })
	mux.HandleFunc("/502", func(w http.ResponseWriter, r *http.Request) { http.Error(w, "bad gateway", 502) })
	mux.HandleFunc("/404", func(w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) })
	mux.HandleFunc("/big", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write(make([]byte, 8<<10)) })
	mux.HandleFunc("/big-chunked", func(w http.ResponseWriter, r *http.Request) {
		for range 8 {
			_, _ = w.Write(make([]byte, 1<<10))
			w.(http.Flusher).Flush()
		}
	})
	mux.HandleFunc("/hang", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-hangDone:
		}
	})
	mux.HandleFunc("/drip", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "2000")
		_, _ = w.Write([]byte("x"))
		w.(http.Flusher).Flush()
		select {
		case <-r.Context().Done():
		case <-hangDone:
		}
	})
	mux.HandleFunc("/reset", func(w http.ResponseWriter, r *http.Request) {
		conn, _, err := w.(http.Hijacker).Hijack()
		if err != nil {
			return
		}
		conn.(*net.TCPConn).SetLinger(0)
		conn.Close()
	})
	mux.HandleFunc("/truncated", func(w http.ResponseWriter, r *http.Request) {
		conn, buf, err := w.(http.Hijacker).Hijack()
		if err != nil {
			return
		}
		_, _ = buf.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 2000\r\n\r\nxxxx")
		_ = buf.Flush()
		conn.Close()
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	defer close(hangDone)

	for _, client := range []ClientKind{ClientNewConn, ClientNewClient, ClientShared} {
		k, _ := Preset(ModeBatched)
		k.Client, k.FetchTimeout, k.MaxBody = client, 300*time.Millisecond, 4<<10
		s := fetcher(t, k)
		for _, tc := range []struct {
			path, etag string
			kind       string // "" = ok
			notMod     bool
			captured   time.Time
		}{
			{"/ok", "", "", false, captured},
			{"/ok", `"v1"`, "", true, time.Time{}},
			{"/lastmod", "", "", false, captured.Truncate(time.Second)},
			{"/500", "", ErrHTTP5xx, false, time.Time{}},
			{"/502", "", ErrHTTP5xx, false, time.Time{}},
			{"/404", "", ErrHTTPStatus, false, time.Time{}},
			{"/big", "", ErrTooLarge, false, time.Time{}},
			{"/big-chunked", "", ErrTooLarge, false, time.Time{}},
			{"/hang", "", ErrTimeout, false, time.Time{}},
			{"/drip", "", ErrTimeout, false, time.Time{}},
			{"/reset", "", ErrConn, false, time.Time{}},
			{"/truncated", "", ErrConn, false, time.Time{}},
		} {
			// Only the cases that must time out get the short deadline: on a
			// loaded machine (CI under -race) a loopback answer can take
			// longer than 300 ms and would read as a timeout.
			timeout := 30 * time.Second
			if tc.kind == ErrTimeout {
				timeout = s.cfg.Knobs.FetchTimeout
			}
			r, err := s.fetch(context.Background(), srv.URL+tc.path, tc.etag, timeout)
			if tc.kind != "" {
				if errorKind(err) != tc.kind || err == nil {
					t.Errorf("%s: fetch(%s, %q) error = %v (kind %s); want kind %s", client, tc.path, tc.etag, err, errorKind(err), tc.kind)
				}
				// Only a 503 and a reset are a gateway's overload.
				if want := tc.path == "/500" || tc.path == "/reset"; isOverload(err) != want {
					t.Errorf("%s: fetch(%s): isOverload(%v) = %t; want %t", client, tc.path, err, isOverload(err), want)
				}
				continue
			}
			if err != nil {
				t.Errorf("%s: fetch(%s, %q) = %v", client, tc.path, tc.etag, err)
				continue
			}
			if r.notModified != tc.notMod || !r.capturedAt.Equal(tc.captured) {
				t.Errorf("%s: fetch(%s, %q) = notModified %t captured %s; want %t %s", client, tc.path, tc.etag, r.notModified, r.capturedAt, tc.notMod, tc.captured)
			}
			if !tc.notMod && (r.body == nil || r.body.String() != frame) {
				t.Errorf("%s: fetch(%s) body mismatch", client, tc.path)
			}
			putBuf(r.body)
		}
	}
}

// TestClientConnections checks the connection behaviour of each client kind
// by counting the connections the server sees.
func TestClientConnections(t *testing.T) {
	t.Parallel()
	const requests = 20
	for _, tc := range []struct {
		client   ClientKind
		maxConns int64 // the most new connections allowed for `requests` sequential requests
		minConns int64
	}{
		{ClientNewConn, requests, requests},   // keep-alive off
		{ClientNewClient, requests, requests}, // a fresh transport each time
		{ClientShared, 1, 1},                  // reused
	} {
		var conns atomic.Int64
		srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = w.Write([]byte("frame"))
		}))
		srv.Config.ConnState = func(_ net.Conn, st http.ConnState) {
			if st == http.StateNew {
				conns.Add(1)
			}
		}
		srv.Start()
		k, _ := Preset(ModeBatched)
		k.Client = tc.client
		s := fetcher(t, k)
		for range requests {
			r, err := s.fetch(context.Background(), srv.URL+"/x", "", s.cfg.Knobs.FetchTimeout)
			if err != nil {
				t.Fatalf("%s: fetch: %v", tc.client, err)
			}
			putBuf(r.body)
		}
		s.client.close()
		srv.Close()
		if n := conns.Load(); n < tc.minConns || n > tc.maxConns {
			t.Errorf("%s: %d requests used %d connections; want %d … %d", tc.client, requests, n, tc.minConns, tc.maxConns)
		}
	}
}
