package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/camload/camload/scenarios"
)

func newScenarioCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "scenario",
		Short: "Work with scenario files",
	}
	cmd.AddCommand(&cobra.Command{
		Use:     "validate FILE...",
		Short:   "Check scenario files: prints OK, or every error with file, line and field (exit 2)",
		Example: help("scenario-validate.example"),
		Args:    cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var errs []error
			for _, f := range args {
				sc, err := scenarios.Load(f)
				if err != nil {
					errs = append(errs, err)
					continue
				}
				fmt.Fprintf(a.stdout, "%s: OK (%s: %d cells = %d camera counts × %d modes × %d repetitions)\n",
					f, sc.Name, sc.Cells(), len(sc.Fleet.Cameras), len(sc.System.Modes), sc.Repeat)
				for _, w := range sc.Warnings() {
					fmt.Fprintf(a.stderr, "%s: warning: %s\n", f, w)
				}
			}
			return errors.Join(errs...)
		},
	})
	return cmd
}
