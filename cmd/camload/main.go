// Command camload is a load-testing and benchmarking harness for
// camera-processing backends. It only wires: the packages simulator, system,
// bench, scenarios and reports do the work.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/camload/camload/internal/cfgerr"
	"github.com/camload/camload/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Stdout, os.Stderr, os.Args[1:])
	// The exit code is decided before stop(): stop cancels ctx, which
	// would make every error look like an interruption (exit 130).
	code := cli.ExitCode(ctx, err, os.Stderr)
	stop()
	os.Exit(code)
}

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

func newVersionCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print camload's version, commit and Go version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := fmt.Fprintln(a.stdout, cli.VersionLine(version))
			return err
		},
	}
}

// app is what every subcommand gets: the streams and the context.
type app struct {
	ctx    context.Context
	stdout io.Writer
	stderr io.Writer
}

// logf writes one line to stderr.
func (a *app) logf(format string, args ...any) { fmt.Fprintf(a.stderr, format+"\n", args...) }

// subcommands are the commands under camload, one file each.
var subcommands = []func(*app) *cobra.Command{newAttackCmd, newCompareCmd, newGateCmd, newReportCmd,
	newRunCmd, newScenarioCmd, newServeCmd, newSimCmd, newVersionCmd}

// run builds the command tree and executes args. It never exits.
func run(ctx context.Context, stdout, stderr io.Writer, args []string) error {
	root := newRoot(&app{ctx: ctx, stdout: stdout, stderr: stderr})
	root.SetArgs(args)
	cmd, err := root.ExecuteContextC(ctx)
	if err != nil && cmd != nil && cli.IsCobraUsage(err) {
		return cfgerr.Usage("%v (see '%s --help')", err, cmd.CommandPath())
	}
	return err
}

// newRoot returns the command tree writing to a's streams.
func newRoot(a *app) *cobra.Command {
	root := &cobra.Command{
		Use:           "camload",
		Short:         "Load-testing and benchmarking harness for camera-processing backends",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(a.stdout)
	root.SetErr(a.stderr)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return cfgerr.Usage("%v", err) })
	for _, f := range subcommands {
		root.AddCommand(f(a))
	}
	return root
}
