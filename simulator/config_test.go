package simulator

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/camload/camload/internal/cfgerr"
)

func TestValidate(t *testing.T) {
	t.Parallel()
	if err := DefaultConfig.Validate(); err != nil {
		t.Fatalf("DefaultConfig.Validate() = %v; want nil", err)
	}
	for _, tc := range []struct {
		name   string
		mutate func(*Config)
		want   []string // substrings of the error, one per expected problem
	}{
		{"no cameras", func(c *Config) { c.Cameras = 0 }, []string{"fleet.cameras: must be 1…20000, got 0"}},
		{"too many cameras", func(c *Config) { c.Cameras = 20001 }, []string{"fleet.cameras"}},
		{"more hosts than cameras", func(c *Config) { c.Cameras, c.Hosts = 3, 4 }, []string{"fleet.hosts: must be ≤ cameras"}},
		{"zero hosts", func(c *Config) { c.Hosts = 0 }, []string{"fleet.hosts"}},
		{"bad listen", func(c *Config) { c.Listen = "localhost" }, []string{"fleet.listen"}},
		{"ports overflow", func(c *Config) { c.Listen = "127.0.0.1:65530"; c.Hosts = 10 }, []string{"fleet.listen: port 65530"}},
		{"tiny frame", func(c *Config) { c.Width = 100 }, []string{"fleet.width"}},
		{"quality", func(c *Config) { c.Quality = 0 }, []string{"fleet.quality"}},
		{"refresh", func(c *Config) { c.Refresh = 0 }, []string{"fleet.refresh"}},
		{"p99 below median", func(c *Config) { c.Latency.P99 = 100 * time.Millisecond }, []string{"fleet.latency.p99: must be ≥ median"}},
		{"unknown dist", func(c *Config) { c.Latency.Dist = "pareto" }, []string{"fleet.latency.dist"}},
		{"uniform max < min", func(c *Config) {
			c.Latency = LatencyConfig{Dist: DistUniform, Min: time.Second, Max: time.Millisecond}
		}, []string{"fleet.latency.max"}},
		{"spread", func(c *Config) { c.Latency.Spread = 2 }, []string{"fleet.latency.spread"}},
		{"overflow", func(c *Config) { c.Capacity.Overflow = "drop" }, []string{"fleet.capacity.overflow"}},
		{"negative queue", func(c *Config) { c.Capacity.Queue = -1 }, []string{"fleet.capacity.queue"}},
		{"fault rate > 1", func(c *Config) { c.Faults.Hang = 1.5 }, []string{"fleet.faults.hang"}},
		{"rates sum > 1", func(c *Config) { c.Faults.Reset, c.Faults.Garbage = 0.6, 0.6 }, []string{"sum to ≤ 1"}},
		{"hang without hang_for", func(c *Config) { c.Faults.HangFor = 0 }, []string{"fleet.faults.hang_for"}},
		{"frames", func(c *Config) { c.Frames = 5000 }, []string{"fleet.frames"}},
		{"device concurrent", func(c *Config) { c.Capacity.Device.Concurrent = -1 }, []string{"fleet.capacity.device.concurrent"}},
		{"device queue", func(c *Config) { c.Capacity.Device.Queue = -2 }, []string{"fleet.capacity.device.queue"}},
		{"device overflow", func(c *Config) { c.Capacity.Device.Overflow = "drop" }, []string{"fleet.capacity.device.overflow"}},
		{"device overflow inherits none", func(c *Config) {
			c.Capacity = CapacityConfig{Device: DeviceCapacity{Concurrent: 2}}
		}, []string{"fleet.capacity.device.overflow"}},
		// several problems are all reported at once
		{"joined", func(c *Config) { c.Cameras, c.Quality, c.Capacity.Overflow = -1, 101, "x" },
			[]string{"fleet.cameras", "fleet.quality", "fleet.capacity.overflow"}},
	} {
		c := DefaultConfig
		tc.mutate(&c)
		err := c.Validate()
		if err == nil {
			t.Errorf("%s: Validate() = nil; want errors %q", tc.name, tc.want)
			continue
		}
		var ce *cfgerr.Error
		if !errors.As(err, &ce) || !strings.HasPrefix(ce.Field, "fleet.") {
			t.Errorf("%s: Validate() = %v; want a *cfgerr.Error naming a fleet. field", tc.name, err)
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: Validate() = %q; want it to contain %q", tc.name, err, w)
			}
		}
		if _, err := New(c); !cfgerr.Is(err) {
			t.Errorf("%s: New() error = %v; want *cfgerr.Error", tc.name, err)
		}
	}
}

func TestParseLatency(t *testing.T) {
	t.Parallel()
	base := LatencyConfig{Dist: DistLognormal, Median: time.Second, P99: 2 * time.Second, Spread: 0.2}
	for _, tc := range []struct {
		spec string
		want LatencyConfig
		err  bool
	}{
		{"0", LatencyConfig{Dist: DistNone, Spread: 0.2}, false},                                         // no latency
		{"none", LatencyConfig{Dist: DistNone, Spread: 0.2}, false},                                      // by name
		{"0s", LatencyConfig{Dist: DistNone, Spread: 0.2}, false},                                        // constant zero is none
		{"150ms", LatencyConfig{Dist: DistConstant, Median: 150 * time.Millisecond, Spread: 0.2}, false}, // bare duration
		{"constant:1s", LatencyConfig{Dist: DistConstant, Median: time.Second, Spread: 0.2}, false},
		{"uniform:100ms,2s", LatencyConfig{Dist: DistUniform, Min: 100 * time.Millisecond, Max: 2 * time.Second, Spread: 0.2}, false},
		{"lognormal:200ms,600ms", LatencyConfig{Dist: DistLognormal, Median: 200 * time.Millisecond, P99: 600 * time.Millisecond, Spread: 0.2}, false},
		{" lognormal:200ms, 600ms ", LatencyConfig{Dist: DistLognormal, Median: 200 * time.Millisecond, P99: 600 * time.Millisecond, Spread: 0.2}, false}, // spaces
		{"lognormal:200ms", LatencyConfig{}, true},                                                                                                        // missing p99
		{"uniform:1s", LatencyConfig{}, true},                                                                                                             // missing max
		{"pareto:1s,2s", LatencyConfig{}, true},                                                                                                           // unknown distribution
		{"fast", LatencyConfig{}, true},                                                                                                                   // not a duration
		{"constant:1s,2s", LatencyConfig{}, true},                                                                                                         // too many
		{"", LatencyConfig{}, true},                                                                                                                       // empty
	} {
		got, err := ParseLatency(tc.spec, base)
		if (err != nil) != tc.err || (!tc.err && got != tc.want) {
			t.Errorf("ParseLatency(%q) = %+v, %v; want %+v, error %t", tc.spec, got, err, tc.want, tc.err)
		}
		if err == nil {
			again, err := ParseLatency(got.String(), base)
			if err != nil || again != got {
				t.Errorf("ParseLatency(%q.String() = %q) = %+v, %v; want a round trip", tc.spec, got.String(), again, err)
			}
		}
	}
}

func FuzzParseLatency(f *testing.F) {
	for _, s := range []string{"0", "200ms", "uniform:1ms,2ms", "lognormal:200ms,600ms", "x:", ":", ",,"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, spec string) {
		l, err := ParseLatency(spec, LatencyConfig{})
		if err != nil {
			return
		}
		again, err := ParseLatency(l.String(), LatencyConfig{})
		if err != nil || again != l {
			t.Fatalf("ParseLatency(%q) = %+v; its String %q parses to %+v, %v", spec, l, l.String(), again, err)
		}
		if l.validate("fleet.latency") == nil {
			NewSampler(l, 1).Sample(3, 7) // valid specs must sample without panicking
		}
	})
}

func TestWithFaultRate(t *testing.T) {
	t.Parallel()
	for _, total := range []float64{0, 0.05, 1} {
		f := DefaultConfig.Faults.WithFaultRate(total)
		sum := 0.0
		for _, r := range f.rates() {
			sum += r.rate
		}
		if d := sum - total; d > 1e-12 || d < -1e-12 {
			t.Errorf("WithFaultRate(%g): rates sum to %g", total, sum)
		}
		if f.Offline != DefaultConfig.Faults.Offline {
			t.Errorf("WithFaultRate(%g) changed Offline to %g", total, f.Offline)
		}
	}
}

func TestDecodeConfig(t *testing.T) {
	t.Parallel()
	got, err := DecodeConfig(map[string]any{
		"cameras": 500, "refresh": "5s",
		"latency":  map[string]any{"dist": "uniform", "min": "10ms", "max": "20ms"},
		"capacity": map[string]any{"handshake": 0, "overflow": "reset", "device": map[string]any{"concurrent": 2, "queue": 1}},
	}, DefaultConfig)
	if err != nil {
		t.Fatalf("DecodeConfig: %v", err)
	}
	if got.Cameras != 500 || got.Refresh != 5*time.Second || got.Latency.Max != 20*time.Millisecond ||
		got.Capacity.Overflow != OverflowReset || got.Hosts != DefaultConfig.Hosts ||
		got.Capacity.Device != (DeviceCapacity{Concurrent: 2, Queue: 1}) {
		t.Errorf("DecodeConfig = %+v", got)
	}
	for _, tc := range []struct {
		in   map[string]any
		want string
	}{
		{map[string]any{"camras": 5}, "fleet.camras: unknown key"},                                 // typo
		{map[string]any{"latency": map[string]any{"p50": "1s"}}, "fleet.latency.p50: unknown key"}, // nested typo
		{map[string]any{"refresh": "soon"}, "fleet.refresh"},                                       // bad duration
		{map[string]any{"refresh": 15}, "fleet.refresh: duration 15 has no unit"},                  // missing unit
		{map[string]any{"cameras": "many"}, "fleet.cameras"},                                       // wrong type
		{map[string]any{"capacity": map[string]any{"device": map[string]any{"conc": 1}}}, "fleet.capacity.device.conc: unknown key"},
	} {
		_, err := DecodeConfig(tc.in, DefaultConfig)
		if !cfgerr.Is(err) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("DecodeConfig(%v) = %v; want *cfgerr.Error containing %q", tc.in, err, tc.want)
		}
	}
}

func TestParseConfigYAML(t *testing.T) {
	t.Parallel()
	cfg, err := ParseConfigYAML([]byte("system: {mode: sync}\nfleet:\n  cameras: 42\n  faults:\n    hang: 0.5\n"), "s.yaml", DefaultConfig)
	if err != nil || cfg.Cameras != 42 || cfg.Faults.Hang != 0.5 || cfg.Faults.Reset != DefaultConfig.Faults.Reset {
		t.Errorf("ParseConfigYAML = %+v, %v; want cameras 42, hang 0.5, other defaults", cfg, err)
	}
	// A scenario's list of fleet sizes: the first is served; its seed is the fleet's.
	cfg, err = ParseConfigYAML([]byte("seed: 9\nfleet:\n  cameras: [300, 1000]\n"), "s.yaml", DefaultConfig)
	if err != nil || cfg.Cameras != 300 || cfg.Seed != 9 {
		t.Errorf("ParseConfigYAML(cameras list) = cameras %d seed %d, %v; want 300, 9", cfg.Cameras, cfg.Seed, err)
	}
	if cfg, err := ParseConfigYAML([]byte("seed: 9\nfleet:\n  seed: 3\n"), "s.yaml", DefaultConfig); err != nil || cfg.Seed != 3 {
		t.Errorf("ParseConfigYAML(fleet.seed) = seed %d, %v; want 3 (fleet.seed wins)", cfg.Seed, err)
	}
	if cfg, err := ParseConfigYAML([]byte("name: no fleet\n"), "s.yaml", DefaultConfig); err != nil || cfg != DefaultConfig {
		t.Errorf("ParseConfigYAML(no fleet:) = %+v, %v; want the base unchanged", cfg, err)
	}
	for _, tc := range []struct{ in, want string }{
		{"fleet:\n  cameras: 1\n  faults:\n    hnag: 1\n", "s.yaml:4: fleet.faults.hnag: unknown key"},
		{"fleet:\n  refresh: 10\n", "s.yaml:2: fleet.refresh: duration 10 has no unit"},
		{"fleet: [1, 2]\n", "s.yaml:1: fleet"},
		{"fleet: {cameras: 1\n", "s.yaml: not valid YAML"},
		{"fleet:\n  hosts: 1\n  cameras: []\n", "s.yaml:3: fleet.cameras: empty list"},
		{"fleet:\n  cameras: [x]\n", "fleet.cameras"},
	} {
		_, err := ParseConfigYAML([]byte(tc.in), "s.yaml", DefaultConfig)
		if !cfgerr.Is(err) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseConfigYAML(%q) = %v; want *cfgerr.Error containing %q", tc.in, err, tc.want)
		}
	}
}

// TestShippedScenariosLoad: every scenario file shipped in scenarios/ is a
// valid fleet configuration for camload sim --config.
func TestShippedScenariosLoad(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("../scenarios/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no shipped scenarios found: %v", err)
	}
	for _, path := range files {
		cfg, err := LoadConfigFile(path, DefaultConfig)
		if err != nil {
			t.Errorf("LoadConfigFile(%s): %v", path, err)
			continue
		}
		if err := cfg.Validate(); err != nil {
			t.Errorf("%s: Validate: %v", path, err)
		}
	}
}

func FuzzParseConfigYAML(f *testing.F) {
	f.Add([]byte("fleet:\n  cameras: 10\n  latency: {dist: lognormal, median: 1s, p99: 2s}\n"))
	f.Add([]byte("fleet: {refresh: 5s, capacity: {queue: 3}}"))
	f.Add([]byte("fleet:\n  faults:\n    hang: x\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := ParseConfigYAML(data, "fuzz.yaml", DefaultConfig)
		if err != nil {
			if !cfgerr.Is(err) {
				t.Fatalf("ParseConfigYAML error %v is not a *cfgerr.Error", err)
			}
			return
		}
		_ = cfg.Validate() // must not panic
	})
}
