package simulator

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// ControlHandler serves the control API: GET /cameras (with peers, the
// whole fleet's; ?local=1 this fleet's own), /cameras/{id}/truth (any
// camera of the whole configuration),
// /faults, /fetches?since=&until= (the fetch log, RFC 3339 bounds, both
// optional), /fetches/stats?since=&until=&per_camera=1 (Fleet.FetchStats),
// /metrics and /healthz.
func (f *Fleet) ControlHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /cameras", func(w http.ResponseWriter, r *http.Request) {
		own := f.Cameras()
		if len(f.peers) == 0 || r.URL.Query().Get("local") == "1" {
			writeJSON(w, own)
			return
		}
		all, err := FetchFleetCameras(r.Context(), nil, f.peers...)
		if err == nil {
			all, err = MergeCameras(own, all)
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		writeJSON(w, all)
	})
	mux.HandleFunc("GET /cameras/{id}/truth", func(w http.ResponseWriter, r *http.Request) {
		t, ok := f.Truth(r.PathValue("id"), f.now())
		if !ok {
			http.Error(w, "no such camera", http.StatusNotFound)
			return
		}
		writeJSON(w, t)
	})
	mux.HandleFunc("GET /faults", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, f.Faults())
	})
	mux.HandleFunc("GET /fetches", func(w http.ResponseWriter, r *http.Request) {
		since, until, err := window(r)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		writeJSON(w, f.Fetches(since, until))
	})
	mux.HandleFunc("GET /fetches/stats", func(w http.ResponseWriter, r *http.Request) {
		since, until, err := window(r)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		per := r.URL.Query().Get("per_camera")
		writeJSON(w, f.FetchStats(since, until, per == "1" || per == "true"))
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(f.own, promhttp.HandlerOpts{}))
	f.mountUI(mux) // GET /ui… with WithUI (ui.go)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Write([]byte("ok\n"))
	})
	return mux
}

// window parses the since and until query parameters (RFC 3339, optional).
func window(r *http.Request) (since, until time.Time, err error) {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return since, until, fmt.Errorf("bad query string: %v", err)
	}
	for _, p := range []struct {
		name string
		t    *time.Time
	}{{"since", &since}, {"until", &until}} {
		if v := q.Get(p.name); v != "" {
			if *p.t, err = time.Parse(time.RFC3339Nano, v); err != nil {
				return since, until, fmt.Errorf("%s: want an RFC 3339 time, got %q", p.name, v)
			}
		}
	}
	return since, until, nil
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	if err := enc.Encode(v); err != nil {
		// The header is gone already; the client sees a short body.
		return
	}
}

// MarshalJSON writes CapturedAt as RFC 3339 with nanoseconds.
func (t Truth) MarshalJSON() ([]byte, error) {
	type plain Truth
	return json.Marshal(struct {
		plain
		CapturedAt string `json:"capturedAt"`
	}{plain(t), t.CapturedAt.UTC().Format(time.RFC3339Nano)})
}
