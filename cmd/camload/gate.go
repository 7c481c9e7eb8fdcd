package main

import (
	"github.com/spf13/cobra"

	"github.com/camload/camload/internal/cli"
	"github.com/camload/camload/reports"
	"github.com/camload/camload/reports/gate"
)

func newGateCmd(a *app) *cobra.Command {
	var (
		g        gate.Options
		baseline string
	)
	cmd := &cobra.Command{
		Use:   "gate [--threshold RULE] [--expect RULE] [--baseline base.json] results.json",
		Short: "Judge a run's rules and cells and, with a baseline, regressions (exit 1 on failure)",
		Long:  help("gate"),
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			head, base, err := reports.ReadRunAndBaseline(args[0], baseline)
			if err != nil {
				return err
			}
			v, err := gate.Judge(head, base, g)
			if err != nil {
				return err
			}
			if err := v.Write(a.stdout); err != nil {
				return err
			}
			if v.Failed() {
				return cli.ErrFailed
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&baseline, "baseline", "", "results.json (or run folder) of the baseline run")
	cli.Gate(cmd.Flags(), &g)
	return cmd
}
