package bench

import (
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/camload/camload/results"
)

// Confidence intervals of the median and the mean, 95%.
const (
	// bootstrapResamples is the number of resamples of the percentile
	// bootstrap.
	bootstrapResamples = 1000
	// bootstrapMaxN is the largest sample bootstrapped; above it the
	// large-n limits the bootstrap converges to are used instead (the
	// median's order-statistic interval, the mean's normal interval),
	// which cost nothing and agree with it to well under a percent.
	bootstrapMaxN = 5000
	// ciMinN is the smallest sample given an interval: below it a 95%
	// interval of the median is the sample's whole range or wider.
	ciMinN = 5
	z95    = 1.959963984540054
)

// ci95 computes the 95% confidence intervals of h's median and mean:
//
//   - n ≤ 5000: a percentile bootstrap, 1000 resamples of the recorded
//     values (at the histogram's precision), seeded by n so that a rerun
//     over the same values gives the same interval;
//   - n > 5000: the median's distribution-free order-statistic interval
//     (ranks n/2 ∓ 1.96·√n/2) and the mean's normal interval
//     (mean ∓ 1.96·σ/√n).
//
// Both are nil below 5 values.
func ci95(h *hist) (p50, mean *[2]results.Duration) {
	n := h.Count()
	if n < ciMinN {
		return nil, nil
	}
	if n > bootstrapMaxN {
		half := z95 * math.Sqrt(float64(n)) / 2
		lo := (float64(n)/2 - half) / float64(n) * 100
		hi := (float64(n)/2 + half + 1) / float64(n) * 100
		p50 = &[2]results.Duration{results.Duration(h.Quantile(lo)), results.Duration(h.Quantile(min(hi, 100)))}
		m, sd := h.h.Mean(), h.h.StdDev()
		e := z95 * sd / math.Sqrt(float64(n))
		us := float64(time.Microsecond)
		mean = &[2]results.Duration{results.Duration(max(m-e, 0) * us), results.Duration((m + e) * us)}
		return p50, mean
	}
	vals := make([]float64, 0, n)
	for _, b := range h.h.Distribution() {
		v := float64(b.To) // as Quantile reads it
		for range b.Count {
			vals = append(vals, v)
		}
	}
	ml, mh, al, ah := bootstrap(vals, bootstrapResamples, uint64(n))
	us := float64(time.Microsecond)
	return &[2]results.Duration{results.Duration(ml * us), results.Duration(mh * us)},
		&[2]results.Duration{results.Duration(al * us), results.Duration(ah * us)}
}

// bootstrap resamples sorted vals b times (with replacement, from a PCG
// seeded by seed) and returns the 2.5th and 97.5th percentiles of the
// resamples' medians and means. vals must be sorted ascending; a resample
// is drawn as counts per index, so its median needs no sort.
func bootstrap(vals []float64, b int, seed uint64) (medLo, medHi, meanLo, meanHi float64) {
	n := len(vals)
	rng := rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
	counts := make([]int32, n)
	meds := make([]float64, b)
	means := make([]float64, b)
	for r := range b {
		clear(counts)
		var sum float64
		for range n {
			i := rng.IntN(n)
			counts[i]++
			sum += vals[i]
		}
		means[r] = sum / float64(n)
		// The median: the (n+1)/2-th smallest (the mean of the two
		// middle ones when n is even).
		k1, k2 := (n-1)/2, n/2
		var seen int
		var m1, m2 float64
		got1 := false
		for i, c := range counts {
			if c == 0 {
				continue
			}
			seen += int(c)
			if !got1 && seen > k1 {
				m1, got1 = vals[i], true
			}
			if seen > k2 {
				m2 = vals[i]
				break
			}
		}
		meds[r] = (m1 + m2) / 2
	}
	slices.Sort(meds)
	slices.Sort(means)
	lo, hi := int(0.025*float64(b)), int(math.Ceil(0.975*float64(b)))-1
	return meds[lo], meds[hi], means[lo], means[hi]
}
