package scenarios

import (
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/camload/camload/internal/cfgerr"
	"github.com/camload/camload/system"
)

// External is a system under test that is not camload's own: any command,
// in any language, started by the runner (the `system.external` section and
// each entry of `system.external_modes`). The runner gives it the fleet's
// control URL and an API address; it is measured from the fleet's side and
// from /proc. docs/external-systems.md is the contract.
//
// The zero External is "not configured". Every string field may use the
// placeholders {{fleet_url}} and {{api_addr}}.
type External struct {
	// Command is the program and its arguments (no shell). Required for a
	// runnable system.
	Command []string `mapstructure:"command"`
	// Env adds variables to the runner's environment for the command.
	// Names are upper-cased (the scenario reader folds keys to lower
	// case); CAMLOAD_FLEET_URL and CAMLOAD_API_ADDR cannot be set here.
	Env map[string]string `mapstructure:"env"`
	// Dir is the command's working directory; relative to the scenario
	// file's directory ("" = that directory; the runner's working
	// directory for a scenario built in code).
	Dir string `mapstructure:"dir"`
	// ReadyURL, when set, is polled with GET until it answers 200; unset,
	// the system is ready at its first camera fetch.
	ReadyURL string `mapstructure:"ready_url"`
	// CycleURL, when set, runs one cycle per POST, answering 2xx when the
	// cycle is done; cycles are then triggered and timed as for camload
	// serve. Unset, the system polls on its own and the measured window
	// is system.cycles sweeps seen by the fleet (or Window).
	CycleURL string `mapstructure:"cycle_url"`
	// APIAddr is the host:port the system serves its API on (load targets
	// hit http://APIAddr); "auto" (the default, also for "") picks a free
	// loopback port.
	APIAddr string `mapstructure:"api_addr"`
	// Window, when > 0 and without CycleURL, measures for this long
	// instead of counting system.cycles sweeps (0 = count sweeps).
	Window time.Duration `mapstructure:"window"`
	// StopGrace is the time between SIGTERM and SIGKILL of the command's
	// process group (0 = DefaultExternalStopGrace).
	StopGrace time.Duration `mapstructure:"stop_grace"`
}

// ExternalMode is the mode name that runs System.External itself.
const ExternalMode = "external"

// APIAddrAuto asks the runner for a free loopback port.
const APIAddrAuto = "auto"

// DefaultExternalStopGrace is External.StopGrace's zero value.
const DefaultExternalStopGrace = 5 * time.Second

// Configured reports whether e is set at all.
func (e External) Configured() bool {
	return len(e.Command) > 0 || len(e.Env) > 0 || e.Dir != "" || e.ReadyURL != "" || e.CycleURL != "" ||
		e.APIAddr != "" || e.Window != 0 || e.StopGrace != 0
}

func (e External) clone() External {
	e.Command = append([]string(nil), e.Command...)
	if e.Env != nil {
		env := make(map[string]string, len(e.Env))
		for k, v := range e.Env {
			env[k] = v
		}
		e.Env = env
	}
	return e
}

// over returns v with e's values where v leaves them unset; Env merges
// (v's keys win).
func (e External) over(v External) External {
	out := e.clone()
	if len(v.Command) > 0 {
		out.Command = append([]string(nil), v.Command...)
	}
	for k, val := range v.Env {
		if out.Env == nil {
			out.Env = map[string]string{}
		}
		out.Env[k] = val
	}
	for _, f := range []struct {
		dst *string
		src string
	}{
		{&out.Dir, v.Dir}, {&out.ReadyURL, v.ReadyURL}, {&out.CycleURL, v.CycleURL}, {&out.APIAddr, v.APIAddr},
	} {
		if f.src != "" {
			*f.dst = f.src
		}
	}
	if v.Window != 0 {
		out.Window = v.Window
	}
	if v.StopGrace != 0 {
		out.StopGrace = v.StopGrace
	}
	return out
}

// cloneExternal deep-copies s's external systems into c (Clone).
func (s *Scenario) cloneExternal(c *Scenario) {
	c.System.External = s.System.External.clone()
	if s.System.ExternalModes != nil {
		c.System.ExternalModes = make(map[string]External, len(s.System.ExternalModes))
		for k, v := range s.System.ExternalModes {
			c.System.ExternalModes[k] = v.clone()
		}
	}
}

// ExternalFor returns the external system that mode runs, resolved: a
// variant of system.external_modes over system.external, names in Env
// upper-cased, defaults filled in (APIAddr "auto", StopGrace) and Dir made
// absolute against the scenario file's directory. ok is false for
// camload's own modes.
func (s *Scenario) ExternalFor(mode string) (e External, ok bool) {
	base := s.System.External
	switch v, isVariant := s.System.ExternalModes[strings.ToLower(mode)]; {
	case isVariant:
		e = base.over(v)
	case mode == ExternalMode && len(base.Command) > 0:
		e = base.clone()
	default:
		return External{}, false
	}
	if len(e.Env) > 0 {
		env := make(map[string]string, len(e.Env))
		for k, v := range e.Env {
			env[strings.ToUpper(k)] = v
		}
		e.Env = env
	}
	if e.APIAddr == "" {
		e.APIAddr = APIAddrAuto
	}
	if e.StopGrace == 0 {
		e.StopGrace = DefaultExternalStopGrace
	}
	if !filepath.IsAbs(e.Dir) {
		base := ""
		if s.File != "" {
			base = filepath.Dir(s.File)
		}
		if d := filepath.Join(base, e.Dir); d != "." || e.Dir != "" || base != "" {
			if abs, err := filepath.Abs(d); err == nil {
				e.Dir = abs
			}
		}
	}
	return e, true
}

// IsExternal reports whether mode names an external system of s.
func (s *Scenario) IsExternal(mode string) bool {
	_, ok := s.ExternalFor(mode)
	return ok
}

// ExternalPlaceholders are the names a field of External may use as
// {{name}}.
var ExternalPlaceholders = []string{"fleet_url", "api_addr"}

// Expand substitutes {{fleet_url}} and {{api_addr}} in s.
func Expand(s, fleetURL, apiAddr string) string {
	return strings.NewReplacer("{{fleet_url}}", fleetURL, "{{api_addr}}", apiAddr).Replace(s)
}

var placeholder = regexp.MustCompile(`\{\{\s*([^{}]*?)\s*\}\}`)

// checkPlaceholders returns an error naming the first unknown or
// unbalanced placeholder of s.
func checkPlaceholders(s string) error {
	for _, m := range placeholder.FindAllStringSubmatch(s, -1) {
		switch m[1] {
		case "fleet_url", "api_addr":
			if m[0] != "{{"+m[1]+"}}" {
				return fmt.Errorf("write {{%s}} without spaces, got %q", m[1], m[0])
			}
		default:
			return fmt.Errorf("unknown placeholder %s in %q (use {{fleet_url}} or {{api_addr}})", m[0], s)
		}
	}
	if rest := placeholder.ReplaceAllString(s, ""); strings.Contains(rest, "{{") || strings.Contains(rest, "}}") {
		return fmt.Errorf("unbalanced {{ }} in %q", s)
	}
	return nil
}

// checkExternal validates system.external, system.external_modes and the
// external names in system.modes.
func (s *Scenario) checkExternal() []*cfgerr.Error {
	var errs []*cfgerr.Error
	bad := func(field, format string, args ...any) {
		errs = append(errs, cfgerr.Field(field, format, args...))
	}
	sys := s.System
	names := make([]string, 0, len(sys.ExternalModes))
	for name := range sys.ExternalModes {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		f := "system.external_modes." + name
		switch {
		case !validName.MatchString(name):
			bad(f, "a variant name must be letters, digits, - and _, got %q", name)
		case name == ExternalMode:
			bad(f, "%q names system.external itself; choose another variant name", name)
		default:
			if _, builtin := system.Preset(system.Mode(name)); builtin {
				bad(f, "%q is one of camload's own modes (%s); choose another variant name", name, modeList())
			}
		}
	}
	used := map[string]bool{}
	for _, m := range sys.Modes {
		used[strings.ToLower(m)] = true
	}
	// The base is checked whole only when run as mode "external"; as the
	// base of variants, each variant is checked resolved.
	check := func(field string, e External, runnable bool) {
		if runnable && len(e.Command) == 0 {
			bad(field+".command", "must name the program to run, e.g. [\"python3\", \"service.py\"]")
		}
		for i, a := range e.Command {
			if i == 0 && strings.TrimSpace(a) == "" {
				bad(fmt.Sprintf("%s.command[0]", field), "must be a program, got %q", a)
			}
			if err := checkPlaceholders(a); err != nil {
				bad(fmt.Sprintf("%s.command[%d]", field, i), "%v", err)
			}
		}
		keys := make([]string, 0, len(e.Env))
		for k := range e.Env {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			switch up := strings.ToUpper(k); {
			case !envName.MatchString(up):
				bad(field+".env."+k, "must be a variable name of letters, digits and _, got %q", k)
			case up == EnvFleetURL || up == EnvAPIAddr:
				bad(field+".env."+k, "is set by the runner")
			default:
				if err := checkPlaceholders(e.Env[k]); err != nil {
					bad(field+".env."+k, "%v", err)
				}
			}
		}
		for _, u := range []struct{ key, val string }{{"ready_url", e.ReadyURL}, {"cycle_url", e.CycleURL}} {
			if u.val == "" {
				continue
			}
			if err := checkPlaceholders(u.val); err != nil {
				bad(field+"."+u.key, "%v", err)
				continue
			}
			p, err := url.Parse(Expand(u.val, "http://127.0.0.1:1", "127.0.0.1:2"))
			if err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
				bad(field+"."+u.key, "must be an http:// or https:// URL, e.g. http://{{api_addr}}/healthz, got %q", u.val)
			}
		}
		if a := e.APIAddr; a != "" && a != APIAddrAuto {
			host, port, err := net.SplitHostPort(a)
			if err != nil || host == "" || port == "" || port == "0" {
				bad(field+".api_addr", "must be %q or host:port with a fixed port, got %q", APIAddrAuto, a)
			}
		}
		if e.Window < 0 {
			bad(field+".window", "must be ≥ 0 (0 = count system.cycles sweeps), got %s", e.Window)
		}
		if e.Window > 0 && e.CycleURL != "" {
			bad(field+".window", "cannot be combined with cycle_url (cycles are then triggered and counted)")
		}
		if e.StopGrace < 0 {
			bad(field+".stop_grace", "must be ≥ 0, got %s", e.StopGrace)
		}
	}
	check("system.external", sys.External, used[ExternalMode])
	for _, name := range names {
		v := sys.ExternalModes[name]
		resolved := sys.External.over(v)
		// Report a variant's own bad values under its own name, and a
		// missing command where it is missing.
		for _, e := range func() []*cfgerr.Error {
			saved := errs
			errs = nil
			check("system.external_modes."+name, resolved, true)
			out := errs
			errs = saved
			return out
		}() {
			errs = append(errs, e)
		}
	}
	return errs
}

// modeErr returns "" when m is a mode s can run (one of camload's own or
// an external one), else what is wrong.
func (s *Scenario) modeErr(m string) string {
	if _, ok := system.Preset(system.Mode(m)); ok {
		return ""
	}
	if m == ExternalMode && s.System.External.Configured() {
		return "" // checkExternal reports what system.external lacks
	}
	if _, ok := s.System.ExternalModes[strings.ToLower(m)]; ok {
		return ""
	}
	want := modeList() + ", " + ExternalMode
	if len(s.System.ExternalModes) > 0 {
		vs := make([]string, 0, len(s.System.ExternalModes))
		for k := range s.System.ExternalModes {
			vs = append(vs, k)
		}
		sort.Strings(vs)
		want += " or a system.external_modes variant (" + strings.Join(vs, ", ") + ")"
	} else {
		want += " (with system.external) or a system.external_modes variant"
	}
	return fmt.Sprintf("must be one of %s, got %q", want, m)
}

// Environment variables the runner gives an external system.
const (
	EnvFleetURL = "CAMLOAD_FLEET_URL"
	EnvAPIAddr  = "CAMLOAD_API_ADDR"
)

var envName = regexp.MustCompile(`^[A-Z_][A-Z0-9_]*$`)
