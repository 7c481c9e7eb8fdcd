// Command sim-ceiling is the throughput ceiling for `camload sim`: a plain
// net/http server that answers GET /cameras/{id}/snapshot.jpg with the bytes
// and headers the fleet served for that camera (fetched once at start), from
// a map, so that scripts/sim-throughput.sh can measure both with the same
// client in the same run.
//
//	sim-ceiling -from http://127.0.0.1:8701 -cameras 1000 -listen 127.0.0.1:0
//
// It prints "listening http://ADDR" and serves until interrupted.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "sim-ceiling:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("sim-ceiling", flag.ContinueOnError)
	from := fs.String("from", "", "base URL of a camload sim host to copy snapshots from")
	cameras := fs.Int("cameras", 1000, "cameras cam-00001 … to copy")
	listen := fs.String("listen", "127.0.0.1:0", "address to serve on")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *from == "" {
		return errors.New("-from is required")
	}
	type answer struct {
		hdr  map[string][]string
		body []byte
	}
	answers := make(map[string]answer, *cameras)
	for i := 1; i <= *cameras; i++ {
		path := fmt.Sprintf("/cameras/cam-%05d/snapshot.jpg", i)
		resp, err := http.Get(*from + path)
		if err != nil {
			return fmt.Errorf("fetching %s: %w", path, err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK {
			return fmt.Errorf("fetching %s: status %d, %v", path, resp.StatusCode, err)
		}
		// The same response headers as the fleet, precomputed the same way.
		hdr := map[string][]string{
			"Content-Type":   {"image/jpeg"},
			"Content-Length": {strconv.Itoa(len(body))},
			"Cache-Control":  {"no-cache"},
		}
		for _, k := range []string{"Etag", "Last-Modified", "X-Camload-Captured-At", "X-Camload-Frame"} {
			if v := resp.Header[k]; len(v) > 0 {
				hdr[k] = v
			}
		}
		answers[path] = answer{hdr, body}
	}
	l, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a, ok := answers[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		h := w.Header()
		for k, v := range a.hdr {
			h[k] = v
		}
		w.WriteHeader(http.StatusOK)
		w.Write(a.body)
	})}
	fmt.Printf("listening http://%s (%d cameras)\n", l.Addr(), len(answers))
	go func() {
		<-ctx.Done()
		srv.Close()
	}()
	if err := srv.Serve(l); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
