package simulator

import (
	"context"
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestParseShard(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]Shard{"": {}, "1/1": {1, 1}, "2/3": {2, 3}, " 3 / 3 ": {3, 3}} {
		got, err := ParseShard(in)
		if err != nil || got != want {
			t.Errorf("ParseShard(%q) = %+v, %v; want %+v", in, got, err, want)
		}
		if got.String() != strings.ReplaceAll(in, " ", "") {
			t.Errorf("%+v.String() = %q; want %q", got, got.String(), in)
		}
	}
	for _, in := range []string{"1", "0/3", "4/3", "1/0", "a/b", "-1/2", "1/2/3"} {
		if _, err := ParseShard(in); err == nil {
			t.Errorf("ParseShard(%q) = nil error", in)
		}
	}
	cfg := testConfig() // 2 hosts
	if _, err := New(cfg, WithShard(Shard{1, 3})); err == nil || !strings.Contains(err.Error(), "at most 2 shards") {
		t.Errorf("New with 3 shards of 2 hosts: %v; want an error", err)
	}
}

// TestShardsPartitionTheFleet: for every shard count, every camera is in
// exactly one shard, with the same inventory entry as in the whole fleet.
func TestShardsPartitionTheFleet(t *testing.T) {
	t.Parallel()
	cfg := testConfig()
	cfg.Cameras, cfg.Hosts = 23, 5
	whole, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	want := whole.Cameras()
	for n := 1; n <= cfg.Hosts; n++ {
		var invs [][]Camera
		total := 0
		for k := 1; k <= n; k++ {
			f, err := New(cfg, WithShard(Shard{k, n}))
			if err != nil {
				t.Fatalf("shard %d/%d: %v", k, n, err)
			}
			inv := f.Cameras()
			if len(inv) == 0 {
				t.Errorf("shard %d/%d serves no camera", k, n)
			}
			total += len(inv)
			invs = append(invs, inv)
		}
		got, err := MergeCameras(invs...)
		if err != nil {
			t.Fatalf("%d shards: %v", n, err)
		}
		if total != len(want) || !reflect.DeepEqual(got, want) {
			t.Errorf("%d shards: union of %d cameras differs from the whole fleet's %d", n, total, len(want))
		}
	}
	if _, err := MergeCameras(want[:3], want[2:5]); err == nil || !strings.Contains(err.Error(), want[2].ID) {
		t.Errorf("MergeCameras(overlapping) = %v; want an error naming %s", err, want[2].ID)
	}
}

// TestShardedFleetServesItsSlice: two started shards each list and serve
// their slice; a shard with the other as peer lists the whole fleet, and
// FetchFleetCameras merges them to the unsharded inventory.
func TestShardedFleetServesItsSlice(t *testing.T) {
	t.Parallel()
	cfg := testConfig()
	cfg.Cameras, cfg.Hosts = 12, 4
	whole, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ids := func(cs []Camera) []string {
		out := make([]string, len(cs))
		for k, c := range cs {
			out[k] = c.ID
		}
		return out
	}
	s2 := start(t, cfg, WithShard(Shard{2, 2}))
	s1 := start(t, cfg, WithShard(Shard{1, 2}), WithPeers([]string{s2.ControlURL()}))
	c := newClient(5 * time.Second)
	defer c.CloseIdleConnections()
	for k, s := range []*Fleet{s1, s2} {
		if got := len(s.HostURLs()); got != 2 {
			t.Errorf("shard %d: %d hosts; want 2", k+1, got)
		}
		var own []Camera
		getJSON(t, s.ControlURL()+"/cameras?local=1", &own)
		if len(own) != 6 {
			t.Errorf("shard %d lists %d cameras; want 6", k+1, len(own))
		}
		for _, cam := range own {
			resp, err := c.Get(cam.SnapshotURL)
			if err != nil {
				t.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				t.Errorf("shard %d: GET %s: %s", k+1, cam.SnapshotURL, resp.Status)
			}
		}
		if st := s.FetchStats(time.Time{}, time.Time{}, false); st.Cameras != 6 || len(st.Sweeps) != 1 {
			t.Errorf("shard %d FetchStats: %d cameras, %d sweeps; want 6, 1", k+1, st.Cameras, len(st.Sweeps))
		}
	}
	var merged []Camera
	getJSON(t, s1.ControlURL()+"/cameras", &merged)
	if !reflect.DeepEqual(ids(merged), ids(whole.Cameras())) {
		t.Errorf("GET /cameras with a peer = %v; want the whole fleet %v", ids(merged), ids(whole.Cameras()))
	}
	all, err := FetchFleetCameras(context.Background(), c, s1.ControlURL(), s2.ControlURL())
	if err != nil || !reflect.DeepEqual(ids(all), ids(whole.Cameras())) {
		t.Errorf("FetchFleetCameras = %v, %v; want the whole fleet", ids(all), err)
	}
	// A shard's host does not serve another shard's camera.
	other := merged[0]
	for _, cam := range merged {
		if strings.HasPrefix(cam.SnapshotURL, s2.HostURLs()[0]) || strings.HasPrefix(cam.SnapshotURL, s2.HostURLs()[1]) {
			other = cam
			break
		}
	}
	resp, err := c.Get(s1.HostURLs()[0] + "/cameras/" + other.ID + "/snapshot.jpg")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("shard 1 serving shard 2's %s: %s; want 404", other.ID, resp.Status)
	}
}

func TestMergeFaultReports(t *testing.T) {
	t.Parallel()
	a := FaultReport{Requests: 10, Total: 3, ByKind: map[string]int64{FaultHang: 1, FaultReset: 2},
		ByCamera: map[string]map[string]int64{"cam-00001": {FaultHang: 1}, "cam-00003": {FaultReset: 2}}}
	b := FaultReport{Requests: 5, Total: 1, ByKind: map[string]int64{FaultReset: 1},
		ByCamera: map[string]map[string]int64{"cam-00002": {FaultReset: 1}}}
	got := MergeFaultReports(a, b)
	want := FaultReport{Requests: 15, Total: 4, ByKind: map[string]int64{FaultHang: 1, FaultReset: 3},
		ByCamera: map[string]map[string]int64{"cam-00001": {FaultHang: 1}, "cam-00002": {FaultReset: 1}, "cam-00003": {FaultReset: 2}}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("MergeFaultReports = %+v; want %+v", got, want)
	}
}
