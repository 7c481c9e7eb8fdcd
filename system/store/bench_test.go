package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/camload/camload/system/store"
)

// Benchmarks of the write and read paths on each test backend (embedded
// FerretDB on SQLite; FerretDB on PostgreSQL with
// CAMLOAD_TEST_POSTGRES_URL). Run with:
//
//	go test -run '^$' -bench . -benchtime 2000x ./system/store/

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
	for _, be := range testBackends {
		b.Run(be.name, func(b *testing.B) {
			s, ctx := benchStore(b, be)
			t0 := time.Now().UTC()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if err := s.InsertObservation(ctx, benchObs(i, 1000, t0)); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "obs/s")
		})
	}
}

// BenchmarkInsertObservations writes batches of 100 observations of 100
// cameras (the batched mode): chunked unordered inserts plus chunked
// latest upserts. One op is one observation.
func BenchmarkInsertObservations(b *testing.B) {
	const batch = 100
	for _, be := range testBackends {
		b.Run(be.name, func(b *testing.B) {
			s, ctx := benchStore(b, be)
			t0 := time.Now().UTC()
			obs := make([]store.Observation, 0, batch)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				obs = append(obs, benchObs(i, 1000, t0))
				if len(obs) == batch || i == b.N-1 {
					if err := s.InsertObservations(ctx, obs); err != nil {
						b.Fatal(err)
					}
					obs = obs[:0]
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "obs/s")
		})
	}
}

// BenchmarkLatest reads the latest state of one of 1000 cameras by _id
// (the hot read path), with 5000 observations stored beside it.
func BenchmarkLatest(b *testing.B) {
	for _, be := range testBackends {
		b.Run(be.name, func(b *testing.B) {
			s, ctx := benchStore(b, be)
			t0 := time.Now().UTC()
			obs := make([]store.Observation, 5000)
			for i := range obs {
				obs[i] = benchObs(i, 1000, t0)
			}
			if err := s.InsertObservations(ctx, obs); err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := s.Latest(ctx, fmt.Sprintf("cam-%04d", i%1000)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
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
