package gate

import (
	"encoding/xml"
	"fmt"
	"io"
	"strings"

	"github.com/camload/camload/results"
	"github.com/camload/camload/results/rule"
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
	Name       string          `xml:"name,attr"`
	Classname  string          `xml:"classname,attr"`
	Time       string          `xml:"time,attr"`
	Properties []junitProperty `xml:"properties>property,omitempty"`
	Failure    *junitFailure   `xml:"failure,omitempty"`
	Skipped    *junitSkipped   `xml:"skipped,omitempty"`
	SystemOut  string          `xml:"system-out,omitempty"`
}

type junitSkipped struct {
	Message string `xml:"message,attr"`
}

type junitFailure struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",chardata"`
}

// WriteJUnit writes the verdict on run as JUnit XML: one testsuite for
// the scenario with one testcase per rule result (the rule on its cells;
// properties hold the measured value with its confidence interval, the
// limit, n and the verdict; a failed or, unless allowed, inconclusive
// result is a failure; one on a cell expected over budget passes, its
// output saying it was not judged, as the cell's own case does), one
// testcase per (mode, cameras) cell that says whether it completed, and with a baseline
// one testcase per compared row (an insufficient row is skipped, or a
// failure with Strict).
func WriteJUnit(w io.Writer, run *results.Run, v *Verdict) error {
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
		elapsed[fmt.Sprintf("%s/%d", c.Mode, c.Cameras)] += c.Elapsed.D().Seconds()
	}
	class := func(s string) string { return run.Scenario + "." + s }
	for _, c := range v.Cells {
		tc := junitCase{Name: c.Cell + " completed", Classname: class(c.Cell), Time: seconds(elapsed[c.Cell])}
		switch {
		case c.Expected:
			tc.SystemOut = fmt.Sprintf("%s (expected: expect_over_budget), %d of %d repetitions ok", strings.ReplaceAll(c.Status, "_", " "), c.OK, c.Reps)
		case c.Failed():
			tc.Failure = &junitFailure{Message: fmt.Sprintf("cell %s: %d of %d repetitions ok", strings.ReplaceAll(c.Status, "_", " "), c.OK, c.Reps), Type: "cell", Text: c.Error}
		}
		suite.Cases = append(suite.Cases, tc)
	}
	for _, r := range v.Results {
		measured, need := Measured(r)
		tc := junitCase{
			Name:      r.Rule.String() + " [" + ResultCells(r) + "]",
			Classname: class("rules"),
			Time:      "0",
			Properties: []junitProperty{
				{"kind", r.Rule.Kind.String()},
				{"cells", ResultCells(r)},
				{"verdict", r.Verdict.String()},
				{"measured", measured},
				{"limit", need},
				{"n", fmt.Sprint(r.N)},
			},
		}
		if r.Censored {
			tc.Properties = append(tc.Properties, junitProperty{"censored", "true"})
		}
		if r.Below {
			tc.Properties = append(tc.Properties, junitProperty{"upper_bound", "true"})
		}
		switch {
		case r.Verdict == rule.Skipped:
			// Excused (a cell expected over budget, or cells a run
			// filtered by --modes/--cameras left out): nothing to fix,
			// so a passing case that says why it was not judged, not a
			// skipped one CI would flag.
			tc.Properties = append(tc.Properties, junitProperty{"excused", "true"})
			tc.SystemOut = r.Message
		case v.ResultFails(r):
			typ := "rule"
			if r.Verdict == rule.Inconclusive {
				typ = "inconclusive"
			}
			tc.Failure = &junitFailure{Message: r.Message, Type: typ, Text: operands(r)}
		default:
			tc.SystemOut = r.Message
		}
		suite.Cases = append(suite.Cases, tc)
	}
	for _, r := range v.Rows {
		tc := junitCase{Name: "no regression in " + r.Metric, Classname: class(r.Cell) + ".baseline", Time: "0"}
		desc := fmt.Sprintf("%s: base %s, head %s, delta %s, %s (unit of replication: the %s)", r.Metric, results.Format(r.Base, r.Unit), results.Format(r.Head, r.Unit), r.Delta, r.formatP(), v.replication())
		if r.Note != "" {
			desc += " (" + r.Note + ")"
		}
		if len(r.Warnings) > 0 {
			desc += "; " + strings.Join(r.Warnings, "; ")
		}
		switch {
		case r.Change == Regression:
			tc.Failure = &junitFailure{Message: "regression: " + desc, Type: "regression", Text: desc}
		case r.Change == Insufficient && v.Options.Strict:
			tc.Failure = &junitFailure{Message: "insufficient samples: " + desc, Type: "insufficient", Text: desc}
		case r.Change == Insufficient:
			tc.Skipped = &junitSkipped{Message: "insufficient samples: " + desc}
		default:
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
		return fmt.Errorf("gate: encoding JUnit: %w", err)
	}
	_, err := io.WriteString(w, "\n")
	return err
}

// operands lists a result's operands, one a line, for a failure's text.
func operands(r rule.Result) string {
	var b strings.Builder
	for _, o := range r.Operands {
		fmt.Fprintf(&b, "%s of %s = %s (n=%d)\n", o.Metric, o.Cell.Name, o.Value, o.N())
	}
	return b.String()
}

func (v *Verdict) replication() string {
	if v.Replication == "" {
		return UnitRepetition
	}
	return v.Replication
}

func seconds(s float64) string {
	if s < 0 {
		s = 0
	}
	return fmt.Sprintf("%.3f", s)
}
