package main

import (
	"log/slog"
	"os"

	"github.com/spf13/cobra"
	"github.com/spf13/viper"

	"github.com/camload/camload/internal/cfgerr"
	"github.com/camload/camload/internal/cli"
	"github.com/camload/camload/system"
	"github.com/camload/camload/system/backends"
	"github.com/camload/camload/system/group"
	"github.com/camload/camload/system/server"
)

func newServeCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the camera-processing system under test (poll → analyze → store → API)",
		Long:  help("serve"),
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o, level, err := serveConfig(cli.Env(cmd.Flags(), serveEnv))
			if err != nil {
				return err
			}
			o.Logger = slog.New(slog.NewTextHandler(a.stderr, &slog.HandlerOptions{Level: level}))
			cli.WarnSecrets(cmd.Flags(), serveEnv, server.SecretFlags(), server.HasPassword, func(msg, flag string) { o.Logger.Warn(msg, "flag", flag) })
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
		def := spec.Value(k)
		if _, ok := def.(float64); ok {
			def = spec.Format(k) // a text flag, as the knobs of named types
		}
		cli.Define(f, spec.Flag(), def, "knob: "+spec.Usage)
	}
	return cmd
}

// serveEnv is the prefix of the variables that set serve's flags.
const serveEnv = "CAMLOAD_SERVE"

// serveConfig maps the flags to server options and a log level, and
// validates them; every bad value is a *cfgerr.Error naming its flag.
func serveConfig(v *viper.Viper) (server.Options, slog.Level, error) {
	r := &cli.Values{V: v}
	o := server.Options{
		Listen: r.String("listen"), Admin: r.String("admin"), MongoURI: r.String("mongo-uri"), RedisURL: r.String("redis-url"),
		FerretDBPostgres: r.String("ferretdb-postgres"), DB: r.String("db"), ReadyFile: r.String("ready-file"),
		ParentPID: r.Int("parent-pid"), RegistryTimeout: r.Duration("registry-timeout"),
		ShutdownTimeout: r.Duration("shutdown-timeout"), BufferSize: r.Int("buffer"),
		Group: r.String("group"), GroupClaimIdle: r.Duration("group-claim-idle"), GroupLeaseTTL: r.Duration("group-lease-ttl"),
	}
	o.Expose = r.Bool("expose")
	if r.Bool("exit-with-stdin") {
		o.Stdin = os.Stdin
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(r.String("log-level"))); err != nil {
		r.Errs = append(r.Errs, cfgerr.Field("log-level", "want debug, info, warn or error, got %q", r.String("log-level")))
	}
	mode := system.Mode(r.String("mode"))
	cfg, ok := system.DefaultConfig(mode, r.String("fleet"))
	if !ok {
		return o, level, cfgerr.Field("mode", "unknown mode %q (want sync, async, pooled, cached, batched or resilient)", mode)
	}
	cfg.Interval, cfg.RegistryTimeout = r.Duration("interval"), o.RegistryTimeout
	for _, spec := range system.KnobTable {
		if v.IsSet(spec.Flag()) {
			if err := spec.Set(&cfg.Knobs, r.String(spec.Flag())); err != nil {
				r.Errs = append(r.Errs, &cfgerr.Error{Field: spec.Flag(), Err: err})
			}
		}
	}
	if err := cfgerr.Join(r.Errs...); err != nil {
		return o, level, err
	}
	// Flags state every value: an empty or zero one is an error here,
	// where in server.Options it would mean the default.
	r.Require("mongo-uri", o.MongoURI, "must be a mongodb:// URI or embedded")
	r.Require("redis-url", o.RedisURL, "must be a redis:// URL or embedded")
	r.Require("db", o.DB, "must be set")
	r.Require("listen", o.Listen, `not host:port: ""`)
	r.Require("admin", o.Admin, `not host:port: ""`)
	r.Require("buffer", o.BufferSize, "must be ≥ 1")
	r.Require("shutdown-timeout", o.ShutdownTimeout, "must be > 0")
	r.Require("registry-timeout", o.RegistryTimeout, "must be > 0")
	o.Config = cfg
	return o, level, cfgerr.Join(append(r.Errs, o.Validate())...)
}
