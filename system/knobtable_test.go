package system

import (
	"reflect"
	"strings"
	"testing"
)

// TestKnobTable checks that KnobTable is the whole knob list: every Knobs
// field has exactly one row whose key is the field's mapstructure and json
// tag, with documentation, and whose Set and Format round-trip.
func TestKnobTable(t *testing.T) {
	typ := reflect.TypeOf(Knobs{})
	if len(KnobTable) != typ.NumField() {
		t.Errorf("KnobTable has %d rows, Knobs %d fields", len(KnobTable), typ.NumField())
	}
	k, _ := Preset(ModeBatched)
	for i := 0; i < typ.NumField(); i++ {
		f := typ.Field(i)
		key := f.Tag.Get("mapstructure")
		if f.Tag.Get("json") != key {
			t.Errorf("Knobs.%s: json tag %q != mapstructure tag %q", f.Name, f.Tag.Get("json"), key)
		}
		spec, ok := LookupKnob(key)
		if !ok {
			t.Errorf("Knobs.%s (%s) has no KnobTable row", f.Name, key)
			continue
		}
		if i < len(KnobTable) && KnobTable[i].Key != key {
			t.Errorf("KnobTable[%d] = %s; want %s (Knobs field order)", i, KnobTable[i].Key, key)
		}
		if strings.TrimSpace(spec.Usage) == "" {
			t.Errorf("knob %s has no documentation", key)
		}
		// The row reaches this very field.
		if got, want := spec.Value(k), reflect.ValueOf(k).Field(i).Interface(); got != want {
			t.Errorf("knob %s: Value = %v; want the field's %v", key, got, want)
		}
		var k2 Knobs
		if err := spec.Set(&k2, spec.Format(k)); err != nil || spec.Value(k2) != spec.Value(k) {
			t.Errorf("knob %s: Set(Format(%v)) = %v, %v", key, spec.Value(k), spec.Value(k2), err)
		}
	}
}

func TestKnobsValidateEveryError(t *testing.T) {
	k, _ := Preset(ModeBatched)
	k.Workers, k.Client, k.FetchTimeout, k.MaxBody = 0, "pigeon", -1, 12
	err := k.Validate()
	want := []string{
		`workers: must be 1 … 100000, got 0`,
		`client: unknown client "pigeon" (want new-conn, new-client or shared)`,
		`fetch-timeout: must be > 0, got -1ns`,
		`max-body: must be ≥ 1024 bytes, got 12`,
	}
	if got := err.Error(); got != strings.Join(want, "\n") {
		t.Errorf("Validate() =\n%s\nwant\n%s", got, strings.Join(want, "\n"))
	}
	if err := k.ValidateKeys("system.knobs."); err == nil || !strings.Contains(err.Error(), "system.knobs.max_body: must be ≥ 1024 bytes, got 12") {
		t.Errorf("ValidateKeys = %v", err)
	}
	var k2 Knobs
	spec, _ := LookupKnob("workers")
	if err := spec.Set(&k2, "many"); err == nil || !strings.Contains(err.Error(), `not an integer: "many"`) {
		t.Errorf("Set(workers, many) = %v", err)
	}
	if _, ok := LookupKnob("fetch-timeout"); !ok {
		t.Error("LookupKnob does not accept the flag name")
	}
	if _, ok := LookupKnob("turbo"); ok {
		t.Error("LookupKnob(turbo) found a knob")
	}
}
