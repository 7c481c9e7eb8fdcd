// Package archtest checks the layering of camload's packages: the system
// under test and the simulator never depend on the runner (bench), the
// scenario format (scenarios) or the reports, and scenarios does not
// depend on reports. It holds tests only.
package archtest

import (
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/camload/camload/"

// rules: packages under a prefix must not depend on packages under any of
// the forbidden prefixes.
var rules = []struct {
	from   string
	forbid []string
}{
	{"system", []string{"bench", "scenarios", "reports", "cmd"}},
	{"simulator", []string{"bench", "scenarios", "reports", "cmd", "system"}},
	{"results", []string{"bench", "scenarios", "reports", "cmd", "system", "simulator"}},
	{"scenarios", []string{"reports", "bench", "cmd"}},
	{"reports", []string{"bench", "scenarios", "system", "simulator", "cmd"}},
}

// under reports whether path is the package prefix or below it.
func under(path, prefix string) bool {
	p := module + prefix
	return path == p || strings.HasPrefix(path, p+"/")
}

func TestLayering(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}} {{join .Deps " "}}`, module+"...").Output()
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			t.Fatalf("go list: %v\n%s", err, ee.Stderr)
		}
		t.Fatalf("go list: %v", err)
	}
	checked := 0
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		pkg, deps := fields[0], fields[1:]
		for _, r := range rules {
			if !under(pkg, r.from) {
				continue
			}
			checked++
			for _, d := range deps {
				for _, f := range r.forbid {
					if under(d, f) {
						t.Errorf("%s imports %s (directly or not): %s must not depend on %s", pkg, d, r.from, f)
					}
				}
			}
		}
	}
	if checked < len(rules) {
		t.Fatalf("only %d packages matched the %d rules: is the module path %q right?", checked, len(rules), module)
	}
}
