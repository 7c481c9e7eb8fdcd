package simulator

import (
	"io"
	"math/rand/v2"
	"net/http"
	"reflect"
	"testing"
	"time"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func fe(cam string, startMs, durMs int, fault string) Fetch {
	code := 200
	switch fault {
	case FaultOverflow503, FaultDeviceOverflow503:
		code = 503
	case FaultOverflowReset, FaultDeviceOverflowReset, FaultReset:
		code = 0
	}
	return Fetch{Camera: cam, Start: t0.Add(time.Duration(startMs) * time.Millisecond),
		Duration: time.Duration(durMs) * time.Millisecond, Code: code, Fault: fault}
}

func ms(n int) time.Duration { return time.Duration(n) * time.Millisecond }

func TestSummarize(t *testing.T) {
	t.Parallel()
	if got := Summarize(nil); got != (Summary{}) {
		t.Errorf("Summarize(nil) = %+v", got)
	}
	if got := Summarize([]time.Duration{ms(7)}); got != (Summary{N: 1, Min: ms(7), Mean: ms(7), P50: ms(7), P90: ms(7), P99: ms(7), Max: ms(7)}) {
		t.Errorf("Summarize(7ms) = %+v", got)
	}
	var ds []time.Duration
	for i := 100; i >= 1; i-- {
		ds = append(ds, ms(i))
	}
	got := Summarize(ds)
	want := Summary{N: 100, Min: ms(1), Mean: 50500 * time.Microsecond, P50: ms(50), P90: ms(90), P99: ms(99), Max: ms(100)}
	if got != want {
		t.Errorf("Summarize(1…100ms) = %+v; want %+v", got, want)
	}
	if ds[0] != ms(100) {
		t.Errorf("Summarize sorted its input")
	}
}

func TestComputeFetchStatsSweeps(t *testing.T) {
	t.Parallel()
	fetches := []Fetch{
		// sweep 1: a, b, c; ends with b's end at 25 ms
		fe("a", 0, 10, ""), fe("b", 5, 20, ""), fe("c", 10, 5, ""),
		// sweep 2: a twice (over-polling), b refused once by its camera,
		// then served with a 5xx; ends with c at 115 ms
		fe("a", 100, 10, ""), fe("a", 102, 3, ""), fe("b", 103, 1, FaultDeviceOverflow503),
		fe("b", 104, 5, FaultHTTP5xx), fe("c", 105, 10, ""),
		// unfinished: a refused by the host, c served
		fe("a", 200, 1, FaultOverflowReset), fe("c", 201, 4, FaultPlaceholder),
	}
	fetches[0].NewConn, fetches[3].NewConn = true, true
	got := ComputeFetchStats(fetches, StatsOptions{PerCamera: true})
	if got.Cameras != 3 || got.Requests != 10 || got.Visits != 8 || got.NewConnections != 2 {
		t.Errorf("cameras %d requests %d visits %d newConns %d; want 3 10 8 2", got.Cameras, got.Requests, got.Visits, got.NewConnections)
	}
	wantSweeps := []Sweep{
		{Start: t0, End: t0.Add(ms(25)), Duration: ms(25), Requests: 3, RequestsPerCamera: 1, MaxPerCamera: 1},
		{Start: t0.Add(ms(100)), End: t0.Add(ms(115)), Duration: ms(15), Requests: 5, RequestsPerCamera: 5.0 / 3, MaxPerCamera: 2},
	}
	if !reflect.DeepEqual(got.Sweeps, wantSweeps) {
		t.Errorf("Sweeps =\n%+v\nwant\n%+v", got.Sweeps, wantSweeps)
	}
	if got.PartialCovered != 1 {
		t.Errorf("PartialCovered = %d; want 1 (c; a was refused)", got.PartialCovered)
	}
	if got.SweepDuration.N != 2 || got.SweepDuration.Max != ms(25) || got.SweepDuration.Min != ms(15) {
		t.Errorf("SweepDuration = %+v", got.SweepDuration)
	}
	// revisits: a 100, 2; b 99 (5 → 104; the refusal is no visit); c 95, 96
	wantRev := Summarize([]time.Duration{ms(100), ms(2), ms(99), ms(95), ms(96)})
	if got.Revisit != wantRev {
		t.Errorf("Revisit = %+v; want %+v", got.Revisit, wantRev)
	}
	if want := map[string]int{FaultDeviceOverflow503: 1, FaultOverflowReset: 1}; !reflect.DeepEqual(got.Refused, want) {
		t.Errorf("Refused = %v; want %v", got.Refused, want)
	}
	if want := map[string]int{FaultHTTP5xx: 1, FaultPlaceholder: 1}; !reflect.DeepEqual(got.Errors, want) || got.ErrorsTotal != 2 {
		t.Errorf("Errors = %v (total %d); want %v", got.Errors, got.ErrorsTotal, want)
	}
	wantPer := []CameraFetchStats{
		{Camera: "a", Requests: 4, Visits: 3, Refused: 1, MaxRevisit: ms(100), MeanRevisit: ms(51)},
		{Camera: "b", Requests: 3, Visits: 2, Errors: 1, Refused: 1, MaxRevisit: ms(99), MeanRevisit: ms(99)},
		{Camera: "c", Requests: 3, Visits: 3, Errors: 1, MaxRevisit: ms(96), MeanRevisit: 95500 * time.Microsecond},
	}
	if !reflect.DeepEqual(got.PerCamera, wantPer) {
		t.Errorf("PerCamera =\n%+v\nwant\n%+v", got.PerCamera, wantPer)
	}
	// The order of the input does not matter.
	shuffled := append([]Fetch(nil), fetches...)
	rand.New(rand.NewPCG(1, 2)).Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	if again := ComputeFetchStats(shuffled, StatsOptions{PerCamera: true}); !reflect.DeepEqual(again, got) {
		t.Errorf("shuffled input gave\n%+v\nwant\n%+v", again, got)
	}
}

// TestComputeFetchStatsUnreachedCamera: with an explicit camera set, a
// camera never fetched keeps every sweep open.
func TestComputeFetchStatsUnreachedCamera(t *testing.T) {
	t.Parallel()
	got := ComputeFetchStats([]Fetch{fe("a", 0, 1, ""), fe("b", 1, 1, ""), fe("a", 5, 1, ""), fe("x", 6, 1, "")},
		StatsOptions{Cameras: []string{"a", "b", "c"}})
	if len(got.Sweeps) != 0 || got.PartialCovered != 2 || got.Unvisited != 1 || got.Cameras != 3 || got.Requests != 4 || got.PerCamera != nil {
		t.Errorf("stats = %+v; want no sweep, 2 covered, c unvisited, 4 requests", got)
	}
	if empty := ComputeFetchStats(nil, StatsOptions{}); empty.Requests != 0 || len(empty.Sweeps) != 0 || empty.PartialCovered != 0 {
		t.Errorf("stats of nothing = %+v", empty)
	}
}

// TestFleetFetchStatsAndInventoryURLs: GET /cameras lists a working
// snapshot URL for every camera; fetching each twice makes two sweeps,
// seen alike by Fleet.FetchStats and GET /fetches/stats.
func TestFleetFetchStatsAndInventoryURLs(t *testing.T) {
	t.Parallel()
	cfg := testConfig()
	f := start(t, cfg)
	var cams []Camera
	getJSON(t, f.ControlURL()+"/cameras", &cams)
	if len(cams) != cfg.Cameras {
		t.Fatalf("GET /cameras listed %d cameras; want %d", len(cams), cfg.Cameras)
	}
	c := newClient(5 * time.Second)
	defer c.CloseIdleConnections()
	for range 2 {
		for _, cam := range cams {
			resp, err := c.Get(cam.SnapshotURL)
			if err != nil {
				t.Fatalf("GET %s: %v", cam.SnapshotURL, err)
			}
			_, _ = io.Copy(io.Discard, resp.Body) // drained, so the connection is reused
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Errorf("GET %s (%s): %s", cam.SnapshotURL, cam.ID, resp.Status)
			}
		}
	}
	st := f.FetchStats(time.Time{}, time.Time{}, false)
	if len(st.Sweeps) != 2 || st.Requests != 2*cfg.Cameras || st.Sweeps[1].RequestsPerCamera != 1 || st.NewConnections != cfg.Hosts {
		t.Errorf("FetchStats = %+v; want 2 sweeps of 1 request per camera over %d new connections", st, cfg.Hosts)
	}
	if st.Revisit.N != cfg.Cameras {
		t.Errorf("Revisit.N = %d; want %d (one interval per camera)", st.Revisit.N, cfg.Cameras)
	}
	var remote FetchStats
	getJSON(t, f.ControlURL()+"/fetches/stats?per_camera=1", &remote)
	if len(remote.Sweeps) != 2 || remote.Requests != st.Requests || len(remote.PerCamera) != cfg.Cameras || remote.SweepDuration != st.SweepDuration {
		t.Errorf("GET /fetches/stats = %+v; want the same as FetchStats %+v", remote, st)
	}
}
