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
	// 2 s ago too; cam-3 has no observation yet.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		at := time.Now().Add(-2 * time.Second).UTC().Format(time.RFC3339Nano)
		switch {
		case strings.Contains(r.URL.Path, "/cam-1/"):
			fmt.Fprintf(w, `{"cameraId":"cam-1","capturedAt":%q,"stale":true}`, at)
		case strings.Contains(r.URL.Path, "/cam-2/"):
			fmt.Fprintf(w, `{"camera_id":"cam-2","captured_at":%q,"status":"offline"}`, at)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	f := startFreshness(context.Background(), srv.URL, []string{"cam-1", "cam-2", "cam-3"}, 100, 1)
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
	if got.NotFound == 0 || got.Stale == 0 || got.Offline == 0 || got.Reads != got.NotFound+int(got.Age.Count) {
		t.Errorf("freshness = %+v; want not-found, stale and offline reads, every other read aged", got)
	}
	if p50 := got.Age.P50.D(); p50 < 2*time.Second || p50 > 3*time.Second {
		t.Errorf("age p50 = %s; want ≈ 2s", p50)
	}
	if again := f.stop(); again.Reads != got.Reads {
		t.Errorf("a second stop read more: %d then %d", got.Reads, again.Reads)
	}
}
