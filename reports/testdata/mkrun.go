//go:build ignore

// mkrun writes the hand-built results.json files the reports and gate
// golden tests read: three modes (sync, pooled, batched) at 100 and 1000
// cameras, three repetitions each, with figures shaped like a real run of
// the blog scenarios (deterministic: fixed seed). With -regress, batched at
// 1000 cameras is made slower and bigger, as a head run with a regression.
//
// -kind measured adds what schema 2 records (issue 9): per-window CPU of
// the system, the runner and the machine, RSS per window, cache traffic,
// CIs of medians and means, bracketed and censored capacities with their
// steps, freshness served, per-repetition seeds, unclipped efficiency; sync
// at 1000 cameras runs over its budget in every repetition, as declared by
// expect_over_budget, and no comparison is declared. -kind scale is a
// scale-10k run (pooled and batched at 1000, 5000 and 10000 cameras) with
// declared comparisons. The extra figures come from a second generator, so
// the base figures of a kind are those of -kind modes.
//
//	go run reports/testdata/mkrun.go -o reports/testdata/run.json
//	go run reports/testdata/mkrun.go -regress -o reports/testdata/head.json
//	go run reports/testdata/mkrun.go -kind measured -o reports/testdata/measured.json
//	go run reports/testdata/mkrun.go -kind scale -o reports/testdata/scale.json
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
	kind := flag.String("kind", "modes", "modes (schema-1 figures), measured (schema-2 windows, CIs, capacity brackets) or scale (1000/5000/10000 cameras)")
	flag.Parse()
	if *kind != "modes" && *kind != "measured" && *kind != "scale" {
		log.Fatalf("-kind must be modes, measured or scale, got %q", *kind)
	}
	extended := *kind != "modes"
	// xr draws the schema-2 figures, apart from rng so that the base
	// figures stay those of -kind modes.
	xr := rand.New(rand.NewSource(7))
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
	modes, counts := []string{"sync", "pooled", "batched"}, []int{100, 1000}
	if *kind == "scale" {
		// A scale-10k run: the bounded modes at 1000, 5000 and 10000
		// cameras, grown from their 1000-camera shape (cycle time about
		// linear in cameras, pooled a little worse; resident memory a
		// base plus a per-camera share).
		modes, counts = []string{"pooled", "batched"}, []int{1000, 5000, 10000}
		for _, m := range modes {
			b := prof[m][1000]
			for _, n := range counts[1:] {
				f := float64(n) / 1000
				p := b
				grow := f
				if m == "pooled" {
					grow = math.Pow(f, 1.08)
				}
				p.cycle = time.Duration(float64(b.cycle) * grow)
				p.rss = b.rss*2/5 + int64(float64(b.rss*3/5)*f)
				p.cpu = math.Min(190, b.cpu*math.Pow(f, 0.12))
				p.gor, p.fds = b.gor+n/100, b.fds+n/200
				prof[m][n] = p
			}
		}
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
			"efficiency":      ">= 50%",
			"goroutines_peak": "< 1000",
		},
	}
	if *regress {
		run.Env.Commit = "9a8b7c6d5e4f30211f0e9d8c7b6a59483726150a"
	}
	switch *kind {
	case "measured":
		run.Seed = 7
		run.ExpectOverBudget = []string{"mode:sync,cameras:1000"}
		run.Expect = []string{"cycle_p50{mode:batched,cameras:1000} <= 0.5 * cycle_p50{mode:pooled,cameras:1000}"}
	case "scale":
		run.Scenario, run.ScenarioFile, run.Seed = "scale-10k", "scenarios/scale-10k.yaml", 11
		run.Env.Backends = results.Backends{Mongo: "ferretdb-postgres (postgres://127.0.0.1:5432)", Redis: "redis://127.0.0.1:6379"}
		run.Compare = &results.Comparisons{Scaling: &results.ScalingComparison{Mode: "batched"},
			BeforeAfter: &results.BeforeAfterComparison{Before: "pooled", After: "batched"}}
		run.Thresholds = map[string]string{"cycle_p99{mode:batched,cameras:10000}": "< 10s", "error_rate": "< 5%"}
	}
	t := start
	for _, mode := range modes {
		for _, cams := range counts {
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
				if c.Ideal.Efficiency > 1 && !extended {
					c.Ideal.Efficiency = 1 // as schema 1 recorded it
				}
				el := time.Duration(cycles)*p.cycle + 8*time.Second
				if extended {
					extend(&c, p, xr, run.Seed)
					el = c.Windows.API.End.Sub(c.Started) + time.Second
				}
				c.Elapsed = results.Duration(el.Round(time.Millisecond))
				t = t.Add(el)
				run.Cells = append(run.Cells, c)
			}
		}
	}
	// One repetition over its budget, as the runner records it: status
	// and error, no numbers.
	overs := []int{5} // sync/1000#2
	switch *kind {
	case "measured":
		overs = []int{3, 4, 5} // sync/1000, every repetition: declared expected
	case "scale":
		overs = nil
	}
	for _, i := range overs {
		over := &run.Cells[i]
		*over = results.Cell{Mode: over.Mode, Cameras: over.Cameras, Hosts: over.Hosts, Repeat: over.Repeat, Status: results.StatusOverBudget,
			Error: "cell budget 2m0s exceeded after 3 of 10 cycles", Started: over.Started, Elapsed: results.Duration(2 * time.Minute), Seed: over.Seed}
	}
	run.Finished = t
	if err := results.Write(*out, run); err != nil {
		log.Fatal(err)
	}
}

// extend adds the schema-2 figures to a cell built from p: windows, CIs,
// capacity brackets with steps, freshness served, the repetition's seed.
func extend(c *results.Cell, p profile, xr *rand.Rand, seed int64) {
	noise := func(rel float64) float64 { return 1 + rel*(xr.Float64()*2-1) }
	c.Seed = uint64(seed)*1_000_003 + uint64(c.Repeat)*7919 + uint64(c.Cameras)
	ms := func(d results.Duration, f float64) results.Duration {
		return results.Duration(time.Duration(float64(d) * f).Round(time.Millisecond))
	}
	ci := func(d results.Duration, lo, hi float64) *[2]results.Duration {
		return &[2]results.Duration{ms(d, lo), ms(d, hi)}
	}
	l := &c.Cycles.Latency
	l.P50CI, l.MeanCI = ci(l.P50, 0.96, 1.05), ci(l.Mean, 0.97, 1.04)
	pc := &c.Cycles.PerCamera
	pc.P50CI, pc.MeanCI = ci(pc.P50, 0.98, 1.02), ci(pc.Mean, 0.98, 1.03)
	c.Cycles.Freshness.P50CI = ci(c.Cycles.Freshness.P50, 0.95, 1.06)

	var cycles time.Duration
	for _, d := range c.Cycles.Durations {
		cycles += d.D()
	}
	warm := 2 * p.cycle
	cw := &results.Window{Start: c.Started.Add(warm + 3*time.Second)}
	cw.End = cw.Start.Add(cycles)
	secs := cw.Seconds()
	cpu := c.Resources.CPUCorePercent
	cw.CPUSecondsSystem = round3(cpu / 100 * secs)
	cw.CPUSecondsRunner = round3(0.35 * noise(0.1) * secs) // fleet, embedded stores
	cw.CPUMachinePercent = round3(math.Min(100, (cw.CPUSecondsSystem+cw.CPUSecondsRunner)/(2*secs)*100+3*noise(0.5)))
	cw.RSSPeak, cw.RSSMean = c.Resources.RSSPeak, c.Resources.RSSMean
	cw.Samples = int(secs / 0.25)
	aw := &results.Window{Start: cw.End.Add(time.Second)}
	aw.End = aw.Start.Add(24 * time.Second)
	apiCPU := math.Min(180, 60*noise(0.1)+cpu/3)
	aw.CPUSecondsSystem = round3(apiCPU / 100 * aw.Seconds())
	aw.CPUSecondsRunner = round3(0.6 * noise(0.1) * aw.Seconds()) // vegeta
	aw.CPUMachinePercent = round3((aw.CPUSecondsSystem + aw.CPUSecondsRunner) / (2 * aw.Seconds()) * 100)
	aw.RSSPeak = c.Resources.RSSPeak * 11 / 10
	aw.RSSMean = c.Resources.RSSMean * 21 / 20
	aw.Samples = 96
	if c.Mode != "sync" { // sync has no cache
		lookups := int64(c.Cycles.Visits)
		cw.Cache = &results.CacheStats{L1Hits: lookups / 20, L1Misses: lookups - lookups/20}
		cw.Cache.L2Hits = cw.Cache.L1Misses * 3 / 10
		cw.Cache.L2Misses = cw.Cache.L1Misses - cw.Cache.L2Hits
		reqs := int64(c.API["latest"].Requests + c.API["cameras"].Requests)
		aw.Cache = &results.CacheStats{L1Hits: int64(float64(reqs) * 0.62 * noise(0.05))}
		aw.Cache.L1Misses = reqs - aw.Cache.L1Hits
		aw.Cache.L2Hits = int64(float64(aw.Cache.L1Misses) * 0.8 * noise(0.05))
		aw.Cache.L2Misses = aw.Cache.L1Misses - aw.Cache.L2Hits
	}
	c.Windows = results.Windows{Cycles: cw, API: aw}
	pw := &results.Span{Start: cw.Start.Add(time.Duration(float64(cycles) * 0.1)), End: cw.End.Add(-time.Duration(float64(cycles) * 0.1))}
	c.Profiles.CPUWindow = pw

	reads := 60 + c.Cameras/10
	age := results.Duration(time.Duration(float64(p.cycle) * 0.6))
	c.FreshnessServed = &results.Freshness{Reads: reads, Stale: reads * 3 / 100, Offline: reads / 50, NotFound: 0,
		Age: results.Quantiles{Count: int64(reads), Mean: ms(age, 1.1), P50: age, P90: ms(age, 1.8), P95: ms(age, 2.1), P99: ms(age, 2.6), Max: ms(age, 3),
			P50CI: ci(age, 0.9, 1.12)}}
	fa := results.Duration(time.Duration(float64(age) * 0.9))
	fr := c.FreshnessServed
	fr.Fresh, fr.Dark = reads-fr.Stale-fr.Offline, reads/50
	fr.AgeFresh = results.Quantiles{Count: int64(fr.Fresh), Mean: ms(fa, 1.05), P50: fa, P90: ms(fa, 1.5), P95: ms(fa, 1.6), P99: ms(fa, 1.7), Max: ms(fa, 1.8)}

	c.Ideal.Draws = c.Cycles.Visits
	c.Ideal.Handshakes = c.Hosts * 10

	// The capacity search of /cameras/{id}/latest: ×2 from 1 req/s over
	// 2 s steps until the SLO fails or the cap (or time budget) stops it,
	// then bisect.
	e := c.API["latest"]
	trueCap := p.capacity * noise(0.05)
	if c.Mode == "batched" {
		trueCap = math.Inf(1) // never fails below the cap: censored
	}
	capRate := 5000.0
	if c.Cameras >= 1000 {
		capRate = 4678 // the search's time budget ran out first
	}
	var steps []results.CapacityStep
	step := func(rate float64) bool {
		req := uint64(rate * 2)
		pass := rate <= trueCap
		p99 := ms(results.Duration(p.apiP99), 0.5+0.4*math.Min(rate/trueCap, 2))
		mx := ms(p99, 1.4)
		judged := "p99"
		if !results.Supports(int64(req), 0.99) {
			judged = "max"
			pass = pass && mx < results.Duration(50*time.Millisecond*10)
		}
		er := 0.0
		if !pass {
			er = 0.02
		}
		steps = append(steps, results.CapacityStep{Rate: rate, Requests: req, P99: p99, Max: mx, ErrorRate: er, Pass: pass, JudgedOn: judged})
		return pass
	}
	var lastPass, firstFail *float64
	for r := 1.0; ; r *= 2 {
		r := math.Min(r, capRate)
		if step(r) {
			lastPass = &r
		} else {
			firstFail = &r
			break
		}
		if r == capRate {
			break
		}
	}
	if firstFail != nil && lastPass != nil {
		lo, hi := *lastPass, *firstFail
		for i := 0; i < 3 && hi-lo > 1; i++ {
			mid := math.Round((lo + hi) / 2)
			if step(mid) {
				lo = mid
			} else {
				hi = mid
			}
		}
		lastPass, firstFail = &lo, &hi
	}
	capy := &results.Capacity{Cap: capRate, Steps: steps, LastPass: lastPass, FirstFail: firstFail, Censored: firstFail == nil}
	if lastPass != nil {
		capy.Rate = *lastPass
	}
	e.Capacity = capy
	c.API["latest"] = e
}

func round3(v float64) float64 { return math.Round(v*1000) / 1000 }

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
