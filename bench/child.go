package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/camload/camload/system/server"
)

// child is the system under test, a `camload serve` process in its own
// process group. Its stdin is a pipe held by the runner: if the runner
// dies, the pipe closes and the child (started with --exit-with-stdin)
// exits. Not safe for concurrent use, except that stop may be called more
// than once.
type child struct {
	cmd     *exec.Cmd
	stdin   io.WriteCloser
	log     *os.File
	logPath string
	grace   time.Duration // between SIGTERM and SIGKILL
	done    chan struct{} // closed when the process has been waited for
	err     error         // Wait's error, valid after done

	API   string // http://127.0.0.1:PORT
	Admin string
	Pid   int
}

// startChild starts bin with args (the serve flags, without --ready-file
// and --exit-with-stdin, which it adds), logs its output to logPath and
// waits until its ready file appears and its admin /readyz answers 200, or
// until timeout / ctx. On error the child is stopped. The values of the
// flags that may carry credentials (server.SecretFlags: --mongo-uri,
// --redis-url, --ferretdb-postgres) are moved from the command line, which
// every user of the machine can read (ps, /proc/PID/cmdline), to the
// child's environment (CAMLOAD_SERVE_MONGO_URI, …), which only its owner
// can.
func startChild(ctx context.Context, bin string, args []string, dir, logPath string, timeout, grace time.Duration) (*child, error) {
	return startChildEnv(ctx, bin, args, nil, dir, logPath, timeout, grace)
}

// startChildEnv is startChild with extra environment entries for the
// child (e.g. GOMAXPROCS=1); the secrets' entries come after them.
func startChildEnv(ctx context.Context, bin string, args, extraEnv []string, dir, logPath string, timeout, grace time.Duration) (*child, error) {
	readyFile := filepath.Join(dir, "ready.json")
	_ = os.Remove(readyFile)
	args, env := secretsToEnv(args)
	env = append(append([]string(nil), extraEnv...), env...)
	args = append(args, "--ready-file", readyFile, "--exit-with-stdin")
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("bench: system log: %w", err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...) // later entries win
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		logf.Close()
		return nil, fmt.Errorf("bench: system stdin: %w", err)
	}
	// Pdeathsig fires when the OS thread that started the child exits, not
	// the process: start and wait on one locked thread, so the signal only
	// ever comes when the runner itself dies.
	c := &child{cmd: cmd, stdin: stdin, log: logf, logPath: logPath, grace: grace, done: make(chan struct{})}
	started := make(chan error, 1)
	go func() { // owner: the child; ends when the process exits
		runtime.LockOSThread() // never unlocked: the thread ends with the child
		if err := cmd.Start(); err != nil {
			started <- err
			c.err = err
			close(c.done)
			return
		}
		started <- nil
		c.err = cmd.Wait()
		close(c.done)
	}()
	if err := <-started; err != nil {
		logf.Close()
		return nil, fmt.Errorf("bench: starting system %s: %w", bin, err)
	}
	c.Pid = cmd.Process.Pid
	if err := c.waitReady(ctx, readyFile, timeout); err != nil {
		c.stop()
		return nil, fmt.Errorf("bench: system did not become ready (log %s): %w", logPath, err)
	}
	return c, nil
}

func (c *child) waitReady(ctx context.Context, readyFile string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	client := &http.Client{Timeout: time.Second}
	for {
		select {
		case <-ctx.Done():
			return fmt.Errorf("after %s: %w", timeout, ctx.Err())
		case <-c.done:
			return fmt.Errorf("system %s%s", exitReason(c.err), c.tail())
		case <-tick.C:
		}
		if c.API == "" {
			b, err := os.ReadFile(readyFile)
			if err != nil {
				continue
			}
			var ri server.ReadyInfo
			if err := json.Unmarshal(b, &ri); err != nil || ri.API == "" || ri.Admin == "" {
				continue // written atomically, but be lenient
			}
			if err := checkLoopback(ri.API); err != nil {
				return err
			}
			if err := checkLoopback(ri.Admin); err != nil {
				return err
			}
			c.API, c.Admin = ri.API, ri.Admin
		}
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, c.Admin+"/readyz", nil)
		resp, err := client.Do(req)
		if err != nil {
			continue
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			return nil
		}
	}
}

// stop ends the child: SIGTERM to its process group, SIGKILL to the group
// after its grace period (Options.StopGrace). It returns once the process
// has been waited for and is safe to call more than once (later calls
// return nil). Its error says how the child ended — exit status or
// signal — with the last lines of its log, unless the child ended as
// asked: exit status 0, or by the SIGTERM or the SIGKILL stop sent. A
// child that had exited before stop was called is an error whatever its
// status.
func (c *child) stop() error {
	if c == nil {
		return nil
	}
	var died, termed, killed bool
	select {
	case <-c.done:
		died = c.log != nil // the first stop found it gone
	default:
		termed = syscall.Kill(-c.Pid, syscall.SIGTERM) == nil
		_ = c.stdin.Close()
		t := time.NewTimer(c.grace)
		select {
		case <-c.done:
			t.Stop()
		case <-t.C:
			killed = syscall.Kill(-c.Pid, syscall.SIGKILL) == nil
			<-c.done
		}
	}
	// Whatever the leader did, no member of its group may outlive it.
	_ = syscall.Kill(-c.Pid, syscall.SIGKILL)
	_ = c.stdin.Close()
	if c.log == nil { // stopped before
		return nil
	}
	c.log.Close()
	c.log = nil
	if died {
		return fmt.Errorf("bench: system %s before it was stopped%s", exitReason(c.err), c.tail())
	}
	var ee *exec.ExitError
	if c.err == nil || !errors.As(c.err, &ee) {
		return nil
	}
	ws, _ := ee.Sys().(syscall.WaitStatus)
	switch {
	case ee.ExitCode() == 0:
		return nil
	case ws.Signaled() && ((ws.Signal() == syscall.SIGTERM && termed) || (ws.Signal() == syscall.SIGKILL && killed)):
		return nil
	case ws.Signaled():
		// A signal stop did not send: the system was dying (killed from
		// outside, crashed) when stop was called.
		return fmt.Errorf("bench: system %s, not by the runner%s", exitReason(c.err), c.tail())
	}
	return fmt.Errorf("bench: system %s after SIGTERM%s", exitReason(c.err), c.tail())
}

// logTailLines is how many lines of the system's log an error about its
// exit quotes.
const logTailLines = 20

// tail is the end of the child's log (at most logTailLines lines) for an
// error message, each line indented, or "" when the log is empty.
func (c *child) tail() string {
	lines := logTail(c.logPath, logTailLines)
	if len(lines) == 0 {
		return fmt.Sprintf(" (log %s is empty)", c.logPath)
	}
	what := fmt.Sprintf("last %d lines", len(lines))
	if len(lines) == 1 {
		what = "last line"
	}
	return fmt.Sprintf("; %s of %s:\n    %s", what, c.logPath, strings.Join(lines, "\n    "))
}

// logTail returns the last n non-empty lines of the file at path, reading
// at most its last 64 KiB; lines longer than 500 bytes are clipped.
func logTail(path string, n int) []string {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	const window = 64 << 10
	st, err := f.Stat()
	if err != nil {
		return nil
	}
	off := max(st.Size()-window, 0)
	b := make([]byte, st.Size()-off)
	if _, err := f.ReadAt(b, off); err != nil && !errors.Is(err, io.EOF) {
		return nil
	}
	all := strings.Split(string(b), "\n")
	if off > 0 {
		all = all[1:] // the first line is cut
	}
	var out []string
	for i := len(all) - 1; i >= 0 && len(out) < n; i-- {
		l := strings.TrimRight(all[i], "\r")
		if strings.TrimSpace(l) == "" {
			continue
		}
		if len(l) > 500 {
			l = l[:500] + "…"
		}
		out = append(out, l)
	}
	slices.Reverse(out)
	return out
}

// exitReason says how a process waited for with err ended: "exited with
// status N", "killed by signal N (name)", or the error.
func exitReason(err error) string {
	var ee *exec.ExitError
	switch {
	case err == nil:
		return "exited with status 0"
	case errors.As(err, &ee):
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			s := fmt.Sprintf("killed by signal %d (%v)", int(ws.Signal()), ws.Signal())
			if ws.CoreDump() {
				s += ", core dumped"
			}
			return s
		}
		return fmt.Sprintf("exited with status %d", ee.ExitCode())
	default:
		return "ended: " + err.Error()
	}
}

// secretsToEnv returns args without the flags of server.SecretFlags (in
// "--flag value" and "--flag=value" form) and their values as
// CAMLOAD_SERVE_<FLAG>=value environment entries, which camload serve
// reads like the flags.
func secretsToEnv(args []string) (rest, env []string) {
	secret := map[string]bool{}
	for _, f := range server.SecretFlags() {
		secret[f] = true
	}
	for i := 0; i < len(args); i++ {
		a := args[i]
		name, val, hasVal := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if !strings.HasPrefix(a, "-") || !secret[name] {
			rest = append(rest, a)
			continue
		}
		if !hasVal {
			if i+1 >= len(args) {
				rest = append(rest, a) // serve reports the missing value
				continue
			}
			i++
			val = args[i]
		}
		env = append(env, "CAMLOAD_SERVE_"+strings.ToUpper(strings.ReplaceAll(name, "-", "_"))+"="+val)
	}
	return rest, env
}

// alive reports whether a process with pid exists (and is not a zombie we
// own).
func alive(pid int) bool {
	return syscall.Kill(pid, 0) == nil
}
