package main

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

func init() { register("version", newVersionCmd) }

// buildInfo returns the camload version and the VCS commit it was built
// from, when the Go toolchain recorded one.
func buildInfo() (ver, commit string) {
	ver, commit = version, "unknown"
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" {
				commit = s.Value
			}
			if s.Key == "vcs.modified" && s.Value == "true" {
				commit += "-dirty"
			}
		}
	}
	return ver, commit
}

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
