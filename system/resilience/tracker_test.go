package resilience_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/camload/camload/system/resilience"
)

type lateLog struct {
	mu   sync.Mutex
	late []resilience.Late[string, int]
}

func (l *lateLog) add(x resilience.Late[string, int]) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.late = append(l.late, x)
}

func (l *lateLog) ids() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var ids []string
	for _, x := range l.late {
		ids = append(ids, x.ID)
	}
	slices.Sort(ids)
	return ids
}

func abandonedIDs(co resilience.Cutoff[string, int]) []string {
	var ids []string
	for _, a := range co.Abandoned {
		ids = append(ids, a.ID)
	}
	slices.Sort(ids)
	return ids
}

func TestTrackerCycle(t *testing.T) {
	t.Parallel()
	type op struct {
		kind string // "start", "done", "close", "cut"
		id   string
		want any // StartResult for start, bool (on time) for done
	}
	tests := []struct {
		name      string
		ops       []op
		results   map[string]int // on-time results, by camera (value = len(id))
		abandoned []string
		complete  bool
		late      []string
	}{
		{
			name: "all on time",
			ops: []op{
				{"start", "a", resilience.Started}, {"start", "b", resilience.Started},
				{"done", "a", true}, {"close", "", nil}, {"done", "b", true}, {"cut", "", nil},
			},
			results: map[string]int{"a": 1, "b": 1}, complete: true,
		},
		{
			name: "a straggler is abandoned and arrives late",
			ops: []op{
				{"start", "a", resilience.Started}, {"start", "bb", resilience.Started},
				{"done", "a", true}, {"close", "", nil}, {"cut", "", nil},
				{"done", "bb", false},
			},
			results: map[string]int{"a": 1}, abandoned: []string{"bb"}, late: []string{"bb"},
		},
		{
			name: "nothing starts after the cut-off or twice",
			ops: []op{
				{"start", "a", resilience.Started}, {"start", "a", resilience.StillInFlight},
				{"cut", "", nil}, {"start", "b", resilience.CycleOver}, {"done", "b", false},
			},
			results: map[string]int{}, abandoned: []string{"a"},
		},
		{
			name: "cut before close is not complete",
			ops: []op{
				{"start", "a", resilience.Started}, {"done", "a", true}, {"cut", "", nil},
				{"done", "a", false}, // a second Done is ignored, not late
			},
			results: map[string]int{"a": 1},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var log lateLog
			tr := resilience.NewTracker(resilience.TrackerOptions[string, int]{OnLate: log.add})
			c := tr.Begin(1)
			var co resilience.Cutoff[string, int]
			for i, o := range tt.ops {
				switch o.kind {
				case "start":
					if got := c.Start(o.id); got != o.want {
						t.Fatalf("op %d: Start(%s) = %s; want %s", i, o.id, got, o.want)
					}
				case "done":
					if got := c.Done(o.id, len(o.id)); got != o.want {
						t.Fatalf("op %d: Done(%s) = %t; want %t", i, o.id, got, o.want)
					}
				case "close":
					c.Close()
				case "cut":
					co = c.Cut()
				}
			}
			if got := abandonedIDs(co); !slices.Equal(got, tt.abandoned) {
				t.Errorf("abandoned %v; want %v", got, tt.abandoned)
			}
			if len(co.Results) != len(tt.results) {
				t.Errorf("results %v; want %v", co.Results, tt.results)
			}
			for id, v := range tt.results {
				if co.Results[id] != v {
					t.Errorf("results[%s] = %d; want %d", id, co.Results[id], v)
				}
			}
			if co.Complete != tt.complete {
				t.Errorf("complete %t; want %t", co.Complete, tt.complete)
			}
			if got := log.ids(); !slices.Equal(got, tt.late) {
				t.Errorf("late %v; want %v", got, tt.late)
			}
			st := tr.Stats()
			if st.Late != uint64(len(tt.late)) || st.Abandoned != uint64(len(tt.abandoned)) {
				t.Errorf("Stats %+v; want %d late, %d abandoned", st, len(tt.late), len(tt.abandoned))
			}
			if again := c.Cut(); !slices.Equal(abandonedIDs(again), tt.abandoned) {
				t.Errorf("a second Cut abandoned %v; want the first's %v", abandonedIDs(again), tt.abandoned)
			}
		})
	}
}

// TestTrackerAcrossCycles runs two cycles whose cut-off is a budget
// context, with fetch goroutines the test owns: a hung camera is abandoned
// by cycle 1, skipped by cycle 2 while still in flight, and its result is
// delivered late, with its cycle, once it answers.
func TestTrackerAcrossCycles(t *testing.T) {
	t.Parallel()
	clk := newClock()
	var log lateLog
	tr := resilience.NewTracker(resilience.TrackerOptions[string, int]{OnLate: log.add, Now: clk.Now})
	hang := make(chan struct{}) // the hung camera answers when closed
	var wg sync.WaitGroup
	defer wg.Wait()
	fetch := func(c *resilience.Cycle[string, int], id string, wait <-chan struct{}) {
		if c.Start(id) != resilience.Started {
			return
		}
		wg.Go(func() {
			<-wait
			c.Done(id, 7)
		})
	}
	now := make(chan struct{})
	close(now)

	c1 := tr.Begin(1)
	fetch(c1, "fast", now)
	fetch(c1, "hung", hang)
	c1.Close()
	budget, cancel := context.WithCancel(context.Background())
	waitFor(t, func() bool { return tr.Stats().InFlight == 1 })
	clk.Advance(time.Second)
	cancel() // the budget ends
	co := c1.Wait(budget)
	if got := abandonedIDs(co); !slices.Equal(got, []string{"hung"}) || co.Complete {
		t.Fatalf("cycle 1: abandoned %v, complete %t; want [hung], false", got, co.Complete)
	}
	if co.Abandoned[0].For != time.Second {
		t.Errorf("cycle 1: hung in flight for %s at the cut-off; want 1s", co.Abandoned[0].For)
	}
	if _, ok := co.Results["fast"]; !ok {
		t.Errorf("cycle 1: results %v; want fast on time", co.Results)
	}

	c2 := tr.Begin(2)
	if got := c2.Start("hung"); got != resilience.StillInFlight {
		t.Fatalf("cycle 2: Start(hung) = %s; want %s", got, resilience.StillInFlight)
	}
	fetch(c2, "fast", now)
	c2.Close()
	co2 := c2.Wait(context.Background()) // returns once fast is done
	if !co2.Complete || len(co2.Results) != 1 || len(co2.Abandoned) != 0 {
		t.Fatalf("cycle 2: %+v; want complete with fast only", co2)
	}
	if got := tr.InFlight(); len(got) != 1 || got["hung"] != 1 {
		t.Errorf("InFlight = %v; want hung from cycle 1", got)
	}

	ctx, cancelIdle := context.WithCancel(context.Background())
	cancelIdle()
	if err := tr.WaitIdle(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("WaitIdle with hung in flight and an ended context = %v; want context.Canceled", err)
	}
	clk.Advance(2 * time.Second)
	close(hang)
	if err := tr.WaitIdle(context.Background()); err != nil {
		t.Fatal(err)
	}
	log.mu.Lock()
	defer log.mu.Unlock()
	if len(log.late) != 1 {
		t.Fatalf("late results %+v; want hung's", log.late)
	}
	if l := log.late[0]; l.ID != "hung" || l.Cycle != 1 || l.Result != 7 || l.Took != 3*time.Second {
		t.Errorf("late result %+v; want hung of cycle 1, result 7, took 3s", l)
	}
	if st := tr.Stats(); st != (resilience.TrackerStats{Abandoned: 1, Late: 1}) {
		t.Errorf("Stats %+v; want 1 abandoned, 1 late, none in flight", st)
	}
}

func TestTrackerWaitEmptyCycle(t *testing.T) {
	t.Parallel()
	tr := resilience.NewTracker(resilience.TrackerOptions[int, struct{}]{})
	c := tr.Begin(1)
	c.Close()
	if co := c.Wait(context.Background()); !co.Complete || len(co.Results) != 0 {
		t.Errorf("Wait of an empty closed cycle = %+v; want complete, no results", co)
	}
	if err := tr.WaitIdle(context.Background()); err != nil {
		t.Errorf("WaitIdle of an idle tracker = %v", err)
	}
}

// TestTrackerLateStoredFirst checks that a camera whose late result is
// being stored (OnLate running) is not started again and keeps WaitIdle
// waiting, so observations are stored in order and a shutdown waits for
// the store.
func TestTrackerLateStoredFirst(t *testing.T) {
	t.Parallel()
	storing, stored := make(chan struct{}), make(chan struct{})
	tr := resilience.NewTracker(resilience.TrackerOptions[string, int]{OnLate: func(resilience.Late[string, int]) {
		close(storing)
		<-stored
	}})
	c1 := tr.Begin(1)
	c1.Start("a")
	c1.Close()
	c1.Cut()
	done := make(chan bool)
	go func() { done <- c1.Done("a", 1) }()
	<-storing
	c2 := tr.Begin(2)
	if got := c2.Start("a"); got != resilience.StillInFlight {
		t.Errorf("Start(a) while its late result is stored = %s; want %s", got, resilience.StillInFlight)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := tr.WaitIdle(ctx); err == nil {
		t.Error("WaitIdle returned nil while a late result was being stored")
	}
	close(stored)
	if onTime := <-done; onTime {
		t.Error("Done after the cut-off = true; want false (late)")
	}
	if err := tr.WaitIdle(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := c2.Start("a"); got != resilience.Started {
		t.Errorf("Start(a) after its late result was stored = %s; want %s", got, resilience.Started)
	}
	c2.Done("a", 2)
}
