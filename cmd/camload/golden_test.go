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

// testdataDir is this package's testdata, absolute so that goldens still
// find it in a test that changed directory (t.Chdir).
var testdataDir = func() string {
	d, err := filepath.Abs("testdata")
	if err != nil {
		panic(err)
	}
	return d
}()

// golden runs the CLI in-process with args and compares its exit code,
// stdout and stderr with testdata/NAME.golden. On a mismatch it writes
// what it got to testdata/NAME.golden.got; -update accepts it.
func golden(t *testing.T, name string, args ...string) {
	t.Helper()
	goldenNorm(t, name, nil, args...)
}

// goldenNorm is golden with stdout and stderr passed through norm (when
// not nil) first: for output with measured values, which norm masks.
func goldenNorm(t *testing.T, name string, norm func(string) string, args ...string) {
	t.Helper()
	stdout, stderr, code := camload(t, args...)
	if norm != nil {
		stdout, stderr = norm(stdout), norm(stderr)
	}
	var got bytes.Buffer
	fmt.Fprintf(&got, "$ camload")
	for _, a := range args {
		fmt.Fprintf(&got, " %s", a)
	}
	fmt.Fprintf(&got, "\nexit %d\n--- stdout\n%s--- stderr\n%s", code, stdout, stderr)
	goldenBytes(t, name, got.Bytes())
}

// goldenBytes compares got with testdata/NAME.golden (.got on a
// mismatch, -update accepts).
func goldenBytes(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join(testdataDir, name+".golden")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		os.Remove(path + ".got")
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		if err := os.WriteFile(path+".got", got, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Errorf("%s differs from %s; got %s.got (diff them; -update accepts)", name, path, path)
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
		{"gate-threshold-fail", []string{"gate", "--threshold", "cycle_p99{mode:batched}: < 1ns", "--threshold", "rss_peak{cameras:1000}: < 1GiB", filepath.Join(rd, "run.json")}},
		{"gate-expect", []string{"gate", "--expect", "rss_peak{mode:batched,cameras:1000} <= 0.2 * rss_peak{mode:sync,cameras:1000}", "--expect", "cycle_p99{cameras:1000} / cycle_p99{cameras:100} >= 5", filepath.Join(rd, "head.json")}},
		{"gate-threshold-nomatch", []string{"gate", "--threshold", "cycle_p99{mode:turbo}: < 1h", "--expect", "rss_peak{camera:100} < 1GiB", filepath.Join(rd, "run.json")}},
		{"compare-usage", []string{"compare", "--pairs", "0", "--order", "random", "../../scenarios/smoke.yaml"}},
		{"serve-usage", []string{"serve", "--workers", "0", "--client", "pigeon", "--max-body", "12", "--listen", "nowhere"}},
	} {
		t.Run(tc.name, func(t *testing.T) { golden(t, tc.name, tc.args...) })
	}
}
