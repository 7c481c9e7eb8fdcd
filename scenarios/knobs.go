package scenarios

import (
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
	if err := k.ValidateKeys("system.knobs."); err != nil {
		return system.Knobs{}, err
	}
	return k, nil
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
	var flags []string
	for _, key := range keys {
		if spec, ok := system.LookupKnob(key); ok && spec.Key == key {
			flags = append(flags, "--"+spec.Flag()+"="+spec.Format(k))
		}
	}
	return flags
}

// KnobMap returns k as a map keyed by the knob names, for results.
func KnobMap(k system.Knobs) map[string]any {
	m := make(map[string]any, len(system.KnobTable))
	for _, spec := range system.KnobTable {
		val := spec.Value(k)
		if d, ok := val.(time.Duration); ok {
			val = d.String()
		}
		m[spec.Key] = val
	}
	return m
}
