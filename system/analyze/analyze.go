// Package analyze is the system's frame analyzer: a CPU vehicle detector
// shaped like a real one (decode the JPEG, build the model's float32 input
// tensor, run the "model", post-process), counting the vehicles of the
// fleet's street scenes exactly and recognising the fleet's "camera not
// available" placeholder.
//
// The "model" is a colour-class segmentation on a coarse grid followed by
// connected components: vehicles are the only saturated objects in a frame.
// Options.Cost adds real CPU work per frame (convolution passes over the
// tensor), calibrated once per process, so that a frame costs what a real
// model's inference would on this machine — and takes longer under
// contention, as inference does.
package analyze

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"math"
	"sync"
	"sync/atomic"
	"time"
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

// Options tune an analysis.
type Options struct {
	// Cost is extra CPU work per frame, as long as it takes on an idle
	// core (0: none). It is real computation, not a sleep.
	Cost time.Duration
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

// Analyze counts the vehicles of a JPEG frame. It is safe for concurrent
// use. Input that does not decode gives an error wrapping ErrBadImage.
func Analyze(jpg []byte, opts Options) (Result, error) {
	if len(jpg) == 0 {
		return Result{}, fmt.Errorf("%w: empty body", ErrBadImage)
	}
	hdr, err := jpeg.DecodeConfig(bytes.NewReader(jpg))
	if err != nil {
		return Result{}, fmt.Errorf("%w: decoding %d bytes: %v", ErrBadImage, len(jpg), err)
	}
	if hdr.Width <= 0 || hdr.Height <= 0 || hdr.Width*hdr.Height > MaxPixels {
		return Result{}, fmt.Errorf("%w: %d×%d pixels (at most %d)", ErrBadImage, hdr.Width, hdr.Height, MaxPixels)
	}
	img, err := jpeg.Decode(bytes.NewReader(jpg))
	if err != nil {
		return Result{}, fmt.Errorf("%w: decoding %d bytes: %v", ErrBadImage, len(jpg), err)
	}
	t := NewTensor(img)
	if opts.Cost > 0 {
		burn(t, opts.Cost)
	}
	res := t.detect()
	return res, nil
}

// Tensor is the model input: W×H×3 float32 RGB in [0,1], row-major, HWC.
type Tensor struct {
	W, H int
	Data []float32
}

// NewTensor converts a decoded image into the model's input tensor.
func NewTensor(img image.Image) *Tensor {
	b := img.Bounds()
	t := &Tensor{W: b.Dx(), H: b.Dy()}
	t.Data = make([]float32, t.W*t.H*3)
	const k = 1.0 / 255
	if yc, ok := img.(*image.YCbCr); ok {
		for y := 0; y < t.H; y++ {
			row := t.Data[y*t.W*3:]
			for x := 0; x < t.W; x++ {
				yi := yc.YOffset(b.Min.X+x, b.Min.Y+y)
				ci := yc.COffset(b.Min.X+x, b.Min.Y+y)
				r, g, bl := color.YCbCrToRGB(yc.Y[yi], yc.Cb[ci], yc.Cr[ci])
				row[3*x], row[3*x+1], row[3*x+2] = float32(r)*k, float32(g)*k, float32(bl)*k
			}
		}
		return t
	}
	for y := 0; y < t.H; y++ {
		row := t.Data[y*t.W*3:]
		for x := 0; x < t.W; x++ {
			r, g, bl, _ := img.At(b.Min.X+x, b.Min.Y+y).RGBA()
			row[3*x], row[3*x+1], row[3*x+2] = float32(r>>8)*k, float32(g>>8)*k, float32(bl>>8)*k
		}
	}
	return t
}

// detect runs the "model" and post-processing on t.
func (t *Tensor) detect() Result {
	res := Result{Width: t.W, Height: t.H}
	cell := max(1, int(math.Round(4*math.Min(float64(t.W)/640, float64(t.H)/360))))
	gw, gh := t.W/cell, t.H/cell
	grid := make([]bool, gw*gh)
	nearPlaceholder := 0
	for gy := 0; gy < gh; gy++ {
		for gx := 0; gx < gw; gx++ {
			sat := 0
			var sum [3]float32
			for y := gy * cell; y < (gy+1)*cell; y++ {
				px := t.Data[(y*t.W+gx*cell)*3 : (y*t.W+(gx+1)*cell)*3]
				for i := 0; i < len(px); i += 3 {
					r, g, b := px[i], px[i+1], px[i+2]
					sum[0] += r
					sum[1] += g
					sum[2] += b
					mx := max(r, g, b)
					if mx >= minValue && (mx-min(r, g, b)) >= minSaturation*mx {
						sat++
					}
				}
			}
			n := float32(cell * cell)
			if 4*sat >= 3*cell*cell {
				grid[gy*gw+gx] = true
			}
			near := true
			for c := range 3 {
				if d := sum[c]/n - placeholderRGB[c]; d > placeholderTol || d < -placeholderTol {
					near = false
				}
			}
			if near {
				nearPlaceholder++
			}
		}
	}
	if float64(nearPlaceholder) >= placeholderFraction*float64(gw*gh) {
		res.Placeholder = true
		res.Congestion = CongestionFree
		return res
	}
	res.Vehicles = components(grid, gw, gh, minComponent)
	res.Intensity = math.Min(float64(res.Vehicles)/100, 1)
	res.Congestion = Level(res.Intensity)
	return res
}

// components counts the 4-connected components of set cells with at least
// minSize cells.
func components(grid []bool, w, h, minSize int) int {
	seen := make([]bool, len(grid))
	stack := make([]int, 0, 64)
	count := 0
	for start, set := range grid {
		if !set || seen[start] {
			continue
		}
		size := 0
		seen[start] = true
		stack = append(stack[:0], start)
		for len(stack) > 0 {
			i := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			size++
			x, y := i%w, i/w
			for _, j := range [4]int{i - 1, i + 1, i - w, i + w} {
				switch {
				case j == i-1 && x == 0, j == i+1 && x == w-1, j == i-w && y == 0, j == i+w && y == h-1:
					continue
				}
				if grid[j] && !seen[j] {
					seen[j] = true
					stack = append(stack, j)
				}
			}
		}
		if size >= minSize {
			count++
		}
	}
	return count
}

// calibration: nanoseconds per tensor element of one convolution pass,
// measured once per process on a model-sized tensor.
var (
	calOnce   sync.Once
	nsPerElem float64
)

// calibrate measures the convolution's speed: the best of several timed
// runs, so a briefly busy machine does not inflate it.
func calibrate() {
	t := &Tensor{W: 640, H: 360, Data: make([]float32, 640*360*3)}
	for i := range t.Data {
		t.Data[i] = float32(i%251) / 251
	}
	out := make([]float32, len(t.Data))
	best := math.Inf(1)
	for range 5 {
		start := time.Now()
		convolve(t, out, 0, t.H)
		if ns := float64(time.Since(start).Nanoseconds()) / float64(len(t.Data)); ns < best {
			best = ns
		}
	}
	nsPerElem = max(best, 0.01)
}

// CostPerPass is how long one full convolution pass over a 640×360 tensor
// takes on an idle core, as calibrated.
func CostPerPass() time.Duration {
	calOnce.Do(calibrate)
	return time.Duration(nsPerElem * 640 * 360 * 3)
}

// burn runs convolution passes over t worth cost of CPU time on an idle
// core, ping-ponging between two activation buffers like a network's layers
// (the input tensor itself is only read).
// It returns the number of rows convolved.
func burn(t *Tensor, cost time.Duration) int {
	calOnce.Do(calibrate)
	rows := int(float64(cost.Nanoseconds())/nsPerElem) / max(t.W*3, 1)
	if rows == 0 {
		return 0
	}
	total := rows
	src := t
	a := &Tensor{W: t.W, H: t.H, Data: make([]float32, len(t.Data))}
	b := &Tensor{W: t.W, H: t.H, Data: make([]float32, len(t.Data))}
	for rows > 0 {
		n := min(rows, t.H)
		convolve(src, a.Data, 0, n)
		rows -= n
		src, a, b = a, b, a
	}
	sink.Store(math.Float32bits(src.Data[len(src.Data)/2]))
	return total
}

// sink keeps the convolutions' result observable.
var sink atomic.Uint32

// convolve applies a 3×3 smoothing kernel per channel to rows [y0, y1) of
// src into dst.
func convolve(src *Tensor, dst []float32, y0, y1 int) {
	w, h, s := src.W, src.H, src.Data
	stride := w * 3
	for y := y0; y < y1; y++ {
		up, down := max(y-1, 0)*stride, min(y+1, h-1)*stride
		mid := y * stride
		for x := 0; x < w; x++ {
			l, r := max(x-1, 0)*3, min(x+1, w-1)*3
			c := x * 3
			for ch := range 3 {
				v := 4*s[mid+c+ch] +
					2*(s[mid+l+ch]+s[mid+r+ch]+s[up+c+ch]+s[down+c+ch]) +
					s[up+l+ch] + s[up+r+ch] + s[down+l+ch] + s[down+r+ch]
				dst[mid+c+ch] = v * (1.0 / 16)
			}
		}
	}
}
