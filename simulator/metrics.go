package simulator

import (
	"github.com/prometheus/client_golang/prometheus"
)

var (
	descRequests = prometheus.NewDesc("camload_sim_requests_total",
		"Snapshot requests answered, by host, HTTP status code (none: no response) and injected fault (none: a normal answer).",
		[]string{"host", "code", "fault"}, nil)
	descInFlight = prometheus.NewDesc("camload_sim_in_flight",
		"Snapshot requests being served (holding one of the host's capacity slots).",
		[]string{"host"}, nil)
	descQueue = prometheus.NewDesc("camload_sim_queue_depth",
		"Snapshot requests waiting for a capacity slot.",
		[]string{"host"}, nil)
	descRejections = prometheus.NewDesc("camload_sim_rejections_total",
		"Requests rejected because the host's capacity and queue were full, by how (503 or reset).",
		[]string{"host", "how"}, nil)
	descDevRejections = prometheus.NewDesc("camload_sim_device_rejections_total",
		"Requests rejected because their camera's own capacity and queue were full (fleet.capacity.device), by host and how (503 or reset).",
		[]string{"host", "how"}, nil)
	descBytes = prometheus.NewDesc("camload_sim_bytes_served_total",
		"Response body bytes written.",
		[]string{"host"}, nil)
	descConns = prometheus.NewDesc("camload_sim_connections_total",
		"TCP connections accepted.",
		[]string{"host"}, nil)
)

// collector exposes the fleet's atomic counters; reading them costs the hot
// path nothing.
type collector struct{ f *Fleet }

var _ prometheus.Collector = (*collector)(nil)

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descRequests, descInFlight, descQueue, descRejections, descDevRejections, descBytes, descConns} {
		ch <- d
	}
}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	for _, h := range c.f.hosts {
		for code := range h.reqs {
			for k := range h.reqs[code] {
				v := h.reqs[code][k].Load()
				if v == 0 {
					continue
				}
				fault := "none"
				if k > 0 {
					fault = faultKinds[k-1]
				}
				ch <- prometheus.MustNewConstMetric(descRequests, prometheus.CounterValue, float64(v), h.label, codeLabels[code], fault)
			}
		}
		ch <- prometheus.MustNewConstMetric(descInFlight, prometheus.GaugeValue, float64(h.active.Load()), h.label)
		ch <- prometheus.MustNewConstMetric(descQueue, prometheus.GaugeValue, float64(h.waiting.Load()), h.label)
		ch <- prometheus.MustNewConstMetric(descRejections, prometheus.CounterValue, float64(h.reqs[code503][kOverflow503+1].Load()), h.label, "503")
		ch <- prometheus.MustNewConstMetric(descRejections, prometheus.CounterValue, float64(h.reqs[codeNone][kOverflowReset+1].Load()), h.label, "reset")
		if c.f.devices != nil {
			ch <- prometheus.MustNewConstMetric(descDevRejections, prometheus.CounterValue, float64(h.reqs[code503][kDeviceOverflow503+1].Load()), h.label, "503")
			ch <- prometheus.MustNewConstMetric(descDevRejections, prometheus.CounterValue, float64(h.reqs[codeNone][kDeviceOverflowReset+1].Load()), h.label, "reset")
		}
		ch <- prometheus.MustNewConstMetric(descBytes, prometheus.CounterValue, float64(h.bytes.Load()), h.label)
		ch <- prometheus.MustNewConstMetric(descConns, prometheus.CounterValue, float64(h.conns.Load()), h.label)
	}
}
