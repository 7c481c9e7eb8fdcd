package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the CLI golden files in testdata")

// golden runs the CLI in-process with args and compares its exit code,
// stdout and stderr with testdata/NAME.golden. On a mismatch it writes
// what it got to testdata/NAME.golden.got; -update accepts it.
func golden(t *testing.T, name string, args ...string) {
	t.Helper()
	stdout, stderr, code := camload(t, args...)
	var got bytes.Buffer
	fmt.Fprintf(&got, "$ camload")
	for _, a := range args {
		fmt.Fprintf(&got, " %s", a)
	}
	fmt.Fprintf(&got, "\nexit %d\n--- stdout\n%s--- stderr\n%s", code, stdout, stderr)
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, got.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		os.Remove(path + ".got")
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got.Bytes(), want) {
		if err := os.WriteFile(path+".got", got.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Errorf("camload %v differs from %s; got %s.got (diff them; -update accepts)", args, path, path)
	} else {
		os.Remove(path + ".got")
	}
}

func TestGoldens(t *testing.T) {
	rd := filepath.Join("..", "..", "reports", "testdata")
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"scenario-validate-errors", []string{"scenario", "validate", "testdata/bad.yaml", "testdata/unknown.yaml"}},
		{"scenario-validate-ok", []string{"scenario", "validate", "../../scenarios/smoke.yaml"}},
		{"gate", []string{"gate", filepath.Join(rd, "run.json")}},
		{"gate-baseline", []string{"gate", "--baseline", filepath.Join(rd, "run.json"), filepath.Join(rd, "head.json")}},
		{"gate-usage", []string{"gate", "--alpha", "2", filepath.Join(rd, "run.json")}},
		{"compare-usage", []string{"compare", "--pairs", "0", "--order", "random", "../../scenarios/smoke.yaml"}},
		{"serve-usage", []string{"serve", "--workers", "0", "--client", "pigeon", "--max-body", "12", "--listen", "nowhere"}},
	} {
		t.Run(tc.name, func(t *testing.T) { golden(t, tc.name, tc.args...) })
	}
}
