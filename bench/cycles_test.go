package bench

import (
	"testing"
	"time"

	"github.com/camload/camload/simulator"
	"github.com/camload/camload/system"
)

func TestReconcile(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		errs     map[string]int
		faults   map[string]int
		retries  int
		drip     string
		ok       bool
		mismatch string
	}{
		// Every fault kind maps onto its error kind.
		{"all kinds", map[string]int{"http_5xx": 3, "timeout": 1, "conn": 2, "bad_image": 2, "too_large": 1, "placeholder": 2},
			map[string]int{"http_5xx": 1, "overflow_503": 2, "hang": 1, "reset": 1, "overflow_reset": 1, "truncated": 1, "garbage": 1, "oversized": 1, "placeholder": 1, "offline": 1}, 0, dripNone, true, ""},
		// A camera's own overflow: 503 → http_5xx, reset → conn.
		{"device overflow", map[string]int{"http_5xx": 2, "conn": 1},
			map[string]int{"device_overflow_503": 2, "device_overflow_reset": 1}, 0, dripNone, true, ""},
		// A slow drip is a timeout only when it outlasts the fetch timeout.
		{"slow drip times out", map[string]int{"timeout": 1}, map[string]int{"slow_drip": 1}, 0, dripTimeout, true, ""},
		{"slow drip within timeout", map[string]int{}, map[string]int{"slow_drip": 1}, 0, dripNone, true, ""},
		{"slow drip timed out unexpectedly", map[string]int{"timeout": 1}, map[string]int{"slow_drip": 1}, 0, dripNone, false, "timeout: system 1, fleet 0"},
		// Near the timeout, some slow drips may time out: a range.
		{"slow drip either", map[string]int{"timeout": 2}, map[string]int{"slow_drip": 3, "hang": 1}, 0, dripEither, true, ""},
		{"slow drip either, too many", map[string]int{"timeout": 5}, map[string]int{"slow_drip": 3, "hang": 1}, 0, dripEither, false, "timeout: system 5, fleet 1…4"},
		// A retry absorbs a reset.
		{"retried reset", map[string]int{}, map[string]int{"reset": 2}, 2, dripNone, true, ""},
		// An error with no fault behind it is named.
		{"store error", map[string]int{"store": 2}, map[string]int{}, 0, dripNone, false, "store: system 2, fleet 0"},
		// A fault the system missed is named.
		{"missed fault", map[string]int{"http_5xx": 1}, map[string]int{"http_5xx": 2}, 0, dripNone, false, "http_5xx: system 1, fleet 2"},
	}
	for _, tc := range tests {
		ok, mm := reconcile(tc.errs, tc.faults, tc.retries, tc.drip)
		if ok != tc.ok || mm != tc.mismatch {
			t.Errorf("%s: reconcile(%v, %v, %d, %s) = (%t, %q); want (%t, %q)", tc.name, tc.errs, tc.faults, tc.retries, tc.drip, ok, mm, tc.ok, tc.mismatch)
		}
	}
}

func TestSlowDrip(t *testing.T) {
	t.Parallel()
	tests := []struct {
		sizes   []int
		rate    int
		timeout time.Duration
		want    string
	}{
		{[]int{20000, 40000}, 1000, 5 * time.Second, dripTimeout}, // 20 s … 40 s ≫ 5 s
		{[]int{20000, 40000}, 100000, 5 * time.Second, dripNone},  // ≤ 0.4 s
		{[]int{20000, 40000}, 16384, 5 * time.Second, dripEither}, // 1.2 s … 2.4 s: queueing decides
		{nil, 16384, 5 * time.Second, dripEither},                 // no frames known
	}
	for _, tc := range tests {
		if got := slowDrip(tc.sizes, tc.rate, tc.timeout); got != tc.want {
			t.Errorf("slowDrip(%v, %d, %s) = %s; want %s", tc.sizes, tc.rate, tc.timeout, got, tc.want)
		}
	}
}

// TestMatchTimeouts matches each timeout the system reports with the
// fleet's record of the same request: a hang or a give-up is what
// reconcile counts already, an answer logged as the deadline expired is
// a race (a cut-off fault too, then not its own kind), and a timeout with
// no record is unmatched.
func TestMatchTimeouts(t *testing.T) {
	t.Parallel()
	t0 := time.Unix(5000, 0)
	d := 300 * time.Millisecond
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	fetches := []simulator.Fetch{
		{Camera: "hang", Start: at(1), Fault: simulator.FaultHang},
		{Camera: "gave-up", Start: at(1)},
		// reset on a reused connection, then the retry answered at the deadline
		{Camera: "race", Start: at(1), Fault: simulator.FaultReset},
		{Camera: "race", Start: at(2), Code: 200},
		{Camera: "cut", Start: at(1), Code: 200, Fault: simulator.FaultTruncated},
		// an earlier request of the camera, answered long before, and
		// its next visit, begun as the deadline ended the cycle
		{Camera: "late", Start: at(-5000), Code: 200},
		{Camera: "late", Start: at(300), Code: 200},
		// a hang whose camera's next visit began at the deadline
		{Camera: "hang", Start: at(300), Code: 200},
	}
	timeouts := []system.TimedOut{
		{Camera: "hang", Start: t0, Deadline: d},
		{Camera: "gave-up", Start: t0, Deadline: d},
		{Camera: "race", Start: t0, Deadline: d},
		{Camera: "cut", Start: t0, Deadline: d},
		{Camera: "late", Start: t0, Deadline: d},
	}
	m := matchTimeouts(timeouts, fetches)
	if m.Answered != 1 || m.Cut[simulator.FaultTruncated] != 1 || len(m.Cut) != 1 || m.Unmatched != 1 || m.midAnswer() != 2 {
		t.Errorf("matchTimeouts = %+v; want 1 answered, 1 truncated cut off, 1 unmatched", m)
	}
	// One record answers one timeout: a second timeout of "race" in the
	// same window finds the reset (no answer: not a race), not the answer
	// already matched.
	m = matchTimeouts(append(timeouts, system.TimedOut{Camera: "race", Start: t0, Deadline: d}), fetches)
	if m.Answered != 1 || m.Unmatched != 1 || m.midAnswer() != 2 {
		t.Errorf("two timeouts of one camera: %+v; want the answer matched once", m)
	}
	// With the races given to reconcile, the system's timeouts (hang,
	// gave-up, race, cut) reconcile exactly; without them they do not.
	errs := map[string]int{system.ErrTimeout: 4}
	faults := map[string]int{simulator.FaultHang: 1, faultGaveUp: 1, simulator.FaultTruncated: 1}
	if ok, diff := reconcile(errs, faults, 0, dripNone); ok {
		t.Errorf("reconcile without the races passed; want a mismatch")
	} else if diff != "bad_image: system 0, fleet 1; timeout: system 4, fleet 2" {
		t.Errorf("reconcile without the races: %q", diff)
	}
	faults[simulator.FaultTruncated] -= m.Cut[simulator.FaultTruncated]
	faults[faultMidAnswer] = 2
	if ok, diff := reconcile(errs, faults, 0, dripNone); !ok {
		t.Errorf("reconcile with the races: %s", diff)
	}
}

// TestFleetLatency: the fleet's own latency over a window is that of the
// requests it served; refused requests, which drew none, do not count.
func TestFleetLatency(t *testing.T) {
	t.Parallel()
	var fs []simulator.Fetch
	for i := 1; i <= 100; i++ {
		fs = append(fs, simulator.Fetch{Latency: time.Duration(i) * time.Millisecond, Code: 200})
	}
	fs = append(fs, simulator.Fetch{Latency: time.Hour, Fault: simulator.FaultOverflow503, Code: 503}, simulator.Fetch{Fault: simulator.FaultReset})
	q := fleetLatency(fs)
	near := func(d, want time.Duration) bool { return d >= want && d <= want+want/1000 } // HDR: 3 digits
	if q == nil || q.Count != 100 || !near(q.P99.D(), 99*time.Millisecond) || !near(q.Max.D(), 100*time.Millisecond) {
		t.Errorf("fleetLatency = %+v; want n=100, p99 ≈ 99ms, max ≈ 100ms (the hour refused not counted)", q)
	}
	if q := fleetLatency(fs[100:]); q != nil {
		t.Errorf("fleetLatency of refusals only = %+v; want nil", q)
	}
}
