// Package system is the camera-processing service camload measures: it loads
// the camera registry from a fleet, polls every camera's snapshot in cycles
// (fetch → analyze → store), and serves the results over a JSON API. How it
// fans out, connects, dedupes, caches and writes is set by Knobs; the six
// modes are presets of them (resilient adds the tail-tolerant mechanisms of
// system/resilience: a cycle deadline, per-camera deadlines and breakers,
// learned per-host limits). The package never prints or exits.
package system

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/camload/camload/system/store"
)

// Analysis is what the analyzer reports for one frame.
type Analysis struct {
	Vehicles    int
	Intensity   float64
	Congestion  string
	Placeholder bool // the camera's fixed "not available" image
}

// Analyzer analyzes one JPEG frame; any error means the frame is not a
// usable image (counted as bad_image). It must be safe for concurrent use.
type Analyzer func(frame []byte, cost time.Duration) (Analysis, error)

// Cache is the cache layer for API reads and the latest state per camera
// (system/cache's L1+L2 implements it through NewCacheLayer). Get reads
// through: on a miss in every level it calls load once per key (stampede
// safe) and stores the result. Implementations are safe for concurrent use.
type Cache interface {
	Get(ctx context.Context, key string, load func(context.Context) ([]byte, error)) ([]byte, error)
	Set(ctx context.Context, key string, val []byte) error
	// SetMany writes many keys at once (pipelined).
	SetMany(ctx context.Context, kv map[string][]byte) error
}

// Option configures a System.
type Option func(*System)

// WithStore sets the store (required).
func WithStore(s store.Store) Option { return func(sys *System) { sys.store = s } }

// WithCache sets the cache layer. Without one the API reads the store and
// the latest state is only written to the store.
func WithCache(c Cache) Option { return func(sys *System) { sys.cache = c } }

// WithAnalyzer sets the frame analyzer (default DefaultAnalyzer).
func WithAnalyzer(a Analyzer) Option { return func(sys *System) { sys.analyze = a } }

// WithRegisterer sets where the system's metrics go (nil = not registered).
func WithRegisterer(r prometheus.Registerer) Option { return func(sys *System) { sys.reg = r } }

// WithTransport sets the factory of the base transport the camera clients
// are built from (e.g. for TLS settings or a custom dialer); the system
// applies the client knobs on top. Default: a clone of a plain
// http.Transport with a 5 s dial timeout.
func WithTransport(f func() *http.Transport) Option {
	return func(sys *System) { sys.baseTransport = f }
}

// WithClock sets the clock (default time.Now).
func WithClock(now func() time.Time) Option { return func(sys *System) { sys.now = now } }

// WithLogger sets the logger (default: discard).
func WithLogger(l *slog.Logger) Option { return func(sys *System) { sys.log = l } }

// System is the camera-processing service. Its methods are safe for
// concurrent use; cycles run one at a time.
type System struct {
	cfg           Config
	store         store.Store
	cache         Cache
	analyze       Analyzer
	reg           prometheus.Registerer
	baseTransport func() *http.Transport
	now           func() time.Time
	log           *slog.Logger
	m             *metrics
	client        *cameraClient
	analyzeSem    chan struct{} // nil: analysis unbounded

	// registry is set once by LoadRegistry.
	regMu     sync.RWMutex
	cams      []store.Camera
	byID      map[string]int
	districts map[string]bool
	states    []camState // per camera, touched only by the cycle that owns cycleMu

	cycleMu sync.Mutex // one cycle at a time
	cycleN  atomic.Int64
	last    atomic.Pointer[CycleSummary]
	running atomic.Int64 // s.now() unix ns when the running cycle began, 0 between cycles
	ready   atomic.Bool

	// fresh is, per camera, when it last answered usefully (stale marking
	// in the API); hostKeys its host's limiter key. Set by LoadRegistry.
	fresh    []camFresh
	hostKeys []string
	// res holds the resilience mechanisms the knobs turn on (nil: none).
	res *resilient
	// runCtx is the context of work that outlives a cycle (fetches
	// abandoned at the cycle deadline); Close cancels it and waits for
	// that work (bg).
	runCtx    context.Context
	runCancel context.CancelFunc
	bg        sync.WaitGroup
	// jobs combines the store writes of group jobs finishing at once
	// (ProcessCamera with BulkWrites).
	jobs jobWriter
}

// New validates cfg and builds a System; it starts no goroutines and does
// not contact anything (see LoadRegistry).
func New(cfg Config, opts ...Option) (*System, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("system config: %w", err)
	}
	if cfg.RegistryTimeout == 0 {
		cfg.RegistryTimeout = DefaultRegistryTimeout
	}
	s := &System{cfg: cfg, now: time.Now, log: slog.New(slog.DiscardHandler)}
	for _, o := range opts {
		o(s)
	}
	if s.store == nil {
		return nil, errors.New("system: WithStore is required")
	}
	if s.analyze == nil {
		s.analyze = AnalyzerFor(cfg.Knobs)
	}
	if s.baseTransport == nil {
		s.baseTransport = defaultTransport
	}
	m, err := newMetrics(s.reg)
	if err != nil {
		return nil, fmt.Errorf("system metrics: %w", err)
	}
	s.m = m
	s.client = newCameraClient(cfg.Knobs, s.baseTransport)
	if n := cfg.Knobs.AnalyzeWorkers; n > 0 {
		s.analyzeSem = make(chan struct{}, n)
	}
	s.runCtx, s.runCancel = context.WithCancel(context.Background())
	if s.res, err = newResilient(s); err != nil {
		s.runCancel()
		return nil, err
	}
	return s, nil
}

// Config returns the system's configuration.
func (s *System) Config() Config { return s.cfg }

// Close cancels the fetches still in flight from cycles cut off at their
// deadline (see Drain for letting them finish), waits for them and
// releases idle camera connections. It does not close the store or cache,
// which the caller owns. Call it after the last RunCycle has returned;
// calling it again does nothing more.
func (s *System) Close() error {
	s.runCancel()
	s.bg.Wait()
	s.client.close()
	return nil
}

// Drain waits until no camera abandoned at a cycle deadline is in flight
// any more (their late results stored), or returns ctx's error. Without a
// cycle deadline it returns at once. Call it after the last cycle, before
// Close, for a graceful shutdown.
func (s *System) Drain(ctx context.Context) error {
	if s.res == nil || s.res.tracker == nil {
		return nil
	}
	err := s.res.tracker.WaitIdle(ctx)
	s.res.flushLate()
	return err
}

func defaultTransport() *http.Transport {
	return &http.Transport{
		Proxy:                 nil,
		DialContext:           (&netDialer).DialContext,
		TLSClientConfig:       &tls.Config{MinVersion: tls.VersionTLS12},
		ForceAttemptHTTP2:     false,
		ResponseHeaderTimeout: 0,
		DisableCompression:    true,
	}
}

// LoadRegistry fetches the fleet's inventory (GET {fleet}/cameras),
// validates every camera document and upserts the registry into the store.
// Afterwards the system is ready when the store answers a ping.
func (s *System) LoadRegistry(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.RegistryTimeout)
	defer cancel()
	src := strings.TrimRight(s.cfg.FleetURL, "/") + "/cameras"
	cams, err := fetchRegistry(ctx, s.client.registryClient(), src)
	if err != nil {
		return err
	}
	if err := s.store.UpsertCameras(ctx, cams); err != nil {
		return fmt.Errorf("storing the registry of %d cameras: %w", len(cams), err)
	}
	byID := make(map[string]int, len(cams))
	districts := map[string]bool{}
	hostKeys := make([]string, len(cams))
	for i, c := range cams {
		byID[c.ID] = i
		districts[c.District] = true
		hostKeys[i] = hostKey(c.SnapshotURL)
	}
	s.regMu.Lock()
	s.cams, s.byID, s.districts = cams, byID, districts
	s.states = make([]camState, len(cams))
	s.fresh = make([]camFresh, len(cams))
	s.hostKeys = hostKeys
	s.regMu.Unlock()
	if err := s.store.Ping(ctx); err != nil {
		return fmt.Errorf("store ping: %w", err)
	}
	if err := s.checkCache(ctx); err != nil {
		return err
	}
	s.ready.Store(true)
	return nil
}

// cacheChecker is a Cache that can tell a misconfigured backend from an
// outage (cache.Layer: Redis rejecting the credentials is an error, Redis
// down is not).
type cacheChecker interface {
	Check(ctx context.Context) error
}

func (s *System) checkCache(ctx context.Context) error {
	if c, ok := s.cache.(cacheChecker); ok {
		if err := c.Check(ctx); err != nil {
			return fmt.Errorf("cache: %w", err)
		}
	}
	return nil
}

// Ready reports whether the registry is loaded, the store answers and the
// cache (if it can tell) is not misconfigured; see CheckReady.
func (s *System) Ready(ctx context.Context) bool { return s.CheckReady(ctx) == nil }

// CheckReady is Ready with the reason: nil when ready, else why not. A
// cache whose Redis rejects authentication makes the system not ready; a
// Redis that is merely down does not (reads go to L1 and the store).
// The cache is checked first: a rejected password is also why
// LoadRegistry keeps failing.
func (s *System) CheckReady(ctx context.Context) error {
	if err := s.checkCache(ctx); err != nil {
		return err
	}
	if !s.ready.Load() {
		return errors.New("registry not loaded")
	}
	if err := s.store.Ping(ctx); err != nil {
		return fmt.Errorf("store ping: %w", err)
	}
	return nil
}

// Cameras returns a copy of the registry (nil before LoadRegistry).
func (s *System) Cameras() []store.Camera {
	s.regMu.RLock()
	defer s.regMu.RUnlock()
	return append([]store.Camera(nil), s.cams...)
}

// maxRegistryBytes bounds the registry response (20,000 cameras ≈ 6 MB).
const maxRegistryBytes = 64 << 20

// fetchRegistry GETs and validates the fleet's camera documents.
func fetchRegistry(ctx context.Context, c *http.Client, src string) ([]store.Camera, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, src, nil)
	if err != nil {
		return nil, fmt.Errorf("registry %s: %w", src, err)
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, fmt.Errorf("registry: GET %s: %w", src, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("registry: GET %s: status %s", src, resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxRegistryBytes+1))
	if err != nil {
		return nil, fmt.Errorf("registry: reading %s: %w", src, err)
	}
	if len(body) > maxRegistryBytes {
		return nil, fmt.Errorf("registry: %s: response over %d bytes", src, maxRegistryBytes)
	}
	return ParseRegistry(body)
}

// ParseRegistry decodes and validates the fleet's GET /cameras answer: a JSON
// array of camera documents. Every error names the camera (by index and id)
// and the field.
func ParseRegistry(body []byte) ([]store.Camera, error) {
	var docs []store.Camera
	if err := json.Unmarshal(body, &docs); err != nil {
		return nil, fmt.Errorf("registry: decoding cameras: %w", err)
	}
	if len(docs) == 0 {
		return nil, errors.New("registry: the fleet has no cameras")
	}
	seen := make(map[string]int, len(docs))
	var errs []error
	for i := range docs {
		c := &docs[i]
		bad := func(field, format string, args ...any) {
			errs = append(errs, fmt.Errorf("registry: camera %d (%q): %s: %s", i, c.ID, field, fmt.Sprintf(format, args...)))
		}
		if c.ID == "" {
			bad("id", "missing")
		} else if !validID(c.ID) {
			bad("id", "must be 1 … 64 characters of [A-Za-z0-9_-]")
		} else if j, dup := seen[c.ID]; dup {
			bad("id", "duplicate of camera %d", j)
		} else {
			seen[c.ID] = i
		}
		if c.District == "" {
			bad("district", "missing")
		}
		if c.Status != "online" && c.Status != "offline" {
			bad("status", "must be online or offline, got %q", c.Status)
		}
		switch c.CameraType {
		case "PTZ", "Static", "Dome":
		default:
			bad("cameraType", "must be PTZ, Static or Dome, got %q", c.CameraType)
		}
		if c.Location.Lat < -90 || c.Location.Lat > 90 {
			bad("location.lat", "out of range: %v", c.Location.Lat)
		}
		if c.Location.Lng < -180 || c.Location.Lng > 180 {
			bad("location.lng", "out of range: %v", c.Location.Lng)
		}
		if u, err := url.Parse(c.SnapshotURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad("snapshotUrl", "not an http(s) URL: %q", c.SnapshotURL)
		} else if u.RawQuery != "" || u.Fragment != "" {
			bad("snapshotUrl", "must have no query or fragment: %q", c.SnapshotURL)
		}
		if len(errs) >= 20 {
			errs = append(errs, fmt.Errorf("registry: too many errors, stopping at camera %d", i))
			break
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return docs, nil
}

// validID reports whether id is safe as a path segment, cache key and
// store key.
func validID(id string) bool {
	if len(id) == 0 || len(id) > 64 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}
