package simulator

import "time"

// IdealCycle is a lower bound on the time any client needs to fetch every
// camera once, given the latencies the fleet drew for the requests it saw
// (the measured cycle's own draws) and the fleet's capacities: each camera
// costs its first served fetch's drawn latency, and each host, serving at
// most capacity.concurrent requests at once, needs at least
//
//	max(longest draw + h, (Σ draws + slots × h) / slots)
//
// where slots = min(concurrent, cameras fetched on the host) (concurrent
// 0: unlimited, so slots = cameras) and h is capacity.handshake when cold
// (a client that starts without open connections pays one per slot) and 0
// otherwise (a client with warm keep-alive connections pays none). The
// bound is the largest host's; every request holds its slot at least its
// draw, so no client can beat it. Refused fetches drew nothing and are
// skipped; a camera with no served fetch is not counted (Cameras says how
// many were). It is a pure function of its arguments.
func IdealCycle(fetches []Fetch, capacity CapacityConfig, cold bool) IdealResult {
	type hostWork struct {
		sum, longest time.Duration
		n            int
	}
	seen := map[string]bool{}
	work := map[int]*hostWork{}
	for _, fe := range fetches {
		if fe.Refused() || seen[fe.Camera] {
			continue
		}
		seen[fe.Camera] = true
		w := work[fe.Host]
		if w == nil {
			w = &hostWork{}
			work[fe.Host] = w
		}
		w.sum += fe.Latency
		w.longest = max(w.longest, fe.Latency)
		w.n++
	}
	var hs time.Duration
	if cold {
		hs = capacity.Handshake
	}
	var res IdealResult
	for _, w := range work {
		slots := w.n
		if c := capacity.Concurrent; c > 0 && c < slots {
			slots = c
		}
		bound := max(w.longest+hs, (w.sum+time.Duration(slots)*hs)/time.Duration(slots))
		res.Cycle = max(res.Cycle, bound)
		res.Cameras += w.n
	}
	return res
}

// IdealResult is IdealCycle's answer.
type IdealResult struct {
	// Cycle is the lower bound.
	Cycle time.Duration `json:"cycleNs"`
	// Cameras is the number of cameras whose draws it used.
	Cameras int `json:"cameras"`
}
