package goldenfile

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
)

func TestLineDiff(t *testing.T) {
	t.Parallel()
	if got := LineDiff("a\nb\nc", "a\nB\nc\nd"); got != "line 2:\n- b\n+ B\nline 4:\n- \n+ d\n" {
		t.Errorf("LineDiff = %q", got)
	}
	if got := LineDiff("same\n", "same\n"); got != "" {
		t.Errorf("LineDiff of equal texts = %q; want none", got)
	}
	long := strings.Repeat("x\n", 50)
	if got := LineDiff(long, strings.Repeat("y\n", 50)); strings.Count(got, "line ") != maxDiffLines || !strings.HasSuffix(got, "(more lines may differ)\n") {
		t.Errorf("LineDiff of 50 differing lines lists %d and ends %q; want %d and a note", strings.Count(got, "line "), got[len(got)-30:], maxDiffLines)
	}
}

func TestCheck(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "x.golden")
	Check(t, path, []byte("one\n"), true) // writes it
	Check(t, path, []byte("one\n"), false)
	ft := &fakeT{TB: t}
	Check(ft, path, []byte("two\n"), false)
	if !strings.Contains(ft.msg, "line 1:\n- one\n+ two") {
		t.Errorf("Check of a differing output reported %q; want the differing line", ft.msg)
	}
}

// fakeT records Errorf instead of failing the test.
type fakeT struct {
	testing.TB
	msg string
}

func (f *fakeT) Helper()                           {}
func (f *fakeT) Errorf(format string, args ...any) { f.msg = fmt.Sprintf(format, args...) }
