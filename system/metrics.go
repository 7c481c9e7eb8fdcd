package system

import (
	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the system's Prometheus collectors.
type metrics struct {
	cycle, fetch, analyze, store prometheus.Histogram
	errors, notFetched           *prometheus.CounterVec
	processed, skipped, retries  prometheus.Counter
	api                          *prometheus.HistogramVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	lat := []float64{.001, .0025, .005, .01, .025, .05, .1, .2, .3, .5, .75, 1, 1.5, 2, 3, 5, 8, 13, 20, 30, 60}
	m := &metrics{
		cycle: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "camload_cycle_seconds", Help: "Duration of one cycle over every camera.", Buckets: lat}),
		fetch: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "camload_fetch_seconds", Help: "Duration of one snapshot fetch, body included.", Buckets: lat}),
		analyze: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "camload_analyze_seconds", Help: "Duration of one frame analysis.", Buckets: lat}),
		store: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "camload_store_seconds", Help: "Duration of one observation write (one insert or one bulk write).", Buckets: lat}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "camload_errors_total", Help: "Camera errors by kind."}, []string{"kind"}),
		notFetched: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "camload_cameras_not_fetched_total", Help: "Cameras a cycle sent no request for, by reason (breaker_open, still_in_flight)."}, []string{"reason"}),
		processed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "camload_frames_processed_total", Help: "New frames analyzed and stored."}),
		skipped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "camload_frames_skipped_total", Help: "Unchanged frames skipped (304 or same hash)."}),
		retries: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "camload_fetch_retries_total", Help: "Snapshot requests the HTTP transport retried on a fresh connection after a reused one failed."}),
		api: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "camload_api_seconds", Help: "API request duration by route and status code.", Buckets: lat},
			[]string{"route", "code"}),
	}
	for _, k := range []string{ErrTimeout, ErrConn, ErrHTTP5xx, ErrHTTPStatus, ErrBadImage, ErrTooLarge, ErrPlaceholder, ErrStore} {
		m.errors.WithLabelValues(k)
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.cycle, m.fetch, m.analyze, m.store, m.errors, m.notFetched, m.processed, m.skipped, m.retries, m.api} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}
