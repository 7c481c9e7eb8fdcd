package simulator

import (
	"time"
)

// Config is the fleet's configuration. The zero value is not useful; start
// from DefaultConfig. The `mapstructure` tags are the keys of the `fleet:`
// section of a scenario and of the CAMLOAD_SIM_* environment (upper-cased,
// dots become underscores), so one struct serves flags, env and YAML.
type Config struct {
	// Cameras is the number of cameras, 1 … 20,000.
	Cameras int `mapstructure:"cameras" json:"cameras"`
	// Hosts is the number of camera hosts the cameras are spread over.
	Hosts int `mapstructure:"hosts" json:"hosts"`
	// Listen is the control API address; host i listens on port+1+i of
	// the same IP. Port 0 picks free ports for everything.
	Listen string `mapstructure:"listen" json:"listen"`
	// Seed makes inventory, latency and faults deterministic.
	Seed int64 `mapstructure:"seed" json:"seed"`

	// Width and Height of every frame in pixels.
	Width  int `mapstructure:"width" json:"width"`
	Height int `mapstructure:"height" json:"height"`
	// Quality is the JPEG quality, 1 … 100.
	Quality int `mapstructure:"quality" json:"quality"`
	// Refresh is how often a camera's frame changes; each camera has its
	// own phase within the period.
	Refresh time.Duration `mapstructure:"refresh" json:"refresh"`
	// ETag enables ETag headers and If-None-Match → 304.
	ETag bool `mapstructure:"etag" json:"etag"`

	Latency  LatencyConfig  `mapstructure:"latency" json:"latency"`
	Capacity CapacityConfig `mapstructure:"capacity" json:"capacity"`
	Faults   FaultConfig    `mapstructure:"faults" json:"faults"`

	// TLS serves the hosts over TLS with a self-signed certificate made
	// at start.
	TLS bool `mapstructure:"tls" json:"tls"`

	// Frames is the number of distinct frames rendered at New and shared
	// by all cameras (a camera's frame for a refresh period is one of
	// them); 0 means DefaultFrames.
	Frames int `mapstructure:"frames" json:"frames,omitempty"`
}

// DefaultFrames is the number of distinct frames rendered when
// Config.Frames is 0.
const DefaultFrames = 64

// LatencyConfig is the distribution of the delay added before a snapshot is
// answered. Each camera scales the distribution by its own factor (drawn
// from the seed within ±Spread) so cameras differ, as real ones do.
type LatencyConfig struct {
	// Dist is "none", "constant", "uniform" or "lognormal".
	Dist string `mapstructure:"dist" json:"dist"`
	// Median (constant: the value; lognormal: the median).
	Median time.Duration `mapstructure:"median" json:"median"`
	// P99 of the lognormal distribution; must be ≥ Median.
	P99 time.Duration `mapstructure:"p99" json:"p99"`
	// Min and Max bound the uniform distribution.
	Min time.Duration `mapstructure:"min" json:"min"`
	Max time.Duration `mapstructure:"max" json:"max"`
	// Spread is the per-camera variation, 0 … 1 (0.2 = each camera's
	// latency is scaled by a factor in [0.8, 1.2]).
	Spread float64 `mapstructure:"spread" json:"spread"`
}

// CapacityConfig limits each host like a real camera gateway.
type CapacityConfig struct {
	// Concurrent is the number of requests a host serves at once (0 = no limit).
	Concurrent int `mapstructure:"concurrent" json:"concurrent"`
	// Queue is how many more requests wait for a slot.
	Queue int `mapstructure:"queue" json:"queue"`
	// Overflow is what happens beyond the queue: "503" or "reset".
	Overflow string `mapstructure:"overflow" json:"overflow"`
	// Handshake is the delay each new connection costs before its first
	// request is read.
	Handshake time.Duration `mapstructure:"handshake" json:"handshake"`
	// Device limits each camera beneath its host: a request that got one
	// of the host's slots then needs one of its camera's (the zero value:
	// no per-camera limit).
	Device DeviceCapacity `mapstructure:"device" json:"device"`
}

// DeviceCapacity limits each camera like a real camera's HTTP server,
// which serves only a few clients at once (typically 1–4) behind its
// gateway. A request waiting for its camera holds its host slot, as a
// gateway's proxied request does.
type DeviceCapacity struct {
	// Concurrent is the number of requests one camera serves at once
	// (0 = no limit).
	Concurrent int `mapstructure:"concurrent" json:"concurrent"`
	// Queue is how many more requests for the camera wait for a slot.
	Queue int `mapstructure:"queue" json:"queue"`
	// Overflow is what happens beyond the queue: "503" or "reset"; ""
	// means the host's Overflow.
	Overflow string `mapstructure:"overflow" json:"overflow"`
}

// FaultConfig gives each fault kind its probability per snapshot request
// (0 … 1), drawn deterministically from the seed, camera and request.
type FaultConfig struct {
	HTTP5xx   float64 `mapstructure:"http_5xx" json:"http_5xx"`
	Hang      float64 `mapstructure:"hang" json:"hang"`
	Reset     float64 `mapstructure:"reset" json:"reset"`
	Truncated float64 `mapstructure:"truncated" json:"truncated"`
	Garbage   float64 `mapstructure:"garbage" json:"garbage"`
	SlowDrip  float64 `mapstructure:"slow_drip" json:"slow_drip"`
	Oversized float64 `mapstructure:"oversized" json:"oversized"`
	// Placeholder: an offline camera answering 200 with the fixed
	// "not available" image.
	Placeholder float64 `mapstructure:"placeholder" json:"placeholder"`
	// Offline is the fraction of cameras that go offline for whole
	// periods of OfflinePeriod (answering with the placeholder image).
	Offline       float64       `mapstructure:"offline" json:"offline"`
	OfflinePeriod time.Duration `mapstructure:"offline_period" json:"offline_period"`
	// HangFor bounds a hang (the request is held until the client gives
	// up or HangFor passes); SlowDripRate is the slow body's bytes/s.
	HangFor      time.Duration `mapstructure:"hang_for" json:"hang_for"`
	SlowDripRate int           `mapstructure:"slow_drip_rate" json:"slow_drip_rate"`
	// OversizedBytes is the size of an oversized body.
	OversizedBytes int `mapstructure:"oversized_bytes" json:"oversized_bytes"`
}

// Fault kinds as counted by the fleet (GET /faults) and reported in
// results. Overflow kinds are not injected at random: they happen when a
// host's (or, for the device_ kinds, a camera's) capacity and queue are
// full.
const (
	FaultHTTP5xx       = "http_5xx"
	FaultHang          = "hang"
	FaultReset         = "reset"
	FaultTruncated     = "truncated"
	FaultGarbage       = "garbage"
	FaultSlowDrip      = "slow_drip"
	FaultOversized     = "oversized"
	FaultPlaceholder   = "placeholder"
	FaultOffline       = "offline"
	FaultOverflow503   = "overflow_503"
	FaultOverflowReset = "overflow_reset"
	// Device overflow kinds: a camera's own capacity and queue were full
	// (CapacityConfig.Device) while its host had room.
	FaultDeviceOverflow503   = "device_overflow_503"
	FaultDeviceOverflowReset = "device_overflow_reset"
)

// DefaultConfig is a realistic small fleet: 100 cameras on 2 hosts,
// lognormal latency (median 200 ms, p99 600 ms), 640×360 frames that change
// every 15 s, a few percent of faults.
var DefaultConfig = Config{
	Cameras: 100,
	Hosts:   2,
	Listen:  "127.0.0.1:8700",
	Seed:    1,
	Width:   640,
	Height:  360,
	Quality: 80,
	Refresh: 15 * time.Second,
	ETag:    true,
	Latency: LatencyConfig{Dist: "lognormal", Median: 200 * time.Millisecond, P99: 600 * time.Millisecond, Spread: 0.2},
	Capacity: CapacityConfig{
		Concurrent: 32, Queue: 64, Overflow: "503", Handshake: 0,
	},
	Faults: FaultConfig{
		HTTP5xx: 0.005, Hang: 0.002, Reset: 0.003, Truncated: 0.003, Garbage: 0.002,
		SlowDrip: 0.002, Oversized: 0.001, Placeholder: 0.01,
		Offline: 0.01, OfflinePeriod: 2 * time.Minute,
		HangFor: 30 * time.Second, SlowDripRate: 16 << 10, OversizedBytes: 8 << 20,
	},
}
