package simulator

import (
	"net/http"
	"strings"
	"testing"

	"github.com/camload/camload/internal/testenv"
)

// TestDeviceCapacity: a camera serves only Device.Concurrent requests at
// once and queues Device.Queue more; beyond that it refuses (503 or reset,
// counted as its own kind) although its host has plenty of room, while
// another camera of the same host is still served.
func TestDeviceCapacity(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		hostOverflow, devOverflow string
		wantKind                  string
	}{
		{Overflow503, "", FaultDeviceOverflow503},
		{Overflow503, OverflowReset, FaultDeviceOverflowReset},
		{OverflowReset, Overflow503, FaultDeviceOverflow503},
	} {
		t.Run(tc.wantKind+"/host-"+tc.hostOverflow, func(t *testing.T) {
			t.Parallel()
			cfg := testConfig()
			cfg.Capacity = CapacityConfig{Concurrent: 100, Queue: 100, Overflow: tc.hostOverflow,
				Device: DeviceCapacity{Concurrent: 2, Queue: 1, Overflow: tc.devOverflow}}
			f, reg, held := startHolding(t, cfg)
			held.hold(0)
			held.hold(0)
			waitFor(t, "camera 0 serving 2", func() bool { return f.devices[0].active.Load() == 2 })
			held.hold(0)
			waitFor(t, "camera 0 queueing 1", func() bool { return f.devices[0].waiting.Load() == 1 })
			held.hold(1) // another camera of the same host is served
			waitFor(t, "camera 1 serving 1", func() bool { return f.devices[1].active.Load() == 1 })
			if got := f.hosts[0].active.Load(); got != 4 {
				t.Errorf("host slots in use = %d; want 4 (2 served + 1 queued at camera 0, 1 at camera 1)", got)
			}
			o := fetch(held.c, snapURL(f, 0))
			switch tc.wantKind {
			case FaultDeviceOverflow503:
				if o.status != http.StatusServiceUnavailable || !strings.Contains(string(o.body), "camera busy") {
					t.Errorf("4th request to camera 0: %d %q, %v; want 503 camera busy", o.status, o.body, o.err)
				}
			case FaultDeviceOverflowReset:
				if o.err == nil {
					t.Errorf("4th request to camera 0: %d; want a connection error", o.status)
				}
			}
			held.release()
			waitFor(t, "slots released", func() bool {
				return f.hosts[0].active.Load() == 0 && f.devices[0].active.Load() == 0 && f.devices[0].waiting.Load() == 0
			})
			rep := f.Faults()
			if rep.ByKind[tc.wantKind] != 1 || rep.Total != 1 || rep.Requests != 5 {
				t.Errorf("Faults() = %+v; want one %s of 5 requests", rep, tc.wantKind)
			}
			if rep.ByCamera[CameraID(0)][tc.wantKind] != 1 {
				t.Errorf("Faults().ByCamera[cam 0] = %v; want one %s", rep.ByCamera[CameraID(0)], tc.wantKind)
			}
			// Counters never go down: a sum of 0 is every host at 0.
			if v, _ := testenv.Metric(t, reg, "camload_sim_rejections_total"); v != 0 {
				t.Errorf("host rejections = %g; want 0 (the host had room)", v)
			}
			if rej, _ := testenv.Metric(t, reg, "camload_sim_device_rejections_total"); rej != 1 {
				t.Errorf("camload_sim_device_rejections_total = %g; want 1", rej)
			}
		})
	}
}

// TestDeviceCapacityUnlimitedByDefault: the zero DeviceCapacity keeps
// today's behaviour (no per-camera limiter at all).
func TestDeviceCapacityUnlimitedByDefault(t *testing.T) {
	t.Parallel()
	f, err := New(testConfig())
	if err != nil {
		t.Fatal(err)
	}
	if f.devices != nil {
		t.Errorf("devices allocated with Device.Concurrent 0")
	}
}
