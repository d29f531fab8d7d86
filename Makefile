# mlink — the two set-up commands are `make demo` and `make test` (see README.md).
GO        ?= go
PKGS      := ./...
BIN       := bin

.PHONY: all build test vet fmt-check unit fuzz conformance e2e bench demo clean

all: build

build:
	$(GO) build -o $(BIN)/ ./cmd/...

## test: everything CI runs
test: fmt-check vet unit fuzz

# Short fuzz runs of every parser that takes outside input.
FUZZTIME ?= 10s
fuzz:
	$(GO) test -run='^$$' -fuzz=FuzzDecodeStartRequest -fuzztime=$(FUZZTIME) ./api
	$(GO) test -run='^$$' -fuzz=FuzzNewFilter -fuzztime=$(FUZZTIME) .

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
