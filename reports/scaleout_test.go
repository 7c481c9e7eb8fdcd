package reports

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
)

// TestScaleoutGolden renders a run of 1, 2 and 3 replicas (recorded from
// scenarios/scaleout.yaml, make bench-scaleout, on a shared 2-core
// machine): the Markdown report's Scale-out section and the text
// summary's scale-out lines, efficiencies as stored.
func TestScaleoutGolden(t *testing.T) {
	t.Parallel()
	run := readRun(t, "scaleout.json")
	md := markdownSection(t, run, "Scale-out")
	golden(t, "scaleout.md.golden", []byte(md))
	var sum bytes.Buffer
	if err := WriteSummary(&sum, run); err != nil {
		t.Fatal(err)
	}
	golden(t, "scaleout-summary.golden", sum.Bytes())
	if !strings.Contains(sum.String(), "batched×2") {
		t.Errorf("summary lacks the replica label batched×2:\n%s", sum.String())
	}
	for _, p := range run.Scaleout[0].Points[1:] { // 1 is the baseline
		want := fmt.Sprintf("efficiency %.2f (n=%d)", *p.Efficiency, p.EfficiencyN)
		if !strings.Contains(sum.String(), want) {
			t.Errorf("summary lacks %q (the stored efficiency of %d replicas)", want, p.Replicas)
		}
		want = fmt.Sprintf("| %.2f [%.2f, %.2f] (n=%d) |", *p.Efficiency, p.EfficiencyCI[0], p.EfficiencyCI[1], p.EfficiencyN)
		if !strings.Contains(strings.ReplaceAll(md, "**", ""), want) {
			t.Errorf("report lacks %q (the stored efficiency of %d replicas)", want, p.Replicas)
		}
	}
}
