package rule

import (
	"errors"
	"testing"
)

// fuzzSource is a small matrix every fuzzed rule is evaluated on, so that
// evaluation is fuzzed too.
var fuzzSource = newTable([]string{"async", "batched"}, []int{100, 1000}, map[string]Sample{
	"async/100|cycle_p99":        secs(1, 1.1),
	"async/1000|cycle_p99":       secs(6),
	"batched/1000|cycle_p99":     secs(0.5, 0.6, 0.7),
	"async/1000|rss_peak":        vals(2 << 30),
	"batched/1000|rss_peak":      vals(300<<20, 0),
	"batched/1000|capacity.list": {Values: []float64{2000}, Censored: []bool{true}},
	"async/1000|capacity.list":   vals(0),
	"async/100|capacity.list":    {Values: []float64{25, 6}, Below: []bool{true, false}},
	"batched/100|capacity.list":  {Values: []float64{3200}},
	"async/100|error_rate":       {Reason: "over budget"},
})

// roundTrip checks what every parsed rule must satisfy: its canonical
// form parses to the same canonical form, and checking and evaluating it
// do not panic.
func roundTrip(t *testing.T, r *Rule, parse func(string) (*Rule, error)) {
	s := r.String()
	again, err := parse(s)
	if err != nil {
		t.Fatalf("canonical form %q of %q does not parse: %v", s, r.Text, err)
	}
	if again.String() != s {
		t.Fatalf("canonical form of %q is %q, then %q", r.Text, s, again.String())
	}
	if len(again.Refs()) != len(r.Refs()) {
		t.Fatalf("%q has %d refs, its canonical form %d", r.Text, len(r.Refs()), len(again.Refs()))
	}
	if r.Check(vocabulary) != nil {
		return
	}
	res, err := r.Evaluate(fuzzSource, Options{Resamples: 100})
	if err == nil && len(res) == 0 {
		t.Fatalf("Evaluate(%q): no results and no error", s)
	}
	for _, x := range res {
		if x.Message == "" {
			t.Fatalf("Evaluate(%q): a result without a message", s)
		}
	}
}

func syntaxError(t *testing.T, in string, err error) {
	var se *SyntaxError
	if !errors.As(err, &se) || !errors.Is(err, ErrSyntax) {
		t.Fatalf("parse(%q) = %v; want a *SyntaxError", in, err)
	}
	if se.Pos < 0 || int(se.Pos) > len(se.Text) {
		t.Fatalf("parse(%q): error position %d outside the text", in, se.Pos)
	}
}

func FuzzParseExpect(f *testing.F) {
	for _, s := range []string{
		"cycle_p99{mode:async,cameras:1000} / cycle_p99{mode:async,cameras:100} >= 5",
		"rss_peak{mode:batched,cameras:1000} <= 0.2 * rss_peak{mode:async,cameras:1000}",
		"capacity.list{mode:batched} >= 50 * capacity.list{mode:async}",
		"-(a - b) < -5%",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseExpect(s)
		if err != nil {
			syntaxError(t, s, err)
			return
		}
		roundTrip(t, r, ParseExpect)
	})
}

func FuzzParseThreshold(f *testing.F) {
	for _, kc := range [][2]string{
		{"cycle_p99{mode:batched,cameras:1000}", "< 1s"},
		{"error_rate{mode:async}", "<= 5% + 0.5%"},
		{"rss_peak", "< 256MiB"},
		{"capacity.list", ">= 50"},
	} {
		f.Add(kc[0], kc[1])
	}
	f.Fuzz(func(t *testing.T, key, cond string) {
		r, err := ParseThreshold(key, cond)
		if err != nil {
			syntaxError(t, key+": "+cond, err)
			return
		}
		if r.Kind != Threshold {
			t.Fatalf("ParseThreshold(%q, %q).Kind = %v", key, cond, r.Kind)
		}
		roundTrip(t, r, ParseThresholdLine)
	})
}
