package dashboard

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestLiveOptionsValidate(t *testing.T) {
	for _, tc := range []struct {
		addr   string
		expose bool
		ok     bool
	}{
		{"127.0.0.1:5665", false, true},
		{"127.3.4.5:0", false, true},
		{"[::1]:5665", false, true},
		{"localhost:5665", false, true},
		{":5665", false, false}, // every interface
		{"0.0.0.0:5665", false, false},
		{"192.168.1.10:5665", false, false},
		{"0.0.0.0:5665", true, true},
		{"5665", false, false}, // not host:port
		{"5665", true, false},
		{"", false, true}, // no dashboard
	} {
		err := LiveOptions{Addr: tc.addr, Expose: tc.expose}.Validate()
		if (err == nil) != tc.ok {
			t.Errorf("LiveOptions{Addr: %q, Expose: %t}.Validate() = %v; want ok=%t", tc.addr, tc.expose, err, tc.ok)
		}
		if err != nil && !strings.Contains(err.Error(), "--dashboard") {
			t.Errorf("error %q does not name --dashboard", err)
		}
	}
}

func TestLiveOptionsNegativeLinger(t *testing.T) {
	err := LiveOptions{Addr: "127.0.0.1:0", Linger: -time.Second}.Validate()
	if err == nil || !strings.Contains(err.Error(), "--dashboard-linger: -1s: must be ≥ 0") {
		t.Errorf("Validate with Linger -1s = %v; want the flag and the value named", err)
	}
	if _, err := Serve(LiveOptions{}); err == nil {
		t.Errorf("Serve without Addr: nil error")
	}
}

// TestServeStops: Serve's server goroutine ends with Finish, and the
// page answered before.
func TestServeStops(t *testing.T) {
	defer goleak.VerifyNone(t)
	d, err := Serve(LiveOptions{Addr: "127.0.0.1:0", Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := c.Get(d.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("GET / = %d", resp.StatusCode)
	}
	var lines []string
	if err := d.Finish(context.Background(), Event{Kind: KindRunFinished, RunFinished: &RunFinished{Results: "results.json"}}, time.Millisecond, func(f string, a ...any) { lines = append(lines, fmt.Sprintf(f, a...)) }); err != nil {
		t.Fatal(err)
	}
	if len(lines) != 1 || !strings.Contains(lines[0], "stays up for 1ms") {
		t.Errorf("Finish said %q; want the linger line", lines)
	}
	if _, err := c.Get(d.URL); err == nil {
		t.Errorf("the dashboard answers after Finish")
	}
}
