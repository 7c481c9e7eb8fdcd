package reports

import (
	"bytes"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/camload/camload/reports/gate"
	"github.com/camload/camload/results"
)

// TestSparseRuns: runs with one cell, one mode, no API, no profiles, or no
// cells at all still render, and say what they lack instead of inventing it.
func TestSparseRuns(t *testing.T) {
	t.Parallel()
	bare := results.Cell{Mode: "sync", Cameras: 10, Status: results.StatusOK}
	bare.Cycles.Latency = results.Quantiles{Count: 2, Mean: results.Duration(1500 * time.Millisecond), P50: results.Duration(time.Second), P99: results.Duration(2 * time.Second), Max: results.Duration(2 * time.Second)}
	failed := results.Cell{Mode: "batched", Cameras: 10, Status: results.StatusFailed, Error: "system exited: signal: killed"}
	for _, tc := range []struct {
		name    string
		cells   []results.Cell
		want    []string
		notWant []string
	}{
		{"no cells", nil, []string{"The run has no cells."}, []string{"## Scaling"}},
		{"one cell", []results.Cell{bare}, []string{"| Cycle p99 | 2s = max (n=2) |", "| Cycle p50 | 1s (n=2) |"}, []string{"## Scaling", "## Before / after", "## API per endpoint"}},
		{"failed after", []results.Cell{bare, failed}, []string{"| Cycle p99 | 2s = max (n=2) | failed |", "system exited: signal: killed"}, []string{"## Scaling", "## Before / after"}},
	} {
		run := &results.Run{Schema: results.SchemaVersion, Scenario: "sparse", Cells: tc.cells}
		var md bytes.Buffer
		if err := WriteMarkdown(&md, run); err != nil {
			t.Fatalf("%s: WriteMarkdown: %v", tc.name, err)
		}
		for _, w := range tc.want {
			if !strings.Contains(md.String(), w) {
				t.Errorf("%s: Markdown lacks %q:\n%s", tc.name, w, md.String())
			}
		}
		for _, w := range tc.notWant {
			if strings.Contains(md.String(), w) {
				t.Errorf("%s: Markdown has %q", tc.name, w)
			}
		}
		if err := WriteHTML(io.Discard, run); err != nil {
			t.Errorf("%s: WriteHTML: %v", tc.name, err)
		}
		if err := WriteJUnit(io.Discard, run, nil); err != nil {
			t.Errorf("%s: WriteJUnit: %v", tc.name, err)
		}
	}
}

// FuzzReports: whatever a results.json that decodes holds, the writers do
// not panic.
func FuzzReports(f *testing.F) {
	f.Add([]byte(`{"schema":1,"cells":[{"mode":"a","cameras":1,"status":"ok","cycles":{"visits":3,"error_rate":0.5,"durations":["1s","2s"]}}]}`))
	f.Add([]byte(`{"schema":1,"thresholds":{"cycle_p99":"< 1s"},"cells":[{"mode":"a","cameras":1,"status":"over_budget"},{"mode":"b","cameras":5,"status":"ok","api":{"x":{"requests":1,"capacity":0}}}]}`))
	f.Add([]byte(`{"schema":1,"cells":[{"mode":"a","cameras":1,"resources":{"series":[{"at":"1s","rss_bytes":-5,"cpu_core_percent":1e308}]}}]}`))
	f.Add([]byte(`{"schema":2,"expect_over_budget":["mode:a,cameras:1","x"],"compare":{"scaling":{"mode":"zz"},"before_after":{"before":"a","after":"a"}},"cells":[{"mode":"a","cameras":1,"status":"over_budget"},{"mode":"a","cameras":2,"status":"ok","cycles":{"processed":3,"latency":{"count":1,"p50":"1s","p50_ci95":["2s","1s"]}},"windows":{"cycles":{"start":"2026-01-01T00:00:01Z","end":"2026-01-01T00:00:00Z","cpu_seconds_system":1,"cache":{"l1_hits":-1,"l1_misses":1}}},"freshness_served":{"reads":0},"api":{"x":{"capacity":{"rate":5,"censored":true,"steps":[{"rate":1,"requests":0,"judged_on":"max"}]}}}},{"mode":"b","cameras":3,"status":"ok","ideal":{"cycle_time":"1s","efficiency":7}}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		run, err := results.Decode(b)
		if err != nil {
			return
		}
		_ = WriteMarkdown(io.Discard, run)
		_ = WriteHTML(io.Discard, run)
		_ = WriteJUnit(io.Discard, run, nil)
		_ = WriteSummary(io.Discard, run)
		if v, err := gate.Judge(run, run, gate.DefaultOptions); err == nil {
			_ = v.Write(io.Discard)
		}
	})
}

func BenchmarkWriteHTML(b *testing.B) {
	run := readRun(b, "run.json")
	b.ReportAllocs()
	for b.Loop() {
		if err := WriteHTML(io.Discard, run); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkWriteMarkdown(b *testing.B) {
	run := readRun(b, "run.json")
	b.ReportAllocs()
	for b.Loop() {
		if err := WriteMarkdown(io.Discard, run); err != nil {
			b.Fatal(err)
		}
	}
}

// TestChartsExtremeValues: values at the ends of float64 draw bounded
// charts instead of looping.
func TestChartsExtremeValues(t *testing.T) {
	t.Parallel()
	for _, vs := range [][]float64{
		{-1e308, 1e308},    // range overflows to +Inf
		{1e300, 1e300 + 1}, // step below float precision
		{1e-300, 1e300},    // 600 decades on a log axis
	} {
		done := make(chan string, 1)
		go func() {
			s := string(lineChart(chart{Title: "x", LogY: true}, []line{{Name: "a", Points: []point{{vs[0], vs[0]}, {vs[1], vs[1]}}}}))
			s += string(barChart(chart{Title: "y"}, []string{"g"}, []string{"a", "b"}, [][]float64{{vs[0]}, {vs[1]}}))
			done <- s
		}()
		select {
		case s := <-done:
			if n := strings.Count(s, `class="tick"`); n > 4*maxTicks {
				t.Errorf("charts of %v: %d tick labels; want at most %d", vs, n, 4*maxTicks)
			}
		case <-time.After(20 * time.Second):
			t.Fatalf("charts of %v did not finish", vs)
		}
	}
}
