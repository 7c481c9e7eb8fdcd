# camload — see README.md. `make test` is the test command CI runs.
GO      ?= go
BIN     ?= bin/camload
VERSION ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
# Packages whose tests run goroutines concurrently get the race detector.
RACE_PKGS ?= ./simulator/... ./system/... ./bench/... ./internal/...

.PHONY: build test test-faults test-fuzz soak test-short lint fmt vet bench bench-quick bench-modes bench-scale bench-scaleout report gate clean

build:
	$(GO) build -ldflags "-X main.version=$(VERSION)" -o $(BIN) ./cmd/camload

lint: fmt vet

fmt:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt: not formatted:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...

# test: lint, every package's tests, then the race detector on the
# concurrent packages.
test: lint
	$(GO) test -count=1 -timeout 15m ./...
	$(GO) test -count=1 -race -timeout 20m $(RACE_PKGS)

# test-faults: the fault matrix (every fault kind × 0.1/5/50 % × every mode;
# ~2 min): cycles complete, errors by kind equal the fleet's log, nothing
# leaks; its table is in the test log (-v). Then the backend outages (Redis —
# a real redis-server when on PATH — and FerretDB stopped and restarted
# mid-run) and every fuzz target for FUZZTIME each (test-fuzz). CI runs it
# after make test.
OUTAGE_TESTS ?= TestRedisOutage|TestMongoOutage|TestRedisServerRestart|TestFerretDBRestart
test-faults:
	CAMLOAD_FAULT_MATRIX=1 $(GO) test -count=1 -timeout 15m -run 'TestFaultMatrix|$(OUTAGE_TESTS)' -v ./system/
	@$(MAKE) --no-print-directory test-fuzz

# test-fuzz: each fuzz target (package:Target) for FUZZTIME, seeded by its
# f.Add seeds and the corpus committed under the package's testdata/fuzz.
# Minimizing a new input is capped at 3 s: the JPEG decoder's target spent
# a whole 60 s run shrinking one input (31 execs instead of ~18k).
# scripts/fuzz-one.sh runs one target and tells Go 1.26's end-of-fuzztime
# race (golang/go#75804: a bare "context deadline exceeded", no crasher)
# from a failure of the target.
FUZZTIME ?= 10s
FUZZ_TARGETS ?= \
	./simulator:FuzzParseLatency ./simulator:FuzzParseConfigYAML \
	./scenarios:FuzzParse \
	./results/rule:FuzzParseExpect ./results/rule:FuzzParseThreshold \
	./results:FuzzParseCellSelector \
	./system:FuzzParseListQuery ./system:FuzzParseRegistry \
	./system/backends:FuzzRedact \
	./system/analyze:FuzzScanHeader ./system/analyze:FuzzAnalyze \
	./system/analyze/internal/jpeg:FuzzDecodeEqualsStdlib \
	./bench:FuzzCheckPlaceholders ./reports:FuzzReports
test-fuzz:
	@for t in $(FUZZ_TARGETS); do pkg=$${t%%:*}; fn=$${t##*:}; \
	  echo "fuzz $$pkg $$fn ($(FUZZTIME))"; \
	  $(GO) test -list "^$$fn\$$" $$pkg | grep -qx "$$fn" \
	    || { echo "test-fuzz: $$pkg has no fuzz target $$fn"; exit 1; }; \
	  scripts/fuzz-one.sh $(GO) $$pkg $$fn $(FUZZTIME) || exit 1; \
	done

# soak: `camload serve --mode batched` cycling against 1000 cameras with 2 %
# faults for SOAK_DURATION seconds (default 600), sampled every 30 s; prints
# RSS, goroutines and FDs as a table and the RSS slope (scripts/soak.sh). An
# hour: make soak SOAK_DURATION=3600. Not part of CI.
SOAK_DURATION ?= 600
soak: build
	SOAK_DURATION=$(SOAK_DURATION) BIN=$(BIN) scripts/soak.sh

# bench: the blog's reproduction — blog-scaling (unoptimized at 100 and 1000
# cameras, 3 repetitions), blog-before-after (1000 cameras, unoptimized vs
# optimized, API capacity, 3 repetitions) and city-realistic (all six modes
# on a fleet of real camera facts), each with its reports.
# bench-quick: blog-before-after with one repetition (CAMLOAD_REPEAT=1).
# bench-modes: all six modes at 100 and 1000 cameras, every fault kind on.
# Run folders go to $(BENCH_OUT)/<scenario>; results.json there is what
# `camload gate` reads.
BENCH_OUT ?= runs
BENCH_SCENARIOS ?= blog-scaling blog-before-after city-realistic

bench: build
	@rc=0; for s in $(BENCH_SCENARIOS); do \
	  $(BIN) run --out $(BENCH_OUT)/$$s scenarios/$$s.yaml || rc=$$?; \
	  $(BIN) report $(BENCH_OUT)/$$s || rc=$$?; \
	done; exit $$rc

bench-quick: build
	@CAMLOAD_REPEAT=1 $(MAKE) --no-print-directory bench BENCH_SCENARIOS=blog-before-after

bench-modes: build
	@$(MAKE) --no-print-directory bench BENCH_SCENARIOS=modes

# bench-scale: scenarios/scale-10k.yaml — batched and resilient at 1000,
# 5000 and 10,000 cameras on gateways of 20 (fleet.cameras_per_host), one
# run, its report charting cycle time, CPU per frame and RSS against
# cameras. Not part of make bench (~25 min on two idle cores).
bench-scale: build
	@rc=0; $(BIN) run --out $(BENCH_OUT)/scale-10k scenarios/scale-10k.yaml || rc=$$?; \
	$(BIN) report $(BENCH_OUT)/scale-10k || rc=$$?; exit $$rc

# bench-scaleout: scenarios/scaleout.yaml — batched as 1, 2 and 3 replicas
# (camload serve --group, GOMAXPROCS=1 each) on 1000 cameras, sharing the
# cycles through a Redis Stream (a redis-server the runner starts when on
# PATH, else miniredis it hosts); prints `uptime` before and after (the
# efficiency depends on what else the cores run). Not part of make bench
# (~3 min a repetition; CAMLOAD_REPEAT=5 for a CI on the efficiency).
bench-scaleout: build
	@uptime; rc=0; $(BIN) run --out $(BENCH_OUT)/scaleout scenarios/scaleout.yaml || rc=$$?; \
	$(BIN) report $(BENCH_OUT)/scaleout || rc=$$?; uptime; exit $$rc

# report: rewrite the reports of every run folder under $(BENCH_OUT).
report: build
	@for d in $(BENCH_OUT)/*/; do [ -f $$d/results.json ] && $(BIN) report $$d; done; true

# gate: thresholds of a run (and, with BASELINE=base/results.json,
# regressions against it). RUN defaults to the before/after run.
RUN ?= $(BENCH_OUT)/blog-before-after
gate: build
	$(BIN) gate $(if $(BASELINE),--baseline $(BASELINE)) $(RUN)/results.json

clean:
	rm -rf bin
