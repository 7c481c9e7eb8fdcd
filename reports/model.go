// Package reports renders a run's results.json (results) for people
// and for CI: Markdown in the blog's own form (scaling table, before/after
// table with an Improvement column, every mode side by side, API capacity,
// ideal vs actual cycle time, profile tops), one self-contained HTML file
// with inline SVG charts, and JUnit XML for CI test reporters.
//
// Repetitions of a (mode, cameras) cell are aggregated by their median; a
// cell with no successful repetition is shown by its status ("over
// budget"), never as a number. Every report states the machine, Go
// version, commit and backends it ran on. Functions here are safe for
// concurrent use; they only read the run.
package reports

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/camload/camload/reports/gate"
	"github.com/camload/camload/results"
	"github.com/camload/camload/results/rule"
)

// table is a rendered table shared by the Markdown and HTML writers.
type table struct {
	Caption string
	Header  []string
	Rows    [][]string
	// Bold is the index of a column rendered bold (the blog's Improvement
	// column), or -1.
	Bold int
}

// section is a titled part of a report.
type section struct {
	ID     string // HTML anchor
	Title  string
	Intro  string
	Tables []table
	// Sub are subsections (profiles per mode).
	Sub []section
}

// doc is a whole report, before rendering.
type doc struct {
	Title    string
	Facts    [][2]string // header: machine, Go, commit, backends, run
	Warnings []string
	Sections []section
}

// status labels shown instead of numbers.
var statusLabel = map[string]string{
	results.StatusOverBudget:  "over budget",
	results.StatusFailed:      "failed",
	results.StatusInterrupted: "interrupted",
}

func labelStatus(s string) string {
	if l, ok := statusLabel[s]; ok {
		return l
	}
	return s
}

// value renders the median of metric m over g's ok repetitions, with
// "(2/3)" when some repetitions were not ok, or the group's status when none
// was.
func value(g results.Group, m string) string {
	v, u, ok := g.Median(m)
	nok := len(g.OK())
	switch {
	case nok == 0:
		return labelStatus(g.Status())
	case !ok:
		return "—"
	}
	s := results.Format(v, u)
	if nok < len(g.Cells) {
		s += fmt.Sprintf(" (%d/%d)", nok, len(g.Cells))
	}
	return s
}

// median returns the median of m in g, ok false when the group has no ok
// repetition holding it.
func median(g results.Group, m string) (float64, results.Unit, bool) {
	if len(g.OK()) == 0 {
		return 0, results.Count, false
	}
	return g.Median(m)
}

// Improvement renders the change from before to after as the blog does:
// decreases as a percentage ("84% ↓"), increases as a ratio when at least
// 2× ("75x ↑") and as a percentage below that ("53% ↑"); "=" when equal.
func Improvement(before, after float64) string {
	switch {
	case before == after:
		return "="
	case math.IsNaN(before) || math.IsNaN(after):
		return "—"
	case before == 0:
		return "↑ from 0"
	}
	r := after / before
	if r > 1 {
		if r >= 2 {
			if r >= 10 {
				return fmt.Sprintf("%.0fx ↑", r)
			}
			return trim1(r) + "x ↑"
		}
		return pct((r-1)*100) + " ↑"
	}
	return pct((1-r)*100) + " ↓"
}

// pct renders a percentage: whole numbers from 10%, one decimal below.
func pct(p float64) string {
	if p >= 10 {
		return fmt.Sprintf("%.0f%%", p)
	}
	return trim1(p) + "%"
}

func trim1(v float64) string {
	s := strconv.FormatFloat(v, 'f', 1, 64)
	return strings.TrimSuffix(s, ".0")
}

// change renders Improvement of metric m between two groups, or "—".
func change(a, b results.Group, m string) string {
	av, _, aok := median(a, m)
	bv, _, bok := median(b, m)
	if !aok || !bok {
		return "—"
	}
	return Improvement(av, bv)
}

func formatBytes(n int64) string { return results.FormatBytes(float64(n)) }

// build assembles the report for run. v may be nil; then thresholds are
// judged here (a bad threshold becomes a warning, not an error).
func build(run *results.Run, v *gate.Verdict) *doc {
	d := &doc{Title: "camload report: " + run.Scenario}
	e := run.Env
	machine := fmt.Sprintf("%s, %d cores, %s RAM, %s/%s", orUnknown(e.CPUModel), e.Cores, formatBytes(e.MemTotal), e.OS, e.Arch)
	if e.Hostname != "" {
		machine += " (" + e.Hostname + ")"
	}
	commit := "`" + orUnknown(e.Commit) + "`"
	if e.Camload != "" {
		commit += " (camload " + e.Camload + ")"
	}
	modes, counts := results.Modes(run), results.CameraCounts(run)
	groups := results.Groups(run)
	repeats := 0
	for _, g := range groups {
		repeats = max(repeats, len(g.Cells))
	}
	runLine := fmt.Sprintf("%s, %s; %s: %s × %s × %s", run.Started.UTC().Format("2006-01-02 15:04:05 MST"),
		run.Finished.Sub(run.Started).Round(time.Second), plural(len(run.Cells), "cell"), plural(len(modes), "mode"),
		plural(len(counts), "camera count"), plural(repeats, "repeat"))
	if repeats > 1 {
		runLine += "; figures are medians over repeats"
	}
	d.Facts = [][2]string{
		{"Machine", machine},
		{"Go", orUnknown(e.GoVersion)},
		{"Commit", commit},
		{"Backends", fmt.Sprintf("MongoDB: %s; Redis: %s", orUnknown(e.Backends.Mongo), orUnknown(e.Backends.Redis))},
		{"Scenario", run.Scenario + " (" + run.ScenarioFile + ")"},
		{"Run", runLine},
	}
	if run.Interrupted {
		d.Warnings = append(d.Warnings, "The run was interrupted: these are partial results.")
	}
	for _, c := range run.Cells {
		if c.Status != results.StatusOK && c.Status != "" {
			w := fmt.Sprintf("%s/%d repeat %d: %s", c.Mode, c.Cameras, c.Repeat, labelStatus(c.Status))
			if c.Error != "" {
				w += " — " + c.Error
			}
			d.Warnings = append(d.Warnings, w)
		}
	}
	for _, c := range run.Cells {
		if c.Status == results.StatusOK && !c.Cycles.Reconciled && c.Cycles.Mismatch != "" {
			d.Warnings = append(d.Warnings, fmt.Sprintf("%s/%d repeat %d: errors not reconciled with injected faults: %s", c.Mode, c.Cameras, c.Repeat, c.Cycles.Mismatch))
		}
	}
	if len(modes) == 0 {
		d.Warnings = append(d.Warnings, "The run has no cells.")
		return d
	}
	first, last := modes[0], modes[len(modes)-1]
	small, large := counts[0], counts[len(counts)-1]

	if len(counts) > 1 {
		a, _ := results.Find(groups, first, small)
		b, _ := results.Find(groups, first, large)
		t := table{Header: []string{"Metric", fmt.Sprintf("%d cameras", small), fmt.Sprintf("%d cameras", large), "Change"}, Bold: -1}
		for _, r := range scalingRows {
			t.Rows = append(t.Rows, []string{r.label, value(a, r.metric), value(b, r.metric), change(a, b, r.metric)})
		}
		d.Sections = append(d.Sections, section{ID: "scaling", Title: fmt.Sprintf("Scaling: %s at %d vs %d cameras", first, small, large),
			Intro: fmt.Sprintf("The scenario's first mode (%s) as the fleet grows.", first), Tables: []table{t}})
	}
	if len(modes) > 1 {
		a, _ := results.Find(groups, first, large)
		b, _ := results.Find(groups, last, large)
		t := table{Header: []string{"Metric", "Before (" + first + ")", "After (" + last + ")", "Improvement"}, Bold: 3}
		for _, r := range beforeAfterRows {
			t.Rows = append(t.Rows, []string{r.label, value(a, r.metric), value(b, r.metric), change(a, b, r.metric)})
		}
		tp, tpLabel := "api_throughput", "Throughput (API)"
		_, _, ca := median(a, "api_capacity")
		_, _, cb := median(b, "api_capacity")
		if ca && cb {
			tp, tpLabel = "api_capacity", "Throughput (API capacity)"
		}
		t.Rows = append(t.Rows, []string{tpLabel, valueUnit(a, tp, " req/s"), valueUnit(b, tp, " req/s"), change(a, b, tp)})
		d.Sections = append(d.Sections, section{ID: "before-after", Title: fmt.Sprintf("Before / after at %d cameras: %s vs %s", large, first, last),
			Intro: "CPU is of the whole machine. Throughput is the highest rate meeting the SLO (capacity search), summed over the searched endpoints, or else successful API requests per second summed over endpoints.", Tables: []table{t}})
	}
	d.Sections = append(d.Sections, modesSection(run, groups, modes, counts))
	if s, ok := apiSection(groups); ok {
		d.Sections = append(d.Sections, s)
	}
	d.Sections = append(d.Sections, idealSection(groups))
	if s, ok := profileSection(groups, large); ok {
		d.Sections = append(d.Sections, s)
	}
	d.Sections = append(d.Sections, thresholdSection(run, groups, v)...)
	return d
}

// valueUnit is value with a unit after the number: "2.8 req/s (2/3)".
func valueUnit(g results.Group, m, unit string) string {
	if _, _, ok := median(g, m); !ok {
		return value(g, m)
	}
	s := value(g, m)
	if i := strings.Index(s, " ("); i >= 0 {
		return s[:i] + unit + s[i:]
	}
	return s + unit
}

// plural renders "1 repeat", "3 repeats".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

type row struct{ label, metric string }

var scalingRows = []row{
	{"Memory (RSS peak)", "rss_peak"},
	{"CPU (machine)", "cpu_machine"},
	{"Latency (cycle p99)", "cycle_p99"},
	{"Error rate", "error_rate"},
}

var beforeAfterRows = []row{
	{"Memory (RSS peak)", "rss_peak"},
	{"CPU (machine)", "cpu_machine"},
	{"Latency (cycle p99)", "cycle_p99"},
	{"Error rate", "error_rate"},
}

var modeRows = []row{
	{"Cycle p50", "cycle_p50"},
	{"Cycle p95", "cycle_p95"},
	{"Cycle p99", "cycle_p99"},
	{"Cycle max", "cycle_max"},
	{"Per-camera p99", "per_camera_p99"},
	{"Freshness p99", "freshness_p99"},
	{"Error rate", "error_rate"},
	{"RSS peak", "rss_peak"},
	{"RSS mean", "rss_mean"},
	{"CPU (one core = 100%)", "cpu_core"},
	{"CPU (machine)", "cpu_machine"},
	{"Goroutines peak", "goroutines_peak"},
	{"Open FDs peak", "fds_peak"},
	{"New camera connections", "camera_connections"},
	{"GC pause max", "gc_pause_max"},
	{"API throughput (req/s)", "api_throughput"},
	{"Ideal cycle", "ideal_cycle"},
	{"Efficiency (ideal ÷ actual)", "efficiency"},
}

func modesSection(run *results.Run, groups []results.Group, modes []string, counts []int) section {
	s := section{ID: "modes", Title: "Every mode side by side"}
	for _, n := range counts {
		t := table{Caption: fmt.Sprintf("%d cameras", n), Header: append([]string{"Metric"}, modes...), Bold: -1}
		gs := make([]results.Group, len(modes))
		have := make([]bool, len(modes))
		for i, m := range modes {
			gs[i], have[i] = results.Find(groups, m, n)
		}
		cellOf := func(i int, f func(results.Group) string) string {
			if !have[i] {
				return "not run"
			}
			return f(gs[i])
		}
		for _, r := range modeRows {
			line := []string{r.label}
			for i := range modes {
				line = append(line, cellOf(i, func(g results.Group) string { return value(g, r.metric) }))
			}
			t.Rows = append(t.Rows, line)
		}
		line := []string{"Errors by kind"}
		for i := range modes {
			line = append(line, cellOf(i, errorKinds))
		}
		t.Rows = append(t.Rows, line)
		line = []string{"Repeats ok"}
		for i := range modes {
			line = append(line, cellOf(i, func(g results.Group) string { return fmt.Sprintf("%d/%d", len(g.OK()), len(g.Cells)) }))
		}
		t.Rows = append(t.Rows, line)
		s.Tables = append(s.Tables, t)
	}
	return s
}

// errorKinds renders the median count of each error kind: "timeout 740,
// placeholder 370".
func errorKinds(g results.Group) string {
	ok := g.OK()
	if len(ok) == 0 {
		return labelStatus(g.Status())
	}
	kinds := map[string][]float64{}
	for _, c := range ok {
		for k, n := range c.Cycles.Errors {
			kinds[k] = append(kinds[k], float64(n))
		}
	}
	names := make([]string, 0, len(kinds))
	for k := range kinds {
		names = append(names, k)
	}
	sort.Strings(names)
	var parts []string
	for _, k := range names {
		vs := kinds[k]
		for len(vs) < len(ok) { // a repetition without this kind had none
			vs = append(vs, 0)
		}
		if m := results.Median(vs); m > 0 {
			parts = append(parts, fmt.Sprintf("%s %s", k, results.Format(m, results.Count)))
		}
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

func endpoints(groups []results.Group) []string {
	seen := map[string]bool{}
	var eps []string
	for _, g := range groups {
		for _, c := range g.Cells {
			for name := range c.API {
				if !seen[name] {
					seen[name] = true
					eps = append(eps, name)
				}
			}
		}
	}
	sort.Strings(eps)
	return eps
}

func apiSection(groups []results.Group) (section, bool) {
	eps := endpoints(groups)
	if len(eps) == 0 {
		return section{}, false
	}
	t := table{Header: []string{"Mode", "Cameras", "Endpoint", "Rate (req/s)", "Throughput (req/s)", "Success", "p50", "p99", "p99 uncorrected", "Capacity (req/s)"}, Bold: -1}
	for _, g := range groups {
		for _, ep := range eps {
			path := ""
			for _, c := range g.Cells {
				if e, ok := c.API[ep]; ok {
					path = e.Path
					break
				}
			}
			name := ep
			if path != "" {
				name += " `" + path + "`"
			}
			m := "api." + ep + "."
			t.Rows = append(t.Rows, []string{g.Mode, strconv.Itoa(g.Cameras), name, value(g, m+"rate"), value(g, m+"throughput"),
				value(g, m+"success"), value(g, m+"p50"), value(g, m+"p99"), value(g, m+"raw_p99"), value(g, m+"capacity")})
		}
	}
	return section{ID: "api", Title: "API per endpoint",
		Intro:  "Open-loop attacks (vegeta); latency from the intended send time. Capacity is the highest rate that met the SLO, when searched; — when not.",
		Tables: []table{t}}, true
}

func idealSection(groups []results.Group) section {
	t := table{Header: []string{"Mode", "Cameras", "Ideal cycle", "Actual (p50)", "Efficiency", "Bound by"}, Bold: -1}
	for _, g := range groups {
		basis := "—"
		for _, c := range g.OK() {
			if c.Ideal.Basis != "" {
				basis = c.Ideal.Basis
				break
			}
		}
		t.Rows = append(t.Rows, []string{g.Mode, strconv.Itoa(g.Cameras), value(g, "ideal_cycle"), value(g, "cycle_p50"), value(g, "efficiency"), basis})
	}
	return section{ID: "ideal", Title: "Ideal vs actual cycle time",
		Intro:  "The ideal is the best cycle the scenario allows (camera latency, host capacity, CPU work per frame ÷ cores); efficiency is ideal ÷ actual p50.",
		Tables: []table{t}}
}

// profileCell picks the repetition whose profiles are shown: the first ok
// one that has a profile top.
func profileCell(g results.Group) (results.Cell, bool) {
	for _, c := range g.OK() {
		if len(c.Profiles.CPUTop) > 0 || len(c.Profiles.HeapTop) > 0 {
			return c, true
		}
	}
	return results.Cell{}, false
}

func profileSection(groups []results.Group, cameras int) (section, bool) {
	s := section{ID: "profiles", Title: fmt.Sprintf("Profiles at %d cameras", cameras),
		Intro: "Top functions by flat share, from the CPU profile across the measured window and the heap (in use) profile at its end. Open the files with `go tool pprof`."}
	for _, g := range groups {
		if g.Cameras != cameras {
			continue
		}
		c, ok := profileCell(g)
		if !ok {
			continue
		}
		sub := section{ID: "profile-" + g.Mode, Title: fmt.Sprintf("%s (repeat %d)", g.Mode, c.Repeat)}
		if len(c.Profiles.CPUTop) > 0 {
			t := table{Caption: "CPU: " + orUnknown(c.Profiles.CPU), Header: []string{"Function", "Flat", "Share"}, Bold: -1}
			for _, f := range c.Profiles.CPUTop {
				t.Rows = append(t.Rows, []string{"`" + f.Func + "`", results.FormatDuration(time.Duration(f.Flat)), results.Format(f.Share, results.Ratio)})
			}
			sub.Tables = append(sub.Tables, t)
		}
		if len(c.Profiles.HeapTop) > 0 {
			t := table{Caption: "Heap in use: " + orUnknown(c.Profiles.Heap), Header: []string{"Function", "Flat", "Share"}, Bold: -1}
			for _, f := range c.Profiles.HeapTop {
				t.Rows = append(t.Rows, []string{"`" + f.Func + "`", formatBytes(f.Flat), results.Format(f.Share, results.Ratio)})
			}
			sub.Tables = append(sub.Tables, t)
		}
		s.Sub = append(s.Sub, sub)
	}
	return s, len(s.Sub) > 0
}

// thresholdSection summarizes the verdict: per rule and group, how many
// repetitions passed, and the comparison's regressions.
func thresholdSection(run *results.Run, groups []results.Group, v *gate.Verdict) []section {
	if v == nil {
		var err error
		if v, err = gate.Judge(run, nil, gate.ReportOptions(gate.DefaultOptions)); err != nil {
			return []section{{ID: "thresholds", Title: "Thresholds", Intro: "The thresholds could not be read: " + err.Error()}}
		}
	}
	var out []section
	if len(v.Results) > 0 {
		t := table{Header: []string{"Rule", "Cells", "Verdict", "Measured", "Need", "n"}, Bold: -1}
		for _, r := range v.Results {
			mark := r.Verdict.String()
			switch {
			case r.Verdict == rule.Pass:
				mark = "✅ " + mark
			case v.ResultFails(r):
				mark = "❌ " + mark
			}
			measured, need := gate.Measured(r)
			t.Rows = append(t.Rows, []string{"`" + r.Rule.String() + "`", r.CellNames(), mark, measured, need, fmt.Sprint(r.N)})
		}
		out = append(out, section{ID: "thresholds", Title: "Rules", Intro: "Each rule on the cells it names; each operand is the median over its cell's repetitions (the unit of replication), with its 95% bootstrap interval. " + v.Summary(), Tables: []table{t}})
	}
	if v.Rows != nil {
		t := table{Header: []string{"Cell", "Metric", "Base", "Head", "Delta", "p-value", "Verdict"}, Bold: -1}
		for _, r := range v.Rows {
			verdict := string(r.Change)
			if r.Note != "" {
				verdict += " (" + r.Note + ")"
			}
			p := "—"
			if !math.IsNaN(r.P) {
				p = fmt.Sprintf("%.3f", r.P)
			}
			t.Rows = append(t.Rows, []string{r.Cell, r.Metric, results.Format(r.Base, r.Unit), results.Format(r.Head, r.Unit), r.Delta, p, verdict})
		}
		out = append(out, section{ID: "comparison", Title: "Comparison with the baseline",
			Intro:  fmt.Sprintf("%s at alpha %.2g with a %.3g%% minimum effect; ~ is no significant change.", v.Method, v.Options.Alpha, v.Options.MinEffect*100),
			Tables: []table{t}})
	}
	return out
}
