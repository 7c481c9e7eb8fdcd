package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo/options"

	"github.com/camload/camload/system/store"
)

// Benchmarks of the write and read paths on each test backend (embedded
// FerretDB on SQLite; FerretDB on PostgreSQL with
// CAMLOAD_TEST_POSTGRES_URL). Run with:
//
//	go test -run '^$' -bench 'Insert|Latest' -benchtime 1000x ./system/store/
//	go test -run '^$' -bench CamerasPage -benchtime 20x ./system/store/

func benchStore(b *testing.B, be backend) (*store.Mongo, context.Context) {
	s := openStore(b, be)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	b.Cleanup(cancel)
	return s, ctx
}

// benchObs is observation i of a fleet of cams cameras: a new frame each
// time, so every write stores a document.
func benchObs(i, cams int, t0 time.Time) store.Observation {
	o := obsOf(fmt.Sprintf("cam-%04d", i%cams), i, t0.Add(time.Duration(i)*time.Millisecond), i%120)
	o.FrameHash = fmt.Sprintf("f%08d", i)
	return o
}

// BenchmarkInsertObservation writes one observation per call (the
// sync…cached modes): one insert plus one latest upsert.
func BenchmarkInsertObservation(b *testing.B) {
	forEachBench(b, func(b *testing.B, s *store.Mongo, ctx context.Context, cams int) {
		t0 := time.Now().UTC()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if err := s.InsertObservation(ctx, benchObs(i, cams, t0)); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "obs/s")
	})
}

// benchCameras are the fleet sizes the benchmarks run at: FerretDB on
// SQLite scans a collection even for an _id lookup (its _id index is on
// another expression than its queries use), so the size of the `latest`
// collection shows in every upsert and Latest.
var benchCameras = []int{100, 1000}

// forEachBench runs f per backend and fleet size, on a fresh database
// whose `latest` collection already holds one document per camera.
func forEachBench(b *testing.B, f func(b *testing.B, s *store.Mongo, ctx context.Context, cams int)) {
	for _, be := range testBackends {
		for _, cams := range benchCameras {
			b.Run(fmt.Sprintf("%s/cameras=%d", be.name, cams), func(b *testing.B) {
				s, ctx := benchStore(b, be)
				t0 := time.Now().UTC().Add(-time.Hour)
				warm := make([]store.Observation, cams)
				for i := range warm {
					warm[i] = benchObs(i, cams, t0)
					warm[i].FrameHash = fmt.Sprintf("warm%d", i)
				}
				if err := s.InsertObservations(ctx, warm); err != nil {
					b.Fatal(err)
				}
				f(b, s, ctx, cams)
			})
		}
	}
}

// BenchmarkInsertObservations writes batches of 100 observations of 100
// cameras (the batched mode): chunked unordered inserts plus chunked
// latest upserts. One op is one observation.
func BenchmarkInsertObservations(b *testing.B) {
	const batch = 100
	forEachBench(b, func(b *testing.B, s *store.Mongo, ctx context.Context, cams int) {
		insertBatches(b, ctx, s, cams, batch, time.Now().UTC())
	})
}

// insertBatches is the timed part of the insert benchmarks: b.N
// observations of cams cameras from t0 written in batches of batch (the
// batched mode), reported as obs/s.
func insertBatches(b *testing.B, ctx context.Context, s *store.Mongo, cams, batch int, t0 time.Time) {
	b.Helper()
	obs := make([]store.Observation, 0, batch)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		obs = append(obs, benchObs(i, cams, t0))
		if len(obs) == batch || i == b.N-1 {
			if err := s.InsertObservations(ctx, obs); err != nil {
				b.Fatal(err)
			}
			obs = obs[:0]
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "obs/s")
}

// BenchmarkLatest reads the latest state of a camera by _id (the hot read
// path).
func BenchmarkLatest(b *testing.B) {
	forEachBench(b, func(b *testing.B, s *store.Mongo, ctx context.Context, cams int) {
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if _, err := s.Latest(ctx, fmt.Sprintf("cam-%04d", i%cams)); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkCamerasPage compares a deep offset page with the keyset page
// that returns the same cameras, over 1000 cameras.
func BenchmarkCamerasPage(b *testing.B) {
	for _, be := range testBackends {
		b.Run(be.name, func(b *testing.B) {
			s, ctx := benchStore(b, be)
			if err := s.UpsertCameras(ctx, fleet(1000)); err != nil {
				b.Fatal(err)
			}
			pages := []struct {
				name string
				p    store.Page
			}{
				{"offset900", store.Page{Offset: 900, Limit: 50, SkipCount: true}},
				{"offset900+count", store.Page{Offset: 900, Limit: 50}},
				{"after899", store.Page{After: "cam-0899", Limit: 50}},
			}
			for _, pg := range pages {
				b.Run(pg.name, func(b *testing.B) {
					for i := 0; i < b.N; i++ {
						cams, _, err := s.Cameras(ctx, store.Filter{}, pg.p)
						if err != nil || len(cams) != 50 || cams[0].ID != "cam-0900" {
							b.Fatalf("Cameras(%+v) = %d cameras, %v", pg.p, len(cams), err)
						}
					}
				})
			}
		})
	}
}

// BenchmarkRawInsert isolates the append-only half of a write: one
// insert command per observation document vs unordered insertMany in
// chunks of 50 (no latest update). One op is one document.
func BenchmarkRawInsert(b *testing.B) {
	for _, be := range testBackends {
		b.Run(be.name, func(b *testing.B) {
			s, ctx := benchStore(b, be)
			coll := s.Database().Collection(store.ObservationsCollection)
			t0 := time.Now().UTC()
			doc := func(prefix string, i int) bson.D {
				o := benchObs(i, 1000, t0)
				return bson.D{{Key: "_id", Value: prefix + store.ObservationID(o)}, {Key: "cameraId", Value: o.CameraID},
					{Key: "frameHash", Value: o.FrameHash}, {Key: "processedAt", Value: o.ProcessedAt}, {Key: "vehicleCount", Value: o.VehicleCount}}
			}
			run := 0 // the testing package calls each sub-benchmark more than once
			b.Run("InsertOne", func(b *testing.B) {
				run++
				prefix := fmt.Sprintf("one%d/", run)
				for i := 0; i < b.N; i++ {
					if _, err := coll.InsertOne(ctx, doc(prefix, i)); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "docs/s")
			})
			b.Run("InsertMany50", func(b *testing.B) {
				run++
				prefix := fmt.Sprintf("many%d/", run)
				docs := make([]any, 0, store.DefaultChunkSize)
				for i := 0; i < b.N; i++ {
					docs = append(docs, doc(prefix, i))
					if len(docs) == cap(docs) || i == b.N-1 {
						if _, err := coll.InsertMany(ctx, docs, options.InsertMany().SetOrdered(false)); err != nil {
							b.Fatal(err)
						}
						docs = docs[:0]
					}
				}
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "docs/s")
			})
		})
	}
}

// BenchmarkStats counts the latest state of every camera (the /stats
// endpoint uncached).
func BenchmarkStats(b *testing.B) {
	forEachBench(b, func(b *testing.B, s *store.Mongo, ctx context.Context, cams int) {
		if err := s.UpsertCameras(ctx, fleet(cams)); err != nil {
			b.Fatal(err)
		}
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			st, err := s.Stats(ctx)
			if err != nil || st.Observed != cams {
				b.Fatalf("Stats() = %+v, %v", st, err)
			}
		}
	})
}

// BenchmarkInsertObservationsGrowth writes the batched mode's batches
// (100 observations of 1000 cameras) into a database whose observations
// collection already holds `stored` documents: a write whose cost grows
// with the stored history makes every cycle slower than the one before.
// stored=1000 is one cycle's history, stored=10000 ten cycles'.
// One op is one observation.
//
//	go test -run '^$' -bench InsertObservationsGrowth -benchtime 1000x ./system/store/
func BenchmarkInsertObservationsGrowth(b *testing.B) {
	const cams, batch = 1000, 100
	for _, be := range testBackends {
		for _, stored := range []int{1000, 10000} {
			for _, index := range []bool{true, false} {
				b.Run(fmt.Sprintf("%s/stored=%d/history_index=%t", be.name, stored, index), func(b *testing.B) {
					s, ctx := benchStore(b, be)
					if !index {
						// What the cameraId_processedAt index of the history
						// costs every insert (nothing on the hot path reads it).
						if _, err := s.Database().Collection(store.ObservationsCollection).Indexes().DropOne(ctx, "cameraId_processedAt"); err != nil {
							b.Fatal(err)
						}
					}
					t0 := time.Now().UTC().Add(-time.Hour)
					obs := make([]store.Observation, 0, 1000)
					// Both sizes start with the latest state of every camera,
					// so only the stored history differs.
					for i := 0; i < max(stored, cams); i++ {
						o := benchObs(i, cams, t0)
						o.FrameHash = fmt.Sprintf("old%d", i)
						obs = append(obs, o)
						if len(obs) == cap(obs) {
							if err := s.InsertObservations(ctx, obs); err != nil {
								b.Fatal(err)
							}
							obs = obs[:0]
						}
					}
					if len(obs) > 0 {
						if err := s.InsertObservations(ctx, obs); err != nil {
							b.Fatal(err)
						}
					}
					insertBatches(b, ctx, s, cams, batch, time.Now().UTC())
				})
			}
		}
	}
}
