package simulator

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestWallChromium loads the camera wall in headless Chromium while a
// client overloads the fleet's first host, and checks the DOM the page
// built: no script error or console message, a tile per camera with its
// thumbnail, a row per host with its sparkline, the overloaded host's
// queue. It runs when CAMLOAD_CHROMIUM names the browser (.ci/run,
// scripts/wall-check.sh); CAMLOAD_WALL_PNG saves a screenshot there.
func TestWallChromium(t *testing.T) {
	chromium := os.Getenv("CAMLOAD_CHROMIUM")
	if chromium == "" {
		t.Skip("CAMLOAD_CHROMIUM not set (scripts/wall-check.sh runs this)")
	}
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

	dom, console := wallChrome(t, chromium, f.ControlURL()+"/ui", "--dump-dom")
	if !strings.Contains(dom, `<body data-errors="0">`) || !strings.Contains(dom, `<pre id="js-errors"></pre>`) {
		m := regexp.MustCompile(`(?s)<pre id="js-errors">(.*?)</pre>`).FindStringSubmatch(dom)
		t.Errorf("script errors: %v", m)
	}
	if console != "" {
		t.Errorf("console messages:\n%s", console)
	}
	for s, n := range map[string]int{
		`<div class="cam `:                         cfg.Cameras,
		`<tr id="host-`:                            cfg.Hosts,
		`<svg class="spark"`:                       cfg.Hosts,
		`src="ui/frame/`:                           cfg.Cameras - st.Counts[WallOffline],
		`src="ui/placeholder.jp`:                   st.Counts[WallOffline],
		`<span id="conn" class="live">live</span>`: 1,
	} {
		if got := strings.Count(dom, s); got != n {
			t.Errorf("%d × %q; want %d", got, s, n)
		}
	}
	if !strings.Contains(dom, `class="cam serving"`) || !strings.Contains(dom, `class="cam offline"`) {
		t.Errorf("the wall shows no serving or no offline camera")
	}

	png := os.Getenv("CAMLOAD_WALL_PNG")
	if png == "" {
		png = filepath.Join(t.TempDir(), "camera-wall.png")
	}
	if _, console = wallChrome(t, chromium, f.ControlURL()+"/ui", "--window-size=1280,1100", "--hide-scrollbars", "--screenshot="+png); console != "" {
		t.Errorf("screenshot: console messages:\n%s", console)
	}
	if b, err := os.ReadFile(png); err != nil || len(b) < 10000 || !bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")) {
		t.Errorf("screenshot %s: %d bytes, %v; want a PNG of at least 10000 bytes", png, len(b), err)
	}
}

// wallChrome runs headless Chromium on url and returns its stdout and the
// console lines of its log.
func wallChrome(t *testing.T, chromium, url string, extra ...string) (string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	args := append([]string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--enable-logging=stderr", "--v=0", "--user-data-dir=" + t.TempDir(),
		"--virtual-time-budget=4000"}, extra...)
	cmd := exec.CommandContext(ctx, chromium, append(args, url)...)
	var out, log bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &log
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\n%s", chromium, strings.Join(extra, " "), err, log.String())
	}
	var console []string
	for _, l := range strings.Split(log.String(), "\n") {
		if regexp.MustCompile(`CONSOLE|Uncaught|net::ERR_`).MatchString(l) {
			console = append(console, l)
		}
	}
	return out.String(), strings.Join(console, "\n")
}
