package bench

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"sync"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/camload/camload/results"
)

// reading is one scrape of the system's /metrics.
type reading struct {
	at         time.Time
	rss        float64
	rssPeak    float64 // camload_process_rss_peak_bytes (VmHWM since the cycle began)
	cpu        float64 // process_cpu_seconds_total
	goroutines float64
	fds        float64
	gcSum      float64 // go_gc_duration_seconds sum
	gcMax      float64 // go_gc_duration_seconds quantile 1
}

// scrape reads the process and Go collectors' metrics from url.
func scrape(ctx context.Context, client *http.Client, url string) (reading, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return reading{}, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return reading{}, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, resp.Body)
		return reading{}, fmt.Errorf("bench: %s: %s", url, resp.Status)
	}
	return parseMetrics(resp.Body)
}

// parseMetrics extracts a reading from the Prometheus text format.
func parseMetrics(r io.Reader) (reading, error) {
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(r)
	if err != nil {
		return reading{}, fmt.Errorf("bench: parsing metrics: %w", err)
	}
	rd := reading{at: time.Now()}
	val := func(name string) float64 {
		f, ok := fams[name]
		if !ok || len(f.Metric) == 0 {
			return 0
		}
		m := f.Metric[0]
		switch {
		case m.Gauge != nil:
			return m.Gauge.GetValue()
		case m.Counter != nil:
			return m.Counter.GetValue()
		case m.Untyped != nil:
			return m.Untyped.GetValue()
		}
		return 0
	}
	rd.rss = val("process_resident_memory_bytes")
	// The system's own high-water mark since its cycle began: a burst
	// between two readings still counts towards the peak.
	rd.rssPeak = val("camload_process_rss_peak_bytes")
	rd.cpu = val("process_cpu_seconds_total")
	rd.goroutines = val("go_goroutines")
	rd.fds = val("process_open_fds")
	if f, ok := fams["go_gc_duration_seconds"]; ok && len(f.Metric) > 0 && f.Metric[0].Summary != nil {
		s := f.Metric[0].Summary
		rd.gcSum = s.GetSampleSum()
		rd.gcMax = quantile(s, 1)
	}
	return rd, nil
}

func quantile(s *dto.Summary, q float64) float64 {
	for _, x := range s.Quantile {
		if x.GetQuantile() == q {
			return x.GetValue()
		}
	}
	return 0
}

// sampler scrapes a /metrics URL every period from start until stop,
// folding each reading into results.Resources. Its goroutine is owned by
// the sampler and ends at stop or when ctx ends.
type sampler struct {
	url    string
	start  time.Time
	cancel context.CancelFunc
	done   chan struct{}

	mu     sync.Mutex
	res    results.Resources
	first  reading
	prev   reading
	n      int
	rssSum float64
	errs   int
}

func startSampler(ctx context.Context, url string, every time.Duration) *sampler {
	ctx, cancel := context.WithCancel(ctx)
	s := &sampler{url: url, start: time.Now(), cancel: cancel, done: make(chan struct{})}
	client := &http.Client{Timeout: 2 * time.Second}
	go func() { // owner: sampler; ends at stop/ctx
		defer close(s.done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			rd, err := scrape(ctx, client, url)
			if err == nil {
				s.add(rd)
			} else if ctx.Err() == nil {
				s.mu.Lock()
				s.errs++
				s.mu.Unlock()
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	return s
}

func (s *sampler) add(rd reading) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := &s.res
	smp := results.Sample{At: results.Duration(rd.at.Sub(s.start)), RSS: int64(rd.rss), Goroutines: int(rd.goroutines), FDs: int(rd.fds)}
	if s.n == 0 {
		s.first = rd
	} else if dt := rd.at.Sub(s.prev.at).Seconds(); dt >= 0.1 {
		// Two readings a few ms apart (the final one) would turn a
		// CPU-seconds counter's granularity into a spike.
		smp.CPUPercent = 100 * (rd.cpu - s.prev.cpu) / dt
	}
	s.prev = rd
	s.n++
	s.rssSum += rd.rss
	if peak := int64(max(rd.rss, rd.rssPeak)); peak > r.RSSPeak {
		r.RSSPeak = peak
	}
	if int(rd.goroutines) > r.GoroutinesPeak {
		r.GoroutinesPeak = int(rd.goroutines)
	}
	if int(rd.fds) > r.FDsPeak {
		r.FDsPeak = int(rd.fds)
	}
	if d := results.Duration(rd.gcMax * float64(time.Second)); d > r.GCPauseMax {
		r.GCPauseMax = d
	}
	r.Series = append(r.Series, smp)
}

// stop takes a last reading, ends the goroutine and returns the summary:
// CPU % is Δprocess_cpu_seconds_total ÷ Δt over the whole window, of one
// core and of the machine (÷ runtime.NumCPU()).
func (s *sampler) stop(ctx context.Context) results.Resources {
	client := &http.Client{Timeout: 2 * time.Second}
	last, err := scrape(ctx, client, s.url)
	s.cancel()
	<-s.done
	if err == nil {
		s.add(last)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.res
	if s.n > 0 {
		r.RSSMean = int64(s.rssSum / float64(s.n))
	}
	if s.n > 1 {
		if dt := s.prev.at.Sub(s.first.at).Seconds(); dt > 0 {
			r.CPUCorePercent = 100 * (s.prev.cpu - s.first.cpu) / dt
			r.CPUMachinePercent = r.CPUCorePercent / float64(runtime.NumCPU())
		}
		r.GCPauseTotal = results.Duration((s.prev.gcSum - s.first.gcSum) * float64(time.Second))
	}
	return r
}
