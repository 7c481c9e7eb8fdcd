// Command camload is a load-testing and benchmarking harness for
// camera-processing backends. It only wires: the packages simulator, system,
// bench, scenarios and reports do the work.
package main

import (
	"context"
	"io"
	"os"
	"os/signal"
	"sort"
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
	if err != nil && cmd != nil && cli.IsCobraUsage(err) {
		return cfgerr.Usage("%v (see '%s --help')", err, cmd.CommandPath())
	}
	return err
}
