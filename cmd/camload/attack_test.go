package main

import "testing"

// TestAttackGoldens pins the load-node commands' usage errors (exit 2,
// naming what is missing).
func TestAttackGoldens(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"attack-usage", []string{"attack", "../../scenarios/smoke.yaml"}},
		{"attack-remote", []string{"attack", "--target", "http://192.0.2.1:8080", "--out", "never-written", "../../scenarios/smoke.yaml"}},
		{"report-merge-usage", []string{"report", "--merge", "--out", "merged", "only-one-node"}},
	} {
		t.Run(tc.name, func(t *testing.T) { golden(t, tc.name, tc.args...) })
	}
}
