package simulator

import (
	"math"
	"time"
)

// mix is the SplitMix64 finaliser: a cheap, well-distributed 64-bit hash.
func mix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// hash4 deterministically combines a seed, a salt naming the purpose and
// two values (camera, counter) into 64 random-looking bits.
func hash4(seed, salt, a, b uint64) uint64 {
	return mix(mix(mix(seed^salt)^a) ^ b)
}

// unit maps h to [0, 1).
func unit(h uint64) float64 { return float64(h>>11) / (1 << 53) }

// Salts keep the random streams of different purposes independent.
const (
	saltLatency uint64 = 0x6c6174656e6379 + iota
	saltSpread
	saltFault
	saltPhase
	saltOffline
	saltFrame
	saltInventory
	saltScene
	salt5xx
	saltTruncate
	saltNormal
)

// z99 is the standard normal quantile of 0.99.
const z99 = 2.3263478740408408

// Sampler draws per-request latencies from a LatencyConfig, deterministic
// in (seed, camera, request number). It is safe for concurrent use.
type Sampler struct {
	cfg        LatencyConfig
	seed       uint64
	mu, sigma  float64 // lognormal parameters of ln(seconds)
	min, width float64 // uniform bounds in seconds
}

// NewSampler returns a sampler for cfg, which must be valid.
func NewSampler(cfg LatencyConfig, seed int64) *Sampler {
	s := &Sampler{cfg: cfg, seed: uint64(seed)}
	switch cfg.Dist {
	case DistLognormal:
		s.mu = math.Log(cfg.Median.Seconds())
		s.sigma = math.Log(cfg.P99.Seconds()/cfg.Median.Seconds()) / z99
	case DistUniform:
		s.min = cfg.Min.Seconds()
		s.width = cfg.Max.Seconds() - s.min
	}
	return s
}

// Factor is camera's latency scale, in [1-Spread, 1+Spread].
func (s *Sampler) Factor(camera int) float64 {
	if s.cfg.Spread == 0 {
		return 1
	}
	u := unit(hash4(s.seed, saltSpread, uint64(camera), 0))
	return 1 + s.cfg.Spread*(2*u-1)
}

// Sample returns the latency of request n of camera.
func (s *Sampler) Sample(camera int, n uint64) time.Duration {
	var sec float64
	switch s.cfg.Dist {
	case DistConstant:
		sec = s.cfg.Median.Seconds()
	case DistUniform:
		sec = s.min + s.width*unit(hash4(s.seed, saltLatency, uint64(camera), n))
	case DistLognormal:
		sec = math.Exp(s.mu + s.sigma*s.normal(camera, n))
	default:
		return 0
	}
	return time.Duration(sec * s.Factor(camera) * float64(time.Second))
}

// normal draws a standard normal variate (Box–Muller) for (camera, n).
func (s *Sampler) normal(camera int, n uint64) float64 {
	h1 := hash4(s.seed, saltLatency, uint64(camera), n)
	h2 := hash4(s.seed, saltNormal, uint64(camera), n)
	u1 := (float64(h1>>11) + 0.5) / (1 << 53) // (0,1)
	u2 := unit(h2)
	return math.Sqrt(-2*math.Log(u1)) * math.Cos(2*math.Pi*u2)
}
