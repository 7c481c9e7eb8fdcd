package resilience_test

import (
	"strings"
	"testing"
	"time"

	"github.com/camload/camload/internal/cfgerr"
	"github.com/camload/camload/system/resilience"
)

const ms = time.Millisecond

func TestDeadlines(t *testing.T) {
	t.Parallel()
	opts := resilience.DeadlineOptions{Initial: 5 * time.Second, K: 2, Floor: 100 * ms, Cap: 3 * time.Second, Window: 4, MinSamples: 3}
	type step struct {
		lat     time.Duration // observed latency; with expired, the deadline that expired (0: the current one)
		expired bool
		want    time.Duration // Deadline after the step
	}
	tests := []struct {
		name  string
		steps []step
	}{
		// fewer than MinSamples: the initial deadline
		{"initial", []step{{lat: 50 * ms, want: 5 * time.Second}, {lat: 60 * ms, want: 5 * time.Second}}},
		// the third sample: 2 × max(window) = 2 × 300 ms
		{"learned", []step{{lat: 100 * ms, want: 5 * time.Second}, {lat: 300 * ms, want: 5 * time.Second}, {lat: 200 * ms, want: 600 * ms}}},
		// a fast camera: the floor
		{"floor", []step{{lat: 10 * ms}, {lat: 20 * ms}, {lat: 30 * ms, want: 100 * ms}}},
		// a slow camera: the cap
		{"cap", []step{{lat: 2 * time.Second}, {lat: 2 * time.Second}, {lat: 2 * time.Second, want: 3 * time.Second}}},
		// the window slides: the 900 ms outlier leaves after 4 newer samples
		{"window", []step{
			{lat: 900 * ms}, {lat: 100 * ms}, {lat: 100 * ms, want: 1800 * ms},
			{lat: 100 * ms, want: 1800 * ms}, {lat: 100 * ms, want: 200 * ms},
		}},
		// timeouts widen the deadline by K each: 5 s is capped at 3 s, and a
		// 3 s censored sample keeps it there
		{"expired initial", []step{{expired: true}, {expired: true}, {expired: true, want: 3 * time.Second}}},
		// a learned 600 ms deadline that expires becomes 1.2 s, then 2.4 s
		{"expired learned", []step{
			{lat: 300 * ms}, {lat: 300 * ms}, {lat: 300 * ms, want: 600 * ms},
			{expired: true, want: 1200 * ms}, {expired: true, want: 2400 * ms},
		}},
		// a fetch that expired under an older, longer deadline counts as that
		{"expired explicit", []step{
			{lat: 300 * ms}, {lat: 300 * ms}, {lat: 300 * ms, want: 600 * ms},
			{expired: true, lat: time.Second, want: 2 * time.Second},
		}},
		// negative latencies count as 0 (then floored)
		{"negative", []step{{lat: -time.Second}, {lat: -time.Second}, {lat: -time.Second, want: 100 * ms}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d, err := resilience.NewDeadlines(opts)
			if err != nil {
				t.Fatal(err)
			}
			for i, s := range tt.steps {
				if s.expired {
					d.Expired("cam", s.lat)
				} else {
					d.Observe("cam", s.lat)
				}
				if s.want == 0 {
					continue
				}
				if got := d.Deadline("cam"); got != s.want {
					t.Errorf("step %d (%+v): Deadline(cam) = %s; want %s", i, s, got, s.want)
				}
			}
			if got := d.Deadline("other"); got != opts.Initial {
				t.Errorf("Deadline(other) = %s; want the initial %s (cameras are independent)", got, opts.Initial)
			}
		})
	}
}

func TestDeadlinesQuantile(t *testing.T) {
	t.Parallel()
	// 100 samples 1..100 ms: the 0.9 quantile is 90 ms, the 0.99 one 99 ms.
	for _, tt := range []struct {
		q    float64
		want time.Duration
	}{{0.5, 50 * ms}, {0.9, 90 * ms}, {0.99, 99 * ms}, {1, 100 * ms}} {
		d, err := resilience.NewDeadlines(resilience.DeadlineOptions{K: 1, Floor: ms, Window: 100, Quantile: tt.q})
		if err != nil {
			t.Fatal(err)
		}
		for i := 100; i >= 1; i-- {
			d.Observe("c", time.Duration(i)*ms)
		}
		if got := d.Deadline("c"); got != tt.want {
			t.Errorf("quantile %g of 1..100 ms: Deadline = %s; want %s", tt.q, got, tt.want)
		}
	}
}

func TestDeadlinesForgetAndSamples(t *testing.T) {
	t.Parallel()
	d, err := resilience.NewDeadlines(resilience.DeadlineOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for range 40 {
		d.Observe("c", 10*ms)
	}
	if got, want := d.Samples("c"), resilience.DefaultDeadlineWindow; got != want {
		t.Errorf("Samples after 40 = %d; want the window %d", got, want)
	}
	if got := d.Deadline("c"); got != resilience.DefaultDeadlineFloor {
		t.Errorf("Deadline of a 10 ms camera = %s; want the default floor %s", got, resilience.DefaultDeadlineFloor)
	}
	d.Forget("c")
	if got := d.Deadline("c"); got != resilience.DefaultDeadlineInitial {
		t.Errorf("Deadline after Forget = %s; want %s", got, resilience.DefaultDeadlineInitial)
	}
}

func TestDeadlineOptionsValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		o     resilience.DeadlineOptions
		field string // "" when valid
	}{
		{"zero value", resilience.DeadlineOptions{}, ""},
		{"k below 1", resilience.DeadlineOptions{K: 0.5}, "deadline_k"},
		{"floor over cap", resilience.DeadlineOptions{Floor: 2 * time.Second, Cap: time.Second}, "deadline_floor"},
		{"negative initial", resilience.DeadlineOptions{Initial: -time.Second}, "deadline_initial"},
		{"negative window", resilience.DeadlineOptions{Window: -1}, "deadline_window"},
		{"min samples over window", resilience.DeadlineOptions{Window: 4, MinSamples: 5}, "deadline_min_samples"},
		{"quantile over 1", resilience.DeadlineOptions{Quantile: 1.5}, "deadline_quantile"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			checkField(t, tt.o.Validate(), tt.field)
			if _, err := resilience.NewDeadlines(tt.o); (err != nil) != (tt.field != "") {
				t.Errorf("NewDeadlines(%+v) error = %v; want error %t", tt.o, err, tt.field != "")
			}
		})
	}
}

// checkField checks that err is nil when field is "", and otherwise a
// cfgerr naming field.
func checkField(t *testing.T, err error, field string) {
	t.Helper()
	if field == "" {
		if err != nil {
			t.Errorf("Validate() = %v; want nil", err)
		}
		return
	}
	if !cfgerr.Is(err) {
		t.Fatalf("Validate() = %v; want a cfgerr naming %s", err, field)
	}
	if got := err.Error(); !strings.Contains(got, field+":") {
		t.Errorf("Validate() = %q; want it to name %s", got, field)
	}
}
