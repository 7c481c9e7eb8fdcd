package reports

import (
	"encoding/xml"
	"fmt"
	"io"
	"strings"

	"github.com/camload/camload/reports/gate"
	"github.com/camload/camload/results"
)

// JUnit XML, in the schema CI test reporters read (the Jenkins/Surefire
// dialect GitHub, GitLab and Jenkins share).
type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Time     string       `xml:"time,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name       string          `xml:"name,attr"`
	Tests      int             `xml:"tests,attr"`
	Failures   int             `xml:"failures,attr"`
	Errors     int             `xml:"errors,attr"`
	Skipped    int             `xml:"skipped,attr"`
	Time       string          `xml:"time,attr"`
	Timestamp  string          `xml:"timestamp,attr,omitempty"`
	Hostname   string          `xml:"hostname,attr,omitempty"`
	Properties []junitProperty `xml:"properties>property"`
	Cases      []junitCase     `xml:"testcase"`
}

type junitProperty struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *junitFailure `xml:"failure,omitempty"`
	Skipped   *junitSkipped `xml:"skipped,omitempty"`
	SystemOut string        `xml:"system-out,omitempty"`
}

// junitSkipped marks a case that was not judged (a cell the scenario
// expected to run over its budget).
type junitSkipped struct {
	Message string `xml:"message,attr"`
}

type junitFailure struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",chardata"`
}

// WriteJUnit writes run's verdict as JUnit XML: one testsuite for the
// scenario, one testcase per cell (repetition) × threshold, whose failure
// message is the threshold and the measured value; with a baseline, one
// testcase per (mode, cameras) cell × compared metric. A run without
// thresholds gets one testcase per cell that fails when the cell did not
// complete. v nil judges the run's own thresholds; bad thresholds are an
// error.
func WriteJUnit(w io.Writer, run *results.Run, v *gate.Verdict) error {
	if v == nil {
		var err error
		if v, err = gate.Judge(run, nil, gate.DefaultOptions); err != nil {
			return fmt.Errorf("reports: judging thresholds: %w", err)
		}
	}
	suite := junitSuite{
		Name:      run.Scenario,
		Time:      seconds(run.Finished.Sub(run.Started).Seconds()),
		Hostname:  run.Env.Hostname,
		Timestamp: run.Started.UTC().Format("2006-01-02T15:04:05"),
		Properties: []junitProperty{
			{"scenario_file", run.ScenarioFile},
			{"commit", run.Env.Commit},
			{"go_version", run.Env.GoVersion},
			{"cpu_model", run.Env.CPUModel},
			{"cores", fmt.Sprint(run.Env.Cores)},
			{"mongo", run.Env.Backends.Mongo},
			{"redis", run.Env.Backends.Redis},
		},
	}
	elapsed := map[string]float64{}
	for _, c := range run.Cells {
		elapsed[fmt.Sprintf("%s/%d#%d", c.Mode, c.Cameras, c.Repeat)] = c.Elapsed.D().Seconds()
	}
	class := func(cell string) string { return run.Scenario + "." + cell }
	if len(v.Rules) == 0 {
		rd := newReader(run)
		for _, c := range run.Cells {
			name := fmt.Sprintf("%s/%d#%d", c.Mode, c.Cameras, c.Repeat)
			tc := junitCase{Name: name + " completed", Classname: class(fmt.Sprintf("%s/%d", c.Mode, c.Cameras)), Time: seconds(c.Elapsed.D().Seconds())}
			switch {
			case c.Status == results.StatusOverBudget && rd.expectedOver(c):
				tc.Skipped = &junitSkipped{Message: "cell " + rd.cellStatus(c)}
			case c.Status != results.StatusOK && c.Status != "":
				tc.Failure = &junitFailure{Message: "cell " + labelStatus(c.Status), Type: "cell", Text: c.Error}
			}
			suite.Cases = append(suite.Cases, tc)
		}
	}
	for _, ch := range v.Checks {
		cell := fmt.Sprintf("%s/%d", ch.Mode, ch.Cameras)
		tc := junitCase{
			Name:      fmt.Sprintf("%s %s [repeat %d]", ch.Metric, ch.Expr, ch.Repeat),
			Classname: class(cell),
			Time:      seconds(elapsed[ch.Cell()] / float64(max(1, len(v.Rules)))),
		}
		if ch.Pass {
			tc.SystemOut = fmt.Sprintf("%s = %s", ch.Metric, ch.Got())
		} else {
			tc.Failure = &junitFailure{
				Message: fmt.Sprintf("%s %s: got %s", ch.Metric, ch.Expr, ch.Got()),
				Type:    "threshold",
				Text:    fmt.Sprintf("cell %s, threshold %s %s, measured %s", ch.Cell(), ch.Metric, ch.Expr, ch.Got()),
			}
		}
		suite.Cases = append(suite.Cases, tc)
	}
	for _, r := range v.Rows {
		tc := junitCase{Name: "no regression in " + r.Metric, Classname: class(r.Cell) + ".baseline", Time: "0"}
		desc := fmt.Sprintf("%s: base %s, head %s, delta %s", r.Metric, results.Format(r.Base, r.Unit), results.Format(r.Head, r.Unit), r.Delta)
		if r.Note != "" {
			desc += " (" + r.Note + ")"
		}
		if len(r.Warnings) > 0 {
			desc += "; " + strings.Join(r.Warnings, "; ")
		}
		if r.Change == gate.Regression {
			tc.Failure = &junitFailure{Message: "regression: " + desc, Type: "regression", Text: desc}
		} else {
			tc.SystemOut = string(r.Change) + ": " + desc
		}
		suite.Cases = append(suite.Cases, tc)
	}
	for _, c := range suite.Cases {
		suite.Tests++
		if c.Failure != nil {
			suite.Failures++
		}
		if c.Skipped != nil {
			suite.Skipped++
		}
	}
	all := junitSuites{Name: "camload", Tests: suite.Tests, Failures: suite.Failures, Time: suite.Time, Suites: []junitSuite{suite}}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(all); err != nil {
		return fmt.Errorf("reports: encoding JUnit: %w", err)
	}
	_, err := io.WriteString(w, "\n")
	return err
}

func seconds(s float64) string {
	if s < 0 {
		s = 0
	}
	return fmt.Sprintf("%.3f", s)
}
