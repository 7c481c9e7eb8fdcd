package rule

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/camload/camload/internal/cfgerr"
)

func TestParseThreshold(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		key, cond string
		want      string  // canonical String()
		value     float64 // of the limit, in base units
		unit      Unit
		labels    int
	}{
		// No selector: every cell.
		{"cycle_p99", "< 1s", "cycle_p99: < 1s", 1e9, Duration, 0},
		// Selector with two labels, spaces tolerated.
		{" cycle_p99{ mode : batched , cameras:1000 } ", "<1s", "cycle_p99{mode:batched,cameras:1000}: < 1s", 1e9, Duration, 2},
		// Percentages are fractions.
		{"error_rate{mode:async}", "<= 25%", "error_rate{mode:async}: <= 25%", 0.25, Fraction, 1},
		// Plain number.
		{"capacity.list", ">= 50", "capacity.list: >= 50", 50, Plain, 0},
		// IEC size, canonical spelling restored.
		{"rss_peak", "< 256mib", "rss_peak: < 256MiB", 256 << 20, Bytes, 0},
		// SI size with a space before the unit.
		{"rss_peak", "< 1.5 GB", "rss_peak: < 1.5GB", 1.5e9, Bytes, 0},
		// Compound Go duration.
		{"cycle_max", "<= 1m30s", "cycle_max: <= 1m30s", 90e9, Duration, 0},
		// Microseconds, Greek mu normalised.
		{"api.list.p50", "< 250μs", "api.list.p50: < 250µs", 250e3, Duration, 0},
		// Unicode operator canonicalised.
		{"efficiency", "≥ 50%", "efficiency: >= 50%", 0.5, Fraction, 0},
		// Constant expression: injected + 0.5%.
		{"error_rate", "<= 5% + 0.5%", "error_rate: <= 5% + 0.5%", 0, Fraction, 0},
		// Exponent.
		{"api_throughput", "> 1e3", "api_throughput: > 1e3", 1000, Plain, 0},
		// Metric names with "-" (endpoint names allow it).
		{"api.get-latest.p99", "< 2s", "api.get-latest.p99: < 2s", 2e9, Duration, 0},
		// Negative limit.
		{"delta", "> -1", "delta: > -1", 0, Plain, 0},
	} {
		r, err := ParseThreshold(tc.key, tc.cond)
		if err != nil {
			t.Errorf("ParseThreshold(%q, %q): %v", tc.key, tc.cond, err)
			continue
		}
		if got := r.String(); got != tc.want {
			t.Errorf("ParseThreshold(%q, %q).String() = %q; want %q", tc.key, tc.cond, got, tc.want)
		}
		ref := r.Left.(*Ref)
		if len(ref.Selector) != tc.labels {
			t.Errorf("ParseThreshold(%q, %q): %d labels; want %d", tc.key, tc.cond, len(ref.Selector), tc.labels)
		}
		if lit, ok := r.Right.(*Literal); ok {
			if lit.Value != tc.value || lit.Unit != tc.unit {
				t.Errorf("ParseThreshold(%q, %q) limit = %g %s; want %g %s", tc.key, tc.cond, lit.Value, lit.Unit, tc.value, tc.unit)
			}
		}
		// The canonical form parses back to itself.
		again, err := ParseThresholdLine(r.String())
		if err != nil || again.String() != r.String() {
			t.Errorf("ParseThresholdLine(%q) = %v, %v; want the same rule", r.String(), again, err)
		}
	}
}

func TestParseExpect(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in, want string
		refs     int
	}{
		// The three examples.
		{"cycle_p99{mode:async,cameras:1000} / cycle_p99{mode:async,cameras:100} >= 5",
			"cycle_p99{mode:async,cameras:1000} / cycle_p99{mode:async,cameras:100} >= 5", 2},
		{"rss_peak{mode:batched,cameras:1000} <= 0.2*rss_peak{mode:async,cameras:1000}",
			"rss_peak{mode:batched,cameras:1000} <= 0.2 * rss_peak{mode:async,cameras:1000}", 2},
		{"capacity.list{mode:batched}>=50*capacity.list{mode:async}",
			"capacity.list{mode:batched} >= 50 * capacity.list{mode:async}", 2},
		// Redundant parentheses dropped, needed ones kept.
		{"((a)) - (b - c) >= (d * e) / (f * g)", "a - (b - c) >= d * e / (f * g)", 7},
		{"(a + b) * c < 1s", "(a + b) * c < 1s", 3},
		// Unary minus.
		{"-(a - b) < -5%", "-(a - b) < -5%", 2},
		{"- -a > 0", "-(-a) > 0", 1},
		// Constant on the left.
		{"1s > cycle_p99{mode:batched}", "1s > cycle_p99{mode:batched}", 1},
	} {
		r, err := ParseExpect(tc.in)
		if err != nil {
			t.Errorf("ParseExpect(%q): %v", tc.in, err)
			continue
		}
		if got := r.String(); got != tc.want {
			t.Errorf("ParseExpect(%q).String() = %q; want %q", tc.in, got, tc.want)
		}
		if n := len(r.Refs()); n != tc.refs {
			t.Errorf("ParseExpect(%q) has %d refs; want %d", tc.in, n, tc.refs)
		}
		again, err := ParseExpect(r.String())
		if err != nil || again.String() != r.String() {
			t.Errorf("ParseExpect(%q) = %v, %v; want the same rule", r.String(), again, err)
		}
	}
}

func TestParseErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		threshold bool
		in        string
		pos       Pos
		msg       string // part of the message
	}{
		// Missing operator in the condition.
		{true, "cycle_p99: 1s", 11, `a condition starts with <`},
		// No condition at all.
		{true, "cycle_p99", 9, `expected ":" and a condition`},
		// Limit missing.
		{true, "cycle_p99: <", 12, "missing limit after <"},
		// Unknown unit attached to the number.
		{true, "rss_peak: < 5 parsecs", 14, `expected an operator after "5", got "parsecs"`},
		{true, "rss_peak: < 5zz", 13, `unknown unit "zz"`},
		// A metric in a threshold's condition.
		{true, "rss_peak{mode:a}: < 0.2 * rss_peak{mode:b}", 26, "a threshold compares with a constant"},
		// Selector problems.
		{true, "cycle_p99{mode}: < 1s", 14, `expected ":" after label "mode"`},
		{true, "cycle_p99{mode:}: < 1s", 15, `expected a value for label "mode"`},
		{true, "cycle_p99{}: < 1s", 9, "empty selector"},
		{true, "cycle_p99{mode:a,mode:b}: < 1s", 17, `label "mode" given twice`},
		{true, "cycle_p99{mode:a cameras:1}: < 1s", 17, `expected "," or "}"`},
		{true, "cycle_p99{mode:a: < 1s", 16, `expected "," or "}"`},
		// Trailing garbage.
		{true, "cycle_p99: < 1s 2s", 16, "expected an operator (+ - * /) or the end"},
		// Chained comparison.
		{false, "a < b < c", 6, "one comparison per rule"},
		// No comparison.
		{false, "a / b", 5, "missing comparison"},
		{false, "a b >= 1", 2, `expected an operator (+ - * /) or a comparison`},
		// Unbalanced parentheses.
		{false, "(a / b >= 5", 7, `expected ")" to close the "(" at 0`},
		{false, "a / b) >= 5", 5, "expected an operator"},
		// No metric at all.
		{false, "1 < 2", 0, "must reference at least one metric"},
		// Empty.
		{false, "  ", 2, "empty rule"},
		{true, "", 0, "empty threshold"},
		// A bad number.
		{false, "a > 1.2.3", 7, "expected an operator"},
		{false, "a > 1e3s", 4, "a duration cannot have an exponent"},
		// An operator without an operand.
		{false, "a >= 5 *", 8, "expected a number, a metric"},
		// Too deep.
		{false, "a > " + strings.Repeat("(", 200) + "1" + strings.Repeat(")", 200), 104, "nested deeper than 100"},
	} {
		var err error
		if tc.threshold {
			_, err = ParseThresholdLine(tc.in)
		} else {
			_, err = ParseExpect(tc.in)
		}
		var se *SyntaxError
		if !errors.As(err, &se) || !errors.Is(err, ErrSyntax) {
			t.Errorf("parse(%q) = %v; want a *SyntaxError", tc.in, err)
			continue
		}
		if se.Pos != tc.pos || !strings.Contains(se.Msg, tc.msg) {
			t.Errorf("parse(%q) = %q at %d; want %q at %d", tc.in, se.Msg, se.Pos, tc.msg, tc.pos)
		}
		if !strings.Contains(err.Error(), fmt.Sprintf("%q", tc.in)) {
			t.Errorf("parse(%q): error %q does not quote the rule", tc.in, err)
		}
	}
}

// vocabulary is a small metric vocabulary for Check.
func vocabulary(name string) (Unit, error) {
	switch name {
	case "cycle_p50", "cycle_p99", "api.list.p99":
		return Duration, nil
	case "rss_peak":
		return Bytes, nil
	case "error_rate", "cpu_core":
		return Fraction, nil
	case "capacity.list", "goroutines_peak":
		return Plain, nil
	}
	return 0, fmt.Errorf("not a camload metric")
}

func TestCheck(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		threshold bool
		in        string
		kind      error // nil: valid
		msg       string
	}{
		{true, "cycle_p99{mode:batched}: < 1s", nil, ""},
		{true, "error_rate: <= 5% + 0.5%", nil, ""},
		{false, "cycle_p99{cameras:1000} / cycle_p99{cameras:100} >= 5", nil, ""},
		// A ratio of metrics may be compared with a percentage.
		{false, "rss_peak{mode:b} / rss_peak{mode:a} <= 20%", nil, ""},
		{false, "rss_peak{mode:b} <= 20% * rss_peak{mode:a}", nil, ""},
		{false, "capacity.list{mode:b} >= 50 * capacity.list{mode:a}", nil, ""},
		{false, "rss_peak{mode:b} / cycle_p99{mode:b} < 1GiB / 1s", nil, ""},
		// Unknown metric, with the caller's reason.
		{true, "cycle_p999: < 1s", ErrMetric, `unknown metric "cycle_p999": not a camload metric`},
		{false, "cycle_p99-cycle_p50 < 1s", ErrMetric, "put spaces around -"},
		// Units that do not fit.
		{true, "cycle_p99: < 1GiB", ErrUnit, `cannot compare "cycle_p99" (duration) with "1GiB" (bytes)`},
		{true, "cycle_p99: < 5", ErrUnit, "write the number with a unit"},
		{true, "error_rate: < 0.05", ErrUnit, "write it with %"},
		{true, "error_rate: < 5% + 0.01", ErrUnit, "write it with %"},
		{false, "rss_peak{mode:a} + cycle_p99{mode:a} > 0s", ErrUnit, `cannot add "rss_peak{mode:a}" (bytes) with "cycle_p99{mode:a}" (duration)`},
		{false, "rss_peak{mode:a} / rss_peak{mode:b} < 1MiB", ErrUnit, `(number) with "1MiB" (bytes)`},
	} {
		var r *Rule
		var err error
		if tc.threshold {
			r, err = ParseThresholdLine(tc.in)
		} else {
			r, err = ParseExpect(tc.in)
		}
		if err != nil {
			t.Fatalf("parse(%q): %v", tc.in, err)
		}
		err = r.Check(vocabulary)
		switch {
		case tc.kind == nil && err != nil:
			t.Errorf("Check(%q) = %v; want nil", tc.in, err)
		case tc.kind != nil && (!errors.Is(err, tc.kind) || !strings.Contains(err.Error(), tc.msg)):
			t.Errorf("Check(%q) = %v; want %v containing %q", tc.in, err, tc.kind, tc.msg)
		}
	}
}

func TestParseSet(t *testing.T) {
	t.Parallel()
	rules, err := ParseSet(
		map[string]string{"rss_peak": "< 8GiB", "cycle_p99{mode:batched}": "< 1s", "cycle_p999": "< 1s", "error_rate": "< 0.05"},
		[]string{"cycle_p99{cameras:1000} / cycle_p99{cameras:100} >= 5", "a <", "rss_peak{mode:b} <= 0.2 * rss_peak{mode:a}"},
		vocabulary)
	var names []string
	for _, r := range rules {
		names = append(names, r.String())
	}
	want := []string{"cycle_p99{mode:batched}: < 1s", "rss_peak: < 8GiB",
		"cycle_p99{cameras:1000} / cycle_p99{cameras:100} >= 5", "rss_peak{mode:b} <= 0.2 * rss_peak{mode:a}"}
	if strings.Join(names, "|") != strings.Join(want, "|") {
		t.Errorf("ParseSet rules = %q; want %q", names, want)
	}
	for _, field := range []string{"thresholds.cycle_p999: ", "thresholds.error_rate: ", "expect[1]: "} {
		if err == nil || !strings.Contains(err.Error(), field) {
			t.Errorf("ParseSet error = %v; want it to name %q", err, field)
		}
	}
	if !cfgerr.Is(err) || !errors.Is(err, ErrMetric) || !errors.Is(err, ErrUnit) || !errors.Is(err, ErrSyntax) {
		t.Errorf("ParseSet error = %v; want cfgerr wrapping ErrMetric, ErrUnit and ErrSyntax", err)
	}
}

// TestFormat: values in base units as rules and reports show them, three
// significant digits.
func TestFormat(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		v    float64
		u    Unit
		want string
	}{
		{812e6, Duration, "812ms"},
		{1.25e9, Duration, "1.25s"},
		{53.2e3, Duration, "53.2µs"},
		{0, Duration, "0s"},
		{-1.5e9, Duration, "-1.5s"},
		{15 * 60e9, Duration, "15m0s"},
		{512 << 20, Bytes, "512 MiB"},
		{1.25 * (1 << 30), Bytes, "1.25 GiB"},
		{100, Bytes, "100 B"},
		{0.0052, Fraction, "0.52%"},
		{0.45, Fraction, "45%"},
		{5.2134, Plain, "5.21"},
		{1234, Plain, "1234"},
		{2e-8, Plain, "2e-08"},
		{math.NaN(), Plain, "n/a"},
		{math.Inf(1), Duration, "+∞"},
	} {
		if got := Format(tc.v, tc.u); got != tc.want {
			t.Errorf("Format(%v, %v) = %q; want %q", tc.v, tc.u, got, tc.want)
		}
	}
}
