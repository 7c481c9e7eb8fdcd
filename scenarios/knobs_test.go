package scenarios

import (
	"strings"
	"testing"

	"github.com/camload/camload/system"
)

// TestEveryKnobIsAScenarioKey: every row of system.KnobTable is accepted
// under system.knobs, reaches its knob, and becomes its serve flag.
func TestEveryKnobIsAScenarioKey(t *testing.T) {
	k, _ := system.Preset(system.ModeSync)
	var yaml strings.Builder
	yaml.WriteString("name: t\nversion: 1\nfleet:\n  cameras: [10]\nsystem:\n  modes: [batched]\n  knobs:\n")
	var wantFlags []string
	for _, spec := range system.KnobTable {
		if spec.Key == "analyze_cost" {
			continue // set from system.analyze_cost
		}
		yaml.WriteString("    " + spec.Key + ": " + spec.Format(k) + "\n")
		wantFlags = append(wantFlags, "--"+spec.Flag()+"="+spec.Format(k))
	}
	sc, err := Parse("x.yaml", []byte(yaml.String()), mapEnv(nil))
	if err != nil {
		t.Fatalf("Parse:\n%s\n%v", yaml.String(), err)
	}
	got, err := sc.KnobsFor("batched")
	if err != nil {
		t.Fatal(err)
	}
	if got != k {
		t.Errorf("KnobsFor(batched) with every knob set to sync's = %+v; want %+v", got, k)
	}
	flags := sc.KnobFlags(got)
	if len(flags) != len(wantFlags) {
		t.Errorf("KnobFlags = %v; want %d flags", flags, len(wantFlags))
	}
	for _, w := range wantFlags {
		if !strings.Contains(strings.Join(flags, " "), w) {
			t.Errorf("KnobFlags lacks %s: %v", w, flags)
		}
	}
	if m := KnobMap(got); len(m) != len(system.KnobTable) || m["fetch_timeout"] != "5s" {
		t.Errorf("KnobMap = %v", m)
	}
}
