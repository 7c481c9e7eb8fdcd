package scenarios

import (
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const extBase = `name: t
version: 1
fleet:
  cameras: [10]
`

func TestExternalParse(t *testing.T) {
	t.Parallel()
	y := extBase + `system:
  modes: [external, before, after, sync]
  external:
    command: ["python3", "svc.py", "--fleet", "{{fleet_url}}"]
    env: {Workers: "4", MODE: base}
    ready_url: "http://{{api_addr}}/healthz"
  external_modes:
    before: {command: ["./v1", "{{api_addr}}"]}
    after:
      command: ["./v2"]
      env: {WORKERS: 16}
      cycle_url: "http://{{api_addr}}/cycle"
      api_addr: 127.0.0.1:9099
      dir: sub
`
	sc, err := Parse("/tmp/scen/x.yaml", []byte(y), nil)
	if err != nil {
		t.Fatal(err)
	}
	if sc.Cells() != 4 {
		t.Errorf("Cells() = %d; want 4", sc.Cells())
	}
	ext, ok := sc.ExternalFor("external")
	if !ok || strings.Join(ext.Command, " ") != "python3 svc.py --fleet {{fleet_url}}" || ext.APIAddr != APIAddrAuto ||
		ext.Env["WORKERS"] != "4" || ext.Env["MODE"] != "base" || ext.StopGrace != DefaultExternalStopGrace || ext.Dir != "/tmp/scen" {
		t.Errorf("ExternalFor(external) = %+v, %v", ext, ok)
	}
	before, ok := sc.ExternalFor("before")
	if !ok || before.Command[0] != "./v1" || before.ReadyURL != "http://{{api_addr}}/healthz" || before.Env["MODE"] != "base" {
		t.Errorf("ExternalFor(before) = %+v, %v; want the base's ready_url and env under its command", before, ok)
	}
	after, _ := sc.ExternalFor("after")
	if after.Env["WORKERS"] != "16" || after.Env["MODE"] != "base" || after.CycleURL == "" || after.APIAddr != "127.0.0.1:9099" ||
		after.Dir != filepath.Join("/tmp/scen", "sub") {
		t.Errorf("ExternalFor(after) = %+v; want env merged, its own cycle_url, api_addr and dir", after)
	}
	if _, ok := sc.ExternalFor("sync"); ok || sc.IsExternal("sync") {
		t.Error("sync is camload's own mode, not external")
	}
	// Clone is deep.
	c := sc.Clone()
	c.System.External.Command[0] = "changed"
	c.System.External.Env["mode"] = "changed"
	if sc.System.External.Command[0] != "python3" || sc.System.External.Env["mode"] != "base" {
		t.Errorf("Clone shares external slices or maps: %+v", sc.System.External)
	}
	if got := Expand("http://{{api_addr}}/x?f={{fleet_url}}", "http://f:1", "a:2"); got != "http://a:2/x?f=http://f:1" {
		t.Errorf("Expand = %q", got)
	}
}

func TestExternalParseErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, yaml string
		want       []string
	}{
		{"external without command", "system:\n  modes: [external]\n  external:\n    ready_url: http://{{api_addr}}/\n",
			[]string{"system.external.command: must name the program"}},
		{"external not configured", "system:\n  modes: [external]\n",
			[]string{"system.modes[0]: must be one of", "(with system.external)"}},
		{"unknown variant", "system:\n  modes: [sync, v3]\n  external_modes:\n    v1: {command: [a]}\n",
			[]string{"system.modes[1]: must be one of", "system.external_modes variant (v1)", `got "v3"`}},
		{"variant named as a mode", "system:\n  modes: [batched]\n  external_modes:\n    batched: {command: [a]}\n",
			[]string{"system.external_modes.batched", "camload's own modes"}},
		{"variant named external", "system:\n  modes: [sync]\n  external_modes:\n    external: {command: [a]}\n",
			[]string{"system.external_modes.external", "names system.external itself"}},
		{"variant without command", "system:\n  modes: [v1]\n  external_modes:\n    v1: {env: {A: b}}\n",
			[]string{"system.external_modes.v1.command: must name the program"}},
		{"warm-up time with an external system", "system:\n  modes: [external]\n  warmup_for: 1m\n  external:\n    command: [a]\n",
			[]string{"system.warmup_for: not supported for an external system (mode external)"}},
		{"unknown placeholder", "system:\n  modes: [external]\n  external:\n    command: [a, \"{{port}}\"]\n",
			[]string{"system.external.command[1]", "unknown placeholder {{port}}"}},
		{"bad urls", "system:\n  modes: [external]\n  external:\n    command: [a]\n    ready_url: \"ftp://x/\"\n    cycle_url: \"{{api_addr}}/cycle\"\n",
			[]string{"system.external.ready_url: must be an http://", "system.external.cycle_url: must be an http://"}},
		{"bad api_addr", "system:\n  modes: [external]\n  external:\n    command: [a]\n    api_addr: \"127.0.0.1:0\"\n",
			[]string{"system.external.api_addr", `must be "auto" or host:port with a fixed port`}},
		{"reserved env", "system:\n  modes: [external]\n  external:\n    command: [a]\n    env: {CAMLOAD_FLEET_URL: x, \"bad-name\": y}\n",
			[]string{"system.external.env.camload_fleet_url: is set by the runner", "system.external.env.bad-name: must be a variable name"}},
		{"window with cycle_url", "system:\n  modes: [external]\n  external:\n    command: [a]\n    cycle_url: http://{{api_addr}}/c\n    window: 10s\n",
			[]string{"system.external.window: cannot be combined with cycle_url"}},
		{"negative durations", "system:\n  modes: [external]\n  external:\n    command: [a]\n    window: -1s\n    stop_grace: -2s\n",
			[]string{"system.external.window: must be ≥ 0", "system.external.stop_grace: must be ≥ 0"}},
		{"unknown key", "system:\n  modes: [external]\n  external:\n    command: [a]\n    ready: x\n",
			[]string{"system.external.ready: unknown key"}},
		{"variant bad value", "system:\n  modes: [v1]\n  external:\n    command: [a]\n  external_modes:\n    v1: {api_addr: nope}\n",
			[]string{"system.external_modes.v1.api_addr"}},
	}
	for _, tt := range tests {
		_, err := Parse("x.yaml", []byte(extBase+tt.yaml), nil)
		if err == nil {
			t.Errorf("%s: Parse accepted it", tt.name)
			continue
		}
		for _, w := range tt.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q lacks %q", tt.name, err, w)
			}
		}
	}
}

// A configured base that no mode runs is not checked for a command (its
// variants are, resolved).
func TestExternalBaseOnlyForVariants(t *testing.T) {
	t.Parallel()
	y := extBase + "system:\n  modes: [v1]\n  external:\n    window: 5s\n  external_modes:\n    v1: {command: [a]}\n"
	sc, err := Parse("x.yaml", []byte(y), nil)
	if err != nil {
		t.Fatal(err)
	}
	if e, ok := sc.ExternalFor("v1"); !ok || e.Window != 5*time.Second {
		t.Errorf("ExternalFor(v1) = %+v, %v; want the base's window", e, ok)
	}
}

func TestExternalExampleScenario(t *testing.T) {
	t.Parallel()
	sc, err := Load("external-example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	e, ok := sc.ExternalFor("python")
	if !ok || !sc.IsExternal("python") || sc.IsExternal("batched") {
		t.Fatalf("external-example: python must be external, batched not: %+v", sc.System)
	}
	abs, _ := filepath.Abs(".")
	if e.Dir != abs || e.ReadyURL == "" {
		t.Errorf("python = %+v; want dir %s (the scenario's) and a ready_url", e, abs)
	}
}
