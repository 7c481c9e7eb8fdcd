package results

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestFilter(t *testing.T) {
	t.Parallel()
	modes, cams := []string{"sync", "batched", "resilient"}, []int{100, 1000}
	if f := NewFilter(modes, cams, []string{"resilient", "sync", "batched"}, []int{1000, 100}); f != nil {
		t.Errorf("NewFilter(the same matrix, reordered) = %+v; want nil", f)
	}
	f := NewFilter(modes, cams, []string{"batched", "resilient"}, []int{1000})
	if f == nil {
		t.Fatal("NewFilter(a subset) = nil")
	}
	if got, want := f.Flags(), "--modes batched,resilient --cameras 1000"; got != want {
		t.Errorf("Flags = %q; want %q", got, want)
	}
	if got, want := NewFilter(modes, cams, []string{"batched"}, cams).Flags(), "--modes batched"; got != want {
		t.Errorf("Flags of a modes-only filter = %q; want %q", got, want)
	}
	for _, tc := range []struct {
		label, value string
		known, out   bool
	}{
		{"mode", "sync", true, true},
		{"mode", "batched", true, false},
		{"mode", "bached", false, false},
		{"cameras", "100", true, true},
		{"cameras", "1000", true, false},
		{"cameras", "500", false, false},
		{"camera", "100", false, false},
	} {
		if k, o := f.Known(tc.label, tc.value), f.FilteredOut(tc.label, tc.value); k != tc.known || o != tc.out {
			t.Errorf("%s:%s: Known %t, FilteredOut %t; want %t, %t", tc.label, tc.value, k, o, tc.known, tc.out)
		}
	}
	var nilF *Filter
	if nilF.Known("mode", "sync") || nilF.FilteredOut("mode", "sync") || nilF.Flags() != "" {
		t.Error("a nil Filter knows values")
	}
}

// TestFilterJSON: a filtered run records its scenario's matrix; an
// unfiltered one writes nothing new.
func TestFilterJSON(t *testing.T) {
	t.Parallel()
	b, err := json.Marshal(&Run{Schema: SchemaVersion})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), "filtered") {
		t.Errorf("an unfiltered run writes %s", b)
	}
	r := &Run{Schema: SchemaVersion, Filtered: NewFilter([]string{"sync", "batched"}, []int{100, 1000}, []string{"batched"}, []int{1000})}
	if b, err = json.Marshal(r); err != nil {
		t.Fatal(err)
	}
	want := `"filtered":{"modes":["sync","batched"],"cameras":[100,1000],"kept_modes":["batched"],"kept_cameras":[1000]}`
	if !strings.Contains(string(b), want) {
		t.Errorf("a filtered run writes %s; want %s", b, want)
	}
	back, err := Decode(b)
	if err != nil || back.Filtered.Flags() != "--modes batched --cameras 1000" {
		t.Errorf("Decode = %+v, %v; want the filter back", back, err)
	}
}
