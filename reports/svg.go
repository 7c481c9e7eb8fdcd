package reports

import (
	"fmt"
	"html"
	"html/template"
	"math"
	"strings"
)

// Charts are inline SVG drawn here, so a report needs no script and no
// network to be read.

const (
	chartW, chartH                  = 720, 330
	marginL, marginR, marginT, marB = 76, 16, 34, 78
)

// maxTicks bounds the labels on an axis.
const maxTicks = 24

var palette = []string{"#4e79a7", "#f28e2b", "#e15759", "#59a14f", "#b07aa1", "#76b7b2", "#edc948", "#9c755f"}

func color(i int) string { return palette[i%len(palette)] }

// point is one (x, y) of a line; NaN y is a gap.
type point struct{ X, Y float64 }

// line is one named series of a line chart.
type line struct {
	Name   string
	Points []point
}

// chart holds what line and bar charts share.
type chart struct {
	Title, XLabel, YLabel string
	LogY                  bool
	YFmt                  func(float64) string
	XFmt                  func(float64) string
	// XCats, when set, makes x categorical: point X values are indices.
	XCats []string
}

// scale maps data values to the plot's pixels.
type scale struct {
	log      bool
	lo, hi   float64 // in data units (log10 units for log)
	pix0, px float64 // pixel of lo, pixels per unit (negative for y)
}

func (s scale) at(v float64) float64 {
	if s.log {
		v = math.Log10(v)
	}
	return s.pix0 + (v-s.lo)*s.px
}

// yScale chooses the y range and ticks for values.
func yScale(values []float64, logY bool) (scale, []float64) {
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, v := range values {
		if math.IsNaN(v) || (logY && v <= 0) {
			continue
		}
		lo, hi = math.Min(lo, v), math.Max(hi, v)
	}
	plotH := float64(chartH - marginT - marB)
	if math.IsInf(lo, 0) { // nothing to plot
		lo, hi = 0, 1
		logY = false
	}
	if logY && hi/lo < 20 {
		logY = false // a log axis over less than ~a decade only confuses
	}
	if logY {
		l, h := math.Floor(math.Log10(lo)), math.Ceil(math.Log10(hi))
		if l == h {
			h++
		}
		if h-l > maxTicks {
			l = h - maxTicks
		}
		var ticks []float64
		for e := l; e <= h; e++ {
			ticks = append(ticks, math.Pow(10, e))
		}
		return scale{log: true, lo: l, hi: h, pix0: float64(chartH - marB), px: -plotH / (h - l)}, ticks
	}
	if lo > 0 {
		lo = 0
	}
	step := niceStep((hi - lo) / 5)
	top := math.Ceil(hi/step) * step
	if top <= hi {
		top += step
	}
	if top == lo {
		top = lo + 1
	}
	var ticks []float64
	// Bounded: absurd inputs (±1e308) must not loop forever.
	for i, v := 0, lo; v <= top+step/2 && i < maxTicks; i, v = i+1, v+step {
		ticks = append(ticks, v)
	}
	return scale{lo: lo, hi: top, pix0: float64(chartH - marB), px: -plotH / (top - lo)}, ticks
}

// niceStep rounds raw up to 1, 2 or 5 × 10^k.
func niceStep(raw float64) float64 {
	if raw <= 0 || math.IsNaN(raw) || math.IsInf(raw, 0) {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 5, 10} {
		if raw <= m*p {
			return m * p
		}
	}
	return 10 * p
}

type svgBuilder struct{ strings.Builder }

func (b *svgBuilder) f(format string, args ...any) { fmt.Fprintf(&b.Builder, format, args...) }

func esc(s string) string { return html.EscapeString(s) }

// frame draws the title, y axis with grid and labels; it returns the
// builder with the <svg> open.
func frame(c chart, ys scale, ticks []float64) *svgBuilder {
	b := &svgBuilder{}
	b.f(`<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" role="img" aria-label="%s">`, chartW, chartH, esc(c.Title))
	b.f(`<title>%s</title>`, esc(c.Title))
	b.f(`<text class="ct" x="%d" y="20">%s</text>`, marginL, esc(c.Title))
	yf := c.YFmt
	if yf == nil {
		yf = func(v float64) string { return fmt.Sprint(v) }
	}
	for _, t := range ticks {
		y := ys.at(t)
		b.f(`<line class="grid" x1="%d" x2="%d" y1="%.1f" y2="%.1f"/>`, marginL, chartW-marginR, y, y)
		b.f(`<text class="tick" x="%d" y="%.1f" text-anchor="end">%s</text>`, marginL-6, y+4, esc(yf(t)))
	}
	b.f(`<line class="axis" x1="%d" x2="%d" y1="%d" y2="%d"/>`, marginL, marginL, marginT, chartH-marB)
	b.f(`<line class="axis" x1="%d" x2="%d" y1="%d" y2="%d"/>`, marginL, chartW-marginR, chartH-marB, chartH-marB)
	if c.YLabel != "" {
		b.f(`<text class="lbl" transform="translate(14,%d) rotate(-90)" text-anchor="middle">%s</text>`, (chartH-marB+marginT)/2, esc(c.YLabel))
	}
	if c.XLabel != "" {
		b.f(`<text class="lbl" x="%d" y="%d" text-anchor="middle">%s</text>`, (marginL+chartW-marginR)/2, chartH-marB+36, esc(c.XLabel))
	}
	return b
}

// legend draws swatches under the plot.
func legend(b *svgBuilder, names []string) {
	x := marginL
	y := chartH - 18
	for i, n := range names {
		b.f(`<rect x="%d" y="%d" width="12" height="12" fill="%s"/>`, x, y-10, color(i))
		b.f(`<text class="leg" x="%d" y="%d">%s</text>`, x+16, y, esc(n))
		x += 28 + 7*len([]rune(n))
	}
}

// lineChart draws one polyline per series with a marker per point.
func lineChart(c chart, lines []line) template.HTML {
	var ys []float64
	xlo, xhi := math.Inf(1), math.Inf(-1)
	for _, l := range lines {
		for _, p := range l.Points {
			ys = append(ys, p.Y)
			xlo, xhi = math.Min(xlo, p.X), math.Max(xhi, p.X)
		}
	}
	ysc, ticks := yScale(ys, c.LogY)
	b := frame(c, ysc, ticks)
	plotW := float64(chartW - marginL - marginR)
	var xs scale
	if c.XCats != nil {
		// Categories sit in the middle of equal slots.
		n := float64(len(c.XCats))
		xs = scale{lo: -0.5, hi: n - 0.5, pix0: float64(marginL), px: plotW / n}
		for i, cat := range c.XCats {
			b.f(`<text class="tick" x="%.1f" y="%d" text-anchor="middle">%s</text>`, xs.at(float64(i)), chartH-marB+16, esc(cat))
		}
	} else {
		if math.IsInf(xlo, 0) || xhi == xlo {
			xlo, xhi = 0, math.Max(1, xhi)
		}
		if xlo > 0 {
			xlo = 0
		}
		step := niceStep((xhi - xlo) / 6)
		xs = scale{lo: xlo, hi: xhi, pix0: float64(marginL), px: plotW / (xhi - xlo)}
		xf := c.XFmt
		if xf == nil {
			xf = func(v float64) string { return fmt.Sprint(v) }
		}
		for i, v := 0, xlo; v <= xhi+step/1000 && i < maxTicks; i, v = i+1, v+step {
			anchor := "middle"
			if xs.at(v) > float64(chartW-marginR)-20 {
				anchor = "end" // the last label stays inside the chart
			}
			b.f(`<text class="tick" x="%.1f" y="%d" text-anchor="%s">%s</text>`, xs.at(v), chartH-marB+16, anchor, esc(xf(v)))
		}
	}
	yf := c.YFmt
	if yf == nil {
		yf = func(v float64) string { return fmt.Sprint(v) }
	}
	names := make([]string, len(lines))
	for i, l := range lines {
		names[i] = l.Name
		var pts []string
		for _, p := range l.Points {
			if math.IsNaN(p.Y) || (ysc.log && p.Y <= 0) {
				continue
			}
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", xs.at(p.X), ysc.at(p.Y)))
		}
		if len(pts) == 0 {
			continue
		}
		b.f(`<polyline class="series" fill="none" stroke="%s" stroke-width="2" points="%s"/>`, color(i), strings.Join(pts, " "))
		if len(l.Points) <= 40 {
			for _, p := range l.Points {
				if math.IsNaN(p.Y) || (ysc.log && p.Y <= 0) {
					continue
				}
				b.f(`<circle cx="%.1f" cy="%.1f" r="3.5" fill="%s"><title>%s: %s</title></circle>`, xs.at(p.X), ysc.at(p.Y), color(i), esc(l.Name), esc(yf(p.Y)))
			}
		}
	}
	legend(b, names)
	b.f(`</svg>`)
	return template.HTML(b.String()) // built from escaped parts only
}

// barChart draws grouped bars: values[s][g] is series s in group g; NaN is
// a missing bar, labelled "n/a".
func barChart(c chart, groups, series []string, values [][]float64) template.HTML {
	var all []float64
	for _, vs := range values {
		all = append(all, vs...)
	}
	ysc, ticks := yScale(all, c.LogY)
	b := frame(c, ysc, ticks)
	yf := c.YFmt
	if yf == nil {
		yf = func(v float64) string { return fmt.Sprint(v) }
	}
	plotW := float64(chartW - marginL - marginR)
	slot := plotW / float64(max(1, len(groups)))
	barW := math.Min(40, slot*0.8/float64(max(1, len(series))))
	base := float64(chartH - marB)
	for g, name := range groups {
		x0 := float64(marginL) + slot*float64(g) + (slot-barW*float64(len(series)))/2
		b.f(`<text class="tick" x="%.1f" y="%d" text-anchor="middle">%s</text>`, float64(marginL)+slot*(float64(g)+0.5), chartH-marB+16, esc(name))
		for s := range series {
			v := math.NaN()
			if g < len(values[s]) {
				v = values[s][g]
			}
			x := x0 + barW*float64(s)
			if math.IsNaN(v) {
				b.f(`<text class="na" x="%.1f" y="%.1f" text-anchor="middle">n/a</text>`, x+barW/2, base-4)
				continue
			}
			top := base
			if !(ysc.log && v <= 0) {
				top = math.Max(float64(marginT), math.Min(base, ysc.at(v)))
			}
			b.f(`<rect class="bar" x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"><title>%s, %s: %s</title></rect>`,
				x, top, math.Max(barW-2, 1), math.Max(base-top, 0.5), color(s), esc(name), esc(series[s]), esc(yf(v)))
		}
	}
	legend(b, series)
	b.f(`</svg>`)
	return template.HTML(b.String()) // built from escaped parts only
}
