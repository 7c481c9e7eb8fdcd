package bench

import (
	"context"
	"encoding/json"
	"io"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"

	"github.com/camload/camload/internal/wait"
	"github.com/camload/camload/results"
)

// DefaultFreshnessRate is how many `latest` reads a second the freshness
// sampler makes during the cycles window: a few hundred reads over a few
// seconds of cycles (a p99 needs them), light enough (one at a time, as
// the API load's 100 req/s of `latest` is) not to load the system.
const DefaultFreshnessRate = 50

// freshnessSampler reads GET /api/v1/cameras/{id}/latest for random
// cameras, one read at a time at most rate a second, and folds the age of
// what the API served (now − capturedAt) into a histogram, and that of the
// reads served as fresh into another. With the fleet's ground truth
// (dark), it also counts the reads of cameras the fleet had in an offline
// period. Its goroutine is owned by the sampler and ends at stop or when
// ctx ends.
type freshnessSampler struct {
	cancel context.CancelFunc
	done   chan struct{}
	dark   func(id string, at time.Time) bool

	mu       sync.Mutex
	age      *hist
	ageFresh *hist
	out      results.Freshness
	paused   bool
}

// latestBody is what the sampler reads of a `latest` answer: camload's
// capturedAt, or captured_at of other systems, and the optional stale and
// status fields.
type latestBody struct {
	CapturedAt  *time.Time `json:"capturedAt"`
	CapturedAt2 *time.Time `json:"captured_at"`
	Stale       bool       `json:"stale"`
	Status      string     `json:"status"`
}

// startFreshness starts sampling. dark, when not nil, is the fleet's
// ground truth: whether camera id is in an offline period at an instant.
func startFreshness(ctx context.Context, api string, ids []string, rate float64, seed int64, dark func(id string, at time.Time) bool) *freshnessSampler {
	ctx, cancel := context.WithCancel(ctx)
	f := &freshnessSampler{cancel: cancel, done: make(chan struct{}), dark: dark, age: newHist(), ageFresh: newHist()}
	client := &http.Client{Timeout: 2 * time.Second}
	rng := rand.New(rand.NewPCG(uint64(seed), 0xf7e5))
	go func() { // owner: freshnessSampler; ends at stop/ctx
		defer close(f.done)
		if len(ids) == 0 || rate <= 0 {
			return
		}
		wait.Every(ctx, time.Duration(float64(time.Second)/rate), func(time.Time) {
			id := ids[rng.IntN(len(ids))]
			f.read(ctx, client, id, api+"/api/v1/cameras/"+id+"/latest")
		})
	}()
	return f
}

// pause stops the sampling until stop: the runner pauses it while it
// drains the system's stragglers (no cycle runs then, which a system in
// service would not do).
func (f *freshnessSampler) pause() {
	f.mu.Lock()
	f.paused = true
	f.mu.Unlock()
}

func (f *freshnessSampler) read(ctx context.Context, client *http.Client, id, u string) {
	f.mu.Lock()
	paused := f.paused
	f.mu.Unlock()
	if paused {
		return
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return
	}
	resp, err := client.Do(req)
	if err != nil {
		return // a read that failed served nothing (ctx ended, or the API is down)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	now := time.Now()
	if err != nil {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.out.Reads++
	if f.dark != nil && f.dark(id, now) {
		f.out.Dark++
	}
	if resp.StatusCode == http.StatusNotFound {
		f.out.NotFound++
		return
	}
	var lb latestBody
	if resp.StatusCode != http.StatusOK || json.Unmarshal(b, &lb) != nil {
		return
	}
	if lb.Stale {
		f.out.Stale++
	}
	if lb.Status == "offline" {
		f.out.Offline++
	}
	at := lb.CapturedAt
	if at == nil {
		at = lb.CapturedAt2
	}
	if at == nil || at.IsZero() {
		return
	}
	age := max(now.Sub(*at), 0)
	f.age.Record(age)
	if !lb.Stale && lb.Status != "offline" {
		f.out.Fresh++
		f.ageFresh.Record(age)
	}
}

// stop ends the sampler and returns what it read (nil when it read
// nothing).
func (f *freshnessSampler) stop() *results.Freshness {
	f.cancel()
	<-f.done
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.out.Reads == 0 {
		return nil
	}
	out := f.out
	out.Age, out.AgeFresh = f.age.Quantiles(), f.ageFresh.Quantiles()
	return &out
}
