package server

import (
	"testing"

	"go.uber.org/goleak"
)

// golang-lru v2's expirable LRU (system/cache's L1, used by Run with
// APICache) starts an expiry goroutine it never stops
// (hashicorp/golang-lru#159).
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.IgnoreAnyFunction("github.com/hashicorp/golang-lru/v2/expirable.NewLRU[...].func1"))
}
