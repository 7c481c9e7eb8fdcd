package main

import (
	"errors"
	"fmt"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/camload/camload/bench"
	"github.com/camload/camload/internal/cfgerr"
	"github.com/camload/camload/reports"
	"github.com/camload/camload/scenarios"
	"github.com/camload/camload/simulator"
)

func newAttackCmd(a *app) *cobra.Command {
	var (
		o     bench.NodeOptions
		fleet string
	)
	cmd := &cobra.Command{
		Use:     "attack --target URL [--fleet URL] --out DIR SCENARIO.yaml",
		Short:   "Run only a scenario's load targets against a system, as one load node",
		Long:    help("attack"),
		Example: help("attack.example"),
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			sc, err := scenarios.Load(args[0])
			if err != nil {
				return err
			}
			if err := o.Validate(); err != nil {
				return err
			}
			if fleet != "" {
				if o.Cameras, err = simulator.FetchInventory(a.ctx, fleet); err != nil {
					return fmt.Errorf("attack: reading the fleet's cameras: %w", err)
				}
			}
			n, err := bench.AttackNode(a.ctx, sc, o)
			if errors.Is(err, bench.ErrRemote) {
				return cfgerr.Usage("--target: %v", err)
			}
			if err != nil {
				return err
			}
			if err := reports.WriteNodeMarkdown(a.stdout, n); err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "results: %s\n", filepath.Join(o.OutDir, "attack.json"))
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&o.BaseURL, "target", "", "base URL of the system's API, e.g. http://127.0.0.1:8080")
	fl.StringVar(&fleet, "fleet", "", "the fleet's control URL, for {{id}} in target paths")
	fl.StringVarP(&o.OutDir, "out", "o", "", "node folder to write (.bin files, attack.json)")
	fl.BoolVar(&o.AllowRemote, "allow-remote", false, "allow a target that is not on loopback")
	fl.Int64Var(&o.Seed, "seed", 0, "seed of the URL draws (default: the scenario's)")
	return cmd
}
