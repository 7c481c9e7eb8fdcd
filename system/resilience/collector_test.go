package resilience_test

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/camload/camload/system/resilience"
)

func TestCollector(t *testing.T) {
	t.Parallel()
	bs, err := resilience.NewBreakers(resilience.BreakerOptions{Failures: 1})
	if err != nil {
		t.Fatal(err)
	}
	tk, _ := bs.Allow("a")
	bs.Report(tk, resilience.Failure)
	hl, err := resilience.NewHostLimits(resilience.HostLimitOptions{Initial: 4})
	if err != nil {
		t.Fatal(err)
	}
	r1, _ := hl.TryAcquire("gw:1")
	r2, _ := hl.TryAcquire("gw:1")
	r1(resilience.Overload) // 4 → 3
	tr := resilience.NewTracker(resilience.TrackerOptions[string, int]{})
	c := tr.Begin(1)
	c.Start("a")
	c.Start("b")
	c.Done("a", 1)
	c.Cut() // b abandoned
	c.Done("b", 2)
	reg := prometheus.NewPedanticRegistry()
	if err := reg.Register(resilience.NewCollector(resilience.Sources{Breakers: bs, HostLimits: hl, Tracker: tr.Stats})); err != nil {
		t.Fatal(err)
	}
	want := `
# HELP camload_breakers Per-camera circuit breakers by state (open: skipped; half_open: being probed).
# TYPE camload_breakers gauge
camload_breakers{state="half_open"} 0
camload_breakers{state="open"} 1
# HELP camload_cameras_abandoned_total Cameras still in flight when their cycle reached its deadline.
# TYPE camload_cameras_abandoned_total counter
camload_cameras_abandoned_total 1
# HELP camload_cameras_in_flight Cameras being fetched, including those abandoned by their cycle.
# TYPE camload_cameras_in_flight gauge
camload_cameras_in_flight 0
# HELP camload_host_in_flight Snapshot requests in flight per camera host.
# TYPE camload_host_in_flight gauge
camload_host_in_flight{host="gw:1"} 1
# HELP camload_host_limit Learned concurrency limit per camera host (AIMD on 503s and resets).
# TYPE camload_host_limit gauge
camload_host_limit{host="gw:1"} 3
# HELP camload_host_overloads_total Overload answers (503, reset) per camera host.
# TYPE camload_host_overloads_total counter
camload_host_overloads_total{host="gw:1"} 1
# HELP camload_host_waiting Snapshot requests waiting for a slot under the host's limit.
# TYPE camload_host_waiting gauge
camload_host_waiting{host="gw:1"} 0
# HELP camload_late_results_total Results of abandoned cameras that arrived after their cycle ended.
# TYPE camload_late_results_total counter
camload_late_results_total 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want)); err != nil {
		t.Error(err)
	}
	r2(resilience.Success)
}
