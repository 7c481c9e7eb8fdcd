package simulator

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeClock is a settable clock for WithClock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func getBody(t *testing.T, url string) (*http.Response, []byte) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

func TestWallOnlyWithUI(t *testing.T) {
	t.Parallel()
	f := start(t, testConfig())
	if resp, _ := getBody(t, f.ControlURL()+"/ui"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET /ui without WithUI = %s; want 404", resp.Status)
	}
}

func TestWallPageAndImages(t *testing.T) {
	t.Parallel()
	f := start(t, testConfig(), WithUI())
	resp, page := getBody(t, f.ControlURL()+"/ui")
	if resp.StatusCode != 200 || !strings.Contains(resp.Header.Get("Content-Security-Policy"), "default-src 'none'") || !bytes.Contains(page, []byte(`id="wall"`)) {
		t.Errorf("GET /ui = %s, CSP %q", resp.Status, resp.Header.Get("Content-Security-Policy"))
	}
	for _, bad := range []string{"http://", "https://", "//cdn"} {
		if bytes.Contains(page, []byte(bad)) && !bytes.Contains(page, []byte("http://www.w3.org/2000/svg")) {
			t.Errorf("page refers to an external resource (%q)", bad)
		}
	}
	resp, img := getBody(t, f.ControlURL()+"/ui/frame/1.jpg")
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "image/jpeg" || !bytes.Equal(img, f.frames[1].body) {
		t.Errorf("GET /ui/frame/1.jpg = %s %q, %d bytes", resp.Status, resp.Header.Get("Content-Type"), len(img))
	}
	if resp, img = getBody(t, f.ControlURL()+"/ui/placeholder.jpg"); resp.StatusCode != 200 || !bytes.Equal(img, f.Placeholder()) {
		t.Errorf("GET /ui/placeholder.jpg = %s", resp.Status)
	}
	for _, u := range []string{"/ui/frame/3.jpg", "/ui/frame/-1.jpg", "/ui/frame/x.jpg", "/ui/frame/1.png"} {
		if resp, _ := getBody(t, f.ControlURL()+u); resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s = %s; want 404 (3 frames)", u, resp.Status)
		}
	}
	for _, q := range []string{"x", "-1", "20001"} {
		resp, b := getBody(t, f.ControlURL()+"/ui/state.json?limit="+q)
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(b), "limit") {
			t.Errorf("limit=%s: %s %q; want 400 naming limit", q, resp.Status, b)
		}
	}
}

// TestWallState drives a fleet on a fake clock: idle before any request,
// serving with per-host and per-camera rates after a round of requests,
// then hung, faulting and offline cameras from the faults injected.
func TestWallState(t *testing.T) {
	t.Parallel()
	clk := &fakeClock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	cfg := testConfig()
	cfg.Cameras, cfg.Hosts = 6, 2
	cfg.Capacity.Concurrent, cfg.Capacity.Queue = 4, 8
	f := start(t, cfg, WithUI(), WithClock(clk.now))
	var st WallState
	state := func(q string) {
		t.Helper()
		st = WallState{}
		getJSON(t, f.ControlURL()+"/ui/state.json"+q, &st)
	}
	clk.add(2 * time.Second)
	state("")
	if st.Cameras != 6 || st.Shown != 6 || st.Counts[WallIdle] != 6 || len(st.Hosts) != 2 {
		t.Fatalf("before any request: %+v", st)
	}
	for _, h := range st.Hosts {
		if h.Capacity != 4 || h.QueueCap != 8 || h.Cameras != 3 || h.RPS != 0 || !strings.HasPrefix(h.URL, "http://127.0.0.1:") {
			t.Errorf("host %+v", h)
		}
	}
	for _, c := range st.Wall {
		if c.Frame < 0 || c.Frame >= 3 {
			t.Errorf("camera %s frame %d; want one of the 3 rendered", c.ID, c.Frame)
		}
	}

	// Four requests to every camera, two seconds apart from the last
	// snapshot: 2 req/s per camera, 6 per host.
	c := newClient(5 * time.Second)
	defer c.CloseIdleConnections()
	for range 4 {
		for i := range 6 {
			resp, err := c.Get(snapURL(f, i))
			if err != nil {
				t.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	}
	clk.add(2 * time.Second)
	state("?limit=2")
	if st.Window != 2 || st.Counts[WallServing] != 6 || st.Shown != 2 || len(st.Wall) != 2 {
		t.Fatalf("after requests: window %g, counts %v, shown %d", st.Window, st.Counts, st.Shown)
	}
	if st.Wall[0].RPS != 2 || st.Wall[0].State != WallServing {
		t.Errorf("camera %+v; want serving at 2 req/s", st.Wall[0])
	}
	for _, h := range st.Hosts {
		if h.RPS != 6 || h.InFlight != 0 || h.Queue != 0 {
			t.Errorf("host %+v; want 6 req/s, nothing in flight", h)
		}
	}
	// A second poll within the window reuses the snapshot.
	state("")
	if st.Window != 2 || st.Counts[WallServing] != 6 {
		t.Errorf("second poll: window %g counts %v", st.Window, st.Counts)
	}

	// Faults as the hosts count them: camera 0 hangs, camera 1 gets a
	// 5xx; camera 0 stays hung for HangFor.
	f.faults.add(0, kHang)
	f.faults.add(1, kHTTP5xx)
	clk.add(time.Second)
	state("")
	if got := st.Wall[0].State; got != WallHung {
		t.Errorf("camera 0: %s; want hung", got)
	}
	if got := st.Wall[1]; got.State != WallFaulting || got.Faults[FaultHTTP5xx] != 1 {
		t.Errorf("camera 1: %+v; want faulting with one http_5xx", got)
	}
	clk.add(cfg.Faults.HangFor + time.Second)
	state("")
	if st.Wall[0].State != WallIdle || st.Wall[1].State != WallIdle {
		t.Errorf("after HangFor: %s, %s; want idle", st.Wall[0].State, st.Wall[1].State)
	}
}

func TestWallOffline(t *testing.T) {
	t.Parallel()
	cfg := testConfig()
	cfg.Faults.Offline, cfg.Faults.OfflinePeriod = 1, time.Hour
	f := start(t, cfg, WithUI())
	var st WallState
	getJSON(t, f.ControlURL()+"/ui/state.json", &st)
	if st.Counts[WallOffline] != cfg.Cameras || st.Wall[0].Frame != -1 {
		t.Errorf("every camera offline: counts %v, frame %d", st.Counts, st.Wall[0].Frame)
	}
}
