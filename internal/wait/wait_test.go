package wait

import (
	"context"
	"sync/atomic"
	"testing"
	"time"
)

func TestSleepPasses(t *testing.T) {
	start := time.Now()
	if !Sleep(context.Background(), 20*time.Millisecond) {
		t.Fatal("Sleep(background, 20ms) = false; want true")
	}
	if d := time.Since(start); d < 20*time.Millisecond {
		t.Errorf("Sleep returned after %s; want ≥ 20ms", d)
	}
}

func TestSleepEndsWithContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(20*time.Millisecond, cancel)
	start := time.Now()
	if Sleep(ctx, time.Minute) {
		t.Fatal("Sleep(ctx cancelled after 20ms, 1m) = true; want false")
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("Sleep returned %s after its context was cancelled; want at once", d)
	}
	// A context done before the call: false, without waiting d.
	if Sleep(ctx, time.Minute) {
		t.Error("Sleep(done ctx, 1m) = true; want false")
	}
}

func TestEveryRunsStepsUntilDone(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var n atomic.Int32
	var first, firstTick time.Duration
	start := time.Now()
	returned := make(chan struct{})
	go func() { // owner: this test; ends when ctx is cancelled
		defer close(returned)
		Every(ctx, 10*time.Millisecond, func(now time.Time) {
			if n.Add(1) == 1 {
				first, firstTick = time.Since(start), now.Sub(start)
			}
			if n.Load() == 3 {
				cancel()
			}
		})
	}()
	select {
	case <-returned:
	case <-time.After(10 * time.Second):
		t.Fatal("Every did not return within 10s of its context's cancel")
	}
	if got := n.Load(); got != 3 {
		t.Errorf("steps = %d; want 3 (the last one cancelled the context)", got)
	}
	if first < 10*time.Millisecond {
		t.Errorf("first step after %s; want one period (10ms) after the call", first)
	}
	if firstTick < 10*time.Millisecond || firstTick > first {
		t.Errorf("first step's now = start + %s; want the tick's time, ≥ 10ms and ≤ %s (when the step ran)", firstTick, first)
	}
}

func TestEveryDoneBeforeFirstTick(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	Every(ctx, time.Hour, func(time.Time) { t.Error("step ran with its context done before the first tick") })
}
