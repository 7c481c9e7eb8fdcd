package simulator_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/camload/camload/simulator"
)

// A fleet in-process: start it on free loopback ports, fetch a snapshot the
// way a camera client would, and check it against the ground truth and the
// fault report.
func Example() {
	cfg := simulator.DefaultConfig
	cfg.Cameras, cfg.Hosts, cfg.Listen = 10, 2, "127.0.0.1:0"
	cfg.Frames, cfg.Width, cfg.Height = 2, 480, 270
	cfg.Latency = simulator.LatencyConfig{Dist: simulator.DistNone}
	cfg.Faults = cfg.Faults.WithFaultRate(0)
	cfg.Faults.Offline = 0
	f, err := simulator.New(cfg)
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := f.Start(context.Background()); err != nil {
		fmt.Println(err)
		return
	}
	defer f.Close()

	cam := f.Cameras()[0]
	resp, err := http.Get(cam.SnapshotURL + "?t=1700000000000")
	if err != nil {
		fmt.Println(err)
		return
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	captured, _ := time.Parse(time.RFC3339Nano, resp.Header.Get("X-Camload-Captured-At"))
	truth, _ := f.Truth(cam.ID, captured)
	fmt.Println(cam.ID, resp.StatusCode, resp.Header.Get("Content-Type"), len(body) > 0)
	fmt.Println("same frame as the truth:", resp.Header.Get("ETag") == truth.ETag)
	fmt.Println("faults injected:", f.Faults().Total)
	// Output:
	// cam-00001 200 image/jpeg true
	// same frame as the truth: true
	// faults injected: 0
}

// A bad configuration names the field.
func ExampleConfig_Validate() {
	cfg := simulator.DefaultConfig
	cfg.Cameras = 0
	cfg.Latency.P99 = time.Millisecond
	fmt.Println(cfg.Validate())
	// Output:
	// fleet.cameras: must be 1…20000, got 0
	// fleet.latency.p99: must be ≥ median (200ms), got 1ms
}

func ExampleParseLatency() {
	for _, spec := range []string{"0", "250ms", "uniform:100ms,2s", "lognormal:200ms,600ms"} {
		l, err := simulator.ParseLatency(spec, simulator.LatencyConfig{})
		fmt.Println(l, err)
	}
	// Output:
	// none <nil>
	// constant:250ms <nil>
	// uniform:100ms,2s <nil>
	// lognormal:200ms,600ms <nil>
}
