package simulator

import (
	"io"
	"net/http"
	"net/url"
	"testing"
	"time"
)

func getAll(t *testing.T, c *http.Client, urls ...string) {
	t.Helper()
	for _, u := range urls {
		resp, err := c.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
}

// TestFetchLogRecordsDrawsAndConnections: every request is recorded with
// the latency the fleet drew for it (the sampler's own draw for that
// camera and request number), the first request of each connection is
// NewConn and carries the handshake, and the endpoint serves the same.
func TestFetchLogRecordsDrawsAndConnections(t *testing.T) {
	t.Parallel()
	cfg := testConfig()
	cfg.Hosts = 1
	cfg.Latency = LatencyConfig{Dist: DistUniform, Min: time.Millisecond, Max: 3 * time.Millisecond}
	cfg.Capacity.Handshake = 2 * time.Millisecond
	f := start(t, cfg)
	t0 := time.Now()
	keep := &http.Transport{}
	defer keep.CloseIdleConnections()
	getAll(t, &http.Client{Transport: keep}, snapURL(f, 0), snapURL(f, 1), snapURL(f, 0))
	getAll(t, &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}, snapURL(f, 2), snapURL(f, 2))

	log := f.Fetches(time.Time{}, time.Time{})
	if len(log.Fetches) != 5 || log.Recorded != 5 || log.Dropped != 0 || log.Truncated || log.Capacity != DefaultFetchLog {
		t.Fatalf("Fetches = %+v; want 5 fetches, none dropped", log)
	}
	wantCam := []string{CameraID(0), CameraID(1), CameraID(0), CameraID(2), CameraID(2)}
	wantNew := []bool{true, false, false, true, true}
	reqNo := map[string]uint64{}
	for k, fe := range log.Fetches {
		if fe.Camera != wantCam[k] || fe.NewConn != wantNew[k] || fe.Code != 200 || fe.Fault != "" || fe.Host != 0 {
			t.Errorf("fetch %d = %+v; want camera %s, newConn %v, 200", k, fe, wantCam[k], wantNew[k])
		}
		i := parseCameraID(fe.Camera)
		if want := f.sampler.Sample(i, reqNo[fe.Camera]); fe.Latency != want {
			t.Errorf("fetch %d latency %s; the fleet's draw was %s", k, fe.Latency, want)
		}
		reqNo[fe.Camera]++
		if fe.Duration < fe.Latency {
			t.Errorf("fetch %d took %s < its drawn latency %s", k, fe.Duration, fe.Latency)
		}
		if wantHS := map[bool]time.Duration{true: 2 * time.Millisecond}[fe.NewConn]; fe.Handshake != wantHS {
			t.Errorf("fetch %d handshake %s; want %s", k, fe.Handshake, wantHS)
		}
		if fe.Start.Before(t0) || (k > 0 && fe.Start.Before(log.Fetches[k-1].Start)) {
			t.Errorf("fetch %d start %s out of order", k, fe.Start)
		}
	}
	// A window holds only the fetches that started in it.
	mid := log.Fetches[2].Start
	if got := f.Fetches(mid, time.Time{}); len(got.Fetches) != 3 || got.Fetches[0].Start != mid {
		t.Errorf("Fetches(since fetch 2) = %d fetches; want 3 from fetch 2", len(got.Fetches))
	}
	if got := f.Fetches(time.Time{}, mid); len(got.Fetches) != 2 {
		t.Errorf("Fetches(until fetch 2) = %d fetches; want 2", len(got.Fetches))
	}
	// The control endpoint serves the same log.
	var remote FetchLog
	getJSON(t, f.ControlURL()+"/fetches?since="+url.QueryEscape(mid.Format(time.RFC3339Nano)), &remote)
	if len(remote.Fetches) != 3 {
		t.Fatalf("GET /fetches?since = %+v; want 3 fetches", remote)
	}
	for k, fe := range remote.Fetches {
		local := log.Fetches[2+k]
		if !fe.Start.Equal(local.Start) || fe.Camera != local.Camera || fe.Latency != local.Latency || fe.NewConn != local.NewConn || fe.Handshake != local.Handshake {
			t.Errorf("GET /fetches[%d] = %+v; Fetches has %+v", k, fe, local)
		}
	}
	resp, err := http.Get(f.ControlURL() + "/fetches?since=yesterday")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("GET /fetches?since=yesterday: %s; want 400", resp.Status)
	}
}

// TestFetchLogOutcomes: refused, faulted and aborted requests are recorded
// with their kind and status.
func TestFetchLogOutcomes(t *testing.T) {
	t.Parallel()
	cfg := testConfig()
	cfg.Hosts = 1
	cfg.Faults.HTTP5xx = 1
	f := start(t, cfg)
	c := newClient(5 * time.Second)
	defer c.CloseIdleConnections()
	getAll(t, c, snapURL(f, 3))
	log := f.Fetches(time.Time{}, time.Time{})
	if len(log.Fetches) != 1 {
		t.Fatalf("Fetches = %+v; want 1", log)
	}
	if fe := log.Fetches[0]; fe.Fault != FaultHTTP5xx || (fe.Code != 500 && fe.Code != 502) || fe.Refused() {
		t.Errorf("fetch = %+v; want an http_5xx answered 500/502, not refused", fe)
	}
}

// TestFetchLogBounded: the log keeps the last n records, counts what it
// dropped and says when a window lost records.
func TestFetchLogBounded(t *testing.T) {
	t.Parallel()
	clock := time.Unix(1000, 0)
	f, err := New(testConfig(), WithFetchLog(4), WithClock(func() time.Time { return clock }))
	if err != nil {
		t.Fatal(err)
	}
	h := f.HostHandler(0)
	starts := make([]time.Time, 10)
	for k := range starts {
		clock = clock.Add(time.Second)
		starts[k] = clock
		w := &discard{h: http.Header{}}
		u, _ := url.Parse("/cameras/" + CameraID(0) + "/snapshot.jpg")
		h.ServeHTTP(w, &http.Request{Method: "GET", URL: u, Header: http.Header{}})
	}
	log := f.Fetches(time.Time{}, time.Time{})
	if len(log.Fetches) != 4 || log.Recorded != 10 || log.Dropped != 6 || !log.Truncated {
		t.Fatalf("Fetches = %d fetches, recorded %d, dropped %d, truncated %v; want 4, 10, 6, true",
			len(log.Fetches), log.Recorded, log.Dropped, log.Truncated)
	}
	for k, fe := range log.Fetches {
		if !fe.Start.Equal(starts[6+k]) {
			t.Errorf("fetch %d start %s; want %s (the last four kept)", k, fe.Start, starts[6+k])
		}
	}
	if got := f.Fetches(starts[6], time.Time{}); got.Truncated || len(got.Fetches) != 4 {
		t.Errorf("window from the oldest kept record: truncated %v, %d fetches; want complete, 4", got.Truncated, len(got.Fetches))
	}
	if got := f.Fetches(starts[5], time.Time{}); !got.Truncated {
		t.Errorf("window from a dropped record: not truncated")
	}
	off, err := New(testConfig(), WithFetchLog(0))
	if err != nil {
		t.Fatal(err)
	}
	if got := off.Fetches(time.Time{}, time.Time{}); len(got.Fetches) != 0 || got.Capacity != 0 {
		t.Errorf("WithFetchLog(0): %+v; want an empty log", got)
	}
}
