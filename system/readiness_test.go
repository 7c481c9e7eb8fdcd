package system_test

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/camload/camload/simulator"
	"github.com/camload/camload/system"
	"github.com/camload/camload/system/cache"
	"github.com/camload/camload/system/store"
)

// cachedSystem is a loaded-or-not system in cached mode whose cache talks
// to redisURL; LoadRegistry's error is returned, not fatal.
func cachedSystem(t *testing.T, redisURL string) (*system.System, error) {
	t.Helper()
	ctx := testCtx(t, time.Minute)
	f, err := simulator.New(quietFleet(3, 1))
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = f.Close() })
	st, err := store.OpenMongo(ctx, mongoURIs[0], dbName(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = st.Drop(ctx)
		_ = st.Close(ctx)
	})
	rdb, err := cache.NewRedis(redisURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rdb.Close() })
	c, err := cache.New(rdb, prometheus.NewRegistry(), cache.DefaultOptions)
	if err != nil {
		t.Fatal(err)
	}
	cfg, _ := system.DefaultConfig(system.ModeCached, f.ControlURL())
	sys, err := system.New(cfg, system.WithStore(st), system.WithCache(cache.Layer{C: c}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sys.Close() })
	return sys, sys.LoadRegistry(ctx)
}

func readyz(t *testing.T, sys *system.System) (int, string) {
	t.Helper()
	srv := httptest.NewServer(sys.AdminHandler(prometheus.NewRegistry()))
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestRedisAuthFailsReadiness: a Redis that rejects the configured
// credentials fails LoadRegistry (so serve does not start) and /readyz
// with a clear reason; a Redis that is merely down is tolerated as before.
func TestRedisAuthFailsReadiness(t *testing.T) {
	t.Parallel()
	mr := miniredis.NewMiniRedis()
	if err := mr.StartAddr("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(mr.Close)
	mr.RequireAuth("s3cret")
	bad := map[string]string{
		"miniredis wrong password": "redis://:wrong@" + mr.Addr() + "/0",
		"miniredis no password":    "redis://" + mr.Addr() + "/0",
	}
	if u := os.Getenv("CAMLOAD_TEST_REDIS_URL"); u != "" {
		pu, err := url.Parse(u)
		if err != nil {
			t.Fatal(err)
		}
		pu.User = url.UserPassword("camload-no-such-user", "wrong")
		bad["real redis unknown user"] = pu.String()
	}
	for name, u := range bad {
		t.Run(name, func(t *testing.T) {
			sys, err := cachedSystem(t, u)
			if !errors.Is(err, cache.ErrAuth) {
				t.Fatalf("LoadRegistry = %v; want cache.ErrAuth", err)
			}
			if sys.Ready(testCtx(t, 10*time.Second)) {
				t.Error("Ready() = true with Redis rejecting authentication")
			}
			if code, body := readyz(t, sys); code != http.StatusServiceUnavailable || !strings.Contains(body, "rejected authentication") {
				t.Errorf("/readyz = %d %q; want 503 naming the authentication failure", code, body)
			}
		})
	}
	t.Run("right password, then Redis down", func(t *testing.T) {
		sys, err := cachedSystem(t, "redis://:s3cret@"+mr.Addr()+"/0")
		if err != nil {
			t.Fatalf("LoadRegistry = %v", err)
		}
		if code, body := readyz(t, sys); code != http.StatusOK {
			t.Errorf("/readyz = %d %q; want 200", code, body)
		}
		mr.Close() // an outage, not a misconfiguration
		if code, body := readyz(t, sys); code != http.StatusOK {
			t.Errorf("/readyz with Redis down = %d %q; want 200 (outage tolerated)", code, body)
		}
	})
}
