// Package loopback says whether a host or a listen address stays on this
// machine: the one rule the runner (the URLs it dials), the system (the
// addresses it binds) and the dashboard share. It resolves no name.
package loopback

import (
	"net"
	"strings"
)

// Host reports whether host (no port, no brackets) is "localhost" (any
// case) or a literal loopback IP (127.0.0.0/8, ::1). Any other name is
// not, even if it resolves to 127.0.0.1, and neither is an unspecified
// address (0.0.0.0, ::) or "", which bind every interface.
func Host(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Addr reports whether addr (host:port) is on loopback (Host); false when
// it is not host:port.
func Addr(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	return err == nil && Host(host)
}
