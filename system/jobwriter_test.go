package system

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/camload/camload/system/store"
)

// gatedStore records the cameras of every InsertObservations call; a
// call announces its cameras on entered and blocks until a value arrives
// on next (the error it returns).
type gatedStore struct {
	store.Store // nil: only InsertObservations is called
	entered     chan []string
	next        chan error
}

func (g *gatedStore) InsertObservations(ctx context.Context, obs []store.Observation) error {
	ids := make([]string, len(obs))
	for i, o := range obs {
		ids[i] = o.CameraID
	}
	g.entered <- ids
	return <-g.next
}

func newJobWriterSystem(t *testing.T, batch int) (*System, *gatedStore) {
	t.Helper()
	cfg, ok := DefaultConfig(ModeBatched, "http://127.0.0.1:1")
	if !ok {
		t.Fatal("no batched mode")
	}
	cfg.Knobs.BatchSize = batch
	g := &gatedStore{entered: make(chan []string), next: make(chan error)}
	s, err := New(cfg, WithStore(g), WithRegisterer(prometheus.NewRegistry()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s, g
}

func jobVisit(i int) *trackedVisit {
	id := fmt.Sprintf("cam-%05d", i)
	tv := &trackedVisit{cam: &store.Camera{ID: id}, state: &camState{}}
	tv.v.start = time.Now()
	tv.v.etag = fmt.Sprintf("%q", id)
	tv.v.obs = &store.Observation{CameraID: id, FrameHash: "h" + id, Cycle: 1}
	return tv
}

// waitQueued waits until n frames wait in s's job writer.
func waitQueued(t *testing.T, s *System, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		s.jobs.mu.Lock()
		q := len(s.jobs.queue)
		s.jobs.mu.Unlock()
		if q == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d frames queued, want %d", q, n)
		}
		time.Sleep(time.Millisecond)
	}
}

// within fails t unless ch yields (or is closed) within 10 s.
func within[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(10 * time.Second):
		t.Fatalf("%s: not within 10 s", what)
		panic("unreachable")
	}
}

// TestJobWriterCombinesConcurrentJobs: a lone job writes at once, as a
// batch of one; the jobs finishing while that write is in flight are
// written together by the first of them, in batches of at most BatchSize,
// each job returning once its own frame is written and not waiting for
// later batches; a failed write marks its batch's frames ErrStore and no
// other.
func TestJobWriterCombinesConcurrentJobs(t *testing.T) {
	const batch, jobs = 3, 8
	s, g := newJobWriterSystem(t, batch)
	tvs := make([]*trackedVisit, jobs)
	returned := make([]chan struct{}, jobs)
	byID := map[string]int{}
	for i := range tvs {
		tvs[i], returned[i] = jobVisit(i), make(chan struct{})
		byID[tvs[i].cam.ID] = i
	}
	start := func(i int) {
		go func() { // owner: the test, which waits for returned[i]
			defer close(returned[i])
			s.jobs.write(s, tvs[i])
		}()
	}
	isReturned := func(i int) bool {
		select {
		case <-returned[i]:
			return true
		default:
			return false
		}
	}
	// write waits for the next store write and returns its jobs.
	write := func(what string) []int {
		ids := within(t, g.entered, what)
		js := make([]int, len(ids))
		for k, id := range ids {
			js[k] = byID[id]
		}
		return js
	}

	start(0)
	if js := write("a lone job's write"); !slices.Equal(js, []int{0}) {
		t.Fatalf("a lone job's write held jobs %v, want [0]", js)
	}
	for i := 1; i < jobs; i++ {
		start(i)
	}
	waitQueued(t, s, jobs-1)
	g.next <- nil // job 0's write succeeds
	within(t, returned[0], "job 0 returning after its own write")

	// Three more writes of the seven queued jobs, BatchSize at most each;
	// the first of them (the second write) fails.
	var batches [][]int
	seen := map[int]bool{}
	for b, err := range []error{errors.New("store down"), nil, nil} {
		js := write(fmt.Sprintf("write %d", b+2))
		if want := min(batch, jobs-1-b*batch); len(js) != want {
			t.Fatalf("write %d held %d frames (%v), want %d", b+2, len(js), js, want)
		}
		for _, i := range js {
			if seen[i] || i == 0 {
				t.Fatalf("write %d holds job %d again", b+2, i)
			}
			seen[i] = true
		}
		for i := 1; i < jobs; i++ {
			if isReturned(i) && !slices.ContainsFunc(batches, func(done []int) bool { return slices.Contains(done, i) }) {
				t.Fatalf("job %d returned before its frame was written", i)
			}
		}
		g.next <- err
		for _, i := range js {
			within(t, returned[i], fmt.Sprintf("job %d returning after its write", i))
		}
		batches = append(batches, js)
	}
	for i, tv := range tvs {
		failed := slices.Contains(batches[0], i)
		switch {
		case failed && (tv.v.stored || tv.v.kind != ErrStore):
			t.Errorf("job %d (failed write): stored %v, kind %q; want ErrStore", i, tv.v.stored, tv.v.kind)
		case !failed && (!tv.v.stored || tv.v.kind != "" || tv.state.hash != tv.v.obs.FrameHash):
			t.Errorf("job %d: stored %v, kind %q, state hash %q; want stored", i, tv.v.stored, tv.v.kind, tv.state.hash)
		}
	}

	// The writer is idle again: the next lone job writes at once.
	start1 := jobVisit(jobs)
	byID[start1.cam.ID] = jobs
	tvs, returned = append(tvs, start1), append(returned, make(chan struct{}))
	start(jobs)
	if js := write("a lone job's write after the burst"); !slices.Equal(js, []int{jobs}) {
		t.Fatalf("a lone job after the burst: write held jobs %v, want [%d]", js, jobs)
	}
	g.next <- nil
	within(t, returned[jobs], "the lone job returning")
	if !start1.v.stored {
		t.Error("lone job after the burst: not stored")
	}
}
