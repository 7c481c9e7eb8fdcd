package system

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
)

// BenchmarkFetchBody is one snapshot fetch of a fleet-sized frame (40 KB)
// over a loopback keep-alive connection, its body read into a buffer from
// bufPool: "pooled" returns the buffer (putBuf, as the cycle does once the
// frame is analyzed), "fresh" drops it, so every fetch allocates its
// buffer anew — the difference is what pooling the bodies saves.
func BenchmarkFetchBody(b *testing.B) {
	frame := []byte(strings.Repeat("x", 40<<10))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// As the fleet answers: with a Content-Length (fetch sizes its
		// buffer from it).
		w.Header().Set("Content-Length", strconv.Itoa(len(frame)))
		_, _ = w.Write(frame)
	}))
	defer srv.Close()
	for _, pooled := range []bool{true, false} {
		name := "fresh"
		if pooled {
			name = "pooled"
		}
		b.Run(name, func(b *testing.B) {
			k, _ := Preset(ModeBatched)
			s := fetcher(b, k)
			b.ReportAllocs()
			for b.Loop() {
				r, err := s.fetch(context.Background(), srv.URL+"/x", "", k.FetchTimeout)
				if err != nil {
					b.Fatal(err)
				}
				if r.body.Len() != len(frame) {
					b.Fatalf("body of %d bytes; want %d", r.body.Len(), len(frame))
				}
				if pooled {
					putBuf(r.body)
				}
			}
		})
	}
}
