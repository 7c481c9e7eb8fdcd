package main

import (
	"bytes"
	"context"
	"fmt"
	"strings"
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

// TestScenarioValidateEmptyWarns: an empty scenario file validates (it is
// the defaults) but says so on stderr.
func TestScenarioValidateEmptyWarns(t *testing.T) {
	golden(t, "scenario-validate-empty", "scenario", "validate", "testdata/empty.yaml", "testdata/bad-knobs.yaml")
}

// TestKnobErrorsAllStable: every bad knob is reported, with its value, in
// the same order on every run (the knobs are a map in the file).
func TestKnobErrorsAllStable(t *testing.T) {
	_, first, code := camload(t, "scenario", "validate", "testdata/bad-knobs.yaml")
	if code != exitUsage {
		t.Fatalf("exit %d; want %d", code, exitUsage)
	}
	for _, want := range []string{"workers: must be 1 … 100000, got 0", "batch_size: must be 1 … 100000, got -1",
		"fetch_timeout: must be > 0, got 0s", `client: unknown client "pigeon"`, `fan_out: unknown fan-out "sideways"`, "max_body"} {
		if !strings.Contains(first, want) {
			t.Errorf("errors lack %q:\n%s", want, first)
		}
	}
	for i := 0; i < 20; i++ {
		if _, again, _ := camload(t, "scenario", "validate", "testdata/bad-knobs.yaml"); again != first {
			t.Fatalf("run %d reported differently:\n%s\nfirst:\n%s", i, again, first)
		}
	}
}
