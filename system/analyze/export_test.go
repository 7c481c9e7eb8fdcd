package analyze

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"math"
)

// This file keeps the original analysis path — image/jpeg.DecodeConfig and
// Decode, a per-pixel color.YCbCrToRGB conversion into an HWC tensor, a
// cell-by-cell detector — as the reference the fast path must equal.

// refHWC is the original tensor: W×H×3 float32 RGB, row-major, HWC.
type refHWC struct {
	W, H int
	Data []float32
}

// ReferenceAnalyze is Analyze at cost 0 on the original path.
func ReferenceAnalyze(jpg []byte) (Result, error) {
	if len(jpg) == 0 {
		return Result{}, fmt.Errorf("%w: empty body", ErrBadImage)
	}
	hdr, err := jpeg.DecodeConfig(bytes.NewReader(jpg))
	if err != nil {
		return Result{}, fmt.Errorf("%w: %v", ErrBadImage, err)
	}
	if hdr.Width <= 0 || hdr.Height <= 0 || hdr.Width*hdr.Height > MaxPixels {
		return Result{}, fmt.Errorf("%w: %d×%d pixels", ErrBadImage, hdr.Width, hdr.Height)
	}
	img, err := jpeg.Decode(bytes.NewReader(jpg))
	if err != nil {
		return Result{}, fmt.Errorf("%w: %v", ErrBadImage, err)
	}
	return refTensor(img).detect(), nil
}

// TensorDiff converts img on the fast path and the reference path and
// returns the first element where they differ (ok if none).
func TensorDiff(img image.Image) (string, bool) {
	ref := refTensor(img)
	fast := NewTensor(img)
	if fast.W != ref.W || fast.H != ref.H || len(fast.Data) != len(ref.Data) {
		return fmt.Sprintf("size %d×%d (%d) vs reference %d×%d (%d)", fast.W, fast.H, len(fast.Data), ref.W, ref.H, len(ref.Data)), false
	}
	for c := range 3 {
		p := fast.Plane(c)
		for i, v := range p {
			if w := ref.Data[3*i+c]; v != w {
				return fmt.Sprintf("channel %d pixel (%d,%d) = %v; reference %v", c, i%fast.W, i/fast.W, v, w), false
			}
		}
	}
	return "", true
}

// refTensor is the original conversion: per pixel COffset and
// color.YCbCrToRGB into an HWC tensor.
func refTensor(img image.Image) *refHWC {
	b := img.Bounds()
	t := &refHWC{W: b.Dx(), H: b.Dy()}
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

// detect is the original detector, cell by cell over the HWC tensor.
func (t *refHWC) detect() Result {
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
	res.Vehicles = refComponents(grid, gw, gh, minComponent)
	res.Intensity = math.Min(float64(res.Vehicles)/100, 1)
	res.Congestion = Level(res.Intensity)
	return res
}

// components counts the 4-connected components of set cells with at least
// minSize cells.
func refComponents(grid []bool, w, h, minSize int) int {
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
