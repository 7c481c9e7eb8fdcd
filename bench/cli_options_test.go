package bench

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/camload/camload/internal/cfgerr"
	"github.com/camload/camload/reports/gate"
)

const smokeYAML = "../scenarios/smoke.yaml"

func TestLoadScenarioOverrides(t *testing.T) {
	var warnings []string
	sc, err := LoadScenario(smokeYAML, ScenarioOverrides{Cameras: []int{7}, Modes: []string{"sync"}, Repeat: 1}, func(w string) { warnings = append(warnings, w) })
	if err != nil || len(sc.Fleet.Cameras) != 1 || sc.Fleet.Cameras[0] != 7 || len(sc.System.Modes) != 1 || sc.Repeat != 1 || len(warnings) != 0 {
		t.Fatalf("LoadScenario = %+v, %v, warnings %v", sc, err, warnings)
	}
	// The run records the file's own matrix (results.Run.Filtered).
	if f := sc.Filtered; f == nil || len(f.Cameras) != 2 || len(f.Modes) < 2 || f.Flags() != "--modes sync --cameras 7" {
		t.Errorf("overridden: Filtered = %+v; want the file's matrix and --modes sync --cameras 7", f)
	}
	own := slices.Clone(sc.Filtered.Modes)
	sc, err = LoadScenario(smokeYAML, ScenarioOverrides{}, nil)
	if err != nil || len(sc.Fleet.Cameras) != 2 || sc.Filtered != nil {
		t.Errorf("no overrides: cameras %v, Filtered %+v, %v; want the file's two, nil", sc.Fleet.Cameras, sc.Filtered, err)
	}
	if !slices.Equal(own, sc.System.Modes) {
		t.Errorf("Filtered.Modes = %v; want the file's %v", own, sc.System.Modes)
	}
	// Overrides naming the file's own matrix filter nothing.
	sc, err = LoadScenario(smokeYAML, ScenarioOverrides{Cameras: slices.Clone(sc.Fleet.Cameras), Modes: slices.Clone(own)}, nil)
	if err != nil || sc.Filtered != nil {
		t.Errorf("overrides equal to the file: Filtered %+v, %v; want nil", sc.Filtered, err)
	}
	for _, o := range []ScenarioOverrides{{Cameras: []int{0}}, {Modes: []string{"turbo"}}, {Modes: []string{}}} {
		if _, err := LoadScenario(smokeYAML, o, nil); err == nil || !cfgerr.Is(err) {
			t.Errorf("LoadScenario(%+v) = %v; want a config error", o, err)
		}
	}
}

func TestDefaultOutDir(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("x", 3600))
	if got, want := DefaultOutDir("smoke", now), filepath.Join("runs", "smoke-20260102-020405"); got != want {
		t.Errorf("DefaultOutDir = %q; want %q (UTC)", got, want)
	}
	if err := CheckSystemBinary("/no/such/camload"); err == nil || !strings.Contains(err.Error(), "--system-binary") {
		t.Errorf("CheckSystemBinary(missing) = %v; want --system-binary named", err)
	}
	if err := CheckSystemBinary(""); err != nil {
		t.Errorf(`CheckSystemBinary("") = %v; want nil (this executable)`, err)
	}
}

func TestCompareOptions(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "camload")
	if err := os.WriteFile(bin, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	err := CompareOptions{Head: "/no/such", Order: "random", Pairs: 0, PairsGiven: true}.Validate()
	for _, want := range []string{"--base: required", "--head: /no/such is not an executable file", `--order: must be "alternate" or "fixed", got "random"`, "--pairs: must be 1 … 100, got 0"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate = %v; want %q", err, want)
		}
	}
	o := CompareOptions{Base: bin, Head: bin, Order: OrderAlternate}
	if err := o.Validate(); err != nil {
		t.Fatalf("Validate = %v", err)
	}
	sc, err := LoadScenario(smokeYAML, ScenarioOverrides{Repeat: 1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	// smoke: 4 cells × (5 default metrics + 2 load targets) = 28 rows.
	if n := ComparedRows(sc, gate.DefaultOptions); n != 28 {
		t.Errorf("ComparedRows = %d; want 28", n)
	}
	note := o.ResolvePairs(sc, gate.DefaultOptions)
	if o.Pairs != 11 || !strings.Contains(note, "11 pairs: the fewest") || !strings.HasPrefix(o.OutDir, filepath.Join("runs", "compare-smoke-")) {
		t.Errorf("ResolvePairs: pairs %d, out %q, note %q; want 11 and a compare-smoke folder", o.Pairs, o.OutDir, note)
	}
	few := CompareOptions{Base: bin, Head: bin, Order: OrderFixed, Pairs: 2, PairsGiven: true, OutDir: "x", AllowRemote: true}
	if note := few.ResolvePairs(sc, gate.DefaultOptions); few.Pairs != 2 || !strings.Contains(note, "warning: 2 pairs cannot reach significance") {
		t.Errorf("2 pairs given: %d, %q; want 2 and a warning", few.Pairs, note)
	}
	po := few.PairOptions(Options{Version: "v"}, nil, nil)
	if po.Pairs != 2 || po.Order != OrderFixed || po.OutDir != "x" || !po.Run.AllowRemote || po.Run.Version != "v" {
		t.Errorf("PairOptions = %+v", po)
	}
}

func TestNodeOptionsValidate(t *testing.T) {
	if err := (NodeOptions{BaseURL: "http://127.0.0.1:1"}).Validate(); err == nil || !strings.Contains(err.Error(), "--target and --out") {
		t.Errorf("no OutDir: %v", err)
	}
	if err := (NodeOptions{BaseURL: "http://127.0.0.1:1", OutDir: "x"}).Validate(); err != nil {
		t.Errorf("complete: %v", err)
	}
}
