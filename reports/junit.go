package reports

import (
	"fmt"
	"io"

	"github.com/camload/camload/reports/gate"
	"github.com/camload/camload/results"
)

// WriteJUnit writes run's verdict as JUnit XML (gate.WriteJUnit: one
// testcase per rule result, per cell and per compared row). v nil judges
// the run's own rules (a run without cells is rendered, not refused); bad
// rules are an error.
func WriteJUnit(w io.Writer, run *results.Run, v *gate.Verdict) error {
	if v == nil {
		var err error
		if v, err = gate.Judge(run, nil, gate.ReportOptions(gate.DefaultOptions)); err != nil {
			return fmt.Errorf("reports: judging the rules: %w", err)
		}
	}
	return gate.WriteJUnit(w, run, v)
}
