package reports

import (
	"bufio"
	"io"
	"strings"

	"github.com/camload/camload/reports/gate"
	"github.com/camload/camload/results"
)

// WriteMarkdown writes run's report as GitHub-flavoured Markdown, judging
// the run's own thresholds.
func WriteMarkdown(w io.Writer, run *results.Run) error {
	return WriteMarkdownVerdict(w, run, nil)
}

// WriteMarkdownVerdict is WriteMarkdown with a verdict already judged (for
// instance against a baseline); v nil judges the run's thresholds.
func WriteMarkdownVerdict(w io.Writer, run *results.Run, v *gate.Verdict) error {
	d := build(run, v)
	bw := bufio.NewWriter(w)
	bw.WriteString("# " + d.Title + "\n\n")
	for _, f := range d.Facts {
		bw.WriteString("- **" + f[0] + ":** " + f[1] + "\n")
	}
	bw.WriteString("\n")
	for _, warn := range d.Warnings {
		bw.WriteString("> ⚠️ " + mdEscape(warn) + "\n>\n")
	}
	for _, note := range d.Notes {
		bw.WriteString("> ℹ️ " + mdEscape(note) + "\n>\n")
	}
	if len(d.Warnings)+len(d.Notes) > 0 {
		bw.WriteString("\n")
	}
	if d.Legend != "" {
		bw.WriteString("_" + d.Legend + "_\n\n")
	}
	for _, s := range d.Sections {
		if s.HTMLOnly {
			continue
		}
		writeMDSection(bw, s, "##")
	}
	return bw.Flush()
}

func writeMDSection(bw *bufio.Writer, s section, level string) {
	bw.WriteString(level + " " + s.Title + "\n\n")
	if s.Intro != "" {
		bw.WriteString(s.Intro + "\n\n")
	}
	for _, t := range s.Tables {
		writeMDTable(bw, t)
	}
	for _, sub := range s.Sub {
		writeMDSection(bw, sub, level+"#")
	}
}

func writeMDTable(bw *bufio.Writer, t table) {
	if t.Caption != "" {
		bw.WriteString("**" + mdEscape(t.Caption) + "**\n\n")
	}
	bw.WriteString("|")
	for _, h := range t.Header {
		bw.WriteString(" " + mdCell(h) + " |")
	}
	bw.WriteString("\n|")
	for i := range t.Header {
		if i == 0 {
			bw.WriteString("---|")
		} else {
			bw.WriteString("---:|")
		}
	}
	bw.WriteString("\n")
	for _, r := range t.Rows {
		bw.WriteString("|")
		for i, c := range r {
			c = mdCell(c)
			if i == t.Bold && c != "—" && c != "" {
				c = "**" + c + "**"
			}
			bw.WriteString(" " + c + " |")
		}
		bw.WriteString("\n")
	}
	bw.WriteString("\n")
}

// mdCell escapes what would break a table cell.
func mdCell(s string) string {
	s = strings.ReplaceAll(s, "|", `\|`)
	return strings.ReplaceAll(s, "\n", " ")
}

// mdEscape keeps free text (cell errors) from opening Markdown constructs.
func mdEscape(s string) string {
	r := strings.NewReplacer("<", "&lt;", ">", "&gt;", "*", `\*`, "_", `\_`, "`", "\\`", "|", `\|`)
	return r.Replace(strings.ReplaceAll(s, "\n", " "))
}
