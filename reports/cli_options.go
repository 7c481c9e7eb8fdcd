package reports

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/camload/camload/internal/cfgerr"
	"github.com/camload/camload/reports/gate"
	"github.com/camload/camload/results"
	"github.com/camload/camload/results/rule"
)

// ReadResults reads a results.json, or DIR/results.json when path is a
// folder. Unreadable or malformed input is a *cfgerr.Error (a usage
// error) naming the file and the problem.
func ReadResults(path string) (*results.Run, error) {
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		path = filepath.Join(path, "results.json")
	}
	r, err := results.Read(path)
	if err != nil {
		return nil, cfgerr.Usage("%w", err)
	}
	return r, nil
}

// ReadRunAndBaseline reads the run at path and, when baseline is not "",
// the baseline run (ReadResults).
func ReadRunAndBaseline(path, baseline string) (run, base *results.Run, err error) {
	if run, err = ReadResults(path); err != nil {
		return nil, nil, err
	}
	if baseline != "" {
		if base, err = ReadResults(baseline); err != nil {
			return nil, nil, err
		}
	}
	return run, base, nil
}

// CommandOptions are the arguments of `camload report`: a run folder,
// two profiles (DiffProfile) or the node folders to merge (Merge). The
// zero value has no arguments and fails Validate.
type CommandOptions struct {
	// Merge: Args are load-node folders merged into Out.
	Merge bool
	// DiffProfile: Args are two pprof profiles, A and B.
	DiffProfile bool
	// Out is the folder written (required with Merge).
	Out string
	// Args are the positional arguments.
	Args []string
}

// Validate checks the number of arguments of each form of the command
// (and --out with Merge).
func (o CommandOptions) Validate() error {
	switch n := len(o.Args); {
	case o.Merge:
		if n < 2 || o.Out == "" {
			return cfgerr.Usage("report --merge takes --out DIR and at least two node folders, got %d", n)
		}
	case o.DiffProfile:
		if n != 2 {
			return cfgerr.Usage("report --diff-profile takes two profiles, got %d arguments", n)
		}
	case n != 1:
		return cfgerr.Usage("report takes one run folder, got %d arguments", n)
	}
	return nil
}

// RunOptions are the settings of `camload report RUN_DIR`: which run,
// against which baseline, into which folder.
type RunOptions struct {
	// Run is a results.json or the run folder holding it. Required.
	Run string
	// Baseline is a results.json or run folder to compare with; "" means
	// none.
	Baseline string
	// Out is the folder the reports are written to; "" means the run
	// folder (the folder of Run when Run is a file).
	Out string
	// Gate are the judgement options (the rules added, alpha, …); the
	// reports judge with gate.ReportOptions(Gate). Start from
	// gate.DefaultOptions: the zero Options' Alpha 0 is refused.
	Gate gate.Options
	// StepSummary is a file the Markdown is appended to (GitHub's
	// GITHUB_STEP_SUMMARY); "" means none.
	StepSummary string
}

// Validate reports a missing Run.
func (o RunOptions) Validate() error {
	if o.Run == "" {
		return cfgerr.Usage("report takes one run folder, got 0 arguments")
	}
	return nil
}

// RunReport is what WriteRunReports did.
type RunReport struct {
	// Files are the paths written: report.md, report.html, junit.xml.
	Files []string
	// NotJudged is the error of rules that name cells the run lacks and
	// that a filtered run does not explain (a typo such as mode:bached, a
	// run written before results.Run.Filtered was recorded, an
	// interrupted run): the figures were reported, the rules not. Rules on
	// cells a run filtered by --modes/--cameras left out are skipped by
	// the gate, not an error. nil when every rule was judged.
	NotJudged error
	// Verdict is the judgement the reports show.
	Verdict *gate.Verdict
}

// WriteRunReports judges o.Run (against o.Baseline) and writes report.md,
// report.html and junit.xml into o.Out, then appends the Markdown to
// o.StepSummary. A failed rule or regression is in the reports, not an
// error: judging is camload gate's job. Rules that name cells the run
// lacks (beyond those a filtered run left out, which the gate skips) are
// left unjudged (RunReport.NotJudged) rather than refused.
func WriteRunReports(o RunOptions) (*RunReport, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	run, base, err := ReadRunAndBaseline(o.Run, o.Baseline)
	if err != nil {
		return nil, err
	}
	rep := &RunReport{}
	rep.Verdict, err = gate.Judge(run, base, gate.ReportOptions(o.Gate))
	if errors.Is(err, rule.ErrNoMatch) {
		rep.NotJudged = err
		run.Thresholds, run.Expect = nil, nil
		rep.Verdict, err = gate.Judge(run, base, gate.ReportOptions(o.Gate))
	}
	if err != nil {
		return nil, err
	}
	out := o.Out
	if out == "" {
		out = o.Run
		if fi, err := os.Stat(o.Run); err == nil && !fi.IsDir() {
			out = filepath.Dir(o.Run)
		}
	}
	var md, page, junit bytes.Buffer
	if err := WriteMarkdownVerdict(&md, run, rep.Verdict); err != nil {
		return nil, err
	}
	if err := WriteHTMLVerdict(&page, run, rep.Verdict); err != nil {
		return nil, err
	}
	if err := WriteJUnit(&junit, run, rep.Verdict); err != nil {
		return nil, err
	}
	for _, f := range []struct {
		name string
		b    []byte
	}{{"report.md", md.Bytes()}, {"report.html", page.Bytes()}, {"junit.xml", junit.Bytes()}} {
		p := filepath.Join(out, f.name)
		if err := os.WriteFile(p, f.b, 0o644); err != nil {
			return rep, fmt.Errorf("report: %w", err)
		}
		rep.Files = append(rep.Files, p)
	}
	if o.StepSummary != "" {
		if err := appendFile(o.StepSummary, md.Bytes()); err != nil {
			return rep, fmt.Errorf("report: GITHUB_STEP_SUMMARY: %w", err)
		}
	}
	return rep, nil
}

func appendFile(path string, b []byte) error {
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(append(b, '\n')); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// WriteHTMLFile writes run's report.html (WriteHTML) to path.
func WriteHTMLFile(path string, run *results.Run) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := WriteHTML(f, run); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// DiffProfileFiles writes to w the top functions whose flat value grew
// from the pprof profile in file pathA to the one in pathB (DiffProfiles),
// headed by the two paths. An unreadable file is a *cfgerr.Error.
func DiffProfileFiles(w io.Writer, pathA, pathB string, top int) error {
	fa, err := os.Open(pathA)
	if err != nil {
		return cfgerr.Usage("%w", err)
	}
	defer fa.Close()
	fb, err := os.Open(pathB)
	if err != nil {
		return cfgerr.Usage("%w", err)
	}
	defer fb.Close()
	d, err := DiffProfiles(fa, fb, top)
	if err != nil {
		return &cfgerr.Error{File: pathA + ", " + pathB, Err: err}
	}
	fmt.Fprintf(w, "A: %s\nB: %s\n", pathA, pathB)
	return d.Write(w)
}

// WriteNodeReport writes n's Markdown (WriteNodeMarkdown) to
// outDir/report.md and to w.
func WriteNodeReport(w io.Writer, outDir string, n *results.NodeRun) error {
	var md bytes.Buffer
	if err := WriteNodeMarkdown(&md, n); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(outDir, "report.md"), md.Bytes(), 0o644); err != nil {
		return err
	}
	_, err := w.Write(md.Bytes())
	return err
}

// Comparison is a finished `camload compare`: its pairs, judged and
// written by WriteComparison.
type Comparison struct {
	// Scenario names the scenario compared.
	Scenario string
	// Base and Head are the binaries compared; their base names label the
	// verdict when the runs recorded no commit.
	Base, Head string
	// Pairs are the runs, at least one.
	Pairs []gate.Pair
	// Gate are the judgement options; start from gate.DefaultOptions.
	Gate gate.Options
	// OutDir receives verdict.txt and junit.xml. Required.
	OutDir string
}

// WriteComparison judges c's pairs (gate.JudgePairs) and writes the
// verdict as text to w and OutDir/verdict.txt, and as JUnit to
// OutDir/junit.xml. The caller decides what a failed verdict means.
func WriteComparison(w io.Writer, c Comparison) (*gate.Verdict, error) {
	v, err := gate.JudgePairs(c.Pairs, c.Gate)
	if err != nil {
		return nil, err
	}
	if v.BaseCommit == "" || v.BaseCommit == "unknown" {
		v.BaseCommit = filepath.Base(c.Base)
	}
	if v.HeadCommit == "" || v.HeadCommit == "unknown" {
		v.HeadCommit = filepath.Base(c.Head)
	}
	var text, junit bytes.Buffer
	fmt.Fprintf(&text, "compare: %s, %d pairs; base %s, head %s\n\n", c.Scenario, len(c.Pairs), c.Base, c.Head)
	if err := v.Write(&text); err != nil {
		return nil, err
	}
	if err := WriteJUnit(&junit, c.Pairs[len(c.Pairs)-1].Head, v); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(c.OutDir, "verdict.txt"), text.Bytes(), 0o644); err != nil {
		return nil, fmt.Errorf("compare: %w", err)
	}
	if err := os.WriteFile(filepath.Join(c.OutDir, "junit.xml"), junit.Bytes(), 0o644); err != nil {
		return nil, fmt.Errorf("compare: %w", err)
	}
	if _, err := w.Write(text.Bytes()); err != nil {
		return nil, err
	}
	return v, nil
}

// WriteFinalHTML writes run's report.html into outDir at the end of a
// run and returns its name relative to outDir, "report.html"; with no run
// (nil) it writes nothing and returns "".
func WriteFinalHTML(outDir string, run *results.Run) (string, error) {
	if run == nil {
		return "", nil
	}
	if err := WriteHTMLFile(filepath.Join(outDir, "report.html"), run); err != nil {
		return "", err
	}
	return "report.html", nil
}
