// Package server runs the camera-processing system as a service: it starts
// the backends (MongoDB or embedded FerretDB, Redis or embedded miniredis),
// assembles the store (buffered through a MongoDB outage), the API cache
// and the system, serves the JSON API and the admin endpoints, loads the
// camera registry with back-off and shuts down in order. `camload serve`
// maps its flags to Options and calls Run; the package never prints
// (it logs to Options.Logger) and never exits.
//
// # The runner↔system protocol
//
// The runner (package bench) starts the system as a child process,
// `camload serve` with the knob flags of the cell plus:
//
//   - --ready-file PATH: once the registry is loaded and both listeners
//     accept, Run writes a ReadyInfo as one JSON line, atomically (a
//     temporary file in the same directory, then rename), e.g.
//     {"api":"http://127.0.0.1:41234","admin":"http://127.0.0.1:41235","pid":4242}.
//     The file is removed on shutdown.
//   - --exit-with-stdin: the runner holds the child's stdin; when it
//     closes (the runner died) the system shuts down.
//   - --parent-pid N: the system shuts down when its parent is no longer N.
//   - --listen / --admin 127.0.0.1:0: any free port; the ready file says
//     which.
//
// After the ready file appears, the runner waits for GET ADMIN/readyz to
// answer 200, then drives the system with POST API/api/v1/cycles: each
// request runs one polling cycle over every camera of the registry and
// answers with its summary once the cycle has ended. Metrics are scraped
// from ADMIN/metrics, profiles from ADMIN/debug/pprof. SIGTERM (or the
// context of Run ending) shuts down gracefully: a running cycle finishes
// (up to Options.ShutdownTimeout), in-flight API requests are answered,
// buffered observations are flushed, then the backends stop.
package server
