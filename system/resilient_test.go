package system_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime/pprof"
	"strings"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/bson"

	"github.com/camload/camload/system"
	"github.com/camload/camload/system/store"
)

// dialCtl steers the system's connections per camera host: a redirected
// host is answered by another server (e.g. one that fails), a blocked one
// connects only once released (or never, until the request's deadline).
// With keep-alives off every request dials, so each request is steered.
type dialCtl struct {
	mu       sync.Mutex
	redirect map[string]string
	block    map[string]chan struct{}
}

func newDialCtl() *dialCtl {
	return &dialCtl{redirect: map[string]string{}, block: map[string]chan struct{}{}}
}

func (d *dialCtl) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	d.mu.Lock()
	ch, to := d.block[addr], d.redirect[addr]
	d.mu.Unlock()
	if ch != nil {
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if to != "" {
		addr = to
	}
	var nd net.Dialer
	return nd.DialContext(ctx, network, addr)
}

func (d *dialCtl) transport() *http.Transport {
	return &http.Transport{DialContext: d.dial, DisableKeepAlives: true, DisableCompression: true}
}

func (d *dialCtl) setRedirect(addr, to string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if to == "" {
		delete(d.redirect, addr)
	} else {
		d.redirect[addr] = to
	}
}

// blockHost makes addr's connections wait; the returned func releases them.
func (d *dialCtl) blockHost(addr string) (release func()) {
	ch := make(chan struct{})
	d.mu.Lock()
	d.block[addr] = ch
	d.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			d.mu.Lock()
			delete(d.block, addr)
			d.mu.Unlock()
			close(ch)
		})
	}
}

// hostOf returns the host:port of camera id's snapshot URL.
func hostOf(t *testing.T, e *env, id string) string {
	t.Helper()
	for _, c := range e.sys.Cameras() {
		if c.ID == id {
			u, err := url.Parse(c.SnapshotURL)
			if err != nil {
				t.Fatal(err)
			}
			return u.Host
		}
	}
	t.Fatalf("no camera %s", id)
	return ""
}

// failing is a server that answers every request 500.
func failing(t *testing.T) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "camera fault", http.StatusInternalServerError)
	}))
	t.Cleanup(srv.Close)
	return srv.Listener.Addr().String()
}

// checkAccounting: every camera of a cycle is counted exactly once.
func checkAccounting(t *testing.T, s system.CycleSummary) {
	t.Helper()
	n := s.Processed + s.Skipped + errorTotal(s.Errors) + s.Abandoned + errorTotal(s.NotFetched)
	if n != s.Cameras {
		t.Errorf("cycle %d: processed %d + skipped %d + errors %v + abandoned %d + not fetched %v = %d; want %d cameras",
			s.Cycle, s.Processed, s.Skipped, s.Errors, s.Abandoned, s.NotFetched, n, s.Cameras)
	}
	if len(s.FrameLatencies) != s.Processed {
		t.Errorf("cycle %d: %d frame latencies for %d processed", s.Cycle, len(s.FrameLatencies), s.Processed)
	}
	for _, d := range s.FrameLatencies {
		if d <= 0 {
			t.Errorf("cycle %d: frame latency %s", s.Cycle, d)
		}
	}
}

func runCycle(t *testing.T, e *env, drain bool) system.CycleSummary {
	t.Helper()
	run := e.sys.RunCycle
	if drain {
		run = e.sys.RunCycleDrained
	}
	s, err := run(testCtx(t, time.Minute))
	if err != nil {
		t.Fatalf("cycle: %v", err)
	}
	checkAccounting(t, s)
	return s
}

// latest reads GET /api/v1/cameras/{id}/latest.
func latest(t *testing.T, e *env, id string) map[string]any {
	t.Helper()
	resp, err := http.Get(e.api.URL + "/api/v1/cameras/" + id + "/latest")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("latest %s: %s %s", id, resp.Status, b)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("latest %s: %v: %s", id, err, b)
	}
	return m
}

func resilienceStats(t *testing.T, e *env) system.ResilienceStats {
	t.Helper()
	resp, err := http.Get(e.api.URL + "/api/v1/stats")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var st struct {
		Cameras    int                    `json:"cameras"`
		Resilience system.ResilienceStats `json:"resilience"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil || st.Cameras == 0 {
		t.Fatalf("stats: %v (cameras %d)", err, st.Cameras)
	}
	return st.Resilience
}

// TestBreakerInSystem: a camera failing twice opens its breaker (offline
// in the API, counted in stats, skipped without a request), is probed
// half-open once its back-off has passed — a failed probe opens it again
// for twice as long, a good one closes it.
func TestBreakerInSystem(t *testing.T) {
	t.Parallel()
	ctl := newDialCtl()
	e := newEnv(t, envOpts{fleet: quietFleet(4, 4), mode: system.ModeResilient,
		options: []system.Option{system.WithTransport(ctl.transport)},
		knobs: func(k *system.Knobs) {
			k.BreakerFailures, k.BreakerBackoff, k.BreakerMax = 2, time.Minute, time.Hour
			k.CycleDeadline = 30 * time.Second // every camera answers at once here
			// The breaker alone: with the clock moved by minutes a
			// camera's learned refresh schedule could skip it (not_due).
			k.RefreshAware = false
		}})
	const bad = "cam-00001"
	addr := hostOf(t, e, bad)
	if s := runCycle(t, e, false); s.Processed != 4 {
		t.Fatalf("cycle 0: processed %d; want 4", s.Processed)
	}
	ctl.setRedirect(addr, failing(t))
	for i := 1; i <= 2; i++ {
		s := runCycle(t, e, false)
		if s.Errors[system.ErrHTTP5xx] != 1 || s.NotFetched != nil {
			t.Fatalf("cycle %d: errors %v, not fetched %v; want 1 http_5xx", i, s.Errors, s.NotFetched)
		}
	}
	if got := resilienceStats(t, e).Breakers; got == nil || got.Open != 1 || got.HalfOpen != 0 {
		t.Fatalf("stats breakers = %+v; want 1 open", got)
	}
	s := runCycle(t, e, false)
	if s.NotFetched[system.SkipBreakerOpen] != 1 || errorTotal(s.Errors) != 0 {
		t.Fatalf("open breaker: not fetched %v, errors %v; want 1 breaker_open", s.NotFetched, s.Errors)
	}
	if v := metric(t, e.reg, "camload_cameras_not_fetched_total", map[string]string{"reason": "breaker_open"}); v != 1 {
		t.Errorf("camload_cameras_not_fetched_total{breaker_open} = %v; want 1", v)
	}
	if v := metric(t, e.reg, "camload_breakers", map[string]string{"state": "open"}); v != 1 {
		t.Errorf("camload_breakers{open} = %v; want 1", v)
	}

	// Back-off over: the probe runs half-open; it fails, the breaker opens
	// for 2 min.
	e.clock.Advance(time.Minute)
	release := ctl.blockHost(addr)
	done := make(chan system.CycleSummary, 1)
	go func() { // owner: this test; it reads done below
		s, _ := e.sys.RunCycle(testCtx(t, time.Minute))
		done <- s
	}()
	deadline := time.Now().Add(20 * time.Second)
	for {
		if b := resilienceStats(t, e).Breakers; b != nil && b.HalfOpen == 1 && b.Open == 0 {
			break
		}
		if time.Now().After(deadline) {
			release()
			t.Fatalf("breaker never half-open: %+v", resilienceStats(t, e).Breakers)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if st := latest(t, e, bad)["status"]; st != system.StatusOffline {
		t.Errorf("status while probing = %v; want offline", st)
	}
	release()
	s = <-done
	checkAccounting(t, s)
	if s.Errors[system.ErrHTTP5xx] != 1 {
		t.Fatalf("failed probe: errors %v; want 1 http_5xx", s.Errors)
	}
	e.clock.Advance(time.Minute) // half of the doubled back-off
	if s := runCycle(t, e, false); s.NotFetched[system.SkipBreakerOpen] != 1 {
		t.Fatalf("after a failed probe: not fetched %v; want breaker_open", s.NotFetched)
	}

	// Healed: the next probe closes the breaker.
	ctl.setRedirect(addr, "")
	e.clock.Advance(time.Minute)
	s = runCycle(t, e, false)
	// (A camera's frame may have changed in the 3 min the clock moved.)
	if errorTotal(s.Errors) != 0 || s.NotFetched != nil || s.Abandoned != 0 || s.Skipped+s.Processed != 4 {
		t.Fatalf("good probe: errors %v, not fetched %v, abandoned %d, skipped %d, processed %d; want all 4 answered",
			s.Errors, s.NotFetched, s.Abandoned, s.Skipped, s.Processed)
	}
	if b := resilienceStats(t, e).Breakers; b.Open != 0 || b.HalfOpen != 0 {
		t.Errorf("breakers after a good probe = %+v; want none open", b)
	}
	if m := latest(t, e, bad); m["status"] != system.StatusOK || m["stale"] != false {
		t.Errorf("healed camera: status %v stale %v; want ok, false", m["status"], m["stale"])
	}
}

// TestAdaptiveDeadline: once a camera has answered a few times fast, a
// hang is cut off at its learned deadline (k × its p99, floored), not at
// the fixed fetch timeout.
func TestAdaptiveDeadline(t *testing.T) {
	t.Parallel()
	ctl := newDialCtl()
	const fixed = 20 * time.Second
	e := newEnv(t, envOpts{fleet: quietFleet(3, 3), mode: system.ModeResilient,
		options: []system.Option{system.WithTransport(ctl.transport)},
		knobs: func(k *system.Knobs) {
			k.FetchTimeout = fixed
			k.DeadlineFloor, k.DeadlineCap = 200*time.Millisecond, time.Minute
			k.CycleDeadline = time.Minute // the cycle waits for the cut-off fetch
			k.BreakerFailures = 0
		}})
	for range 5 { // MinSamples answers
		if s := runCycle(t, e, false); errorTotal(s.Errors) != 0 {
			t.Fatalf("errors %v", s.Errors)
		}
	}
	release := ctl.blockHost(hostOf(t, e, "cam-00002"))
	defer release()
	s := runCycle(t, e, false)
	if s.Errors[system.ErrTimeout] != 1 || s.Abandoned != 0 {
		t.Fatalf("hung camera: errors %v, abandoned %d; want 1 timeout", s.Errors, s.Abandoned)
	}
	// The timeout names its request, for a match with the fleet's log.
	if len(s.Timeouts) != 1 || s.Timeouts[0].Camera != "cam-00002" || s.Timeouts[0].Deadline >= fixed || s.Timeouts[0].Start.Before(s.Started.Add(-time.Second)) {
		t.Errorf("timeouts = %+v; want cam-00002's request with its learned deadline", s.Timeouts)
	}
	// The hang ended at its learned deadline (a fraction of a second here;
	// the bound leaves a loaded machine a wide margin), far below the
	// fixed timeout it would have held on to in batched.
	if s.Duration >= fixed/4 {
		t.Errorf("cycle with a hang took %s; want well under the fixed %s timeout", s.Duration, fixed)
	}
}

// TestCycleDeadlineLateAndStale: a camera still in flight at the cycle
// deadline is abandoned (counted), skipped by the next cycle while in
// flight, served stale meanwhile with its last good observation, and its
// result, once it arrives, is stored late and counted.
func TestCycleDeadlineLateAndStale(t *testing.T) {
	t.Parallel()
	ctl := newDialCtl()
	e := newEnv(t, envOpts{fleet: quietFleet(4, 4), mode: system.ModeResilient,
		options: []system.Option{system.WithTransport(ctl.transport)},
		knobs: func(k *system.Knobs) {
			k.CycleDeadline = 5 * time.Second // ample for the cameras that answer
			k.FetchTimeout = time.Minute
			k.AdaptiveDeadline = false
		}})
	const slow = "cam-00003"
	s1 := runCycle(t, e, false)
	if s1.Processed != 4 {
		t.Fatalf("cycle 1: processed %d; want 4 (%+v)", s1.Processed, s1)
	}
	first := latest(t, e, slow)
	if first["status"] != system.StatusOK || first["stale"] != false || first["observed_at"] == nil {
		t.Fatalf("cycle 1 latest = %v; want status ok, stale false, observed_at", first)
	}

	e.clock.Advance(2 * time.Hour) // every frame changes
	release := ctl.blockHost(hostOf(t, e, slow))
	defer release()
	s2 := runCycle(t, e, false)
	if s2.Abandoned != 1 || s2.Processed != 3 || s2.InFlight != 1 {
		t.Fatalf("cycle 2: abandoned %d, processed %d, in flight %d; want 1, 3, 1", s2.Abandoned, s2.Processed, s2.InFlight)
	}
	m := latest(t, e, slow)
	if m["status"] != system.StatusStale || m["stale"] != true || m["observed_at"] != first["observed_at"] || m["cycle"] != float64(1) {
		t.Errorf("abandoned camera latest = %v; want stale, the cycle 1 observation observed at %v", m, first["observed_at"])
	}
	if m := latest(t, e, "cam-00001"); m["status"] != system.StatusOK || m["stale"] != false {
		t.Errorf("answering camera latest = %v; want ok", m)
	}
	if tr := resilienceStats(t, e).Tracker; tr == nil || tr.InFlight != 1 || tr.Abandoned != 1 {
		t.Errorf("stats tracker = %+v; want 1 in flight, 1 abandoned", tr)
	}
	s3 := runCycle(t, e, false)
	if s3.NotFetched[system.SkipStillInFlight] != 1 {
		t.Errorf("cycle 3: not fetched %v; want 1 still_in_flight", s3.NotFetched)
	}

	release()
	s4 := runCycle(t, e, true) // drained: the late result is in
	if s4.InFlight != 0 || s4.Late != 1 || s4.LateProcessed != 1 || s4.LateErrors != nil {
		t.Fatalf("cycle 4 (drained): in flight %d, late %d, late processed %d, late errors %v; want 0, 1, 1, none",
			s4.InFlight, s4.Late, s4.LateProcessed, s4.LateErrors)
	}
	n, err := e.store.Database().Collection(store.ObservationsCollection).CountDocuments(testCtx(t, 30*time.Second),
		bson.D{{Key: "cameraId", Value: slow}, {Key: "cycle", Value: 2}})
	if err != nil || n != 1 {
		t.Errorf("late observation of cycle 2 stored %d times (%v); want 1", n, err)
	}
	if m := latest(t, e, slow); m["status"] != system.StatusOK || m["stale"] != false {
		t.Errorf("after the late result: latest = %v; want ok", m)
	}
	if tr := resilienceStats(t, e).Tracker; tr.InFlight != 0 || tr.Late != 1 {
		t.Errorf("stats tracker = %+v; want 0 in flight, 1 late", tr)
	}
	if v := metric(t, e.reg, "camload_late_results_total", nil); v != 1 {
		t.Errorf("camload_late_results_total = %v; want 1", v)
	}
}

// TestStragglerFreshAndWrittenAtOnce: whether a camera is stale depends on
// how old its last useful answer is, not on whether it missed a cycle's
// cut-off: a camera abandoned at the deadline whose last answer is recent
// is served ok; once two cycle periods have passed without an answer it is
// stale; its late frame is then written (bulk) as soon as it lands, with
// no further cycle, and the camera is ok again.
func TestStragglerFreshAndWrittenAtOnce(t *testing.T) {
	t.Parallel()
	ctl := newDialCtl()
	const budget, timeout = 5 * time.Second, 30 * time.Second
	e := newEnv(t, envOpts{fleet: quietFleet(4, 4), mode: system.ModeResilient,
		options: []system.Option{system.WithTransport(ctl.transport)},
		knobs: func(k *system.Knobs) {
			k.CycleDeadline = budget
			k.FetchTimeout = timeout
			k.AdaptiveDeadline = false
			k.BulkWrites = true
			k.BatchSize = 100 // never filled by one camera: only the late writer writes it
		}})
	const slow = "cam-00002"
	if s := runCycle(t, e, false); s.Processed != 4 {
		t.Fatalf("cycle 1: processed %d; want 4 (%+v)", s.Processed, s)
	}
	release := ctl.blockHost(hostOf(t, e, slow))
	defer release()
	s2 := runCycle(t, e, false) // the system's clock stands still: frames unchanged
	if s2.Abandoned != 1 || s2.Skipped != 3 {
		t.Fatalf("cycle 2: abandoned %d, skipped %d; want 1, 3", s2.Abandoned, s2.Skipped)
	}
	if m := latest(t, e, slow); m["status"] != system.StatusOK || m["stale"] != false {
		t.Errorf("abandoned camera answered a cycle ago: latest = %v; want ok (its data is recent)", m)
	}
	// Two cycle periods and a fetch deadline (the camera's own time to
	// answer) later, with no answer, the data is stale.
	e.clock.Advance(2*budget + timeout - time.Second)
	if m := latest(t, e, slow); m["status"] != system.StatusOK {
		t.Errorf("a second short of two periods and a fetch deadline: latest = %v; want ok", m)
	}
	e.clock.Advance(budget) // margin for a cycle that ran past its budget (a longer period)
	if m := latest(t, e, slow); m["status"] != system.StatusStale || m["stale"] != true {
		t.Errorf("no answer for over two cycle periods and a fetch deadline: latest = %v; want stale", m)
	}
	if m := latest(t, e, "cam-00001"); m["status"] != system.StatusStale {
		t.Errorf("no cycle for as long: cam-00001 latest = %v; want stale too", m)
	}
	e.clock.Advance(2 * time.Hour) // the late fetch gets a new frame
	release()
	ctx := testCtx(t, 30*time.Second)
	// The late writer stores and caches the frame, then marks the camera
	// answered (no cycle running): a read between the two serves the new
	// frame with the previous answer's freshness (stale), never old data
	// as ok, so the test waits for both.
	for {
		m := latest(t, e, slow)
		if m["cycle"] == float64(2) && m["status"] == system.StatusOK && m["stale"] == false {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("late observation of cycle 2 not served as ok without a further cycle: latest = %v", m)
		case <-time.After(20 * time.Millisecond):
		}
	}
	n, err := e.store.Database().Collection(store.ObservationsCollection).CountDocuments(ctx,
		bson.D{{Key: "cameraId", Value: slow}, {Key: "cycle", Value: 2}})
	if err != nil || n != 1 {
		t.Errorf("late observation of cycle 2 stored %d times (%v); want 1", n, err)
	}
	s3 := runCycle(t, e, true)
	if s3.Late != 1 || s3.LateProcessed != 1 || s3.InFlight != 0 || s3.NotFetched[system.SkipStillInFlight] != 0 {
		t.Errorf("cycle 3 (drained): late %d, late processed %d, in flight %d, not fetched %v; want 1, 1, 0, none still in flight",
			s3.Late, s3.LateProcessed, s3.InFlight, s3.NotFetched)
	}
}

// TestRefreshAware: a camera's refresh schedule is learned from the
// capture times of its answers; until its next frame is due it is not
// fetched (not_due), no request reaches the fleet, and its data is served
// fresh; once due it is fetched again; without an answer it turns stale
// counting from when its next frame was due.
func TestRefreshAware(t *testing.T) {
	t.Parallel()
	const refresh = 10 * time.Second
	fc := quietFleet(3, 3)
	fc.Refresh = refresh
	e := newEnv(t, envOpts{fleet: fc, mode: system.ModeResilient, knobs: func(k *system.Knobs) {
		k.BreakerFailures = 0
	}})
	requests := func() int64 { return e.fleet.Faults().Requests }
	if s := runCycle(t, e, false); s.Processed != 3 {
		t.Fatalf("cycle 1: processed %d; want 3 (%+v)", s.Processed, s)
	}
	// One capture per camera: no schedule yet, every camera is fetched.
	if s := runCycle(t, e, false); s.Skipped != 3 || len(s.NotFetched) != 0 {
		t.Fatalf("cycle 2, same frames: %+v; want 3 unchanged, none skipped unfetched", s)
	}
	e.clock.Advance(refresh)
	if s := runCycle(t, e, false); s.Processed != 3 {
		t.Fatalf("cycle 3, new frames: processed %d; want 3 (%+v)", s.Processed, s)
	}
	// Two captures a period apart: the next frame is due a period after
	// the newest; until then nothing is fetched. (Each camera refreshes
	// at its own phase: its newest capture lies in the last period, so
	// with the clock standing still none is due, and a period later
	// every one is.)
	before := requests()
	s := runCycle(t, e, false)
	if s.NotFetched[system.SkipNotDue] != 3 || s.Processed+s.Skipped != 0 {
		t.Fatalf("cycle 4, no time later: %+v; want 3 not due", s)
	}
	if got := requests(); got != before {
		t.Errorf("cycle 4: the fleet saw %d requests; want none", got-before)
	}
	if m := latest(t, e, "cam-00001"); m["status"] != system.StatusOK || m["stale"] != false {
		t.Errorf("not due: latest = %v; want ok (nothing newer exists)", m)
	}
	// Due: fetched again, the new frame stored.
	e.clock.Advance(refresh)
	if s := runCycle(t, e, false); s.Processed != 3 || len(s.NotFetched) != 0 {
		t.Fatalf("cycle 5, a period later: %+v; want 3 new frames fetched", s)
	}
	// No cycle for a long while: stale, counted from when the next frame
	// was due, not from the last answer alone.
	e.clock.Advance(10 * refresh)
	if m := latest(t, e, "cam-00001"); m["status"] != system.StatusStale || m["stale"] != true {
		t.Errorf("long past due without an answer: latest = %v; want stale", m)
	}
}

// trackedGoroutines counts the goroutines running a tracked cycle's
// fetches (runTracked's), by their stacks.
func trackedGoroutines(t *testing.T) int {
	t.Helper()
	var b bytes.Buffer
	if err := pprof.Lookup("goroutine").WriteTo(&b, 2); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, g := range strings.Split(b.String(), "\n\n") {
		if strings.Contains(g, "system.(*System).runTracked.func") {
			n++
		}
	}
	return n
}

// TestTrackedCycleAdmitsOnlyWhatWorkersTake: a tracked cycle starts a
// camera's goroutine only when a worker is free for it, so the goroutines
// it holds are bounded by Workers, not by the cameras: with every camera
// hung, a cycle over 40 cameras with 4 workers abandons 4 (in flight) and
// leaves 36 not fetched (no_worker), with no goroutine parked for them; the
// next cycle, its workers still busy, fetches none; once the cameras
// answer, later cycles take the unreached cameras in turn until each was
// stored once (the clock stands still: a frame stored is unchanged
// after), every cycle's cameras accounted for.
func TestTrackedCycleAdmitsOnlyWhatWorkersTake(t *testing.T) {
	// Not parallel: it counts the goroutines of runTracked's fetches.
	const cameras, workers = 40, 4
	ctl := newDialCtl()
	e := newEnv(t, envOpts{fleet: quietFleet(cameras, 2), mode: system.ModeResilient,
		options: []system.Option{system.WithTransport(ctl.transport)},
		knobs: func(k *system.Knobs) {
			k.Workers = workers
			k.CycleDeadline = 2 * time.Second
			k.FetchTimeout = time.Minute
			k.AdaptiveDeadline = false
		}})
	var releases []func()
	for _, c := range []string{"cam-00001", "cam-00002"} {
		releases = append(releases, ctl.blockHost(hostOf(t, e, c)))
	}
	if hostOf(t, e, "cam-00001") == hostOf(t, e, "cam-00002") {
		t.Fatal("cam-00001 and cam-00002 share a host; want the fleet's two hosts")
	}
	release := func() {
		for _, r := range releases {
			r()
		}
	}
	defer release()
	base := trackedGoroutines(t)
	s1 := runCycle(t, e, false)
	if s1.Abandoned != workers || s1.InFlight != workers || s1.NotFetched[system.SkipNoWorker] != cameras-workers {
		t.Fatalf("cycle 1, every camera hung: abandoned %d, in flight %d, not fetched %v; want %d, %d and %d no_worker",
			s1.Abandoned, s1.InFlight, s1.NotFetched, workers, workers, cameras-workers)
	}
	// Exactly the workers' hung fetches: 0 would mean the count no longer
	// finds runTracked's goroutines (a rename), not that it holds none.
	if g := trackedGoroutines(t) - base; g != workers {
		t.Errorf("cycle 1: %d fetch goroutines held for %d cameras; want the %d workers' hung fetches", g, cameras, workers)
	}
	s2 := runCycle(t, e, false)
	if s2.Abandoned != 0 || s2.NotFetched[system.SkipStillInFlight] != workers || s2.NotFetched[system.SkipNoWorker] != cameras-workers {
		t.Fatalf("cycle 2, the workers still busy: abandoned %d, not fetched %v; want 0, %d still in flight and %d no_worker",
			s2.Abandoned, s2.NotFetched, workers, cameras-workers)
	}
	if g := trackedGoroutines(t) - base; g != workers {
		t.Errorf("cycle 2: %d fetch goroutines held; want the same %d", g, workers)
	}
	release()
	stored := 0
	for i := 0; stored < cameras; i++ {
		if i == 10 {
			t.Fatalf("after 10 cycles %d of %d cameras stored", stored, cameras)
		}
		s := runCycle(t, e, true)
		stored += s.Processed + s.LateProcessed
		if len(s.Errors) != 0 || len(s.LateErrors) != 0 {
			t.Fatalf("cycle %d: errors %v, late errors %v; want none", s.Cycle, s.Errors, s.LateErrors)
		}
	}
	if stored != cameras {
		t.Errorf("%d frames stored; want each of the %d cameras once", stored, cameras)
	}
}
