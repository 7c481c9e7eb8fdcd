package backends_test

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/camload/camload/system/backends"
	"github.com/camload/camload/system/store"
)

// BenchmarkSQLiteCache is the batched mode's store traffic at 10,000
// cameras on embedded FerretDB, once per SQLite page cache: an op is one
// batch of 100 observations written as the system writes them
// (InsertObservations: history insert plus latest-state bulk upsert), the
// cameras visited round-robin so that the latest-state table holds 10,000
// documents and the history grows as a run's does. Run with -benchtime
// large enough to cover several "cycles" (100 ops = one cycle).
// cpu-ns/op is the whole process's CPU time per op (Linux; 0 elsewhere).
func BenchmarkSQLiteCache(b *testing.B) {
	const cameras, batch = 10000, 100
	for _, kib := range []int{0, 64 << 10} {
		name := "default-2000KiB"
		if kib > 0 {
			name = strconv.Itoa(kib) + "KiB"
		}
		b.Run(name, func(b *testing.B) {
			ctx := context.Background()
			opts := backends.DefaultOptions
			opts.Redis = ""
			opts.SQLiteCacheKiB = kib
			be, err := backends.Start(ctx, opts)
			if err != nil {
				b.Fatal(err)
			}
			defer be.Close()
			m, err := store.OpenMongo(ctx, be.MongoURI(), "bench")
			if err != nil {
				b.Fatal(err)
			}
			defer m.Close(ctx)
			if _, err := be.IndexIDs(ctx, "bench"); err != nil {
				b.Fatal(err)
			}
			obs := make([]store.Observation, batch)
			next := 0
			write := func(cycle int64) {
				for i := range obs {
					id := next % cameras
					next++
					obs[i] = store.Observation{
						CameraID: fmt.Sprintf("cam-%05d", id), Cycle: cycle,
						FrameHash:  fmt.Sprintf("%016x", uint64(next)*0x9e3779b97f4a7c15),
						CapturedAt: time.Unix(int64(next), 0).UTC(), ProcessedAt: time.Unix(int64(next), 0).UTC(),
						VehicleCount: next % 50, Intensity: float64(next%50) / 100, Congestion: "free",
						District: fmt.Sprintf("d%02d", id%20),
					}
				}
				if err := m.InsertObservations(ctx, obs); err != nil {
					b.Fatal(err)
				}
			}
			for range cameras / batch { // one cycle: every camera has a latest state
				write(0)
			}
			b.ResetTimer()
			cpu0 := processCPU()
			for i := 0; b.Loop(); i++ {
				write(int64(1 + i/(cameras/batch)))
			}
			// The process's CPU (FerretDB and SQLite run in it): on a
			// shared machine wall time mostly measures the neighbours.
			b.ReportMetric(float64((processCPU()-cpu0).Nanoseconds())/float64(b.N), "cpu-ns/op")
		})
	}
}
