package scenarios

import (
	"fmt"

	"github.com/camload/camload/internal/cfgerr"
)

// MaxReplicas is the largest entry of system.replicas: every replica is a
// process on this machine, with a Redis connection per job worker.
const MaxReplicas = 16

// MaxGOMAXPROCS bounds system.gomaxprocs.
const MaxGOMAXPROCS = 1024

// checkReplicas validates system.replicas and system.gomaxprocs.
func (s *Scenario) checkReplicas() []*cfgerr.Error {
	var errs []*cfgerr.Error
	bad := func(field, format string, args ...any) {
		errs = append(errs, cfgerr.Field(field, format, args...))
	}
	seen := map[int]bool{}
	for i, n := range s.System.Replicas {
		field := fmt.Sprintf("system.replicas[%d]", i)
		switch {
		case n < 1 || n > MaxReplicas:
			bad(field, "must be 1…%d, got %d", MaxReplicas, n)
		case seen[n]:
			bad(field, "%d is listed twice", n)
		}
		seen[n] = true
	}
	if len(s.System.Replicas) > 0 {
		for i, m := range s.System.Modes {
			if _, ext := s.ExternalFor(m); ext {
				bad(fmt.Sprintf("system.modes[%d]", i), "%s is an external system: system.replicas runs camload serve --group, not an external system", m)
			}
		}
	}
	if g := s.System.GOMAXPROCS; g < 0 || g > MaxGOMAXPROCS {
		bad("system.gomaxprocs", "must be 0 (the Go default) … %d, got %d", MaxGOMAXPROCS, g)
	}
	return errs
}
