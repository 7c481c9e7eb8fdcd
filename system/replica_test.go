package system_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"go.mongodb.org/mongo-driver/bson"

	"github.com/camload/camload/internal/testenv"
	"github.com/camload/camload/simulator"
	"github.com/camload/camload/system"
	"github.com/camload/camload/system/group"
	"github.com/camload/camload/system/store"
)

// writeLog is a store shared by several replicas that counts the
// successful observation writes per (cycle, camera).
type writeLog struct {
	store.Store
	mu     sync.Mutex
	writes map[string]int // "cycle/camera" → successful writes
}

func (w *writeLog) note(obs ...store.Observation) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, o := range obs {
		w.writes[fmt.Sprintf("%d/%s", o.Cycle, o.CameraID)]++
	}
}

func (w *writeLog) InsertObservation(ctx context.Context, o store.Observation) error {
	err := w.Store.InsertObservation(ctx, o)
	if err == nil {
		w.note(o)
	}
	return err
}

func (w *writeLog) InsertObservations(ctx context.Context, obs []store.Observation) error {
	err := w.Store.InsertObservations(ctx, obs)
	if err == nil {
		w.note(obs...)
	}
	return err
}

// exactlyOnce fails t unless every camera of cycle was written once.
func (w *writeLog) exactlyOnce(t *testing.T, cycle int64, cams []store.Camera) {
	t.Helper()
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, c := range cams {
		if n := w.writes[fmt.Sprintf("%d/%s", cycle, c.ID)]; n != 1 {
			t.Errorf("cycle %d, camera %s: written %d times, want once", cycle, c.ID, n)
		}
	}
}

// groupEnv is one fleet, one store, one miniredis on loopback and n
// systems, each a replica of group "fleet" (not yet running).
type groupEnv struct {
	store    *store.Mongo
	log      *writeLog
	name     string // the group's name
	systems  []*system.System
	replicas []*group.Replica
}

func newGroupEnv(t *testing.T, n, cameras int, mode system.Mode, gopts group.Options, wrap func(i int, h group.Handler) group.Handler) *groupEnv {
	t.Helper()
	return newGroupEnvOn(t, "redis://"+miniredis.RunT(t).Addr(), n, cameras, mode, gopts, wrap)
}

// newGroupEnvOn is newGroupEnv on the Redis at url, in a group of its own
// (a fresh name, so that runs on a shared Redis do not meet).
func newGroupEnvOn(t *testing.T, url string, n, cameras int, mode system.Mode, gopts group.Options, wrap func(i int, h group.Handler) group.Handler) *groupEnv {
	t.Helper()
	ropts, err := redis.ParseURL(url)
	if err != nil {
		t.Fatalf("Redis URL %s: %v", url, err)
	}
	ctx := testCtx(t, time.Minute)
	clk := newClock()
	f, err := simulator.New(quietFleet(cameras, 4), simulator.WithClock(clk.Now))
	if err != nil {
		t.Fatalf("simulator.New: %v", err)
	}
	if err := f.Start(context.Background()); err != nil {
		t.Fatalf("fleet Start: %v", err)
	}
	t.Cleanup(func() { _ = f.Close() })
	st, err := store.OpenMongo(ctx, mongoURIs[0], dbName(t))
	if err != nil {
		t.Fatalf("OpenMongo: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = st.Drop(ctx)
		_ = st.Close(ctx)
	})
	e := &groupEnv{store: st, log: &writeLog{Store: st, writes: map[string]int{}}, name: dbName(t)}
	t.Cleanup(func() {
		// A shared Redis keeps no trace of the test's group.
		rdb := redis.NewClient(ropts)
		defer rdb.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		keys, _ := rdb.Keys(ctx, "camload:{"+e.name+"}:*").Result()
		if len(keys) > 0 {
			_ = rdb.Del(ctx, keys...).Err()
		}
	})
	for i := range n {
		cfg, ok := system.DefaultConfig(mode, f.ControlURL())
		if !ok {
			t.Fatalf("unknown mode %q", mode)
		}
		cfg.Knobs.FetchTimeout = 5 * time.Second
		cfg.Knobs.Dedupe = false
		sys, err := system.New(cfg, system.WithStore(e.log), system.WithClock(clk.Now), system.WithRegisterer(prometheus.NewRegistry()))
		if err != nil {
			t.Fatalf("system.New: %v", err)
		}
		t.Cleanup(func() { _ = sys.Close() })
		if err := sys.LoadRegistry(ctx); err != nil {
			t.Fatalf("LoadRegistry: %v", err)
		}
		rdb := redis.NewClient(ropts)
		t.Cleanup(func() { _ = rdb.Close() })
		o := gopts
		o.Name, o.Consumer = e.name, fmt.Sprintf("replica-%d", i)
		h := sys.GroupHandler()
		if wrap != nil {
			h = wrap(i, h)
		}
		r, err := group.New(rdb, o, h)
		if err != nil {
			t.Fatalf("group.New: %v", err)
		}
		e.systems = append(e.systems, sys)
		e.replicas = append(e.replicas, r)
	}
	return e
}

// run runs replica i until the returned stop is called (or the test ends).
func (e *groupEnv) run(t *testing.T, i int) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.replicas[i].Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("replica %d: Run: %v", i, err)
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

func TestGroupCycleExactlyOnce(t *testing.T) {
	for _, srv := range testenv.Redis(t) {
		for _, mode := range []system.Mode{system.ModeBatched, system.ModePooled} {
			t.Run(srv.Name+"/"+string(mode), func(t *testing.T) {
				const cameras = 48
				e := newGroupEnvOn(t, srv.URL, 3, cameras, mode, group.Options{Batch: 4, Workers: 2, Block: 50 * time.Millisecond}, nil)
				ctx := testCtx(t, time.Minute)
				e.run(t, 0)
				if err := e.replicas[0].WaitCoordinator(ctx); err != nil {
					t.Fatalf("WaitCoordinator: %v", err)
				}
				e.run(t, 1)
				e.run(t, 2)
				co, sys := e.replicas[0], e.systems[0]

				// A non-coordinator refuses to run a cycle.
				if _, err := e.systems[1].GroupCycle(ctx, e.replicas[1]); !errors.Is(err, group.ErrNotCoordinator) {
					t.Fatalf("GroupCycle on a non-coordinator: %v, want ErrNotCoordinator", err)
				}
				for c := range 2 {
					sum, err := sys.GroupCycle(ctx, co)
					if err != nil {
						t.Fatalf("GroupCycle %d: %v", c+1, err)
					}
					if !sum.Complete || sum.Cameras != cameras || sum.Processed != cameras || len(sum.Errors) != 0 {
						t.Fatalf("cycle %d: complete %v, cameras %d, processed %d, errors %v; want all %d processed",
							c+1, sum.Complete, sum.Cameras, sum.Processed, sum.Errors, cameras)
					}
					if sum.Reclaimed != 0 {
						t.Errorf("cycle %d: reclaimed %d with every replica alive", c+1, sum.Reclaimed)
					}
					total := 0
					for name, n := range sum.Replicas {
						if !strings.HasPrefix(name, "replica-") {
							t.Errorf("unknown replica %q in %v", name, sum.Replicas)
						}
						total += n
					}
					if total != cameras {
						t.Errorf("cycle %d: replicas %v sum to %d, want %d", c+1, sum.Replicas, total, cameras)
					}
					e.log.exactlyOnce(t, sum.Cycle, sys.Cameras())
					if last, ok := sys.LastCycle(); !ok || last.Cycle != sum.Cycle {
						t.Errorf("LastCycle = %d, %v; want cycle %d", last.Cycle, ok, sum.Cycle)
					}
				}
				// The store holds every camera's latest state from the last cycle.
				st, err := e.store.Stats(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if st.Observed != cameras {
					t.Errorf("store: %d cameras observed, want %d", st.Observed, cameras)
				}
				o, err := e.store.Latest(ctx, sys.Cameras()[0].ID)
				if err != nil || o.Cycle != 2 {
					t.Errorf("latest of %s: cycle %d, %v; want cycle 2", sys.Cameras()[0].ID, o.Cycle, err)
				}
			})
		}
	}
}

// A replica stopped in the middle of a cycle leaves jobs pending; another
// replica takes them over after ClaimIdle, and every camera is still
// written once.
func TestGroupCycleReplicaStoppedMidCycle(t *testing.T) {
	const cameras = 24
	var (
		stopB   context.CancelFunc
		bDone   = make(chan struct{}) // closed when replica 1 has stopped
		bJobs   atomic.Int32
		bCtx    context.Context
		stopped atomic.Bool
	)
	bCtx, stopB = context.WithCancel(context.Background())
	defer stopB()
	wrap := func(i int, h group.Handler) group.Handler {
		if i == 0 {
			// The coordinator works only once replica 1 is gone, so that
			// replica 1 is sure to hold jobs when it stops.
			return func(ctx context.Context, j group.Job) error {
				select {
				case <-bDone:
				case <-ctx.Done():
					return ctx.Err()
				}
				return h(ctx, j)
			}
		}
		// Replica 1 processes two jobs and stops in its third, with the
		// rest of its batch still pending.
		return func(ctx context.Context, j group.Job) error {
			if bJobs.Add(1) == 3 {
				stopped.Store(true)
				stopB()
			}
			return h(ctx, j)
		}
	}
	e := newGroupEnv(t, 2, cameras, system.ModeBatched,
		group.Options{Batch: 6, ClaimIdle: 300 * time.Millisecond, Block: 50 * time.Millisecond}, wrap)
	ctx := testCtx(t, time.Minute)
	e.run(t, 0)
	if err := e.replicas[0].WaitCoordinator(ctx); err != nil {
		t.Fatalf("WaitCoordinator: %v", err)
	}
	bRun := make(chan error, 1)
	go func() { bRun <- e.replicas[1].Run(bCtx) }()
	go func() {
		if err := <-bRun; err != nil {
			t.Errorf("replica 1: Run: %v", err)
		}
		close(bDone)
	}()

	sum, err := e.systems[0].GroupCycle(ctx, e.replicas[0])
	<-bDone
	if err != nil {
		t.Fatalf("GroupCycle: %v", err)
	}
	if !stopped.Load() {
		t.Fatal("replica 1 never reached its third job")
	}
	if !sum.Complete || sum.Processed != cameras {
		t.Fatalf("complete %v, processed %d of %d (replicas %v, errors %v)", sum.Complete, sum.Processed, cameras, sum.Replicas, sum.Errors)
	}
	if sum.Reclaimed == 0 {
		t.Errorf("reclaimed 0: replica 1's pending jobs were not taken over (summary %+v)", sum)
	}
	if got := sum.Replicas["replica-1"]; got != 2 {
		t.Errorf("replica-1 processed %d cameras, want the 2 before it stopped", got)
	}
	e.log.exactlyOnce(t, sum.Cycle, e.systems[0].Cameras())
}

// POST /api/v1/cycles of a group replica runs a group cycle on the
// coordinator and answers 409 naming the coordinator elsewhere.
func TestGroupCycleHandler(t *testing.T) {
	e := newGroupEnv(t, 2, 8, system.ModeBatched, group.Options{Block: 50 * time.Millisecond}, nil)
	ctx := testCtx(t, time.Minute)
	e.run(t, 0)
	if err := e.replicas[0].WaitCoordinator(ctx); err != nil {
		t.Fatal(err)
	}
	e.run(t, 1)
	post := func(i int) (int, map[string]any) {
		srv := httptest.NewServer(e.systems[i].GroupCycleHandler(e.replicas[i]))
		defer srv.Close()
		resp, err := http.Post(srv.URL, "application/json", nil)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, m
	}
	code, m := post(1)
	if code != http.StatusConflict || !strings.Contains(fmt.Sprint(m["error"]), "coordinator replica-0") {
		t.Errorf("non-coordinator: %d %v; want 409 naming replica-0", code, m)
	}
	code, m = post(0)
	if code != http.StatusOK || m["processed"] != float64(8) || m["complete"] != true {
		t.Errorf("coordinator: %d %v; want 200 with 8 processed", code, m)
	}
}

// A job delivered twice in one cycle (group's redelivery after a replica
// died between its write and its acknowledgement) is harmless: the second
// ProcessCamera writes the same documents again, the store holds one
// observation of the camera in that cycle.
func TestProcessCameraTwiceIsHarmless(t *testing.T) {
	for _, mode := range []system.Mode{system.ModeBatched, system.ModePooled} {
		t.Run(string(mode), func(t *testing.T) {
			e := newGroupEnv(t, 1, 4, mode, group.Options{}, nil)
			ctx := testCtx(t, time.Minute)
			sys := e.systems[0]
			id := sys.Cameras()[1].ID
			for range 2 {
				if err := sys.ProcessCamera(ctx, 7, id); err != nil {
					t.Fatalf("ProcessCamera: %v", err)
				}
			}
			if n := e.log.writes["7/"+id]; n != 2 {
				t.Fatalf("%d writes of (7, %s), want 2 (the test must write twice)", n, id)
			}
			n, err := e.store.Database().Collection(store.ObservationsCollection).CountDocuments(ctx, bson.D{{Key: "cameraId", Value: id}, {Key: "cycle", Value: 7}})
			if err != nil {
				t.Fatal(err)
			}
			if n != 1 {
				t.Errorf("%d observations of camera %s in cycle 7, want 1", n, id)
			}
			st, err := e.store.Stats(ctx)
			if err != nil || st.Observed != 1 {
				t.Errorf("stats: %+v, %v; want 1 camera observed", st, err)
			}
			if err := sys.ProcessCamera(ctx, 7, "no-such-camera"); !errors.Is(err, system.ErrUnknownCamera) {
				t.Errorf("ProcessCamera(unknown) = %v, want ErrUnknownCamera", err)
			}
		})
	}
}
