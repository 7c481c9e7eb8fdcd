package analyze

import (
	"testing"
	"time"
)

// TestBurnScalesWithCost checks the mechanism behind Options.Cost: the
// number of convolution rows is proportional to the cost, calibrated so
// that CostPerPass is one full pass over a 640×360 tensor.
func TestBurnScalesWithCost(t *testing.T) {
	t.Parallel()
	tensor := &Tensor{W: 640, H: 360, Data: make([]float32, 640*360*3)}
	orig := tensor.Data[1000]
	for _, tc := range []struct {
		cost time.Duration
		rows int // expected, ±1 for rounding
	}{
		{0, 0},
		{CostPerPass(), 360},           // one pass
		{3 * CostPerPass(), 3 * 360},   // three passes
		{CostPerPass() / 2, 360 / 2},   // half a pass
		{10 * CostPerPass(), 10 * 360}, // many passes, ping-ponging buffers
	} {
		got := burn(tensor, tc.cost)
		if got < tc.rows-1 || got > tc.rows+1 {
			t.Errorf("burn(640×360, %s) = %d rows; want %d", tc.cost, got, tc.rows)
		}
	}
	if tensor.Data[1000] != orig {
		t.Errorf("burn modified the input tensor")
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
	} {
		grid, w, h := g(tc.rows...)
		if got := components(grid, w, h, tc.min); got != tc.want {
			t.Errorf("%s: components(%q, min %d) = %d; want %d", tc.name, tc.rows, tc.min, got, tc.want)
		}
	}
}
