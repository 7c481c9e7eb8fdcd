package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/camload/camload/dashboard"
	"github.com/camload/camload/results"
	"github.com/camload/camload/scenarios"
)

// readStream reads an event stream until it ends and returns its events.
func readStream(t *testing.T, url string) []dashboard.Event {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Errorf("GET %s: %v", url, err)
		return nil
	}
	defer resp.Body.Close()
	var out []dashboard.Event
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		data, ok := strings.CutPrefix(sc.Text(), "data: ")
		if !ok {
			continue
		}
		var e dashboard.Event
		if err := json.Unmarshal([]byte(data), &e); err != nil {
			t.Errorf("event %q: %v", data, err)
			continue
		}
		out = append(out, e)
	}
	return out
}

// TestRunPublishesEvents drives a one-cell run of the fake system with a
// hub, a browser connecting once the run is under way, and checks the
// stream: the history first (from the plan on), one event per cycle with
// the fleet's faults, attack windows adding up to the endpoint's
// requests, every capacity step, the cell's summary with its files and
// the final event.
func TestRunPublishesEvents(t *testing.T) {
	if testing.Short() {
		t.Skip("starts embedded backends and child processes")
	}
	sc := fakeScenario(t)
	sc.Fleet.Cameras, sc.System.Modes = []int{6}, []string{"sync"}
	sc.System.Warmup, sc.System.Cycles = 1, 3
	sc.Load[0].Duration = 1500 * time.Millisecond
	sc.Load[0].Capacity = &scenarios.Capacity{SLO: scenarios.SLO{P99: 5 * time.Second, ErrorRate: 0.5},
		MinRate: 50, MaxRate: 110, Steps: 2, StepDuration: 300 * time.Millisecond} // steps of ≥ 100 requests: 2 s, then 1 s
	if err := sc.Validate(); err != nil {
		t.Fatal(err)
	}
	hub, err := dashboard.New(dashboard.Options{})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(hub)
	defer srv.Close()

	// The browser opens once a few events are out, and reads to the end.
	got := make(chan []dashboard.Event)
	go func() {
		for hub.Stats().Published < 4 {
			time.Sleep(20 * time.Millisecond)
		}
		got <- readStream(t, srv.URL+"/events")
	}()
	dir := t.TempDir()
	run, err := Run(context.Background(), sc, Options{OutDir: dir, SystemBinary: selfBinary(t), Version: "test", Events: hub})
	if err != nil {
		t.Fatalf("Run = %v", err)
	}
	if err := hub.Publish(RunFinishedEvent(run, "")); err != nil {
		t.Fatal(err)
	}
	_ = hub.Close()
	var evs []dashboard.Event
	select {
	case evs = <-got:
	case <-time.After(30 * time.Second):
		t.Fatal("the stream did not end after Close")
	}
	cell := run.Cells[0]
	if cell.Status != results.StatusOK {
		t.Fatalf("cell %s: %s", cell.Status, cell.Error)
	}

	if len(evs) == 0 || evs[0].Kind != dashboard.KindPlan || evs[0].ID != 1 {
		t.Fatalf("stream starts with %+v; want the plan (id 1) from the history", evs[:min(len(evs), 1)])
	}
	if p := evs[0].Plan; len(p.Cells) != 1 || p.Cells[0].Mode != "sync" || p.Cycles != 3 || p.Warmup != 1 || len(p.Load) != 1 {
		t.Errorf("plan = %+v", p)
	}
	if last := evs[len(evs)-1]; last.Kind != dashboard.KindRunFinished || last.RunFinished.Results != "results.json" {
		t.Errorf("last event = %+v; want run_finished", last)
	}
	var (
		warm, measured []*dashboard.Cycle
		kinds          = map[dashboard.Kind]int{}
		faults, errs   = map[string]int{}, map[string]int{}
		windowReqs     uint64
		steps          []*dashboard.CapacityStep
		finished       *dashboard.CellFinished
		resources      []*dashboard.Resource
		prevID         uint64
	)
	var lastPhase dashboard.PhaseName
	for _, e := range evs {
		if e.ID <= prevID {
			t.Errorf("event id %d after %d", e.ID, prevID)
		}
		prevID = e.ID
		kinds[e.Kind]++
		switch e.Kind {
		case dashboard.KindCycle:
			if e.Cycle.Warmup {
				warm = append(warm, e.Cycle)
				continue
			}
			measured = append(measured, e.Cycle)
			for k, n := range e.Cycle.Faults {
				faults[k] += n
			}
			for k, n := range e.Cycle.Errors {
				errs[k] += n
			}
		case dashboard.KindPhase:
			lastPhase = e.Phase.Name
		case dashboard.KindAttack:
			if e.Attack.Target == "latest" && lastPhase == dashboard.PhaseLoad {
				windowReqs += e.Attack.Requests
			}
		case dashboard.KindCapacityStep:
			steps = append(steps, e.CapacityStep)
		case dashboard.KindCellFinished:
			finished = e.CellFinished
		case dashboard.KindResource:
			resources = append(resources, e.Resource)
		}
	}
	// The cell runs at least system.cycles (3) measured cycles, and more
	// while its CPU profile has not ended: one event per measured cycle.
	if len(warm) != 1 || len(measured) < 3 || len(measured) != cell.Cycles.Count {
		t.Fatalf("cycles: %d warm-up, %d measured; want 1 and the cell's %d (≥ 3)", len(warm), len(measured), cell.Cycles.Count)
	}
	for i, c := range measured {
		if (i < 3 && (c.N != i+1 || c.Of != 3)) || c.Cameras != 6 || c.Took <= 0 || c.PerFrame.Count != 6 || c.PerFrame.P50 <= 0 {
			t.Errorf("measured cycle %d = %+v", i+1, c)
		}
	}
	// The per-cycle fleet deltas add up to the cell's, and the errors to
	// the cell's errors.
	for k, n := range cell.Faults {
		if faults[k] != n {
			t.Errorf("faults %s: cycles add up to %d, cell has %d", k, faults[k], n)
		}
	}
	for k, n := range cell.Cycles.Errors {
		if errs[k] != n {
			t.Errorf("errors %s: cycles add up to %d, cell has %d", k, errs[k], n)
		}
	}
	if ep := cell.API["latest"]; windowReqs != ep.Requests || windowReqs == 0 {
		t.Errorf("attack windows hold %d requests; the endpoint %d", windowReqs, ep.Requests)
	}
	if kinds[dashboard.KindAttack] < 2 {
		t.Errorf("%d attack windows; want ≥ 2 for a 1.5 s load and the capacity steps", kinds[dashboard.KindAttack])
	}
	if len(steps) != 2 || steps[0].Step != 1 || steps[0].Rate != 50 || !steps[0].Pass || steps[0].SLOP99 != 5*time.Second {
		t.Errorf("capacity steps = %+v", steps)
	}
	if len(resources) == 0 || resources[0].System.RSS <= 0 || resources[0].Runner.RSS <= 0 || resources[0].Runner.Goroutines <= 0 {
		t.Errorf("resources = %+v; want system and runner RSS", resources)
	} else if !slices.ContainsFunc(resources, func(r *dashboard.Resource) bool { return r.System.Goroutines > 0 }) {
		// Any sample: the last one may fall as the system shuts down (its
		// metrics no longer answer, goroutines unknown: 0).
		t.Errorf("resource samples = %+v; want the system's goroutines in them", resources)
	}
	if finished == nil || finished.Status != results.StatusOK || finished.Index != 1 || finished.Cycles != cell.Cycles.Count || len(finished.API) != 1 || finished.API[0].Capacity == nil {
		t.Fatalf("cell finished = %+v", finished)
	}
	files := map[string]string{}
	for _, l := range finished.Files {
		files[l.Name] = l.Path
	}
	for _, n := range []string{"cpu.pb.gz", "heap.pb.gz", "api-latest.bin", "system.log"} {
		if !strings.HasPrefix(files[n], "cells/sync-6-r0/") {
			t.Errorf("files = %v; want %s under the cell folder", finished.Files, n)
		}
	}
	// A browser opened after the run gets the history, ending with the
	// final event.
	late := readStream(t, srv.URL+"/events")
	if len(late) == 0 || late[0].Kind != dashboard.KindPlan || late[len(late)-1].Kind != dashboard.KindRunFinished {
		t.Errorf("late stream: %d events", len(late))
	}
}

func TestStepPhase(t *testing.T) {
	sc := scenarios.Default.Clone()
	sc.Load = []scenarios.Target{{Name: "latest", Rate: 40, Capacity: &scenarios.Capacity{Steps: 6}}}
	for what, want := range map[string]string{
		"starting system":   "starting",
		"warm-up 1/2":       "warmup 1/2",
		"cycle 3/10":        "cycle 3/10",
		"load latest":       "load latest at 40 req/s",
		"capacity latest":   "capacity latest 0/6",
		"something unknown": "",
	} {
		ph, ok := stepPhase(sc, what)
		if got := map[bool]string{true: ph.String()}[ok]; got != want {
			t.Errorf("stepPhase(%q) = %q; want %q", what, got, want)
		}
	}
}

// TestAttackWindows feeds an attack's results straight into the windows:
// one-second windows by completion time, a short tail folded into the
// window before it, a long one published on its own, the latency
// corrected from the intended send time.
func TestAttackWindows(t *testing.T) {
	hub, err := dashboard.New(dashboard.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer hub.Close()
	p := &progress{hub: hub}
	ce := &cellEvents{p: p, ref: dashboard.CellRef{Index: 1}}
	ctx := context.WithValue(context.Background(), eventsKey{}, ce)
	attack := func(n int, every time.Duration, slowFrom int) []*dashboard.Attack {
		before := len(hub.History())
		enc := traceAttack(ctx, AttackSpec{Name: "latest", Rate: float64(time.Second / every)}, nil)
		began := ce.win.began
		for i := range n {
			lat := time.Millisecond
			if i >= slowFrom {
				lat = 100 * time.Millisecond // sent on time, answered late
			}
			r := &vegeta.Result{Seq: uint64(i), Timestamp: began.Add(time.Duration(i+1) * every), Latency: lat, Code: 200}
			if i%10 == 9 {
				r.Code = 503
			}
			if err := enc(r); err != nil {
				t.Fatal(err)
			}
		}
		ce.flushWindow()
		var out []*dashboard.Attack
		for _, raw := range hub.History()[before:] {
			var e dashboard.Event
			if err := json.Unmarshal(raw, &e); err != nil {
				t.Fatal(err)
			}
			out = append(out, e.Attack)
		}
		return out
	}
	// 51 requests at 50/s: answered from 21 ms to 1.021 s — one window
	// with the 21 ms tail folded in.
	ws := attack(51, 20*time.Millisecond, 1000)
	if len(ws) != 1 || ws[0].Requests != 51 || ws[0].Errors != 5 || ws[0].Since != 1021*time.Millisecond {
		t.Fatalf("windows = %+v; want one of 51 requests ending at 1.021 s", ws)
	}
	if tp := ws[0].Throughput; tp < 45 || tp > 46 {
		t.Errorf("throughput %g; want 46 ok ÷ 1.021 s", tp)
	}
	// 80 requests at 50/s, the last 30 answered 100 ms late: windows
	// [0,1 s) and the 0.7 s tail on its own, with the late latencies.
	ws = attack(80, 20*time.Millisecond, 50)
	if len(ws) != 2 || ws[0].Requests+ws[1].Requests != 80 || ws[0].Since != time.Second {
		t.Fatalf("windows = %+v; want 2 holding 80 requests", ws)
	}
	if ws[0].Latency.P50 != time.Millisecond || ws[1].Latency.P50 < 100*time.Millisecond || ws[1].Latency.P50 > 101*time.Millisecond {
		t.Errorf("latency p50 %s then %s; want 1 ms then 100 ms", ws[0].Latency.P50, ws[1].Latency.P50)
	}
}
