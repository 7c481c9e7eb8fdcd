package server

import (
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"

	"github.com/camload/camload/internal/loopback"
)

// loopbackAddr reports whether the listen address addr (host:port) binds
// loopback only (loopback.Addr). An empty host, 0.0.0.0 or :: bind every
// interface; any other name or IP may be reachable from other machines.
func loopbackAddr(addr string) bool { return loopback.Addr(addr) }

// interfacesOf describes what a non-loopback listen address exposes, for
// errors and warnings.
func interfacesOf(addr string) string {
	host, _, _ := net.SplitHostPort(addr)
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		return "every network interface"
	}
	return "a non-loopback address"
}

// warnExposed logs a warning for each of the API's and the admin's bound
// addresses that is not on loopback (Options.Expose allowed it).
func warnExposed(log *slog.Logger, api, admin string) {
	if !loopbackAddr(api) {
		log.Warn("exposed: the API is reachable from other machines (--expose)", "listen", api)
	}
	if !loopbackAddr(admin) {
		log.Warn("exposed: /metrics and /debug/pprof (profiles, goroutine stacks) are reachable from other machines (--expose)", "admin", admin)
	}
}

// secretFlags are the serve flags whose values may carry a password.
var secretFlags = []string{"mongo-uri", "redis-url", "ferretdb-postgres"}

// SecretFlags returns the names of the camload serve flags whose values
// may carry credentials (MongoDB, Redis and PostgreSQL URIs). They belong
// in the environment (CAMLOAD_SERVE_MONGO_URI, …), not on the command
// line, where ps and /proc/PID/cmdline show them to every user.
func SecretFlags() []string { return append([]string(nil), secretFlags...) }

// RedactArgs returns args with every password hidden: the userinfo
// password and password= query option of URIs (also in --flag=URI form),
// and password=… of keyword/value connection strings. Other arguments are
// returned unchanged.
func RedactArgs(args []string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		if strings.HasPrefix(a, "-") {
			if name, val, ok := strings.Cut(a, "="); ok {
				out[i] = name + "=" + redactValue(val)
				continue
			}
		}
		out[i] = redactValue(a)
	}
	return out
}

// HasPassword reports whether RedactArgs would hide something in v.
func HasPassword(v string) bool { return redactValue(v) != v }

// redactValue hides the password of one URI or keyword/value string.
func redactValue(v string) string {
	if strings.Contains(v, "://") {
		u, err := url.Parse(v)
		if err != nil {
			// Unparsable: hide everything between the scheme and the host,
			// where a password would be.
			if scheme, rest, ok := strings.Cut(v, "://"); ok {
				if at := strings.LastIndex(rest, "@"); at >= 0 {
					return scheme + "://xxxxx" + rest[at:]
				}
			}
			return v
		}
		hidden := false
		if _, ok := u.User.Password(); ok {
			u.User, hidden = url.UserPassword(u.User.Username(), "xxxxx"), true
		}
		if q, err := url.ParseQuery(u.RawQuery); err == nil {
			hideQuery := false
			for k := range q {
				if strings.EqualFold(k, "password") || strings.EqualFold(k, "pass") {
					q[k], hideQuery = []string{"xxxxx"}, true
				}
			}
			if hideQuery {
				u.RawQuery, hidden = q.Encode(), true
			}
		} else if strings.Contains(strings.ToLower(u.RawQuery), "pass") {
			u.RawQuery, hidden = "xxxxx", true
		}
		if !hidden {
			return v
		}
		return u.String()
	}
	if !strings.Contains(strings.ToLower(v), "password=") {
		return v
	}
	f := strings.Fields(v)
	for i, kv := range f {
		if k, _, ok := strings.Cut(kv, "="); ok && strings.EqualFold(k, "password") {
			f[i] = k + "=xxxxx"
		}
	}
	return strings.Join(f, " ")
}

// redactedCmdline answers /debug/pprof/cmdline as net/http/pprof does
// (the arguments separated by NUL bytes) with passwords hidden.
func redactedCmdline(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write([]byte(strings.Join(RedactArgs(os.Args), "\x00")))
}

// adminHandler is the system's admin handler with /debug/pprof/cmdline
// redacted.
func adminHandler(h http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/", h)
	mux.HandleFunc("/debug/pprof/cmdline", redactedCmdline)
	return mux
}
