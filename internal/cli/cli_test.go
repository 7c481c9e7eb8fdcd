package cli

import (
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
)

func TestDefineAndValues(t *testing.T) {
	fs := pflag.NewFlagSet("x", pflag.ContinueOnError)
	Define(fs, "n", 3, "")
	Define(fs, "d", time.Second, "")
	Define(fs, "b", true, "")
	Define(fs, "f", 0.5, "")
	Define(fs, "s", struct{ A int }{1}, "")
	for name, typ := range map[string]string{"n": "int", "d": "duration", "b": "bool", "f": "float64", "s": "string"} {
		if f := fs.Lookup(name); f == nil || f.Value.Type() != typ {
			t.Errorf("--%s: %v; want a %s flag", name, f, typ)
		}
	}
	if fs.Lookup("s").DefValue != "{1}" {
		t.Errorf("--s default %q; want fmt.Sprint of the value", fs.Lookup("s").DefValue)
	}
	t.Setenv("CAMLOAD_X_N", "nine")
	r := &Values{V: Env(fs, "CAMLOAD_X")}
	if err := fs.Parse([]string{"--d", "2s"}); err != nil {
		t.Fatal(err)
	}
	if r.Duration("d") != 2*time.Second || !r.Bool("b") {
		t.Errorf("flag values: %v %v", r.Duration("d"), r.Bool("b"))
	}
	_ = r.Int("n")
	r.Require("s", "", "must be set")
	r.Require("f", 0.5, "never")
	if len(r.Errs) != 2 || r.Errs[0].Error() != `n: not an integer: "nine"` || r.Errs[1].Error() != "s: must be set" {
		t.Errorf("errors = %v; want n's (from CAMLOAD_X_N) and s's", r.Errs)
	}
	if EnvName("CAMLOAD_SERVE", "mongo-uri") != "CAMLOAD_SERVE_MONGO_URI" || !EnvSet("CAMLOAD_X", "n") {
		t.Errorf("EnvName/EnvSet")
	}
}

func TestScenarioOverrides(t *testing.T) {
	fs := pflag.NewFlagSet("x", pflag.ContinueOnError)
	s := AddScenario(fs, "c", "m")
	if o := s.Overrides(); o.Cameras != nil || o.Modes != nil {
		t.Errorf("nothing given: %+v; want nil lists (keep the scenario's)", o)
	}
	if err := fs.Parse([]string{"--cameras", "1,2", "--modes", ""}); err != nil {
		t.Fatal(err)
	}
	if o := s.Overrides(); len(o.Cameras) != 2 || o.Modes == nil || len(o.Modes) != 0 {
		t.Errorf("given: %+v; want cameras [1 2] and an empty, non-nil modes list", o)
	}
}

func TestWarnSecrets(t *testing.T) {
	fs := pflag.NewFlagSet("x", pflag.ContinueOnError)
	fs.String("mongo-uri", "", "")
	fs.String("redis-url", "redis://u:p@h", "")
	if err := fs.Parse([]string{"--mongo-uri", "mongodb://u:p@h"}); err != nil {
		t.Fatal(err)
	}
	var got []string
	WarnSecrets(fs, "CAMLOAD_SERVE", []string{"mongo-uri", "redis-url"}, func(v string) bool { return strings.Contains(v, ":p@") },
		func(msg, flag string) { got = append(got, flag+": "+msg) })
	if len(got) != 1 || !strings.Contains(got[0], "mongo-uri: --mongo-uri has a password on the command line") || !strings.Contains(got[0], "CAMLOAD_SERVE_MONGO_URI") {
		t.Errorf("warnings %q; want one, for the flag given, naming its variable", got)
	}
}
