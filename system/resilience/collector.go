package resilience

import "github.com/prometheus/client_golang/prometheus"

// Sources are what a Collector reads; any may be nil.
type Sources struct {
	Breakers   *Breakers
	HostLimits *HostLimits
	// Tracker returns a Tracker's Stats (a func because Tracker is
	// generic).
	Tracker func() TrackerStats
}

// Collector exports the resilience mechanisms' state as Prometheus
// metrics, read at scrape time. Register it on the system's registry. It
// is safe for concurrent use.
type Collector struct{ src Sources }

var (
	descBreakers = prometheus.NewDesc("camload_breakers",
		"Per-camera circuit breakers by state (open: skipped; half_open: being probed).", []string{"state"}, nil)
	descHostLimit = prometheus.NewDesc("camload_host_limit",
		"Learned concurrency limit per camera host (AIMD on 503s and resets).", []string{"host"}, nil)
	descHostInFlight = prometheus.NewDesc("camload_host_in_flight",
		"Snapshot requests in flight per camera host.", []string{"host"}, nil)
	descHostWaiting = prometheus.NewDesc("camload_host_waiting",
		"Snapshot requests waiting for a slot under the host's limit.", []string{"host"}, nil)
	descHostOverloads = prometheus.NewDesc("camload_host_overloads_total",
		"Overload answers (503, reset) per camera host.", []string{"host"}, nil)
	descInFlight = prometheus.NewDesc("camload_cameras_in_flight",
		"Cameras being fetched, including those abandoned by their cycle.", nil, nil)
	descAbandoned = prometheus.NewDesc("camload_cameras_abandoned_total",
		"Cameras still in flight when their cycle reached its deadline.", nil, nil)
	descLate = prometheus.NewDesc("camload_late_results_total",
		"Results of abandoned cameras that arrived after their cycle ended.", nil, nil)
)

// NewCollector returns a Collector of src.
func NewCollector(src Sources) *Collector { return &Collector{src: src} }

// Describe implements prometheus.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descBreakers, descHostLimit, descHostInFlight, descHostWaiting, descHostOverloads, descInFlight, descAbandoned, descLate} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	if b := c.src.Breakers; b != nil {
		n := b.Counts()
		ch <- prometheus.MustNewConstMetric(descBreakers, prometheus.GaugeValue, float64(n.Open), "open")
		ch <- prometheus.MustNewConstMetric(descBreakers, prometheus.GaugeValue, float64(n.HalfOpen), "half_open")
	}
	if h := c.src.HostLimits; h != nil {
		for _, s := range h.Hosts() {
			ch <- prometheus.MustNewConstMetric(descHostLimit, prometheus.GaugeValue, float64(s.Limit), s.Host)
			ch <- prometheus.MustNewConstMetric(descHostInFlight, prometheus.GaugeValue, float64(s.InFlight), s.Host)
			ch <- prometheus.MustNewConstMetric(descHostWaiting, prometheus.GaugeValue, float64(s.Waiting), s.Host)
			ch <- prometheus.MustNewConstMetric(descHostOverloads, prometheus.CounterValue, float64(s.Overloads), s.Host)
		}
	}
	if t := c.src.Tracker; t != nil {
		s := t()
		ch <- prometheus.MustNewConstMetric(descInFlight, prometheus.GaugeValue, float64(s.InFlight))
		ch <- prometheus.MustNewConstMetric(descAbandoned, prometheus.CounterValue, float64(s.Abandoned))
		ch <- prometheus.MustNewConstMetric(descLate, prometheus.CounterValue, float64(s.Late))
	}
}

var _ prometheus.Collector = (*Collector)(nil)
