package resilience_test

import (
	"context"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/camload/camload/system/resilience"
)

// cams are 1000 camera IDs, a fleet's worth.
var cams = func() []string {
	ids := make([]string, 1000)
	for i := range ids {
		ids[i] = "cam-" + strconv.Itoa(i)
	}
	return ids
}()

// BenchmarkDeadlines is one camera visit: Deadline, then Observe.
func BenchmarkDeadlines(b *testing.B) {
	d, err := resilience.NewDeadlines(resilience.DeadlineOptions{})
	if err != nil {
		b.Fatal(err)
	}
	for _, id := range cams {
		for j := range resilience.DefaultDeadlineWindow {
			d.Observe(id, time.Duration(j)*time.Millisecond)
		}
	}
	var n atomic.Int64
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := int(n.Add(1)) * 7919
		for pb.Next() {
			id := cams[i%len(cams)]
			_ = d.Deadline(id)
			d.Observe(id, time.Duration(i%500)*time.Millisecond)
			i++
		}
	})
}

// BenchmarkBreakers is one camera visit through a closed breaker: Allow,
// then Report.
func BenchmarkBreakers(b *testing.B) {
	bs, err := resilience.NewBreakers(resilience.BreakerOptions{})
	if err != nil {
		b.Fatal(err)
	}
	var n atomic.Int64
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := int(n.Add(1)) * 7919
		for pb.Next() {
			tk, ok := bs.Allow(cams[i%len(cams)])
			if ok {
				bs.Report(tk, resilience.Success)
			}
			i++
		}
	})
}

// BenchmarkBreakersCounts is one /api/v1/stats or metrics read.
func BenchmarkBreakersCounts(b *testing.B) {
	bs, err := resilience.NewBreakers(resilience.BreakerOptions{Failures: 1})
	if err != nil {
		b.Fatal(err)
	}
	for _, id := range cams[:100] {
		tk, _ := bs.Allow(id)
		bs.Report(tk, resilience.Failure)
	}
	b.ReportAllocs()
	for b.Loop() {
		_ = bs.Counts()
	}
}

// BenchmarkHostLimits is one request's Acquire and release on one host,
// from parallel goroutines (contended).
func BenchmarkHostLimits(b *testing.B) {
	hl, err := resilience.NewHostLimits(resilience.HostLimitOptions{Initial: 64, Max: 64})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			release, err := hl.Acquire(ctx, "127.0.0.1:8081")
			if err != nil {
				b.Error(err)
				return
			}
			release(resilience.Success)
		}
	})
}

// BenchmarkTracker is one cycle of 1000 cameras: Begin, Start and Done
// each, Close, Wait.
func BenchmarkTracker(b *testing.B) {
	tr := resilience.NewTracker(resilience.TrackerOptions[string, int]{})
	ctx := context.Background()
	b.ReportAllocs()
	var n int64
	for b.Loop() {
		n++
		c := tr.Begin(n)
		for i, id := range cams {
			c.Start(id)
			c.Done(id, i)
		}
		c.Close()
		if co := c.Wait(ctx); len(co.Results) != len(cams) {
			b.Fatalf("%d results; want %d", len(co.Results), len(cams))
		}
	}
}
