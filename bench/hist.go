package bench

import (
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"

	"github.com/camload/camload/results"
)

// hist is a latency histogram in microseconds (1 µs … 1 h, 3 significant
// digits): fixed memory however many values it records. It is not safe for
// concurrent use.
type hist struct{ h *hdrhistogram.Histogram }

func newHist() *hist { return &hist{hdrhistogram.New(1, int64(time.Hour/time.Microsecond), 3)} }

// Record adds d, clamped into the histogram's range.
func (h *hist) Record(d time.Duration) {
	us := int64(d / time.Microsecond)
	if us < 1 {
		us = 1
	}
	if max := h.h.HighestTrackableValue(); us > max {
		us = max
	}
	_ = h.h.RecordValue(us) // in range by construction
}

// Count is the number of recorded values.
func (h *hist) Count() int64 { return h.h.TotalCount() }

// Quantile returns the q-th percentile (0 … 100).
func (h *hist) Quantile(q float64) time.Duration {
	return time.Duration(h.h.ValueAtQuantile(q)) * time.Microsecond
}

// Max is the largest recorded value (at the histogram's precision, never
// below the value recorded).
func (h *hist) Max() time.Duration { return time.Duration(h.h.Max()) * time.Microsecond }

// Quantiles summarizes h for results, with the 95% confidence intervals
// of its median and mean (ci95).
func (h *hist) Quantiles() results.Quantiles {
	if h.Count() == 0 {
		return results.Quantiles{}
	}
	d := func(q float64) results.Duration { return results.Duration(h.Quantile(q)) }
	p50, mean := ci95(h)
	return results.Quantiles{
		P50CI: p50, MeanCI: mean,
		Count: h.Count(),
		Mean:  results.Duration(time.Duration(h.h.Mean() * float64(time.Microsecond))),
		P50:   d(50), P90: d(90), P95: d(95), P99: d(99),
		Max: results.Duration(time.Duration(h.h.Max()) * time.Microsecond),
	}
}
