package bench

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestFreshnessSampler(t *testing.T) {
	t.Parallel()
	// cam-1 was captured 2 s ago and is stale; cam-2 is offline, captured
	// 2 s ago too, and dark in the fleet; cam-3 has no observation yet;
	// cam-4 was captured 5 s ago and is served as fresh.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		at := time.Now().Add(-2 * time.Second).UTC().Format(time.RFC3339Nano)
		switch {
		case strings.Contains(r.URL.Path, "/cam-1/"):
			fmt.Fprintf(w, `{"cameraId":"cam-1","capturedAt":%q,"stale":true}`, at)
		case strings.Contains(r.URL.Path, "/cam-2/"):
			fmt.Fprintf(w, `{"camera_id":"cam-2","captured_at":%q,"status":"offline"}`, at)
		case strings.Contains(r.URL.Path, "/cam-4/"):
			at := time.Now().Add(-5 * time.Second).UTC().Format(time.RFC3339Nano)
			fmt.Fprintf(w, `{"cameraId":"cam-4","capturedAt":%q,"stale":false,"status":"ok"}`, at)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	dark := func(id string, _ time.Time) bool { return id == "cam-2" }
	f := startFreshness(context.Background(), srv.URL, []string{"cam-1", "cam-2", "cam-3", "cam-4"}, 100, 1, dark)
	// Until 30 reads (0.3 s at 100/s; longer on a loaded machine).
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		f.mu.Lock()
		n := f.out.Reads
		f.mu.Unlock()
		if n >= 30 {
			break
		}
	}
	got := f.stop()
	if got == nil || got.Reads < 30 {
		t.Fatalf("freshness = %+v; want ≥ 30 reads", got)
	}
	if got.NotFound == 0 || got.Stale == 0 || got.Offline == 0 || got.Fresh == 0 || got.Reads != got.NotFound+int(got.Age.Count) {
		t.Errorf("freshness = %+v; want not-found, stale, offline and fresh reads, every other read aged", got)
	}
	if got.Fresh != int(got.AgeFresh.Count) || got.Fresh+got.Stale+got.Offline != int(got.Age.Count) {
		t.Errorf("fresh %d (aged %d), stale %d, offline %d of %d aged reads; want fresh = aged fresh, and the three summing to the aged reads",
			got.Fresh, got.AgeFresh.Count, got.Stale, got.Offline, got.Age.Count)
	}
	// Only cam-4's reads are fresh: their age is 5 s, the stale and
	// offline ones' 2 s.
	if lo, hi := got.AgeFresh.P50.D(), got.AgeFresh.Max.D(); lo < 5*time.Second || hi > 6*time.Second {
		t.Errorf("fresh age p50 %s, max %s; want ≈ 5s (cam-4's only)", lo, hi)
	}
	if lo := got.Age.P50.D(); lo < 2*time.Second || lo > 6*time.Second {
		t.Errorf("age p50 = %s; want within 2–5 s", lo)
	}
	if got.Dark == 0 || got.Dark > got.Offline {
		t.Errorf("dark reads = %d, offline reads %d; want cam-2's reads (all offline) counted dark", got.Dark, got.Offline)
	}
	if again := f.stop(); again.Reads != got.Reads {
		t.Errorf("a second stop read more: %d then %d", got.Reads, again.Reads)
	}
}
