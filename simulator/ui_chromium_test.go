package simulator

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/camload/camload/internal/chromiumtest"
	"time"
)

// TestWallChromium loads the camera wall in headless Chromium while a
// client overloads the fleet's first host, and checks the DOM the page
// built: no script error or console message, a tile per camera with its
// thumbnail, a row per host with its sparkline, the overloaded host's
// queue. It runs when CAMLOAD_CHROMIUM names the browser (.ci/run,
// scripts/wall-check.sh); CAMLOAD_WALL_PNG saves a screenshot there.
func TestWallChromium(t *testing.T) {
	page := chromiumtest.Page{Browser: chromiumtest.Browser(t, "scripts/wall-check.sh"), ProfileDir: t.TempDir(), Budget: 4 * time.Second}
	cfg := testConfig()
	cfg.Cameras, cfg.Hosts, cfg.Frames = 48, 4, 6
	cfg.Latency = LatencyConfig{Dist: DistConstant, Median: 150 * time.Millisecond}
	cfg.Capacity.Concurrent, cfg.Capacity.Queue, cfg.Capacity.Overflow = 2, 6, Overflow503
	cfg.Faults.HTTP5xx, cfg.Faults.Hang, cfg.Faults.HangFor = 0.05, 0.03, 3*time.Second
	cfg.Faults.Offline, cfg.Faults.OfflinePeriod = 0.1, time.Hour
	f := start(t, cfg, WithUI())

	// The load: 16 workers on host 0's cameras (beyond its 2 slots and 6
	// queue places), 3 on each other host's. Owned here, stopped at the end.
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer func() { cancel(); wg.Wait() }()
	client := newClient(4 * time.Second)
	defer client.CloseIdleConnections()
	var mine [][]int
	for h := range cfg.Hosts {
		var cams []int
		for i := range f.cams {
			if f.cams[i].host == h {
				cams = append(cams, i)
			}
		}
		mine = append(mine, cams)
	}
	worker := func(cams []int, k int) {
		defer wg.Done()
		for n := k; ctx.Err() == nil; n++ {
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, snapURL(f, cams[n%len(cams)]), nil)
			if resp, err := client.Do(req); err == nil {
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		}
	}
	for k := range 16 {
		wg.Add(1)
		go worker(mine[0], k)
	}
	for h := 1; h < cfg.Hosts; h++ {
		for k := range 3 {
			wg.Add(1)
			go worker(mine[h], 4*k)
		}
	}
	time.Sleep(2500 * time.Millisecond)
	var st WallState
	getJSON(t, f.ControlURL()+"/ui/state.json", &st)
	if st.Hosts[0].Queue == 0 && st.Hosts[0].Rejected == 0 {
		t.Errorf("host 0 = %+v; want its queue filled by the load", st.Hosts[0])
	}

	dom, console := page.MustLoad(t, f.ControlURL()+"/ui", "--dump-dom")
	chromiumtest.Check(t, "wall", dom, console, map[string]int{
		`<div class="cam `:                         cfg.Cameras,
		`<tr id="host-`:                            cfg.Hosts,
		`<svg class="spark"`:                       cfg.Hosts,
		`<span id="conn" class="live">live</span>`: 1,
	})
	// Cameras enter and leave offline periods while the browser loads: the
	// page shows a placeholder for as many as were offline at some moment
	// between the state read before and after it, and a frame for the rest.
	var after WallState
	getJSON(t, f.ControlURL()+"/ui/state.json", &after)
	lo, hi := min(st.Counts[WallOffline], after.Counts[WallOffline]), max(st.Counts[WallOffline], after.Counts[WallOffline])
	frames, placeholders := strings.Count(dom, `src="ui/frame/`), strings.Count(dom, `src="ui/placeholder.jp`)
	if frames+placeholders != cfg.Cameras || placeholders < lo || placeholders > hi {
		t.Errorf("wall: %d frames and %d placeholders; want %d in all, placeholders in [%d, %d] (offline before and after the load)",
			frames, placeholders, cfg.Cameras, lo, hi)
	}
	if !strings.Contains(dom, `class="cam serving"`) || !strings.Contains(dom, `class="cam offline"`) {
		t.Errorf("the wall shows no serving or no offline camera")
	}

	png := os.Getenv("CAMLOAD_WALL_PNG")
	if png == "" {
		png = filepath.Join(t.TempDir(), "camera-wall.png")
	}
	if _, console = page.MustLoad(t, f.ControlURL()+"/ui", "--window-size=1280,1100", "--hide-scrollbars", "--screenshot="+png); console != "" {
		t.Errorf("screenshot: console messages:\n%s", console)
	}
	chromiumtest.CheckPNG(t, png, 10000)
}
