package results

import (
	"errors"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/camload/camload/results/rule"
)

func TestMetricUnit(t *testing.T) {
	t.Parallel()
	for name, want := range map[string]rule.Unit{
		"cycle_p99": rule.Duration, "per_camera_p50": rule.Duration, "rss_peak": rule.Bytes,
		"error_rate": rule.Fraction, "faults_rate": rule.Fraction, "cpu_core": rule.Fraction, "efficiency": rule.Fraction,
		"api.latest.p99": rule.Duration, "api.latest.raw_p99": rule.Duration, "api.latest.success": rule.Fraction,
		"api.latest.capacity": rule.Plain, "capacity.list": rule.Plain, "api_capacity": rule.Plain, "goroutines_peak": rule.Plain,
		"served_age_p99": rule.Duration, "served_fresh_age_p50": rule.Duration, "fleet_latency_p99": rule.Duration,
		"served_fresh": rule.Fraction, "served_online": rule.Fraction, "reconciled": rule.Plain,
	} {
		if got, err := MetricUnit(name); err != nil || got != want {
			t.Errorf("MetricUnit(%q) = %s, %v; want %s", name, got, err, want)
		}
	}
	for _, name := range []string{"cycle_p98", "capacity.", "capacity.a.b", "api.latest", "speed", "served_age", "served_fresh_p99", "fleet_latency_"} {
		if _, err := MetricUnit(name); !errors.Is(err, ErrUnknownMetric) {
			t.Errorf("MetricUnit(%q) error = %v; want ErrUnknownMetric", name, err)
		}
	}
}

func TestRuleValueAndCensored(t *testing.T) {
	t.Parallel()
	rate := 4678.0
	twelve, two := 12.0, 2.0
	c := Cell{Cycles: Cycles{Visits: 5000, ErrorRate: 0.0062}, Faults: map[string]int{"http_5xx": 10, "reset": 23},
		Resources: Resources{CPUCorePercent: 150, RSSPeak: 1},
		API:       map[string]Endpoint{"list": {Capacity: &Capacity{Rate: rate, LastPass: &rate, Censored: true}}, "latest": {Capacity: &Capacity{Rate: 12, LastPass: &twelve}}, "floor": {Capacity: &Capacity{FirstFail: &two}}}}
	for _, tc := range []struct {
		name string
		v    float64
		ok   bool
	}{
		{"faults_rate", 33.0 / 5000, true},
		{"cpu_core", 1.5, true}, // 150% of a core is 1.5 in the rule's base unit
		{"capacity.list", 4678, true},
		{"capacity.latest", 12, true},
		{"capacity.cameras", 0, false},
		{"capacity.floor", 0, false}, // the floor failed: below MinRate, not 0
	} {
		v, _, ok := RuleValue(c, tc.name)
		if ok != tc.ok || (ok && v != tc.v) {
			t.Errorf("RuleValue(%q) = %v, %t; want %v, %t", tc.name, v, ok, tc.v, tc.ok)
		}
	}
	if _, _, ok := RuleValue(Cell{}, "faults_rate"); ok {
		t.Errorf("faults_rate of a cell without visits is measured")
	}
	for name, want := range map[string]bool{"capacity.list": true, "api.list.capacity": true, "capacity.latest": false, "api_capacity": true, "cycle_p99": false} {
		if got := Censored(c, name); got != want {
			t.Errorf("Censored(%q) = %t; want %t", name, got, want)
		}
	}
}

// TestUpperBound: a capacity whose search failed at its floor has no
// value but an upper bound (the floor); api_capacity is bounded by the
// sum of rates and floors unless a summed search was censored the other
// way.
func TestUpperBound(t *testing.T) {
	t.Parallel()
	rate, twelve, two, eight := 4678.0, 12.0, 2.0, 8.0
	exact := &Capacity{Rate: 12, LastPass: &twelve, FirstFail: &eight}
	floor := &Capacity{FirstFail: &two}
	censored := &Capacity{Rate: rate, LastPass: &rate, Censored: true}
	c := Cell{API: map[string]Endpoint{"latest": {Capacity: exact}, "floor": {Capacity: floor}, "cameras": {}}}
	for _, tc := range []struct {
		cell Cell
		name string
		v    float64
		ok   bool
	}{
		{c, "capacity.floor", 2, true},
		{c, "api.floor.capacity", 2, true},
		{c, "capacity.latest", 0, false}, // a value, not a bound
		{c, "capacity.cameras", 0, false},
		{c, "capacity.nope", 0, false},
		{c, "api_capacity", 14, true}, // 12 + below 2
		{c, "cycle_p99", 0, false},
		{Cell{API: map[string]Endpoint{"latest": {Capacity: exact}}}, "api_capacity", 0, false},
		{Cell{API: map[string]Endpoint{"floor": {Capacity: floor}, "list": {Capacity: censored}}}, "api_capacity", 0, false},
	} {
		v, ok := UpperBound(tc.cell, tc.name)
		if ok != tc.ok || v != tc.v {
			t.Errorf("UpperBound(%q) = %v, %t; want %v, %t", tc.name, v, ok, tc.v, tc.ok)
		}
	}
	if _, _, ok := Metric(c, "api_capacity"); ok {
		t.Errorf("api_capacity with a search that failed at its floor has a value; want only its bound")
	}
}

func TestParseCellSelector(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"mode:sync,cameras:1000": "{mode:sync,cameras:1000}",
		" {mode: sync} ":         "{mode:sync}",
		"cameras:100":            "{cameras:100}",
	} {
		sel, err := ParseCellSelector(in)
		if err != nil || sel.String() != want {
			t.Errorf("ParseCellSelector(%q) = %s, %v; want %s", in, sel, err, want)
		}
	}
	for in, msg := range map[string]string{
		"":                 "empty selector",
		"{}":               "empty selector",
		"mode sync":        "not label:value",
		"mode:":            "not label:value",
		"camera:100":       `unknown label "camera"`,
		"cameras:lots":     "positive count",
		"mode:sync,,x:1":   "not label:value",
		"mode:sync,cams:1": `unknown label "cams"`,
	} {
		if _, err := ParseCellSelector(in); err == nil || !strings.Contains(err.Error(), msg) {
			t.Errorf("ParseCellSelector(%q) error = %v; want it to say %q", in, err, msg)
		}
	}
}

func FuzzParseCellSelector(f *testing.F) {
	for _, s := range []string{"mode:sync,cameras:1000", "{mode:batched}", "cameras:0", "mode:", ",", "{mode:a,mode:b}"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		sel, err := ParseCellSelector(s)
		if err != nil {
			if !utf8.ValidString(err.Error()) && utf8.ValidString(s) {
				t.Fatalf("error message is not UTF-8: %q", err)
			}
			return
		}
		if len(sel) == 0 {
			t.Fatalf("ParseCellSelector(%q) = empty selector without error", s)
		}
		// The canonical form parses to the same selector.
		again, err := ParseCellSelector(sel.String())
		if err != nil || again.String() != sel.String() {
			t.Fatalf("ParseCellSelector(%q) = %s; reparsed %s, %v", s, sel, again, err)
		}
	})
}

// TestServedMetrics: the served-freshness metrics read the sampler's
// figures, and a cell without them does not hold them.
func TestServedMetrics(t *testing.T) {
	t.Parallel()
	c := Cell{Cycles: Cycles{Visits: 10, Reconciled: true, FleetLatency: &Quantiles{Count: 5, P99: Duration(5 * time.Second)}},
		FreshnessServed: &Freshness{Reads: 200, Fresh: 190, Dark: 4,
			Age:      Quantiles{Count: 196, P99: Duration(40 * time.Second)},
			AgeFresh: Quantiles{Count: 190, P99: Duration(33 * time.Second)}}}
	for name, want := range map[string]float64{
		"served_age_p99":       float64(40 * time.Second),
		"served_fresh_age_p99": float64(33 * time.Second),
		"fleet_latency_p99":    float64(5 * time.Second),
		"served_fresh":         0.95,
		"served_online":        0.98,
		"reconciled":           1,
	} {
		if got, _, ok := Metric(c, name); !ok || got != want {
			t.Errorf("Metric(%s) = %v, %v; want %v", name, got, ok, want)
		}
	}
	c.Cycles.Reconciled = false
	if got, _, ok := Metric(c, "reconciled"); !ok || got != 0 {
		t.Errorf("reconciled of an unreconciled cell = %v, %v; want 0, true", got, ok)
	}
	for _, name := range []string{"served_age_p99", "served_fresh", "fleet_latency_p99"} {
		if _, _, ok := Metric(Cell{}, name); ok {
			t.Errorf("Metric(%s) of a cell without freshness reads: held; want not held", name)
		}
	}
}
