package system

import (
	"time"

	"github.com/camload/camload/system/analyze"
)

// DefaultAnalyzer analyzes a frame with system/analyze: it decodes the JPEG,
// counts the vehicles and derives intensity and congestion; cost is real CPU
// work added per frame. It is safe for concurrent use.
func DefaultAnalyzer(frame []byte, cost time.Duration) (Analysis, error) {
	r, err := analyze.Analyze(frame, analyze.Options{Cost: cost})
	if err != nil {
		return Analysis{}, err
	}
	return Analysis{Vehicles: r.Vehicles, Intensity: r.Intensity, Congestion: r.Congestion, Placeholder: r.Placeholder}, nil
}
