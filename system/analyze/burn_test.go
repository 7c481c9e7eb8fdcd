package analyze

import (
	"testing"
	"time"
)

// TestBurnScalesWithCost checks the mechanism behind Options.Cost: the
// convolved elements are proportional to the cost beyond the letterbox,
// calibrated so that CostPerPass is one pass over the model's input; the
// work runs inside the model's memory whatever the cost.
func TestBurnScalesWithCost(t *testing.T) {
	t.Parallel()
	tensor := &Tensor{}
	tensor.resize(640, 360)
	for i := range tensor.Data {
		tensor.Data[i] = float32(i%7) / 7
	}
	orig := append([]float32(nil), tensor.Data...)
	mem := make([]float32, model.floats())
	var bufs modelBuffers
	calOnce.Do(calibrate)
	fill := time.Duration(nsFill * float64(model.Input.Floats()))
	pass := model.Input.Floats()
	_, pw := planeGeometry()
	for _, tc := range []struct {
		cost  time.Duration
		elems int // expected, ±1 row for rounding
	}{
		{0, 0},                               // no cost, no work
		{fill / 2, 0},                        // less than the letterbox
		{fill + CostPerPass(), pass},         // one pass
		{fill + 3*CostPerPass(), 3 * pass},   // three passes, across the arena
		{fill + CostPerPass()/2, pass / 2},   // half a pass
		{fill + 10*CostPerPass(), 10 * pass}, // many passes, ping-ponging buffers
	} {
		got := burn(tensor, mem, &bufs, tc.cost)
		if got < tc.elems-pw || got > tc.elems+pw {
			t.Errorf("burn(640×360, %s) = %d elements; want %d", tc.cost, got, tc.elems)
		}
	}
	for i, v := range tensor.Data {
		if v != orig[i] {
			t.Fatalf("burn modified the input tensor at %d", i)
		}
	}
}

// TestModelMemory checks the documented figures of the modelled detector.
func TestModelMemory(t *testing.T) {
	t.Parallel()
	if got, want := YOLOXNano.Bytes(), int64(6_922_240); got != want {
		t.Errorf("YOLOXNano.Bytes() = %d; want %d (input 2,076,672 + Focus 2,076,672 + stem 2,768,896)", got, want)
	}
	ph, pw := planeGeometry()
	for _, s := range model.Arena {
		if s.H != ph || s.W != pw {
			t.Errorf("arena shape %+v: planes are not %d×%d", s, ph, pw)
		}
	}
	if model.Input.Floats()%(ph*pw) != 0 {
		t.Errorf("input %+v does not divide into %d×%d planes", model.Input, ph, pw)
	}
}

func TestComponents(t *testing.T) {
	t.Parallel()
	g := func(rows ...string) ([]bool, int, int) {
		w := len(rows[0])
		out := make([]bool, 0, w*len(rows))
		for _, r := range rows {
			for _, c := range r {
				out = append(out, c == '#')
			}
		}
		return out, w, len(rows)
	}
	for _, tc := range []struct {
		name string
		rows []string
		min  int
		want int
	}{
		{"two blobs", []string{"##..##", "##..##"}, 1, 2},
		{"diagonal is not connected", []string{"#.", ".#"}, 1, 2},
		{"small blobs dropped", []string{"#...##", "....##"}, 2, 1},
		{"wrap-around is not adjacency", []string{"...#", "#..."}, 1, 2},
		{"empty", []string{"....", "...."}, 1, 0},
		{"snake", []string{"###.", "..#.", "###."}, 7, 1},
	} {
		grid, w, h := g(tc.rows...)
		if got := components(grid, w, h, tc.min); got != tc.want {
			t.Errorf("%s: components(%q, min %d) = %d; want %d", tc.name, tc.rows, tc.min, got, tc.want)
		}
		if got := refComponents(grid, w, h, tc.min); got != tc.want {
			t.Errorf("%s: refComponents(%q, min %d) = %d; want %d", tc.name, tc.rows, tc.min, got, tc.want)
		}
	}
}
