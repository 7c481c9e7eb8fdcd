// Package chromiumtest drives headless Chromium for the tests of camload's
// web pages (the runner's dashboard, the fleet's camera wall): it finds the
// browser, dumps the DOM a page builds or screenshots it, collects the
// console lines of the browser's log, and checks a page the way every such
// test does (no script error, no console message, counts of markers).
//
// The browser is named by CAMLOAD_CHROMIUM (.ci/run installs Debian's
// chromium and sets it); without it the tests skip.
package chromiumtest

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Env is the environment variable naming the browser binary.
const Env = "CAMLOAD_CHROMIUM"

// Browser returns the browser named by CAMLOAD_CHROMIUM, or skips the test
// with why it is not run (who sets it).
func Browser(t testing.TB, setBy string) string {
	t.Helper()
	b := os.Getenv(Env)
	if b == "" {
		t.Skipf("%s not set (%s runs this)", Env, setBy)
	}
	return b
}

// Page is one headless load of a URL.
type Page struct {
	// Browser is the Chromium binary.
	Browser string
	// ProfileDir is a fresh user-data directory (t.TempDir()).
	ProfileDir string
	// Budget is the virtual time the page gets to read its stream and
	// render before the dump or screenshot; zero means 10 s.
	Budget time.Duration
	// Timeout bounds the browser's real run time; zero means 120 s.
	Timeout time.Duration
}

var consoleLine = regexp.MustCompile(`CONSOLE|Uncaught|net::ERR_`)

// Load runs the browser on url with extra flags (--dump-dom,
// --screenshot=…) and returns its stdout and the console lines of its
// log. It does not touch a testing.T, so a test's own goroutine may call it.
func (p Page) Load(url string, extra ...string) (out, console string, err error) {
	budget, timeout := p.Budget, p.Timeout
	if budget == 0 {
		budget = 10 * time.Second
	}
	if timeout == 0 {
		timeout = 120 * time.Second
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	args := append([]string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--enable-logging=stderr", "--v=0", "--user-data-dir=" + p.ProfileDir,
		"--virtual-time-budget=" + strconv.FormatInt(budget.Milliseconds(), 10)}, extra...)
	cmd := exec.CommandContext(ctx, p.Browser, append(args, url)...)
	var stdout, log bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &log
	if err := cmd.Run(); err != nil {
		return "", "", fmt.Errorf("%s %s: %w\n%s", p.Browser, strings.Join(extra, " "), err, log.String())
	}
	var lines []string
	for _, l := range strings.Split(log.String(), "\n") {
		if consoleLine.MatchString(l) {
			lines = append(lines, l)
		}
	}
	return stdout.String(), strings.Join(lines, "\n"), nil
}

// MustLoad is Load that fails the test on a browser error.
func (p Page) MustLoad(t testing.TB, url string, extra ...string) (out, console string) {
	t.Helper()
	out, console, err := p.Load(url, extra...)
	if err != nil {
		t.Fatal(err)
	}
	return out, console
}

var jsErrors = regexp.MustCompile(`(?s)<pre id="js-errors">(.*?)</pre>`)

// Check asserts what every camload page promises: `<body data-errors="0">`
// and an empty `<pre id="js-errors">` (the pages catch their own script
// errors there), no console message, and want's markers counted exactly.
// what names the page's state in the messages.
func Check(t testing.TB, what, dom, console string, want map[string]int) {
	t.Helper()
	if !strings.Contains(dom, `<body data-errors="0">`) || !strings.Contains(dom, `<pre id="js-errors"></pre>`) {
		t.Errorf("%s page: script errors: %v", what, jsErrors.FindStringSubmatch(dom))
	}
	if console != "" {
		t.Errorf("%s page: console messages:\n%s", what, console)
	}
	for s, n := range want {
		if got := strings.Count(dom, s); got != n {
			t.Errorf("%s page: %d × %q; want %d", what, got, s, n)
		}
	}
}

// CheckPNG asserts that path holds a PNG of at least minBytes (a blank
// page compresses far below that).
func CheckPNG(t testing.TB, path string, minBytes int) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil || len(b) < minBytes || !bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")) {
		t.Errorf("screenshot %s: %d bytes, %v; want a PNG of at least %d bytes", path, len(b), err, minBytes)
	}
}
