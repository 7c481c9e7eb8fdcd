package bench

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/camload/camload/system"
	"github.com/camload/camload/system/analyze"
)

// fakeServe is a minimal system under test speaking the SYSTEM CONTRACT:
// ready file, /readyz, /metrics with the process and Go collectors, pprof,
// POST /api/v1/cycles fetching every camera's snapshot from the fleet, GET
// /api/v1/cameras/... answering 200. --analyze-cost makes each cycle
// sleep first (to interrupt it or exceed a budget).
func fakeServe(args []string) int {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fleetURL := fs.String("fleet", "", "")
	readyFile := fs.String("ready-file", "", "")
	exitStdin := fs.Bool("exit-with-stdin", false, "")
	sleep := fs.Duration("analyze-cost", 0, "this fake sleeps that long per cycle")
	for _, f := range []string{"mode", "listen", "admin", "mongo-uri", "redis-url", "db", "fetch-timeout", "workers"} {
		fs.String(f, "", "")
	}
	if err := fs.Parse(args); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	// CAMLOAD_BENCH_FAKE_LOGLINES=N: N log lines on stderr at start;
	// CAMLOAD_BENCH_FAKE_DIE_CYCLE=K: SIGKILL itself in the K-th cycle.
	lines, _ := strconv.Atoi(os.Getenv("CAMLOAD_BENCH_FAKE_LOGLINES"))
	for i := 1; i <= lines; i++ {
		fmt.Fprintf(os.Stderr, "fake serve: log line %d\n", i)
	}
	dieAt, _ := strconv.Atoi(os.Getenv("CAMLOAD_BENCH_FAKE_DIE_CYCLE"))
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	if *exitStdin {
		go func() { _, _ = io.Copy(io.Discard, os.Stdin); stop() }()
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}), collectors.NewGoCollector())
	admin := http.NewServeMux()
	admin.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	admin.HandleFunc("/readyz", func(w http.ResponseWriter, r *http.Request) {})
	admin.HandleFunc("/debug/pprof/", pprof.Index)
	admin.HandleFunc("/debug/pprof/profile", pprof.Profile)

	var cycle int64
	var mu sync.Mutex
	api := http.NewServeMux()
	api.HandleFunc("POST /api/v1/cycles", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if dieAt > 0 && cycle+1 == int64(dieAt) {
			fmt.Fprintln(os.Stderr, "fake serve: dying in cycle", dieAt)
			_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
		}
		select {
		case <-time.After(*sleep):
		case <-r.Context().Done():
			return
		}
		s, err := fakeCycle(r.Context(), *fleetURL)
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		cycle++
		s.Cycle = cycle
		_ = json.NewEncoder(w).Encode(s)
	})
	api.HandleFunc("GET /api/v1/", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte(`{}`)) })

	apiLn, err1 := net.Listen("tcp", "127.0.0.1:0")
	adminLn, err2 := net.Listen("tcp", "127.0.0.1:0")
	if err1 != nil || err2 != nil {
		return 1
	}
	go http.Serve(apiLn, api)
	go http.Serve(adminLn, admin)
	b, _ := json.Marshal(map[string]any{"api": "http://" + apiLn.Addr().String(), "admin": "http://" + adminLn.Addr().String(), "pid": os.Getpid()})
	tmp := *readyFile + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil || os.Rename(tmp, *readyFile) != nil {
		return 1
	}
	<-ctx.Done()
	return 0
}

func fakeCycle(ctx context.Context, fleet string) (*system.CycleSummary, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, fleet+"/cameras", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	var cams []struct {
		ID  string `json:"id"`
		URL string `json:"snapshotUrl"`
	}
	err = json.NewDecoder(resp.Body).Decode(&cams)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	s := &system.CycleSummary{Mode: "sync", Started: time.Now(), Cameras: len(cams), Errors: map[string]int{}}
	client := &http.Client{Timeout: 2 * time.Second}
	for _, c := range cams {
		t0 := time.Now()
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, c.URL+"?t="+strconv.FormatInt(t0.UnixMilli(), 10), nil)
		resp, err := client.Do(req)
		switch {
		case err != nil && strings.Contains(err.Error(), "Timeout"):
			s.Errors[system.ErrTimeout]++
		case err != nil:
			s.Errors[system.ErrConn]++
		default:
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode >= 500 {
				s.Errors[system.ErrHTTP5xx]++
			} else {
				// Analyzed as the system does (the runner's CPU bound of
				// the ideal cycle counts this work per processed frame).
				if _, err := analyze.Analyze(body, analyze.Options{}); err != nil {
					s.Errors[system.ErrBadImage]++
					continue
				}
				s.Processed++
				s.Freshness = append(s.Freshness, time.Since(t0))
			}
		}
		s.Latencies = append(s.Latencies, time.Since(t0))
	}
	s.Duration = time.Since(s.Started)
	return s, nil
}
