// Package wait holds the context-bound waits that the runner, the
// simulator and the system share: a sleep that ends early when its context
// is done, and a loop that runs a step on every tick until its context is
// done. Neither starts a goroutine.
package wait

import (
	"context"
	"time"
)

// Sleep waits d or until ctx is done; it reports whether d passed (false:
// ctx is done).
func Sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// Every runs step every d, the first time d after the call, until ctx is
// done, and returns then; now is the tick's time. step runs on the
// caller's goroutine; ticks that fall while it runs are dropped
// (time.Ticker), so a slow step delays the next one rather than piling
// them up. A step that cancels ctx is the last. d must be positive.
func Every(ctx context.Context, d time.Duration, step func(now time.Time)) {
	t := time.NewTicker(d)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			step(now)
		}
	}
}
