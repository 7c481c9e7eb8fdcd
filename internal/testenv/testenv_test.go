package testenv_test

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/goleak"

	"github.com/camload/camload/internal/testenv"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestMetric(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	vec := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "requests_total", Help: "h"}, []string{"level", "result"})
	plain := prometheus.NewCounter(prometheus.CounterOpts{Name: "loads_total", Help: "h"})
	gauge := prometheus.NewGauge(prometheus.GaugeOpts{Name: "pending", Help: "h"})
	reg.MustRegister(vec, plain, gauge)
	vec.WithLabelValues("l1", "hit").Add(2)
	vec.WithLabelValues("l1", "miss").Add(3)
	vec.WithLabelValues("l2", "hit").Add(5)
	plain.Add(7)
	gauge.Set(11)
	for _, tc := range []struct {
		name   string
		labels []string
		want   float64
		ok     bool
	}{
		{"requests_total", []string{"level", "l1", "result", "hit"}, 2, true},
		{"requests_total", []string{"level", "l1"}, 5, true},
		{"requests_total", []string{"result", "hit"}, 7, true},
		{"requests_total", nil, 10, true},
		{"requests_total", []string{"level", "l2", "result", "error"}, 0, false},
		{"loads_total", []string{"level", "", "result", ""}, 7, true},
		{"loads_total", []string{"level", "l1"}, 0, false},
		{"pending", nil, 11, true},
		{"missing_total", nil, 0, false},
	} {
		if v, ok := testenv.Metric(t, reg, tc.name, tc.labels...); v != tc.want || ok != tc.ok {
			t.Errorf("Metric(%s, %q) = %v, %v; want %v, %v", tc.name, tc.labels, v, ok, tc.want, tc.ok)
		}
	}
}

func TestDBName(t *testing.T) {
	t.Run("a/b c-d.e$f with a long name that goes on", func(t *testing.T) {
		a, b := testenv.DBName(t), testenv.DBName(t)
		if a == b {
			t.Errorf("DBName twice = %q both times; want fresh names", a)
		}
		const want = "t_TestDBName_a_b_c_d_e_f_with_a_"
		if !strings.HasPrefix(a, want) || len(a) != len(want)+9 {
			t.Errorf("DBName = %q; want %q and an 8-digit suffix", a, want)
		}
		if strings.ContainsAny(a, "/ .$-") {
			t.Errorf("DBName = %q holds a character MongoDB refuses in a name", a)
		}
	})
}

func TestServers(t *testing.T) {
	t.Setenv(testenv.RedisEnv, "")
	srvs := testenv.Redis(t)
	if len(srvs) != 1 || srvs[0].Name != "miniredis" || srvs[0].Mini == nil || srvs[0].URL != "redis://"+srvs[0].Mini.Addr()+"/0" {
		t.Fatalf("Redis() without %s = %+v; want miniredis alone", testenv.RedisEnv, srvs)
	}
	if !strings.HasPrefix(srvs[0].Mini.Addr(), "127.0.0.1:") {
		t.Errorf("miniredis listens on %s; want loopback", srvs[0].Mini.Addr())
	}
	t.Setenv(testenv.RedisEnv, "redis://example.invalid:6379/0")
	if srvs := testenv.Redis(t); len(srvs) != 2 || srvs[1] != (testenv.RedisServer{Name: "redis", URL: "redis://example.invalid:6379/0"}) {
		t.Errorf("Redis() with %s = %+v; want miniredis and the real one", testenv.RedisEnv, srvs)
	}
	t.Setenv(testenv.PostgresEnv, "")
	if got := testenv.FerretDBs(); len(got) != 1 || got[0] != (testenv.FerretDB{Name: "sqlite"}) {
		t.Errorf("FerretDBs() without %s = %+v; want sqlite alone", testenv.PostgresEnv, got)
	}
	t.Setenv(testenv.PostgresEnv, "postgres://pg.invalid/db")
	if got := testenv.FerretDBs(); len(got) != 2 || got[1] != (testenv.FerretDB{Name: "postgresql", Postgres: "postgres://pg.invalid/db"}) {
		t.Errorf("FerretDBs() with %s = %+v; want sqlite and postgresql", testenv.PostgresEnv, got)
	}
}
