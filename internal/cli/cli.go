// Package cli holds the flag-binding helpers the camload subcommands
// share, so that each subcommand only maps its flags to the option struct
// of the package that does the work. It defines flags and reads them (with
// their environment variables); it validates nothing itself: the option
// types' Validate methods do.
package cli

import (
	"fmt"
	"io"
	"os"
	"reflect"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/spf13/pflag"
	"github.com/spf13/viper"

	"github.com/camload/camload/internal/cfgerr"
	"github.com/camload/camload/reports/gate"
)

// Define defines the flag name on fs with the type of def (int, int64,
// float64, bool, time.Duration or string; anything else becomes a string
// flag whose default is fmt.Sprint(def)).
func Define(fs *pflag.FlagSet, name string, def any, usage string) {
	switch v := def.(type) {
	case int:
		fs.Int(name, v, usage)
	case int64:
		fs.Int64(name, v, usage)
	case float64:
		fs.Float64(name, v, usage)
	case bool:
		fs.Bool(name, v, usage)
	case time.Duration:
		fs.Duration(name, v, usage)
	case string:
		fs.String(name, v, usage)
	default:
		fs.String(name, fmt.Sprint(v), usage)
	}
}

// EnvName is the environment variable that sets flag name under prefix:
// EnvName("CAMLOAD_SERVE", "mongo-uri") = "CAMLOAD_SERVE_MONGO_URI".
func EnvName(prefix, name string) string {
	return prefix + "_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
}

// Env returns a viper instance bound to fs and to the PREFIX_<FLAG>
// environment: a flag given beats its variable, which beats the flag's
// default.
func Env(fs *pflag.FlagSet, prefix string) *viper.Viper {
	v := viper.New()
	_ = v.BindPFlags(fs)
	v.SetEnvPrefix(prefix)
	v.SetEnvKeyReplacer(strings.NewReplacer("-", "_"))
	v.AutomaticEnv()
	return v
}

// EnvSet reports whether flag name's PREFIX_<FLAG> variable is present
// (even empty).
func EnvSet(prefix, name string) bool {
	_, ok := os.LookupEnv(EnvName(prefix, name))
	return ok
}

// Gate binds the judgement flags shared by gate, compare and report to o,
// their defaults gate.DefaultOptions.
func Gate(fs *pflag.FlagSet, o *gate.Options) {
	fs.Float64Var(&o.Alpha, "alpha", gate.DefaultOptions.Alpha, "significance level of the comparison, over all its rows (Holm–Bonferroni)")
	fs.Float64Var(&o.MinEffect, "min-effect", gate.DefaultOptions.MinEffect, "smallest relative change that counts as a regression (0.05 = 5%)")
	fs.StringSliceVar(&o.Metrics, "metric", nil, "metrics to compare, one value per repetition (default: cycle_p50, cycle_p99, rss_peak, cpu_core, error_rate and api.<endpoint>.p99)")
	// StringArray, not StringSlice: rules contain commas ({mode:a,cameras:1}).
	fs.StringArrayVar(&o.Thresholds, "threshold", nil, `add a threshold rule, e.g. 'cycle_p99{mode:batched}: < 1s' (repeatable)`)
	fs.StringArrayVar(&o.Expect, "expect", nil, `add an expect rule, e.g. 'rss_peak{mode:batched} <= 0.2 * rss_peak{mode:async}' (repeatable)`)
	fs.BoolVar(&o.AllowInconclusive, "allow-inconclusive", false, "let a rule whose interval straddles its limit pass (default: it fails)")
	fs.BoolVar(&o.AllowEmpty, "allow-empty", false, "accept results without cells (default: exit 2)")
	fs.BoolVar(&o.AllowMissingBaseline, "allow-missing-baseline", false, "accept a baseline with no cell in common (default: exit 2)")
	fs.BoolVar(&o.Strict, "strict", false, "fail when a comparison has too few repetitions or pairs to reach significance (default: warn)")
}

// Values reads flags through V (see Env) as text and parses them,
// collecting an error naming the flag for each value that does not parse.
type Values struct {
	V    *viper.Viper
	Errs []error
}

// String returns name's value.
func (r *Values) String(name string) string { return r.V.GetString(name) }

// Int returns name's value as an integer.
func (r *Values) Int(name string) int {
	n, err := strconv.Atoi(strings.TrimSpace(r.String(name)))
	if err != nil {
		r.Errs = append(r.Errs, cfgerr.Field(name, "not an integer: %q", r.String(name)))
	}
	return n
}

// Duration returns name's value as a duration.
func (r *Values) Duration(name string) time.Duration {
	d, err := time.ParseDuration(strings.TrimSpace(r.String(name)))
	if err != nil {
		r.Errs = append(r.Errs, cfgerr.Field(name, "not a duration: %q", r.String(name)))
	}
	return d
}

// Bool returns name's value as a boolean.
func (r *Values) Bool(name string) bool {
	b, err := strconv.ParseBool(strings.TrimSpace(r.String(name)))
	if err != nil {
		r.Errs = append(r.Errs, cfgerr.Field(name, "not a boolean: %q", r.String(name)))
	}
	return b
}

// Require adds an error naming flag when val is empty: for flags that
// must state a value where the option's zero value would mean a default.
func (r *Values) Require(flag string, val any, problem string) {
	if reflect.ValueOf(val).IsZero() {
		r.Errs = append(r.Errs, cfgerr.Field(flag, "%s", problem))
	}
}

// IsTTY reports whether w is a terminal (progress bars) rather than a
// pipe or a CI log (plain lines).
func IsTTY(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && isatty.IsTerminal(f.Fd())
}

// BuildInfo returns version and the VCS commit this binary was built
// from ("unknown" when the Go toolchain recorded none; "-dirty" appended
// for a modified tree).
func BuildInfo(version string) (ver, commit string) {
	ver, commit = version, "unknown"
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" {
				commit = s.Value
			}
			if s.Key == "vcs.modified" && s.Value == "true" {
				commit += "-dirty"
			}
		}
	}
	return ver, commit
}

// VersionLine is what `camload version` prints: the version, the commit
// (BuildInfo), the Go version and the platform.
func VersionLine(version string) string {
	ver, commit := BuildInfo(version)
	return fmt.Sprintf("camload %s (commit %s, %s %s/%s)", ver, commit, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}

// WarnSecrets calls warn for every flag of names given on the command
// line with a value hasPassword reports, with a message pointing to the
// flag's PREFIX_<FLAG> variable (the command line is visible to every
// user).
func WarnSecrets(fs *pflag.FlagSet, prefix string, names []string, hasPassword func(string) bool, warn func(msg, flag string)) {
	for _, name := range names {
		if f := fs.Lookup(name); f != nil && f.Changed && hasPassword(f.Value.String()) {
			warn("--"+name+" has a password on the command line, where ps shows it to every user; set "+EnvName(prefix, name)+" instead", name)
		}
	}
}
