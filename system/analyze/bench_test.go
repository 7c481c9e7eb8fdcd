package analyze_test

import (
	"bytes"
	"image/jpeg"
	"testing"

	"github.com/camload/camload/system/analyze"
)

// benchFrame is the fleet frame the side-by-side benchmarks use: a
// 640×360 street scene at the fleet's default quality.
func benchFrame(b *testing.B) []byte {
	b.Helper()
	return fleet(b, 1, 640, 360, 80, 4).Frames()[2].JPEG
}

// BenchmarkAnalyzeFrame is the whole analysis of one frame at cost 0:
// decode, tensor, detect. Compare with BenchmarkStdlibDecode in the same
// run (the README states the ratio).
func BenchmarkAnalyzeFrame(b *testing.B) {
	jpg := benchFrame(b)
	b.ReportAllocs()
	b.SetBytes(int64(len(jpg)))
	for b.Loop() {
		if _, err := analyze.Analyze(jpg, analyze.Options{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkStdlibDecode is image/jpeg.Decode alone of the same bytes: the
// floor AnalyzeFrame is measured against.
func BenchmarkStdlibDecode(b *testing.B) {
	jpg := benchFrame(b)
	b.ReportAllocs()
	b.SetBytes(int64(len(jpg)))
	for b.Loop() {
		if _, err := jpeg.Decode(bytes.NewReader(jpg)); err != nil {
			b.Fatal(err)
		}
	}
}
