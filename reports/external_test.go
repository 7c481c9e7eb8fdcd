package reports

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/camload/camload/results"
)

// TestExternalSection renders an external cell's fleet-side figures with
// their n (a p99 of 3 sweeps is their max) and says why it has no profile.
func TestExternalSection(t *testing.T) {
	t.Parallel()
	d := func(ms int) results.Duration { return results.Duration(time.Duration(ms) * time.Millisecond) }
	run := &results.Run{Schema: results.SchemaVersion, Scenario: "ext", Cells: []results.Cell{{
		Mode: "python", Cameras: 100, Status: results.StatusOK,
		External: &results.External{CyclesBy: "sweeps", NoProfiles: "profiles are taken only of camload's own system",
			Fleet: results.FleetSide{Sweeps: 3, SweepTime: results.Summary{N: 3, P50: d(465), P99: d(765), Max: d(765)},
				Revisit: results.Summary{N: 200, P50: d(459), P99: d(800), Max: d(813)}, RequestsPerCamera: 1, MaxPerCamera: 1,
				NewConnections: 300, Errors: map[string]int{"http_5xx": 13}},
			Windows: []results.ProcWindow{{Name: "cycles", CPUSeconds: 0.31, CPUCorePercent: 19.4, RSSPeak: 23 << 20}}},
	}}}
	var b bytes.Buffer
	if err := WriteMarkdown(&b, run); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"External systems, seen from the fleet", "765ms = max (n=3)", "800ms (n=200)", "1.00 (max 1)", "http_5xx 13", "19.4% of a core", "No CPU or heap profile: profiles are taken only of camload's own system"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("report lacks %q", want)
		}
	}
}
