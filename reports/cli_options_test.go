package reports

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/camload/camload/internal/cfgerr"
	"github.com/camload/camload/reports/gate"
	"github.com/camload/camload/results"
)

func TestCommandOptionsValidate(t *testing.T) {
	for _, tc := range []struct {
		o    CommandOptions
		want string
	}{
		{CommandOptions{Args: []string{"run"}}, ""},
		{CommandOptions{}, "report takes one run folder, got 0 arguments"},
		{CommandOptions{Args: []string{"a", "b"}}, "report takes one run folder, got 2 arguments"},
		{CommandOptions{DiffProfile: true, Args: []string{"a.pb.gz"}}, "report --diff-profile takes two profiles, got 1 arguments"},
		{CommandOptions{DiffProfile: true, Args: []string{"a", "b"}}, ""},
		{CommandOptions{Merge: true, Args: []string{"n1", "n2"}}, "report --merge takes --out DIR and at least two node folders, got 2"},
		{CommandOptions{Merge: true, Out: "m", Args: []string{"n1"}}, "at least two node folders, got 1"},
		{CommandOptions{Merge: true, Out: "m", Args: []string{"n1", "n2"}}, ""},
	} {
		err := tc.o.Validate()
		if (tc.want == "") != (err == nil) || err != nil && (!strings.Contains(err.Error(), tc.want) || !cfgerr.Is(err)) {
			t.Errorf("%+v.Validate() = %v; want %q (a usage error)", tc.o, err, tc.want)
		}
	}
}

// TestWriteRunReports: the three reports land in Out, the Markdown is
// appended to the step summary, and rules naming absent cells are left
// unjudged rather than refused.
func TestWriteRunReports(t *testing.T) {
	if _, err := WriteRunReports(RunOptions{}); err == nil || !cfgerr.Is(err) {
		t.Errorf("no Run: %v; want a usage error", err)
	}
	if _, err := WriteRunReports(RunOptions{Run: filepath.Join(t.TempDir(), "none")}); err == nil || !cfgerr.Is(err) {
		t.Errorf("missing results: %v; want a usage error", err)
	}
	r, err := results.Read(filepath.Join("testdata", "run.json"))
	if err != nil {
		t.Fatal(err)
	}
	r.Thresholds = map[string]string{"cycle_p99{mode:async}": "< 1s"}
	dir, out := t.TempDir(), t.TempDir()
	if err := results.Write(filepath.Join(dir, "results.json"), r); err != nil {
		t.Fatal(err)
	}
	summary := filepath.Join(out, "summary.md")
	rep, err := WriteRunReports(RunOptions{Run: filepath.Join(dir, "results.json"), Out: out, StepSummary: summary, Gate: gate.DefaultOptions})
	if err != nil {
		t.Fatal(err)
	}
	if rep.NotJudged == nil || !strings.Contains(rep.NotJudged.Error(), "matches no cell") || len(rep.Verdict.Rules) != 0 {
		t.Errorf("NotJudged = %v, %d rules judged; want the selector named and no rule judged", rep.NotJudged, len(rep.Verdict.Rules))
	}
	want := []string{filepath.Join(out, "report.md"), filepath.Join(out, "report.html"), filepath.Join(out, "junit.xml")}
	if strings.Join(rep.Files, " ") != strings.Join(want, " ") {
		t.Errorf("Files = %v; want %v", rep.Files, want)
	}
	md, _ := os.ReadFile(want[0])
	s, _ := os.ReadFile(summary)
	if len(md) == 0 || !bytes.Equal(s, append(md, '\n')) {
		t.Errorf("step summary (%d bytes) is not report.md (%d bytes) and a newline", len(s), len(md))
	}
}

func TestWriteFinalHTML(t *testing.T) {
	dir := t.TempDir()
	if name, err := WriteFinalHTML(dir, nil); name != "" || err != nil {
		t.Errorf("no run: %q, %v; want nothing", name, err)
	}
	r, err := results.Read(filepath.Join("testdata", "run.json"))
	if err != nil {
		t.Fatal(err)
	}
	if name, err := WriteFinalHTML(dir, r); name != "report.html" || err != nil {
		t.Fatalf("WriteFinalHTML = %q, %v", name, err)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "report.html")); err != nil || !bytes.Contains(b, []byte("<html")) {
		t.Errorf("report.html: %v", err)
	}
}

func TestDiffProfileFilesMissing(t *testing.T) {
	err := DiffProfileFiles(&bytes.Buffer{}, filepath.Join(t.TempDir(), "a.pb.gz"), "b.pb.gz", 5)
	if err == nil || !cfgerr.Is(err) || !strings.Contains(err.Error(), "a.pb.gz") {
		t.Errorf("DiffProfileFiles(missing) = %v; want a usage error naming the file", err)
	}
}
