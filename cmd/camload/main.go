// Command camload is a load-testing and benchmarking harness for
// camera-processing backends. It only wires: the packages simulator, system,
// bench, scenarios and reports do the work.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/camload/camload/internal/cfgerr"
)

// Exit codes.
const (
	exitOK          = 0
	exitFailed      = 1 // a failed gate or run
	exitUsage       = 2 // usage or configuration error
	exitInterrupted = 130
)

// errFailed marks a run that completed but failed (gate, threshold). Bare,
// its message has already been written; wrapped, exitCode prints
// "camload: failed: <cause>" (no "camload:" of its own, so the prefix is
// not doubled).
var errFailed = errors.New("failed")

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Stdout, os.Stderr, os.Args[1:])
	// The exit code is decided before stop(): stop cancels ctx, which
	// would make every error look like an interruption (exit 130).
	code := exitCode(ctx, err, os.Stderr)
	stop()
	os.Exit(code)
}

// exitCode maps err to the process exit code and reports it on stderr.
func exitCode(ctx context.Context, err error, stderr io.Writer) int {
	switch {
	case err == nil:
		return exitOK
	case ctx.Err() != nil || errors.Is(err, context.Canceled):
		fmt.Fprintln(stderr, "camload: interrupted:", err)
		return exitInterrupted
	case errors.Is(err, errFailed):
		if err != errFailed {
			fmt.Fprintln(stderr, "camload:", err)
		}
		return exitFailed
	case cfgerr.Is(err):
		fmt.Fprintln(stderr, "camload:", err)
		return exitUsage
	default:
		fmt.Fprintln(stderr, "camload:", err)
		return exitFailed
	}
}

// app is what every subcommand gets: the streams and the context.
type app struct {
	ctx    context.Context
	stdout io.Writer
	stderr io.Writer
}

// subcommands are added by the init functions of this package's files, one
// file per subcommand.
var subcommands = map[string]func(*app) *cobra.Command{}

func register(name string, f func(*app) *cobra.Command) { subcommands[name] = f }

// run builds the command tree and executes args. It never exits.
func run(ctx context.Context, stdout, stderr io.Writer, args []string) error {
	a := &app{ctx: ctx, stdout: stdout, stderr: stderr}
	root := &cobra.Command{
		Use:           "camload",
		Short:         "Load-testing and benchmarking harness for camera-processing backends",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetArgs(args)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return cfgerr.Usage("%v", err) })
	names := make([]string, 0, len(subcommands))
	for n := range subcommands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		root.AddCommand(subcommands[n](a))
	}
	cmd, err := root.ExecuteContextC(ctx)
	if err != nil && cmd != nil && isCobraUsage(err) {
		return cfgerr.Usage("%v (see '%s --help')", err, cmd.CommandPath())
	}
	return err
}

// isCobraUsage reports whether err is one of cobra's own usage errors
// (unknown command, wrong number of arguments).
func isCobraUsage(err error) bool {
	if cfgerr.Is(err) || errors.Is(err, errFailed) || errors.Is(err, context.Canceled) {
		return false
	}
	msg := err.Error()
	for _, p := range []string{"unknown command", "accepts ", "requires ", "unknown flag", "unknown shorthand", "invalid argument"} {
		if strings.Contains(msg, p) {
			return true
		}
	}
	return false
}
