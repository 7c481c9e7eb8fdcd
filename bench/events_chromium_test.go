package bench

import (
	"bytes"
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/camload/camload/internal/chromiumtest"
	"time"

	"github.com/camload/camload/dashboard"
	"github.com/camload/camload/results"
)

// TestDashboardChromium loads the dashboard in headless Chromium during a
// run of the fake system (two cells) — while the second cell runs and
// after the run ends — and checks the DOM the page built from the
// runner's events: no script error or console message, a plan button per
// cell with one running, the charts drawn from real cycles, then both
// cells' rows with their files and report.html linked. It runs when
// CAMLOAD_CHROMIUM names the browser (.ci/run); scripts/dashboard-check.sh
// does the same on a real `camload run scenarios/smoke.yaml --dashboard`.
func TestDashboardChromium(t *testing.T) {
	page := chromiumtest.Page{Browser: chromiumtest.Browser(t, ".ci/run"), ProfileDir: t.TempDir()}
	if testing.Short() {
		t.Skip("starts embedded backends and child processes")
	}
	if raceEnabled {
		t.Skip("browser timing under -race; the plain build runs this test")
	}
	sc := fakeScenario(t)
	sc.Fleet.Cameras = []int{6}
	// Cycles of 2 s (the fake system sleeps that long): the second cell
	// outlasts Chromium's start on a loaded machine.
	sc.System.AnalyzeCost, sc.System.Cycles = 2*time.Second, 3
	dir := t.TempDir()
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	hub, err := dashboard.New(dashboard.Options{Files: root.FS()})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(hub)
	defer srv.Close()

	// The browser looks once cell 2 has started.
	running := make(chan string, 1)
	go func() {
		deadline := time.Now().Add(2 * time.Minute)
		for time.Now().Before(deadline) {
			for _, e := range hub.History() {
				if bytes.Contains(e, []byte(`"cell":2,"cell_started"`)) {
					dom, console, err := page.Load(srv.URL+"/?once", "--dump-dom")
					if err != nil {
						console = err.Error()
					}
					running <- dom + "\x00" + console
					return
				}
			}
			time.Sleep(50 * time.Millisecond)
		}
		running <- "\x00cell 2 never started"
	}()
	run, err := Run(context.Background(), sc, Options{OutDir: dir, SystemBinary: selfBinary(t), Version: "test", Events: hub})
	if err != nil {
		logCells(t, run)
		t.Fatalf("Run = %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "report.html"), []byte("<html></html>"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := hub.Publish(RunFinishedEvent(run, "report.html")); err != nil {
		t.Fatal(err)
	}
	_ = hub.Close()
	dom, console, _ := strings.Cut(<-running, "\x00")
	checkDash(t, "running", dom, console, map[string]int{
		`<button type="button" id="plan-cell-`: 2,
		`class="running`:                       1,
		`<tr id="cell-row-`:                    1,
	})
	dom, console = page.MustLoad(t, srv.URL+"/?once", "--dump-dom")
	want := map[string]int{
		`<tr id="cell-row-`:        2,
		`href="files/report.html"`: 1,
		`class="running`:           0,
	}
	// Every .bin file the results name is linked from the finished page.
	for _, c := range run.Cells {
		t.Logf("cell %s/%d r%d: %s, %d endpoints", c.Mode, c.Cameras, c.Repeat, c.Status, len(c.API))
		if c.Status != results.StatusOK {
			t.Logf("cell %s/%d: %s: %s", c.Mode, c.Cameras, c.Status, c.Error)
		}
		for _, e := range c.API {
			if e.BinFile != "" {
				want[`href="files/`+e.BinFile+`"`] = 1
			}
		}
	}
	if len(want) == 3 {
		t.Errorf("no cell wrote a .bin file; want the load's results linked")
	}
	checkDash(t, "finished", dom, console, want)
}

// checkDash checks the page (chromiumtest.Check), lists its links when a
// count is off, and checks that its charts are drawn.
func checkDash(t *testing.T, what, dom, console string, want map[string]int) {
	t.Helper()
	chromiumtest.Check(t, what, dom, console, want)
	if t.Failed() {
		t.Logf("%s page: links: %v", what, regexp.MustCompile(`href="[^"]*"`).FindAllString(dom, -1))
	}
	if n := strings.Count(dom, "<polyline"); n < 3 {
		t.Errorf("%s page: %d lines drawn; want the cycle, latency and resource charts", what, n)
	}
}

// logCells logs each cell's status and error, so that a failed run says
// why in the test log (its results.json is in a removed temp dir).
func logCells(t *testing.T, run *results.Run) {
	t.Helper()
	if run == nil {
		return
	}
	for _, c := range run.Cells {
		t.Logf("cell %s/%d r%d: %s: %s", c.Mode, c.Cameras, c.Repeat, c.Status, c.Error)
	}
}
