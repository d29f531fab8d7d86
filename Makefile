# mlink — the two set-up commands are `make demo` and `make test` (see README.md).
GO        ?= go
PKGS      := ./...
BIN       := bin

.PHONY: all build test vet fmt-check unit e2e browser-deps fuzz pysmoke e2e-real bench demo clean

all: build

build:
	$(GO) build -o $(BIN)/ ./cmd/...

## test: everything CI runs
test: fmt-check vet unit e2e fuzz pysmoke

# Short fuzz runs of every parser that takes outside input.
FUZZTIME ?= 10s
fuzz:
	$(GO) test -run='^$$' -fuzz=FuzzDecodeStartRequest -fuzztime=$(FUZZTIME) ./api
	$(GO) test -run='^$$' -fuzz=FuzzNewFilter -fuzztime=$(FUZZTIME) .

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet $(PKGS)

# Unit and conformance tests run with the race detector; the end-to-end
# suite (whole syncs between two simulated replica sets) runs without it,
# which would make it several times slower than CI's budget allows.
UNIT_PKGS = $$($(GO) list ./... | grep -v '/e2e')
unit:
	$(GO) test -race -count=1 -timeout 15m $(UNIT_PKGS)

e2e: browser-deps
	$(GO) test -count=1 -timeout 15m ./e2e/...

## browser-deps: Debian's chromium for e2e/browser (the dashboard in a headless browser), installed
## only when missing: 25 packages, 119 MB without recommends, ~25 s on a 2-core machine. Outside CI
## a failed install only warns (the browser test then skips); in CI (CI=true) it fails the run.
CHROMIUM ?= /usr/bin/chromium
CHROMIUM_PKGS := chromium fonts-dejavu-core
browser-deps:
	@test -x $(CHROMIUM) || { \
		echo "installing Debian's chromium for e2e/browser"; \
		apt-get install -y -qq --no-install-recommends $(CHROMIUM_PKGS) >/dev/null 2>&1 || \
		{ apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq --no-install-recommends $(CHROMIUM_PKGS) >/dev/null 2>&1; } || \
		if [ "$$CI" = true ]; then echo "could not install chromium"; exit 1; \
		else echo "warning: could not install chromium: e2e/browser will skip"; fi; }

## demo: the whole lifecycle on two embedded mongosim servers
demo:
	$(GO) run ./cmd/mlink demo

## pysmoke: pymongo smoke test against cmd/mongosim (installs Debian's python3-pymongo if missing, ~4 s)
pysmoke:
	@/usr/bin/python3 -c 'import pymongo' 2>/dev/null || apt-get install -y -qq python3-pymongo >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq python3-pymongo)
	$(GO) test -count=1 -run TestPymongoSmoke -v ./mongosim/pysmoke

## e2e-real: the end-to-end suite against the real replica sets of deploy/docker-compose.yml
MLINK_TEST_SOURCE_URI ?= mongodb://localhost:27017/?replicaSet=rs0
MLINK_TEST_TARGET_URI ?= mongodb://localhost:27018/?replicaSet=rs1
e2e-real:
	MLINK_TEST_SOURCE_URI='$(MLINK_TEST_SOURCE_URI)' MLINK_TEST_TARGET_URI='$(MLINK_TEST_TARGET_URI)' \
		$(GO) test -count=1 -p 1 -timeout 30m ./e2e/...

## bench: mongosim micro-benchmarks, then mlink against raw baselines on two mongosim processes:
## clone (1M docs of ~1 KB; 4x: make bench BENCH_CLONE_FLAGS=-docs=4000000) and replication
## (apply rate on a 200k-op backlog; lag at 1k..20k ops/s). See bench/README.md.
BENCH_CLONE_FLAGS ?=
BENCH_REPL_FLAGS  ?=
bench:
	$(GO) test -run '^$$' -bench . -benchtime 2s ./mongosim/...
	$(GO) build -o $(BIN)/bench/ ./cmd/mongosim ./bench/cmd/...
	$(BIN)/bench/benchclone $(BENCH_CLONE_FLAGS)
	$(BIN)/bench/benchrepl $(BENCH_REPL_FLAGS)

clean:
	rm -rf $(BIN)
