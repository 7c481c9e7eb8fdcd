package main

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"

	"github.com/camload/camload/internal/cli"
)

// The exit-code contract (internal/cli) under the names the tests use.
const (
	exitOK     = cli.ExitOK
	exitFailed = cli.ExitFailed
	exitUsage  = cli.ExitUsage
)

var (
	errFailed = cli.ErrFailed
	exitCode  = cli.ExitCode
)

// asCamloadEnv makes this test binary act as camload itself (TestMain),
// so that camload run can start it as the system: `TESTBINARY serve …`.
const asCamloadEnv = "CAMLOAD_CMD_TEST_AS_CAMLOAD"

func TestMain(m *testing.M) {
	if os.Getenv(asCamloadEnv) == "1" && len(os.Args) > 1 && os.Args[1] == "serve" {
		main()
	}
	os.Exit(m.Run())
}

// camload runs the CLI in-process and returns stdout, stderr and exit code.
func camload(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	ctx := context.Background()
	err := run(ctx, &out, &errb, args)
	code := exitCode(ctx, err, &errb)
	return out.String(), errb.String(), code
}

func TestVersion(t *testing.T) {
	out, _, code := camload(t, "version")
	if code != 0 || !strings.HasPrefix(out, "camload ") || !strings.Contains(out, "go1.") {
		t.Fatalf("camload version = %q, exit %d; want 'camload … go1.…', exit 0", out, code)
	}
}

func TestUsageErrorsExit2(t *testing.T) {
	for _, args := range [][]string{
		{"no-such-command"},      // unknown command
		{"version", "extra-arg"}, // too many arguments
		{"version", "--no-such"}, // unknown flag
	} {
		_, stderr, code := camload(t, args...)
		if code != exitUsage {
			t.Errorf("camload %v: exit %d (stderr %q); want %d", args, code, stderr, exitUsage)
		}
	}
}
