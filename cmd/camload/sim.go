package main

import (
	"fmt"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/camload/camload/internal/cli"
	"github.com/camload/camload/simulator"
)

func newSimCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "sim",
		Short:   "Run a fake-camera fleet until interrupted",
		Long:    help("sim"),
		Example: help("sim.example"),
		Args:    cobra.NoArgs,
	}
	fl := cmd.Flags()
	fl.String("config", "", "scenario YAML whose fleet: section fills the configuration")
	for _, s := range simulator.Settings {
		cli.Define(fl, s.Flag, s.Default, s.Usage)
	}
	var o simulator.CLIOptions
	fl.StringVar(&o.Shard, "shard", "", `serve shard k of n ("k/n", 1 ≤ k ≤ n ≤ hosts): the hosts h with h%n = k-1 and their cameras`)
	fl.StringSliceVar(&o.Peers, "peers", nil, "control URLs of the other shards: GET /cameras then lists the whole fleet")
	fl.BoolVar(&o.UI, "ui", false, "serve the camera wall on the control listener: GET /ui (cameras' frames and states, hosts' req/s and queues)")
	fl.IntVar(&o.FetchLog, "fetch-log", simulator.DefaultFetchLog, "snapshot requests kept in the fetch log (GET /fetches, /fetches/stats; 0: none)")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		cfg, err := simConfig(fl)
		if err != nil {
			return err
		}
		opts, err := o.Options()
		if err != nil {
			return err
		}
		f, err := simulator.New(cfg, opts...)
		if err != nil {
			return err
		}
		if err := f.Start(a.ctx); err != nil {
			return err
		}
		_ = simulator.WriteBanner(a.stdout, f, o.UI)
		<-a.ctx.Done()
		if err := f.Close(); err != nil {
			return fmt.Errorf("stopping the fleet: %w", err)
		}
		fmt.Fprintln(a.stdout, "camload sim: stopped")
		return nil
	}
	return cmd
}

// simConfig layers defaults, the --config file's fleet: section, the
// CAMLOAD_SIM_* environment and flags into a fleet configuration.
func simConfig(fl *pflag.FlagSet) (simulator.Config, error) {
	v := cli.Env(fl, simulator.EnvPrefix)
	return simulator.ConfigFromSettings(v.GetString("config"), func(flag string) (any, bool) {
		return v.Get(flag), fl.Changed(flag) || cli.EnvSet(simulator.EnvPrefix, flag)
	})
}
