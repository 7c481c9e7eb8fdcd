package bench

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/camload/camload/results"
	"github.com/camload/camload/scenarios"
)

func TestSecretsToEnv(t *testing.T) {
	rest, env := secretsToEnv([]string{"serve", "--mode", "sync", "--mongo-uri", "mongodb://u:pw@127.0.0.1:1",
		"--redis-url=redis://:pw@127.0.0.1:2/0", "--db", "x", "--ferretdb-postgres", "postgres://pg:pw@127.0.0.1/db", "--workers", "4"})
	if got := strings.Join(rest, " "); got != "serve --mode sync --db x --workers 4" {
		t.Errorf("args = %q", got)
	}
	want := []string{"CAMLOAD_SERVE_MONGO_URI=mongodb://u:pw@127.0.0.1:1", "CAMLOAD_SERVE_REDIS_URL=redis://:pw@127.0.0.1:2/0", "CAMLOAD_SERVE_FERRETDB_POSTGRES=postgres://pg:pw@127.0.0.1/db"}
	if strings.Join(env, "\n") != strings.Join(want, "\n") {
		t.Errorf("env = %q; want %q", env, want)
	}
	// A flag without its value stays for serve to report.
	if rest, env := secretsToEnv([]string{"serve", "--redis-url"}); len(env) != 0 || len(rest) != 2 {
		t.Errorf("trailing --redis-url: args %q env %q", rest, env)
	}
}

// TestChildSecretsNotInArgv: the child's command line (readable by every
// user) carries no URI; its environment (readable by its owner) does.
func TestChildSecretsNotInArgv(t *testing.T) {
	dir := t.TempDir()
	c, err := startChild(context.Background(), selfBinary(t), []string{"serve", "--fleet", "http://127.0.0.1:1",
		"--mongo-uri", "mongodb://app:hunter2@127.0.0.1:1/x", "--redis-url=redis://:hunter3@127.0.0.1:2/0"},
		dir, filepath.Join(dir, "log"), 20*time.Second, DefaultStopGrace)
	if err != nil {
		t.Fatal(err)
	}
	defer c.stop()
	cmdline, err := os.ReadFile("/proc/" + strconv.Itoa(c.Pid) + "/cmdline")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(cmdline), "hunter") || strings.Contains(string(cmdline), "mongo-uri") {
		t.Errorf("child's command line carries a URI: %q", cmdline)
	}
	environ, err := os.ReadFile("/proc/" + strconv.Itoa(c.Pid) + "/environ")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"CAMLOAD_SERVE_MONGO_URI=mongodb://app:hunter2@127.0.0.1:1/x", "CAMLOAD_SERVE_REDIS_URL=redis://:hunter3@127.0.0.1:2/0"} {
		if !strings.Contains(string(environ), "\x00"+want+"\x00") {
			t.Errorf("child's environment lacks %s", want)
		}
	}
	if err := c.stop(); err != nil {
		t.Errorf("stop = %v; want nil (a graceful exit)", err)
	}
}

// TestChildKilledSaysHowWithLogTail: a child killed from outside is an
// error naming the signal and quoting the last 20 lines of its log; one
// stopped by the runner is not an error.
func TestChildKilledSaysHowWithLogTail(t *testing.T) {
	t.Setenv("CAMLOAD_BENCH_FAKE_LOGLINES", "30")
	dir := t.TempDir()
	c, err := startChild(context.Background(), selfBinary(t), []string{"serve", "--fleet", "http://127.0.0.1:1"}, dir, filepath.Join(dir, "system.log"), 20*time.Second, DefaultStopGrace)
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(c.Pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-c.done
	err = c.stop()
	if err == nil {
		t.Fatal("stop after an outside SIGKILL = nil; want how it ended")
	}
	msg := err.Error()
	for _, want := range []string{"killed by signal 9 (killed) before it was stopped", "last 20 lines of", "fake serve: log line 11\n", "fake serve: log line 30"} {
		if !strings.Contains(msg, want) {
			t.Errorf("stop error lacks %q:\n%s", want, msg)
		}
	}
	if strings.Contains(msg, "log line 10\n") {
		t.Errorf("stop error quotes more than 20 lines:\n%s", msg)
	}
	if err := c.stop(); err != nil {
		t.Errorf("second stop = %v; want nil", err)
	}
}

// TestChildExitBeforeReady: a system that exits while starting is reported
// with its exit status and what it logged.
func TestChildExitBeforeReady(t *testing.T) {
	dir := t.TempDir()
	_, err := startChild(context.Background(), selfBinary(t), []string{"serve", "--no-such-flag"}, dir, filepath.Join(dir, "system.log"), 20*time.Second, DefaultStopGrace)
	if err == nil {
		t.Fatal("startChild with a flag the system rejects succeeded")
	}
	for _, want := range []string{"exited with status 2", "no-such-flag"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("startChild error lacks %q: %v", want, err)
		}
	}
}

func TestLogTail(t *testing.T) {
	path := filepath.Join(t.TempDir(), "log")
	var b strings.Builder
	b.WriteString(strings.Repeat("x", 70<<10) + "\n") // beyond the 64 KiB window
	for i := 1; i <= 25; i++ {
		b.WriteString("line " + strconv.Itoa(i) + "\n\n")
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	got := logTail(path, 20)
	if len(got) != 20 || got[0] != "line 6" || got[19] != "line 25" {
		t.Errorf("logTail = %q; want line 6 … line 25", got)
	}
	if got := logTail(filepath.Join(t.TempDir(), "none"), 20); got != nil {
		t.Errorf("logTail of a missing file = %q", got)
	}
}

// TestRunChildKilledMidCycle: a system that dies during a measured cycle
// fails its cell with the signal and its log's tail, not only the
// connection's EOF, and the run goes on to the next cell.
func TestRunChildKilledMidCycle(t *testing.T) {
	if testing.Short() {
		t.Skip("starts embedded backends and child processes")
	}
	t.Setenv("CAMLOAD_BENCH_FAKE_DIE_CYCLE", "2") // warm-up is cycle 1
	sc := fakeScenario(t)
	sc.Fleet.Cameras, sc.System.Modes = []int{4}, []string{"sync", "pooled"}
	sc.Load, sc.Profiles = nil, scenarios.Profiles{}
	run, err := Run(context.Background(), sc, Options{OutDir: t.TempDir(), SystemBinary: selfBinary(t)})
	if !errors.Is(err, ErrCellsFailed) {
		t.Fatalf("Run = %v; want ErrCellsFailed", err)
	}
	if len(run.Cells) != 2 {
		t.Fatalf("%d cells; want 2 (the run goes on)", len(run.Cells))
	}
	t.Logf("cell error:\n%s", run.Cells[0].Error)
	for _, c := range run.Cells {
		if c.Status != results.StatusFailed {
			t.Errorf("%s: status %s; want failed", c.Mode, c.Status)
		}
		for _, want := range []string{"cycle 1:", "killed by signal 9 (killed)", "fake serve: dying in cycle 2"} {
			if !strings.Contains(c.Error, want) {
				t.Errorf("%s: error lacks %q:\n%s", c.Mode, want, c.Error)
			}
		}
	}
}
