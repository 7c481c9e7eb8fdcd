package results

import (
	"slices"
	"strconv"
	"strings"
)

// Filter records that a run ran a different matrix than its scenario
// declares (`camload run --modes batched,resilient --cameras 1000`): the
// scenario's own modes and camera counts, and those the run kept. The
// gate reads it to tell a rule on cells the run left out (not applicable
// to this run: skipped) from a rule naming values the scenario does not
// have (a typo: an error).
type Filter struct {
	// Modes and Cameras are the scenario's own system.modes and
	// fleet.cameras, before --modes and --cameras.
	Modes   []string `json:"modes"`
	Cameras []int    `json:"cameras"`
	// KeptModes and KeptCameras are the modes and camera counts the run
	// ran.
	KeptModes   []string `json:"kept_modes"`
	KeptCameras []int    `json:"kept_cameras"`
}

// NewFilter returns the filter of a run of a scenario with modes and
// cameras that ran keptModes and keptCameras, or nil when it ran the
// scenario's own matrix (the same values, in any order).
func NewFilter(modes []string, cameras []int, keptModes []string, keptCameras []int) *Filter {
	if sameSet(modes, keptModes) && sameSet(cameras, keptCameras) {
		return nil
	}
	return &Filter{Modes: slices.Clone(modes), Cameras: slices.Clone(cameras),
		KeptModes: slices.Clone(keptModes), KeptCameras: slices.Clone(keptCameras)}
}

func sameSet[T comparable](a, b []T) bool {
	for _, x := range a {
		if !slices.Contains(b, x) {
			return false
		}
	}
	for _, x := range b {
		if !slices.Contains(a, x) {
			return false
		}
	}
	return true
}

// Flags renders what the run changed as the flags that did it:
// "--modes batched,resilient", "--modes sync --cameras 1000". A dimension
// the run kept whole is left out.
func (f *Filter) Flags() string {
	if f == nil {
		return ""
	}
	var parts []string
	if !sameSet(f.Modes, f.KeptModes) {
		parts = append(parts, "--modes "+strings.Join(f.KeptModes, ","))
	}
	if !sameSet(f.Cameras, f.KeptCameras) {
		cams := make([]string, len(f.KeptCameras))
		for i, c := range f.KeptCameras {
			cams[i] = strconv.Itoa(c)
		}
		parts = append(parts, "--cameras "+strings.Join(cams, ","))
	}
	return strings.Join(parts, " ")
}

// values returns the scenario's and the kept values of a cell label
// ("mode" or "cameras"), as selectors spell them; ok is false for any
// other label.
func (f *Filter) values(label string) (scenario, kept []string, ok bool) {
	itoa := func(ns []int) []string {
		out := make([]string, len(ns))
		for i, n := range ns {
			out[i] = strconv.Itoa(n)
		}
		return out
	}
	switch label {
	case "mode":
		return f.Modes, f.KeptModes, true
	case "cameras":
		return itoa(f.Cameras), itoa(f.KeptCameras), true
	}
	return nil, nil, false
}

// Known reports whether value of label ("mode", "cameras") is in the
// scenario's matrix or in the run's: a value a selector may name. False
// for any other label.
func (f *Filter) Known(label, value string) bool {
	if f == nil {
		return false
	}
	sc, kept, ok := f.values(label)
	return ok && (slices.Contains(sc, value) || slices.Contains(kept, value))
}

// FilteredOut reports whether value of label is in the scenario's matrix
// but was not run.
func (f *Filter) FilteredOut(label, value string) bool {
	if f == nil {
		return false
	}
	sc, kept, ok := f.values(label)
	return ok && slices.Contains(sc, value) && !slices.Contains(kept, value)
}

// Describe lists the scenario's matrix, for a no-match error: "the
// scenario has cameras: 100, 1000; mode: sync, pooled, batched".
func (f *Filter) Describe() string {
	if f == nil {
		return ""
	}
	sc, _, _ := f.values("cameras")
	return "the scenario has cameras: " + strings.Join(sc, ", ") + "; mode: " + strings.Join(f.Modes, ", ")
}
