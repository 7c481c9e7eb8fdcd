package system

import (
	"testing"
	"time"
)

// TestTailReserve: the reserve is the largest of the last tailWindow
// tails, at most a quarter of the budget, and forgets a tail tailWindow cycles
// later.
func TestTailReserve(t *testing.T) {
	var r tailReserve
	if got := r.reserve(time.Second); got != 0 {
		t.Fatalf("reserve before any cycle = %s; want 0", got)
	}
	r.observe(300 * time.Millisecond)
	r.observe(100 * time.Millisecond)
	if got := r.reserve(2 * time.Second); got != 300*time.Millisecond {
		t.Errorf("reserve = %s; want the largest tail, 300ms", got)
	}
	if got := r.reserve(800 * time.Millisecond); got != 200*time.Millisecond {
		t.Errorf("reserve of an 800ms budget = %s; want a quarter of it, 200ms", got)
	}
	for range tailWindow - 1 {
		r.observe(50 * time.Millisecond)
	}
	if got := r.reserve(time.Second); got != 100*time.Millisecond {
		t.Errorf("reserve after %d short tails = %s; want 100ms (the 300ms tail forgotten)", tailWindow-1, got)
	}
	r.observe(50 * time.Millisecond)
	if got := r.reserve(time.Second); got != 50*time.Millisecond {
		t.Errorf("reserve after %d short tails = %s; want 50ms", tailWindow, got)
	}
}
