package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestScenarioValidate(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("name: bad\nfleet:\n  cameras: [10, 0]\nsystem:\n  modes: [sync, turbo]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	unknown := filepath.Join(dir, "unknown.yaml")
	if err := os.WriteFile(unknown, []byte("name: u\nfleeet:\n  cameras: [1]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		args   []string
		code   int
		stdout []string
		stderr []string
	}{
		// The shipped scenarios are valid.
		{[]string{"scenario", "validate", "../../scenarios/smoke.yaml", "../../scenarios/modes.yaml"}, exitOK,
			[]string{"smoke.yaml: OK (smoke: 4 cells", "modes.yaml: OK"}, nil},
		// Every bad field is reported with file and line; exit 2.
		{[]string{"scenario", "validate", bad}, exitUsage, nil,
			[]string{bad + ":3: fleet.cameras[1]: must be 1…20000, got 0", bad + ":5: system.modes[1]: must be one of"}},
		// An unknown key is an error.
		{[]string{"scenario", "validate", unknown}, exitUsage, nil, []string{unknown + ":2: fleeet: unknown key"}},
		// A missing file.
		{[]string{"scenario", "validate", filepath.Join(dir, "none.yaml")}, exitUsage, nil, []string{"none.yaml"}},
		// No file at all.
		{[]string{"scenario", "validate"}, exitUsage, nil, nil},
	}
	for _, tc := range tests {
		out, errOut, code := camload(t, tc.args...)
		if code != tc.code {
			t.Errorf("camload %v: exit %d; want %d (stdout %q, stderr %q)", tc.args, code, tc.code, out, errOut)
		}
		for _, w := range tc.stdout {
			if !strings.Contains(out, w) {
				t.Errorf("camload %v: stdout %q; want %q", tc.args, out, w)
			}
		}
		for _, w := range tc.stderr {
			if !strings.Contains(errOut, w) {
				t.Errorf("camload %v: stderr %q; want %q", tc.args, errOut, w)
			}
		}
	}
}

func TestRunUsageErrors(t *testing.T) {
	tests := [][]string{
		{"run"}, // no scenario
		{"run", "--modes", "turbo", "../../scenarios/smoke.yaml"},                    // bad override
		{"run", "--cameras", "0", "../../scenarios/smoke.yaml"},                      // bad override
		{"run", "--system-binary", "/no/such/camload", "../../scenarios/smoke.yaml"}, // missing binary
	}
	for _, args := range tests {
		_, errOut, code := camload(t, args...)
		if code != exitUsage {
			t.Errorf("camload %v: exit %d (stderr %q); want %d", args, code, errOut, exitUsage)
		}
	}
}

func TestRunRefusesRemoteBackend(t *testing.T) {
	t.Setenv("CAMLOAD_BACKENDS_MONGO", "mongodb://db.example.com:27017")
	_, errOut, code := camload(t, "run", "--out", t.TempDir(), "../../scenarios/smoke.yaml")
	if code != exitUsage || !strings.Contains(errOut, "--allow-remote") {
		t.Errorf("camload run with a remote mongo: exit %d, stderr %q; want %d naming --allow-remote", code, errOut, exitUsage)
	}
}
