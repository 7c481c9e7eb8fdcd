package scenarios

import (
	"fmt"
	"net/url"
	"reflect"
	"regexp"
	"strings"

	"github.com/camload/camload/internal/cfgerr"
	"github.com/camload/camload/results"
	"github.com/camload/camload/results/rule"
	"github.com/camload/camload/simulator"
	"github.com/camload/camload/system"
)

// check validates s and returns one error per bad field (File unset).
func (s *Scenario) check() []*cfgerr.Error {
	var errs []*cfgerr.Error
	bad := func(field, format string, args ...any) {
		errs = append(errs, cfgerr.Field(field, format, args...))
	}
	if s.Version != SchemaVersion {
		bad("version", "this build reads version %d, got %d", SchemaVersion, s.Version)
	}
	if strings.TrimSpace(s.Name) == "" {
		bad("name", "must not be empty")
	}
	if s.Repeat < 1 || s.Repeat > 1000 {
		bad("repeat", "must be 1…1000, got %d", s.Repeat)
	}
	if s.CellBudget <= 0 {
		bad("cell_budget", "must be > 0, got %s", s.CellBudget)
	}

	// fleet
	if len(s.Fleet.Cameras) == 0 {
		bad("fleet.cameras", "must list at least one fleet size")
	}
	for i, n := range s.Fleet.Cameras {
		if n < 1 || n > simulator.MaxCameras {
			bad(fmt.Sprintf("fleet.cameras[%d]", i), "must be 1…%d, got %d", simulator.MaxCameras, n)
		}
	}
	// The rest of the fleet is the simulator's to judge, once per size
	// (some limits depend on the camera count); report each field once.
	seen := map[string]bool{}
	for i, n := range s.Fleet.Cameras {
		cfg := s.Fleet.ConfigFor(n)
		cfg.Seed, cfg.Listen = s.Seed, "127.0.0.1:0"
		for _, e := range flatten(cfg.Validate()) {
			ce, ok := e.(*cfgerr.Error)
			if !ok {
				ce = cfgerr.Field("fleet", "%v", e)
			}
			if ce.Field == "fleet.cameras" {
				continue // reported above with its index
			}
			if ce.Field == "fleet.hosts" && strings.Contains(ce.Error(), "≤ cameras") {
				ce = &cfgerr.Error{Field: fmt.Sprintf("fleet.cameras[%d]", i), Err: fmt.Errorf("must be ≥ fleet.hosts (%d), got %d", cfg.Hosts, n)}
			}
			if key := ce.Error(); !seen[key] {
				seen[key] = true
				errs = append(errs, ce)
			}
		}
	}

	// system
	if len(s.System.Modes) == 0 {
		bad("system.modes", "must list at least one mode")
	}
	for i, m := range s.System.Modes {
		if msg := s.modeErr(m); msg != "" {
			bad(fmt.Sprintf("system.modes[%d]", i), "%s", msg)
		}
	}
	errs = append(errs, s.checkExternal()...)
	errs = append(errs, s.checkReplicas()...)
	if _, err := s.KnobsFor("sync"); err != nil {
		knobErrs := []error{err}
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			knobErrs = j.Unwrap() // every bad knob, in system.KnobTable order
		}
		for _, err := range knobErrs {
			if ce, ok := err.(*cfgerr.Error); ok {
				errs = append(errs, ce)
			} else {
				bad("system.knobs", "%v", err)
			}
		}
	}
	if s.System.Cycles < 1 || s.System.Cycles > 100000 {
		bad("system.cycles", "must be 1…100000, got %d", s.System.Cycles)
	}
	if s.System.Warmup < 0 {
		bad("system.warmup", "must be ≥ 0, got %d", s.System.Warmup)
	}
	if s.System.WarmupFor < 0 {
		bad("system.warmup_for", "must be ≥ 0, got %s", s.System.WarmupFor)
	}
	if s.System.WarmupFor > 0 {
		for _, m := range s.System.Modes {
			if s.IsExternal(m) {
				bad("system.warmup_for", "not supported for an external system (mode %s): its warm-up is system.warmup cycles or sweeps", m)
				break
			}
		}
	}
	if s.System.AnalyzeCost < 0 {
		bad("system.analyze_cost", "must be ≥ 0, got %s", s.System.AnalyzeCost)
	}
	if s.System.ReadyTimeout <= 0 {
		bad("system.ready_timeout", "must be > 0, got %s", s.System.ReadyTimeout)
	}
	if s.System.CycleTimeout <= 0 {
		bad("system.cycle_timeout", "must be > 0, got %s", s.System.CycleTimeout)
	}

	// backends
	if s.Backends.Mongo == FerretDBPostgres {
		if s.Backends.FerretDBPostgres == "" {
			bad("backends.ferretdb_postgres", "required by mongo: %s (a postgres:// URL)", FerretDBPostgres)
		}
	} else if err := checkURI(s.Backends.Mongo, true, "mongodb", "mongodb+srv"); err != "" {
		bad("backends.mongo", "%s", err)
	}
	if s.Backends.FerretDBPostgres != "" && s.Backends.Mongo != "embedded" && s.Backends.Mongo != FerretDBPostgres {
		bad("backends.ferretdb_postgres", "only applies to mongo: embedded or %s, got mongo: %s", FerretDBPostgres, s.Backends.Mongo)
	}
	if err := checkURI(s.Backends.Redis, true, "redis", "rediss", "unix"); err != "" {
		bad("backends.redis", "%s", err)
	}
	if s.Backends.FerretDBPostgres != "" {
		if err := checkURI(s.Backends.FerretDBPostgres, false, "postgres", "postgresql"); err != "" {
			bad("backends.ferretdb_postgres", "%s", err)
		}
	}

	// load
	names := map[string]bool{}
	for i, t := range s.Load {
		p := fmt.Sprintf("load[%d]", i)
		switch {
		case !validName.MatchString(t.Name):
			bad(p+".name", "must be a short name of letters, digits, - and _, got %q", t.Name)
		case names[t.Name]:
			bad(p+".name", "duplicate target name %q", t.Name)
		}
		names[t.Name] = true
		if t.Method != "GET" && t.Method != "HEAD" {
			bad(p+".method", "must be GET or HEAD, got %q", t.Method)
		}
		if err := CheckTemplate(t.Path); err != nil {
			bad(p+".path", "%v", err)
		}
		if t.Pages < 0 {
			bad(p+".pages", "must be ≥ 0 (0 = every page), got %d", t.Pages)
		}
		if t.Zipf != 0 && !(t.Zipf > 1 && t.Zipf <= 10) {
			bad(p+".zipf", "must be 0 (uniform) or > 1 and ≤ 10, got %g", t.Zipf)
		}
		if t.Rate <= 0 || t.Rate > 1e6 {
			bad(p+".rate", "must be > 0 and ≤ 1e6 req/s, got %g", t.Rate)
		}
		if t.Duration <= 0 {
			bad(p+".duration", "must be > 0, got %s", t.Duration)
		}
		if t.Timeout <= 0 {
			bad(p+".timeout", "must be > 0, got %s", t.Timeout)
		}
		if t.Workers < 1 {
			bad(p+".workers", "must be ≥ 1, got %d", t.Workers)
		}
		if t.MaxWorkers < 0 || (t.MaxWorkers > 0 && t.MaxWorkers < t.Workers) {
			bad(p+".max_workers", "must be 0 (unbounded) or ≥ workers (%d), got %d", t.Workers, t.MaxWorkers)
		}
		if c := t.Capacity; c != nil {
			if c.SLO.P99 <= 0 {
				bad(p+".capacity.slo.p99", "must be > 0, got %s", c.SLO.P99)
			}
			if c.SLO.ErrorRate < 0 || c.SLO.ErrorRate >= 1 {
				bad(p+".capacity.slo.error_rate", "must be 0…1 (exclusive), got %g", c.SLO.ErrorRate)
			}
			if c.MinRate <= 0 {
				bad(p+".capacity.min_rate", "must be > 0, got %g", c.MinRate)
			}
			if c.StartRate != 0 && (c.StartRate < c.MinRate || c.StartRate > c.MaxRate) {
				bad(p+".capacity.start_rate", "must be 0 (min_rate) or within min_rate (%g) … max_rate (%g), got %g", c.MinRate, c.MaxRate, c.StartRate)
			}
			if c.MaxRate <= c.MinRate || c.MaxRate > 1e6 {
				bad(p+".capacity.max_rate", "must be > min_rate (%g) and ≤ 1e6, got %g", c.MinRate, c.MaxRate)
			}
			if c.Steps < 1 || c.Steps > 30 {
				bad(p+".capacity.steps", "must be 1…30, got %d", c.Steps)
			}
			if c.StepDuration <= 0 {
				bad(p+".capacity.step_duration", "must be > 0, got %s", c.StepDuration)
			}
		}
	}

	// profiles
	if s.Profiles.Seconds < 0 || s.Profiles.Seconds > 3600 {
		bad("profiles.seconds", "must be 0…3600, got %d", s.Profiles.Seconds)
	}

	// thresholds and expect: the gate's own grammar (results/rule) and
	// metric vocabulary, so a scenario that validates is one `camload
	// gate` can judge.
	if _, err := rule.ParseSet(s.Thresholds, s.Expect, results.MetricUnit); err != nil {
		for _, e := range flatten(err) {
			ce, ok := e.(*cfgerr.Error)
			if !ok {
				ce = cfgerr.Field("thresholds", "%v", e)
			}
			errs = append(errs, ce)
		}
	}
	errs = append(errs, s.validateDeclarations()...)
	return errs
}

// validateDeclarations checks compare and expect_over_budget: every
// declared mode is named and every selector parses. A mode or camera
// count the matrix lacks is not an error here (--modes and --cameras
// override the matrix): the reports fall back to the first and last modes
// and the gate warns about a selector that excuses nothing.
func (s *Scenario) validateDeclarations() []*cfgerr.Error {
	var errs []*cfgerr.Error
	need := func(field, m string) {
		if strings.TrimSpace(m) == "" {
			errs = append(errs, cfgerr.Field(field, "required: a mode of system.modes (%s)", strings.Join(s.System.Modes, ", ")))
		}
	}
	if c := s.Compare; c != nil {
		if c.Scaling != nil {
			need("compare.scaling.mode", c.Scaling.Mode)
		}
		if c.BeforeAfter != nil {
			need("compare.before_after.before", c.BeforeAfter.Before)
			need("compare.before_after.after", c.BeforeAfter.After)
		}
	}
	for i, e := range s.ExpectOverBudget {
		if _, err := results.ParseCellSelector(e); err != nil {
			errs = append(errs, cfgerr.Field(fmt.Sprintf("expect_over_budget[%d]", i), "%v", err))
		}
	}
	return errs
}

var (
	validName = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)
)

func modeList() string {
	s := make([]string, len(system.Modes))
	for i, m := range system.Modes {
		s[i] = string(m)
	}
	return strings.Join(s, ", ")
}

// checkURI returns "" when u is "embedded" (if allowed) or a URI of one of
// the schemes, else what is wrong.
func checkURI(u string, embedded bool, schemes ...string) string {
	if embedded && u == "embedded" {
		return ""
	}
	p, err := url.Parse(u)
	if err != nil {
		return fmt.Sprintf("not a URI: %v", err)
	}
	for _, s := range schemes {
		if p.Scheme == s {
			return ""
		}
	}
	want := strings.Join(schemes, "://, ") + "://"
	if embedded {
		want = `"embedded" or ` + want
	}
	return fmt.Sprintf("must be %s URI, got %q", want, u)
}

// CheckTemplate checks a load target's path template: it must start with
// "/" and use no placeholder other than {{id}} and {{page}}.
func CheckTemplate(path string) error {
	if !strings.HasPrefix(path, "/") {
		return fmt.Errorf("must start with /, got %q", path)
	}
	rest := path
	for {
		i := strings.Index(rest, "{{")
		if i < 0 {
			if strings.Contains(rest, "}}") {
				return fmt.Errorf("unbalanced }} in %q", path)
			}
			return nil
		}
		j := strings.Index(rest[i:], "}}")
		if j < 0 {
			return fmt.Errorf("unclosed {{ in %q", path)
		}
		switch name := strings.TrimSpace(rest[i+2 : i+j]); name {
		case "id", "page", "district", "status":
		default:
			return fmt.Errorf("unknown placeholder {{%s}} in %q (use {{id}}, {{page}}, {{district}} or {{status}})", name, path)
		}
		rest = rest[i+j+2:]
	}
}

// flatten splits a joined error into its parts.
func flatten(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, flatten(e)...)
		}
		return out
	}
	return []error{err}
}

// Warnings returns what is valid but probably not meant in s, one
// sentence each: today, a scenario that sets nothing (an empty file, only
// comments, or only default values, with no environment override), which
// validates but would run the built-in defaults.
func (s *Scenario) Warnings() []string {
	d := Default.Clone()
	d.File = s.File
	if reflect.DeepEqual(d, s) {
		return []string{"sets nothing: every value is the default (is the file empty?)"}
	}
	return nil
}
