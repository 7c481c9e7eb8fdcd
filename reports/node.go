package reports

import (
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/camload/camload/results"
)

// WriteNodeMarkdown writes the report of a load node's run or of a merge
// of several nodes (`camload report --merge`): per target the merged
// figures, then each node's own. Latency of a merge is vegeta's, from each
// request's actual send time (the nodes paced themselves independently),
// and says so.
func WriteNodeMarkdown(w io.Writer, n *results.NodeRun) error {
	var b strings.Builder
	title := "Load node"
	if len(n.Nodes) > 0 {
		title = fmt.Sprintf("Load of %d nodes, merged", len(n.Nodes))
	}
	fmt.Fprintf(&b, "# %s: %s\n\n", title, n.Scenario)
	fmt.Fprintf(&b, "Target %s, %s → %s (%s).\n\n", n.BaseURL, n.Started.UTC().Format("2006-01-02 15:04:05"), n.Finished.UTC().Format("15:04:05"), n.Finished.Sub(n.Started).Round(1e6))
	if len(n.Nodes) > 0 {
		b.WriteString("Merged latency is measured from each request's actual send time (vegeta's own), since each node paced its own requests; per-node rows carry each node's coordinated-omission-corrected latency.\n\n")
	}
	names := make([]string, 0, len(n.Endpoints))
	for name := range n.Endpoints {
		names = append(names, name)
	}
	sort.Strings(names)
	b.WriteString("| Target | Node | Requests | Rate (req/s) | Throughput (req/s) | Success | p50 | p99 | Bytes in |\n|---|---|---:|---:|---:|---:|---:|---:|---:|\n")
	row := func(target, node string, e results.Endpoint) {
		fmt.Fprintf(&b, "| %s | %s | %d | %.1f | %.1f | %.2f%% | %s | %s | %d |\n", target, node, e.Requests, e.Rate, e.Throughput, 100*e.Success,
			percentileText(e.Latency, 0.5, e.Latency.P50), percentileText(e.Latency, 0.99, e.Latency.P99), e.BytesIn)
	}
	nodes := make([]string, 0, len(n.PerNode))
	for d := range n.PerNode {
		nodes = append(nodes, d)
	}
	sort.Strings(nodes)
	for _, name := range names {
		label := "all"
		if len(n.Nodes) == 0 {
			label = "this node"
		}
		row(name, label, n.Endpoints[name])
		for _, d := range nodes {
			if e, ok := n.PerNode[d][name]; ok {
				row(name, d, e)
			}
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// percentileText is a percentile with its n, or the maximum when n cannot
// support it (results.Supports).
func percentileText(q results.Quantiles, p float64, v results.Duration) string {
	if !results.Supports(q.Count, p) {
		return fmt.Sprintf("%s = max (n=%d)", q.Max, q.Count)
	}
	return fmt.Sprintf("%s (n=%d)", v, q.Count)
}
