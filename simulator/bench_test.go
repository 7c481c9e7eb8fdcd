package simulator

import (
	"io"
	"net/http"
	"net/url"
	"strconv"
	"sync/atomic"
	"testing"
	"time"
)

// discard is a ResponseWriter that keeps nothing, reused across requests,
// so the benchmark measures the handler alone.
type discard struct {
	h    http.Header
	code int
	n    int
}

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) WriteHeader(code int)        { d.code = code }
func (d *discard) Write(b []byte) (int, error) { d.n += len(b); return len(b), nil }

func benchFleet(b *testing.B, opts ...Option) *Fleet {
	f, err := New(benchConfig(), opts...)
	if err != nil {
		b.Fatal(err)
	}
	return f
}

// benchConfig is the throughput configuration of scripts/sim-throughput.sh:
// 1000 cameras on one host, no latency, no faults.
func benchConfig() Config {
	cfg := DefaultConfig
	cfg.Cameras, cfg.Hosts, cfg.Listen = 1000, 1, "127.0.0.1:0"
	cfg.Latency = LatencyConfig{Dist: DistNone}
	cfg.Faults = cfg.Faults.WithFaultRate(0)
	cfg.Faults.Offline = 0
	return cfg
}

// BenchmarkSnapshotHandler is the host handler's own cost per snapshot,
// with the fetch log off (log=0, the handler before the log existed) and
// at its default size (growing while the run is shorter than it) and
// small (the ring full and wrapping: the steady state).
func BenchmarkSnapshotHandler(b *testing.B) {
	b.Run("log=0", func(b *testing.B) { benchHandler(b, benchFleet(b, WithFetchLog(0))) })
	b.Run("log=default", func(b *testing.B) { benchHandler(b, benchFleet(b)) })
	b.Run("log=4096", func(b *testing.B) { benchHandler(b, benchFleet(b, WithFetchLog(4096))) })
}

func benchHandler(b *testing.B, f *Fleet) {
	h := f.HostHandler(0)
	reqs := make([]*http.Request, 1000)
	for i := range reqs {
		u, _ := url.Parse("/cameras/" + CameraID(i) + "/snapshot.jpg?t=" + strconv.Itoa(i))
		reqs[i] = &http.Request{Method: "GET", URL: u, Header: http.Header{}}
	}
	w := &discard{h: http.Header{}}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		clear(w.h)
		h.ServeHTTP(w, reqs[i%len(reqs)])
		i++
	}
	if w.code != 200 {
		b.Fatalf("last status %d", w.code)
	}
	b.SetBytes(int64(w.n / i))
}

// BenchmarkSnapshotLoopback is end-to-end: keep-alive clients over
// loopback against a started fleet, in parallel.
func BenchmarkSnapshotLoopback(b *testing.B) {
	f := start(b, benchConfig())
	base := f.HostURLs()[0]
	tr := &http.Transport{MaxIdleConnsPerHost: 64, DisableCompression: true}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	var next atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := int(next.Add(1)) % 1000
			resp, err := c.Get(base + "/cameras/" + CameraID(i) + "/snapshot.jpg")
			if err != nil {
				b.Error(err)
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	})
}
