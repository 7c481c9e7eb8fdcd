package bench

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
)

// ErrRemote is wrapped by the error for a target that is not on this
// machine when remote targets are not allowed.
var ErrRemote = errors.New("bench: remote target not allowed (use --allow-remote)")

// checkLoopback returns nil when every host in rawURL is a loopback
// address (127.0.0.0/8, ::1) or localhost. MongoDB URIs may list several
// hosts ("mongodb://a:1,b:2/db"); unix sockets are local.
func checkLoopback(rawURL string) error {
	u, err := url.Parse(rawURL)
	if err != nil {
		return fmt.Errorf("bench: %q: %w", rawURL, err)
	}
	if u.Scheme == "unix" {
		return nil
	}
	if u.Host == "" {
		return fmt.Errorf("bench: %q: no host", redact(rawURL))
	}
	for _, hp := range strings.Split(u.Host, ",") {
		host := hp
		if h, _, err := net.SplitHostPort(hp); err == nil {
			host = h
		}
		host = strings.Trim(host, "[]")
		if strings.EqualFold(host, "localhost") {
			continue
		}
		ip := net.ParseIP(host)
		if ip == nil || !ip.IsLoopback() {
			return fmt.Errorf("%w: %s", ErrRemote, redact(rawURL))
		}
	}
	return nil
}

// redact hides a URI's password.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return raw
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxx")
	}
	return u.String()
}
