package bench

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

// TestCI95Coverage: over many samples of an exponential distribution of
// known median (ln 2 × 10 ms) and mean (10 ms), the 95% intervals hold the
// true values about 95% of the time, on the bootstrap path (n = 40) and on
// the large-n path (n = 6000).
func TestCI95Coverage(t *testing.T) {
	if testing.Short() {
		t.Skip("hundreds of bootstraps")
	}
	const scale = 10 * time.Millisecond
	trueMed, trueMean := time.Duration(math.Round(math.Ln2*float64(scale))), scale
	rng := rand.New(rand.NewPCG(3, 4))
	for _, tc := range []struct {
		n, trials int
	}{{40, 200}, {6000, 100}} {
		var medIn, meanIn int
		for range tc.trials {
			h := newHist()
			for range tc.n {
				h.Record(time.Duration(rng.ExpFloat64() * float64(scale)))
			}
			p50, mean := ci95(h)
			if p50 == nil || mean == nil || p50[0] > p50[1] || mean[0] > mean[1] {
				t.Fatalf("n=%d: ci95 = %v, %v; want ordered intervals", tc.n, p50, mean)
			}
			if p50[0].D() <= trueMed && trueMed <= p50[1].D() {
				medIn++
			}
			if mean[0].D() <= trueMean && trueMean <= mean[1].D() {
				meanIn++
			}
		}
		// Binomial(trials, 0.95): 0.88 … 1 holds with overwhelming odds;
		// an interval that is too narrow (a bug) covers far less.
		for name, in := range map[string]int{"median": medIn, "mean": meanIn} {
			if cov := float64(in) / float64(tc.trials); cov < 0.87 {
				t.Errorf("n=%d: %s interval covers the true value in %.0f%% of %d samples; want ≈ 95%%", tc.n, name, 100*cov, tc.trials)
			}
		}
	}
}

func TestCI95Small(t *testing.T) {
	h := newHist()
	for i := range 4 {
		h.Record(time.Duration(i+1) * time.Millisecond)
	}
	if p50, mean := ci95(h); p50 != nil || mean != nil {
		t.Errorf("ci95 of 4 values = %v, %v; want none", p50, mean)
	}
	h.Record(5 * time.Millisecond)
	q := h.Quantiles()
	if q.P50CI == nil || q.MeanCI == nil || q.P50CI[0].D() < time.Millisecond || q.P50CI[1].D() > 5*time.Millisecond+5*time.Microsecond {
		t.Errorf("Quantiles of 1…5 ms: p50 CI %v, mean CI %v; want intervals inside the sample's range", q.P50CI, q.MeanCI)
	}
	if again := h.Quantiles(); *again.P50CI != *q.P50CI || *again.MeanCI != *q.MeanCI {
		t.Errorf("ci95 is not reproducible: %v %v then %v %v", q.P50CI, q.MeanCI, again.P50CI, again.MeanCI)
	}
}

func BenchmarkCI95(b *testing.B) {
	h := newHist()
	rng := rand.New(rand.NewPCG(1, 2))
	for range bootstrapMaxN {
		h.Record(time.Duration(rng.ExpFloat64() * float64(10*time.Millisecond)))
	}
	for b.Loop() {
		ci95(h)
	}
}
