package dashboard

import (
	"context"
	"errors"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/camload/camload/internal/cfgerr"
	"github.com/camload/camload/internal/loopback"
)

// LiveOptions configure Serve: the dashboard of `camload run --dashboard`.
// Errors name that command's flags.
type LiveOptions struct {
	// Addr is the host:port to listen on (port 0: a free port). "" means
	// no dashboard: Validate accepts it, Serve refuses it.
	Addr string
	// Expose allows an Addr that is not loopback; false (the zero value)
	// refuses one, like the system's admin port: the page serves the run
	// folder.
	Expose bool
	// Dir is the run folder (created if missing), served read-only under
	// /files/. Required.
	Dir string
	// Linger is how long Finish keeps serving after the run; zero means
	// not at all (the value in CI). Negative fails Validate.
	Linger time.Duration
}

// EnvAddr names the variable that sets Addr when --dashboard is not
// given (WithEnv).
const EnvAddr = "CAMLOAD_DASHBOARD"

// WithEnv returns o completed from the environment (getenv): Addr from
// EnvAddr unless addrGiven, and Linger 0 when CI is set unless
// lingerGiven (nobody looks at a dashboard in CI).
func (o LiveOptions) WithEnv(getenv func(string) string, addrGiven, lingerGiven bool) LiveOptions {
	if !addrGiven {
		o.Addr = getenv(EnvAddr)
	}
	if !lingerGiven && getenv("CI") != "" {
		o.Linger = 0
	}
	return o
}

// DefaultLinger is the Linger of `camload run` outside CI: time to look
// at the final state and open report.html.
const DefaultLinger = 30 * time.Second

// Validate refuses a negative Linger, an Addr that is not host:port and
// one not on loopback unless Expose.
func (o LiveOptions) Validate() error {
	if o.Linger < 0 {
		return cfgerr.Field("--dashboard-linger", "%s: must be ≥ 0", o.Linger)
	}
	if o.Addr == "" {
		return nil
	}
	if _, _, err := net.SplitHostPort(o.Addr); err != nil {
		return cfgerr.Field("--dashboard", "%q: not host:port: %v", o.Addr, err)
	}
	if o.Expose || loopback.Addr(o.Addr) {
		return nil
	}
	return cfgerr.Field("--dashboard", "%q is not a loopback address (127.0.0.1:PORT, [::1]:PORT or localhost:PORT); pass --expose to serve it on another interface", o.Addr)
}

// Live is a Hub served over HTTP during a run. Its server goroutine is
// owned by Live and ends in Finish or Close.
type Live struct {
	Hub  *Hub
	URL  string // http://HOST:PORT/
	root *os.Root
	srv  *http.Server
	done chan error
}

// Serve validates o and serves a new Hub on o.Addr with o.Dir under
// /files/. The server has no WriteTimeout (the event stream is
// long-lived; the hub bounds each write itself).
func Serve(o LiveOptions) (*Live, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	if o.Addr == "" {
		return nil, errors.New("dashboard: LiveOptions.Addr is required")
	}
	if err := os.MkdirAll(o.Dir, 0o755); err != nil {
		return nil, err
	}
	root, err := os.OpenRoot(o.Dir)
	if err != nil {
		return nil, err
	}
	hub, err := New(Options{Files: root.FS()})
	if err != nil {
		root.Close()
		return nil, err
	}
	ln, err := net.Listen("tcp", o.Addr)
	if err != nil {
		root.Close()
		return nil, cfgerr.Field("--dashboard", "%v", err)
	}
	d := &Live{Hub: hub, URL: "http://" + ln.Addr().String() + "/", root: root, done: make(chan error, 1),
		srv: &http.Server{Handler: hub, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: time.Minute}}
	go func() { // owner: Live; ends at Close (Shutdown)
		err := d.srv.Serve(ln)
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		d.done <- err
	}()
	return d, nil
}

// Finish publishes final (the run-finished event), keeps serving for
// linger or until ctx ends (telling logf so when linger > 0), then closes.
func (d *Live) Finish(ctx context.Context, final Event, linger time.Duration, logf func(format string, args ...any)) error {
	_ = d.Hub.Publish(final)
	if linger > 0 && ctx.Err() == nil {
		if logf != nil {
			logf("dashboard: %s stays up for %s (Ctrl-C to stop)", d.URL, linger)
		}
		t := time.NewTimer(linger)
		select {
		case <-t.C:
		case <-ctx.Done():
		}
		t.Stop()
	}
	return d.Close()
}

// Close ends the streams, stops the server (waiting up to 5 s for the
// streams to send what they were sent) and closes the run folder.
func (d *Live) Close() error {
	_ = d.Hub.Close()
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := d.srv.Shutdown(sctx)
	if err != nil {
		_ = d.srv.Close()
	}
	if serr := <-d.done; serr != nil && err == nil {
		err = serr
	}
	if cerr := d.root.Close(); cerr != nil && err == nil {
		err = cerr
	}
	return err
}
