package simulator

import (
	"strings"
	"testing"
)

// TestSettingsDefaults: the settings are unique, and each given at its
// flag's default over DefaultConfig changes nothing — except those whose
// flag default is not the Config value: --fault-rate (-1: "per-kind
// defaults"), --fault-KIND (0: the kind's share of --fault-rate),
// --frames (DefaultFrames for Config's 0) and --latency-median/-p99
// (giving one makes the latency lognormal).
func TestSettingsDefaults(t *testing.T) {
	seen := map[string]bool{}
	for _, s := range Settings {
		if seen[s.Flag] || !strings.HasPrefix(s.Field, "fleet.") || s.Usage == "" {
			t.Errorf("setting %+v: duplicate, or no fleet. field, or no usage", s)
		}
		seen[s.Flag] = true
	}
	got, err := ApplySettings(DefaultConfig, func(flag string) (any, bool) {
		for _, s := range Settings {
			if s.Flag == flag && flag != "fault-rate" && !strings.HasPrefix(flag, "fault-") && flag != "frames" && flag != "latency-median" && flag != "latency-p99" {
				return s.Default, true
			}
		}
		return nil, false
	})
	if err != nil || got != DefaultConfig {
		t.Errorf("ApplySettings(defaults) = %+v, %v; want DefaultConfig", got, err)
	}
}

// TestApplySettingsErrors: a bad value names its field, flag and
// variable; --fault-rate 0 turns offline periods off unless --offline is
// given; --latency-median makes the latency lognormal.
func TestApplySettingsErrors(t *testing.T) {
	given := func(m map[string]any) func(string) (any, bool) {
		return func(f string) (any, bool) { v, ok := m[f]; return v, ok }
	}
	_, err := ApplySettings(DefaultConfig, given(map[string]any{"cameras": "lots", "fault-rate": 2.0}))
	for _, want := range []string{"fleet.cameras: --cameras / CAMLOAD_SIM_CAMERAS:", "fleet.faults: --fault-rate / CAMLOAD_SIM_FAULT_RATE: must be 0…1, got 2"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v; want %q", err, want)
		}
	}
	c, err := ApplySettings(DefaultConfig, given(map[string]any{"fault-rate": 0.0}))
	if err != nil || c.Faults.Offline != 0 || c.Faults.HTTP5xx != 0 {
		t.Errorf("--fault-rate 0: faults %+v, %v; want none, offline too", c.Faults, err)
	}
	c, err = ApplySettings(DefaultConfig, given(map[string]any{"fault-rate": 0.0, "offline": 0.25}))
	if err != nil || c.Faults.Offline != 0.25 {
		t.Errorf("--fault-rate 0 --offline 0.25: offline %v, %v; want 0.25", c.Faults.Offline, err)
	}
	c, err = ApplySettings(DefaultConfig, given(map[string]any{"latency": "0", "latency-median": "20ms", "latency-p99": "80ms"}))
	if err != nil || c.Latency.Dist != DistLognormal || c.Latency.Median.String() != "20ms" {
		t.Errorf("--latency 0 --latency-median 20ms --latency-p99 80ms: %+v, %v; want lognormal, median 20ms", c.Latency, err)
	}
}

func TestCLIOptionsValidate(t *testing.T) {
	for _, tc := range []struct {
		o    CLIOptions
		want string
	}{
		{CLIOptions{}, ""},
		{CLIOptions{FetchLog: DefaultFetchLog, Shard: "2/2", UI: true}, ""},
		{CLIOptions{FetchLog: -1}, "--fetch-log: must be ≥ 0, got -1"},
		{CLIOptions{Shard: "3/2"}, "--shard: shard 3/2"},
	} {
		err := tc.o.Validate()
		if (tc.want == "") != (err == nil) || err != nil && !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v.Validate() = %v; want %q", tc.o, err, tc.want)
		}
	}
}
