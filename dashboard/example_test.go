package dashboard_test

import (
	"fmt"
	"net/http/httptest"
	"time"

	"github.com/camload/camload/dashboard"
)

// The runner publishes a run's events in order; the hub serves the page
// and the stream (mount it on a loopback listener).
func ExampleHub() {
	h, err := dashboard.New(dashboard.Options{})
	if err != nil {
		panic(err)
	}
	srv := httptest.NewServer(h) // camload run: http.Server{Addr: "127.0.0.1:5665", Handler: h}
	defer srv.Close()
	defer h.Close()

	cell := dashboard.CellRef{Index: 1, Mode: "pooled", Cameras: 100}
	events := []dashboard.Event{
		{Plan: &dashboard.Plan{Scenario: "smoke", Cells: []dashboard.CellRef{cell}, Cycles: 1}},
		{Cell: 1, CellStarted: &dashboard.CellStarted{CellRef: cell, Hosts: 4}},
		{Cell: 1, Phase: &dashboard.Phase{Name: dashboard.PhaseCycle, Step: 1, Steps: 1}},
		{Cell: 1, Cycle: &dashboard.Cycle{N: 1, Of: 1, Took: 480 * time.Millisecond, Cameras: 100}},
		{Cell: 1, CellFinished: &dashboard.CellFinished{CellRef: cell, Status: "ok", Cycles: 1}},
		{RunFinished: &dashboard.RunFinished{Report: "report.html"}},
	}
	for _, e := range events {
		if err := h.Publish(e); err != nil {
			fmt.Println(err)
		}
	}
	fmt.Println(h.Publish(dashboard.Event{}))
	s := h.Stats()
	fmt.Println(s.Published, "events published,", s.History, "in the history")
	// Output:
	// dashboard: an event needs exactly one payload, matching its kind
	// 6 events published, 6 in the history
}
