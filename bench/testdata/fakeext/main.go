// Command fakeext is a fake external system for bench's tests: it follows
// the contract of docs/external-systems.md (CAMLOAD_FLEET_URL,
// CAMLOAD_API_ADDR, GET /cameras, snapshot polling, an API) and can
// misbehave on demand (never fetch, exit early, ignore SIGTERM, fork a
// child). Standard library only; built by the tests.
package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"sync"
	"syscall"
	"time"
)

type camera struct {
	ID          string `json:"id"`
	SnapshotURL string `json:"snapshotUrl"`
}

type latest struct {
	Camera    string    `json:"camera"`
	FetchedAt time.Time `json:"fetchedAt"`
	Status    int       `json:"status"`
	SHA256    string    `json:"sha256"`
	Bytes     int       `json:"bytes"`
}

func main() {
	listen := flag.String("listen", os.Getenv("CAMLOAD_API_ADDR"), "API address")
	fleet := flag.String("fleet", os.Getenv("CAMLOAD_FLEET_URL"), "fleet control URL")
	workers := flag.Int("workers", 4, "concurrent fetches")
	triggered := flag.Bool("triggered", false, "fetch only on POST /cycle (one sweep per POST)")
	neverFetch := flag.Bool("never-fetch", false, "serve the API but never fetch a camera")
	exitAfter := flag.Duration("exit-after", 0, "exit with -exit-code after this long (0 = never)")
	exitCode := flag.Int("exit-code", 3, "exit status of -exit-after")
	exitLinger := flag.Duration("exit-linger", 0, "with -exit-after: close the API first, exit this much later (a slow death)")
	ignoreTerm := flag.Bool("ignore-term", false, "ignore SIGTERM")
	spawn := flag.String("spawn", "", "start a sleeping child and write its pid to this file")
	sleep := flag.Bool("sleep", false, "only sleep (the child of -spawn)")
	burn := flag.Duration("burn", 0, "CPU work per fetch")
	flag.Parse()

	if *sleep {
		time.Sleep(time.Hour)
		return
	}
	if *ignoreTerm {
		signal.Ignore(syscall.SIGTERM)
	}
	fmt.Printf("fakeext: pid %d, api %s, fleet %s\n", os.Getpid(), *listen, *fleet)
	if *spawn != "" {
		self, _ := os.Executable()
		child := exec.Command(self, "-sleep")
		if err := child.Start(); err != nil {
			fmt.Fprintln(os.Stderr, "fakeext: spawn:", err)
			os.Exit(1)
		}
		if err := os.WriteFile(*spawn, []byte(strconv.Itoa(child.Process.Pid)), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "fakeext:", err)
			os.Exit(1)
		}
	}
	var srv *http.Server
	var srvMu sync.Mutex
	if *exitAfter > 0 {
		go func() {
			time.Sleep(*exitAfter)
			if *exitLinger > 0 {
				srvMu.Lock()
				if srv != nil {
					srv.Close() // connections reset before the process is gone
				}
				srvMu.Unlock()
				time.Sleep(*exitLinger)
			}
			for i := 1; i <= 30; i++ {
				fmt.Printf("fakeext: line %d before exiting\n", i)
			}
			fmt.Fprintf(os.Stderr, "fakeext: giving up on purpose (exit %d)\n", *exitCode)
			os.Exit(*exitCode)
		}()
	}

	client := &http.Client{Timeout: 5 * time.Second}
	var cams []camera
	var mu sync.Mutex
	store := map[string]latest{}
	ready := false

	list := func() error {
		resp, err := client.Get(*fleet + "/cameras")
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		return json.NewDecoder(resp.Body).Decode(&cams)
	}
	fetch := func(c camera) {
		l := latest{Camera: c.ID, FetchedAt: time.Now()}
		resp, err := client.Get(c.SnapshotURL + "?t=" + strconv.FormatInt(time.Now().UnixMilli(), 10))
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			h := sha256.Sum256(b)
			l.Status, l.SHA256, l.Bytes = resp.StatusCode, hex.EncodeToString(h[:]), len(b)
		}
		if *burn > 0 {
			for t := time.Now(); time.Since(t) < *burn; {
			}
		}
		mu.Lock()
		store[c.ID] = l
		mu.Unlock()
	}
	sweep := func() {
		jobs := make(chan camera)
		var wg sync.WaitGroup
		for range *workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for c := range jobs {
					fetch(c)
				}
			}()
		}
		for _, c := range cams {
			jobs <- c
		}
		close(jobs)
		wg.Wait()
	}

	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		ok := ready
		mu.Unlock()
		if !ok {
			http.Error(w, "starting", http.StatusServiceUnavailable)
			return
		}
		io.WriteString(w, "ok\n")
	})
	var cycleMu sync.Mutex
	mux.HandleFunc("POST /cycle", func(w http.ResponseWriter, r *http.Request) {
		cycleMu.Lock()
		defer cycleMu.Unlock()
		t0 := time.Now()
		if !*neverFetch {
			sweep()
		}
		json.NewEncoder(w).Encode(map[string]any{"cameras": len(cams), "durationNs": time.Since(t0)})
	})
	mux.HandleFunc("GET /api/v1/cameras/{id}/latest", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		l, ok := store[r.PathValue("id")]
		mu.Unlock()
		if !ok {
			http.Error(w, "no observation yet", http.StatusNotFound)
			return
		}
		json.NewEncoder(w).Encode(l)
	})
	mux.HandleFunc("GET /api/v1/cameras", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(cams)
	})
	srvMu.Lock()
	srv = &http.Server{Addr: *listen, Handler: mux}
	srvMu.Unlock()
	go func() {
		if err := srv.ListenAndServe(); err != nil && err != http.ErrServerClosed {
			fmt.Fprintln(os.Stderr, "fakeext:", err)
			os.Exit(1)
		}
	}()

	if err := list(); err != nil {
		fmt.Fprintln(os.Stderr, "fakeext: listing cameras:", err)
		os.Exit(1)
	}
	mu.Lock()
	ready = true
	mu.Unlock()
	fmt.Printf("fakeext: %d cameras\n", len(cams))

	sigs := []os.Signal{os.Interrupt}
	if !*ignoreTerm {
		sigs = append(sigs, syscall.SIGTERM)
		go func() { // the runner's stdin closes when the runner dies
			io.Copy(io.Discard, os.Stdin)
			os.Exit(0)
		}()
	}
	ctx, stop := signal.NotifyContext(context.Background(), sigs...)
	defer stop()
	for ctx.Err() == nil {
		if *triggered || *neverFetch {
			<-ctx.Done()
			break
		}
		sweep()
	}
	srv.Close()
	fmt.Println("fakeext: stopped")
}
