package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/camload/camload/simulator"
)

// syncBuffer is a bytes.Buffer safe for a writer and a polling reader.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

func TestSimRunsUntilInterrupted(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errb syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, &out, &errb, []string{"sim", "--cameras", "4", "--hosts", "2", "--frames", "2",
			"--listen", "127.0.0.1:0", "--latency", "0", "--fault-rate", "0", "--shard", "2/2", "--ui"})
	}()
	var ctl string
	for range 1000 {
		for _, line := range strings.Split(out.String(), "\n") {
			if rest, ok := strings.CutPrefix(line, "control "); ok {
				ctl = rest
			}
		}
		if ctl != "" {
			break
		}
		select {
		case err := <-done:
			t.Fatalf("camload sim ended early: %v; stderr %q", err, errb.String())
		case <-time.After(10 * time.Millisecond):
		}
	}
	if ctl == "" {
		t.Fatalf("camload sim printed no control URL: %q", out.String())
	}
	resp, err := http.Get(ctl + "/healthz")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET %s/healthz: %v", ctl, err)
	}
	resp.Body.Close()
	// --shard 2/2 serves host 1 of 2: cameras 2 and 4.
	var cams []simulator.Camera
	resp, err = http.Get(ctl + "/cameras")
	if err != nil {
		t.Fatal(err)
	}
	err = json.NewDecoder(resp.Body).Decode(&cams)
	resp.Body.Close()
	if err != nil || len(cams) != 2 || cams[0].ID != simulator.CameraID(1) || cams[1].ID != simulator.CameraID(3) {
		t.Errorf("GET /cameras of shard 2/2 = %+v, %v; want cam-00002 and cam-00004", cams, err)
	}
	// --ui: the camera wall of the shard's cameras.
	var wall simulator.WallState
	resp, err = http.Get(ctl + "/ui/state.json")
	if err != nil {
		t.Fatal(err)
	}
	err = json.NewDecoder(resp.Body).Decode(&wall)
	resp.Body.Close()
	if err != nil || wall.Cameras != 2 || len(wall.Hosts) != 1 || wall.Hosts[0].Host != 1 || !strings.Contains(out.String(), "camera wall "+ctl+"/ui") {
		t.Errorf("GET /ui/state.json = %+v, %v; output %q", wall, err, out.String())
	}
	if !strings.Contains(out.String(), "shard 2/2: 2 cameras on 1 hosts") {
		t.Errorf("output %q; want the shard line", out.String())
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("camload sim after interrupt: %v; want nil", err)
	}
	if !strings.Contains(out.String(), "stopped") {
		t.Errorf("output %q; want a stop message", out.String())
	}
}

func TestSimConfigErrorsExit2(t *testing.T) {
	dir := t.TempDir()
	badYAML := filepath.Join(dir, "bad.yaml")
	os.WriteFile(badYAML, []byte("name: x\nfleet:\n  cameras: 10\n  camras: 5\n"), 0o644)
	for _, tc := range []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"zero cameras", []string{"--cameras", "0"}, nil, "fleet.cameras: must be 1…20000, got 0"},
		{"bad latency", []string{"--latency", "fast"}, nil, "fleet.latency"},
		{"p99 below median", []string{"--latency", "lognormal:1s,100ms"}, nil, "fleet.latency.p99"},
		{"bad overflow", []string{"--overflow", "drop"}, nil, "fleet.capacity.overflow"},
		{"bad device overflow", []string{"--device-overflow", "drop"}, nil, "fleet.capacity.device.overflow"},
		{"bad shard", []string{"--shard", "3/2"}, nil, "--shard: shard 3/2"},
		{"more shards than hosts", []string{"--shard", "1/3", "--hosts", "2"}, nil, "at most 2 shards"},
		{"negative fetch log", []string{"--fetch-log", "-1"}, nil, "--fetch-log"},
		{"fault rate > 1", []string{"--fault-rate", "2"}, nil, "fleet.faults"},
		{"kind rate > 1", []string{"--fault-slow-drip", "1.5"}, nil, "fleet.faults.slow_drip"},
		{"not a number", []string{"--cameras", "many"}, nil, "invalid argument"},
		{"bad env", nil, map[string]string{"CAMLOAD_SIM_CAMERAS": "lots"}, "fleet.cameras: --cameras / CAMLOAD_SIM_CAMERAS"},
		{"unknown YAML key with file and line", []string{"--config", badYAML}, nil, "bad.yaml:4: fleet.camras: unknown key"},
		{"missing file", []string{"--config", filepath.Join(dir, "nope.yaml")}, nil, "nope.yaml"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			_, stderr, code := camload(t, append([]string{"sim", "--listen", "127.0.0.1:0"}, tc.args...)...)
			if code != exitUsage || !strings.Contains(stderr, tc.want) {
				t.Errorf("camload sim %v: exit %d, stderr %q; want exit 2 and %q", tc.args, code, stderr, tc.want)
			}
		})
	}
}

func TestSimConfigLayers(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "s.yaml")
	os.WriteFile(path, []byte(`
fleet:
  cameras: 700
  hosts: 7
  refresh: 5s
  latency: {dist: uniform, min: 10ms, max: 20ms}
  capacity: {concurrent: 4, queue: 2}
`), 0o644)
	t.Setenv("CAMLOAD_SIM_HOSTS", "5")
	t.Setenv("CAMLOAD_SIM_REFRESH", "9s")
	cmd := newSimCmd(&app{ctx: context.Background()})
	if err := cmd.Flags().Parse([]string{"--config", path, "--refresh", "3s", "--fault-rate", "0", "--handshake", "5ms", "--fault-hang", "0.25", "--device-capacity", "2"}); err != nil {
		t.Fatal(err)
	}
	cfg, err := simConfig(cmd.Flags())
	if err != nil {
		t.Fatalf("simConfig: %v", err)
	}
	want := simulator.DefaultConfig
	want.Cameras = 700             // from the file
	want.Hosts = 5                 // env beats the file
	want.Refresh = 3 * time.Second // flag beats env
	want.Latency.Dist = simulator.DistUniform
	want.Latency.Min, want.Latency.Max = 10*time.Millisecond, 20*time.Millisecond
	want.Latency.Median, want.Latency.P99 = simulator.DefaultConfig.Latency.Median, simulator.DefaultConfig.Latency.P99
	want.Capacity.Concurrent, want.Capacity.Queue, want.Capacity.Handshake = 4, 2, 5*time.Millisecond
	want.Capacity.Device.Concurrent = 2
	want.Faults = want.Faults.WithFaultRate(0)
	want.Faults.Offline = 0 // --fault-rate 0 without --offline: no faults at all
	want.Faults.Hang = 0.25 // but a per-kind flag sets its kind
	if cfg != want {
		t.Errorf("simConfig =\n%+v\nwant\n%+v", cfg, want)
	}
}

// TestSimConfigShippedScenarios: camload sim --config takes every shipped
// scenario (fleet.cameras is a list there: the first size is served, and
// --cameras overrides it).
func TestSimConfigShippedScenarios(t *testing.T) {
	files, err := filepath.Glob("../../scenarios/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no shipped scenarios: %v", err)
	}
	for _, path := range files {
		cmd := newSimCmd(&app{ctx: context.Background()})
		if err := cmd.Flags().Parse([]string{"--config", path, "--listen", "127.0.0.1:0"}); err != nil {
			t.Fatal(err)
		}
		cfg, err := simConfig(cmd.Flags())
		if err != nil {
			t.Errorf("camload sim --config %s: %v", path, err)
			continue
		}
		if cfg.Cameras < 1 {
			t.Errorf("%s: cameras %d", path, cfg.Cameras)
		}
		cmd = newSimCmd(&app{ctx: context.Background()})
		if err := cmd.Flags().Parse([]string{"--config", path, "--cameras", "7", "--hosts", "1"}); err != nil {
			t.Fatal(err)
		}
		if cfg, err := simConfig(cmd.Flags()); err != nil || cfg.Cameras != 7 {
			t.Errorf("camload sim --config %s --cameras 7: cameras %d, %v; want 7", path, cfg.Cameras, err)
		}
	}
}
