package dashboard

import (
	"strings"
	"testing"
	"time"
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
