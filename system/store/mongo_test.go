package store_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/camload/camload/internal/cfgerr"
	"github.com/camload/camload/system/store"
)

var (
	districts = []string{"d1", "d3", "d5", "binh-thanh"}
	statuses  = []string{"online", "offline"}
)

// fleet makes n cameras with ids cam-0000… spread over districts and
// statuses.
func fleet(n int) []store.Camera {
	cams := make([]store.Camera, n)
	for i := range cams {
		cams[i] = store.Camera{
			ID:          fmt.Sprintf("cam-%04d", i),
			Name:        fmt.Sprintf("Intersection %d", i),
			Code:        fmt.Sprintf("C%d", i),
			District:    districts[i%len(districts)],
			Location:    store.Location{Lat: 10.7 + float64(i)/1e4, Lng: 106.6 + float64(i)/1e4},
			CameraType:  "Static",
			Status:      statuses[(i/3)%len(statuses)],
			SnapshotURL: fmt.Sprintf("http://127.0.0.1:1/cameras/cam-%04d/snapshot", i),
		}
	}
	return cams
}

func want(cams []store.Camera, f store.Filter) []string {
	var ids []string
	for _, c := range cams {
		if (f.Status == "" || c.Status == f.Status) && (f.District == "" || c.District == f.District) {
			ids = append(ids, c.ID)
		}
	}
	return ids
}

func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestPagination(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be backend) {
		s := openStore(t, be)
		ctx := testCtx(t)
		cams := fleet(130) // > 2 chunks of 50
		if err := s.UpsertCameras(ctx, cams); err != nil {
			t.Fatalf("UpsertCameras(130) = %v", err)
		}
		filters := []store.Filter{
			{},                                  // everything
			{Status: "online"},                  // one status
			{District: "d3"},                    // one district
			{Status: "offline", District: "d5"}, // both
			{Status: "unknown"},                 // matches nothing
			{District: `{"$ne": 1}`},            // operator text is a plain value
		}
		for _, f := range filters {
			wantIDs := want(cams, f)
			for _, limit := range []int{7, 50, 1000} {
				// Offset walk; the total is counted on the first page
				// only, as a client would.
				var got []string
				for page := 0; page <= len(cams); page++ {
					p := store.Page{Offset: page * limit, Limit: limit, SkipCount: page > 0}
					cs, total, err := s.Cameras(ctx, f, p)
					if err != nil {
						t.Fatalf("Cameras(%+v, %+v) = %v", f, p, err)
					}
					wantTotal := len(wantIDs)
					if page > 0 {
						wantTotal = -1
					}
					if total != wantTotal {
						t.Fatalf("Cameras(%+v, %+v) total = %d; want %d", f, p, total, wantTotal)
					}
					for _, c := range cs {
						got = append(got, c.ID)
					}
					if len(cs) < limit {
						break
					}
				}
				if !slices.Equal(got, wantIDs) {
					t.Errorf("offset walk %+v limit %d = %d ids %v…; want %d", f, limit, len(got), head(got), len(wantIDs))
				}
				// Keyset walk.
				got = got[:0]
				after := ""
				for page := 0; page <= len(cams); page++ {
					cs, total, err := s.Cameras(ctx, f, store.Page{After: after, Limit: limit})
					if err != nil {
						t.Fatalf("Cameras(%+v, after %q, limit %d) = %v", f, after, limit, err)
					}
					if after != "" && total != -1 {
						t.Fatalf("cursor page total = %d; want -1", total)
					}
					for _, c := range cs {
						got = append(got, c.ID)
					}
					if len(cs) < limit {
						break
					}
					after = cs[len(cs)-1].ID
				}
				if !slices.Equal(got, wantIDs) {
					t.Errorf("cursor walk %+v limit %d = %d ids %v…; want %d", f, limit, len(got), head(got), len(wantIDs))
				}
			}
		}
	})
}

func head(ids []string) []string { return ids[:min(5, len(ids))] }

func TestCamerasProjectionAndErrors(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be backend) {
		s := openStore(t, be)
		ctx := testCtx(t)
		if w := s.Warnings(); len(w) != 0 {
			t.Errorf("Warnings() = %q; want every index created", w)
		}
		specs, err := s.Database().Collection(store.CamerasCollection).Indexes().ListSpecifications(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, sp := range specs {
			names = append(names, sp.Name)
		}
		slices.Sort(names)
		if want := []string{"_id_", "district", "district_id", "status", "status_id"}; !slices.Equal(names, want) {
			t.Errorf("cameras indexes = %v; want %v", names, want)
		}
		cams := fleet(10)
		if err := s.UpsertCameras(ctx, cams); err != nil {
			t.Fatal(err)
		}
		cs, total, err := s.Cameras(ctx, store.Filter{}, store.Page{Limit: 3, Fields: []string{"id", "district"}, SkipCount: true})
		if err != nil {
			t.Fatalf("Cameras(fields id,district) = %v", err)
		}
		if total != -1 || len(cs) != 3 {
			t.Fatalf("Cameras(fields, SkipCount) = %d cameras, total %d; want 3, -1", len(cs), total)
		}
		for i, c := range cs {
			wantC := store.Camera{ID: cams[i].ID, District: cams[i].District}
			if c != wantC {
				t.Errorf("projected camera %d = %+v; want %+v", i, c, wantC)
			}
		}
		// Full documents round-trip.
		cs, _, err = s.Cameras(ctx, store.Filter{}, store.Page{Limit: 10})
		if err != nil || !slices.Equal(cs, cams) {
			t.Errorf("Cameras(all fields) = %v, %v; want the fleet", cs, err)
		}
		c, err := s.Camera(ctx, "cam-0004")
		if err != nil || c != cams[4] {
			t.Errorf("Camera(cam-0004) = %+v, %v; want %+v", c, err, cams[4])
		}
		if _, err := s.Camera(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Camera(nope) = %v; want ErrNotFound", err)
		}
		bad := []store.Page{
			{Fields: []string{"password"}},  // not whitelisted
			{Fields: []string{"$where"}},    // operator as a field
			{Limit: -1},                     // negative limit
			{Limit: store.MaxPageLimit + 1}, // too large
			{Offset: -5},                    // negative offset
			{Offset: 10, After: "cam-0001"}, // both kinds
		}
		for _, p := range bad {
			if _, _, err := s.Cameras(ctx, store.Filter{}, p); !errors.Is(err, store.ErrInvalid) {
				t.Errorf("Cameras(%+v) = %v; want ErrInvalid", p, err)
			}
		}
	})
}

func obsOf(cam string, i int, at time.Time, vehicles int) store.Observation {
	intensity := min(float64(vehicles)/100, 1)
	cong := "free"
	switch {
	case intensity >= 0.75:
		cong = "congested"
	case intensity >= 0.40:
		cong = "moderate"
	}
	return store.Observation{
		CameraID: cam, Cycle: int64(i), FrameHash: fmt.Sprintf("h%d", i),
		CapturedAt: at.Add(-time.Second), ProcessedAt: at,
		VehicleCount: vehicles, Intensity: intensity, Congestion: cong, District: "d1",
	}
}

func TestObservationsLatestStats(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be backend) {
		s := openStore(t, be)
		ctx := testCtx(t)
		cams := fleet(60)
		if err := s.UpsertCameras(ctx, cams); err != nil {
			t.Fatal(err)
		}
		t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		// Three observations per camera in one bulk (180 > 3 chunks):
		// the newest has cycle 2. Insert them newest first so that order
		// cannot be what makes Latest right.
		var obs []store.Observation
		for round := 2; round >= 0; round-- {
			for i, c := range cams {
				o := obsOf(c.ID, round, t0.Add(time.Duration(round)*time.Minute), (i*7+round*30)%120)
				o.District = c.District
				obs = append(obs, o)
			}
		}
		if err := s.InsertObservations(ctx, obs); err != nil {
			t.Fatalf("InsertObservations(%d) = %v", len(obs), err)
		}
		// Again: idempotent, nothing duplicated.
		if err := s.InsertObservations(ctx, obs); err != nil {
			t.Fatalf("InsertObservations(again) = %v", err)
		}
		n, err := s.Database().Collection(store.ObservationsCollection).CountDocuments(ctx, map[string]any{})
		if err != nil || n != int64(len(obs)) {
			t.Errorf("observations stored = %d, %v; want %d", n, err, len(obs))
		}
		wantStats := store.Stats{Cameras: len(cams), ByCongestion: map[string]int{}, ByDistrict: map[string]int{}}
		for i, c := range cams {
			got, err := s.Latest(ctx, c.ID)
			wantO := obsOf(c.ID, 2, t0.Add(2*time.Minute), (i*7+60)%120)
			wantO.District = c.District
			if err != nil || got != wantO {
				t.Fatalf("Latest(%s) = %+v, %v; want %+v", c.ID, got, err, wantO)
			}
			wantStats.Observed++
			wantStats.ByCongestion[wantO.Congestion]++
			wantStats.ByDistrict[wantO.District]++
		}
		// A newer single insert replaces it.
		newer := obsOf("cam-0000", 3, t0.Add(3*time.Minute), 100)
		newer.District = "d1"
		if err := s.InsertObservation(ctx, newer); err != nil {
			t.Fatalf("InsertObservation(newer) = %v", err)
		}
		if got, err := s.Latest(ctx, "cam-0000"); err != nil || got != newer {
			t.Errorf("Latest(cam-0000) = %+v, %v; want %+v", got, err, newer)
		}
		old0 := obsOf("cam-0000", 2, t0.Add(2*time.Minute), 60)
		wantStats.ByCongestion[old0.Congestion]--
		wantStats.ByCongestion[newer.Congestion]++
		if _, err := s.Latest(ctx, "cam-9999"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Latest(unknown) = %v; want ErrNotFound", err)
		}
		st, err := s.Stats(ctx)
		if err != nil {
			t.Fatalf("Stats() = %v", err)
		}
		clean := func(m map[string]int) {
			for k, v := range m {
				if v == 0 {
					delete(m, k)
				}
			}
		}
		clean(wantStats.ByCongestion)
		if fmt.Sprint(st) != fmt.Sprint(wantStats) {
			t.Errorf("Stats() = %+v; want %+v", st, wantStats)
		}
		if err := s.InsertObservation(ctx, store.Observation{CameraID: "x"}); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("InsertObservation(no frame hash) = %v; want ErrInvalid", err)
		}
	})
}

// TestBulkChunking writes 120+ statements per call with a deadline: an
// unchunked update of ≥ 100 statements deadlocks FerretDB, which this
// turns into a fast failure.
func TestBulkChunking(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be backend) {
		s := openStore(t, be)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		cams := fleet(125)
		for round := 0; round < 2; round++ { // the second round updates 125 matched documents
			if err := s.UpsertCameras(ctx, cams); err != nil {
				t.Fatalf("UpsertCameras(125) round %d = %v", round, err)
			}
		}
		t0 := time.Now().UTC().Truncate(time.Millisecond)
		for round := 0; round < 2; round++ {
			obs := make([]store.Observation, len(cams))
			for i, c := range cams {
				obs[i] = obsOf(c.ID, round, t0.Add(time.Duration(round)*time.Second), i)
			}
			if err := s.InsertObservations(ctx, obs); err != nil {
				t.Fatalf("InsertObservations(125) round %d = %v", round, err)
			}
		}
		st, err := s.Stats(ctx)
		if err != nil || st.Cameras != 125 || st.Observed != 125 {
			t.Errorf("Stats() = %+v, %v; want 125 cameras, 125 observed", st, err)
		}
	})
}

// TestConcurrentWrites runs many writers at once (the async mode's one
// goroutine per camera, the batched mode's concurrent batches) against
// existing cameras, with a deadline: FerretDB deadlocks when the update
// commands in flight hold all its backend connections.
func TestConcurrentWrites(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be backend) {
		s := openStore(t, be)
		ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
		defer cancel()
		// Written one by one; as many more in batches. 200 concurrent
		// updates deadlock FerretDB on PostgreSQL with a client pool of
		// 100 (checked); fewer under the race detector's slowdown.
		cams := 200
		if raceEnabled {
			cams = 100
		}
		t0 := time.Now().UTC().Truncate(time.Millisecond)
		first := make([]store.Observation, 2*cams)
		for i := range first {
			first[i] = obsOf(fmt.Sprintf("cam-%04d", i), 0, t0, i)
		}
		if err := s.InsertObservations(ctx, first); err != nil {
			t.Fatal(err)
		}
		errs := make(chan error, cams+4)
		var wg sync.WaitGroup
		for i := 0; i < cams; i++ { // one goroutine per camera
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs <- s.InsertObservation(ctx, obsOf(fmt.Sprintf("cam-%04d", i), 1, t0.Add(time.Second), i))
			}()
		}
		for b := 0; b < cams/50; b++ { // concurrent batches of 50 matched upserts
			wg.Add(1)
			go func() {
				defer wg.Done()
				obs := make([]store.Observation, 50)
				for i := range obs {
					obs[i] = obsOf(fmt.Sprintf("cam-%04d", cams+b*50+i), 2, t0.Add(2*time.Second), i)
				}
				errs <- s.InsertObservations(ctx, obs)
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatalf("concurrent write = %v", err)
			}
		}
		for i := 0; i < 2*cams; i += 7 {
			want := int64(1 + i/cams)
			if o, err := s.Latest(ctx, fmt.Sprintf("cam-%04d", i)); err != nil || o.Cycle != want {
				t.Errorf("Latest(cam-%04d) = cycle %d, %v; want %d", i, o.Cycle, err, want)
			}
		}
	})
}

func TestOpenMongoConfig(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	tests := []struct {
		name, uri, db string
		opts          []store.MongoOption
		field         string
	}{
		{"empty uri", "", "db", nil, "mongo-uri"},
		{"bad scheme", "http://127.0.0.1:1", "db", nil, "mongo-uri"},
		{"empty db", "mongodb://127.0.0.1:1", "", nil, "mongo-db"},
		{"chunk too big", "mongodb://127.0.0.1:1", "db", []store.MongoOption{store.ChunkSize(100)}, "chunk-size"},
		{"zero pool", "mongodb://127.0.0.1:1", "db", []store.MongoOption{store.MaxPoolSize(0)}, "max-pool-size"},
	}
	for _, tt := range tests {
		_, err := store.OpenMongo(ctx, tt.uri, tt.db, tt.opts...)
		var ce *cfgerr.Error
		if !errors.As(err, &ce) || ce.Field != tt.field {
			t.Errorf("%s: OpenMongo(%q, %q) = %v; want a cfgerr naming %s", tt.name, tt.uri, tt.db, err, tt.field)
		}
	}
	// A closed port fails within the connect timeout, and names no password.
	_, err := store.OpenMongo(ctx, "mongodb://u:secret@127.0.0.1:1", "db", store.ConnectTimeout(200*time.Millisecond))
	if err == nil || cfgerr.Is(err) {
		t.Fatalf("OpenMongo(closed port) = %v; want a connection error", err)
	}
	if strings.Contains(err.Error(), "secret") {
		t.Errorf("error %q leaks the password", err)
	}
}
