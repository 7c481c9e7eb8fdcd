package scenarios

import (
	"fmt"
	"reflect"
	"sort"
	"strings"
	"time"

	"github.com/camload/camload/internal/cfgerr"
	"github.com/camload/camload/system"
)

// KnobsFor returns mode's preset with the scenario's system.knobs
// overrides (and system.analyze_cost) applied. A bad knob is a
// *cfgerr.Error naming system.knobs.<key>.
func (s *Scenario) KnobsFor(mode string) (system.Knobs, error) {
	k, ok := system.Preset(system.Mode(mode))
	if !ok {
		return system.Knobs{}, cfgerr.Field("system.modes", "unknown mode %q (one of %s)", mode, modeList())
	}
	k.AnalyzeCost = s.System.AnalyzeCost
	if len(s.System.Knobs) == 0 {
		return k, nil
	}
	if err := decode(s.System.Knobs, &k); err != nil {
		des := decodeErrors(err, "system.knobs")
		if len(des) > 0 {
			return system.Knobs{}, &cfgerr.Error{Field: des[0].field, Err: des[0].err}
		}
		return system.Knobs{}, cfgerr.Field("system.knobs", "%v", err)
	}
	if err := checkKnobs(k); err != nil {
		return system.Knobs{}, err
	}
	return k, nil
}

func checkKnobs(k system.Knobs) error {
	switch k.FanOut {
	case system.FanOutSequential, system.FanOutUnbounded, system.FanOutPool, system.FanOutBatches:
	default:
		return cfgerr.Field("system.knobs.fan_out", "must be sequential, unbounded, pool or batches, got %q", k.FanOut)
	}
	switch k.Client {
	case system.ClientNewConn, system.ClientNewClient, system.ClientShared:
	default:
		return cfgerr.Field("system.knobs.client", "must be new-conn, new-client or shared, got %q", k.Client)
	}
	for name, n := range map[string]int64{
		"workers": int64(k.Workers), "batch_size": int64(k.BatchSize), "max_conns_per_host": int64(k.MaxConnsPerHost),
		"max_body": k.MaxBody, "l1_size": int64(k.L1Size),
	} {
		if n < 1 {
			return cfgerr.Field("system.knobs."+name, "must be ≥ 1, got %d", n)
		}
	}
	if k.MaxConns < 0 {
		return cfgerr.Field("system.knobs.max_conns", "must be ≥ 0, got %d", k.MaxConns)
	}
	if k.FetchTimeout <= 0 {
		return cfgerr.Field("system.knobs.fetch_timeout", "must be > 0, got %s", k.FetchTimeout)
	}
	return nil
}

// KnobFlags returns the `camload serve` flags that set the knobs the
// scenario overrides (--workers=8 --fetch-timeout=2s …), sorted, from the
// knobs k resolved by KnobsFor. Keys the scenario leaves out are left to
// the mode's preset in the system.
func (s *Scenario) KnobFlags(k system.Knobs) []string {
	keys := make([]string, 0, len(s.System.Knobs))
	for key := range s.System.Knobs {
		keys = append(keys, strings.ToLower(key))
	}
	sort.Strings(keys)
	v := reflect.ValueOf(k)
	t := v.Type()
	var flags []string
	for _, key := range keys {
		for i := 0; i < t.NumField(); i++ {
			if strings.Split(t.Field(i).Tag.Get("mapstructure"), ",")[0] != key {
				continue
			}
			flags = append(flags, fmt.Sprintf("--%s=%s", strings.ReplaceAll(key, "_", "-"), formatKnob(v.Field(i).Interface())))
		}
	}
	return flags
}

// KnobMap returns k as a map keyed by the knob names, for results.
func KnobMap(k system.Knobs) map[string]any {
	v := reflect.ValueOf(k)
	t := v.Type()
	m := make(map[string]any, t.NumField())
	for i := 0; i < t.NumField(); i++ {
		name := strings.Split(t.Field(i).Tag.Get("mapstructure"), ",")[0]
		val := v.Field(i).Interface()
		if d, ok := val.(time.Duration); ok {
			val = d.String()
		}
		m[name] = val
	}
	return m
}

func formatKnob(v any) string {
	switch v := v.(type) {
	case time.Duration:
		return v.String()
	default:
		return fmt.Sprint(v)
	}
}
