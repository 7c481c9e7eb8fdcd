package system_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.mongodb.org/mongo-driver/bson"

	"github.com/camload/camload/simulator"
	"github.com/camload/camload/system"
	"github.com/camload/camload/system/store"
)

// clock is a settable clock shared by the fleet and the system, so tests
// can make every camera's frame change.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Now()} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// quietFleet is a small fleet without latency or faults whose frames change
// every hour (of the test clock).
func quietFleet(cameras, hosts int) simulator.Config {
	c := simulator.DefaultConfig
	c.Cameras, c.Hosts, c.Listen = cameras, hosts, "127.0.0.1:0"
	c.Width, c.Height = 480, 270
	c.Frames = 16
	c.Refresh = time.Hour
	c.Latency = simulator.LatencyConfig{Dist: simulator.DistNone}
	c.Capacity = simulator.CapacityConfig{}
	c.Faults = simulator.FaultConfig{HangFor: time.Second, SlowDripRate: 1 << 10, OversizedBytes: 1 << 20, OfflinePeriod: time.Minute}
	return c
}

// env is a fleet, a store on a fresh database and a loaded system.
type env struct {
	fleet *simulator.Fleet
	clock *clock
	store *store.Mongo
	sys   *system.System
	reg   *prometheus.Registry
	api   *httptest.Server
}

type envOpts struct {
	fleet   simulator.Config
	mode    system.Mode
	knobs   func(*system.Knobs)
	options []system.Option
	wrap    func(store.Store) store.Store
	uri     string // "" = the first test backend
	// interval is Config.Interval.
	interval time.Duration
}

func testCtx(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func newEnv(t testing.TB, o envOpts) *env {
	t.Helper()
	ctx := testCtx(t, time.Minute)
	e := &env{clock: newClock(), reg: prometheus.NewRegistry()}
	f, err := simulator.New(o.fleet, simulator.WithClock(e.clock.Now))
	if err != nil {
		t.Fatalf("simulator.New: %v", err)
	}
	// The fleet serves until Close, however long the test takes.
	if err := f.Start(context.Background()); err != nil {
		t.Fatalf("fleet Start: %v", err)
	}
	t.Cleanup(func() { _ = f.Close() })
	e.fleet = f
	uri := o.uri
	if uri == "" {
		uri = mongoURIs[0]
	}
	st, err := store.OpenMongo(ctx, uri, dbName(t))
	if err != nil {
		t.Fatalf("OpenMongo: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = st.Drop(ctx)
		_ = st.Close(ctx)
	})
	e.store = st
	var s store.Store = st
	if o.wrap != nil {
		s = o.wrap(st)
	}
	cfg, ok := system.DefaultConfig(o.mode, f.ControlURL())
	if !ok {
		t.Fatalf("unknown mode %q", o.mode)
	}
	cfg.Knobs.FetchTimeout = 5 * time.Second
	cfg.Interval = o.interval
	if o.knobs != nil {
		o.knobs(&cfg.Knobs)
	}
	opts := append([]system.Option{
		system.WithStore(s), system.WithClock(e.clock.Now),
		system.WithRegisterer(e.reg),
	}, o.options...)
	sys, err := system.New(cfg, opts...)
	if err != nil {
		t.Fatalf("system.New: %v", err)
	}
	t.Cleanup(func() { _ = sys.Close() })
	if err := sys.LoadRegistry(ctx); err != nil {
		t.Fatalf("LoadRegistry: %v", err)
	}
	e.sys = sys
	e.api = httptest.NewServer(sys.APIHandler())
	t.Cleanup(e.api.Close)
	return e
}

func (e *env) observations(t testing.TB) int64 {
	t.Helper()
	n, err := e.store.Database().Collection(store.ObservationsCollection).CountDocuments(testCtx(t, 30*time.Second), bson.D{})
	if err != nil {
		t.Fatalf("counting observations: %v", err)
	}
	return n
}

func (e *env) cycle(t testing.TB) system.CycleSummary {
	t.Helper()
	sum, err := e.sys.RunCycle(testCtx(t, time.Minute))
	if err != nil {
		t.Fatalf("RunCycle: %v", err)
	}
	if len(sum.Latencies) != sum.Cameras {
		t.Errorf("cycle %d: %d latencies for %d cameras", sum.Cycle, len(sum.Latencies), sum.Cameras)
	}
	return sum
}

func errorTotal(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// TestModesVisitEveryCamera: each mode visits every camera each cycle and
// stores one observation per new frame; modes that dedupe count unchanged
// frames as skipped instead.
func TestModesVisitEveryCamera(t *testing.T) {
	t.Parallel()
	const cams = 60
	for _, mode := range system.Modes {
		t.Run(string(mode), func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, envOpts{fleet: quietFleet(cams, 3), mode: mode, knobs: func(k *system.Knobs) {
				k.Workers, k.BatchSize = 8, 25 // several batches, fewer workers than cameras
				if k.CycleDeadline > 0 {
					// resilient: no camera may be cut off here, however
					// loaded the machine (TestCycleDeadlineLateAndStale
					// tests the cut-off).
					k.CycleDeadline = time.Minute
				}
			}})
			dedupe := e.sys.Config().Knobs.Dedupe
			// Cycle 1: every frame is new.
			s1 := e.cycle(t)
			if s1.Cameras != cams || s1.Processed != cams || s1.Skipped != 0 || errorTotal(s1.Errors) != 0 {
				t.Fatalf("cycle 1 = %d cameras, %d processed, %d skipped, errors %v; want %d, %d, 0, none", s1.Cameras, s1.Processed, s1.Skipped, s1.Errors, cams, cams)
			}
			if len(s1.Freshness) != cams {
				t.Errorf("cycle 1: %d freshness values; want %d", len(s1.Freshness), cams)
			}
			if n := e.observations(t); n != cams {
				t.Fatalf("after cycle 1: %d observations; want %d", n, cams)
			}
			// Cycle 2: nothing changed.
			s2 := e.cycle(t)
			wantProcessed, wantSkipped := cams, 0
			if dedupe {
				wantProcessed, wantSkipped = 0, cams
			}
			if s2.Processed != wantProcessed || s2.Skipped != wantSkipped || errorTotal(s2.Errors) != 0 {
				t.Fatalf("cycle 2 = %d processed, %d skipped, errors %v; want %d, %d, none", s2.Processed, s2.Skipped, s2.Errors, wantProcessed, wantSkipped)
			}
			// One observation per distinct frame: re-storing the same
			// frame is idempotent.
			if n := e.observations(t); n != cams {
				t.Fatalf("after cycle 2: %d observations; want %d", n, cams)
			}
			// Cycle 3: every frame changed.
			e.clock.Advance(time.Hour)
			s3 := e.cycle(t)
			if s3.Processed != cams || s3.Skipped != 0 {
				t.Fatalf("cycle 3 = %d processed, %d skipped; want %d, 0", s3.Processed, s3.Skipped, cams)
			}
			if n := e.observations(t); n != 2*cams {
				t.Fatalf("after cycle 3: %d observations; want %d", n, 2*cams)
			}
		})
	}
}

func getJSON(t testing.TB, url string, v any) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	if v != nil {
		if err := json.Unmarshal(b, v); err != nil {
			t.Fatalf("GET %s: %v in %s", url, err, b)
		}
	}
	return resp.StatusCode
}

type page struct {
	Items []map[string]any `json:"items"`
	Limit int              `json:"limit"`
	Page  int              `json:"page"`
	Total *int             `json:"total"`
	Next  *string          `json:"next"`
}

// TestPagination walks every camera with offset pages and with cursor
// pages, filtered and not: no duplicates, none missing.
func TestPagination(t *testing.T) {
	t.Parallel()
	const cams = 57
	e := newEnv(t, envOpts{fleet: quietFleet(cams, 2), mode: system.ModePooled})
	all := e.sys.Cameras()
	for _, filter := range []string{"", "status=online", "district=" + url.QueryEscape(all[0].District)} {
		want := map[string]bool{}
		for _, c := range all {
			if (filter != "status=online" || c.Status == "online") && (filter == "" || filter == "status=online" || c.District == all[0].District) {
				want[c.ID] = true
			}
		}
		for _, limit := range []int{1, 10, 57, 1000} {
			// Offset pages.
			seen := map[string]bool{}
			for p := 1; p <= cams+1; p++ {
				var pg page
				u := fmt.Sprintf("%s/api/v1/cameras?page=%d&limit=%d&fields=id,status&%s", e.api.URL, p, limit, filter)
				if code := getJSON(t, u, &pg); code != 200 {
					t.Fatalf("GET %s = %d", u, code)
				}
				if pg.Total == nil || *pg.Total != len(want) {
					t.Fatalf("GET %s: total %v; want %d", u, pg.Total, len(want))
				}
				if len(pg.Items) == 0 {
					break
				}
				for _, it := range pg.Items {
					id := it["id"].(string)
					if seen[id] || !want[id] || len(it) != 2 {
						t.Fatalf("GET %s: item %v duplicate, unexpected or not projected", u, it)
					}
					seen[id] = true
				}
			}
			if len(seen) != len(want) {
				t.Errorf("offset pages (limit %d, %q) saw %d cameras; want %d", limit, filter, len(seen), len(want))
			}
			// Cursor pages.
			seen = map[string]bool{}
			after := ""
			for range cams + 1 {
				var pg page
				u := fmt.Sprintf("%s/api/v1/cameras?after=%s&limit=%d&fields=name&%s", e.api.URL, after, limit, filter)
				if code := getJSON(t, u, &pg); code != 200 {
					t.Fatalf("GET %s = %d", u, code)
				}
				if pg.Next == nil || pg.Total != nil {
					t.Fatalf("GET %s: next %v total %v; want a next and no total", u, pg.Next, pg.Total)
				}
				for _, it := range pg.Items {
					if len(it) != 1 || it["name"] == nil {
						t.Fatalf("GET %s: item %v not projected to name", u, it)
					}
				}
				if *pg.Next == "" {
					break
				}
				if seen[*pg.Next] || !want[*pg.Next] {
					t.Fatalf("GET %s: next %q seen before or unexpected", u, *pg.Next)
				}
				seen[*pg.Next] = true
				after = *pg.Next
			}
			// Every page but the last ends with a next; count items instead.
			n := 0
			after = ""
			for range cams + 1 {
				var pg page
				u := fmt.Sprintf("%s/api/v1/cameras?after=%s&limit=%d&%s", e.api.URL, after, limit, filter)
				getJSON(t, u, &pg)
				n += len(pg.Items)
				if *pg.Next == "" {
					break
				}
				after = *pg.Next
			}
			if n != len(want) {
				t.Errorf("cursor pages (limit %d, %q) saw %d cameras; want %d", limit, filter, n, len(want))
			}
		}
	}
}

// TestBadParameters: every bad parameter → 400 naming it; unknown ids → 404.
func TestBadParameters(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{fleet: quietFleet(5, 1), mode: system.ModeSync})
	for _, tc := range []struct {
		path  string
		code  int
		param string
	}{
		{"/api/v1/cameras?limit=0", 400, "limit"},                // below 1
		{"/api/v1/cameras?limit=1001", 400, "limit"},             // above 1000
		{"/api/v1/cameras?limit=x", 400, "limit"},                // not a number
		{"/api/v1/cameras?page=0", 400, "page"},                  // pages are 1-based
		{"/api/v1/cameras?page=1&after=cam-00001", 400, "after"}, // both kinds
		{"/api/v1/cameras?after=%24gt", 400, "after"},            // not an id
		{"/api/v1/cameras?status=broken", 400, "status"},         // not whitelisted
		{"/api/v1/cameras?district=Atlantis", 400, "district"},
		{"/api/v1/cameras?fields=id,secret", 400, "fields"},
		{"/api/v1/cameras?sort=name", 400, "sort"}, // unknown parameter
		{"/api/v1/cameras/cam-99999", 404, ""},     // unknown camera
		{"/api/v1/cameras/cam-99999/latest", 404, ""},
		{"/api/v1/cameras/cam-00001/latest", 404, ""}, // known, not observed yet
		{"/api/v1/nothing", 404, ""},
		{"/api/v1/cameras/cam-00001", 200, ""},
		{"/api/v1/stats", 200, ""},
	} {
		var body struct {
			Error     string `json:"error"`
			Parameter string `json:"parameter"`
		}
		code := getJSON(t, e.api.URL+tc.path, &body)
		if code != tc.code || body.Parameter != tc.param || (code >= 400 && body.Error == "") {
			t.Errorf("GET %s = %d %+v; want %d naming %q", tc.path, code, body, tc.code, tc.param)
		}
	}
}
