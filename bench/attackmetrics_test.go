package bench

import (
	"testing"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// TestAttackMetrics: a sender stalled for 1s behind the pacer is charged
// the wait (corrected latency), while vegeta's own latency is not.
func TestAttackMetrics(t *testing.T) {
	began := time.Unix(1000, 0)
	interval := 10 * time.Millisecond
	m := NewAttackMetrics(100, time.Second, began, interval)
	for i := uint64(0); i < 100; i++ {
		intended := began.Add(time.Duration(i+1) * interval)
		sent := intended
		if i >= 90 {
			sent = intended.Add(time.Second) // stalled sender
		}
		r := &vegeta.Result{Seq: i, Timestamp: sent, Latency: 5 * time.Millisecond, Code: 200}
		if i == 3 {
			r.Code, r.Error = 0, "dial tcp: refused"
		}
		m.Add(r)
	}
	res := m.Close()
	ep := res.Endpoint
	if ep.Requests != 100 || res.Failed != 1 || ep.Success != 0.99 || ep.StatusCodes["200"] != 99 || ep.StatusCodes["0"] != 1 {
		t.Errorf("requests %d, failed %d, success %v, codes %v", ep.Requests, res.Failed, ep.Success, ep.StatusCodes)
	}
	if len(ep.Errors) != 1 || ep.Errors[0] != "dial tcp: refused" {
		t.Errorf("errors = %v", ep.Errors)
	}
	if raw, co := res.Raw.Quantile(99), res.Latency.Quantile(99); raw > 6*time.Millisecond || co < time.Second {
		t.Errorf("p99 raw %s, corrected %s; want ≈5ms and ≥ 1s", raw, co)
	}
	// 99 successes between the first send (10ms) and the last answer (2.005s).
	if want := 99 / (1.995); ep.Throughput < want*0.999 || ep.Throughput > want*1.001 {
		t.Errorf("throughput = %v; want %v", ep.Throughput, want)
	}
}
