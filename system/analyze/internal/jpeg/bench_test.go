package jpeg

import (
	"bytes"
	stdjpeg "image/jpeg"
	"testing"

	"github.com/camload/camload/simulator"
)

// BenchmarkDecode puts the reused fork beside image/jpeg on the fleet
// frame of the analyzer's benchmarks (640×360, quality 80).
func BenchmarkDecode(b *testing.B) {
	cfg := simulator.DefaultConfig
	cfg.Cameras, cfg.Hosts, cfg.Listen = 10, 1, "127.0.0.1:0"
	cfg.Seed, cfg.Width, cfg.Height, cfg.Quality, cfg.Frames = 1, 640, 360, 80, 4
	f, err := simulator.New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	jpg := f.Frames()[2].JPEG
	b.Run("fork", func(b *testing.B) {
		b.ReportAllocs()
		var dec Decoder
		var r bytes.Reader
		r.Reset(jpg)
		if _, err := dec.Decode(&r); err != nil { // steady state: planes exist
			b.Fatal(err)
		}
		for b.Loop() {
			r.Reset(jpg)
			if _, err := dec.Decode(&r); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("stdlib", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := stdjpeg.Decode(bytes.NewReader(jpg)); err != nil {
				b.Fatal(err)
			}
		}
	})
}
