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
	cmd   *exec.Cmd
	stdin io.WriteCloser
	log   *os.File
	grace time.Duration // between SIGTERM and SIGKILL
	done  chan struct{} // closed when the process has been waited for
	err   error         // Wait's error, valid after done

	API   string // http://127.0.0.1:PORT
	Admin string
	Pid   int
}

// startChild starts bin with args (the serve flags, without --ready-file
// and --exit-with-stdin, which it adds), logs its output to logPath and
// waits until its ready file appears and its admin /readyz answers 200, or
// until timeout / ctx. On error the child is stopped.
func startChild(ctx context.Context, bin string, args []string, dir, logPath string, timeout, grace time.Duration) (*child, error) {
	readyFile := filepath.Join(dir, "ready.json")
	_ = os.Remove(readyFile)
	args = append(append([]string{}, args...), "--ready-file", readyFile, "--exit-with-stdin")
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("bench: system log: %w", err)
	}
	cmd := exec.Command(bin, args...)
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
	c := &child{cmd: cmd, stdin: stdin, log: logf, grace: grace, done: make(chan struct{})}
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
			return fmt.Errorf("system exited: %v", c.err)
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
// after its grace period (Options.StopGrace). It returns once the process has been waited for and is
// safe to call more than once.
func (c *child) stop() error {
	if c == nil {
		return nil
	}
	select {
	case <-c.done:
	default:
		_ = syscall.Kill(-c.Pid, syscall.SIGTERM)
		_ = c.stdin.Close()
		t := time.NewTimer(c.grace)
		select {
		case <-c.done:
			t.Stop()
		case <-t.C:
			_ = syscall.Kill(-c.Pid, syscall.SIGKILL)
			<-c.done
		}
	}
	// Whatever the leader did, no member of its group may outlive it.
	_ = syscall.Kill(-c.Pid, syscall.SIGKILL)
	_ = c.stdin.Close()
	c.log.Close()
	var ee *exec.ExitError
	if c.err != nil && !(errors.As(c.err, &ee) && (ee.ExitCode() == 0 || ee.ExitCode() == -1)) {
		return fmt.Errorf("bench: system exited: %w", c.err)
	}
	return nil
}

// alive reports whether a process with pid exists (and is not a zombie we
// own).
func alive(pid int) bool {
	return syscall.Kill(pid, 0) == nil
}
