package reports

import (
	"github.com/camload/camload/internal/webstyle"

	"fmt"
	"html"
	"html/template"
	"io"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/camload/camload/reports/gate"
	"github.com/camload/camload/results"
)

// WriteHTML writes run's report as one self-contained HTML file: inline
// CSS and inline SVG charts, no script, nothing fetched from the network.
func WriteHTML(w io.Writer, run *results.Run) error {
	return WriteHTMLVerdict(w, run, nil)
}

// WriteHTMLVerdict is WriteHTML with a verdict already judged; v nil
// judges the run's thresholds.
func WriteHTMLVerdict(w io.Writer, run *results.Run, v *gate.Verdict) error {
	d := build(run, v)
	data := struct {
		*doc
		Charts []namedChart
	}{d, charts(newReader(run))}
	if err := htmlTmpl.Execute(w, data); err != nil {
		return fmt.Errorf("reports: rendering HTML: %w", err)
	}
	return nil
}

type namedChart struct {
	ID  string
	SVG template.HTML
}

// charts draws the report's figures from the run.
func charts(r *reader) []namedChart {
	run, groups := r.run, r.groups
	modes, counts := results.Modes(run), results.CameraCounts(run)
	if len(modes) == 0 {
		return nil
	}
	large := counts[len(counts)-1]
	durFmt := func(v float64) string { return results.FormatDuration(time.Duration(v)) }
	var out []namedChart

	// Latency percentiles per mode at the largest fleet; a percentile n
	// cannot support is drawn as the maximum, and the legend says so.
	stats := []string{"p50", "p95", "p99", "max"}
	vals := make([][]float64, len(stats))
	names := make([]string, len(stats))
	for s, st := range stats {
		names[s] = st
		asMax := false
		for _, m := range modes {
			g, _ := results.Find(groups, m, large)
			sr := r.collect(g, quantFig("", st, cycleQ))
			vals[s] = append(vals[s], med(sr))
			asMax = asMax || slices.ContainsFunc(sr.obs, func(o obs) bool { return o.max })
		}
		if asMax {
			names[s] += " (max where n too small)"
		}
	}
	out = append(out, namedChart{"latency-percentiles", barChart(chart{Title: fmt.Sprintf("Cycle latency percentiles per mode, %d cameras", large),
		YLabel: "cycle time", LogY: true, YFmt: durFmt}, modes, names, vals)})

	// Cycle latency vs cameras.
	cats := make([]string, len(counts))
	for i, n := range counts {
		cats[i] = fmt.Sprintf("%d cameras", n)
	}
	var lines []line
	for _, m := range modes {
		l := line{Name: m + " p99"}
		for i, n := range counts {
			g, _ := results.Find(groups, m, n)
			sr := r.collect(g, quantFig("", "p99", cycleQ))
			if slices.ContainsFunc(sr.obs, func(o obs) bool { return o.max }) {
				l.Name = m + " p99 (max where n < 100)"
			}
			l.Points = append(l.Points, point{float64(i), med(sr)})
		}
		lines = append(lines, l)
	}
	out = append(out, namedChart{"latency-vs-cameras", lineChart(chart{Title: "Cycle latency (p99) vs cameras", YLabel: "cycle time",
		LogY: true, YFmt: durFmt, XCats: cats}, lines)})
	if len(counts) >= 3 {
		out = append(out, r.growthCharts(modes, counts)...)
	}

	// RSS and CPU over time, one line per mode, at the largest fleet.
	var rss, cpu []line
	for _, m := range modes {
		g, _ := results.Find(groups, m, large)
		c, ok := seriesCell(g)
		if !ok {
			continue
		}
		lr, lc := line{Name: m}, line{Name: m}
		for _, s := range c.Resources.Series {
			t := s.At.D().Seconds()
			lr.Points = append(lr.Points, point{t, float64(s.RSS) / (1 << 20)})
			lc.Points = append(lc.Points, point{t, s.CPUPercent})
		}
		rss, cpu = append(rss, lr), append(cpu, lc)
	}
	secFmt := func(v float64) string { return results.Format(v, results.Count) + "s" }
	out = append(out,
		namedChart{"rss-over-time", lineChart(chart{Title: fmt.Sprintf("RSS of the system over time, %d cameras", large), XLabel: "time in the measured window",
			YLabel: "RSS (MiB)", XFmt: secFmt, YFmt: func(v float64) string { return results.Format(v, results.Count) }}, rss)},
		namedChart{"cpu-over-time", lineChart(chart{Title: fmt.Sprintf("CPU of the system over time, %d cameras", large), XLabel: "time in the measured window",
			YLabel: "CPU system (% of one core)", XFmt: secFmt, YFmt: func(v float64) string { return results.Format(v, results.Count) + "%" }}, cpu)})

	// API throughput per mode and endpoint.
	if eps := endpoints(groups); len(eps) > 0 {
		vals := make([][]float64, len(eps))
		for e, ep := range eps {
			for _, m := range modes {
				g, _ := results.Find(groups, m, large)
				vals[e] = append(vals[e], med(r.collect(g, sentFig(ep, metricFig("", "api."+ep+".throughput")))))
			}
		}
		out = append(out, namedChart{"api-throughput", barChart(chart{Title: fmt.Sprintf("API throughput per endpoint, %d cameras", large),
			YLabel: "successful req/s", LogY: true, YFmt: func(v float64) string { return results.Format(v, results.Count) }}, modes, eps, vals)})
	}
	return out
}

// med is the median of a series, NaN when it has no value.
func med(s series) float64 {
	if len(s.obs) == 0 {
		return math.NaN()
	}
	return results.Median(s.values())
}

// growthCharts draw cycle time, CPU per processed frame and RSS against
// cameras (a numeric axis, so linear growth is a straight line), one line
// per mode.
func (r *reader) growthCharts(modes []string, counts []int) []namedChart {
	camFmt := func(v float64) string { return results.Format(v, results.Count) }
	var out []namedChart
	for i, f := range growthFigures {
		var lines []line
		for _, m := range modes {
			l := line{Name: m}
			for _, n := range counts {
				g, ok := results.Find(r.groups, m, n)
				if !ok {
					continue
				}
				v := med(r.collect(g, f))
				if f.unit == results.Bytes {
					v /= 1 << 20
				}
				l.Points = append(l.Points, point{float64(n), v})
			}
			lines = append(lines, l)
		}
		yf := func(v float64) string { return results.Format(v, f.unit) }
		ylabel := f.label
		if f.unit == results.Bytes {
			yf = func(v float64) string { return results.Format(v, results.Count) }
			ylabel += " (MiB)"
		}
		id := []string{"growth-cycle", "growth-cpu-per-frame", "growth-rss"}[i]
		out = append(out, namedChart{id, lineChart(chart{Title: f.label + " vs cameras", XLabel: "cameras", YLabel: ylabel,
			XFmt: camFmt, YFmt: yf}, lines)})
	}
	return out
}

// seriesCell picks the first ok repetition with a resource series.
func seriesCell(g results.Group) (results.Cell, bool) {
	for _, c := range g.OK() {
		if len(c.Resources.Series) > 0 {
			return c, true
		}
	}
	return results.Cell{}, false
}

// htmlCell escapes s and renders `code` spans.
func htmlCell(s string) template.HTML {
	parts := strings.Split(s, "`")
	var b strings.Builder
	for i, p := range parts {
		if i%2 == 1 && i < len(parts)-1 {
			b.WriteString("<code>" + html.EscapeString(p) + "</code>")
			continue
		}
		if i%2 == 1 { // unmatched backtick
			b.WriteString("`")
		}
		b.WriteString(html.EscapeString(p))
	}
	return template.HTML(b.String()) // escaped above
}

var htmlTmpl = template.Must(template.New("report").Funcs(template.FuncMap{
	"css":  func() template.CSS { return template.CSS(webstyle.Base) },
	"cell": htmlCell,
	"bold": func(t table, i int) bool { return t.Bold == i },
	"fail": func(s string) bool {
		return strings.HasPrefix(s, "❌") || s == "over budget" || s == "failed" || strings.HasPrefix(s, "regression") || strings.Contains(s, "⚠")
	},
}).Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}</title>
<style>
{{css}}</style>
</head>
<body>
<main>
<h1>{{.Title}}</h1>
<dl class="facts">{{range .Facts}}<dt>{{index . 0}}</dt><dd>{{cell (index . 1)}}</dd>{{end}}</dl>
{{range .Warnings}}<div class="warn">⚠️ {{.}}</div>
{{end}}{{range .Notes}}<div class="note">ℹ️ {{.}}</div>
{{end}}{{if .Legend}}<p class="intro">{{.Legend}}</p>{{end}}
<h2 id="charts">Charts</h2>
<div class="charts">{{range .Charts}}
<figure id="{{.ID}}">{{.SVG}}</figure>{{end}}
</div>
{{range .Sections}}{{template "section" .}}{{end}}
</main>
</body>
</html>
{{define "section"}}
<section id="{{.ID}}">
<h2>{{.Title}}</h2>
{{if .Intro}}<p class="intro">{{cell .Intro}}</p>{{end}}
{{range .Tables}}{{template "table" .}}{{end}}
{{range .Sub}}<h3 id="{{.ID}}">{{.Title}}</h3>
{{range .Tables}}{{template "table" .}}{{end}}{{end}}
</section>
{{end}}
{{define "table"}}{{$t := .}}<table>{{if .Caption}}<caption>{{cell .Caption}}</caption>{{end}}
<thead><tr>{{range .Header}}<th>{{.}}</th>{{end}}</tr></thead>
<tbody>{{range .Rows}}<tr>{{range $i, $c := .}}<td{{if fail $c}} class="fail"{{end}}>{{if bold $t $i}}<strong>{{cell $c}}</strong>{{else}}{{cell $c}}{{end}}</td>{{end}}</tr>
{{end}}</tbody></table>
{{end}}
`))
