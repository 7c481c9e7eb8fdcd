// Package reports renders a run's results.json (results) for people
// and for CI: Markdown in the blog's own form (scaling table, before/after
// table with an Improvement column, every mode side by side, API capacity,
// ideal vs actual cycle time, profile tops), one self-contained HTML file
// with inline SVG charts, JUnit XML for CI test reporters, and the text
// summary `camload run` prints.
//
// Figures follow the design's measurement discipline:
//   - every figure names its window (cycles or API) and its process
//     (system under test, runner, machine);
//   - a percentile carries its n, and one n cannot support (results.Supports:
//     p99 needs n ≥ 100, p95 n ≥ 20, p90 n ≥ 10) is shown as the maximum,
//     "= max (n=5)" — percentile is the one place this is decided;
//   - medians and means carry a 95% CI, a bootstrap over repetitions when
//     there are two or more, else the repetition's own interval;
//   - ratios carry the bootstrap CI of the ratio of medians, or say n=1;
//   - a censored capacity is a lower bound, "≥ 4678", and so is every
//     ratio built on one ("≥ 400×");
//   - efficiency is never clipped; above 1 it is flagged as a bug.
//
// The scaling and before/after tables are the scenario's declared
// comparisons (Run.Compare); without one, the first (and last) modes that
// completed, and the report says so. A cell declared in
// Run.ExpectOverBudget is shown as "over budget (expected)", a note rather
// than a warning. With three or more camera counts the report shows how
// cycle time, CPU per processed frame and RSS grow with cameras.
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
	"slices"
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
	// HTMLOnly sections (long tables: capacity steps) are left out of the
	// Markdown report.
	HTMLOnly bool
}

// doc is a whole report, before rendering.
type doc struct {
	Title    string
	Facts    [][2]string // header: machine, Go, commit, backends, run
	Warnings []string
	// Legend explains the notation of every figure, once.
	Legend string
	// Notes are what the scenario expected and is not a warning (a cell
	// declared over budget).
	Notes    []string
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

func formatBytes(n int64) string { return results.FormatBytes(float64(n)) }

// reader holds what every section needs from a run.
type reader struct {
	run    *results.Run
	groups []results.Group
	// expected are the parsed expect_over_budget selectors.
	expected []map[string]string
}

func newReader(run *results.Run) *reader {
	r := &reader{run: run, groups: results.Groups(run)}
	for _, sel := range run.ExpectOverBudget {
		labels := map[string]string{}
		for _, part := range strings.Split(sel, ",") {
			k, v, _ := strings.Cut(strings.TrimSpace(part), ":")
			labels[strings.TrimSpace(k)] = strings.TrimSpace(v)
		}
		r.expected = append(r.expected, labels)
	}
	return r
}

// expectedOver reports whether the scenario declared c as expected to run
// over its budget (Run.ExpectOverBudget: "mode:sync,cameras:1000").
func (r *reader) expectedOver(c results.Cell) bool {
	for _, sel := range r.expected {
		match := len(sel) > 0
		for k, v := range sel {
			var got string
			switch k {
			case "mode":
				got = c.Mode
			case "cameras":
				got = strconv.Itoa(c.Cameras)
			case "hosts":
				got = strconv.Itoa(c.Hosts)
			case "repeat":
				got = strconv.Itoa(c.Repeat)
			default:
				kv, ok := c.Knobs[k]
				if !ok {
					match = false
					continue
				}
				got = fmt.Sprint(kv)
			}
			if got != v {
				match = false
			}
		}
		if match {
			return true
		}
	}
	return false
}

// cellStatus labels a cell's status; an over-budget cell the scenario
// expected is "over budget (expected)".
func (r *reader) cellStatus(c results.Cell) string {
	l := labelStatus(c.Status)
	if c.Status == results.StatusOverBudget && r.expectedOver(c) {
		l += " (expected)"
	}
	return l
}

// groupStatus labels a group none of whose repetitions is ok.
func (r *reader) groupStatus(g results.Group) string {
	for _, c := range g.Cells {
		if c.Status != results.StatusOK && c.Status != "" {
			return r.cellStatus(c)
		}
	}
	return labelStatus(g.Status())
}

// show renders figure f of group g.
func (r *reader) show(g results.Group, f figure) string { return r.collect(g, f).render() }

// completed reports whether mode has an ok repetition at every given
// camera count.
func (r *reader) completed(mode string, counts ...int) bool {
	for _, n := range counts {
		g, ok := results.Find(r.groups, mode, n)
		if !ok || len(g.OK()) == 0 {
			return false
		}
	}
	return true
}

// choice is a comparison the report shows and why those modes.
type choice struct {
	mode, before, after string
	why                 string
}

// scalingChoice picks the scaling table's mode: the scenario's
// compare.scaling, else the first mode that completed at the smallest and
// the largest camera count.
func (r *reader) scalingChoice(modes []string, small, large int) (choice, bool) {
	if c := r.run.Compare; c != nil && c.Scaling != nil {
		if slices.Contains(modes, c.Scaling.Mode) {
			return choice{mode: c.Scaling.Mode, why: fmt.Sprintf("Declared by the scenario (compare.scaling: %s).", c.Scaling.Mode)}, true
		}
	}
	for _, m := range modes {
		if r.completed(m, small, large) {
			why := fmt.Sprintf("The scenario declares no scaling comparison: this is the first mode that completed at %d and %d cameras.", small, large)
			if c := r.run.Compare; c != nil && c.Scaling != nil {
				why = fmt.Sprintf("The declared scaling mode %q is not in this run: this is the first mode that completed at %d and %d cameras.", c.Scaling.Mode, small, large)
			}
			return choice{mode: m, why: why}, true
		}
	}
	return choice{}, false
}

// beforeAfterChoice picks the before/after modes: the scenario's
// compare.before_after, else the first and last modes that completed at
// the largest camera count.
func (r *reader) beforeAfterChoice(modes []string, large int) (choice, bool) {
	if c := r.run.Compare; c != nil && c.BeforeAfter != nil {
		b, a := c.BeforeAfter.Before, c.BeforeAfter.After
		if slices.Contains(modes, b) && slices.Contains(modes, a) {
			return choice{before: b, after: a, why: fmt.Sprintf("Declared by the scenario (compare.before_after: %s → %s).", b, a)}, true
		}
	}
	var done []string
	for _, m := range modes {
		if r.completed(m, large) {
			done = append(done, m)
		}
	}
	if len(done) < 2 {
		return choice{}, false
	}
	why := fmt.Sprintf("The scenario declares no before/after comparison: these are the first and last modes that completed at %d cameras.", large)
	if c := r.run.Compare; c != nil && c.BeforeAfter != nil {
		why = fmt.Sprintf("The declared modes %s → %s are not both in this run: these are the first and last modes that completed at %d cameras.", c.BeforeAfter.Before, c.BeforeAfter.After, large)
	}
	if skipped := len(modes) - len(done); skipped > 0 {
		why += fmt.Sprintf(" %s did not complete there.", plural(skipped, "mode"))
	}
	return choice{before: done[0], after: done[len(done)-1], why: why}, true
}

// build assembles the report for run. v may be nil; then thresholds are
// judged here (a bad threshold becomes a warning, not an error).
func build(run *results.Run, v *gate.Verdict) *doc {
	d := &doc{Title: "camload report: " + run.Scenario}
	r := newReader(run)
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
	groups := r.groups
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
	if run.Seed != 0 {
		runLine += fmt.Sprintf("; seed %d (each repetition draws from its own seed)", run.Seed)
	}
	d.Facts = [][2]string{
		{"Machine", machine},
		{"Go", orUnknown(e.GoVersion)},
		{"Commit", commit},
		{"Backends", fmt.Sprintf("MongoDB: %s; Redis: %s", orUnknown(e.Backends.Mongo), orUnknown(e.Backends.Redis))},
		{"Scenario", run.Scenario + " (" + run.ScenarioFile + ")"},
		{"Run", runLine},
	}
	d.Legend = figuresNote
	if run.Interrupted {
		d.Warnings = append(d.Warnings, "The run was interrupted: these are partial results.")
	}
	for _, c := range run.Cells {
		if c.Status != results.StatusOK && c.Status != "" {
			w := fmt.Sprintf("%s/%d repeat %d: %s", c.Mode, c.Cameras, c.Repeat, r.cellStatus(c))
			if c.Error != "" {
				w += " — " + c.Error
			}
			if r.expectedOver(c) && c.Status == results.StatusOverBudget {
				d.Notes = append(d.Notes, w)
				continue
			}
			d.Warnings = append(d.Warnings, w)
		}
	}
	for _, c := range run.Cells {
		if c.Status == results.StatusOK && !c.Cycles.Reconciled && c.Cycles.Mismatch != "" {
			d.Warnings = append(d.Warnings, fmt.Sprintf("%s/%d repeat %d: errors not reconciled with injected faults: %s", c.Mode, c.Cameras, c.Repeat, c.Cycles.Mismatch))
		}
		if c.Status == results.StatusOK && c.Ideal.Efficiency > 1 {
			d.Warnings = append(d.Warnings, fmt.Sprintf("%s/%d repeat %d: efficiency %.2f above 1 — the ideal cycle (%s) is above the actual median (%s): the bound is not a bound, a bug",
				c.Mode, c.Cameras, c.Repeat, c.Ideal.Efficiency, results.FormatDuration(c.Ideal.CycleTime.D()), results.FormatDuration(c.Cycles.Latency.P50.D())))
		}
	}
	if len(modes) == 0 {
		d.Warnings = append(d.Warnings, "The run has no cells.")
		return d
	}
	small, large := counts[0], counts[len(counts)-1]

	if len(counts) > 1 {
		if ch, ok := r.scalingChoice(modes, small, large); ok {
			a, _ := results.Find(groups, ch.mode, small)
			b, _ := results.Find(groups, ch.mode, large)
			t := table{Header: []string{"Metric", fmt.Sprintf("%d cameras", small), fmt.Sprintf("%d cameras", large), "Change", fmt.Sprintf("Ratio (%d ÷ %d) [95%% CI]", large, small)}, Bold: -1}
			for _, f := range r.comparisonFigures() {
				sa, sb := r.collect(a, f), r.collect(b, f)
				if len(sa.obs)+len(sb.obs) == 0 && sa.nok > 0 && sb.nok > 0 {
					continue // neither cell holds the figure (results without windows)
				}
				t.Rows = append(t.Rows, []string{f.label, sa.render(), sb.render(), improvement(sa, sb), ratio(sa, sb)})
			}
			d.Sections = append(d.Sections, section{ID: "scaling", Title: fmt.Sprintf("Scaling: %s at %d vs %d cameras", ch.mode, small, large),
				Intro: ch.why, Tables: []table{t}})
		}
	}
	if len(modes) > 1 {
		if ch, ok := r.beforeAfterChoice(modes, large); ok {
			a, _ := results.Find(groups, ch.before, large)
			b, _ := results.Find(groups, ch.after, large)
			t := table{Header: []string{"Metric", "Before (" + ch.before + ")", "After (" + ch.after + ")", "Improvement", "After ÷ before [95% CI]"}, Bold: 3}
			figs := r.comparisonFigures()
			tp := sentFig("", metricFig("Throughput (API, successful req/s, API window)", "api_throughput"))
			if len(r.collect(a, capacityFig("", "")).obs) > 0 && len(r.collect(b, capacityFig("", "")).obs) > 0 {
				tp = capacityFig("Throughput (API capacity, req/s)", "")
			}
			figs = append(figs, tp)
			for _, f := range figs {
				sa, sb := r.collect(a, f), r.collect(b, f)
				if len(sa.obs)+len(sb.obs) == 0 && sa.nok > 0 && sb.nok > 0 {
					continue // neither cell holds the figure (results without windows)
				}
				t.Rows = append(t.Rows, []string{f.label, sa.render(), sb.render(), improvement(sa, sb), ratio(sa, sb)})
			}
			d.Sections = append(d.Sections, section{ID: "before-after", Title: fmt.Sprintf("Before / after at %d cameras: %s vs %s", large, ch.before, ch.after),
				Intro:  ch.why + " Throughput is the highest rate meeting the SLO (capacity search), summed over the searched endpoints, or else successful API requests per second summed over endpoints.",
				Tables: []table{t}})
		}
	}
	d.Sections = append(d.Sections, scaleoutSections(run)...) // scaleout.go
	if len(counts) >= 3 {
		d.Sections = append(d.Sections, r.growthSection(modes, counts))
	}
	d.Sections = append(d.Sections, r.modesSection(modes, counts))
	// Per-cell sections, in report order; the fleet-side section of
	// external-system cells (what the fleet saw of the system: sweeps,
	// revisit intervals, refusals) after the API ones.
	for _, sec := range []func() (section, bool){r.apiSection, r.capacitySection, r.externalSection} {
		if s, ok := sec(); ok {
			d.Sections = append(d.Sections, s)
		}
	}
	d.Sections = append(d.Sections, r.idealSection())
	if s, ok := profileSection(groups, large); ok {
		d.Sections = append(d.Sections, s)
	}
	d.Sections = append(d.Sections, thresholdSection(run, groups, v)...)
	return d
}

// figuresNote explains the notation of every comparison table.
const figuresNote = "How to read the figures: each figure names its window (cycles: first to last measured cycle; API: load and capacity search) and its process (system under test, runner, machine). " +
	"n is the samples behind a statistic in one repetition; a percentile n cannot support (p99 needs n ≥ 100, p95 n ≥ 20, p90 n ≥ 10) is shown as \"= max (n=…)\". " +
	"[lo, hi] is a 95% CI: a bootstrap over repetitions when there are two or more, else over the one repetition's samples. Ratios carry the bootstrap CI of the ratio of medians, or say n=1; \"≥\" is a lower bound (a capacity search that never failed), and so is every ratio built on one."

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

// comparisonFigures are the rows of the scaling and before/after tables.
var comparisonFigures = []figure{
	windowFig("Memory (RSS peak, cycles window)", results.Bytes, cyclesW, func(_ results.Cell, w *results.Window) (float64, bool) { return float64(w.RSSPeak), w.RSSPeak > 0 }),
	windowFig("CPU system (cycles window, % of a core)", results.Percent, cyclesW, cpuCore(cpuSystem)),
	windowFig("CPU runner (cycles window, % of a core)", results.Percent, cyclesW, cpuCore(cpuRunner)),
	windowFig("CPU machine % (cycles window)", results.Percent, cyclesW, machinePct),
	valFig("CPU system per processed frame (cycles window)", results.Nanoseconds, cpuPerFrame),
	quantFig("Latency (cycle p50)", "p50", cycleQ),
	quantFig("Latency (cycle p99)", "p99", cycleQ),
	quantFig("Per-frame latency (p99)", "p99", frameQ),
	metricFig("Error rate", "error_rate"),
}

// comparisonFigures adds the schema-1 resource figures when some cell
// has no windows.
func (r *reader) comparisonFigures() []figure {
	figs := slices.Clone(comparisonFigures)
	if r.hasLegacy() {
		figs = append(figs, legacyFigures[0], legacyFigures[3])
	}
	return figs
}

func cycleQ(c results.Cell) results.Quantiles { return c.Cycles.Latency }
func frameQ(c results.Cell) results.Quantiles { return c.Cycles.PerCamera }
func freshQ(c results.Cell) results.Quantiles { return c.Cycles.Freshness }

func machinePct(_ results.Cell, w *results.Window) (float64, bool) {
	return w.CPUMachinePercent, w.CPUMachinePercent > 0
}

func rssPeak(_ results.Cell, w *results.Window) (float64, bool) {
	return float64(w.RSSPeak), w.RSSPeak > 0
}

// rssMean is a window's mean RSS, with its samples as n.
func rssMean(label string, pick func(results.Windows) *results.Window) figure {
	return figure{label: label, unit: results.Bytes, get: func(c results.Cell) obs {
		w := pick(c.Windows)
		if w == nil || w.RSSMean <= 0 {
			return obs{}
		}
		return obs{v: float64(w.RSSMean), ok: true, n: int64(w.Samples)}
	}}
}

// modeFigures are the rows of the every-mode table. Goroutines, FDs and GC
// pauses are sampled over the whole cell (start-up to the end of the API
// load) and say so.
var modeFigures = []figure{
	quantFig("Cycle p50", "p50", cycleQ),
	quantFig("Cycle mean", "mean", cycleQ),
	quantFig("Cycle p95", "p95", cycleQ),
	quantFig("Cycle p99", "p99", cycleQ),
	quantFig("Cycle max", "max", cycleQ),
	quantFig("Per-frame p50 (one camera: fetch + analyze + store)", "p50", frameQ),
	quantFig("Per-frame p99", "p99", frameQ),
	quantFig("Freshness stored p99 (capture → stored)", "p99", freshQ),
	quantFig("Freshness served p50 (age of `latest` reads, cycles window)", "p50", servedAge),
	quantFig("Freshness served p99", "p99", servedAge),
	quantFig("Freshness served p99, reads served fresh (neither stale nor offline)", "p99", servedFreshAge),
	servedFig("Reads served fresh", func(f *results.Freshness) int { return f.Fresh }),
	servedFig("Stale reads served", func(f *results.Freshness) int { return f.Stale }),
	servedFig("Offline reads served", func(f *results.Freshness) int { return f.Offline }),
	servedFig("Reads of cameras the fleet had dark (its ground truth)", func(f *results.Freshness) int { return f.Dark }),
	metricFig("Error rate", "error_rate"),
	windowFig("RSS peak (cycles window)", results.Bytes, cyclesW, rssPeak),
	rssMean("RSS mean (cycles window)", cyclesW),
	windowFig("RSS peak (API window)", results.Bytes, apiW, rssPeak),
	rssMean("RSS mean (API window)", apiW),
	windowFig("CPU system (cycles window, % of a core)", results.Percent, cyclesW, cpuCore(cpuSystem)),
	windowFig("CPU runner (cycles window, % of a core)", results.Percent, cyclesW, cpuCore(cpuRunner)),
	windowFig("CPU machine % (cycles window)", results.Percent, cyclesW, machinePct),
	valFig("CPU system per processed frame (cycles window)", results.Nanoseconds, cpuPerFrame),
	windowFig("CPU system (API window, % of a core)", results.Percent, apiW, cpuCore(cpuSystem)),
	windowFig("CPU runner (API window, % of a core)", results.Percent, apiW, cpuCore(cpuRunner)),
	windowFig("CPU machine % (API window)", results.Percent, apiW, machinePct),
	hitFig("Cache L1 hit ratio (cycles window)", cyclesW, false),
	hitFig("Cache L2 hit ratio (cycles window)", cyclesW, true),
	hitFig("Cache L1 hit ratio (API window)", apiW, false),
	hitFig("Cache L2 hit ratio (API window)", apiW, true),
	metricFig("Goroutines peak (whole cell)", "goroutines_peak"),
	metricFig("Open FDs peak (whole cell)", "fds_peak"),
	metricFig("New camera connections (measured cycles)", "camera_connections"),
	metricFig("GC pause max (whole cell)", "gc_pause_max"),
	sentFig("", metricFig("API throughput (successful req/s, API window)", "api_throughput")),
	capacityFig("API capacity (req/s, summed over searched endpoints)", ""),
	metricFig("Ideal cycle", "ideal_cycle"),
	valFig("Efficiency (ideal ÷ actual p50, unclipped)", results.Count, efficiency),
}

// legacyFigures are schema-1 resource figures, sampled over a window that
// was not recorded (start-up to the end of the API load); they are shown
// only for cells without windows, and labelled so.
var legacyFigures = []figure{
	metricFig("RSS peak (window not recorded)", "rss_peak"),
	metricFig("RSS mean (window not recorded)", "rss_mean"),
	metricFig("CPU system (window not recorded, % of a core)", "cpu_core"),
	metricFig("CPU system (window not recorded, machine %)", "cpu_machine"),
}

func efficiency(c results.Cell) (float64, bool) {
	return c.Ideal.Efficiency, c.Ideal.CycleTime > 0
}

func (r *reader) hasLegacy() bool {
	for _, c := range r.run.Cells {
		if c.Windows.Cycles == nil && c.Resources.RSSPeak > 0 {
			return true
		}
	}
	return false
}

func (r *reader) modesSection(modes []string, counts []int) section {
	s := section{ID: "modes", Title: "Every mode side by side",
		Intro: "Cycle time beside per-frame latency; resources, CPU and cache traffic per window."}
	figs := modeFigures
	if r.hasLegacy() {
		figs = append(slices.Clone(figs), legacyFigures...)
	}
	for _, n := range counts {
		t := table{Caption: fmt.Sprintf("%d cameras", n), Header: []string{"Metric"}, Bold: -1}
		gs := make([]results.Group, len(modes))
		have := make([]bool, len(modes))
		for i, m := range modes {
			gs[i], have[i] = results.Find(r.groups, m, n)
			label := m
			if have[i] {
				label = groupLabel(gs[i]) // the group shown: batched×1 of a replicas run
			}
			t.Header = append(t.Header, label)
		}
		cellOf := func(i int, f func(results.Group) string) string {
			if !have[i] {
				return "not run"
			}
			return f(gs[i])
		}
		for _, f := range figs {
			line := []string{f.label}
			empty := true
			for i := range modes {
				v := cellOf(i, func(g results.Group) string { return r.show(g, f) })
				line = append(line, v)
				if have[i] && len(r.collect(gs[i], f).obs) > 0 {
					empty = false
				}
			}
			if empty && r.anyOK(gs, have) {
				continue // no cell of this size holds the figure
			}
			t.Rows = append(t.Rows, line)
		}
		line := []string{"Errors by kind"}
		for i := range modes {
			line = append(line, cellOf(i, func(g results.Group) string { return r.errorKinds(g) }))
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

func (r *reader) anyOK(gs []results.Group, have []bool) bool {
	for i, g := range gs {
		if have[i] && len(g.OK()) > 0 {
			return true
		}
	}
	return false
}

// growthFigures are what the growth table follows as the fleet grows.
var growthFigures = []figure{
	quantFig("Cycle p50", "p50", cycleQ),
	valFig("CPU system per processed frame (cycles window)", results.Nanoseconds, cpuPerFrame),
	windowFig("RSS peak (cycles window)", results.Bytes, cyclesW, rssPeak),
}

// growthSection shows, for a scenario with three or more camera counts,
// how cycle time, CPU per processed frame and RSS grow with cameras; the
// HTML report draws each against cameras.
func (r *reader) growthSection(modes []string, counts []int) section {
	header := []string{"Mode", "Cameras", "Cameras ×"}
	for _, f := range growthFigures {
		header = append(header, f.label, "×")
	}
	t := table{Header: header, Bold: -1}
	for _, m := range modes {
		base, ok := results.Find(r.groups, m, counts[0])
		if !ok {
			continue
		}
		for _, n := range counts {
			g, ok := results.Find(r.groups, m, n)
			if !ok {
				continue
			}
			line := []string{m, strconv.Itoa(n), results.Format(float64(n)/float64(counts[0]), results.Count) + "×"}
			for _, f := range growthFigures {
				sb, sg := r.collect(base, f), r.collect(g, f)
				x := ratio(sb, sg)
				if n == counts[0] {
					x = "1× (base)"
				}
				line = append(line, sg.render(), x)
			}
			t.Rows = append(t.Rows, line)
		}
	}
	return section{ID: "growth", Title: fmt.Sprintf("Growth with cameras: %s", joinInts(counts)),
		Intro:  fmt.Sprintf("Each figure at every camera count, and its ratio to the figure at %d cameras (95%% CI over repetitions). CPU per processed frame is the system's CPU time over the cycles window ÷ the frames it processed: flat when the work per camera does not grow with the fleet.", counts[0]),
		Tables: []table{t}}
}

func joinInts(ns []int) string {
	parts := make([]string, len(ns))
	for i, n := range ns {
		parts[i] = strconv.Itoa(n)
	}
	return strings.Join(parts, " / ") + " cameras"
}

// errorKinds renders the median count of each error kind: "timeout 740,
// placeholder 370".
func (r *reader) errorKinds(g results.Group) string {
	ok := g.OK()
	if len(ok) == 0 {
		return r.groupStatus(g)
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

func (r *reader) apiSection() (section, bool) {
	eps := endpoints(r.groups)
	if len(eps) == 0 {
		return section{}, false
	}
	t := table{Header: []string{"Mode", "Cameras", "Endpoint", "Rate (req/s)", "Throughput (req/s)", "Success", "p50", "p99", "p99 uncorrected", "Capacity (req/s)", "Bracket (last pass … first fail)"}, Bold: -1}
	for _, g := range r.groups {
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
			lat := func(stat string, raw bool) figure {
				return quantFig("", stat, func(c results.Cell) results.Quantiles {
					if raw {
						return c.API[ep].LatencyRaw
					}
					return c.API[ep].Latency
				})
			}
			m := "api." + ep + "."
			t.Rows = append(t.Rows, []string{groupLabel(g), strconv.Itoa(g.Cameras), name, r.show(g, metricFig("", m+"rate")), r.show(g, sentFig(ep, metricFig("", m+"throughput"))),
				r.show(g, metricFig("", m+"success")), r.show(g, lat("p50", false)), r.show(g, lat("p99", false)), r.show(g, lat("p99", true)),
				r.show(g, capacityFig("", ep)), r.bracket(g, ep)})
		}
	}
	return section{ID: "api", Title: "API per endpoint",
		Intro: "Open-loop attacks (vegeta) in the API window; latency from the intended send time, with n the requests of one repetition. " +
			"Capacity is the highest rate that met the SLO, when searched (— when not): \"≥\" when the search never failed (censored at its cap or time budget), else bracketed by the last passing and first failing rate.",
		Tables: []table{t}}, true
}

// bracket renders the capacity bracket of the first ok repetition that
// searched ep: "44 … 48 req/s", "≥ 4678 (cap 5000, never failed)".
func (r *reader) bracket(g results.Group, ep string) string {
	for _, c := range g.OK() {
		e, ok := c.API[ep]
		if !ok || e.Capacity == nil {
			continue
		}
		k := e.Capacity
		f := func(v float64) string { return results.Format(v, results.Count) }
		switch {
		case k.Censored:
			s := "≥ " + f(k.Rate) + ", never failed"
			if k.Cap > 0 {
				s += " (cap " + f(k.Cap) + ")"
			}
			return s
		case k.LastPass != nil && k.FirstFail != nil:
			return f(*k.LastPass) + " … " + f(*k.FirstFail)
		case k.FirstFail != nil:
			return "< " + f(*k.FirstFail)
		}
		return "—"
	}
	return "—"
}

// capacitySection lists the steps of every capacity search (HTML only):
// the first ok repetition of each cell and endpoint.
func (r *reader) capacitySection() (section, bool) {
	s := section{ID: "capacity-steps", Title: "Capacity search steps", HTMLOnly: true,
		Intro: "Each rate the search tried (×2 until the SLO failed or the cap, then bisection), in the API window: each step is an attack of its own (its window, the step's duration), by the runner on the system under test's endpoint, latency from the intended send time; every figure of a row has the step's requests as its n. " +
			"A step with too few requests for its percentile (< 100 for a p99) is judged on its maximum, stricter, and says so; — where the step measured nothing."}
	for _, g := range r.groups {
		for _, ep := range endpoints(r.groups) {
			for _, c := range g.OK() {
				e, ok := c.API[ep]
				if !ok || e.Capacity == nil || len(e.Capacity.Steps) == 0 {
					continue
				}
				t := table{Caption: fmt.Sprintf("%s/%d %s (repeat %d): capacity %s req/s (system under test, API window)", groupLabel(g), g.Cameras, ep, c.Repeat, capText(e.Capacity)),
					Header: []string{"Rate (req/s)", "Step window", "Requests (n)", "p99", "Max", "Error rate", "Judged on", "Pass"}, Bold: -1}
				for _, st := range e.Capacity.Steps {
					judged := st.JudgedOn
					if judged == "" {
						judged = "p99"
					}
					switch judged {
					case "max":
						judged = fmt.Sprintf("max (n=%d: too few for a p99)", st.Requests)
					case "decided":
						judged = fmt.Sprintf("decided early (n=%d of %d planned: more had missed the SLO than its p99 or error rate allow)", st.Requests, st.Planned)
					default:
						judged += fmt.Sprintf(" (n=%d)", st.Requests)
					}
					pass := "✅ pass"
					if !st.Pass {
						pass = "❌ fail"
					}
					p99 := results.FormatDuration(st.P99.D())
					if !results.Supports(int64(st.Requests), 0.99) {
						p99 = "— (n too small)" // never a p99 its n cannot support
					}
					window, maxLat, errRate := "—", "—", "—" // not recorded, no request
					if st.Duration > 0 {
						window = results.FormatDuration(st.Duration.D())
					}
					if st.Requests > 0 {
						maxLat = results.FormatDuration(st.Max.D())
						errRate = results.Format(st.ErrorRate, results.Ratio)
					}
					t.Rows = append(t.Rows, []string{results.Format(st.Rate, results.Count), window, strconv.FormatUint(st.Requests, 10),
						p99, maxLat, errRate, judged, pass})
				}
				s.Tables = append(s.Tables, t)
				break
			}
		}
	}
	return s, len(s.Tables) > 0
}

// capText is a capacity as text: "≥ 4678" when censored.
func capText(k *results.Capacity) string {
	if k.LastPass == nil && k.FirstFail == nil {
		return "—" // no step ran
	}
	if k.LastPass == nil && k.FirstFail != nil {
		return "< " + results.Format(*k.FirstFail, results.Count) + " (the floor failed)"
	}
	s := results.Format(k.Rate, results.Count)
	if k.Censored {
		return "≥ " + s
	}
	return s
}

func (r *reader) idealSection() section {
	t := table{Header: []string{"Mode", "Cameras", "Ideal cycle", "Actual (p50)", "Efficiency (unclipped)", "Bound by", "From", "The system (cycles window): CPU % of a core; CPU per processed frame"}, Bold: -1}
	eff := valFig("", results.Count, efficiency)
	sysCPU := windowFig("", results.Percent, cyclesW, cpuCore(cpuSystem))
	perFrame := valFig("", results.Nanoseconds, cpuPerFrame)
	for _, g := range r.groups {
		basis, from := "—", "—"
		for _, c := range g.OK() {
			if c.Ideal.Basis != "" {
				basis = c.Ideal.Basis
				switch {
				case c.Ideal.Basis == "cpu" && c.Ideal.PerFrame > 0:
					// The CPU term's own inputs, beside what the system
					// used: the gap splits into cores and work per frame.
					from = fmt.Sprintf("frames × %s of analysis a frame (the runner's own, mean over the fleet's frames) ÷ %d cores",
						results.FormatDuration(c.Ideal.PerFrame.D()), c.Ideal.Cores)
				case c.Ideal.Draws > 0:
					from = fmt.Sprintf("the cycles' own %d latency draws + %d handshakes", c.Ideal.Draws, c.Ideal.Handshakes)
				default:
					from = "the latency distribution"
				}
				break
			}
		}
		e := r.show(g, eff)
		if s := r.collect(g, eff); len(s.obs) > 0 && slices.ContainsFunc(s.obs, func(o obs) bool { return o.v > 1 }) {
			e += " ⚠ > 1: bug"
		}
		used := r.show(g, sysCPU) + "; " + r.show(g, perFrame)
		if used == "—; —" {
			used = "—"
		}
		t.Rows = append(t.Rows, []string{groupLabel(g), strconv.Itoa(g.Cameras), r.show(g, metricFig("", "ideal_cycle")), r.show(g, quantFig("", "p50", cycleQ)), e, basis, from, used})
	}
	return section{ID: "ideal", Title: "Ideal vs actual cycle time",
		Intro:  "The ideal is a lower bound on the cycle the scenario allows (camera latency drawn by the fleet for the measured cycles, host capacity, CPU work per frame ÷ cores); efficiency is ideal ÷ actual p50, never clipped: above 1 the bound was not a bound, a bug that fails the cell. When the CPU bound sets it, a CPU-bound system's gap to it is the cores it got (its CPU, % of a core, against the bound's cores) times its CPU per processed frame against the bound's work per frame.",
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
		Intro: "Top functions by flat share, from the CPU profile (taken inside the cycles window when its span is recorded) and the heap (in use) profile, written outside any window. Open the files with `go tool pprof`."}
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
			caption := "CPU: " + orUnknown(c.Profiles.CPU)
			if pw, cw := c.Profiles.CPUWindow, c.Windows.Cycles; pw != nil {
				where := "window not recorded"
				if cw != nil {
					where = "outside the cycles window"
					if !pw.Start.Before(cw.Start) && !pw.End.After(cw.End) {
						where = "inside the cycles window"
					}
				}
				caption += fmt.Sprintf(" (%s, %s)", results.FormatDuration(pw.End.Sub(pw.Start)), where)
			}
			t := table{Caption: caption, Header: []string{"Function", "Flat", "Share"}, Bold: -1}
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
			t.Rows = append(t.Rows, []string{"`" + r.Rule.String() + "`", gate.ResultCells(r), mark, measured, need, fmt.Sprint(r.N)})
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
