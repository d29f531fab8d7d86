# mlink — the two set-up commands are `make demo` and `make test` (see README.md).
GO        ?= go
PKGS      := ./...
BIN       := bin

.PHONY: all build test vet fmt-check unit conformance e2e bench demo clean

all: build

build:
	$(GO) build -o $(BIN)/ ./cmd/...

## test: everything CI runs
test: fmt-check vet unit

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet $(PKGS)

unit:
	$(GO) test -race -count=1 -timeout 15m $(PKGS)

bench:
	$(GO) test -run '^$$' -bench . -benchtime 2s ./mongosim/...

clean:
	rm -rf $(BIN)
