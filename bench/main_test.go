package bench

import (
	"os"
	"testing"

	"go.uber.org/goleak"
)

// fakeServeEnv makes this test binary act as a minimal `camload serve`
// (fakeserve_test.go), so the runner's mechanics are tested without the
// real system.
const fakeServeEnv = "CAMLOAD_BENCH_FAKE_SERVE"

func TestMain(m *testing.M) {
	if os.Getenv(fakeServeEnv) == "1" && len(os.Args) > 1 && os.Args[1] == "serve" {
		os.Exit(fakeServe(os.Args[2:]))
	}
	os.Setenv(fakeServeEnv, "1")
	goleak.VerifyTestMain(m)
}
