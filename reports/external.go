package reports

import (
	"fmt"
	"sort"
	"strings"

	"github.com/camload/camload/results"
)

// externalSection is what the fleet saw of each external system under test
// (results.Cell.External): sweeps, revisit intervals, over-polling,
// connections, refusals and errors served, and its process tree's
// resources per window. One row per repetition: these cells have no
// profiles (only camload's own system is profiled), and the section says so.
func (r *reader) externalSection() (section, bool) {
	t := table{Header: []string{"Mode", "Cameras", "Rep", "Cycles by", "Sweeps", "Sweep p50", "Sweep p99", "Revisit p50", "Revisit p99", "Requests / camera / sweep", "New connections", "Refused", "Errors served", "CPU (cycles window)", "RSS peak (cycles window)"}, Bold: -1}
	note := ""
	for _, g := range r.groups {
		for _, c := range g.Cells {
			x := c.External
			if x == nil {
				continue
			}
			f := x.Fleet
			cpu, rss := "—", "—"
			for _, w := range x.Windows {
				if w.Name == "cycles" {
					cpu = fmt.Sprintf("%.1f%% of a core (%.2f s)", w.CPUCorePercent, w.CPUSeconds)
					rss = results.FormatBytes(float64(w.RSSPeak))
				}
			}
			t.Rows = append(t.Rows, []string{c.Mode, fmt.Sprint(c.Cameras), fmt.Sprint(c.Repeat), x.CyclesBy, fmt.Sprint(f.Sweeps),
				summaryText(f.SweepTime, 0.5), summaryText(f.SweepTime, 0.99), summaryText(f.Revisit, 0.5), summaryText(f.Revisit, 0.99),
				fmt.Sprintf("%.2f (max %d)", f.RequestsPerCamera, f.MaxPerCamera), fmt.Sprint(f.NewConnections),
				kinds(f.Refused), kinds(f.Errors), cpu, rss})
			if x.NoProfiles != "" {
				note = x.NoProfiles
			}
		}
	}
	if len(t.Rows) == 0 {
		return section{}, false
	}
	intro := "What the fleet saw of each external system over its measured window (its fetch log; nothing asked of the system): a sweep ends when every camera has been served once since it began; revisit is each camera's interval between two visits, the bound on a poller's freshness; requests per camera per sweep above 1 is over-polling. CPU and RSS are the system's whole process tree, from /proc."
	if note != "" {
		intro += " No CPU or heap profile: " + note + "."
	}
	return section{ID: "external", Title: "External systems, seen from the fleet", Intro: intro, Tables: []table{t}}, true
}

// summaryText is quantile q of a fleet-side summary with its n, or its
// maximum when n cannot support q (results.Supports).
func summaryText(s results.Summary, q float64) string {
	if s.N == 0 {
		return "—"
	}
	if !results.Supports(int64(s.N), q) {
		return fmt.Sprintf("%s = max (n=%d)", results.FormatDuration(s.Max.D()), s.N)
	}
	v := s.P50
	if q >= 0.99 {
		v = s.P99
	} else if q >= 0.9 {
		v = s.P90
	}
	return fmt.Sprintf("%s (n=%d)", results.FormatDuration(v.D()), s.N)
}

// kinds renders counts by kind, "—" when none.
func kinds(m map[string]int) string {
	if len(m) == 0 {
		return "—"
	}
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	sort.Strings(names)
	parts := make([]string, len(names))
	for i, k := range names {
		parts[i] = fmt.Sprintf("%s %d", k, m[k])
	}
	return strings.Join(parts, ", ")
}
