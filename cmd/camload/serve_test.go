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

	"github.com/camload/camload/internal/cli"
	"github.com/camload/camload/simulator"
	"github.com/camload/camload/system"
	"github.com/camload/camload/system/server"
)

func TestServeBadFlags(t *testing.T) {
	for _, tc := range []struct {
		args  []string
		field string // named in the message
	}{
		{[]string{"--mode", "turbo"}, "mode"},
		{[]string{"--workers", "0"}, "workers"},
		{[]string{"--batch-size", "-1"}, "batch-size"},
		{[]string{"--client", "pigeon"}, "client"},
		{[]string{"--fan-out", "sideways"}, "fan-out"},
		{[]string{"--fetch-timeout", "soon"}, "fetch-timeout"}, // flag syntax
		{[]string{"--fetch-timeout", "0s"}, "fetch-timeout"},
		{[]string{"--max-body", "12"}, "max-body"},
		{[]string{"--listen", "nowhere"}, "listen"},
		{[]string{"--fleet", "ftp://x"}, "fleet"},
		{[]string{"--log-level", "loud"}, "log-level"},
		{[]string{"--analyze-workers", "-2"}, "analyze-workers"},
	} {
		args := append([]string{"serve", "--mongo-uri", "mongodb://127.0.0.1:1"}, tc.args...)
		_, stderr, code := camload(t, args...)
		if code != exitUsage || !strings.Contains(stderr, tc.field) {
			t.Errorf("camload %v: exit %d, stderr %q; want exit %d naming %q", args, code, stderr, exitUsage, tc.field)
		}
	}
}

func TestServeEnvOverridesPreset(t *testing.T) {
	t.Setenv("CAMLOAD_SERVE_WORKERS", "7")
	t.Setenv("CAMLOAD_SERVE_DEDUPE", "false")
	t.Setenv("CAMLOAD_SERVE_FETCH_TIMEOUT", "750ms")
	cmd := newServeCmd(&app{ctx: context.Background(), stdout: io.Discard, stderr: io.Discard})
	v := cmd.Flags()
	if err := v.Parse([]string{"--mode", "cached", "--batch-size", "9"}); err != nil {
		t.Fatal(err)
	}
	o, _, err := serveConfig(cli.Env(cmd.Flags(), serveEnv))
	if err != nil {
		t.Fatalf("serveConfig: %v", err)
	}
	want, _ := system.Preset(system.ModeCached)
	want.Workers, want.Dedupe, want.FetchTimeout, want.BatchSize = 7, false, 750*time.Millisecond, 9
	if o.Config.Knobs != want || o.Config.Mode != system.ModeCached {
		t.Errorf("knobs = %+v; want %+v", o.Config.Knobs, want)
	}
	t.Setenv("CAMLOAD_SERVE_WORKERS", "many")
	_, stderr, code := camload(t, "serve", "--mongo-uri", "mongodb://127.0.0.1:1")
	if code != exitUsage || !strings.Contains(stderr, "workers") {
		t.Errorf("CAMLOAD_SERVE_WORKERS=many: exit %d, stderr %q; want %d naming workers", code, stderr, exitUsage)
	}
}

// TestServe runs camload serve against an in-process fleet with embedded
// backends: ready file, a cycle over the API, the admin endpoints, and a
// graceful stop when the context ends.
func TestServe(t *testing.T) {
	if testing.Short() {
		t.Skip("starts embedded FerretDB")
	}
	fc := simulator.DefaultConfig
	fc.Cameras, fc.Hosts, fc.Listen, fc.Frames = 20, 2, "127.0.0.1:0", 8
	fc.Latency = simulator.LatencyConfig{Dist: simulator.DistNone}
	fc.Faults = simulator.FaultConfig{HangFor: time.Second, SlowDripRate: 1024, OversizedBytes: 1 << 20, OfflinePeriod: time.Minute}
	fleet, err := simulator.New(fc)
	if err != nil {
		t.Fatal(err)
	}
	if err := fleet.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer fleet.Close()

	ready := filepath.Join(t.TempDir(), "ready.json")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr bytes.Buffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, &stdout, &stderr, []string{"serve", "--mode", "batched", "--fleet", fleet.ControlURL(),
			"--listen", "127.0.0.1:0", "--admin", "127.0.0.1:0", "--ready-file", ready, "--log-level", "warn"})
	}()
	var info server.ReadyInfo
	deadline := time.Now().Add(90 * time.Second)
	for {
		if b, err := os.ReadFile(ready); err == nil && json.Unmarshal(b, &info) == nil {
			break
		}
		select {
		case err := <-done:
			t.Fatalf("serve ended before ready: %v; stderr %s", err, stderr.String())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("no ready file within 90s; stderr %s", stderr.String())
		}
	}
	if info.PID != os.Getpid() || !strings.HasPrefix(info.API, "http://127.0.0.1:") {
		t.Errorf("ready file = %+v", info)
	}
	resp, err := http.Post(info.API+"/api/v1/cycles", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	var sum system.CycleSummary
	err = json.NewDecoder(resp.Body).Decode(&sum)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 || sum.Processed != 20 || len(sum.Latencies) != 20 {
		t.Fatalf("POST /api/v1/cycles = %d %+v (%v)", resp.StatusCode, sum, err)
	}
	for _, tc := range []struct {
		url, want string
	}{
		{info.Admin + "/healthz", "ok"},
		{info.Admin + "/readyz", "ready"},
		{info.Admin + "/metrics", "camload_cycle_seconds"},
		{info.Admin + "/metrics", "process_resident_memory_bytes"},
		{info.Admin + "/metrics", "go_goroutines"},
		{info.Admin + "/metrics", `camload_cache_requests_total{level="l1",result="hit"}`},
		{info.Admin + "/metrics", `camload_errors_total{kind="timeout"} 0`},
		{info.Admin + "/debug/pprof/", "heap"},
		{info.API + "/api/v1/cameras/cam-00001/latest", `"cameraId":"cam-00001"`},
		{info.API + "/api/v1/stats", `"cameras":20`},
	} {
		resp, err := http.Get(tc.url)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(b), tc.want) {
			t.Errorf("GET %s = %d, body without %q", tc.url, resp.StatusCode, tc.want)
		}
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve after cancel = %v; want nil (graceful)", err)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("serve did not stop within 60s of cancel")
	}
	if _, err := os.Stat(ready); !os.IsNotExist(err) {
		t.Errorf("ready file left behind: %v", err)
	}
}

// TestServeHasEveryKnobFlag: every row of system.KnobTable is a serve flag
// documented with the row's usage, and setting it reaches the knob.
func TestServeHasEveryKnobFlag(t *testing.T) {
	cmd := newServeCmd(&app{ctx: context.Background(), stdout: io.Discard, stderr: io.Discard})
	k, _ := system.Preset(system.ModeSync)
	var args []string
	for _, spec := range system.KnobTable {
		f := cmd.Flags().Lookup(spec.Flag())
		if f == nil {
			t.Errorf("knob %s: no --%s flag", spec.Key, spec.Flag())
			continue
		}
		if f.Usage != "knob: "+spec.Usage {
			t.Errorf("--%s usage = %q; want the table's %q", spec.Flag(), f.Usage, spec.Usage)
		}
		args = append(args, "--"+spec.Flag()+"="+spec.Format(k))
	}
	if err := cmd.Flags().Parse(append(args, "--mode", "batched")); err != nil {
		t.Fatal(err)
	}
	o, _, err := serveConfig(cli.Env(cmd.Flags(), serveEnv))
	if err != nil {
		t.Fatal(err)
	}
	if o.Config.Knobs != k {
		t.Errorf("every knob flag set to the sync preset over --mode batched: knobs = %+v; want %+v", o.Config.Knobs, k)
	}
}

// TestServeExpose: a listen address beyond loopback needs --expose.
func TestServeExpose(t *testing.T) {
	for _, tc := range []struct{ flag, addr string }{
		{"--admin", ":0"}, {"--admin", "0.0.0.0:0"}, {"--listen", ":0"}, {"--listen", "[::]:0"},
	} {
		_, stderr, code := camload(t, "serve", tc.flag, tc.addr)
		if code != exitUsage || !strings.Contains(stderr, tc.flag[2:]) || !strings.Contains(stderr, "--expose") || !strings.Contains(stderr, "every network interface") {
			t.Errorf("camload serve %s %s: exit %d, stderr %q; want exit %d naming %s and --expose", tc.flag, tc.addr, code, stderr, exitUsage, tc.flag)
		}
	}
	cmd := newServeCmd(&app{ctx: context.Background(), stdout: io.Discard, stderr: io.Discard})
	if err := cmd.Flags().Parse([]string{"--admin", ":0", "--expose"}); err != nil {
		t.Fatal(err)
	}
	o, _, err := serveConfig(cli.Env(cmd.Flags(), serveEnv))
	if err != nil || !o.Expose || o.Admin != ":0" {
		t.Errorf("serve --admin :0 --expose: %+v, %v; want Expose and no error", o, err)
	}
}

// TestServeWarnsOfPasswordInArgv: a URI with a password given as a flag
// draws a warning pointing to the environment variable, and the password
// appears nowhere in serve's output (here serve gives up connecting).
func TestServeWarnsOfPasswordInArgv(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for the registry timeout")
	}
	_, stderr, code := camload(t, "serve", "--mongo-uri", "mongodb://app:hunter2@127.0.0.1:1/?serverSelectionTimeoutMS=200",
		"--listen", "127.0.0.1:0", "--admin", "127.0.0.1:0", "--registry-timeout", "500ms", "--log-level", "warn")
	if code == exitOK || !strings.Contains(stderr, "--mongo-uri has a password on the command line") || !strings.Contains(stderr, "CAMLOAD_SERVE_MONGO_URI") {
		t.Errorf("serve with a password in --mongo-uri: exit %d, stderr %q; want a failure and a warning naming CAMLOAD_SERVE_MONGO_URI", code, stderr)
	}
	if strings.Contains(stderr, "hunter2") {
		t.Errorf("the password is in serve's output: %q", stderr)
	}
	t.Setenv("CAMLOAD_SERVE_MONGO_URI", "mongodb://app:hunter2@127.0.0.1:1/?serverSelectionTimeoutMS=200")
	_, stderr, _ = camload(t, "serve", "--listen", "127.0.0.1:0", "--admin", "127.0.0.1:0", "--registry-timeout", "500ms", "--log-level", "warn")
	if strings.Contains(stderr, "command line") || strings.Contains(stderr, "hunter2") {
		t.Errorf("serve with the password in the environment: stderr %q; want no warning and no password", stderr)
	}
}
