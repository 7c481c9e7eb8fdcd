package group_test

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/camload/camload/system/group"
)

// Example runs two replicas of one group on one Redis: whichever holds the
// coordinator lease enqueues a cycle, both process its cameras, and the
// summary counts each camera once.
func Example() {
	mr, err := miniredis.Run()
	if err != nil {
		panic(err)
	}
	defer mr.Close()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup

	var mu sync.Mutex
	done := map[string]int{} // stands for an idempotent store keyed by (cycle, camera)
	var replicas []*group.Replica
	for _, name := range []string{"replica-1", "replica-2"} {
		rdb := redis.NewClient(&redis.Options{Addr: mr.Addr()})
		defer rdb.Close()
		r, err := group.New(rdb, group.Options{Name: "fleet", Consumer: name}, func(ctx context.Context, j group.Job) error {
			mu.Lock()
			defer mu.Unlock()
			done[j.Cycle+"/"+j.Camera]++
			return nil
		})
		if err != nil {
			panic(err)
		}
		replicas = append(replicas, r)
		wg.Go(func() {
			if err := r.Run(ctx); err != nil {
				panic(err)
			}
		})
	}
	defer wg.Wait()
	defer cancel()

	// The system's cycle loop: only the coordinator starts cycles.
	var co *group.Replica
	for co == nil {
		for _, r := range replicas {
			if r.IsCoordinator() {
				co = r
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	id, err := co.Enqueue(ctx, []string{"cam-1", "cam-2", "cam-3"})
	if err != nil {
		panic(err)
	}
	sum, err := co.Wait(ctx, id)
	if err != nil {
		panic(err)
	}
	fmt.Println("cycle", sum.Cycle, "jobs", sum.Jobs, "processed", sum.ProcessedTotal(), "reclaimed", sum.Reclaimed)
	mu.Lock()
	keys := make([]string, 0, len(done))
	for k, n := range done {
		keys = append(keys, fmt.Sprintf("%s×%d", k, n))
	}
	mu.Unlock()
	sort.Strings(keys)
	fmt.Println(keys)
	// Output:
	// cycle 1 jobs 3 processed 3 reclaimed 0
	// [1/cam-1×1 1/cam-2×1 1/cam-3×1]
}
