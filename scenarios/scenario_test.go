package scenarios

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/camload/camload/internal/cfgerr"
)

func TestShippedScenariosLoad(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("*.yaml")
	if err != nil || len(files) < 2 {
		t.Fatalf("Glob(*.yaml) = %v, %v; want the shipped scenarios", files, err)
	}
	for _, f := range files {
		sc, err := Load(f)
		if err != nil {
			t.Errorf("Load(%s) = %v", f, err)
			continue
		}
		if sc.File != f || sc.Cells() == 0 {
			t.Errorf("Load(%s): File=%q Cells()=%d", f, sc.File, sc.Cells())
		}
	}
}

func TestSmokeContent(t *testing.T) {
	t.Parallel()
	sc, err := Load("smoke.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if got := sc.Cells(); got != 4 {
		t.Errorf("smoke Cells() = %d; want 4 (2 modes × 2 sizes)", got)
	}
	if sc.Fleet.Latency.Median != 5*time.Millisecond || sc.Fleet.Hosts != 2 {
		t.Errorf("smoke fleet = %+v", sc.Fleet.Config)
	}
	// Keys the file leaves out keep simulator.DefaultConfig's values.
	if sc.Fleet.Faults.Reset != Default.Fleet.Faults.Reset {
		t.Errorf("fleet.faults.reset = %g; want default %g", sc.Fleet.Faults.Reset, Default.Fleet.Faults.Reset)
	}
	if len(sc.Load) != 2 || sc.Load[0].Name != "latest" || sc.Load[0].Timeout != DefaultTarget.Timeout || sc.Load[1].Pages != 3 {
		t.Errorf("smoke load = %+v", sc.Load)
	}
	if sc.Thresholds["api.latest.p99"] != "< 2s" {
		t.Errorf("thresholds = %v; want the dotted key api.latest.p99 kept", sc.Thresholds)
	}
	k, err := sc.KnobsFor("batched")
	if err != nil || k.FetchTimeout != 2*time.Second || !k.BulkWrites {
		t.Errorf("KnobsFor(batched) = %+v, %v", k, err)
	}
	if got := sc.KnobFlags(k); len(got) != 1 || got[0] != "--fetch-timeout=2s" {
		t.Errorf("KnobFlags = %v; want [--fetch-timeout=2s]", got)
	}
}

const base = `name: t
version: 1
fleet:
  cameras: [10, 20]
system:
  modes: [sync]
`

func TestParseErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		yaml string
		env  map[string]string
		want []string // substrings of the error, each must appear
	}{
		// An unknown top-level key names the key and its line.
		{"unknown top key", base + "bogus: 1\n", nil, []string{"x.yaml:7: bogus: unknown key"}},
		// An unknown nested key in a squashed simulator section.
		{"unknown fleet key", "name: t\nfleet:\n  cameras: [1]\n  colour: red\n", nil, []string{"x.yaml:4: fleet.colour: unknown key"}},
		// A wrong type names the list element and its line.
		{"bad type in list", "name: t\nfleet:\n  cameras:\n    - 10\n    - many\n", nil, []string{"x.yaml:5: fleet.cameras[1]: must be an integer"}},
		// A bad value in range.
		{"camera count 0", "name: t\nfleet:\n  cameras:\n    - 10\n    - 0\n", nil, []string{"x.yaml:5: fleet.cameras[1]: must be 1…20000, got 0"}},
		// A bad duration.
		{"bad duration", base + "cell_budget: soon\n", nil, []string{"x.yaml:7: cell_budget: must be a duration"}},
		{"start rate below the floor", base + "load:\n  - name: a\n    path: /x\n    capacity: {min_rate: 10, start_rate: 5, max_rate: 100}\n", nil,
			[]string{"load[0].capacity.start_rate: must be 0 (min_rate) or within min_rate (10) … max_rate (100), got 5"}},
		{"negative warm-up time", "name: t\nsystem:\n  warmup_for: -1s\n", nil, []string{"x.yaml:3: system.warmup_for: must be ≥ 0, got -1s"}},
		// An unknown mode.
		{"bad mode", "name: t\nsystem:\n  modes: [sync, turbo]\n", nil, []string{"x.yaml:3: system.modes[1]: must be one of sync"}},
		// An unknown knob.
		{"bad knob", base + "  knobs:\n    warp: 9\n", nil, []string{"system.knobs.warp: unknown key"}},
		// A bad knob value.
		{"bad knob value", base + "  knobs:\n    fan_out: sideways\n", nil, []string{"x.yaml:8: system.knobs.fan_out: unknown fan-out \"sideways\""}},
		// A load target's errors are indexed.
		{"bad target", base + "load:\n  - name: a\n    path: nope\n    rate: 0\n", nil, []string{
			"x.yaml:9: load[0].path: must start with /", "x.yaml:10: load[0].rate: must be > 0"}},
		// An unknown key inside a load target.
		{"unknown target key", base + "load:\n  - name: a\n    path: /x\n    speed: 3\n", nil, []string{"x.yaml:10: load[0].speed: unknown key"}},
		// A bad placeholder.
		{"bad placeholder", base + "load:\n  - name: a\n    path: /x/{{uid}}\n", nil, []string{"load[0].path: unknown placeholder {{uid}}"}},
		// A capacity search with inverted bounds.
		{"bad capacity", base + "load:\n  - name: a\n    path: /x\n    capacity:\n      min_rate: 100\n      max_rate: 10\n", nil, []string{"x.yaml:12: load[0].capacity.max_rate: must be > min_rate"}},
		// A malformed threshold.
		{"bad threshold", base + "thresholds:\n  cycle_p99: soon\n", nil, []string{"x.yaml:8: thresholds.cycle_p99: rule \"cycle_p99: soon\"", "a condition starts with <"}},
		// A threshold on a metric the gate does not know.
		{"unknown metric", base + "thresholds:\n  cycle_p98: \"< 1s\"\n", nil, []string{"x.yaml:8: thresholds.cycle_p98:", "unknown metric \"cycle_p98\""}},
		// Rules: expect in the rule grammar, units strict.
		{"bad expect", base + "expect:\n  - rss_peak{mode:sync} <= 0.2 * cycle_p99{mode:sync}\n", nil, []string{"expect[0]", "rss_peak"}},
		{"bare ratio", base + "thresholds:\n  error_rate: \"< 0.05\"\n", nil, []string{"thresholds.error_rate", "error_rate"}},
		{"bad over budget", base + "expect_over_budget: [\"mode sync\"]\n", nil, []string{"expect_over_budget[0]", "not label:value"}},
		{"bad compare", base + "compare:\n  before_after: {before: sync}\n", nil, []string{"compare.before_after.after: required"}},
		// A wrong schema version.
		{"version", "name: t\nversion: 2\n", nil, []string{"x.yaml:2: version: this build reads version 1, got 2"}},
		// The runner owns the fleet's seed and listen address.
		{"fleet seed", "name: t\nfleet:\n  seed: 3\n", nil, []string{"x.yaml:3: fleet.seed: set by the runner"}},
		{"fleet listen", "name: t\nfleet:\n  listen: 0.0.0.0:80\n", nil, []string{"x.yaml:3: fleet.listen: set by the runner"}},
		// Bad backend URIs.
		{"bad backend", base + "backends:\n  mongo: http://x\n", nil, []string{"x.yaml:8: backends.mongo: must be \"embedded\" or mongodb://"}},
		// A bad env override names the variable.
		{"env override", base, map[string]string{"CAMLOAD_SYSTEM_CYCLES": "0"}, []string{"system.cycles: must be 1…100000, got 0 (from CAMLOAD_SYSTEM_CYCLES)"}},
		// Not YAML at all.
		{"not yaml", "name: [unclosed\n", nil, []string{"x.yaml", "not valid YAML"}},
		// A YAML list, not a mapping.
		{"not mapping", "- 1\n- 2\n", nil, []string{"x.yaml:1: a scenario is a YAML mapping"}},
		// Several errors are all reported.
		{"several", "name: t\nrepeat: 0\nfleet:\n  hosts: 0\n", nil, []string{"x.yaml:2: repeat", "x.yaml:4: fleet.hosts"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := Parse("x.yaml", []byte(tc.yaml), mapEnv(tc.env))
			if err == nil {
				t.Fatalf("Parse(%q) = nil error; want %q", tc.yaml, tc.want)
			}
			if !cfgerr.Is(err) {
				t.Errorf("Parse(%q) error %T is not a *cfgerr.Error", tc.yaml, err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Parse(%q) = %q; want it to contain %q", tc.yaml, err, w)
				}
			}
		})
	}
}

func TestParseDefaultsAndEnv(t *testing.T) {
	t.Parallel()
	env := map[string]string{
		"CAMLOAD_SYSTEM_CYCLES":        "7",
		"CAMLOAD_FLEET_CAMERAS":        "5,6,7",
		"CAMLOAD_FLEET_LATENCY_MEDIAN": "3ms",
		"CAMLOAD_SYSTEM_MODES":         "pooled,cached",
		"CAMLOAD_SYSTEM_KNOBS_WORKERS": "8",
		"CAMLOAD_CELL_BUDGET":          "90s",
	}
	sc, err := Parse("x.yaml", []byte(base), mapEnv(env))
	if err != nil {
		t.Fatal(err)
	}
	if sc.System.Cycles != 7 || len(sc.Fleet.Cameras) != 3 || sc.Fleet.Cameras[2] != 7 ||
		sc.Fleet.Latency.Median != 3*time.Millisecond || sc.CellBudget != 90*time.Second ||
		len(sc.System.Modes) != 2 || sc.System.Modes[1] != "cached" {
		t.Errorf("env overrides not applied: %+v", sc)
	}
	k, err := sc.KnobsFor("pooled")
	if err != nil || k.Workers != 8 {
		t.Errorf("KnobsFor(pooled) = %+v, %v; want workers 8", k, err)
	}
	// Untouched keys keep Default.
	if sc.Repeat != Default.Repeat || sc.Fleet.Hosts != Default.Fleet.Hosts || sc.Backends.Mongo != "embedded" {
		t.Errorf("defaults not kept: %+v", sc)
	}
}

func TestEnvKeysDocumented(t *testing.T) {
	t.Parallel()
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range EnvKeys() {
		if !strings.Contains(string(readme), "`"+k+"`") {
			t.Errorf("README.md does not document key %s", k)
		}
	}
	if !strings.Contains(string(readme), EnvName("system.knobs.fetch_timeout")) {
		t.Errorf("README.md does not show an env override example")
	}
}

func TestValidateAfterOverride(t *testing.T) {
	t.Parallel()
	sc := Default.Clone()
	sc.File = "mem"
	sc.Fleet.Cameras = []int{0}
	err := sc.Validate()
	var ce *cfgerr.Error
	if !errors.As(err, &ce) || ce.Field != "fleet.cameras[0]" || ce.File != "mem" {
		t.Errorf("Validate() = %v; want a cfgerr naming mem and fleet.cameras[0]", err)
	}
	if err := Default.Clone().Validate(); err != nil {
		t.Errorf("Default.Validate() = %v", err)
	}
}

func mapEnv(m map[string]string) LookupEnv {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func FuzzParse(f *testing.F) {
	for _, name := range []string{"smoke.yaml", "modes.yaml", "blog-scaling.yaml", "blog-before-after.yaml"} {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(base + "load:\n  - name: a\n    path: /x/{{id}}\n"))
	f.Add([]byte("fleet: [1, 2]\n"))
	f.Add([]byte("load: 3\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		sc, err := Parse("f.yaml", b, nil)
		if err != nil {
			if !cfgerr.Is(err) {
				t.Fatalf("Parse error %T %v is not a *cfgerr.Error", err, err)
			}
			return
		}
		// Whatever loads must validate and have a runnable matrix.
		if err := sc.Validate(); err != nil {
			t.Fatalf("Parse accepted a scenario that Validate rejects: %v", err)
		}
		if sc.Cells() < 1 {
			t.Fatalf("Parse accepted a scenario with no cells")
		}
	})
}

func TestRuleKeys(t *testing.T) {
	t.Parallel()
	sc, err := Parse("x.yaml", []byte(`name: t
version: 1
fleet:
  cameras: [10, 20]
system:
  modes: [sync, batched]
thresholds:
  "cycle_p99{mode:batched,cameras:20}": "< 1s"
expect:
  - rss_peak{mode:batched} <= 0.2 * rss_peak{mode:sync}
expect_over_budget: ["mode:sync,cameras:20"]
compare:
  scaling: {mode: sync}
  before_after: {before: sync, after: batched}
`), mapEnv(nil))
	if err != nil {
		t.Fatal(err)
	}
	if len(sc.Expect) != 1 || len(sc.ExpectOverBudget) != 1 || sc.Compare == nil || sc.Compare.Scaling.Mode != "sync" ||
		sc.Compare.BeforeAfter.After != "batched" || sc.Thresholds["cycle_p99{mode:batched,cameras:20}"] != "< 1s" {
		t.Fatalf("Parse: expect %q, expect_over_budget %q, compare %+v, thresholds %q", sc.Expect, sc.ExpectOverBudget, sc.Compare, sc.Thresholds)
	}
	c := sc.Clone()
	c.Expect[0], c.ExpectOverBudget[0], c.Compare.Scaling.Mode = "x", "y", "z"
	if sc.Expect[0] == "x" || sc.ExpectOverBudget[0] == "y" || sc.Compare.Scaling.Mode == "z" {
		t.Errorf("Clone shares the rule declarations with the original")
	}
}

func TestBackendsFerretDBPostgres(t *testing.T) {
	base := "name: t\n"
	sc, err := Parse("x.yaml", []byte(base+"backends:\n  mongo: ferretdb-postgres\n  ferretdb_postgres: postgres://postgres@127.0.0.1:5432/camload\n  redis: redis://127.0.0.1:6379\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if sc.Backends.MongoOption() != "embedded" || sc.Backends.FerretDBPostgres == "" || sc.Backends.Redis != "redis://127.0.0.1:6379" {
		t.Errorf("backends = %+v (mongo option %q); want embedded FerretDB on PostgreSQL and real Redis", sc.Backends, sc.Backends.MongoOption())
	}
	for _, tc := range []struct{ yaml, want string }{
		{"backends:\n  mongo: ferretdb-postgres\n", "backends.ferretdb_postgres: required by mongo: ferretdb-postgres"},
		{"backends:\n  mongo: mongodb://127.0.0.1:27017\n  ferretdb_postgres: postgres://127.0.0.1/x\n", "backends.ferretdb_postgres: only applies to mongo: embedded or ferretdb-postgres"},
	} {
		_, err := Parse("x.yaml", []byte(base+tc.yaml), nil)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Parse(%q) = %v; want an error containing %q", tc.yaml, err, tc.want)
		}
	}
}

// TestCamerasPerHost: fleet.cameras_per_host sizes each cell's gateways,
// and a negative value is an error naming the key.
func TestCamerasPerHost(t *testing.T) {
	t.Parallel()
	sc, err := Parse("x.yaml", []byte("name: t\nfleet:\n  cameras: [100, 1000]\n  cameras_per_host: 20\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ cameras, hosts int }{{100, 5}, {1000, 50}, {1010, 51}} {
		if got := sc.Fleet.ConfigFor(tc.cameras); got.Hosts != tc.hosts || got.Cameras != tc.cameras {
			t.Errorf("ConfigFor(%d) = %d cameras on %d hosts; want %d hosts", tc.cameras, got.Cameras, got.Hosts, tc.hosts)
		}
	}
	if _, err := Parse("x.yaml", []byte("name: t\nfleet:\n  cameras_per_host: -1\n"), nil); err == nil || !strings.Contains(err.Error(), "fleet.cameras_per_host") {
		t.Errorf("cameras_per_host -1: %v; want an error naming fleet.cameras_per_host", err)
	}
}
