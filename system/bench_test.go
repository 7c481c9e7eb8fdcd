package system_test

import (
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/camload/camload/system"
	"github.com/camload/camload/system/cache"
)

// BenchmarkLatestCached measures GET /api/v1/cameras/{id}/latest served
// from the cache (L1 hits) over loopback HTTP, many clients in parallel.
func BenchmarkLatestCached(b *testing.B) {
	opts := cache.DefaultOptions
	opts.L1TTL = time.Hour
	_, c := withCache(b, prometheus.NewRegistry(), opts)
	e := newEnv(b, envOpts{fleet: quietFleet(50, 2), mode: system.ModeBatched,
		options: []system.Option{system.WithCache(cache.Layer{C: c})}})
	e.cycle(b)
	ids := make([]string, 0, 50)
	for _, c := range e.sys.Cameras() {
		ids = append(ids, e.api.URL+"/api/v1/cameras/"+c.ID+"/latest")
	}
	tr := &http.Transport{MaxIdleConnsPerHost: 256}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			resp, err := client.Get(ids[i%len(ids)])
			if err != nil {
				b.Error(err)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				b.Errorf("status %d", resp.StatusCode)
				return
			}
			i++
		}
	})
}

// BenchmarkCycle runs full cycles of 1000 cameras on 10 hosts without
// latency against the in-process fleet and embedded FerretDB, per mode.
// Every iteration makes every frame new, so it measures fetch + analyze +
// store of 1000 frames. Skipped with -short.
func BenchmarkCycle(b *testing.B) {
	if testing.Short() {
		b.Skip("1000-camera cycles with embedded FerretDB")
	}
	for _, mode := range system.Modes {
		b.Run(string(mode), func(b *testing.B) {
			fc := quietFleet(1000, 10)
			fc.Width, fc.Height = 640, 360
			e := newEnv(b, envOpts{fleet: fc, mode: mode})
			b.ResetTimer()
			var processed, errs int
			for range b.N {
				e.clock.Advance(time.Hour)
				s := e.cycle(b)
				processed += s.Processed
				errs += errorTotal(s.Errors)
			}
			b.ReportMetric(float64(processed)/float64(b.N), "frames/cycle")
			b.ReportMetric(float64(errs)/float64(b.N), "errors/cycle")
		})
	}
}
