package simulator

import (
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/camload/camload/internal/cfgerr"
)

// Limits of the fleet's configuration.
const (
	MaxCameras = 20000
	MaxHosts   = 1000
	MaxFrames  = 1024
	// maxDelay bounds every configured delay (latency, handshake, hang).
	maxDelay = 10 * time.Minute
)

// Latency distribution names (LatencyConfig.Dist).
const (
	DistNone      = "none"
	DistConstant  = "constant"
	DistUniform   = "uniform"
	DistLognormal = "lognormal"
)

// Overflow behaviours (CapacityConfig.Overflow).
const (
	Overflow503   = "503"
	OverflowReset = "reset"
)

// Validate checks every field and returns nil or all the problems joined;
// each is a *cfgerr.Error naming its field with the "fleet." prefix.
func (c Config) Validate() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, cfgerr.Field("fleet."+field, format, args...))
	}
	if c.Cameras < 1 || c.Cameras > MaxCameras {
		bad("cameras", "must be 1…%d, got %d", MaxCameras, c.Cameras)
	}
	if c.Hosts < 1 || c.Hosts > MaxHosts {
		bad("hosts", "must be 1…%d, got %d", MaxHosts, c.Hosts)
	} else if c.Cameras >= 1 && c.Hosts > c.Cameras {
		bad("hosts", "must be ≤ cameras (%d), got %d", c.Cameras, c.Hosts)
	}
	if _, port, err := splitListen(c.Listen); err != nil {
		bad("listen", "%v", err)
	} else if port != 0 && port+c.Hosts > 65535 {
		bad("listen", "port %d + %d hosts exceeds 65535", port, c.Hosts)
	}
	if c.Width < 480 || c.Width > 3840 {
		bad("width", "must be 480…3840, got %d", c.Width)
	}
	if c.Height < 270 || c.Height > 2160 {
		bad("height", "must be 270…2160, got %d", c.Height)
	}
	if c.Quality < 1 || c.Quality > 100 {
		bad("quality", "must be 1…100, got %d", c.Quality)
	}
	if c.Refresh <= 0 || c.Refresh > 24*time.Hour {
		bad("refresh", "must be > 0 and ≤ 24h, got %s", c.Refresh)
	}
	if c.Frames < 0 || c.Frames > MaxFrames {
		bad("frames", "must be 0 (default %d) … %d, got %d", DefaultFrames, MaxFrames, c.Frames)
	}
	errs = append(errs, c.Latency.validate("fleet.latency")...)
	errs = append(errs, c.Capacity.validate("fleet.capacity")...)
	errs = append(errs, c.Faults.validate("fleet.faults")...)
	return cfgerr.Join(errs...)
}

func (l LatencyConfig) validate(prefix string) []error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, cfgerr.Field(prefix+"."+field, format, args...))
	}
	delay := func(field string, d time.Duration) bool {
		if d < 0 || d > maxDelay {
			bad(field, "must be 0…%s, got %s", maxDelay, d)
			return false
		}
		return true
	}
	switch l.Dist {
	case "", DistNone:
	case DistConstant:
		delay("median", l.Median)
	case DistUniform:
		if delay("min", l.Min) && delay("max", l.Max) && l.Max < l.Min {
			bad("max", "must be ≥ min (%s), got %s", l.Min, l.Max)
		}
	case DistLognormal:
		if l.Median <= 0 || l.Median > maxDelay {
			bad("median", "must be > 0 and ≤ %s, got %s", maxDelay, l.Median)
		} else if delay("p99", l.P99) && l.P99 < l.Median {
			bad("p99", "must be ≥ median (%s), got %s", l.Median, l.P99)
		}
	default:
		bad("dist", "must be none, constant, uniform or lognormal, got %q", l.Dist)
	}
	if l.Spread < 0 || l.Spread > 1 {
		bad("spread", "must be 0…1, got %g", l.Spread)
	}
	return errs
}

func (c CapacityConfig) validate(prefix string) []error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, cfgerr.Field(prefix+"."+field, format, args...))
	}
	if c.Concurrent < 0 || c.Concurrent > 1<<20 {
		bad("concurrent", "must be 0 (no limit) … %d, got %d", 1<<20, c.Concurrent)
	}
	if c.Queue < 0 || c.Queue > 1<<20 {
		bad("queue", "must be 0…%d, got %d", 1<<20, c.Queue)
	}
	switch c.Overflow {
	case Overflow503, OverflowReset:
	case "":
		if c.Concurrent > 0 {
			bad("overflow", `must be "503" or "reset", got ""`)
		}
	default:
		bad("overflow", `must be "503" or "reset", got %q`, c.Overflow)
	}
	if c.Handshake < 0 || c.Handshake > maxDelay {
		bad("handshake", "must be 0…%s, got %s", maxDelay, c.Handshake)
	}
	d := c.Device
	if d.Concurrent < 0 || d.Concurrent > 1<<20 {
		bad("device.concurrent", "must be 0 (no limit) … %d, got %d", 1<<20, d.Concurrent)
	}
	if d.Queue < 0 || d.Queue > 1<<20 {
		bad("device.queue", "must be 0…%d, got %d", 1<<20, d.Queue)
	}
	switch d.Overflow {
	case Overflow503, OverflowReset:
	case "":
		if d.Concurrent > 0 && c.Overflow != Overflow503 && c.Overflow != OverflowReset {
			bad("device.overflow", `must be "503" or "reset" (or "" with capacity.overflow set), got ""`)
		}
	default:
		bad("device.overflow", `must be "503" or "reset" ("": as capacity.overflow), got %q`, d.Overflow)
	}
	return errs
}

// deviceOverflow is the effective overflow behaviour of a camera.
func (c CapacityConfig) deviceOverflow() string {
	if c.Device.Overflow != "" {
		return c.Device.Overflow
	}
	return c.Overflow
}

func (f FaultConfig) validate(prefix string) []error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, cfgerr.Field(prefix+"."+field, format, args...))
	}
	sum := 0.0
	for _, r := range f.rates() {
		if r.rate < 0 || r.rate > 1 || r.rate != r.rate {
			bad(r.kind, "must be 0…1, got %g", r.rate)
			continue
		}
		sum += r.rate
	}
	if sum > 1+1e-9 {
		bad("*", "the per-request fault rates must sum to ≤ 1, got %g", sum)
	}
	if f.Offline < 0 || f.Offline > 1 || f.Offline != f.Offline {
		bad("offline", "must be 0…1, got %g", f.Offline)
	}
	if f.Offline > 0 && (f.OfflinePeriod <= 0 || f.OfflinePeriod > 24*time.Hour) {
		bad("offline_period", "must be > 0 and ≤ 24h when offline > 0, got %s", f.OfflinePeriod)
	}
	if f.Hang > 0 && (f.HangFor <= 0 || f.HangFor > maxDelay) {
		bad("hang_for", "must be > 0 and ≤ %s when hang > 0, got %s", maxDelay, f.HangFor)
	}
	if f.SlowDrip > 0 && (f.SlowDripRate < 1 || f.SlowDripRate > 1<<30) {
		bad("slow_drip_rate", "must be 1…%d bytes/s when slow_drip > 0, got %d", 1<<30, f.SlowDripRate)
	}
	if f.Oversized > 0 && (f.OversizedBytes < 1 || f.OversizedBytes > 1<<30) {
		bad("oversized_bytes", "must be 1…%d when oversized > 0, got %d", 1<<30, f.OversizedBytes)
	}
	return errs
}

type kindRate struct {
	kind string
	rate float64
}

// rates lists the per-request fault kinds in the order they are drawn.
func (f FaultConfig) rates() []kindRate {
	return []kindRate{
		{FaultHTTP5xx, f.HTTP5xx},
		{FaultHang, f.Hang},
		{FaultReset, f.Reset},
		{FaultTruncated, f.Truncated},
		{FaultGarbage, f.Garbage},
		{FaultSlowDrip, f.SlowDrip},
		{FaultOversized, f.Oversized},
		{FaultPlaceholder, f.Placeholder},
	}
}

// WithFaultRate returns f with total spread over the per-request (transient)
// fault kinds in the proportions of DefaultConfig.Faults; total 0 turns
// every per-request fault off. Offline periods are not changed.
func (f FaultConfig) WithFaultRate(total float64) FaultConfig {
	d := DefaultConfig.Faults
	sum := 0.0
	for _, r := range d.rates() {
		sum += r.rate
	}
	k := 0.0
	if sum > 0 {
		k = total / sum
	}
	f.HTTP5xx, f.Hang, f.Reset = d.HTTP5xx*k, d.Hang*k, d.Reset*k
	f.Truncated, f.Garbage, f.SlowDrip = d.Truncated*k, d.Garbage*k, d.SlowDrip*k
	f.Oversized, f.Placeholder = d.Oversized*k, d.Placeholder*k
	return f
}

// ParseLatency parses a latency spec: "0" or "none" (no added latency),
// "200ms" or "constant:200ms", "uniform:MIN,MAX" or "lognormal:MEDIAN,P99".
// Spread is left as in base. The result is not validated beyond syntax.
func ParseLatency(spec string, base LatencyConfig) (LatencyConfig, error) {
	out := base
	out.Median, out.P99, out.Min, out.Max = 0, 0, 0, 0
	spec = strings.TrimSpace(spec)
	dist, args, hasColon := strings.Cut(spec, ":")
	if !hasColon {
		switch spec {
		case "0", DistNone:
			out.Dist = DistNone
			return out, nil
		}
		dist, args = DistConstant, spec
	}
	parts := strings.Split(args, ",")
	durs := make([]time.Duration, len(parts))
	for i, p := range parts {
		d, err := time.ParseDuration(strings.TrimSpace(p))
		if err != nil {
			return base, fmt.Errorf("latency %q: %w", spec, err)
		}
		durs[i] = d
	}
	want := map[string]int{DistConstant: 1, DistUniform: 2, DistLognormal: 2}
	n, ok := want[dist]
	if !ok {
		return base, fmt.Errorf("latency %q: unknown distribution %q (want none, constant, uniform or lognormal)", spec, dist)
	}
	if len(durs) != n {
		return base, fmt.Errorf("latency %q: %s takes %d duration(s), got %d", spec, dist, n, len(durs))
	}
	out.Dist = dist
	switch dist {
	case DistConstant:
		out.Median = durs[0]
		if out.Median == 0 {
			out.Dist = DistNone
		}
	case DistUniform:
		out.Min, out.Max = durs[0], durs[1]
	case DistLognormal:
		out.Median, out.P99 = durs[0], durs[1]
	}
	return out, nil
}

// String formats l as a spec ParseLatency accepts.
func (l LatencyConfig) String() string {
	switch l.Dist {
	case DistConstant:
		return DistConstant + ":" + l.Median.String()
	case DistUniform:
		return DistUniform + ":" + l.Min.String() + "," + l.Max.String()
	case DistLognormal:
		return DistLognormal + ":" + l.Median.String() + "," + l.P99.String()
	}
	return DistNone
}

// splitListen parses a listen address "host:port".
func splitListen(addr string) (string, int, error) {
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, fmt.Errorf("%q is not host:port: %w", addr, err)
	}
	port, err := strconv.Atoi(p)
	if err != nil || port < 0 || port > 65535 {
		return "", 0, fmt.Errorf("%q: port must be 0…65535", addr)
	}
	return host, port, nil
}
