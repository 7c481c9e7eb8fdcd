package simulator

import (
	"bytes"
	"errors"
	"image/jpeg"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"
)

// TestMixedFaultsClientAccounting: many concurrent clients against a fleet
// injecting every kind at once; what the clients saw, classified by kind,
// equals what /faults says was injected. Hangs and slow drips, which a client
// can only tell apart from a slow machine by a timeout, are left to
// TestEachFaultSeenAndCounted, so the timeout here can be generous.
func TestMixedFaultsClientAccounting(t *testing.T) {
	t.Parallel()
	cfg := testConfig()
	cfg.Cameras, cfg.Hosts = 120, 3
	cfg.Faults = FaultConfig{
		HTTP5xx: 0.04, Reset: 0.03, Truncated: 0.03, Garbage: 0.03,
		Oversized: 0.03, Placeholder: 0.03,
		Offline: 0.05, OfflinePeriod: 10 * time.Minute,
		HangFor: time.Minute, SlowDripRate: 128, OversizedBytes: 2 << 20,
	}
	f := start(t, cfg)
	// Keep-alive off: a reset on a reused connection would be retried
	// by the transport, hiding it from the count.
	c := &http.Client{Timeout: time.Minute, Transport: &http.Transport{DisableKeepAlives: true}}
	type key = string
	var mu sync.Mutex
	seen := map[key]int64{}
	jobs := make(chan int)
	var wg sync.WaitGroup
	for range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				o := fetch(c, snapURL(f, i))
				k := classify(f, o)
				mu.Lock()
				seen[k]++
				mu.Unlock()
			}
		}()
	}
	for range 3 {
		for i := range cfg.Cameras {
			jobs <- i
		}
	}
	close(jobs)
	wg.Wait()
	rep := f.Faults()
	want := map[key]int64{
		"timeout":     0,
		"conn":        rep.ByKind[FaultReset],
		"5xx":         rep.ByKind[FaultHTTP5xx],
		"placeholder": rep.ByKind[FaultPlaceholder] + rep.ByKind[FaultOffline],
		"bad image":   rep.ByKind[FaultTruncated] + rep.ByKind[FaultGarbage],
		"oversized":   rep.ByKind[FaultOversized],
		"ok":          rep.Requests - rep.Total,
	}
	for k, n := range want {
		if seen[k] != n {
			t.Errorf("clients saw %d × %s; fleet injected %d (seen %v, injected %v)", seen[k], k, n, seen, rep.ByKind)
		}
	}
	if rep.Total == 0 {
		t.Errorf("no faults injected")
	}
}

func classify(f *Fleet, o outcome) string {
	var ne net.Error
	switch {
	case errors.As(o.err, &ne) && ne.Timeout():
		return "timeout"
	case o.err != nil:
		return "conn"
	case o.status >= 500:
		return "5xx"
	case bytes.Equal(o.body, f.Placeholder()):
		return "placeholder"
	case len(o.body) == f.cfg.Faults.OversizedBytes:
		return "oversized"
	}
	for _, fr := range f.frames { // a healthy answer is one of the rendered frames
		if bytes.Equal(o.body, fr.body) {
			return "ok"
		}
	}
	if _, err := jpeg.Decode(bytes.NewReader(o.body)); err == nil {
		return "decodable but not a frame"
	}
	return "bad image"
}
