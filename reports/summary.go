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
// cycle latency, per-camera p99, error rate, resources and efficiency,
// then one line per API endpoint. It is what `camload run` prints.
func WriteSummary(w io.Writer, r *results.Run) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "scenario %s — %s, %s, %d cores, Go %s, commit %.12s\n", r.Scenario, r.Env.CPUModel, r.Env.OS+"/"+r.Env.Arch, r.Env.Cores, r.Env.GoVersion, r.Env.Commit)
	fmt.Fprintf(tw, "backends: mongo %s; redis %s\n", r.Env.Backends.Mongo, r.Env.Backends.Redis)
	if r.Interrupted {
		fmt.Fprintln(tw, "INTERRUPTED: partial results")
	}
	fmt.Fprintln(tw, "\nmode\tcameras\trep\tstatus\tcycle p50\tcycle p99\tcamera p99\terrors\treconciled\tRSS peak\tCPU core%\tideal\tefficiency")
	for _, c := range r.Cells {
		rec := "yes"
		if !c.Cycles.Reconciled {
			rec = "no"
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%s\t%s\t%s\t%.2f%%\t%s\t%s\t%.0f\t%s\t%.2f\n",
			c.Mode, c.Cameras, c.Repeat, c.Status, round(c.Cycles.Latency.P50), round(c.Cycles.Latency.P99), round(c.Cycles.PerCamera.P99),
			100*c.Cycles.ErrorRate, rec, bytesIEC(c.Resources.RSSPeak), c.Resources.CPUCorePercent,
			round(c.Ideal.CycleTime), c.Ideal.Efficiency)
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
			capacity := "-"
			if e.Capacity != nil {
				capacity = fmt.Sprintf("%.0f req/s", e.Capacity.Rate)
			}
			api = append(api, fmt.Sprintf("%s\t%d\t%s\t%.0f\t%.1f\t%.1f%%\t%s\t%s\t%s\n", c.Mode, c.Cameras, n, e.Rate, e.Throughput, 100*e.Success, round(e.Latency.P50), round(e.Latency.P99), capacity))
		}
	}
	if len(api) > 0 {
		fmt.Fprintln(tw, "\nmode\tcameras\tendpoint\trate\tthroughput\tsuccess\tp50\tp99\tcapacity")
		fmt.Fprint(tw, strings.Join(api, ""))
	}
	for _, c := range r.Cells {
		if c.Error != "" {
			fmt.Fprintf(tw, "\n%s × %d (r%d): %s", c.Mode, c.Cameras, c.Repeat, c.Error)
		}
		if !c.Cycles.Reconciled && c.Cycles.Mismatch != "" {
			fmt.Fprintf(tw, "\n%s × %d (r%d) errors vs injected faults: %s", c.Mode, c.Cameras, c.Repeat, c.Cycles.Mismatch)
		}
	}
	fmt.Fprintln(tw)
	return tw.Flush()
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
