package server

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"

	"github.com/camload/camload/internal/cfgerr"
	"github.com/camload/camload/simulator"
	"github.com/camload/camload/system"
	"github.com/camload/camload/system/backends"
)

func TestValidateGroupFields(t *testing.T) {
	o := Options{Config: validConfig(t), Group: "{bad}", GroupClaimIdle: time.Microsecond, GroupLeaseTTL: -time.Second}
	var fields []string
	for _, e := range flatten(o.Validate()) {
		var ce *cfgerr.Error
		if errors.As(e, &ce) {
			fields = append(fields, ce.Field)
		}
	}
	if got, want := strings.Join(fields, ","), "group,group-claim-idle,group-lease-ttl"; got != want {
		t.Errorf("Validate() fields = %s; want %s", got, want)
	}
	o = Options{Config: validConfig(t), Group: "fleet"}
	if err := o.Validate(); err != nil {
		t.Errorf("Validate() with only a group name = %v; want nil", err)
	}
}

// Two camload serve --group processes (here: two Runs) on one Redis and
// one MongoDB: the coordinator's POST /api/v1/cycles runs a cycle over
// both, the other replica's answers 409 naming it.
func TestRunGroupOfTwo(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	mr := miniredis.RunT(t)
	be, err := backends.Start(ctx, backends.Options{Mongo: backends.Embedded})
	if err != nil {
		t.Fatal(err)
	}
	defer be.Close()
	fc := simulator.DefaultConfig
	fc.Cameras, fc.Hosts, fc.Listen = 16, 2, "127.0.0.1:0"
	fc.Width, fc.Height, fc.Frames = 480, 270, 4
	fc.Latency = simulator.LatencyConfig{Dist: simulator.DistNone}
	fc.Capacity = simulator.CapacityConfig{}
	fc.Faults = simulator.FaultConfig{HangFor: time.Second, SlowDripRate: 1 << 10, OversizedBytes: 1 << 20, OfflinePeriod: time.Minute}
	fleet, err := simulator.New(fc)
	if err != nil {
		t.Fatal(err)
	}
	if err := fleet.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer fleet.Close()
	cfg, _ := system.DefaultConfig(system.ModeBatched, fleet.ControlURL())
	cfg.Knobs.Dedupe = false

	rctx, stop := context.WithCancel(ctx)
	dir := t.TempDir()
	done := make(chan error, 2)
	var ready [2]string
	for i := range 2 {
		ready[i] = filepath.Join(dir, "ready"+string(rune('0'+i)))
		o := Options{Config: cfg, Listen: "127.0.0.1:0", Admin: "127.0.0.1:0",
			MongoURI: be.MongoURI(), RedisURL: "redis://" + mr.Addr(), DB: "group_of_two",
			ReadyFile: ready[i], Group: "fleet", ShutdownTimeout: 20 * time.Second}
		go func() { done <- Run(rctx, o) }()
	}
	defer func() {
		stop()
		for range 2 {
			if err := <-done; err != nil {
				t.Errorf("Run: %v", err)
			}
		}
	}()
	var api [2]string
	for i := range 2 {
		for api[i] == "" {
			var info ReadyInfo
			if b, err := os.ReadFile(ready[i]); err == nil && json.Unmarshal(b, &info) == nil {
				api[i] = info.API
				break
			}
			select {
			case <-ctx.Done():
				t.Fatal("replicas not ready")
			case err := <-done:
				t.Fatalf("Run returned early: %v", err)
			case <-time.After(50 * time.Millisecond):
			}
		}
	}
	post := func(i int) (int, map[string]any) {
		resp, err := http.Post(api[i]+"/api/v1/cycles", "application/json", nil)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&m)
		return resp.StatusCode, m
	}
	// Until a replica holds the lease both answer 409.
	for {
		c0, m0 := post(0)
		c1, m1 := post(1)
		if c0 == http.StatusOK || c1 == http.StatusOK {
			if c0 == c1 {
				t.Fatalf("both replicas ran a cycle: %v / %v", m0, m1)
			}
			other, sum := m1, m0
			if c1 == http.StatusOK {
				other, sum = m0, m1
			}
			if !strings.Contains(other["error"].(string), "POST /api/v1/cycles to the coordinator") {
				t.Errorf("the other replica answered %v; want 409 naming the coordinator", other)
			}
			if sum["processed"] != float64(16) || sum["complete"] != true {
				t.Errorf("group cycle: %v; want 16 cameras processed", sum)
			}
			return
		}
		if c0 != http.StatusConflict || c1 != http.StatusConflict {
			t.Fatalf("POST /api/v1/cycles: %d %v / %d %v; want 409 until a coordinator is chosen", c0, m0, c1, m1)
		}
		select {
		case <-ctx.Done():
			t.Fatal("no coordinator chosen")
		case <-time.After(50 * time.Millisecond):
		}
	}
}
