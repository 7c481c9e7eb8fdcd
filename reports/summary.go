package reports

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/camload/camload/results"
)

// WriteSummary writes r as a plain-text table: one line per cell with
// cycle latency (with its n; a percentile n cannot support shown as the
// maximum, see percentile), per-frame p99, error rate, RSS and CPU of the
// cycles window and efficiency, then one line per API endpoint with its
// capacity ("≥" when censored). A figure the cell did not measure (the
// ideal of a replicas cell, a window without an RSS sample, the success of
// an endpoint no request reached) reads "-", never 0. It is what `camload
// run` prints.
func WriteSummary(w io.Writer, r *results.Run) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "scenario %s — %s, %s, %d cores, Go %s, commit %.12s\n", r.Scenario, r.Env.CPUModel, r.Env.OS+"/"+r.Env.Arch, r.Env.Cores, r.Env.GoVersion, r.Env.Commit)
	fmt.Fprintf(tw, "backends: mongo %s; redis %s\n", orUnknown(r.Env.Backends.Mongo), orUnknown(r.Env.Backends.Redis))
	if r.Interrupted {
		fmt.Fprintln(tw, "INTERRUPTED: partial results")
	}
	rd := newReader(r)
	fmt.Fprintln(tw, "\nmode\tcameras\trep\tstatus\tcycle p50\tcycle p99\tframe p99\terrors\treconciled\tRSS peak (cycles)\tCPU sys % core (cycles)\tideal\tefficiency")
	for _, c := range r.Cells {
		if c.Status != results.StatusOK && c.Status != "" {
			fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t-\t-\t-\t-\t-\t-\t-\t-\t-\n", modeLabel(c), c.Cameras, c.Repeat, strings.ReplaceAll(rd.cellStatus(c), " ", "_"))
			continue
		}
		rec := "yes"
		if !c.Cycles.Reconciled {
			rec = "no"
		} else if n := c.Cycles.TimeoutsMidAnswer; n > 0 {
			// timeouts whose answer the fleet had begun
			rec = fmt.Sprintf("yes (%d timed out mid-answer)", n)
		}
		// A figure the cell did not measure reads "-", never 0: a replicas
		// cell has no ideal, a window may hold no RSS sample.
		errs := "-"
		if v, _, ok := results.Metric(c, "error_rate"); ok {
			errs = fmt.Sprintf("%.2f%%", 100*v)
		}
		rss, cpu := "-", "-"
		if w := c.Windows.Cycles; w != nil {
			if w.RSSPeak > 0 {
				rss = bytesIEC(w.RSSPeak)
			}
			if v, ok := cpuCore(cpuSystem)(c, w); ok {
				cpu = fmt.Sprintf("%.0f", v)
			}
		} else if c.Resources.RSSPeak > 0 {
			rss = bytesIEC(c.Resources.RSSPeak) + " (whole cell)"
			cpu = fmt.Sprintf("%.0f (whole cell)", c.Resources.CPUCorePercent)
		}
		ideal, eff := "-", "-"
		if v, _, ok := results.Metric(c, "ideal_cycle"); ok {
			ideal = round(results.Duration(v))
		}
		if v, _, ok := results.Metric(c, "efficiency"); ok {
			eff = fmt.Sprintf("%.2f", v)
			if v > 1 {
				eff += " BUG: > 1"
			}
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n",
			modeLabel(c), c.Cameras, c.Repeat, c.Status, quantText(c.Cycles.Latency, "p50"), quantText(c.Cycles.Latency, "p99"), quantText(c.Cycles.PerCamera, "p99"),
			errs, rec, rss, cpu, ideal, eff)
	}
	var api []string
	for _, c := range r.Cells {
		names := make([]string, 0, len(c.API))
		for n := range c.API {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			e := c.API[n]
			throughput, success := "-", "-" // no request sent: neither measured
			if e.Requests > 0 {
				throughput = fmt.Sprintf("%.1f", e.Throughput)
			}
			if v, _, ok := results.Metric(c, "api."+n+".success"); ok {
				success = fmt.Sprintf("%.1f%%", 100*v)
			}
			capacity := "-"
			if k := e.Capacity; k != nil && (k.LastPass != nil || k.FirstFail != nil) { // else no step ran
				capacity = fmt.Sprintf("%.0f req/s", k.Rate)
				switch {
				case k.Censored:
					capacity = "≥ " + capacity + " (never failed)"
				case k.LastPass != nil && k.FirstFail != nil:
					capacity += fmt.Sprintf(" (fails at %.0f)", *k.FirstFail)
				case k.FirstFail != nil:
					capacity = fmt.Sprintf("< %.0f req/s (the floor failed)", *k.FirstFail)
				}
			}
			api = append(api, fmt.Sprintf("%s\t%d\t%s\t%.0f\t%s\t%s\t%s\t%s\t%s\n", modeLabel(c), c.Cameras, n, e.Rate, throughput, success,
				quantText(e.Latency, "p50"), quantText(e.Latency, "p99"), capacity))
		}
	}
	if len(api) > 0 {
		fmt.Fprintln(tw, "\nmode\tcameras\tendpoint\trate\tthroughput\tsuccess\tp50\tp99\tcapacity")
		fmt.Fprint(tw, strings.Join(api, ""))
	}
	for _, c := range r.Cells {
		if c.Error != "" {
			fmt.Fprintf(tw, "\n%s × %d (r%d): %s: %s", modeLabel(c), c.Cameras, c.Repeat, rd.cellStatus(c), c.Error)
		}
		if !c.Cycles.Reconciled && c.Cycles.Mismatch != "" {
			fmt.Fprintf(tw, "\n%s × %d (r%d) errors vs injected faults: %s", modeLabel(c), c.Cameras, c.Repeat, c.Cycles.Mismatch)
		}
	}
	writeScaleoutText(tw, r) // scaleout.go
	fmt.Fprintln(tw)
	return tw.Flush()
}

// quantText renders one statistic of q for the text summary: "1.2s
// (n=10)", "9.87s=max (n=10)" when n cannot support the percentile.
func quantText(q results.Quantiles, stat string) string {
	o := percentile(q, stat)
	if !o.ok {
		return "-"
	}
	s := round(results.Duration(o.v))
	if o.max {
		s += "=max"
	}
	return fmt.Sprintf("%s (n=%d)", s, o.n)
}

func round(d results.Duration) string {
	t := d.D()
	switch {
	case t >= time.Second:
		return t.Round(10 * time.Millisecond).String()
	case t >= time.Millisecond:
		return t.Round(100 * time.Microsecond).String()
	}
	return t.Round(time.Microsecond).String()
}

func bytesIEC(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
