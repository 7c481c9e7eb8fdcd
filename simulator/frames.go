package simulator

import (
	"bytes"
	"context"
	"fmt"
	"hash/fnv"
	"image"
	"image/color"
	"image/jpeg"
	"math"
	"runtime"
	"strconv"

	"golang.org/x/sync/errgroup"
)

// The scene's colour contract with system/analyze: vehicles are the only
// saturated things in a frame (every vehicle colour has HSV saturation ≥ 0.75
// and value ≥ 0.35; the background stays below saturation 0.25), and they are
// separated by at least 12 px (at 640×360, scaled with the frame) of
// background, so a detector that finds connected components of saturated
// pixels on a 4-px grid counts them exactly. The placeholder ("camera not
// available") is a flat PlaceholderGray image with light-grey drawings.
var vehiclePalette = []color.RGBA{
	{200, 30, 35, 255},  // red
	{30, 60, 200, 255},  // blue
	{230, 190, 20, 255}, // yellow
	{30, 160, 60, 255},  // green
	{230, 110, 20, 255}, // orange
	{20, 170, 200, 255}, // cyan
	{140, 40, 170, 255}, // purple
}

// PlaceholderGray is the background colour of the placeholder image.
var PlaceholderGray = color.RGBA{52, 52, 56, 255}

// frame is one pre-encoded JPEG with its ground truth and cached header
// values; frames are immutable once rendered and shared by all cameras.
type frame struct {
	body     []byte
	vehicles int
	etag     string
	hdrETag  []string // {etag}
	hdrLen   []string // {len(body)}
}

func newFrame(body []byte, vehicles int) *frame {
	h := fnv.New64a()
	h.Write(body)
	etag := fmt.Sprintf(`"%016x"`, h.Sum64())
	return &frame{
		body: body, vehicles: vehicles, etag: etag,
		hdrETag: []string{etag}, hdrLen: []string{strconv.Itoa(len(body))},
	}
}

// layout is the geometry of a street scene of a given size.
type layout struct {
	w, h             int
	skyH             int // buildings and sky above
	roadTop, roadBot int
	laneH, lanes     int
	slotW, slots     int // slots per lane
	vehH, vehY       int // height and offset within the lane
	vehMinW, vehMaxW int
	margin           int // left margin within a slot
}

func newLayout(w, h int) layout {
	sx, sy := float64(w)/640, float64(h)/360
	r := func(v float64) int { return int(math.Round(v)) }
	l := layout{w: w, h: h}
	l.skyH = r(0.22 * float64(h))
	sw := r(14 * sy)
	l.roadTop, l.roadBot = l.skyH+sw, h-sw
	l.laneH = r(28 * sy)
	l.lanes = (l.roadBot - l.roadTop) / l.laneH
	l.slotW = r(40 * sx)
	l.slots = w / l.slotW
	l.vehH = r(16 * sy)
	l.vehY = (l.laneH - l.vehH) / 2
	l.margin = r(6 * sx)
	l.vehMaxW = min(r(28*sx), l.slotW-2*l.margin)
	l.vehMinW = min(r(20*sx), l.vehMaxW)
	return l
}

// maxVehicles is the most vehicles a frame holds (max density).
func (l layout) maxVehicles() int { return min(l.lanes*l.slots, 110) }

// renderFrames renders n distinct scenes with vehicle counts spread evenly
// over 0 … max density, in parallel; it returns when all are done.
func renderFrames(ctx context.Context, cfg Config, n int) ([]*frame, error) {
	l := newLayout(cfg.Width, cfg.Height)
	frames := make([]*frame, n)
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(runtime.GOMAXPROCS(0))
	for k := range n {
		g.Go(func() error {
			if err := ctx.Err(); err != nil {
				return err
			}
			v := l.maxVehicles() / 2
			if n > 1 {
				v = int(math.Round(float64(k) * float64(l.maxVehicles()) / float64(n-1)))
			}
			img := renderScene(l, uint64(cfg.Seed), uint64(k), v)
			var buf bytes.Buffer
			buf.Grow(64 << 10)
			if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: cfg.Quality}); err != nil {
				return fmt.Errorf("encoding frame %d: %w", k, err)
			}
			frames[k] = newFrame(bytes.Clone(buf.Bytes()), v)
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return frames, nil
}

// painter draws into an RGBA image with a cheap deterministic noise source.
type painter struct {
	img *image.RGBA
	rng uint64
}

func (p *painter) next() uint64 {
	p.rng ^= p.rng << 13
	p.rng ^= p.rng >> 7
	p.rng ^= p.rng << 17
	return p.rng
}

// fill paints the rectangle [x0,x1)×[y0,y1) with c plus luminance noise of
// ±noise (the same offset on every channel, so saturation stays low).
func (p *painter) fill(x0, y0, x1, y1 int, c color.RGBA, noise int) {
	b := p.img.Rect
	x0, y0, x1, y1 = max(x0, b.Min.X), max(y0, b.Min.Y), min(x1, b.Max.X), min(y1, b.Max.Y)
	for y := y0; y < y1; y++ {
		row := p.img.Pix[y*p.img.Stride:]
		for x := x0; x < x1; x++ {
			d := 0
			if noise > 0 {
				d = int(p.next()%uint64(2*noise+1)) - noise
			}
			i := 4 * x
			row[i] = clamp8(int(c.R) + d)
			row[i+1] = clamp8(int(c.G) + d)
			row[i+2] = clamp8(int(c.B) + d)
			row[i+3] = 255
		}
	}
}

func clamp8(v int) uint8 {
	if v < 0 {
		return 0
	}
	if v > 255 {
		return 255
	}
	return uint8(v)
}

func gray(v uint8) color.RGBA { return color.RGBA{v, v, v, 255} }

// renderScene draws street scene k of the seed with exactly v vehicles.
func renderScene(l layout, seed, k uint64, v int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, l.w, l.h))
	p := &painter{img: img, rng: hash4(seed, saltScene, k, 0) | 1}
	sy := float64(l.h) / 360
	// Sky, a soft vertical gradient.
	for y := 0; y < l.skyH; y++ {
		t := float64(y) / float64(max(l.skyH, 1))
		p.fill(0, y, l.w, y+1, color.RGBA{uint8(150 + 30*t), uint8(160 + 25*t), uint8(175 + 15*t), 255}, 3)
	}
	// Buildings with windows, muted colours.
	for x := 0; x < l.w; {
		bw := 30 + int(p.next()%50)
		top := int(float64(l.skyH) * (0.1 + 0.6*unit(p.next())))
		base := uint8(110 + p.next()%60)
		tint := uint8(p.next() % 14)
		p.fill(x, top, x+bw, l.skyH, color.RGBA{base, base - tint/2, base - tint, 255}, 5)
		for wy := top + 4; wy+5 < l.skyH; wy += 9 {
			for wx := x + 4; wx+5 < x+bw; wx += 8 {
				if p.next()%3 != 0 {
					p.fill(wx, wy, wx+4, wy+5, color.RGBA{70, 78, 92, 255}, 6)
				}
			}
		}
		x += bw + int(p.next()%6)
	}
	// Sidewalks with trees (dull green) and the road.
	p.fill(0, l.skyH, l.w, l.roadTop, color.RGBA{168, 160, 148, 255}, 6)
	p.fill(0, l.roadBot, l.w, l.h, color.RGBA{168, 160, 148, 255}, 6)
	for x := int(p.next() % 40); x < l.w; x += 60 + int(p.next()%60) {
		p.fill(x, l.skyH-int(10*sy), x+int(14*sy), l.roadTop-2, color.RGBA{70, 84, 68, 255}, 12)
	}
	p.fill(0, l.roadTop, l.w, l.roadBot, gray(96), 4)
	// Lane markings: white dashes between lanes, a crosswalk on the left.
	for i := 1; i < l.lanes; i++ {
		y := l.roadTop + i*l.laneH
		for x := 0; x < l.w; x += 32 {
			p.fill(x, y-1, x+16, y+1, gray(215), 8)
		}
	}
	// Vehicles: a random subset of slots, random widths and offsets.
	slots := l.lanes * l.slots
	order := make([]int, slots)
	for i := range order {
		order[i] = i
	}
	for i := slots - 1; i > 0; i-- {
		j := int(p.next() % uint64(i+1))
		order[i], order[j] = order[j], order[i]
	}
	for _, s := range order[:min(v, slots)] {
		lane, slot := s/l.slots, s%l.slots
		w := l.vehMinW + int(p.next()%uint64(l.vehMaxW-l.vehMinW+1))
		free := l.slotW - 2*l.margin - w
		x := slot*l.slotW + l.margin + int(p.next()%uint64(free+1))
		y := l.roadTop + lane*l.laneH + l.vehY
		c := vehiclePalette[p.next()%uint64(len(vehiclePalette))]
		// A soft shadow, the body, and a darker windscreen.
		p.fill(x+1, y+l.vehH, x+w+1, y+l.vehH+1, gray(60), 4)
		p.fill(x, y, x+w, y+l.vehH, c, 0)
		dark := color.RGBA{uint8(int(c.R) * 5 / 8), uint8(int(c.G) * 5 / 8), uint8(int(c.B) * 5 / 8), 255}
		ws := w / 4
		if lane%2 == 0 {
			p.fill(x+w-ws-2, y+2, x+w-2, y+l.vehH-2, dark, 0)
		} else {
			p.fill(x+2, y+2, x+2+ws, y+l.vehH-2, dark, 0)
		}
	}
	return img
}

// renderPlaceholder draws the fixed "camera not available" image.
func renderPlaceholder(w, h, quality int) (*frame, error) {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	p := &painter{img: img, rng: 1}
	p.fill(0, 0, w, h, PlaceholderGray, 0)
	light := gray(170)
	cx, cy := w/2, h*2/5
	u := max(1, h/60) // unit of the drawing
	// A camera body with its lens, crossed out.
	p.fill(cx-8*u, cy-5*u, cx+8*u, cy+5*u, light, 0)
	p.fill(cx-3*u, cy-3*u, cx+3*u, cy+3*u, PlaceholderGray, 0)
	p.fill(cx+8*u, cy-3*u, cx+12*u, cy+3*u, light, 0)
	for i := -10 * u; i <= 10*u; i++ {
		p.fill(cx+i-u/2, cy+i*2/3-u/2, cx+i+u/2+1, cy+i*2/3+u/2+1, gray(210), 0)
	}
	const text = "CAMERA NOT AVAILABLE"
	tu := max(1, min(u, w*3/4/(len(text)*6)))
	drawText(p, text, cx, cy+10*u, tu, gray(200))
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: quality}); err != nil {
		return nil, fmt.Errorf("encoding placeholder: %w", err)
	}
	return newFrame(buf.Bytes(), 0), nil
}

// glyphs is a 5×7 bitmap font for the placeholder's letters.
var glyphs = map[rune][7]string{
	'A': {" ### ", "#   #", "#   #", "#####", "#   #", "#   #", "#   #"},
	'B': {"#### ", "#   #", "#   #", "#### ", "#   #", "#   #", "#### "},
	'C': {" ####", "#    ", "#    ", "#    ", "#    ", "#    ", " ####"},
	'E': {"#####", "#    ", "#    ", "#### ", "#    ", "#    ", "#####"},
	'I': {"#####", "  #  ", "  #  ", "  #  ", "  #  ", "  #  ", "#####"},
	'L': {"#    ", "#    ", "#    ", "#    ", "#    ", "#    ", "#####"},
	'M': {"#   #", "## ##", "# # #", "#   #", "#   #", "#   #", "#   #"},
	'N': {"#   #", "##  #", "# # #", "#  ##", "#   #", "#   #", "#   #"},
	'O': {" ### ", "#   #", "#   #", "#   #", "#   #", "#   #", " ### "},
	'R': {"#### ", "#   #", "#   #", "#### ", "# #  ", "#  # ", "#   #"},
	'T': {"#####", "  #  ", "  #  ", "  #  ", "  #  ", "  #  ", "  #  "},
	'V': {"#   #", "#   #", "#   #", "#   #", "#   #", " # # ", "  #  "},
}

// drawText draws s centred on cx with its top at y, u pixels per dot.
func drawText(p *painter, s string, cx, y, u int, c color.RGBA) {
	x := cx - len(s)*6*u/2
	for _, r := range s {
		g, ok := glyphs[r]
		if ok {
			for gy, row := range g {
				for gx, dot := range row {
					if dot == '#' {
						p.fill(x+gx*u, y+gy*u, x+(gx+1)*u, y+(gy+1)*u, c, 0)
					}
				}
			}
		}
		x += 6 * u
	}
}
