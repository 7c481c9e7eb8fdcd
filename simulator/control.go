package simulator

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// ControlHandler serves the control API: GET /cameras, /cameras/{id}/truth,
// /faults, /metrics and /healthz.
func (f *Fleet) ControlHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /cameras", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, f.Cameras())
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
	mux.Handle("GET /metrics", promhttp.HandlerFor(f.own, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Write([]byte("ok\n"))
	})
	return mux
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
