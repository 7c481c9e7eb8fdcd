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

// benchFrameLoop benchmarks run on benchFrame, reporting allocations,
// bytes and cpu-ns/op, the benchmark thread's CPU time, which a busy
// machine inflates less than ns/op. run runs once before the loop: a
// pool's buffers then exist, so the loop measures its steady state (b.Loop
// resets the counters on entry).
func benchFrameLoop(b *testing.B, run func(jpg []byte) error) {
	jpg := benchFrame(b)
	b.ReportAllocs()
	b.SetBytes(int64(len(jpg)))
	if err := run(jpg); err != nil {
		b.Fatal(err)
	}
	cpu := startCPU(b)
	for b.Loop() {
		if err := run(jpg); err != nil {
			b.Fatal(err)
		}
	}
	cpu.stop()
}

// BenchmarkAnalyzeFrame is the whole pooled analysis of one frame at cost 0:
// decode (internal/jpeg into the pool's planes), tensor, detect, with a
// Pool as the bounded modes run it (steady state: the pool's buffers are
// reused). Compare with BenchmarkStdlibDecode in the same run (the README
// states the ratio).
func BenchmarkAnalyzeFrame(b *testing.B) {
	var pool analyze.Pool
	benchFrameLoop(b, func(jpg []byte) error {
		_, err := analyze.Analyze(jpg, analyze.Options{Pool: &pool})
		return err
	})
}

// BenchmarkStdlibDecode is image/jpeg.Decode alone of the same bytes: the
// floor AnalyzeFrame is measured against.
func BenchmarkStdlibDecode(b *testing.B) {
	benchFrameLoop(b, func(jpg []byte) error {
		_, err := jpeg.Decode(bytes.NewReader(jpg))
		return err
	})
}

// BenchmarkAnalyzeFrameReference is the original path (kept as the
// equivalence tests' reference): DecodeConfig and Decode, a per-pixel
// color.YCbCrToRGB into an HWC tensor, a cell-by-cell detector, every
// buffer allocated. It puts the before beside the after in one run.
func BenchmarkAnalyzeFrameReference(b *testing.B) {
	benchFrameLoop(b, func(jpg []byte) error {
		_, err := analyze.ReferenceAnalyze(jpg)
		return err
	})
}
