package dashboard

import (
	"bytes"
	"context"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestChromium loads the page in headless Chromium while a synthetic run
// is in its last cell, then after the run ends, and checks the DOM the
// page built: no script error, the plan, the charts drawn, the finished
// cells' table with links, and no console message. It runs when
// CAMLOAD_CHROMIUM names the browser (scripts/dashboard-check.sh sets it);
// CAMLOAD_DASHBOARD_PNG saves the running page's screenshot there.
func TestChromium(t *testing.T) {
	chromium := os.Getenv("CAMLOAD_CHROMIUM")
	if chromium == "" {
		t.Skip("CAMLOAD_CHROMIUM not set (scripts/dashboard-check.sh runs this)")
	}
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

	dom, console := chrome(t, chromium, srv.URL+"/?once", "--dump-dom")
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
	_, console = chrome(t, chromium, srv.URL+"/?once", "--window-size=1280,2300", "--hide-scrollbars", "--screenshot="+png)
	if console != "" {
		t.Errorf("screenshot: console messages:\n%s", console)
	}
	if b, err := os.ReadFile(png); err != nil || len(b) < 10000 || !bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")) {
		t.Errorf("screenshot %s: %d bytes, %v; want a PNG of at least 10000 bytes", png, len(b), err)
	}

	// The run ends: all cells in the table, the report linked, the stream
	// told to stop.
	publishAll(t, h, evs[cut:])
	_ = h.Close()
	dom, console = chrome(t, chromium, srv.URL+"/?once", "--dump-dom")
	checkDOM(t, "finished", dom, console, map[string]int{
		`<tr id="cell-row-`:        len(run.cells),
		`href="files/report.html"`: 1,
		`class="running`:           0,
	})
	if !strings.Contains(dom, "Run finished in") {
		t.Errorf("finished page lacks the run's end")
	}
}

// chrome runs headless Chromium on url with extra flags and returns its
// stdout and the console lines of its log.
func chrome(t *testing.T, chromium, url string, extra ...string) (string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	args := append([]string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--enable-logging=stderr", "--v=0", "--user-data-dir=" + t.TempDir(),
		// Let the page read its stream and render before the dump.
		"--virtual-time-budget=10000"}, extra...)
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

// checkDOM asserts no script error and the counts of want's substrings.
func checkDOM(t *testing.T, what, dom, console string, want map[string]int) {
	t.Helper()
	if !strings.Contains(dom, `<body data-errors="0">`) || !strings.Contains(dom, `<pre id="js-errors"></pre>`) {
		m := regexp.MustCompile(`(?s)<pre id="js-errors">(.*?)</pre>`).FindStringSubmatch(dom)
		t.Errorf("%s page: script errors: %v", what, m)
	}
	if console != "" {
		t.Errorf("%s page: console messages:\n%s", what, console)
	}
	for s, n := range want {
		if got := strings.Count(dom, s); got != n {
			t.Errorf("%s page: %d × %q; want %d", what, got, s, n)
		}
	}
	if n := strings.Count(dom, "<polyline") + strings.Count(dom, `<rect class="bar"`); n < 8 {
		t.Errorf("%s page: %d lines and bars drawn; want the charts filled", what, n)
	}
}
