package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/camload/camload/bench"
	"github.com/camload/camload/dashboard"
	"github.com/camload/camload/reports"
	"github.com/camload/camload/results"
)

func TestRunDashboardNotLoopbackIsUsageError(t *testing.T) {
	_, errOut, code := camload(t, "run", "--out", t.TempDir(), "--dashboard", "0.0.0.0:0", "../../scenarios/smoke.yaml")
	if code != exitUsage || !strings.Contains(errOut, "--expose") {
		t.Errorf("exit %d, stderr %q; want %d naming --expose", code, errOut, exitUsage)
	}
	t.Setenv(dashboard.EnvAddr, "192.0.2.1:5665")
	_, errOut, code = camload(t, "run", "--out", t.TempDir(), "../../scenarios/smoke.yaml")
	if code != exitUsage || !strings.Contains(errOut, "192.0.2.1") {
		t.Errorf("%s: exit %d, stderr %q; want %d", dashboard.EnvAddr, code, errOut, exitUsage)
	}
}

// TestDashboardServesRunFolder starts the run's dashboard, reads the page,
// a file of the run folder (and not one outside it), finishes it with a
// run and checks report.html and the final event, and that the server
// and its goroutine are gone.
func TestDashboardServesRunFolder(t *testing.T) {
	out := t.TempDir()
	if err := os.WriteFile(filepath.Join(out, "results.json"), []byte(`{"schema":2}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/etc/passwd", filepath.Join(out, "leak")); err != nil {
		t.Fatal(err)
	}
	d, err := dashboard.Serve(dashboard.LiveOptions{Addr: "127.0.0.1:0", Dir: out})
	if err != nil {
		t.Fatal(err)
	}
	get := func(path string) (int, string) {
		resp, err := http.Get(strings.TrimSuffix(d.URL, "/") + path)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get("/"); code != 200 || !strings.Contains(body, "<html") {
		t.Errorf("GET / = %d %.80q", code, body)
	}
	if code, body := get("/files/results.json"); code != 200 || body != `{"schema":2}` {
		t.Errorf("GET /files/results.json = %d %q", code, body)
	}
	if code, _ := get("/files/leak"); code == 200 {
		t.Errorf("GET /files/leak (a symlink out of the run folder) = 200")
	}
	run := &results.Run{Schema: results.SchemaVersion, Scenario: "x", Started: time.Now().Add(-time.Second), Finished: time.Now()}
	// What camload run does at the end of a run with --dashboard.
	report, err := reports.WriteFinalHTML(out, run)
	if err != nil || report != "report.html" {
		t.Fatalf("WriteFinalHTML = %q, %v", report, err)
	}
	if err := d.Finish(context.Background(), bench.RunFinishedEvent(run, report), 0, t.Logf); err != nil {
		t.Fatalf("Finish = %v", err)
	}
	if b, err := os.ReadFile(filepath.Join(out, "report.html")); err != nil || !bytes.Contains(b, []byte("<html")) {
		t.Errorf("report.html: %v", err)
	}
	hist := d.Hub.History()
	var last struct {
		Kind        string `json:"kind"`
		RunFinished struct {
			Report  string `json:"report"`
			Results string `json:"results"`
		} `json:"run_finished"`
	}
	if len(hist) == 0 || json.Unmarshal(hist[len(hist)-1], &last) != nil || last.Kind != "run_finished" || last.RunFinished.Report != "report.html" {
		t.Errorf("last event %s; want run_finished with report.html", hist[len(hist)-1])
	}
	if _, err := http.Get(d.URL); err == nil {
		t.Errorf("the dashboard still answers after finish")
	}
}
