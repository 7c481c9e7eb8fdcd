package rule_test

import (
	"fmt"

	"github.com/camload/camload/results/rule"
)

// run is a Source over a two-cell run: the cells' labels and, per cell
// and metric, one value per repetition.
type run map[string]map[string][]float64

func (r run) Cells() []rule.Cell {
	return []rule.Cell{
		{Name: "async/1000", Labels: map[string]string{"mode": "async", "cameras": "1000"}},
		{Name: "batched/1000", Labels: map[string]string{"mode": "batched", "cameras": "1000"}},
	}
}

func (r run) Sample(c rule.Cell, metric string) (rule.Sample, error) {
	u, err := metrics(metric)
	if err != nil {
		return rule.Sample{}, err
	}
	return rule.Sample{Unit: u, Values: r[c.Name][metric]}, nil
}

// metrics is the caller's vocabulary: names and units.
func metrics(name string) (rule.Unit, error) {
	switch name {
	case "cycle_p99":
		return rule.Duration, nil
	case "rss_peak":
		return rule.Bytes, nil
	}
	return 0, fmt.Errorf("no metric %q", name)
}

func Example() {
	threshold, err := rule.ParseThreshold("cycle_p99{mode:batched}", "< 1s")
	if err != nil {
		panic(err)
	}
	expect, err := rule.ParseExpect("rss_peak{mode:batched} <= 0.2*rss_peak{mode:async}")
	if err != nil {
		panic(err)
	}
	rules := []*rule.Rule{threshold, expect}
	for _, r := range rules {
		if err := r.Check(metrics); err != nil {
			panic(err)
		}
	}
	data := run{
		"async/1000":   {"cycle_p99": {9.1e9, 8.7e9, 9.4e9}, "rss_peak": {2.1e9, 2.0e9, 2.2e9}},
		"batched/1000": {"cycle_p99": {0.61e9, 0.58e9, 0.66e9}, "rss_peak": {3.1e8, 3.0e8, 3.3e8}},
	}
	results, err := rule.Evaluate(rules, data, rule.Options{Seed: 1})
	if err != nil {
		panic(err)
	}
	for _, res := range results {
		fmt.Println(res.Verdict, res.Rule)
		fmt.Println("  ", res.CellNames()+":", res.Left, res.Rule.Op, res.Right)
	}
	// Output:
	// PASS cycle_p99{mode:batched}: < 1s
	//    batched/1000: 610ms (95% CI 580ms … 660ms) < 1s
	// PASS rss_peak{mode:batched} <= 0.2 * rss_peak{mode:async}
	//    batched/1000, async/1000: 296 MiB (95% CI 286 MiB … 315 MiB) <= 401 MiB (95% CI 381 MiB … 420 MiB)
}
