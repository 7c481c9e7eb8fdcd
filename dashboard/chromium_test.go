package dashboard

import (
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/camload/camload/internal/chromiumtest"
)

// TestChromium loads the page in headless Chromium while a synthetic run
// is in its last cell, then after the run ends, and checks the DOM the
// page built: no script error, the plan, the charts drawn, the finished
// cells' table with links, and no console message. It runs when
// CAMLOAD_CHROMIUM names the browser (scripts/dashboard-check.sh sets it);
// CAMLOAD_DASHBOARD_PNG saves the running page's screenshot there.
func TestChromium(t *testing.T) {
	page := chromiumtest.Page{Browser: chromiumtest.Browser(t, "scripts/dashboard-check.sh"), ProfileDir: t.TempDir()}
	runDir := t.TempDir()
	for _, f := range []string{"report.html", "results.json", "cells/sync-100-r0/cpu.pb.gz"} {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(runDir, f)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(runDir, f), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	root, err := os.OpenRoot(runDir)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	h := newHub(t, Options{Files: root.FS()})
	srv := httptest.NewServer(h)
	defer srv.Close()

	run := defaultSynth()
	evs := run.events()
	// Stop in the last cell's capacity search, step 3.
	cut := 0
	for i, e := range evs {
		if e.Cell == len(run.cells) && e.CapacityStep != nil && e.CapacityStep.Step == 3 {
			cut = i + 1
		}
	}
	publishAll(t, h, evs[:cut])

	shots := t.TempDir()
	png := os.Getenv("CAMLOAD_DASHBOARD_PNG")
	if png == "" {
		png = filepath.Join(shots, "dashboard.png")
	} else if png, err = filepath.Abs(png); err != nil {
		t.Fatal(err)
	}

	dom, console := page.MustLoad(t, srv.URL+"/?once", "--dump-dom")
	checkDOM(t, "running", dom, console, map[string]int{
		`viewBox="0 0 720 330"`:                    9,
		`<button type="button" id="plan-cell-`:     len(run.cells),
		`class="running`:                           1,
		`<tr id="cell-row-`:                        len(run.cells) - 1,
		`href="files/cells/sync-100-r0/cpu.pb.gz"`: 1,
	})
	for _, want := range []string{`<span id="conn" class="ended">snapshot</span>`, "capacity latest 3/5 at", "2 done"} {
		if !strings.Contains(dom, want) {
			t.Errorf("running page lacks %q", want)
		}
	}
	_, console = page.MustLoad(t, srv.URL+"/?once", "--window-size=1280,2300", "--hide-scrollbars", "--screenshot="+png)
	if console != "" {
		t.Errorf("screenshot: console messages:\n%s", console)
	}
	chromiumtest.CheckPNG(t, png, 10000)

	// The run ends: all cells in the table, the report linked, the stream
	// told to stop.
	publishAll(t, h, evs[cut:])
	_ = h.Close()
	dom, console = page.MustLoad(t, srv.URL+"/?once", "--dump-dom")
	checkDOM(t, "finished", dom, console, map[string]int{
		`<tr id="cell-row-`:        len(run.cells),
		`href="files/report.html"`: 1,
		`class="running`:           0,
	})
	if !strings.Contains(dom, "Run finished in") {
		t.Errorf("finished page lacks the run's end")
	}
}

// checkDOM checks the page (chromiumtest.Check) and that its charts are
// drawn.
func checkDOM(t *testing.T, what, dom, console string, want map[string]int) {
	t.Helper()
	chromiumtest.Check(t, what, dom, console, want)
	if n := strings.Count(dom, "<polyline") + strings.Count(dom, `<rect class="bar"`); n < 8 {
		t.Errorf("%s page: %d lines and bars drawn; want the charts filled", what, n)
	}
}
