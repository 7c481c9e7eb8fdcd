package system

import (
	"time"

	"github.com/camload/camload/system/analyze"
)

// DefaultAnalyzer analyzes a frame with system/analyze: it decodes the JPEG,
// counts the vehicles and derives intensity and congestion; cost is real CPU
// work added per frame. Every call allocates its own tensor and scratch
// (the unbounded modes' mechanism: a frame per goroutine). It is safe for
// concurrent use.
func DefaultAnalyzer(frame []byte, cost time.Duration) (Analysis, error) {
	return analyzeWith(frame, cost, nil)
}

// PooledAnalyzer returns an analyzer that lends the decoder's planes, the
// tensor, scratch and model buffers from pool, so that in steady state a
// frame allocates nothing. The pool keeps as many buffer sets as
// analyses ever ran at once: use it where analysis is bounded
// (Knobs.AnalyzeWorkers > 0). It is safe for concurrent use.
func PooledAnalyzer(pool *analyze.Pool) Analyzer {
	return func(frame []byte, cost time.Duration) (Analysis, error) {
		return analyzeWith(frame, cost, pool)
	}
}

// AnalyzerFor returns the analyzer the knobs call for: PooledAnalyzer with
// a pool of its own when analysis is bounded (AnalyzeWorkers > 0, the
// bounded modes), DefaultAnalyzer otherwise.
func AnalyzerFor(k Knobs) Analyzer {
	if k.AnalyzeWorkers > 0 {
		return PooledAnalyzer(new(analyze.Pool))
	}
	return DefaultAnalyzer
}

func analyzeWith(frame []byte, cost time.Duration, pool *analyze.Pool) (Analysis, error) {
	r, err := analyze.Analyze(frame, analyze.Options{Cost: cost, Pool: pool})
	if err != nil {
		return Analysis{}, err
	}
	return Analysis{Vehicles: r.Vehicles, Intensity: r.Intensity, Congestion: r.Congestion, Placeholder: r.Placeholder}, nil
}
