package bench

import (
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/camload/camload/scenarios"
	"github.com/camload/camload/simulator"
)

func testCameras(t *testing.T, n int) []simulator.Camera {
	t.Helper()
	cfg := simulator.DefaultConfig
	cfg.Cameras, cfg.Frames = n, 1
	f, err := simulator.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return f.Cameras()
}

func TestTargetURLsCoverTheDataset(t *testing.T) {
	t.Parallel()
	cams := testCameras(t, 1000)
	api := "http://127.0.0.1:1"
	list := scenarios.Target{Path: "/api/v1/cameras?page={{page}}&limit=50"}
	pages := map[string]bool{}
	for _, u := range targetURLs(api, list, cams, 7, 0) {
		pu, err := url.Parse(u)
		if err != nil {
			t.Fatal(err)
		}
		pages[pu.Query().Get("page")] = true
	}
	if len(pages) != 20 {
		t.Errorf("list with pages 0 over 1000 cameras at limit 50 reached %d pages; want every one of 20", len(pages))
	}

	filter := scenarios.Target{Path: "/api/v1/cameras?district={{district}}&status={{status}}"}
	districts, statuses := map[string]bool{}, map[string]bool{}
	for _, u := range targetURLs(api, filter, cams, 7, 1) {
		pu, err := url.Parse(u)
		if err != nil {
			t.Fatal(err)
		}
		districts[pu.Query().Get("district")], statuses[pu.Query().Get("status")] = true, true
	}
	want := map[string]bool{}
	for _, c := range cams {
		want[c.District] = true
	}
	if len(districts) != len(want) || len(statuses) != 2 {
		t.Errorf("filters reached %d of %d districts and %d statuses", len(districts), len(want), len(statuses))
	}
	for d := range districts {
		if !want[d] {
			t.Errorf("district %q is not the fleet's", d)
		}
	}

	// latest: uniform reaches nearly every camera; Zipf concentrates on a
	// few while still reaching a long tail.
	share := func(zipf float64) (distinct int, top float64) {
		lt := scenarios.Target{Path: "/api/v1/cameras/{{id}}/latest", Zipf: zipf}
		n := map[string]int{}
		urls := targetURLs(api, lt, cams, 7, 2)
		for _, u := range urls {
			n[strings.TrimSuffix(strings.TrimPrefix(u, api+"/api/v1/cameras/"), "/latest")]++
		}
		counts := make([]int, 0, len(n))
		for _, c := range n {
			counts = append(counts, c)
		}
		slices.Sort(counts)
		slices.Reverse(counts)
		var top10 int
		for _, c := range counts[:10] {
			top10 += c
		}
		return len(n), float64(top10) / float64(len(urls))
	}
	if d, top := share(0); d < 990 || top > 0.05 {
		t.Errorf("uniform latest: %d distinct cameras, top 10 take %.2f; want nearly all, evenly", d, top)
	}
	if d, top := share(1.2); d < 200 || top < 0.3 {
		t.Errorf("zipf 1.2 latest: %d distinct cameras, top 10 take %.2f; want a hot head and a long tail", d, top)
	}
	if a, b := targetURLs(api, list, cams, 7, 0), targetURLs(api, list, cams, 7, 0); !slices.Equal(a, b) {
		t.Error("targetURLs is not deterministic in its seed")
	}
	if a, b := targetURLs(api, list, cams, 7, 0), targetURLs(api, list, cams, 8, 0); slices.Equal(a, b) {
		t.Error("targetURLs ignores its seed")
	}
}
