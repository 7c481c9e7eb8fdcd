package simulator

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"image/jpeg"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/camload/camload/internal/testenv"
)

// outcome is what a client saw for one request.
type outcome struct {
	status int
	body   []byte
	err    error
}

func fetch(c *http.Client, url string) outcome {
	resp, err := c.Get(url)
	if err != nil {
		return outcome{err: err}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return outcome{status: resp.StatusCode, body: body, err: err}
}

func TestEachFaultSeenAndCounted(t *testing.T) {
	t.Parallel()
	decodes := func(b []byte) bool { _, err := jpeg.Decode(bytes.NewReader(b)); return err == nil }
	for _, tc := range []struct {
		kind    string
		set     func(*FaultConfig)
		timeout time.Duration
		check   func(f *Fleet, o outcome) string // "" when the client saw the fault
	}{
		{FaultHTTP5xx, func(c *FaultConfig) { c.HTTP5xx = 1 }, 5 * time.Second, func(f *Fleet, o outcome) string {
			if o.err != nil || (o.status != 500 && o.status != 502) {
				return "want 500 or 502"
			}
			return ""
		}},
		{FaultHang, func(c *FaultConfig) { c.Hang = 1 }, 150 * time.Millisecond, func(f *Fleet, o outcome) string {
			var ne net.Error
			if !errors.As(o.err, &ne) || !ne.Timeout() {
				return "want a client timeout"
			}
			return ""
		}},
		{FaultReset, func(c *FaultConfig) { c.Reset = 1 }, 5 * time.Second, func(f *Fleet, o outcome) string {
			if o.err == nil || !(strings.Contains(o.err.Error(), "reset") || strings.Contains(o.err.Error(), "EOF")) {
				return "want a connection reset"
			}
			return ""
		}},
		{FaultTruncated, func(c *FaultConfig) { c.Truncated = 1 }, 5 * time.Second, func(f *Fleet, o outcome) string {
			if o.err != nil || o.status != 200 || decodes(o.body) || len(o.body) == 0 {
				return "want 200 with an undecodable, truncated JPEG"
			}
			return ""
		}},
		{FaultGarbage, func(c *FaultConfig) { c.Garbage = 1 }, 5 * time.Second, func(f *Fleet, o outcome) string {
			if o.err != nil || o.status != 200 || decodes(o.body) {
				return "want 200 with garbage"
			}
			return ""
		}},
		{FaultSlowDrip, func(c *FaultConfig) { c.SlowDrip, c.SlowDripRate = 1, 1000 }, 2 * time.Second, func(f *Fleet, o outcome) string {
			// ~20 KB at 1 KB/s cannot arrive within the client's timeout.
			if o.status != 200 || o.err == nil || len(o.body) == 0 {
				return "want 200, some bytes, then a client timeout while reading the body"
			}
			return ""
		}},
		{FaultOversized, func(c *FaultConfig) { c.Oversized, c.OversizedBytes = 1, 3<<20 }, 10 * time.Second, func(f *Fleet, o outcome) string {
			if o.err != nil || o.status != 200 || len(o.body) != 3<<20 {
				return "want a 3 MiB body"
			}
			return ""
		}},
		{FaultPlaceholder, func(c *FaultConfig) { c.Placeholder = 1 }, 5 * time.Second, func(f *Fleet, o outcome) string {
			if o.err != nil || o.status != 200 || !bytes.Equal(o.body, f.Placeholder()) {
				return "want 200 with the placeholder image"
			}
			return ""
		}},
		{FaultOffline, func(c *FaultConfig) { c.Offline, c.OfflinePeriod = 1, time.Hour }, 5 * time.Second, func(f *Fleet, o outcome) string {
			if o.err != nil || o.status != 200 || !bytes.Equal(o.body, f.Placeholder()) {
				return "want 200 with the placeholder image"
			}
			return ""
		}},
	} {
		t.Run(tc.kind, func(t *testing.T) {
			t.Parallel()
			cfg := testConfig()
			tc.set(&cfg.Faults)
			f := start(t, cfg)
			c := newClient(tc.timeout)
			defer c.CloseIdleConnections()
			const n = 3
			for i := range n {
				o := fetch(c, snapURL(f, i))
				if msg := tc.check(f, o); msg != "" {
					t.Errorf("%s on camera %d: client saw status %d, %d bytes, error %v; %s", tc.kind, i, o.status, len(o.body), o.err, msg)
				}
			}
			var rep FaultReport
			getJSON(t, f.ControlURL()+"/faults", &rep)
			if rep.ByKind[tc.kind] != n || rep.Total != n || rep.Requests != n || len(rep.ByKind) != 1 {
				t.Errorf("/faults = %+v; want %d × %s of %d requests", rep, n, tc.kind, n)
			}
			for i := range n {
				if got := rep.ByCamera[CameraID(i)][tc.kind]; got != 1 {
					t.Errorf("/faults byCamera[%s][%s] = %d; want 1", CameraID(i), tc.kind, got)
				}
			}
			if tc.kind == FaultOffline {
				truth, _ := f.Truth("cam-00001", time.Now())
				var cams []Camera
				getJSON(t, f.ControlURL()+"/cameras", &cams)
				if !truth.Placeholder || cams[0].Status != StatusOffline {
					t.Errorf("offline camera: truth %+v, status %q; want placeholder, offline", truth, cams[0].Status)
				}
			}
		})
	}
}

func TestFaultRatesAreHonoured(t *testing.T) {
	t.Parallel()
	cfg := testConfig()
	cfg.Faults = cfg.Faults.WithFaultRate(0.2)
	f, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	const n = 20000
	counts := map[int]int{}
	for i := range n {
		counts[f.drawFault(i%cfg.Cameras, uint64(i/cfg.Cameras))]++
	}
	faulty := n - counts[kNone]
	if faulty < n*18/100 || faulty > n*22/100 {
		t.Errorf("fault rate 0.2 gave %d faults in %d draws", faulty, n)
	}
	if counts[kPlaceholder] < counts[kOversized] {
		t.Errorf("placeholder (weight 10) drawn %d times, oversized (weight 1) %d", counts[kPlaceholder], counts[kOversized])
	}
}

// waitFor polls cond every few milliseconds for at most 10 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for range 2000 {
		if cond() {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

// holder sends snapshot requests to a fleet whose every request holds its
// capacity slot for 10 minutes (see startHolding), until release.
type holder struct {
	f      *Fleet
	c      *http.Client
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// startHolding starts a one-host fleet from cfg in which every request
// holds its slot for 10 minutes unless its client gives up, with its
// metrics in the returned registry, and a holder for it, released (before
// the fleet closes) when the test ends.
func startHolding(t *testing.T, cfg Config) (*Fleet, *prometheus.Registry, *holder) {
	t.Helper()
	cfg.Hosts = 1
	cfg.Latency = LatencyConfig{Dist: DistConstant, Median: 10 * time.Minute}
	reg := prometheus.NewRegistry()
	f := start(t, cfg, WithRegisterer(reg))
	ctx, cancel := context.WithCancel(context.Background())
	h := &holder{f: f, c: newClient(0), ctx: ctx, cancel: cancel}
	t.Cleanup(func() {
		h.release()
		h.c.CloseIdleConnections()
	})
	return f, reg, h
}

// hold sends a request to camera cam that holds its slot until release.
func (h *holder) hold(cam int) {
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		req, _ := http.NewRequestWithContext(h.ctx, "GET", snapURL(h.f, cam), nil)
		if resp, err := h.c.Do(req); err == nil {
			resp.Body.Close()
		}
	}()
}

// release ends the held requests and waits for them.
func (h *holder) release() {
	h.cancel()
	h.wg.Wait()
}

func TestCapacityQueueAndOverflow(t *testing.T) {
	t.Parallel()
	for _, overflow := range []string{Overflow503, OverflowReset} {
		t.Run(overflow, func(t *testing.T) {
			t.Parallel()
			cfg := testConfig()
			cfg.Capacity = CapacityConfig{Concurrent: 2, Queue: 1, Overflow: overflow}
			f, reg, held := startHolding(t, cfg)
			h := f.hosts[0]
			held.hold(0)
			held.hold(1)
			waitFor(t, "2 requests in service", func() bool { return h.active.Load() == 2 })
			held.hold(2)
			waitFor(t, "1 request queued", func() bool { return h.waiting.Load() == 1 })
			if got := testutil.ToFloat64(gauge(t, reg, "camload_sim_queue_depth")); got != 1 {
				t.Errorf("queue depth metric = %g; want 1", got)
			}
			// The fourth finds service and queue full.
			o := fetch(held.c, snapURL(f, 3))
			switch overflow {
			case Overflow503:
				if o.status != http.StatusServiceUnavailable {
					t.Errorf("overflow request: %d, %v; want 503", o.status, o.err)
				}
			case OverflowReset:
				if o.err == nil {
					t.Errorf("overflow request: %d; want a connection error", o.status)
				}
			}
			held.release()
			waitFor(t, "slots released", func() bool { return h.active.Load() == 0 && h.waiting.Load() == 0 })
			rep := f.Faults()
			kind := map[string]string{Overflow503: FaultOverflow503, OverflowReset: FaultOverflowReset}[overflow]
			if rep.ByKind[kind] != 1 || rep.Total != 1 || rep.Requests != 4 {
				t.Errorf("Faults() = %+v; want one %s of 4 requests", rep, kind)
			}
			if rej, _ := testenv.Metric(t, reg, "camload_sim_rejections_total"); rej != 1 {
				t.Errorf("camload_sim_rejections_total = %g; want 1", rej)
			}
		})
	}
}

// gauge returns the single-series collector for a metric of reg, for testutil.
func gauge(t *testing.T, reg *prometheus.Registry, name string) prometheus.Collector {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name && len(mf.Metric) == 1 {
			return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: "copy"}, func() float64 { return mf.Metric[0].GetGauge().GetValue() })
		}
	}
	t.Fatalf("metric %s not found", name)
	return nil
}

func TestHandshakeDelaysNewConnections(t *testing.T) {
	t.Parallel()
	cfg := testConfig()
	cfg.Capacity.Handshake = 10 * time.Minute // a connection is never ready within the test
	f := start(t, cfg)
	c := newClient(200 * time.Millisecond)
	defer c.CloseIdleConnections()
	o := fetch(c, snapURL(f, 0))
	if o.err == nil {
		t.Fatalf("request on a new connection with a 10-minute handshake: %d; want a timeout", o.status)
	}
	waitFor(t, "the connection to be counted", func() bool { return f.hosts[0].conns.Load() == 1 })
	if rep := f.Faults(); rep.Requests != 0 {
		t.Errorf("%d requests reached the handler before the handshake", rep.Requests)
	}
}

func TestHandshakeOncePerConnection(t *testing.T) {
	t.Parallel()
	cfg := testConfig()
	cfg.Hosts = 1
	cfg.Capacity.Handshake = 20 * time.Millisecond
	f := start(t, cfg)
	keep := newClient(5 * time.Second)
	defer keep.CloseIdleConnections()
	for i := range 5 {
		if o := fetch(keep, snapURL(f, i)); o.status != 200 {
			t.Fatalf("keep-alive request %d: %d %v", i, o.status, o.err)
		}
	}
	if n := f.hosts[0].conns.Load(); n != 1 {
		t.Errorf("5 keep-alive requests used %d connections; want 1", n)
	}
	churn := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 5 * time.Second}
	for i := range 3 {
		if o := fetch(churn, snapURL(f, i)); o.status != 200 {
			t.Fatalf("new-connection request %d: %d %v", i, o.status, o.err)
		}
	}
	if n := f.hosts[0].conns.Load(); n != 4 {
		t.Errorf("after 3 requests without keep-alive: %d connections; want 4", n)
	}
}

func TestTLS(t *testing.T) {
	t.Parallel()
	cfg := testConfig()
	cfg.TLS = true
	f := start(t, cfg)
	if !strings.HasPrefix(f.HostURLs()[0], "https://") {
		t.Fatalf("HostURLs() = %v; want https", f.HostURLs())
	}
	good := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: f.RootCAs()}}}
	defer good.CloseIdleConnections()
	if o := fetch(good, snapURL(f, 0)); o.status != 200 {
		t.Errorf("TLS snapshot with the fleet's CA: %d %v; want 200", o.status, o.err)
	}
	bad := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{}}
	defer bad.CloseIdleConnections()
	if o := fetch(bad, snapURL(f, 0)); o.err == nil {
		t.Errorf("TLS snapshot without the fleet's CA succeeded; want a certificate error")
	}
	if o := fetch(good, snapURL(f, 2)); o.status != 200 {
		t.Errorf("second TLS snapshot: %d %v", o.status, o.err)
	}
}

func TestMetricsExposition(t *testing.T) {
	t.Parallel()
	cfg := testConfig()
	cfg.Hosts = 1
	reg := prometheus.NewRegistry()
	f := start(t, cfg, WithRegisterer(reg))
	c := newClient(5 * time.Second)
	defer c.CloseIdleConnections()
	var size int
	for i := range 3 {
		o := fetch(c, snapURL(f, i))
		size += len(o.body)
	}
	fetch(c, f.HostURLs()[0]+"/cameras/cam-77777/snapshot.jpg")
	want := `
# HELP camload_sim_requests_total Snapshot requests answered, by host, HTTP status code (none: no response) and injected fault (none: a normal answer).
# TYPE camload_sim_requests_total counter
camload_sim_requests_total{code="200",fault="none",host="0"} 3
camload_sim_requests_total{code="404",fault="none",host="0"} 1
# HELP camload_sim_in_flight Snapshot requests being served (holding one of the host's capacity slots).
# TYPE camload_sim_in_flight gauge
camload_sim_in_flight{host="0"} 0
# HELP camload_sim_connections_total TCP connections accepted.
# TYPE camload_sim_connections_total counter
camload_sim_connections_total{host="0"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "camload_sim_requests_total", "camload_sim_in_flight", "camload_sim_connections_total"); err != nil {
		t.Error(err)
	}
	if got := testutil.ToFloat64(counterOf(t, reg, "camload_sim_bytes_served_total")); int(got) != size {
		t.Errorf("bytes served = %g; want %d", got, size)
	}
	o := fetch(c, f.ControlURL()+"/metrics")
	if o.status != 200 || !strings.Contains(string(o.body), `camload_sim_requests_total{code="200",fault="none",host="0"} 3`) {
		t.Errorf("GET /metrics: %d, missing the requests counter", o.status)
	}
	if o := fetch(c, f.ControlURL()+"/healthz"); o.status != 200 {
		t.Errorf("GET /healthz: %d", o.status)
	}
}

func counterOf(t *testing.T, reg *prometheus.Registry, name string) prometheus.Collector {
	t.Helper()
	mfs, _ := reg.Gather()
	for _, mf := range mfs {
		if mf.GetName() == name && len(mf.Metric) == 1 {
			v := mf.Metric[0].GetCounter().GetValue()
			return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: "copy"}, func() float64 { return v })
		}
	}
	t.Fatalf("metric %s not found", name)
	return nil
}

func TestCloseEndsHungRequests(t *testing.T) {
	t.Parallel()
	cfg := testConfig()
	cfg.Faults.Hang, cfg.Faults.HangFor = 1, 10*time.Minute
	f, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := f.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if err := f.Start(ctx); !errors.Is(err, ErrStarted) {
		t.Errorf("second Start = %v; want ErrStarted", err)
	}
	c := newClient(0)
	defer c.CloseIdleConnections()
	done := make(chan outcome, 1)
	go func() { done <- fetch(c, snapURL(f, 0)) }()
	waitFor(t, "the hang to start", func() bool { return f.Faults().ByKind[FaultHang] == 1 })
	cancel() // ending Start's context stops the fleet
	<-f.Done()
	if o := <-done; o.err == nil {
		t.Errorf("hung request after shutdown: %d; want an error", o.status)
	}
	if err := f.Close(); err != nil {
		t.Errorf("Close after shutdown: %v", err)
	}
}

func TestCloseBeforeStart(t *testing.T) {
	t.Parallel()
	f, err := New(testConfig())
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Errorf("Close before Start: %v", err)
	}
	if err := f.Start(context.Background()); !errors.Is(err, ErrStarted) {
		t.Errorf("Start after Close = %v; want ErrStarted", err)
	}
}

func TestStartOnBusyPortFails(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	cfg := testConfig()
	cfg.Listen = l.Addr().String()
	f, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Start(context.Background()); err == nil {
		f.Close()
		t.Fatalf("Start on a busy port succeeded")
	}
	f.Close()
}

// TestTLSWithResetAndHandshake: a reset reaches the TCP connection under
// TLS and the handshake delay wraps the raw connection.
func TestTLSWithResetAndHandshake(t *testing.T) {
	t.Parallel()
	cfg := testConfig()
	cfg.Hosts = 1
	cfg.TLS = true
	cfg.Capacity.Handshake = 5 * time.Millisecond
	cfg.Faults.Reset = 1
	f := start(t, cfg)
	// No keep-alive: a request reset on a reused connection would be
	// retried by the transport and counted twice.
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: f.RootCAs()}, DisableKeepAlives: true}}
	defer c.CloseIdleConnections()
	for i := range 2 {
		if o := fetch(c, snapURL(f, i)); o.err == nil {
			t.Errorf("reset over TLS, camera %d: %d; want a connection error", i, o.status)
		}
	}
	if got := f.Faults().ByKind[FaultReset]; got != 2 {
		t.Errorf("resets counted = %d; want 2", got)
	}
	if got := f.hosts[0].conns.Load(); got != 2 {
		t.Errorf("connections = %d; want 2", got)
	}
}
