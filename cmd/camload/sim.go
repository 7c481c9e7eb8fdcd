package main

import (
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cast"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"github.com/spf13/viper"

	"github.com/camload/camload/internal/cfgerr"
	"github.com/camload/camload/simulator"
)

func init() { register("sim", newSimCmd) }

func newSimCmd(a *app) *cobra.Command {
	d := simulator.DefaultConfig
	cmd := &cobra.Command{
		Use:   "sim",
		Short: "Run a fake-camera fleet until interrupted",
		Long: `Run a fake-camera fleet: a control API on --listen (GET /cameras, /cameras/{id}/truth,
/faults, /fetches, /fetches/stats, /metrics, /healthz) and --hosts camera hosts on
the next ports, serving GET /cameras/{id}/snapshot.jpg. --shard k/n serves only
hosts h with h%n = k-1 and their cameras (same ids as the whole fleet); with
--peers the other shards' control URLs, GET /cameras lists the whole fleet. --ui
adds the camera wall on the control listener (GET /ui): every camera's current
frame and state (serving, idle, hung, faulting, offline), each host's req/s,
in-flight requests and queue depth, refreshed every second. Settings come from, lowest first: defaults, the
fleet: section of --config, CAMLOAD_SIM_* environment variables (e.g.
CAMLOAD_SIM_CAMERAS=1000, CAMLOAD_SIM_FAULT_RATE=0), and flags.

--latency takes "0" (none), "200ms" (constant), "uniform:100ms,2s" or
"lognormal:MEDIAN,P99". --fault-rate spreads one probability over the
per-request fault kinds in the default proportions; --fault-rate 0 also turns
offline periods off unless --offline is given. --fault-KIND sets one kind's
probability after that.`,
		Example: `  camload sim --cameras 1000 --hosts 10 --listen 127.0.0.1:8700
  camload sim --cameras 1000 --hosts 1 --latency 0 --fault-rate 0
  camload sim --config scenarios/modes.yaml --cameras 1000   # first of fleet.cameras unless --cameras`,
		Args: cobra.NoArgs,
	}
	fl := cmd.Flags()
	fl.String("config", "", "scenario YAML whose fleet: section fills the configuration")
	fl.Int("cameras", d.Cameras, "number of cameras (1…20000)")
	fl.Int("hosts", d.Hosts, "number of camera hosts")
	fl.String("listen", d.Listen, "control API address; host i listens on port+1+i (port 0: free ports)")
	fl.Int64("seed", d.Seed, "seed of inventory, frames, latency and faults")
	fl.String("latency", d.Latency.String(), `latency: "0", "200ms", "uniform:MIN,MAX" or "lognormal:MEDIAN,P99"`)
	fl.Duration("latency-median", d.Latency.Median, "lognormal latency median (with --latency-p99)")
	fl.Duration("latency-p99", d.Latency.P99, "lognormal latency p99 (with --latency-median)")
	fl.Float64("latency-spread", d.Latency.Spread, "per-camera latency variation, 0…1")
	fl.Duration("refresh", d.Refresh, "how often a camera's frame changes")
	fl.Int("capacity", d.Capacity.Concurrent, "requests a host serves at once (0: no limit)")
	fl.Int("queue", d.Capacity.Queue, "requests a host queues beyond its capacity")
	fl.String("overflow", d.Capacity.Overflow, `beyond the queue: "503" or "reset"`)
	fl.Int("device-capacity", d.Capacity.Device.Concurrent, "requests one camera serves at once, beneath its host's limit (0: no limit)")
	fl.Int("device-queue", d.Capacity.Device.Queue, "requests one camera queues beyond its capacity")
	fl.String("device-overflow", d.Capacity.Device.Overflow, `beyond a camera's queue: "503", "reset" or "" (as --overflow)`)
	fl.Duration("handshake", d.Capacity.Handshake, "delay of each new connection before its first request")
	fl.Bool("tls", d.TLS, "serve the hosts over TLS with a self-signed certificate")
	fl.Bool("etag", d.ETag, "send ETags and answer If-None-Match with 304")
	fl.Float64("fault-rate", -1, "total per-request fault probability, spread over the kinds (0: no faults; default: per-kind defaults)")
	for _, k := range faultFlags {
		fl.Float64("fault-"+k.name, 0, "probability per request of the "+k.name+" fault (overrides --fault-rate for this kind)")
	}
	fl.Float64("offline", d.Faults.Offline, "fraction of cameras offline for whole periods")
	fl.Duration("offline-period", d.Faults.OfflinePeriod, "length of an offline period")
	fl.Duration("hang-for", d.Faults.HangFor, "how long a hung request is held")
	fl.Int("width", d.Width, "frame width in pixels")
	fl.Int("height", d.Height, "frame height in pixels")
	fl.Int("quality", d.Quality, "JPEG quality, 1…100")
	fl.Int("frames", simulator.DefaultFrames, "distinct frames rendered and shared by all cameras")
	fl.String("shard", "", `serve shard k of n ("k/n", 1 ≤ k ≤ n ≤ hosts): the hosts h with h%n = k-1 and their cameras`)
	fl.StringSlice("peers", nil, "control URLs of the other shards: GET /cameras then lists the whole fleet")
	fl.Bool("ui", false, "serve the camera wall on the control listener: GET /ui (cameras' frames and states, hosts' req/s and queues)")
	fl.Int("fetch-log", simulator.DefaultFetchLog, "snapshot requests kept in the fetch log (GET /fetches, /fetches/stats; 0: none)")

	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		cfg, err := simConfig(fl)
		if err != nil {
			return err
		}
		n, _ := fl.GetInt("fetch-log")
		if n < 0 {
			return cfgerr.Usage("--fetch-log: must be ≥ 0, got %d", n)
		}
		shard, err := simulator.ParseShard(must(fl.GetString("shard")))
		if err != nil {
			return cfgerr.Usage("--shard: %v", err)
		}
		peers, _ := fl.GetStringSlice("peers")
		opts := []simulator.Option{simulator.WithFetchLog(n), simulator.WithShard(shard), simulator.WithPeers(peers)}
		ui, _ := fl.GetBool("ui")
		if ui {
			opts = append(opts, simulator.WithUI())
		}
		f, err := simulator.New(cfg, opts...)
		if err != nil {
			return err
		}
		if err := f.Start(a.ctx); err != nil {
			return err
		}
		urls := f.HostURLs()
		fmt.Fprintf(a.stdout, "camload sim: %d cameras on %d hosts (seed %d, latency %s, capacity %d+%d, frames %d)\n",
			cfg.Cameras, cfg.Hosts, cfg.Seed, cfg.Latency, cfg.Capacity.Concurrent, cfg.Capacity.Queue, f.Config().Frames)
		if shard.Count > 0 {
			fmt.Fprintf(a.stdout, "shard %s: %d cameras on %d hosts\n", shard, len(f.Cameras()), len(urls))
		}
		fmt.Fprintf(a.stdout, "control %s\nhosts   %s … %s\n", f.ControlURL(), urls[0], urls[len(urls)-1])
		if ui {
			fmt.Fprintf(a.stdout, "camera wall %s/ui\n", f.ControlURL())
		}
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
	v := viper.New()
	v.SetEnvPrefix("CAMLOAD_SIM")
	v.SetEnvKeyReplacer(strings.NewReplacer("-", "_"))
	v.AutomaticEnv()
	if err := v.BindPFlags(fl); err != nil {
		return simulator.Config{}, fmt.Errorf("binding flags: %w", err)
	}
	cfg := simulator.DefaultConfig
	if path := v.GetString("config"); path != "" {
		var err error
		if cfg, err = simulator.LoadConfigFile(path, cfg); err != nil {
			return cfg, err
		}
	}
	var errs []error
	set := func(key string) bool { return fl.Changed(key) || envSet(key) }
	get := func(key, field string, conv func(any) error) {
		if !set(key) {
			return
		}
		if err := conv(v.Get(key)); err != nil {
			errs = append(errs, cfgerr.Field(field, "--%s / CAMLOAD_SIM_%s: %v", key, strings.ToUpper(strings.ReplaceAll(key, "-", "_")), err))
		}
	}
	intv := func(p *int) func(any) error {
		return func(x any) (err error) { *p, err = cast.ToIntE(x); return }
	}
	durv := func(p *time.Duration) func(any) error {
		return func(x any) (err error) { *p, err = cast.ToDurationE(x); return }
	}
	floatv := func(p *float64) func(any) error {
		return func(x any) (err error) { *p, err = cast.ToFloat64E(x); return }
	}
	boolv := func(p *bool) func(any) error {
		return func(x any) (err error) { *p, err = cast.ToBoolE(x); return }
	}
	get("cameras", "fleet.cameras", intv(&cfg.Cameras))
	get("hosts", "fleet.hosts", intv(&cfg.Hosts))
	get("listen", "fleet.listen", func(x any) (err error) { cfg.Listen, err = cast.ToStringE(x); return })
	get("seed", "fleet.seed", func(x any) (err error) { cfg.Seed, err = cast.ToInt64E(x); return })
	get("latency", "fleet.latency", func(x any) error {
		s, err := cast.ToStringE(x)
		if err != nil {
			return err
		}
		cfg.Latency, err = simulator.ParseLatency(s, cfg.Latency)
		return err
	})
	if set("latency-median") || set("latency-p99") {
		cfg.Latency.Dist = simulator.DistLognormal
		get("latency-median", "fleet.latency.median", durv(&cfg.Latency.Median))
		get("latency-p99", "fleet.latency.p99", durv(&cfg.Latency.P99))
	}
	get("latency-spread", "fleet.latency.spread", floatv(&cfg.Latency.Spread))
	get("refresh", "fleet.refresh", durv(&cfg.Refresh))
	get("capacity", "fleet.capacity.concurrent", intv(&cfg.Capacity.Concurrent))
	get("queue", "fleet.capacity.queue", intv(&cfg.Capacity.Queue))
	get("overflow", "fleet.capacity.overflow", func(x any) (err error) { cfg.Capacity.Overflow, err = cast.ToStringE(x); return })
	get("device-capacity", "fleet.capacity.device.concurrent", intv(&cfg.Capacity.Device.Concurrent))
	get("device-queue", "fleet.capacity.device.queue", intv(&cfg.Capacity.Device.Queue))
	get("device-overflow", "fleet.capacity.device.overflow", func(x any) (err error) { cfg.Capacity.Device.Overflow, err = cast.ToStringE(x); return })
	get("handshake", "fleet.capacity.handshake", durv(&cfg.Capacity.Handshake))
	get("tls", "fleet.tls", boolv(&cfg.TLS))
	get("etag", "fleet.etag", boolv(&cfg.ETag))
	get("fault-rate", "fleet.faults", func(x any) error {
		r, err := cast.ToFloat64E(x)
		if err != nil {
			return err
		}
		if r < 0 || r > 1 {
			return fmt.Errorf("must be 0…1, got %g", r)
		}
		cfg.Faults = cfg.Faults.WithFaultRate(r)
		if r == 0 && !set("offline") {
			cfg.Faults.Offline = 0
		}
		return nil
	})
	for _, k := range faultFlags {
		get("fault-"+k.name, "fleet.faults."+strings.ReplaceAll(k.name, "-", "_"), floatv(k.field(&cfg.Faults)))
	}
	get("offline", "fleet.faults.offline", floatv(&cfg.Faults.Offline))
	get("offline-period", "fleet.faults.offline_period", durv(&cfg.Faults.OfflinePeriod))
	get("hang-for", "fleet.faults.hang_for", durv(&cfg.Faults.HangFor))
	get("width", "fleet.width", intv(&cfg.Width))
	get("height", "fleet.height", intv(&cfg.Height))
	get("quality", "fleet.quality", intv(&cfg.Quality))
	get("frames", "fleet.frames", intv(&cfg.Frames))
	if len(errs) > 0 {
		return cfg, cfgerr.Join(errs...)
	}
	return cfg, cfg.Validate()
}

// must drops the error of a flag getter whose flag is defined.
func must[T any](v T, _ error) T { return v }

// faultFlags are the per-kind --fault-KIND flags.
var faultFlags = []struct {
	name  string
	field func(*simulator.FaultConfig) *float64
}{
	{"http-5xx", func(f *simulator.FaultConfig) *float64 { return &f.HTTP5xx }},
	{"hang", func(f *simulator.FaultConfig) *float64 { return &f.Hang }},
	{"reset", func(f *simulator.FaultConfig) *float64 { return &f.Reset }},
	{"truncated", func(f *simulator.FaultConfig) *float64 { return &f.Truncated }},
	{"garbage", func(f *simulator.FaultConfig) *float64 { return &f.Garbage }},
	{"slow-drip", func(f *simulator.FaultConfig) *float64 { return &f.SlowDrip }},
	{"oversized", func(f *simulator.FaultConfig) *float64 { return &f.Oversized }},
	{"placeholder", func(f *simulator.FaultConfig) *float64 { return &f.Placeholder }},
}

// envSet reports whether key's CAMLOAD_SIM_* variable is present.
func envSet(key string) bool {
	_, ok := os.LookupEnv("CAMLOAD_SIM_" + strings.ToUpper(strings.ReplaceAll(key, "-", "_")))
	return ok
}
