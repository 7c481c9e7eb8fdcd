package reports

import (
	"bytes"
	"testing"
)

// TestSummaryGolden: the text summary `camload run` prints.
func TestSummaryGolden(t *testing.T) {
	var b bytes.Buffer
	if err := WriteSummary(&b, readRun(t, "run.json")); err != nil {
		t.Fatal(err)
	}
	golden(t, "summary.golden", b.Bytes())
}
