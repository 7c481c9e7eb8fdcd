package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/camload/camload/bench"
	"github.com/camload/camload/dashboard"
	"github.com/camload/camload/internal/cfgerr"
	"github.com/camload/camload/reports"
	"github.com/camload/camload/results"
)

// dashboardEnv names the variable that sets --dashboard when the flag is
// not given.
const dashboardEnv = "CAMLOAD_DASHBOARD"

// defaultLinger is how long the dashboard stays up after a run outside
// CI (the CI variable set): time to look at the final state and open
// report.html. In CI it is 0.
const defaultLinger = 30 * time.Second

// checkDashboardAddr refuses an address that is not host:port, and one
// not on loopback unless expose (like the system's admin port: the page
// serves the run folder).
func checkDashboardAddr(addr string, expose bool) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return cfgerr.Field("--dashboard", "%q: not host:port: %v", addr, err)
	}
	if expose {
		return nil
	}
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return cfgerr.Field("--dashboard", "%q is not a loopback address (127.0.0.1:PORT, [::1]:PORT or localhost:PORT); pass --expose to serve it on another interface", addr)
}

// liveDashboard is a dashboard served during a run.
type liveDashboard struct {
	Hub  *dashboard.Hub
	URL  string
	root *os.Root
	srv  *http.Server
	done chan error
}

// startDashboard serves a hub on addr with outDir (created) served
// read-only under /files/. The server has no WriteTimeout (the event
// stream is long-lived; the hub bounds each write itself).
func startDashboard(addr, outDir string) (*liveDashboard, error) {
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return nil, err
	}
	root, err := os.OpenRoot(outDir)
	if err != nil {
		return nil, err
	}
	hub, err := dashboard.New(dashboard.Options{Files: root.FS()})
	if err != nil {
		root.Close()
		return nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		root.Close()
		return nil, cfgerr.Field("--dashboard", "%v", err)
	}
	d := &liveDashboard{Hub: hub, URL: "http://" + ln.Addr().String() + "/", root: root, done: make(chan error, 1),
		srv: &http.Server{Handler: hub, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: time.Minute}}
	go func() { // owner: liveDashboard; ends at finish (Shutdown)
		err := d.srv.Serve(ln)
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		d.done <- err
	}()
	return d, nil
}

// finish writes report.html into outDir (when run is not nil), publishes
// the final event, keeps serving for linger (or until ctx ends), then
// ends every stream and stops the server.
func (d *liveDashboard) finish(ctx context.Context, run *results.Run, outDir string, linger time.Duration, stderr io.Writer) error {
	report := ""
	if run != nil {
		if err := writeReportHTML(filepath.Join(outDir, "report.html"), run); err != nil {
			fmt.Fprintf(stderr, "dashboard: report.html: %v\n", err)
		} else {
			report = "report.html"
		}
	}
	_ = d.Hub.Publish(bench.RunFinishedEvent(run, report))
	if linger > 0 && ctx.Err() == nil {
		fmt.Fprintf(stderr, "dashboard: %s stays up for %s (Ctrl-C to stop)\n", d.URL, linger)
		t := time.NewTimer(linger)
		select {
		case <-t.C:
		case <-ctx.Done():
		}
		t.Stop()
	}
	return d.close()
}

// close ends the streams, stops the server (waiting up to 5 s for the
// streams to send what they were sent) and closes the run folder.
func (d *liveDashboard) close() error {
	_ = d.Hub.Close()
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := d.srv.Shutdown(sctx)
	if err != nil {
		_ = d.srv.Close()
	}
	if serr := <-d.done; serr != nil && err == nil {
		err = serr
	}
	if cerr := d.root.Close(); cerr != nil && err == nil {
		err = cerr
	}
	return err
}

func writeReportHTML(path string, run *results.Run) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := reports.WriteHTML(f, run); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
