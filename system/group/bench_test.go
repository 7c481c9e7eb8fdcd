package group

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// BenchmarkCycle measures the coordination cost per job: a cycle of 100
// cameras enqueued, read, committed and waited for, with a Handler that
// does nothing, by 1 or 3 replicas (one worker each) sharing one Redis.
func BenchmarkCycle(b *testing.B) {
	const cameras = 100
	for _, s := range servers(b) {
		for _, replicas := range []int{1, 3} {
			b.Run(fmt.Sprintf("%s/replicas=%d", s.Name, replicas), func(b *testing.B) {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
				defer cancel()
				name := groupName(b, s)
				var rs []*running
				for i := range replicas {
					o := testOptions(name, fmt.Sprintf("r%d", i))
					o.Batch = DefaultBatch
					rs = append(rs, start(b, s.client(b), o, func(context.Context, Job) error { return nil }))
				}
				cams := cameraIDs(cameras)
				co := coordinator(b, ctx, rs...)
				b.ResetTimer()
				for b.Loop() {
					id, err := co.Enqueue(ctx, cams)
					if err != nil {
						b.Fatal(err)
					}
					sum, err := co.Wait(ctx, id)
					if err != nil || sum.ProcessedTotal() != cameras {
						b.Fatalf("Wait = %+v, %v", sum, err)
					}
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*cameras), "ns/job")
				b.ReportMetric(0, "ns/op")
				for _, r := range rs {
					if err := r.stop(); err != nil {
						b.Error(err)
					}
				}
			})
		}
	}
}
