package cli

import (
	"github.com/spf13/pflag"

	"github.com/camload/camload/bench"
)

// Scenario binds the --cameras and --modes overrides of run and compare
// to o; Overrides reports only the flags given.
type Scenario struct {
	fs *pflag.FlagSet
	o  bench.ScenarioOverrides
}

// AddScenario defines --cameras and --modes on fs (usage: what they
// override, e.g. "fleet.cameras").
func AddScenario(fs *pflag.FlagSet, cameras, modes string) *Scenario {
	s := &Scenario{fs: fs}
	fs.IntSliceVar(&s.o.Cameras, "cameras", nil, cameras)
	fs.StringSliceVar(&s.o.Modes, "modes", nil, modes)
	return s
}

// Overrides returns the overrides the command line gave (nil for a flag
// not given, even as an empty list).
func (s *Scenario) Overrides() bench.ScenarioOverrides {
	o := s.o
	switch {
	case !s.fs.Changed("cameras"):
		o.Cameras = nil
	case o.Cameras == nil:
		o.Cameras = []int{}
	}
	switch {
	case !s.fs.Changed("modes"):
		o.Modes = nil
	case o.Modes == nil:
		o.Modes = []string{}
	}
	return o
}
