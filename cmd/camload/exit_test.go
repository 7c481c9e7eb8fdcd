package main

import (
	"bytes"
	"context"
	"fmt"
	"testing"
)

// TestExitCodeSinglePrefix: a failed run's message (errFailed wrapping the
// runner's error, as camload run returns it) is printed with one
// "camload:" prefix; a bare errFailed (its message already written) prints
// nothing.
func TestExitCodeSinglePrefix(t *testing.T) {
	var b bytes.Buffer
	err := fmt.Errorf("%w: %v", errFailed, "bench: cells failed: 1 of 2 (see runs/x/results.json)")
	if code := exitCode(context.Background(), err, &b); code != exitFailed {
		t.Errorf("exit code %d; want %d", code, exitFailed)
	}
	if got, want := b.String(), "camload: failed: bench: cells failed: 1 of 2 (see runs/x/results.json)\n"; got != want {
		t.Errorf("stderr = %q; want %q", got, want)
	}
	b.Reset()
	if code := exitCode(context.Background(), errFailed, &b); code != exitFailed || b.Len() != 0 {
		t.Errorf("bare errFailed: exit %d, stderr %q; want %d and nothing", code, b.String(), exitFailed)
	}
}
