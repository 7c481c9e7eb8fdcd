package reports

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/pprof/profile"
	"go.uber.org/goleak"
	"golang.org/x/net/html"

	"github.com/camload/camload/internal/goldenfile"
	"github.com/camload/camload/reports/gate"
	"github.com/camload/camload/results"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func readRun(t testing.TB, name string) *results.Run {
	t.Helper()
	r, err := results.Read(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// markdownSection renders run as Markdown and returns its section whose
// heading starts with "## "+title, up to the next section's heading (its
// trailing blank line included).
func markdownSection(t *testing.T, run *results.Run, title string) string {
	t.Helper()
	var md bytes.Buffer
	if err := WriteMarkdown(&md, run); err != nil {
		t.Fatal(err)
	}
	s := md.String()
	i := strings.Index(s, "## "+title)
	if i < 0 {
		t.Fatalf("WriteMarkdown: no %s section:\n%s", title, s)
	}
	section := s[i:]
	if j := strings.Index(section[3:], "\n## "); j >= 0 {
		section = section[:j+4]
	}
	return section
}

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	goldenfile.Check(t, filepath.Join("testdata", name), got, *update)
}

func TestImprovement(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		before, after float64
		want          string
	}{
		{25, 4, "84% ↓"},     // the blog's memory row
		{95, 45, "53% ↓"},    // CPU
		{8, 0.8, "90% ↓"},    // latency
		{12, 0.5, "96% ↓"},   // error rate
		{2, 150, "75x ↑"},    // throughput
		{100, 250, "2.5x ↑"}, // a ratio from 2×
		{100, 150, "50% ↑"},  // under 2×: a percentage
		{100, 97, "3% ↓"},    // small decrease
		{100, 99.5, "0.5% ↓"},
		{5, 5, "="},
		{0, 3, "↑ from 0"},
	} {
		if got := Improvement(tc.before, tc.after); got != tc.want {
			t.Errorf("Improvement(%v, %v) = %q; want %q", tc.before, tc.after, got, tc.want)
		}
	}
}

func ExampleImprovement() {
	fmt.Println(Improvement(25, 4), Improvement(2, 150))
	// Output: 84% ↓ 75x ↑
}

func TestGolden(t *testing.T) {
	run := readRun(t, "run.json")
	head := readRun(t, "head.json")
	measured, scale := readRun(t, "measured.json"), readRun(t, "scale.json")
	withBase, err := gate.Judge(head, run, gate.DefaultOptions)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		write func(*bytes.Buffer) error
	}{
		{"report.md.golden", func(b *bytes.Buffer) error { return WriteMarkdown(b, run) }},
		{"report-baseline.md.golden", func(b *bytes.Buffer) error { return WriteMarkdownVerdict(b, head, withBase) }},
		{"junit.xml.golden", func(b *bytes.Buffer) error { return WriteJUnit(b, run, nil) }},
		{"junit-baseline.xml.golden", func(b *bytes.Buffer) error { return WriteJUnit(b, head, withBase) }},
		{"report.html.golden", func(b *bytes.Buffer) error { return WriteHTML(b, run) }},
		{"measured.md.golden", func(b *bytes.Buffer) error { return WriteMarkdown(b, measured) }},
		{"measured.html.golden", func(b *bytes.Buffer) error { return WriteHTML(b, measured) }},
		{"scale.md.golden", func(b *bytes.Buffer) error { return WriteMarkdown(b, scale) }},
		{"scale.html.golden", func(b *bytes.Buffer) error { return WriteHTML(b, scale) }},
	} {
		var b bytes.Buffer
		if err := tc.write(&b); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		golden(t, tc.name, b.Bytes())
	}
}

func TestMarkdownBlogTables(t *testing.T) {
	t.Parallel()
	var b bytes.Buffer
	if err := WriteMarkdown(&b, readRun(t, "run.json")); err != nil {
		t.Fatal(err)
	}
	md := b.String()
	for _, want := range []string{
		"AMD EPYC 7B13, 2 cores, 24 GiB RAM",                 // machine
		"go1.26.8",                                           // Go version
		"f35fe0e1c2b3a4d5e6f708192a3b4c5d6e7f8091",           // commit
		"ferretdb-sqlite (embedded)",                         // backends
		"## Scaling: sync at 100 vs 1000 cameras",            // first table
		"## Before / after at 1000 cameras: sync vs batched", // second table
		"| Metric | Before (sync) | After (batched) | Improvement | After ÷ before [95% CI] |", // its header
		"| Throughput (API capacity, req/s) |",                                                 // its throughput row: the searched capacity
		"sync/1000 repeat 2: over budget",                                                      // the over-budget cell, named
		"`image.NewYCbCr`",                                                                     // a heap profile top
		"| Cycle p99 | 9.87s = max (n=10, 2/3 reps) |",                                         // median over the 2 ok repeats, n=10 cannot support a p99
	} {
		if !strings.Contains(md, want) {
			t.Errorf("WriteMarkdown(run.json) lacks %q", want)
		}
	}
}

// TestFailedCellsNotNumbers: a cell whose every repetition failed shows
// its status, never a number.
func TestFailedCellsNotNumbers(t *testing.T) {
	t.Parallel()
	run := readRun(t, "run.json")
	for i, c := range run.Cells {
		if c.Mode == "sync" && c.Cameras == 1000 {
			run.Cells[i].Status = results.StatusOverBudget
		}
	}
	var b bytes.Buffer
	if err := WriteMarkdown(&b, run); err != nil {
		t.Fatal(err)
	}
	md := b.String()
	for _, want := range []string{
		"## Scaling: pooled at 100 vs 1000 cameras", // sync did not complete at 1000: the first mode that did
		"## Before / after at 1000 cameras: pooled vs batched",
		"| Cycle p99 | over budget |",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("WriteMarkdown(sync/1000 over budget) lacks %q", want)
		}
	}
	if strings.Contains(md, "1.42 GiB") {
		t.Errorf("WriteMarkdown(sync/1000 over budget) shows the over-budget cell's memory as a number")
	}
}

// The JUnit tests live with WriteJUnit in reports/gate.

func TestHTMLSelfContained(t *testing.T) {
	t.Parallel()
	var b bytes.Buffer
	if err := WriteHTML(&b, readRun(t, "run.json")); err != nil {
		t.Fatal(err)
	}
	doc, err := html.Parse(bytes.NewReader(b.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]int{}
	var external []string
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			counts[n.Data]++
			for _, a := range n.Attr {
				if (a.Key == "src" || a.Key == "href") && !strings.HasPrefix(a.Val, "#") {
					external = append(external, n.Data+" "+a.Key+"="+a.Val)
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	if counts["svg"] != 5 {
		t.Errorf("WriteHTML: %d <svg> charts; want 5 (percentiles, vs cameras, RSS, CPU, API)", counts["svg"])
	}
	if counts["polyline"] < 5 || counts["rect"] < 12 {
		t.Errorf("WriteHTML: %d polylines, %d rects; want lines and bars drawn", counts["polyline"], counts["rect"])
	}
	if counts["script"] != 0 || counts["link"] != 0 || len(external) > 0 {
		t.Errorf("WriteHTML: %d scripts, %d links, external references %q; want none", counts["script"], counts["link"], external)
	}
	if counts["table"] < 6 {
		t.Errorf("WriteHTML: %d tables; want the report's tables", counts["table"])
	}
}

// TestHTMLEscapes: text from results.json (cell errors, function names)
// cannot inject markup.
func TestHTMLEscapes(t *testing.T) {
	t.Parallel()
	run := readRun(t, "run.json")
	run.Cells[5].Error = `<script>alert(1)</script>`
	run.Cells[0].Mode = `<b>x</b>`
	var b bytes.Buffer
	if err := WriteHTML(&b, run); err != nil {
		t.Fatal(err)
	}
	if s := b.String(); strings.Contains(s, "<script>") || strings.Contains(s, "<b>x</b>") {
		t.Errorf("WriteHTML wrote unescaped markup from results.json")
	}
}

// writeProfile builds a CPU profile with the given flat nanoseconds per
// function.
func writeProfile(t *testing.T, flat map[string]int64) []byte {
	t.Helper()
	p := &profile.Profile{
		SampleType: []*profile.ValueType{{Type: "samples", Unit: "count"}, {Type: "cpu", Unit: "nanoseconds"}},
		PeriodType: &profile.ValueType{Type: "cpu", Unit: "nanoseconds"},
		Period:     10_000_000,
	}
	id := uint64(1)
	for name, v := range flat {
		fn := &profile.Function{ID: id, Name: name, SystemName: name, Filename: "x.go"}
		loc := &profile.Location{ID: id, Address: 0x1000 + id, Line: []profile.Line{{Function: fn, Line: 1}}}
		p.Function = append(p.Function, fn)
		p.Location = append(p.Location, loc)
		p.Sample = append(p.Sample, &profile.Sample{Location: []*profile.Location{loc}, Value: []int64{v / 10_000_000, v}})
		id++
	}
	var b bytes.Buffer
	if err := p.Write(&b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestDiffProfiles(t *testing.T) {
	t.Parallel()
	a := writeProfile(t, map[string]int64{"main.decode": 1e9, "main.fetch": 2e9, "main.store": 5e8})
	b := writeProfile(t, map[string]int64{"main.decode": 4e9, "main.fetch": 2e9, "main.store": 6e8, "crypto/tls.(*Conn).Handshake": 3e9})
	d, err := DiffProfiles(bytes.NewReader(a), bytes.NewReader(b), 10)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, g := range d.Grew {
		got = append(got, fmt.Sprintf("%s+%d", g.Func, g.Delta()))
	}
	want := []string{"main.decode+3000000000", "crypto/tls.(*Conn).Handshake+3000000000", "main.store+100000000"}
	// Equal growth sorts by name: crypto/… before main.decode.
	want[0], want[1] = want[1], want[0]
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("DiffProfiles grew = %v; want %v", got, want)
	}
	if d.SampleType != "cpu/nanoseconds" || d.TotalA != 35e8 || d.TotalB != 96e8 {
		t.Errorf("DiffProfiles = type %s totals %d → %d; want cpu/nanoseconds 3.5e9 → 9.6e9", d.SampleType, d.TotalA, d.TotalB)
	}
	var out bytes.Buffer
	if err := d.Write(&out); err != nil || !strings.Contains(out.String(), "+3s") {
		t.Errorf("ProfileDiff.Write = %q, %v; want a +3s row", out.String(), err)
	}
	if _, err := DiffProfiles(strings.NewReader("not a profile"), bytes.NewReader(b), 10); err == nil {
		t.Errorf("DiffProfiles(garbage) = nil error")
	}
}

func chromium(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("CAMLOAD_CHROMIUM"); p != "" {
		return p
	}
	p, err := exec.LookPath("chromium")
	if err != nil {
		t.Skip("chromium not installed (set CAMLOAD_CHROMIUM); skipping the browser check")
	}
	return p
}

// TestHTMLInChromium renders the report in headless Chromium with
// scripts/html-check.sh: charts in the DOM, no console errors, a
// screenshot. A page with a script error must fail the same check.
func TestHTMLInChromium(t *testing.T) {
	bin := chromium(t)
	script, err := filepath.Abs(filepath.Join("..", "scripts", "html-check.sh"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	var b bytes.Buffer
	if err := WriteHTML(&b, readRun(t, "run.json")); err != nil {
		t.Fatal(err)
	}
	good := filepath.Join(dir, "report.html")
	bad := filepath.Join(dir, "broken.html")
	if err := os.WriteFile(good, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	broken := strings.Replace(b.String(), "</body>", "<script>console.error('boom'); notDefined();</script></body>", 1)
	if err := os.WriteFile(bad, []byte(broken), 0o644); err != nil {
		t.Fatal(err)
	}
	check := func(page, out string) (string, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, "bash", script, page, out)
		cmd.Env = append(os.Environ(), "CAMLOAD_CHROMIUM="+bin)
		outb, err := cmd.CombinedOutput()
		return string(outb), err
	}
	out, err := check(good, filepath.Join(dir, "good"))
	if err != nil {
		t.Fatalf("html-check.sh report.html: %v\n%s", err, out)
	}
	for _, want := range []string{"ok   charts: 5 svg charts", "ok   console", "ok   screenshot"} {
		if !strings.Contains(out, want) {
			t.Errorf("html-check.sh report.html output lacks %q:\n%s", want, out)
		}
	}
	// The scale report adds three charts against cameras.
	var sb bytes.Buffer
	if err := WriteHTML(&sb, readRun(t, "scale.json")); err != nil {
		t.Fatal(err)
	}
	scale := filepath.Join(dir, "scale.html")
	if err := os.WriteFile(scale, sb.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err = check(scale, filepath.Join(dir, "scale"))
	if err != nil || !strings.Contains(out, "ok   charts: 8 svg charts") || !strings.Contains(out, "ok   console") {
		t.Errorf("html-check.sh scale.html = %v; want 8 charts and a clean console:\n%s", err, out)
	}
	out, err = check(bad, filepath.Join(dir, "bad"))
	if err == nil || !strings.Contains(out, "FAIL console") || !strings.Contains(out, "Uncaught") {
		t.Errorf("html-check.sh broken.html = %v; want a console failure naming the uncaught error:\n%s", err, out)
	}
}
