package bench

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/redis/go-redis/v9"
	"go.mongodb.org/mongo-driver/mongo/address"
	"go.mongodb.org/mongo-driver/x/mongo/driver/connstring"

	"github.com/camload/camload/internal/loopback"
)

// ErrRemote is wrapped by the error for a target that is not on this
// machine when remote targets are not allowed.
var ErrRemote = errors.New("bench: remote target not allowed (use --allow-remote)")

// checkLoopback returns nil when every address the driver for rawURL will
// dial is on this machine. It parses the URI with that driver's own parser,
// so options that move the connection elsewhere are seen:
//
//   - postgres:// and postgresql:// with pgx (pgconn.ParseConfig): the host
//     and every fallback host, including host=/port= in the query string,
//     service files and the PG* environment, exactly as FerretDB's pgx
//     will connect;
//   - mongodb:// with the Go driver's connstring parser: every seed host
//     of the list. mongodb+srv:// is always refused: its hosts come from a
//     DNS SRV (and TXT) lookup, i.e. from somewhere else, and the check
//     makes no DNS lookups;
//   - redis://, rediss:// and unix:// with redis.ParseURL;
//   - anything else (http://, https://) by the URL's host, as net/http
//     dials it.
//
// A TCP address is local when its host is "localhost" (any case) or a
// literal loopback IP (127.0.0.0/8, ::1); no name is resolved, so any other
// name is refused even if it resolves to 127.0.0.1, and so is 0.0.0.0.
// Unix domain sockets are local by decision: the kernel connects them only
// within this host, so they cannot reach another machine (the MongoDB
// driver takes a host ending in "sock" as a socket path, pgx a host that
// is an absolute path).
func checkLoopback(rawURL string) error {
	scheme, _, ok := strings.Cut(rawURL, "://")
	if !ok {
		return fmt.Errorf("bench: %q: not a URL (want scheme://host…)", redact(rawURL))
	}
	var addrs []dialAddr
	var err error
	switch strings.ToLower(scheme) {
	case "postgres", "postgresql":
		addrs, err = postgresAddrs(rawURL)
	case "mongodb+srv":
		return fmt.Errorf("%w: %s: mongodb+srv takes its hosts from DNS (SRV records); list the hosts with mongodb://", ErrRemote, redact(rawURL))
	case "mongodb":
		addrs, err = mongoAddrs(rawURL)
	case "redis", "rediss", "unix":
		addrs, err = redisAddrs(rawURL)
	default:
		addrs, err = urlAddrs(rawURL)
	}
	if err != nil {
		return fmt.Errorf("bench: %s: %w", redact(rawURL), err)
	}
	if len(addrs) == 0 {
		return fmt.Errorf("bench: %s: no host", redact(rawURL))
	}
	for _, a := range addrs {
		if a.network == "unix" {
			continue
		}
		if !loopbackHost(a.host) {
			return fmt.Errorf("%w: %s dials %s", ErrRemote, redact(rawURL), a.host)
		}
	}
	return nil
}

// dialAddr is one address a driver will dial: network "tcp" with host, or
// "unix" with a socket path.
type dialAddr struct{ network, host string }

// loopbackHost reports whether host (no port, no brackets) is localhost or
// a literal loopback IP (loopback.Host). It resolves nothing.
func loopbackHost(host string) bool { return loopback.Host(host) }

// postgresAddrs are the hosts pgx connects to for connString, in order.
func postgresAddrs(connString string) ([]dialAddr, error) {
	cfg, err := pgconn.ParseConfig(connString)
	if err != nil {
		// pgx's ParseConfigError redacts the password of what it quotes.
		return nil, err
	}
	addrs := []dialAddr{pgAddr(cfg.Host, cfg.Port)}
	for _, f := range cfg.Fallbacks {
		addrs = append(addrs, pgAddr(f.Host, f.Port))
	}
	return addrs, nil
}

func pgAddr(host string, port uint16) dialAddr {
	network, addr := pgconn.NetworkAddress(host, port)
	if network == "unix" {
		return dialAddr{network, addr}
	}
	return dialAddr{network, host}
}

// mongoAddrs are the seed hosts of a mongodb:// URI. connstring.Parse
// makes DNS lookups only for mongodb+srv, which the caller refuses first.
func mongoAddrs(uri string) ([]dialAddr, error) {
	cs, err := connstring.Parse(uri)
	if err != nil {
		return nil, errors.New(strings.ReplaceAll(err.Error(), uri, "…"))
	}
	if cs.Scheme != connstring.SchemeMongoDB {
		return nil, fmt.Errorf("scheme %q: want mongodb", cs.Scheme)
	}
	addrs := make([]dialAddr, 0, len(cs.Hosts))
	for _, h := range cs.Hosts {
		a := address.Address(h)
		if a.Network() == "unix" {
			addrs = append(addrs, dialAddr{"unix", h})
			continue
		}
		host, _, err := net.SplitHostPort(a.String()) // String adds the default port
		if err != nil {
			return nil, fmt.Errorf("host %q: %w", h, err)
		}
		addrs = append(addrs, dialAddr{"tcp", host})
	}
	return addrs, nil
}

// redisAddrs is the address go-redis dials for a redis://, rediss:// or
// unix:// URL (an empty host means localhost there).
func redisAddrs(raw string) ([]dialAddr, error) {
	o, err := redis.ParseURL(raw)
	if err != nil {
		return nil, err
	}
	if o.Network == "unix" {
		return []dialAddr{{"unix", o.Addr}}, nil
	}
	host, _, err := net.SplitHostPort(o.Addr)
	if err != nil {
		return nil, fmt.Errorf("address %q: %w", o.Addr, err)
	}
	return []dialAddr{{"tcp", host}}, nil
}

// urlAddrs is the host of an http(s) (or other) URL.
func urlAddrs(raw string) ([]dialAddr, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, errors.New(strings.ReplaceAll(err.Error(), raw, "…"))
	}
	if u.Host == "" {
		return nil, nil
	}
	return []dialAddr{{"tcp", u.Hostname()}}, nil
}

// redact hides a URI's password: the userinfo password of a URL and the
// password= option of a query string or a keyword/value connection string.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" {
		return redactKeywords(raw)
	}
	if u.User != nil {
		if _, ok := u.User.Password(); ok {
			u.User = url.UserPassword(u.User.Username(), "xxx")
		}
	}
	if q, err := url.ParseQuery(u.RawQuery); err != nil {
		u.RawQuery = "…"
	} else {
		hidden := false
		for k := range q {
			if strings.EqualFold(k, "password") {
				q[k], hidden = []string{"xxx"}, true
			}
		}
		if hidden {
			u.RawQuery = q.Encode()
		}
	}
	return u.String()
}

// redactKeywords hides password=… in "key=value key=value" text.
func redactKeywords(s string) string {
	f := strings.Fields(s)
	for i, kv := range f {
		if k, _, ok := strings.Cut(kv, "="); ok && strings.EqualFold(strings.TrimSpace(k), "password") {
			f[i] = k + "=xxx"
		}
	}
	return strings.Join(f, " ")
}
