package reports

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/camload/camload/results"
)

// absentRun is a replicas run (scenarios/scaleout.yaml's shape) whose
// cells measured less than a single-process cell does: no ideal cycle and
// no profiles (replicas cells have neither), a window of 2 replicas that
// holds no RSS sample and one replica whose CPU was not read, an endpoint
// no request reached, a capacity search that ran no step and one whose
// step sent nothing; the scale-out point of 2 replicas has no pair with
// one replica (no efficiency) and no CPU figures.
func absentRun() *results.Run {
	t0 := time.Date(2026, 12, 2, 8, 0, 0, 0, time.UTC)
	span := func(from, to time.Duration) (time.Time, time.Time) { return t0.Add(from), t0.Add(to) }
	q := func(n int64, p50, max time.Duration) results.Quantiles {
		return results.Quantiles{Count: n, Mean: results.Duration(p50), P50: results.Duration(p50), P90: results.Duration(max),
			P95: results.Duration(max), P99: results.Duration(max), Max: results.Duration(max)}
	}
	cell := func(replicas, repeat int, win results.Window, members []results.Replica) results.Cell {
		ws, we := win.Start, win.End
		return results.Cell{Mode: "batched", Cameras: 1000, Hosts: 50, Repeat: repeat, Status: results.StatusOK, Started: t0,
			Elapsed: results.Duration(40 * time.Second), Windows: results.Windows{Cycles: &win},
			Cycles: results.Cycles{Count: 3, Latency: q(3, 7*time.Second, 9*time.Second), Visits: 3000, Processed: 3000, Reconciled: true, Errors: map[string]int{}},
			Replicas: &results.Replicas{Count: replicas, GOMAXPROCS: 1, Group: "g", Redis: "redis-server 7.0.15 (started by the runner on 127.0.0.1:1)",
				Window: results.Span{Start: ws, End: we}, Cycles: 3, Processed: 3000, CycleSeconds: 27, Throughput: 3000.0 / 27 * float64(replicas) * 0.7,
				PerReplica: 3000.0 / 27 * 0.7, Members: members, CPUMachinePercent: win.CPUMachinePercent, CPUSecondsRunner: win.CPUSecondsRunner}}
	}
	s1, e1 := span(10*time.Second, 37*time.Second)
	one := cell(1, 0, results.Window{Start: s1, End: e1, CPUSecondsSystem: 16.7, CPUSecondsRunner: 3.3, CPUMachinePercent: 98, RSSPeak: 92 << 20},
		[]results.Replica{{Consumer: "a", Pid: 1, Processed: 3000, CPUSeconds: 16.7, Coordinator: true}})
	one.API = map[string]results.Endpoint{
		"latest": {Path: "/api/v1/cameras/{id}/latest", Rate: 20, Duration: results.Duration(10 * time.Second),
			Capacity: &results.Capacity{Cap: 500}}, // no request answered; the search ran no step
	}
	s2, e2 := span(50*time.Second, 77*time.Second)
	two := cell(2, 1, results.Window{Start: s2, End: e2, CPUSecondsSystem: 18, CPUSecondsRunner: 4},
		[]results.Replica{{Consumer: "a", Pid: 2, Processed: 1600, CPUSeconds: 9, Coordinator: true}, {Consumer: "b", Pid: 3, Processed: 1400, CPUSeconds: -1}})
	two.Replicas.Throughput, two.Replicas.PerReplica = 140, 70
	first := 10.0
	two.API = map[string]results.Endpoint{
		"cameras": {Path: "/api/v1/cameras", Rate: 10, Duration: results.Duration(10 * time.Second),
			Capacity: &results.Capacity{FirstFail: &first, Cap: 500,
				Steps: []results.CapacityStep{{Rate: 10, Duration: results.Duration(10 * time.Second), JudgedOn: "max"}}}}, // the step sent nothing
	}
	eff := 1.0
	return &results.Run{Schema: 2, Scenario: "scaleout", ScenarioFile: "scenarios/scaleout.yaml", Started: t0, Finished: t0.Add(2 * time.Minute),
		Env: results.Env{GoVersion: "go1.26.8", OS: "linux", Arch: "amd64", CPUModel: "AMD EPYC", Cores: 2, MemTotal: 24 << 30,
			Commit: "6d47b23300e1f03a6a99cb6eaee498c08ad4011b"},
		Cells: []results.Cell{one, two},
		Scaleout: []results.Scaleout{{Mode: "batched", Cameras: 1000, Window: "measured cycles", Points: []results.ScalePoint{
			{Replicas: 1, N: 1, Cycles: 3, Throughput: one.Replicas.Throughput, PerReplica: one.Replicas.PerReplica, Efficiency: &eff, EfficiencyN: 1,
				CPUMachinePercent: 98, CPUPerCamera: 16.7 / 3000, CoreShare: 16.7 / 27, SupportCores: 3.3 / 27},
			{Replicas: 2, N: 1, Cycles: 3, Throughput: two.Replicas.Throughput, PerReplica: two.Replicas.PerReplica, SupportCores: 4.0 / 27},
		}}},
	}
}

// TestAbsentFigures: a figure a cell did not measure reads "-" in the
// text summary and "—" in the Markdown and HTML reports, never 0 ("0s",
// "0.00", "0 B", "0%").
func TestAbsentFigures(t *testing.T) {
	t.Parallel()
	run := absentRun()
	var sum, md, htm bytes.Buffer
	if err := WriteSummary(&sum, run); err != nil {
		t.Fatal(err)
	}
	if err := WriteMarkdown(&md, run); err != nil {
		t.Fatal(err)
	}
	if err := WriteHTML(&htm, run); err != nil {
		t.Fatal(err)
	}
	golden(t, "absent-summary.golden", sum.Bytes())
	golden(t, "absent.md.golden", md.Bytes())
	golden(t, "absent.html.golden", htm.Bytes())

	lines := strings.Split(sum.String(), "\n")
	row := func(prefix string) []string {
		for _, l := range lines {
			if strings.HasPrefix(l, prefix) {
				return strings.Fields(l)
			}
		}
		t.Fatalf("summary has no line %q:\n%s", prefix, sum.String())
		return nil
	}
	// batched×2 1000 1 ok 7s (n=3) 9s=max (n=3) - 0.00% yes - 0 - -
	cells := row("batched×2 ")
	if got := cells[len(cells)-2:]; got[0] != "-" || got[1] != "-" {
		t.Errorf("summary: ideal and efficiency of a replicas cell = %q; want \"-\" \"-\"", got)
	}
	if got := cells[len(cells)-4]; got != "-" {
		t.Errorf("summary: RSS of a window without an RSS sample = %q; want \"-\"", got)
	}
	// batched×1 1000 latest 20 - - - - -
	api := row("batched×1  1000     latest")
	if got := api[4:]; strings.Join(got, " ") != "- - - - -" {
		t.Errorf("summary: throughput, success, p50, p99 and capacity of an endpoint no request reached = %q; want - - - - -", got)
	}
	for _, want := range []string{
		"2 replicas: 140.0 cameras/s all replicas, 70.0 per replica, efficiency -, CPU per camera (all replicas) -, core share per replica -, machine busy -;",
	} {
		if !strings.Contains(sum.String(), want) {
			t.Errorf("summary lacks %q:\n%s", want, sum.String())
		}
	}
	for _, want := range []string{
		"| batched×1 | 1000 | — | 7s (n=3) | — | — | — |", // ideal, efficiency, basis
		"| batched×2 | 1000 | — | 7s (n=3) | — | — | — |",
		"| 2 | 140.0 (n=1) | 70.0 (n=1) | — | 1 / 3 | — | — | 0.15 (n=1) | 0 | — | redis-server 7.0.15 (started by the runner) |",
		"| batched×1 | 1000 | latest `/api/v1/cameras/{id}/latest` | 20 | — | — | — | — | — | — | — |",
	} {
		if !strings.Contains(md.String(), want) {
			t.Errorf("Markdown lacks %q:\n%s", want, md.String())
		}
	}
	for _, want := range []string{
		"<caption>batched×2/1000 cameras (repeat 1): capacity &lt; 10 (the floor failed) req/s (system under test, API window)</caption>",
		"<tr><td>10</td><td>10s</td><td>0</td><td>— (n too small)</td><td>—</td><td>—</td>", // max and error rate of a step that sent nothing
	} {
		if !strings.Contains(htm.String(), want) {
			t.Errorf("HTML lacks %q", want)
		}
	}
}
