package main

import (
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/viper"

	"github.com/camload/camload/internal/cfgerr"
	"github.com/camload/camload/system"
	"github.com/camload/camload/system/backends"
	"github.com/camload/camload/system/group"
	"github.com/camload/camload/system/server"
)

func init() { register("serve", newServeCmd) }

// serveViper returns the viper instance bound to cmd's flags and the
// CAMLOAD_SERVE_* environment.
func serveViper(cmd *cobra.Command) *viper.Viper {
	v := viper.New()
	_ = v.BindPFlags(cmd.Flags())
	v.SetEnvPrefix("CAMLOAD_SERVE")
	v.SetEnvKeyReplacer(strings.NewReplacer("-", "_"))
	v.AutomaticEnv()
	return v
}

func newServeCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the camera-processing system under test (poll → analyze → store → API)",
		Long: `serve runs the camera-processing system: it loads the camera registry from
the fleet, runs cycles (POST /api/v1/cycles, or every --interval) and serves the
JSON API on --listen and /metrics, /debug/pprof, /healthz, /readyz on --admin.
Both listen on loopback only unless --expose is given.
Every flag can also be set as CAMLOAD_SERVE_<FLAG> (upper case, - → _).
Pass URIs with passwords that way (CAMLOAD_SERVE_MONGO_URI,
CAMLOAD_SERVE_REDIS_URL, CAMLOAD_SERVE_FERRETDB_POSTGRES): the command line
is visible to every user (ps); /debug/pprof/cmdline hides passwords.
Knob flags override the preset of --mode.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o, level, err := serveConfig(serveViper(cmd))
			if err != nil {
				return err
			}
			o.Logger = slog.New(slog.NewTextHandler(a.stderr, &slog.HandlerOptions{Level: level}))
			for _, name := range server.SecretFlags() {
				if f := cmd.Flags().Lookup(name); f != nil && f.Changed && server.HasPassword(f.Value.String()) {
					o.Logger.Warn("--"+name+" has a password on the command line, where ps shows it to every user; set "+envName(name)+" instead", "flag", name)
				}
			}
			return server.Run(cmd.Context(), o)
		},
	}
	f := cmd.Flags()
	f.String("mode", string(system.ModeBatched), "mode preset: sync, async, pooled, cached, batched or resilient")
	f.String("fleet", "http://127.0.0.1:8700", "the fleet's control URL")
	f.String("listen", "127.0.0.1:8080", "API listen address (port 0 = any free port)")
	f.String("admin", "127.0.0.1:8081", "admin listen address: /metrics, /debug/pprof, /healthz, /readyz")
	f.Bool("expose", false, "allow --listen/--admin addresses beyond loopback (e.g. :8081, 0.0.0.0:8081); warns")
	f.String("mongo-uri", backends.Embedded, "MongoDB URI, or embedded (FerretDB in this process)")
	f.String("redis-url", backends.Embedded, "Redis URL, or embedded (miniredis in this process)")
	f.String("ferretdb-postgres", "", "PostgreSQL URL for the embedded FerretDB (default SQLite in a temp dir)")
	f.String("db", "camload", "MongoDB database name")
	f.Duration("interval", 0, "run cycles continuously, one every D (0 = only on POST /api/v1/cycles)")
	f.String("ready-file", "", "write {api, admin, pid} JSON here once ready")
	f.Bool("exit-with-stdin", false, "shut down when stdin is closed (the parent died)")
	f.Int("parent-pid", 0, "shut down when this process is no longer the parent")
	f.Duration("registry-timeout", system.DefaultRegistryTimeout, "how long to keep trying to load the registry")
	f.Duration("shutdown-timeout", server.DefaultShutdownTimeout, "how long graceful shutdown may take")
	f.Int("buffer", server.DefaultBufferSize, "observations buffered while MongoDB is down (beyond: dropped and counted)")
	f.String("log-level", "info", "log level: debug, info, warn or error")
	f.String("group", "", "be a replica of this group: share the cycles' cameras through a Redis Stream on --redis-url")
	f.Duration("group-claim-idle", group.DefaultClaimIdle, "take over a stopped replica's job after it was pending this long")
	f.Duration("group-lease-ttl", group.DefaultLeaseTTL, "lifetime of the group's coordinator lease")
	k, _ := system.Preset(system.ModeBatched)
	for _, spec := range system.KnobTable {
		name, usage := spec.Flag(), "knob: "+spec.Usage
		switch v := spec.Value(k).(type) {
		case int:
			f.Int(name, v, usage)
		case int64:
			f.Int64(name, v, usage)
		case bool:
			f.Bool(name, v, usage)
		case time.Duration:
			f.Duration(name, v, usage)
		default:
			f.String(name, spec.Format(k), usage)
		}
	}
	return cmd
}

// envName is the environment variable that sets the serve flag name.
func envName(name string) string {
	return "CAMLOAD_SERVE_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
}

// serveConfig maps the flags to server options and a log level, and
// validates them; every bad value is a *cfgerr.Error naming its flag.
func serveConfig(v *viper.Viper) (server.Options, slog.Level, error) {
	var errs []error
	str := func(name string) string { return v.GetString(name) }
	num := func(name string) int {
		n, err := strconv.Atoi(strings.TrimSpace(str(name)))
		if err != nil {
			errs = append(errs, cfgerr.Field(name, "not an integer: %q", str(name)))
		}
		return n
	}
	dur := func(name string) time.Duration {
		d, err := time.ParseDuration(strings.TrimSpace(str(name)))
		if err != nil {
			errs = append(errs, cfgerr.Field(name, "not a duration: %q", str(name)))
		}
		return d
	}
	boolean := func(name string) bool {
		b, err := strconv.ParseBool(strings.TrimSpace(str(name)))
		if err != nil {
			errs = append(errs, cfgerr.Field(name, "not a boolean: %q", str(name)))
		}
		return b
	}
	o := server.Options{
		Listen: str("listen"), Admin: str("admin"), MongoURI: str("mongo-uri"), RedisURL: str("redis-url"),
		FerretDBPostgres: str("ferretdb-postgres"), DB: str("db"), ReadyFile: str("ready-file"),
		ParentPID: num("parent-pid"), RegistryTimeout: dur("registry-timeout"),
		ShutdownTimeout: dur("shutdown-timeout"), BufferSize: num("buffer"),
		Group: str("group"), GroupClaimIdle: dur("group-claim-idle"), GroupLeaseTTL: dur("group-lease-ttl"),
	}
	o.Expose = boolean("expose")
	if boolean("exit-with-stdin") {
		o.Stdin = os.Stdin
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(str("log-level"))); err != nil {
		errs = append(errs, cfgerr.Field("log-level", "want debug, info, warn or error, got %q", str("log-level")))
	}
	mode := system.Mode(str("mode"))
	cfg, ok := system.DefaultConfig(mode, str("fleet"))
	if !ok {
		return o, level, cfgerr.Field("mode", "unknown mode %q (want sync, async, pooled, cached, batched or resilient)", mode)
	}
	cfg.Interval = dur("interval")
	cfg.RegistryTimeout = o.RegistryTimeout
	for _, spec := range system.KnobTable {
		if v.IsSet(spec.Flag()) {
			if err := spec.Set(&cfg.Knobs, str(spec.Flag())); err != nil {
				errs = append(errs, &cfgerr.Error{Field: spec.Flag(), Err: err})
			}
		}
	}
	if err := cfgerr.Join(errs...); err != nil {
		return o, level, err
	}
	// Flags state every value: an empty or zero one is an error here,
	// where in server.Options it would mean the default.
	for _, f := range []struct{ name, val, want string }{
		{"mongo-uri", o.MongoURI, "must be a mongodb:// URI or embedded"},
		{"redis-url", o.RedisURL, "must be a redis:// URL or embedded"},
		{"db", o.DB, "must be set"},
		{"listen", o.Listen, "not host:port: \"\""},
		{"admin", o.Admin, "not host:port: \"\""},
	} {
		if f.val == "" {
			errs = append(errs, cfgerr.Field(f.name, "%s", f.want))
		}
	}
	if o.BufferSize == 0 {
		errs = append(errs, cfgerr.Field("buffer", "must be ≥ 1"))
	}
	if o.ShutdownTimeout == 0 {
		errs = append(errs, cfgerr.Field("shutdown-timeout", "must be > 0"))
	}
	if o.RegistryTimeout == 0 {
		errs = append(errs, cfgerr.Field("registry-timeout", "must be > 0"))
	}
	o.Config = cfg
	return o, level, cfgerr.Join(append(errs, o.Validate())...)
}
