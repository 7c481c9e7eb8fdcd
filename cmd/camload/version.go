package main

import (
	"fmt"
	"runtime"

	"github.com/spf13/cobra"

	"github.com/camload/camload/internal/cli"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

// buildInfo returns the camload version and the commit it was built from.
func buildInfo() (ver, commit string) { return cli.BuildInfo(version) }

func newVersionCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print camload's version, commit and Go version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ver, commit := buildInfo()
			_, err := fmt.Fprintf(a.stdout, "camload %s (commit %s, %s %s/%s)\n", ver, commit, runtime.Version(), runtime.GOOS, runtime.GOARCH)
			return err
		},
	}
}
