package simulator

import (
	"bytes"
	"encoding/json"
	"image/jpeg"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"
)

// snapURL is camera i's snapshot URL on f.
func snapURL(f *Fleet, i int) string {
	return f.HostURLs()[f.cams[i].host] + "/cameras/" + CameraID(i) + "/snapshot.jpg?t=" + strconv.Itoa(i)
}

// newClient is a keep-alive client with a timeout.
func newClient(timeout time.Duration) *http.Client {
	tr := &http.Transport{DisableCompression: true}
	return &http.Client{Timeout: timeout, Transport: tr}
}

func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %s", url, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: decoding: %v", url, err)
	}
}

func TestSnapshotETagAndTruth(t *testing.T) {
	t.Parallel()
	f := start(t, testConfig())
	c := newClient(5 * time.Second)
	defer c.CloseIdleConnections()
	url := snapURL(f, 3)
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "image/jpeg" {
		t.Fatalf("GET %s = %s %q", url, resp.Status, resp.Header.Get("Content-Type"))
	}
	if _, err := jpeg.Decode(bytes.NewReader(body)); err != nil {
		t.Fatalf("snapshot is not a JPEG: %v", err)
	}
	var truth Truth
	var raw map[string]any
	getJSON(t, f.ControlURL()+"/cameras/cam-00004/truth", &raw)
	b, _ := json.Marshal(raw)
	json.Unmarshal(b, &truth)
	etag := resp.Header.Get("ETag")
	if truth.ETag != etag || strconv.FormatInt(truth.Frame, 10) != resp.Header.Get("X-Camload-Frame") {
		t.Errorf("truth %+v does not match headers ETag %s, frame %s", truth, etag, resp.Header.Get("X-Camload-Frame"))
	}
	if at, err := time.Parse(time.RFC3339Nano, resp.Header.Get("X-Camload-Captured-At")); err != nil || !at.Equal(truth.CapturedAt) {
		t.Errorf("X-Camload-Captured-At = %q (%v); want %s", resp.Header.Get("X-Camload-Captured-At"), err, truth.CapturedAt)
	}
	for _, tc := range []struct {
		name, inm string
		want      int
	}{
		{"matching ETag", etag, http.StatusNotModified},
		{"ETag in a list", `"nope", ` + etag, http.StatusNotModified},
		{"other ETag", `"0000"`, http.StatusOK},
	} {
		req, _ := http.NewRequest("GET", url, nil)
		req.Header.Set("If-None-Match", tc.inm)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("%s: GET with If-None-Match %s = %d; want %d", tc.name, tc.inm, resp.StatusCode, tc.want)
		}
	}
	for _, tc := range []struct{ name, url string }{
		{"unknown camera", f.HostURLs()[0] + "/cameras/cam-99999/snapshot.jpg"},
		{"camera of the other host", f.HostURLs()[1] + "/cameras/cam-00001/snapshot.jpg"},
		{"bad path", f.HostURLs()[0] + "/cameras/cam-00001/live.mjpg"},
	} {
		resp, err := c.Get(tc.url)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 404 {
			t.Errorf("%s: GET %s = %d; want 404", tc.name, tc.url, resp.StatusCode)
		}
	}
	if rep := f.Faults(); rep.Requests != 4 || rep.Total != 0 {
		t.Errorf("Faults() = %+v; want 4 requests, no faults", rep)
	}
}

func TestETagDisabled(t *testing.T) {
	t.Parallel()
	cfg := testConfig()
	cfg.ETag = false
	f, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(f.HostHandler(0))
	defer srv.Close()
	req, _ := http.NewRequest("GET", srv.URL+"/cameras/cam-00001/snapshot.jpg", nil)
	req.Header.Set("If-None-Match", "*")
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("ETag") != "" {
		t.Errorf("with ETag off: %d, ETag %q; want 200 and no ETag", resp.StatusCode, resp.Header.Get("ETag"))
	}
}

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

func TestFramesChangeEveryRefresh(t *testing.T) {
	t.Parallel()
	clk := &clock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	cfg := testConfig()
	f, err := New(cfg, WithClock(clk.now))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(f.HostHandler(0))
	defer srv.Close()
	get := func() (etag, frame string, body []byte) {
		resp, err := srv.Client().Get(srv.URL + "/cameras/cam-00001/snapshot.jpg")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.Header.Get("ETag"), resp.Header.Get("X-Camload-Frame"), b
	}
	truth, _ := f.Truth("cam-00001", clk.now())
	e0, n0, b0 := get()
	if n0 != strconv.FormatInt(truth.Frame, 10) || e0 != truth.ETag {
		t.Fatalf("frame %s ETag %s; truth %+v", n0, e0, truth)
	}
	// Just before the frame's end the same bytes come back...
	clk.add(truth.CapturedAt.Add(cfg.Refresh - time.Nanosecond).Sub(clk.now()))
	if e1, n1, b1 := get(); n1 != n0 || e1 != e0 || !bytes.Equal(b0, b1) {
		t.Errorf("within frame %s: got frame %s ETag %s (same bytes %t); want unchanged", n0, n1, e1, bytes.Equal(b0, b1))
	}
	// ...and at its end the next frame, with new bytes.
	clk.add(time.Nanosecond)
	if e2, n2, b2 := get(); n2 != strconv.FormatInt(truth.Frame+1, 10) || e2 == e0 || bytes.Equal(b0, b2) {
		t.Errorf("after a refresh: frame %s ETag %s; before: frame %s ETag %s; want the next frame", n2, e2, n0, e0)
	}
	for k := range 20 { // consecutive frames always differ
		a, _ := f.Truth("cam-00007", clk.now().Add(time.Duration(k)*cfg.Refresh))
		b, _ := f.Truth("cam-00007", clk.now().Add(time.Duration(k+1)*cfg.Refresh))
		if a.ETag == b.ETag || b.Frame != a.Frame+1 {
			t.Errorf("frames %d and %d: ETags %s, %s; want different, consecutive", a.Frame, b.Frame, a.ETag, b.ETag)
		}
	}
}

func TestDeterministicWithSeed(t *testing.T) {
	t.Parallel()
	cfg := DefaultConfig
	cfg.Cameras, cfg.Frames, cfg.Width, cfg.Height = 300, 3, 480, 270
	a, _ := New(cfg)
	b, _ := New(cfg)
	cfg.Seed = 2
	c, _ := New(cfg)
	ja, _ := json.Marshal(a.Cameras())
	jb, _ := json.Marshal(b.Cameras())
	jc, _ := json.Marshal(c.Cameras())
	if !bytes.Equal(ja, jb) {
		t.Errorf("same seed, different inventories")
	}
	if bytes.Equal(ja, jc) {
		t.Errorf("different seeds, same inventory")
	}
	for i := range a.frames {
		if !bytes.Equal(a.frames[i].body, b.frames[i].body) {
			t.Errorf("same seed, frame %d differs", i)
		}
	}
	at := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	diff := 0
	for i := range 300 {
		ta, _ := a.Truth(CameraID(i), at)
		tb, _ := b.Truth(CameraID(i), at)
		if ta != tb {
			t.Fatalf("Truth(%s) differs between equal fleets: %+v vs %+v", CameraID(i), ta, tb)
		}
		for n := range uint64(50) {
			if a.drawFault(i, n) != b.drawFault(i, n) || a.sampler.Sample(i, n) != b.sampler.Sample(i, n) {
				t.Fatalf("fault or latency draw %d of camera %d differs between equal fleets", n, i)
			}
			if a.drawFault(i, n) != c.drawFault(i, n) {
				diff++
			}
		}
	}
	if diff == 0 {
		t.Errorf("seeds 1 and 2 draw identical faults")
	}
}

func TestInventory(t *testing.T) {
	t.Parallel()
	cfg := DefaultConfig
	cfg.Cameras, cfg.Hosts, cfg.Frames, cfg.Width, cfg.Height = 5000, 7, 1, 480, 270
	cfg.Listen = "127.0.0.1:9000"
	f, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	cams := f.Cameras()
	ids, codes := map[string]bool{}, map[string]bool{}
	perHost := make([]int, cfg.Hosts)
	types := map[string]int{}
	for i, c := range cams {
		if c.ID != CameraID(i) || ids[c.ID] || codes[c.Code] {
			t.Fatalf("camera %d: id %q code %q not unique/ordered", i, c.ID, c.Code)
		}
		ids[c.ID], codes[c.Code] = true, true
		if c.Name == "" || !slices.ContainsFunc(districts, func(d district) bool { return d.name == c.District }) {
			t.Errorf("camera %s: name %q district %q", c.ID, c.Name, c.District)
		}
		if c.Location.Lat < 10.6 || c.Location.Lat > 10.95 || c.Location.Lng < 106.5 || c.Location.Lng > 106.85 {
			t.Errorf("camera %s at %+v: outside Ho Chi Minh City", c.ID, c.Location)
		}
		types[c.CameraType]++
		port := 9001 + i%cfg.Hosts
		if want := "http://127.0.0.1:" + strconv.Itoa(port) + "/cameras/" + c.ID + "/snapshot.jpg"; c.SnapshotURL != want {
			t.Errorf("camera %s: snapshotUrl %q; want %q", c.ID, c.SnapshotURL, want)
		}
		perHost[i%cfg.Hosts]++
		if c.Status != StatusOnline && c.Status != StatusOffline {
			t.Errorf("camera %s: status %q", c.ID, c.Status)
		}
	}
	if len(types) != 3 {
		t.Errorf("camera types %v; want PTZ, Static and Dome", types)
	}
	if slices.Min(perHost) < cfg.Cameras/cfg.Hosts {
		t.Errorf("cameras per host %v; want an even spread", perHost)
	}
}

func TestSamplerQuantiles(t *testing.T) {
	t.Parallel()
	const n = 40000
	quantile := func(s *Sampler, cam int, q float64) time.Duration {
		d := make([]time.Duration, n)
		for i := range d {
			d[i] = s.Sample(cam, uint64(i))
		}
		slices.Sort(d)
		return d[int(q*float64(n-1))]
	}
	within := func(got, want time.Duration, tol float64) bool {
		return math.Abs(float64(got-want)) <= tol*float64(want)
	}
	for _, tc := range []struct {
		name string
		cfg  LatencyConfig
		q    float64
		want time.Duration
		tol  float64
	}{
		{"lognormal median", LatencyConfig{Dist: DistLognormal, Median: 200 * time.Millisecond, P99: 600 * time.Millisecond}, 0.5, 200 * time.Millisecond, 0.03},
		{"lognormal p99", LatencyConfig{Dist: DistLognormal, Median: 200 * time.Millisecond, P99: 600 * time.Millisecond}, 0.99, 600 * time.Millisecond, 0.06},
		{"long tail p99", LatencyConfig{Dist: DistLognormal, Median: 300 * time.Millisecond, P99: 10 * time.Second}, 0.99, 10 * time.Second, 0.10},
		{"uniform min", LatencyConfig{Dist: DistUniform, Min: 100 * time.Millisecond, Max: 300 * time.Millisecond}, 0, 100 * time.Millisecond, 0.01},
		{"uniform median", LatencyConfig{Dist: DistUniform, Min: 100 * time.Millisecond, Max: 300 * time.Millisecond}, 0.5, 200 * time.Millisecond, 0.02},
		{"uniform max", LatencyConfig{Dist: DistUniform, Min: 100 * time.Millisecond, Max: 300 * time.Millisecond}, 1, 300 * time.Millisecond, 0.01},
		{"constant", LatencyConfig{Dist: DistConstant, Median: 42 * time.Millisecond}, 0.9, 42 * time.Millisecond, 0},
		{"none", LatencyConfig{Dist: DistNone}, 1, 0, 0},
	} {
		s := NewSampler(tc.cfg, 1)
		if got := quantile(s, 5, tc.q); !within(got, tc.want, tc.tol) {
			t.Errorf("%s: q%g of %s = %s; want %s ±%g%%", tc.name, tc.q, tc.cfg, got, tc.want, 100*tc.tol)
		}
	}
	// Spread scales each camera by a factor in [1-s, 1+s], and cameras differ.
	s := NewSampler(LatencyConfig{Dist: DistConstant, Median: time.Second, Spread: 0.2}, 3)
	seen := map[time.Duration]bool{}
	for cam := range 100 {
		d := s.Sample(cam, 0)
		if d < 800*time.Millisecond || d > 1200*time.Millisecond {
			t.Errorf("camera %d with spread 0.2: %s; want 0.8s…1.2s", cam, d)
		}
		seen[d] = true
	}
	if len(seen) < 90 {
		t.Errorf("spread gave only %d distinct per-camera latencies of 100", len(seen))
	}
}

// TestMemoryPerCamera: cameras share the rendered frames, so a camera costs
// a few hundred bytes of inventory, not a frame (what lets 10,000 cameras
// fit in well under 200 MB).
func TestMemoryPerCamera(t *testing.T) {
	cfg := DefaultConfig
	cfg.Cameras, cfg.Hosts, cfg.Frames, cfg.Width, cfg.Height = 10000, 10, 1, 480, 270
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	perCamera := (int64(after.HeapAlloc) - int64(before.HeapAlloc) - int64(len(f.frames[0].body))) / int64(cfg.Cameras)
	if perCamera > 2048 {
		t.Errorf("heap per camera = %d bytes; want ≤ 2 KiB", perCamera)
	}
	t.Logf("heap per camera: %d bytes", perCamera)
	runtime.KeepAlive(f)
}
