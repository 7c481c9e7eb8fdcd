package cache_test

import (
	"context"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/camload/camload/system/cache"
)

// A read-through Get: the first call loads, the next is an L1 hit. With a
// Redis client instead of nil, another replica would find it in L2.
func ExampleCache_Get() {
	c, err := cache.New(nil, prometheus.NewRegistry(), cache.DefaultOptions)
	if err != nil {
		fmt.Println(err)
		return
	}
	load := func(context.Context) ([]byte, error) { return []byte(`{"vehicleCount":42}`), nil }
	for i := 0; i < 2; i++ {
		v, level, err := c.Get(context.Background(), "latest/cam-0001", load)
		fmt.Println(string(v), level, err)
	}
	// Output:
	// {"vehicleCount":42} miss <nil>
	// {"vehicleCount":42} l1 <nil>
}
