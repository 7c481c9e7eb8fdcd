package analyze

import (
	"bytes"
	"image"
	"image/jpeg"
	"testing"

	"github.com/camload/camload/simulator"
)

// benchImage decodes the side-by-side benchmarks' fleet frame.
func benchImage(b testing.TB) *image.YCbCr {
	b.Helper()
	cfg := simulator.DefaultConfig
	cfg.Cameras, cfg.Hosts, cfg.Listen = 10, 1, "127.0.0.1:0"
	cfg.Seed, cfg.Width, cfg.Height, cfg.Quality, cfg.Frames = 1, 640, 360, 80, 4
	f, err := simulator.New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	img, err := jpeg.Decode(bytes.NewReader(f.Frames()[2].JPEG))
	if err != nil {
		b.Fatal(err)
	}
	return img.(*image.YCbCr)
}

// BenchmarkTensorDetect is the analysis after decoding: fused conversion
// and detection (the part BenchmarkAnalyzeFrame adds to the decoder).
func BenchmarkTensorDetect(b *testing.B) {
	img := benchImage(b)
	var t Tensor
	var d detector
	b.Run("fused", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			analyzeYCbCr(img, 1, 1, resized(&t, img), &d)
		}
	})
	b.Run("two-pass", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			t.fill(img)
			d.detect(&t)
		}
	})
	b.Run("reference", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			refTensor(img).detect()
		}
	})
}

func resized(t *Tensor, m *image.YCbCr) *Tensor {
	t.resize(m.Rect.Dx(), m.Rect.Dy())
	return t
}
