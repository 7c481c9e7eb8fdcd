package system_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/camload/camload/system"
	"github.com/camload/camload/system/store"
)

// leakyErr looks like what FerretDB on PostgreSQL and the MongoDB driver
// report: the user, database, address, SQLSTATE and a source path.
var leakyErr = fmt.Errorf("(InternalError) [pool.go:231 pgdb.(*Pool).Conn] failed to connect to `user=postgres database=cl_secretdb`: " +
	"127.0.0.1:5432 (127.0.0.1): server error: FATAL: password authentication failed for user \"postgres\" (SQLSTATE 28P01) " +
	"github.com/FerretDB/FerretDB/internal/backends/postgresql/metadata/registry.go:123")

// leakyStore answers the registry writes and pings, and fails every API
// read with err.
type leakyStore struct {
	store.Store
	err error
}

func (s leakyStore) Cameras(context.Context, store.Filter, store.Page) ([]store.Camera, int, error) {
	return nil, 0, s.err
}
func (s leakyStore) Camera(context.Context, string) (store.Camera, error) {
	return store.Camera{}, s.err
}
func (s leakyStore) Latest(context.Context, string) (store.Observation, error) {
	return store.Observation{}, s.err
}
func (s leakyStore) Stats(context.Context) (store.Stats, error) { return store.Stats{}, s.err }

// syncBuffer is a goroutine-safe log sink.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// TestServerErrorsLeakNothing: a failing store gives a 500 (503 for a
// timeout) whose body and headers say nothing of the store, only a generic
// message and a request id; the log line with that id has the detail.
func TestServerErrorsLeakNothing(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		err  error
		code int
		msg  string
	}{
		{"internal", leakyErr, http.StatusInternalServerError, "internal error"},
		{"timeout", fmt.Errorf("%w: %w", leakyErr, context.DeadlineExceeded), http.StatusServiceUnavailable, "unavailable: the request was cancelled or timed out"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var logs syncBuffer
			e := newEnv(t, envOpts{
				fleet: quietFleet(3, 1), mode: system.ModeSync,
				wrap:    func(s store.Store) store.Store { return leakyStore{s, tc.err} },
				options: []system.Option{system.WithLogger(slog.New(slog.NewTextHandler(&logs, nil)))},
			})
			ids := map[string]bool{}
			for _, path := range []string{"/api/v1/cameras?limit=2", "/api/v1/cameras/cam-00001", "/api/v1/cameras/cam-00001/latest", "/api/v1/stats"} {
				resp, err := http.Get(e.api.URL + path)
				if err != nil {
					t.Fatal(err)
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				var body struct {
					Error     string `json:"error"`
					RequestID string `json:"request_id"`
				}
				if err := json.Unmarshal(b, &body); err != nil {
					t.Fatalf("GET %s: %v in %s", path, err, b)
				}
				if resp.StatusCode != tc.code || body.Error != tc.msg {
					t.Errorf("GET %s = %d %s; want %d %q", path, resp.StatusCode, b, tc.code, tc.msg)
				}
				var all strings.Builder
				all.Write(b)
				for k, v := range resp.Header {
					fmt.Fprintf(&all, "%s: %s\n", k, v)
				}
				for _, secret := range []string{"postgres", "cl_secretdb", "5432", "SQLSTATE", "28P01", "FerretDB", ".go", "pgdb"} {
					if strings.Contains(all.String(), secret) {
						t.Errorf("GET %s: answer shows %q:\n%s", path, secret, all.String())
					}
				}
				id := resp.Header.Get(system.RequestIDHeader)
				if id == "" || id != body.RequestID || ids[id] {
					t.Errorf("GET %s: request id header %q, body %q (want equal, non-empty, new)", path, id, body.RequestID)
				}
				ids[id] = true
				var line string
				for _, l := range strings.Split(logs.String(), "\n") {
					if strings.Contains(l, "request_id="+id+" ") {
						line = l
					}
				}
				if !strings.Contains(line, "SQLSTATE 28P01") || !strings.Contains(line, "level=ERROR") {
					t.Errorf("GET %s: no error log line with request_id=%s and the detail; log:\n%s", path, id, logs.String())
				}
			}
		})
	}
}

// TestMalformedQueries: what r.URL.Query() would silently drop is a 400
// naming the parameter, over-long or over-numerous input a 400 that does
// not echo it; the README's district example is answered.
func TestMalformedQueries(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{fleet: quietFleet(200, 2), mode: system.ModeSync})
	hasQ1 := false
	for _, c := range e.sys.Cameras() {
		hasQ1 = hasQ1 || c.District == "Quận 1"
	}
	if !hasQ1 {
		t.Fatal(`no camera in "Quận 1" among 200`)
	}
	for _, tc := range []struct {
		name, query string
		code        int
		param       string
	}{
		{"trailing percent", "fields=password%&limit=2", 400, "fields"},
		{"bad escape", "limit=%zz", 400, "limit"},
		{"bad escape in name", "lim%zzit=1", 400, "lim%zzit"},
		{"semicolon", "limit=2;fields=id", 400, "limit"},
		{"20,000 parameters", strings.Repeat("limit=1&", 20000), 400, ""},
		{"500 KB value", "fields=" + strings.Repeat("x", 500<<10), 400, ""},
		{"long bad value", "after=" + strings.Repeat("y", 3000), 400, "after"},
		{"long unknown name", strings.Repeat("z", 3000) + "=1", 400, strings.Repeat("z", 64) + "…"},
		{"README district example", "limit=5&district=Qu%E1%BA%ADn%201", 200, ""},
		{"district with plus", "limit=5&district=Qu%E1%BA%ADn+1", 200, ""},
		{"README's old example", "limit=5&district=District%201", 400, "district"},
	} {
		resp, err := http.Get(e.api.URL + "/api/v1/cameras?" + tc.query)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var body struct {
			Error     string `json:"error"`
			Parameter string `json:"parameter"`
			Items     []any  `json:"items"`
		}
		if err := json.Unmarshal(b, &body); err != nil {
			t.Fatalf("%s: %v in %.300s", tc.name, err, b)
		}
		if resp.StatusCode != tc.code || body.Parameter != tc.param {
			t.Errorf("%s: GET ?%.60s… = %d %.300s; want %d naming %q", tc.name, tc.query, resp.StatusCode, b, tc.code, tc.param)
		}
		if tc.code == 400 && (body.Error == "" || len(b) > 512) {
			t.Errorf("%s: 400 body of %d bytes (want a message, at most 512 bytes): %.300s", tc.name, len(b), b)
		}
		if tc.code == 200 && len(body.Items) == 0 {
			t.Errorf("%s: no cameras", tc.name)
		}
	}
}
