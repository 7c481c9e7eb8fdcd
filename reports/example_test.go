package reports_test

import (
	"bytes"
	"fmt"
	"log"
	"strings"

	"github.com/camload/camload/reports"
	"github.com/camload/camload/reports/gate"
	"github.com/camload/camload/results"
)

// The offline pipeline, one package per stage: read a run's results.json
// (results), judge it against its thresholds and a baseline (reports/gate),
// write the Markdown report (reports).
func Example_pipeline() {
	base, err := results.Read("testdata/run.json")
	if err != nil {
		log.Fatal(err)
	}
	head, err := results.Read("testdata/head.json")
	if err != nil {
		log.Fatal(err)
	}
	v, err := gate.Judge(head, base, gate.DefaultOptions)
	if err != nil {
		log.Fatal(err)
	}
	var md bytes.Buffer
	if err := reports.WriteMarkdownVerdict(&md, head, v); err != nil {
		log.Fatal(err)
	}
	fmt.Println("failed:", v.Failed())
	fmt.Println(strings.SplitN(md.String(), "\n", 2)[0])
	// Output:
	// failed: true
	// # camload report: modes
}
