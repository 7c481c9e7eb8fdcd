// Package analyze is the system's frame analyzer: a CPU vehicle detector
// shaped like a real one (decode the JPEG, build the model's float32 input
// tensor, run the "model", post-process), counting the vehicles of the
// fleet's street scenes exactly and recognising the fleet's "camera not
// available" placeholder.
//
// The "model" is a colour-class segmentation on a coarse grid followed by
// connected components: vehicles are the only saturated objects in a frame.
// The fast path decodes with internal/jpeg (the standard library's decoder,
// forked to decode into reused planes and to skip work that cannot change
// a sample: every decoded sample is image/jpeg's), fuses the YCbCr →
// planar float32 tensor conversion with the detector's per-cell sums over
// the decoder's planes, and a Pool lends the decoder, tensor and scratch
// buffers, so that a bounded set of workers allocates nothing per frame;
// the original path (image/jpeg, per-pixel conversion) is kept in the
// tests as the reference the fast path must equal exactly.
//
// Options.Cost adds real CPU work per frame (convolution passes over the
// memory of a modelled detector, YOLOXNano: 6.9 MB per frame in flight),
// calibrated once per process, so that a frame costs what a real model's
// inference would on this machine — and takes longer under contention, as
// inference does.
package analyze

import (
	"bytes"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/camload/camload/system/analyze/internal/jpeg"
)

// ErrBadImage is wrapped by every error about input that is not a
// decodable JPEG (truncated, garbage, empty).
var ErrBadImage = errors.New("analyze: bad image")

// MaxPixels is the largest frame Analyze decodes (4K UHD); a header
// claiming more is rejected before any pixel memory is allocated.
const MaxPixels = 3840 * 2160

// Congestion levels.
const (
	CongestionFree      = "free"
	CongestionModerate  = "moderate"
	CongestionCongested = "congested"
)

// Options tune an analysis. The zero value analyzes at no extra cost,
// allocating its buffers per call.
type Options struct {
	// Cost is extra CPU work per frame, as long as it takes on an idle
	// core (0: none). It is real computation, not a sleep, over the
	// memory of the modelled detector (YOLOXNano).
	Cost time.Duration
	// Pool, if not nil, lends the decoder's planes, the tensor, the
	// detector's scratch and the model's buffers, so that a steady stream
	// of frames allocates nothing. Nil: every call allocates its own (a
	// frame per goroutine, as an unbounded fan-out does).
	Pool *Pool
}

// Result is what a frame shows.
type Result struct {
	Vehicles    int     `json:"vehicles"`
	Intensity   float64 `json:"intensity"`  // min(Vehicles/100, 1)
	Congestion  string  `json:"congestion"` // free < 0.40 ≤ moderate < 0.75 ≤ congested
	Placeholder bool    `json:"placeholder"`
	Width       int     `json:"width"`
	Height      int     `json:"height"`
}

// Level returns the congestion level of an intensity.
func Level(intensity float64) string {
	switch {
	case intensity >= 0.75:
		return CongestionCongested
	case intensity >= 0.40:
		return CongestionModerate
	}
	return CongestionFree
}

// Classification thresholds (see the colour contract in simulator/frames.go).
const (
	minValue      = 0.30 // a vehicle pixel's max channel
	minSaturation = 0.50 // a vehicle pixel's (max-min)/max
	// placeholder background: within tolerance of (52,52,56) on most cells.
	placeholderTol      = 14.0 / 255
	placeholderFraction = 0.70
	// minComponent is the smallest vehicle, in grid cells (vehicles are at
	// least 20×16 px at 640×360, i.e. 5×4 cells).
	minComponent = 6
)

var placeholderRGB = [3]float32{52.0 / 255, 52.0 / 255, 56.0 / 255}

// Pool recycles the buffers of analyses: the input tensor, the detector's
// scratch and the model's memory (allocated on the first frame with a
// cost). It is a free list, not a sync.Pool: it keeps as many buffer sets
// as were ever in use at once, and the garbage collector does not empty it,
// so a bounded number of analysis workers reaches a steady state that
// allocates nothing (about 3.2 MB per worker at 640×360: tensor 2.8 MB,
// decoder planes 0.35 MB; plus YOLOXNano.Bytes() once a cost is set). Under
// unbounded concurrency it would keep the peak; leave Options.Pool nil
// there. The zero value is ready to use; a Pool is safe for concurrent use
// and must not be copied after first use.
type Pool struct {
	mu   sync.Mutex
	free []*frame
}

// Idle reports how many buffer sets the pool holds unused.
func (p *Pool) Idle() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.free)
}

// frame is one analysis's buffers.
type frame struct {
	t    Tensor
	d    detector
	mem  []float32 // the model's input and arena, model.floats() long
	bufs modelBuffers
	rd   bytes.Reader
	dec  jpeg.Decoder // its planes are the decoded image's
}

func (p *Pool) get() *frame {
	if p == nil {
		return new(frame)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if n := len(p.free); n > 0 {
		f := p.free[n-1]
		p.free[n-1] = nil
		p.free = p.free[:n-1]
		return f
	}
	return new(frame)
}

func (p *Pool) put(f *frame) {
	if p == nil {
		return
	}
	f.rd.Reset(nil)
	p.mu.Lock()
	p.free = append(p.free, f)
	p.mu.Unlock()
}

// Analyze counts the vehicles of a JPEG frame. It is safe for concurrent
// use. Input that does not decode gives an error wrapping ErrBadImage.
func Analyze(jpg []byte, opts Options) (Result, error) {
	if len(jpg) == 0 {
		return Result{}, fmt.Errorf("%w: empty body", ErrBadImage)
	}
	hdr, err := scanHeader(jpg)
	if err != nil {
		return Result{}, fmt.Errorf("%w: decoding %d bytes: %v", ErrBadImage, len(jpg), err)
	}
	if hdr.width <= 0 || hdr.height <= 0 || hdr.width*hdr.height > MaxPixels {
		return Result{}, fmt.Errorf("%w: %d×%d pixels (at most %d)", ErrBadImage, hdr.width, hdr.height, MaxPixels)
	}
	f := opts.Pool.get()
	defer opts.Pool.put(f)
	f.rd.Reset(jpg)
	img, err := f.dec.Decode(&f.rd)
	if err != nil {
		return Result{}, fmt.Errorf("%w: decoding %d bytes: %v", ErrBadImage, len(jpg), err)
	}
	res := analyzeImage(img, &f.t, &f.d)
	if opts.Cost > 0 {
		if len(f.mem) != model.floats() {
			f.mem = make([]float32, model.floats())
		}
		burn(&f.t, f.mem, &f.bufs, opts.Cost)
	}
	return res, nil
}
