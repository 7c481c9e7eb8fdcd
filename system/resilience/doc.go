// Package resilience holds the mechanisms of the resilient mode: per-camera
// fetch deadlines learned from each camera's own latencies (Deadlines),
// per-camera circuit breakers with exponential back-off (Breakers), per-host
// concurrency limits learned from the gateway's overload answers (HostLimits)
// and a cycle deadline that abandons stragglers and hands their results on as
// late (Tracker).
//
// Everything here learns only from what the caller observes — latencies and
// outcomes — never from a scenario. The package starts no goroutines and
// never prints; every type is safe for concurrent use.
package resilience

import "fmt"

// Outcome is what a caller observed of one fetch, reported to Breakers and
// HostLimits. The zero value is Abandoned.
type Outcome uint8

const (
	// Abandoned means there is no verdict: the fetch was canceled (the
	// caller's context ended) before the camera answered. Nothing learns
	// from it.
	Abandoned Outcome = iota
	// Success means the camera answered usefully (200, 304).
	Success
	// Failure means the camera failed on its own: a timeout, a 5xx other
	// than a gateway's 503, a bad image or a placeholder. Breakers count
	// it; HostLimits ignore it (it says nothing about the gateway's
	// capacity).
	Failure
	// Overload means the gateway refused for capacity: a 503 or a
	// connection reset or refused. HostLimits decrease on it; Breakers
	// ignore it (the camera is not at fault).
	Overload
)

var outcomeNames = [...]string{"abandoned", "success", "failure", "overload"}

// String returns the outcome's lower-case name.
func (o Outcome) String() string {
	if int(o) < len(outcomeNames) {
		return outcomeNames[o]
	}
	return fmt.Sprintf("outcome(%d)", uint8(o))
}
