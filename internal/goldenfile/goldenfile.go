// Package goldenfile is the golden-file check of camload's tests that compare
// rendered output (reports, gate verdicts) with a file under testdata.
package goldenfile

import (
	"bytes"
	"fmt"
	"os"
	"strings"
	"testing"
)

// Check compares got with the file at path; with update (the test
// package's -update flag) it rewrites the file with got instead. A
// mismatch fails the test with the lines that differ.
func Check(t testing.TB, path string, got []byte, update bool) {
	t.Helper()
	if update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test -update creates it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (go test -update rewrites it):\n%s", path, LineDiff(string(want), string(got)))
	}
}

// maxDiffLines is how many differing lines LineDiff lists.
const maxDiffLines = 40

// LineDiff lists the lines that differ between want and got, line by
// line, at most 40 of them.
func LineDiff(want, got string) string {
	wl, gl := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	n := 0
	for i := 0; (i < len(wl) || i < len(gl)) && n < maxDiffLines; i++ {
		var w, g string
		if i < len(wl) {
			w = wl[i]
		}
		if i < len(gl) {
			g = gl[i]
		}
		if w != g {
			fmt.Fprintf(&b, "line %d:\n- %s\n+ %s\n", i+1, w, g)
			n++
		}
	}
	if n == maxDiffLines {
		b.WriteString("… (more lines may differ)\n")
	}
	return b.String()
}
