package system_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/camload/camload/internal/cfgerr"
	"github.com/camload/camload/system"
	"github.com/camload/camload/system/store"
)

// TestRunInterval: Run runs cycles until stop is closed, finishing the
// running cycle, and cycles started meanwhile take turns.
func TestRunInterval(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{fleet: quietFleet(10, 1), mode: system.ModePooled, interval: 20 * time.Millisecond})
	stop := make(chan struct{})
	done := make(chan error, 1)
	go func() { done <- e.sys.Run(context.Background(), stop) }()
	// Concurrent cycles from the API side take turns with Run's.
	var wg sync.WaitGroup
	sums := make([]system.CycleSummary, 3)
	for i := range sums {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := e.sys.RunCycle(testCtx(t, time.Minute))
			if err != nil {
				t.Errorf("RunCycle: %v", err)
			}
			sums[i] = s
		}()
	}
	wg.Wait()
	seen := map[int64]bool{}
	for _, s := range sums {
		if seen[s.Cycle] || s.Cameras != 10 || len(s.Latencies) != 10 {
			t.Errorf("concurrent cycle %+v: duplicate number or incomplete", s)
		}
		seen[s.Cycle] = true
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		last, ok := e.sys.LastCycle()
		if ok && last.Cycle >= 5 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Run: last cycle %d after 30s; want ≥ 5", last.Cycle)
		}
		time.Sleep(10 * time.Millisecond)
	}
	close(stop)
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run = %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not return within 30s of stop")
	}
}

// TestNotReady: New rejects a missing store and a bad config; before the
// registry is loaded a cycle fails with ErrNotReady and Ready is false.
func TestNotReady(t *testing.T) {
	t.Parallel()
	cfg, _ := system.DefaultConfig(system.ModeSync, "http://127.0.0.1:1")
	if _, err := system.New(cfg); err == nil {
		t.Error("New without a store succeeded")
	}
	bad := cfg
	bad.Knobs.Workers = 0
	if _, err := system.New(bad); !cfgerr.Is(err) {
		t.Errorf("New with workers 0 = %v; want a *cfgerr.Error", err)
	}
	ctx := testCtx(t, 30*time.Second)
	st, err := store.OpenMongo(ctx, mongoURIs[0], dbName(t))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close(context.Background())
	sys, err := system.New(cfg, system.WithStore(st))
	if err != nil {
		t.Fatal(err)
	}
	defer sys.Close()
	if _, err := sys.RunCycle(ctx); !errors.Is(err, system.ErrNotReady) {
		t.Errorf("RunCycle before LoadRegistry = %v; want ErrNotReady", err)
	}
	if sys.Ready(ctx) {
		t.Error("Ready before LoadRegistry")
	}
	if err := sys.LoadRegistry(ctx); err == nil {
		t.Error("LoadRegistry from a dead fleet succeeded")
	}
}
