# camload — see README.md. `make test` is the test command CI runs.
GO      ?= go
BIN     ?= bin/camload
VERSION ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
# Packages whose tests run goroutines concurrently get the race detector.
RACE_PKGS ?= ./simulator/... ./system/... ./bench/... ./internal/...

.PHONY: build test test-short lint fmt vet bench bench-quick report gate clean

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

# bench: the five modes at 100 and 1000 cameras, then its reports.
# bench-quick: the same at 100 cameras only (< 3 min). Run folders go to
# $(BENCH_OUT)/<scenario>; results.json there is what `camload gate` reads.
BENCH_OUT ?= runs
bench: build
	$(BIN) run --out $(BENCH_OUT)/modes-quick scenarios/modes-quick.yaml
	$(BIN) report $(BENCH_OUT)/modes-quick

bench-quick: build
	$(BIN) run --out $(BENCH_OUT)/modes-quick-100 --cameras 100 scenarios/modes-quick.yaml
	$(BIN) report $(BENCH_OUT)/modes-quick-100

clean:
	rm -rf bin
