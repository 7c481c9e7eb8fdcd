package simulator

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/spf13/cast"

	"github.com/camload/camload/internal/cfgerr"
)

// EnvPrefix is the prefix of the environment variables that set the
// fleet of `camload sim`: CAMLOAD_SIM_CAMERAS sets --cameras.
const EnvPrefix = "CAMLOAD_SIM"

// Setting is one command-line setting of a fleet's Config: a `camload
// sim` flag (also EnvPrefix_<FLAG>), the Config field it sets and how.
type Setting struct {
	// Flag is the flag name, e.g. "latency-median".
	Flag string
	// Field is the field path errors name, e.g. "fleet.latency.median".
	Field string
	// Usage documents the flag.
	Usage string
	// Default is the flag's default given DefaultConfig: int, int64,
	// float64, bool, time.Duration or string.
	Default any
	// set stores v in c; given reports whether another setting was given.
	set func(c *Config, v any, given func(flag string) bool) error
}

// Settings are the fleet flags of `camload sim`, in the order they apply:
// --latency before --latency-median, --fault-rate before --fault-KIND and
// --offline.
var Settings = func() []Setting {
	d := DefaultConfig
	intv := func(p func(*Config) *int) func(*Config, any, func(string) bool) error {
		return func(c *Config, x any, _ func(string) bool) (err error) { *p(c), err = cast.ToIntE(x); return }
	}
	durv := func(p func(*Config) *time.Duration) func(*Config, any, func(string) bool) error {
		return func(c *Config, x any, _ func(string) bool) (err error) { *p(c), err = cast.ToDurationE(x); return }
	}
	floatv := func(p func(*Config) *float64) func(*Config, any, func(string) bool) error {
		return func(c *Config, x any, _ func(string) bool) (err error) { *p(c), err = cast.ToFloat64E(x); return }
	}
	boolv := func(p func(*Config) *bool) func(*Config, any, func(string) bool) error {
		return func(c *Config, x any, _ func(string) bool) (err error) { *p(c), err = cast.ToBoolE(x); return }
	}
	strv := func(p func(*Config) *string) func(*Config, any, func(string) bool) error {
		return func(c *Config, x any, _ func(string) bool) (err error) { *p(c), err = cast.ToStringE(x); return }
	}
	lognormal := func(p func(*Config) *time.Duration) func(*Config, any, func(string) bool) error {
		return func(c *Config, x any, g func(string) bool) error {
			c.Latency.Dist = DistLognormal
			return durv(p)(c, x, g)
		}
	}
	s := []Setting{
		{"cameras", "fleet.cameras", "number of cameras (1…20000)", d.Cameras, intv(func(c *Config) *int { return &c.Cameras })},
		{"hosts", "fleet.hosts", "number of camera hosts", d.Hosts, intv(func(c *Config) *int { return &c.Hosts })},
		{"listen", "fleet.listen", "control API address; host i listens on port+1+i (port 0: free ports)", d.Listen, strv(func(c *Config) *string { return &c.Listen })},
		{"seed", "fleet.seed", "seed of inventory, frames, latency and faults", d.Seed, func(c *Config, x any, _ func(string) bool) (err error) {
			c.Seed, err = cast.ToInt64E(x)
			return
		}},
		{"latency", "fleet.latency", `latency: "0", "200ms", "uniform:MIN,MAX" or "lognormal:MEDIAN,P99"`, d.Latency.String(), func(c *Config, x any, _ func(string) bool) error {
			s, err := cast.ToStringE(x)
			if err != nil {
				return err
			}
			c.Latency, err = ParseLatency(s, c.Latency)
			return err
		}},
		{"latency-median", "fleet.latency.median", "lognormal latency median (with --latency-p99)", d.Latency.Median, lognormal(func(c *Config) *time.Duration { return &c.Latency.Median })},
		{"latency-p99", "fleet.latency.p99", "lognormal latency p99 (with --latency-median)", d.Latency.P99, lognormal(func(c *Config) *time.Duration { return &c.Latency.P99 })},
		{"latency-spread", "fleet.latency.spread", "per-camera latency variation, 0…1", d.Latency.Spread, floatv(func(c *Config) *float64 { return &c.Latency.Spread })},
		{"refresh", "fleet.refresh", "how often a camera's frame changes", d.Refresh, durv(func(c *Config) *time.Duration { return &c.Refresh })},
		{"capacity", "fleet.capacity.concurrent", "requests a host serves at once (0: no limit)", d.Capacity.Concurrent, intv(func(c *Config) *int { return &c.Capacity.Concurrent })},
		{"queue", "fleet.capacity.queue", "requests a host queues beyond its capacity", d.Capacity.Queue, intv(func(c *Config) *int { return &c.Capacity.Queue })},
		{"overflow", "fleet.capacity.overflow", `beyond the queue: "503" or "reset"`, d.Capacity.Overflow, strv(func(c *Config) *string { return &c.Capacity.Overflow })},
		{"device-capacity", "fleet.capacity.device.concurrent", "requests one camera serves at once, beneath its host's limit (0: no limit)", d.Capacity.Device.Concurrent, intv(func(c *Config) *int { return &c.Capacity.Device.Concurrent })},
		{"device-queue", "fleet.capacity.device.queue", "requests one camera queues beyond its capacity", d.Capacity.Device.Queue, intv(func(c *Config) *int { return &c.Capacity.Device.Queue })},
		{"device-overflow", "fleet.capacity.device.overflow", `beyond a camera's queue: "503", "reset" or "" (as --overflow)`, d.Capacity.Device.Overflow, strv(func(c *Config) *string { return &c.Capacity.Device.Overflow })},
		{"handshake", "fleet.capacity.handshake", "delay of each new connection before its first request", d.Capacity.Handshake, durv(func(c *Config) *time.Duration { return &c.Capacity.Handshake })},
		{"tls", "fleet.tls", "serve the hosts over TLS with a self-signed certificate", d.TLS, boolv(func(c *Config) *bool { return &c.TLS })},
		{"etag", "fleet.etag", "send ETags and answer If-None-Match with 304", d.ETag, boolv(func(c *Config) *bool { return &c.ETag })},
		{"fault-rate", "fleet.faults", "total per-request fault probability, spread over the kinds (0: no faults; default: per-kind defaults)", -1.0, func(c *Config, x any, given func(string) bool) error {
			r, err := cast.ToFloat64E(x)
			if err != nil {
				return err
			}
			if r < 0 || r > 1 {
				return fmt.Errorf("must be 0…1, got %g", r)
			}
			c.Faults = c.Faults.WithFaultRate(r)
			if r == 0 && !given("offline") {
				c.Faults.Offline = 0
			}
			return nil
		}},
	}
	for _, k := range []struct {
		name  string
		field func(*Config) *float64
	}{
		{"http-5xx", func(c *Config) *float64 { return &c.Faults.HTTP5xx }},
		{"hang", func(c *Config) *float64 { return &c.Faults.Hang }},
		{"reset", func(c *Config) *float64 { return &c.Faults.Reset }},
		{"truncated", func(c *Config) *float64 { return &c.Faults.Truncated }},
		{"garbage", func(c *Config) *float64 { return &c.Faults.Garbage }},
		{"slow-drip", func(c *Config) *float64 { return &c.Faults.SlowDrip }},
		{"oversized", func(c *Config) *float64 { return &c.Faults.Oversized }},
		{"placeholder", func(c *Config) *float64 { return &c.Faults.Placeholder }},
	} {
		s = append(s, Setting{"fault-" + k.name, "fleet.faults." + strings.ReplaceAll(k.name, "-", "_"),
			"probability per request of the " + k.name + " fault (overrides --fault-rate for this kind)", 0.0, floatv(k.field)})
	}
	return append(s,
		Setting{"offline", "fleet.faults.offline", "fraction of cameras offline for whole periods", d.Faults.Offline, floatv(func(c *Config) *float64 { return &c.Faults.Offline })},
		Setting{"offline-period", "fleet.faults.offline_period", "length of an offline period", d.Faults.OfflinePeriod, durv(func(c *Config) *time.Duration { return &c.Faults.OfflinePeriod })},
		Setting{"hang-for", "fleet.faults.hang_for", "how long a hung request is held", d.Faults.HangFor, durv(func(c *Config) *time.Duration { return &c.Faults.HangFor })},
		Setting{"width", "fleet.width", "frame width in pixels", d.Width, intv(func(c *Config) *int { return &c.Width })},
		Setting{"height", "fleet.height", "frame height in pixels", d.Height, intv(func(c *Config) *int { return &c.Height })},
		Setting{"quality", "fleet.quality", "JPEG quality, 1…100", d.Quality, intv(func(c *Config) *int { return &c.Quality })},
		Setting{"frames", "fleet.frames", "distinct frames rendered and shared by all cameras", DefaultFrames, intv(func(c *Config) *int { return &c.Frames })},
	)
}()

// ApplySettings sets, in Settings order, every setting that get reports
// given (a flag or its EnvPrefix variable) over base, then validates the
// result. Every bad value is a *cfgerr.Error naming its field, flag and
// variable.
func ApplySettings(base Config, get func(flag string) (v any, given bool)) (Config, error) {
	given := func(flag string) bool { _, ok := get(flag); return ok }
	var errs []error
	for _, s := range Settings {
		v, ok := get(s.Flag)
		if !ok {
			continue
		}
		if err := s.set(&base, v, given); err != nil {
			env := EnvPrefix + "_" + strings.ToUpper(strings.ReplaceAll(s.Flag, "-", "_"))
			errs = append(errs, cfgerr.Field(s.Field, "--%s / %s: %v", s.Flag, env, err))
		}
	}
	if len(errs) > 0 {
		return base, cfgerr.Join(errs...)
	}
	return base, base.Validate()
}

// CLIOptions are the settings of `camload sim` beyond the fleet's Config.
// The zero value keeps no fetch log and serves the whole fleet, without
// peers or camera wall.
type CLIOptions struct {
	// FetchLog is the number of snapshot requests kept in the fetch log
	// (WithFetchLog); 0 keeps none (the flag's default is
	// DefaultFetchLog). Negative fails Validate.
	FetchLog int
	// Shard is "k/n" (ParseShard) or "" for the whole fleet.
	Shard string
	// Peers are the control URLs of the other shards (WithPeers).
	Peers []string
	// UI serves the camera wall (WithUI).
	UI bool
}

// Validate reports a negative FetchLog or a malformed Shard, naming the
// flags.
func (o CLIOptions) Validate() error {
	_, err := o.Options()
	return err
}

// Options returns the fleet Options o stands for, or o's first error.
func (o CLIOptions) Options() ([]Option, error) {
	if o.FetchLog < 0 {
		return nil, cfgerr.Usage("--fetch-log: must be ≥ 0, got %d", o.FetchLog)
	}
	shard, err := ParseShard(o.Shard)
	if err != nil {
		return nil, cfgerr.Usage("--shard: %v", err)
	}
	opts := []Option{WithFetchLog(o.FetchLog), WithShard(shard), WithPeers(o.Peers)}
	if o.UI {
		opts = append(opts, WithUI())
	}
	return opts, nil
}

// WriteBanner writes what `camload sim` prints once f is started: the
// fleet, its shard, its control and host URLs and, with ui, the camera
// wall's URL.
func WriteBanner(w io.Writer, f *Fleet, ui bool) error {
	cfg, urls := f.Config(), f.HostURLs()
	fmt.Fprintf(w, "camload sim: %d cameras on %d hosts (seed %d, latency %s, capacity %d+%d, frames %d)\n",
		cfg.Cameras, cfg.Hosts, cfg.Seed, cfg.Latency, cfg.Capacity.Concurrent, cfg.Capacity.Queue, cfg.Frames)
	if s := f.Shard(); s.Count > 0 {
		fmt.Fprintf(w, "shard %s: %d cameras on %d hosts\n", s, len(f.Cameras()), len(urls))
	}
	_, err := fmt.Fprintf(w, "control %s\nhosts   %s … %s\n", f.ControlURL(), urls[0], urls[len(urls)-1])
	if ui {
		_, err = fmt.Fprintf(w, "camera wall %s/ui\n", f.ControlURL())
	}
	return err
}

// ConfigFromSettings is the fleet of `camload sim`: DefaultConfig, then
// the fleet: section of the scenario file (when file is not ""), then the
// settings get reports given (ApplySettings), validated.
func ConfigFromSettings(file string, get func(flag string) (v any, given bool)) (Config, error) {
	cfg := DefaultConfig
	if file != "" {
		var err error
		if cfg, err = LoadConfigFile(file, cfg); err != nil {
			return cfg, err
		}
	}
	return ApplySettings(cfg, get)
}

// FetchInventory reads the cameras of the fleet whose control URL is
// controlURL (FetchFleetCameras), giving up after 30 s (10 s a request).
func FetchInventory(ctx context.Context, controlURL string) ([]Camera, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	return FetchFleetCameras(ctx, &http.Client{Timeout: 10 * time.Second}, controlURL)
}
