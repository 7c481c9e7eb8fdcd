package analyze

import (
	"math"
	"sync"
	"sync/atomic"
	"time"
)

// Shape is the C×H×W shape of a float32 tensor.
type Shape struct{ C, H, W int }

// Floats is the number of elements of s.
func (s Shape) Floats() int { return s.C * s.H * s.W }

// Model is the detector that Options.Cost stands in for: its memory per
// frame in flight is the model's input tensor plus the activation buffers
// live at the peak of its memory plan, and the cost's convolution passes
// run over exactly those buffers. Weights are shared by every frame and
// not modelled.
type Model struct {
	Name  string
	Input Shape
	// Arena is the set of activations alive at once at the peak of a
	// greedy memory planner (a layer's input and output), which a runtime
	// that reuses buffers between layers allocates per inference.
	Arena []Shape
	// Source says where the figures come from.
	Source string
}

// YOLOXNano is the modelled detector: YOLOX-Nano at its 416×416 input.
//
//	input (letterboxed frame)      3×416×416 float32 = 2,076,672 B
//	Focus (space-to-depth) output 12×208×208 float32 = 2,076,672 B
//	stem conv output              16×208×208 float32 = 2,768,896 B
//	(dark2 32×104×104 and every later layer are smaller)
//	peak: input + Focus out + stem out           = 6,922,240 B ≈ 6.9 MB
//
// A CPU-class detector: 0.91 M parameters and 1.08 GFLOPs per frame
// (YOLOX paper, Table 4). YOLOX-s at 640×640 (input 4.9 MB, Focus 4.9 MB,
// stem 32×320×320 = 13.1 MB: ≈ 23 MB per frame in flight) would be the
// GPU-class choice; this stand-in runs on the system's CPU, so it models the
// model a CPU deployment would run.
var YOLOXNano = Model{
	Name:   "YOLOX-Nano 416×416",
	Input:  Shape{3, 416, 416},
	Arena:  []Shape{{12, 208, 208}, {16, 208, 208}},
	Source: "Ge et al., YOLOX: Exceeding YOLO Series in 2021, arXiv:2107.08430, Table 4; Megvii-BaseDetection/YOLOX exps/default/yolox_nano.py (depth 0.33, width 0.25, input 416) and yolox/models/darknet.py (CSPDarknet: Focus, then BaseConv to int(64·width) channels)",
}

// Bytes is the memory of one frame in flight: input plus arena, float32.
func (m Model) Bytes() int64 { return 4 * int64(m.floats()) }

func (m Model) floats() int {
	n := m.Input.Floats()
	for _, s := range m.Arena {
		n += s.Floats()
	}
	return n
}

// model is the model the cost runs; its arena shapes share one plane size,
// and its input divides into planes of that size (the Focus layer's
// space-to-depth view).
var model = YOLOXNano

// modelBuffers slices the model's memory into the input and the arena's
// buffers, each a run of planes of planeH×planeW.
type modelBuffers struct {
	input []float32
	arena [][]float32
}

func planeGeometry() (h, w int) { return model.Arena[0].H, model.Arena[0].W }

// carve lays the buffers out in mem (model.floats() long).
func (b *modelBuffers) carve(mem []float32) {
	n := model.Input.Floats()
	b.input = mem[:n:n]
	mem = mem[n:]
	b.arena = b.arena[:0]
	for _, s := range model.Arena {
		k := s.Floats()
		b.arena = append(b.arena, mem[:k:k])
		mem = mem[k:]
	}
}

// calibration: nanoseconds per element of a convolution and of the
// letterbox, measured once per process on the model's own buffers.
var (
	calOnce           sync.Once
	nsPerElem, nsFill float64
)

// calibrate measures the work's speed: the best of several timed runs, so
// a briefly busy machine does not inflate it.
func calibrate() {
	var b modelBuffers
	b.carve(make([]float32, model.floats()))
	for i := range b.input {
		b.input[i] = float32(i%251) / 251
	}
	src := &Tensor{}
	src.resize(640, 360)
	for i := range src.Data {
		src.Data[i] = float32(i%241) / 241
	}
	ph, pw := planeGeometry()
	bestConv, bestFill := math.Inf(1), math.Inf(1)
	for range 5 {
		start := time.Now()
		convolvePlanes(b.input, b.arena[0], ph, pw, len(b.arena[0])/pw)
		if ns := float64(time.Since(start).Nanoseconds()) / float64(len(b.arena[0])); ns < bestConv {
			bestConv = ns
		}
		start = time.Now()
		letterbox(src, b.input, model.Input)
		if ns := float64(time.Since(start).Nanoseconds()) / float64(len(b.input)); ns < bestFill {
			bestFill = ns
		}
	}
	nsPerElem, nsFill = max(bestConv, 0.01), max(bestFill, 0.001)
}

// CostPerPass is how long one convolution pass over the model's input
// takes on an idle core, as calibrated.
func CostPerPass() time.Duration {
	calOnce.Do(calibrate)
	return time.Duration(nsPerElem * float64(model.Input.Floats()))
}

// burn does cost worth of CPU work on an idle core over the model's
// buffers in mem (model.floats() long): it letterboxes t into the model's
// input, then runs 3×3 convolution passes layer to layer, the input feeding
// the first arena buffer and the arena's buffers feeding each other in
// turn, as a network's layers do. Its memory is the model's, whatever the
// cost; the tensor t is only read. It returns the number of convolved
// elements.
func burn(t *Tensor, mem []float32, bufs *modelBuffers, cost time.Duration) int {
	calOnce.Do(calibrate)
	budget := float64(cost.Nanoseconds())
	fill := nsFill * float64(model.Input.Floats())
	if budget < fill {
		return 0
	}
	bufs.carve(mem)
	letterbox(t, bufs.input, model.Input)
	budget -= fill
	ph, pw := planeGeometry()
	rows := int(budget/nsPerElem) / pw
	total := rows * pw
	src := bufs.input
	for k := 0; rows > 0; k++ {
		dst := bufs.arena[k%len(bufs.arena)]
		n := min(rows, len(dst)/pw)
		convolvePlanes(src, dst, ph, pw, n)
		rows -= n
		src = dst
	}
	sink.Store(math.Float32bits(src[len(src)/2]))
	return total
}

// sink keeps the convolutions' result observable.
var sink atomic.Uint32

// letterbox scales t into the model input of shape in (C planes of H×W)
// keeping its aspect ratio, nearest neighbour, padding with YOLOX's grey
// (114/255).
func letterbox(t *Tensor, dst []float32, in Shape) {
	scale := math.Min(float64(in.W)/float64(t.W), float64(in.H)/float64(t.H))
	nw, nh := max(1, int(float64(t.W)*scale)), max(1, int(float64(t.H)*scale))
	nw, nh = min(nw, in.W), min(nh, in.H)
	const pad = 114.0 / 255
	for c := range in.C {
		plane := t.Plane(c % 3)
		out := dst[c*in.H*in.W : (c+1)*in.H*in.W]
		for y := range in.H {
			row := out[y*in.W : (y+1)*in.W]
			if y >= nh {
				for x := range row {
					row[x] = pad
				}
				continue
			}
			src := plane[(y*t.H/nh)*t.W:][:t.W]
			for x := range row {
				if x >= nw {
					row[x] = pad
					continue
				}
				row[x] = src[x*t.W/nw]
			}
		}
	}
}

// convolvePlanes applies a 3×3 smoothing kernel to the first rows rows of
// dst (planes of h×w, counted across planes), reading plane p of dst from
// plane p mod (planes of src) of src.
func convolvePlanes(src, dst []float32, h, w, rows int) {
	ps := h * w
	nsrc := len(src) / ps
	for p := 0; rows > 0; p++ {
		s := src[(p%nsrc)*ps : (p%nsrc+1)*ps]
		d := dst[p*ps : (p+1)*ps]
		n := min(rows, h)
		convolvePlane(s, d, h, w, n)
		rows -= n
	}
}

// convolvePlane smooths rows [0, n) of one h×w plane of s into d.
func convolvePlane(s, d []float32, h, w, n int) {
	for y := range n {
		up := s[max(y-1, 0)*w:][:w]
		mid := s[y*w:][:w]
		down := s[min(y+1, h-1)*w:][:w]
		out := d[y*w:][:w]
		for x := range out {
			l, r := max(x-1, 0), min(x+1, w-1)
			out[x] = (4*mid[x] +
				2*(mid[l]+mid[r]+up[x]+down[x]) +
				up[l] + up[r] + down[l] + down[r]) * (1.0 / 16)
		}
	}
}
