package bench

import (
	"bufio"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"

	"github.com/camload/camload/results"
)

// Environment describes the machine and build a run is measured on: Go
// version, CPU model (/proc/cpuinfo), cores, memory (/proc/meminfo), host,
// commit (git rev-parse HEAD in the working directory, else the build's
// VCS stamp) and version. Backends are filled by Run.
func Environment(version string) results.Env {
	e := results.Env{
		GoVersion: runtime.Version(),
		OS:        runtime.GOOS,
		Arch:      runtime.GOARCH,
		Cores:     runtime.NumCPU(),
		Camload:   version,
		CPUModel:  procField("/proc/cpuinfo", "model name"),
		Commit:    commit(),
	}
	if e.Camload == "" {
		e.Camload = "dev"
	}
	e.Hostname, _ = os.Hostname()
	if kb := procField("/proc/meminfo", "MemTotal"); kb != "" {
		if n, err := strconv.ParseInt(strings.Fields(kb)[0], 10, 64); err == nil {
			e.MemTotal = n << 10
		}
	}
	return e
}

// procField returns the value of the first "key: value" line of a /proc
// file, or "".
func procField(path, key string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(k) == key {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

func commit() string {
	if out, err := exec.Command("git", "rev-parse", "HEAD").Output(); err == nil {
		c := strings.TrimSpace(string(out))
		if err := exec.Command("git", "diff", "--quiet", "HEAD").Run(); err != nil {
			c += "-dirty"
		}
		return c
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" {
				return s.Value
			}
		}
	}
	return "unknown"
}
