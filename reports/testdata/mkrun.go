//go:build ignore

// mkrun writes the hand-built results.json files the reports and gate
// golden tests read: three modes (sync, pooled, batched) at 100 and 1000
// cameras, three repetitions each, with figures shaped like a real run of
// the blog scenarios (deterministic: fixed seed). With -regress, batched at
// 1000 cameras is made slower and bigger, as a head run with a regression.
//
//	go run reports/testdata/mkrun.go -o reports/testdata/run.json
//	go run reports/testdata/mkrun.go -regress -o reports/testdata/head.json
package main

import (
	"flag"
	"log"
	"math"
	"math/rand"
	"sort"
	"time"

	"github.com/camload/camload/results"
)

type profile struct {
	cycle     time.Duration // median cycle time
	spread    float64       // relative noise of a cycle
	perCam    time.Duration
	rss       int64
	cpu       float64
	errRate   float64
	gor       int
	fds       int
	apiLatest float64 // achieved req/s of /cameras/{id}/latest
	apiP99    time.Duration
	capacity  float64
	cpuTop    []results.TopFunc
	heapTop   []results.TopFunc
}

func main() {
	out := flag.String("o", "reports/testdata/run.json", "output file")
	regress := flag.Bool("regress", false, "make batched/1000 regress (head run)")
	flag.Parse()
	// The same seed with -regress: every other cell is identical to
	// run.json (an A/A comparison), so the only change is made below.
	rng := rand.New(rand.NewSource(42))
	mib := int64(1 << 20)
	prof := map[string]map[int]profile{
		"sync": {
			100: {cycle: 560 * time.Millisecond, spread: 0.08, perCam: 5 * time.Millisecond, rss: 96 * mib, cpu: 38, errRate: 0.002, gor: 24, fds: 18,
				apiLatest: 40, apiP99: 180 * time.Millisecond, capacity: 45,
				cpuTop:  []results.TopFunc{{"crypto/tls.(*Conn).Handshake", 0, 0.21}, {"image/jpeg.(*decoder).processSOS", 0, 0.18}, {"runtime.mallocgc", 0, 0.09}},
				heapTop: []results.TopFunc{{"bufio.NewReaderSize", 6 << 20, 0.31}, {"image.NewYCbCr", 4 << 20, 0.2}}},
			1000: {cycle: 8200 * time.Millisecond, spread: 0.12, perCam: 8 * time.Millisecond, rss: 1430 * mib, cpu: 96, errRate: 0.118, gor: 61, fds: 140,
				apiLatest: 2.1, apiP99: 2900 * time.Millisecond, capacity: 2,
				cpuTop:  []results.TopFunc{{"crypto/tls.(*Conn).Handshake", 0, 0.34}, {"runtime.mallocgc", 0, 0.14}, {"image/jpeg.(*decoder).processSOS", 0, 0.12}},
				heapTop: []results.TopFunc{{"image.NewYCbCr", 610 << 20, 0.52}, {"bytes.growSlice", 200 << 20, 0.17}}},
		},
		"pooled": {
			100: {cycle: 190 * time.Millisecond, spread: 0.06, perCam: 4 * time.Millisecond, rss: 58 * mib, cpu: 31, errRate: 0.0015, gor: 40, fds: 22,
				apiLatest: 90, apiP99: 70 * time.Millisecond, capacity: 110,
				cpuTop:  []results.TopFunc{{"image/jpeg.(*decoder).processSOS", 0, 0.33}, {"runtime.mallocgc", 0, 0.1}},
				heapTop: []results.TopFunc{{"image.NewYCbCr", 5 << 20, 0.4}}},
			1000: {cycle: 1900 * time.Millisecond, spread: 0.07, perCam: 5 * time.Millisecond, rss: 240 * mib, cpu: 71, errRate: 0.021, gor: 140, fds: 40,
				apiLatest: 18, apiP99: 650 * time.Millisecond, capacity: 20,
				cpuTop:  []results.TopFunc{{"image/jpeg.(*decoder).processSOS", 0, 0.38}, {"go.mongodb.org/mongo-driver/x/mongo/driver.Operation.Execute", 0, 0.11}},
				heapTop: []results.TopFunc{{"image.NewYCbCr", 60 << 20, 0.41}}},
		},
		"batched": {
			100: {cycle: 120 * time.Millisecond, spread: 0.05, perCam: 2 * time.Millisecond, rss: 44 * mib, cpu: 19, errRate: 0.001, gor: 38, fds: 20,
				apiLatest: 150, apiP99: 9 * time.Millisecond, capacity: 1400,
				cpuTop:  []results.TopFunc{{"image/jpeg.(*decoder).processSOS", 0, 0.29}, {"crypto/sha256.block", 0, 0.07}},
				heapTop: []results.TopFunc{{"github.com/hashicorp/golang-lru/v2/expirable.(*LRU[...]).Add", 2 << 20, 0.22}}},
			1000: {cycle: 760 * time.Millisecond, spread: 0.05, perCam: 3 * time.Millisecond, rss: 150 * mib, cpu: 44, errRate: 0.0052, gor: 120, fds: 34,
				apiLatest: 150, apiP99: 12 * time.Millisecond, capacity: 1200,
				cpuTop:  []results.TopFunc{{"image/jpeg.(*decoder).processSOS", 0, 0.41}, {"crypto/sha256.block", 0, 0.09}, {"go.mongodb.org/mongo-driver/bson.Marshal", 0, 0.05}},
				heapTop: []results.TopFunc{{"image.NewYCbCr", 30 << 20, 0.28}, {"github.com/redis/go-redis/v9.(*Pipeline).Exec", 8 << 20, 0.07}}},
		},
	}
	if *regress {
		p := prof["batched"][1000]
		p.cycle = p.cycle * 13 / 10
		p.rss = p.rss * 13 / 10
		prof["batched"][1000] = p
	}
	start := time.Date(2026, 11, 25, 18, 0, 0, 0, time.UTC)
	run := &results.Run{
		Schema:       results.SchemaVersion,
		Scenario:     "modes",
		ScenarioFile: "scenarios/modes.yaml",
		Started:      start,
		Env: results.Env{
			GoVersion: "go1.26.8", OS: "linux", Arch: "amd64",
			CPUModel: "AMD EPYC 7B13", Cores: 2, MemTotal: 24 << 30, Hostname: "bench-1",
			Commit: "f35fe0e1c2b3a4d5e6f708192a3b4c5d6e7f8091", Camload: "v0.1.0",
			Backends: results.Backends{Mongo: "ferretdb-sqlite (embedded)", Redis: "miniredis (embedded)"},
		},
		Thresholds: map[string]string{
			"cycle_p99":       "< 1s",
			"error_rate":      "< 1%",
			"rss_peak":        "< 512MiB",
			"api.latest.p99":  "< 50ms",
			"efficiency":      ">= 0.5",
			"goroutines_peak": "< 1000",
		},
	}
	if *regress {
		run.Env.Commit = "9a8b7c6d5e4f30211f0e9d8c7b6a59483726150a"
	}
	t := start
	for _, mode := range []string{"sync", "pooled", "batched"} {
		for _, cams := range []int{100, 1000} {
			p := prof[mode][cams]
			for rep := 0; rep < 3; rep++ {
				noise := func(rel float64) float64 { return 1 + rel*(rng.Float64()*2-1) }
				c := results.Cell{Mode: mode, Cameras: cams, Hosts: 2, Repeat: rep, Status: results.StatusOK, Started: t,
					Knobs: map[string]any{"fanout": mode}}
				const cycles = 10
				var ds []results.Duration
				var longest time.Duration
				for i := 0; i < cycles; i++ {
					d := time.Duration(float64(p.cycle) * noise(p.spread)).Round(time.Millisecond)
					if i == 3 && rep == 1 {
						d = d * 5 / 4 // a slow cycle: the tail
					}
					if d > longest {
						longest = d
					}
					ds = append(ds, results.Duration(d))
				}
				q := func(d time.Duration, f float64) results.Duration {
					return results.Duration(time.Duration(float64(d) * f).Round(time.Millisecond))
				}
				c.Cycles = results.Cycles{
					Count: cycles,
					Latency: results.Quantiles{Count: cycles, Mean: mean(ds), P50: pct(ds, 0.5), P90: pct(ds, 0.9),
						P95: pct(ds, 0.95), P99: pct(ds, 0.99), Max: results.Duration(longest)},
					PerCamera: results.Quantiles{Count: int64(cycles * cams), Mean: q(p.perCam, 1.2), P50: q(p.perCam, 1), P90: q(p.perCam, 2),
						P95: q(p.perCam, 3), P99: q(p.perCam, 6), Max: q(p.perCam, 20)},
					Freshness: results.Quantiles{Count: int64(cycles * cams), Mean: q(p.cycle, 5), P50: q(p.cycle, 4), P90: q(p.cycle, 9),
						P95: q(p.cycle, 11), P99: q(p.cycle, 14), Max: q(p.cycle, 16)},
					Durations: ds,
					Visits:    cycles * cams,
				}
				errs := int(float64(c.Cycles.Visits) * p.errRate * noise(0.1))
				timeouts := errs * 2 / 3
				c.Cycles.Errors = map[string]int{"timeout": timeouts, "placeholder": errs - timeouts}
				c.Cycles.Processed = c.Cycles.Visits - errs
				c.Cycles.ErrorRate = float64(errs) / float64(c.Cycles.Visits)
				c.Cycles.Reconciled = true
				c.Faults = map[string]int{"latency_spike": timeouts, "placeholder": errs - timeouts}
				rss := int64(float64(p.rss) * noise(0.03))
				cpu := p.cpu * noise(0.04)
				c.Resources = results.Resources{RSSPeak: rss, RSSMean: rss * 4 / 5, CPUCorePercent: cpu, CPUMachinePercent: cpu / 2,
					GoroutinesPeak: p.gor, FDsPeak: p.fds, GCPauseTotal: results.Duration(3 * time.Millisecond), GCPauseMax: results.Duration(600 * time.Microsecond)}
				for s := 0; s < 24; s++ {
					ramp := float64(s+1) / 24
					if ramp > 0.5 {
						ramp = 1
					} else {
						ramp = 0.4 + ramp
					}
					c.Resources.Series = append(c.Resources.Series, results.Sample{
						At: results.Duration(time.Duration(s) * 250 * time.Millisecond), RSS: int64(float64(rss) * ramp * noise(0.02)),
						CPUPercent: cpu * noise(0.15), Goroutines: p.gor, FDs: p.fds})
				}
				capLatest := p.capacity * noise(0.05)
				lat := p.apiP99
				c.API = map[string]results.Endpoint{
					"latest": {Path: "/cameras/{id}/latest", Rate: 150, Duration: results.Duration(5 * time.Second), Requests: 750,
						Throughput: p.apiLatest * noise(0.03), Success: 0.999,
						Latency:     results.Quantiles{Count: 750, Mean: q(lat, 0.4), P50: q(lat, 0.3), P90: q(lat, 0.7), P95: q(lat, 0.8), P99: q(lat, 1), Max: q(lat, 1.5)},
						LatencyRaw:  results.Quantiles{Count: 750, Mean: q(lat, 0.3), P50: q(lat, 0.25), P90: q(lat, 0.5), P95: q(lat, 0.6), P99: q(lat, 0.7), Max: q(lat, 1.2)},
						StatusCodes: map[string]int{"200": 749, "503": 1}, BinFile: "attacks/" + mode + "-" + itoa(cams) + "-latest.bin", Capacity: &results.Capacity{Rate: capLatest, LastPass: &capLatest}},
					"cameras": {Path: "/cameras?page={page}", Rate: 50, Duration: results.Duration(5 * time.Second), Requests: 250,
						Throughput: p.apiLatest / 3 * noise(0.03), Success: 1,
						Latency:     results.Quantiles{Count: 250, Mean: q(lat, 0.8), P50: q(lat, 0.6), P90: q(lat, 1.4), P95: q(lat, 1.6), P99: q(lat, 2), Max: q(lat, 2.5)},
						LatencyRaw:  results.Quantiles{Count: 250, Mean: q(lat, 0.6), P50: q(lat, 0.5), P90: q(lat, 1), P95: q(lat, 1.2), P99: q(lat, 1.5), Max: q(lat, 2)},
						StatusCodes: map[string]int{"200": 250}, BinFile: "attacks/" + mode + "-" + itoa(cams) + "-cameras.bin"},
				}
				c.Profiles = results.Profiles{CPU: "profiles/" + mode + "-" + itoa(cams) + "-cpu.pb.gz", Heap: "profiles/" + mode + "-" + itoa(cams) + "-heap.pb.gz"}
				for _, f := range p.cpuTop {
					f.Flat = int64(f.Share * 30e9 * cpu / 100)
					c.Profiles.CPUTop = append(c.Profiles.CPUTop, f)
				}
				c.Profiles.HeapTop = p.heapTop
				ideal := time.Duration(cams) * 680 * time.Microsecond // hosts × capacity bound
				if mode == "sync" {
					ideal = time.Duration(cams) * 4 * time.Millisecond
				}
				c.Ideal = results.Ideal{CycleTime: results.Duration(ideal), Efficiency: float64(ideal) / float64(c.Cycles.Latency.P50), Basis: "host capacity"}
				if c.Ideal.Efficiency > 1 {
					c.Ideal.Efficiency = 1
				}
				el := time.Duration(cycles)*p.cycle + 8*time.Second
				c.Elapsed = results.Duration(el.Round(time.Millisecond))
				t = t.Add(el)
				run.Cells = append(run.Cells, c)
			}
		}
	}
	// One repetition over its budget, as the runner records it: status
	// and error, no numbers.
	over := &run.Cells[5] // sync/1000#2
	*over = results.Cell{Mode: over.Mode, Cameras: over.Cameras, Hosts: over.Hosts, Repeat: over.Repeat, Status: results.StatusOverBudget,
		Error: "cell budget 2m0s exceeded after 3 of 10 cycles", Started: over.Started, Elapsed: results.Duration(2 * time.Minute)}
	run.Finished = t
	if err := results.Write(*out, run); err != nil {
		log.Fatal(err)
	}
}

// pct is the nearest-rank q-quantile of ds.
func pct(ds []results.Duration, q float64) results.Duration {
	s := append([]results.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	i := int(math.Ceil(q*float64(len(s)))) - 1
	return s[max(i, 0)]
}

func mean(ds []results.Duration) results.Duration {
	var sum results.Duration
	for _, d := range ds {
		sum += d
	}
	return results.Duration((sum / results.Duration(len(ds))).D().Round(time.Millisecond))
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for n > 0 {
		b = append([]byte{byte('0' + n%10)}, b...)
		n /= 10
	}
	return string(b)
}
