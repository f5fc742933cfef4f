# The two commands of the README: `make lab` and `make test`.
GO      ?= go
BIN     := bin/lab
TOPO    ?= topologies/simple-bgp.yaml
export PATH := $(PATH):/usr/local/go/bin

.PHONY: lab test bench build deps deps-test vet fuzz clean

## lab: build and open the default lab (the seeds' 4-router topology)
lab: deps build
	./$(BIN) run $(TOPO)

## test: every test, as root (namespaces, veths, kernel routes, real peers).
## It first removes what an earlier run that was killed left (lab clean: the
## test binaries record what they create, as labs do); a run interrupted
## with Ctrl-C removes its own. LAB_BIN is the binary the tests run `lab
## clean` with. What the tests keep (the web page's screenshots) goes to
## test-output/_artifacts/.
test: deps-test build vet
	./$(BIN) clean
	mkdir -p test-output
	LAB_BIN=$(CURDIR)/$(BIN) $(GO) test -race -count=1 -timeout 60m -artifacts -outputdir $(CURDIR)/test-output ./...
	@# Property tests on labs of hundreds of speakers in process: the race
	@# detector makes them take minutes, so they run again without it.
	$(GO) test -count=1 -run 'TestRelations' ./speakerconf

## bench: the benchmarks, one package at a time so they do not disturb each other
bench: deps-test build
	$(GO) test -p 1 -run '^$$' -bench . -benchmem -timeout 60m ./...

build:
	$(GO) build -o $(BIN) ./cmd/lab

deps:
	@bash mk/deps.sh

deps-test:
	@bash mk/deps.sh --test

vet:
	$(GO) vet ./...
	@command -v staticcheck >/dev/null || $(GO) install honnef.co/go/tools/cmd/staticcheck@v0.8.2
	PATH="$$PATH:$$($(GO) env GOPATH)/bin" staticcheck ./...
	@test -z "$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))" || { echo "gofmt needed:"; gofmt -l .; exit 1; }

## fuzz: run each codec fuzz target for FUZZTIME (default 5m)
FUZZTIME ?= 5m
fuzz:
	for t in $$($(GO) test -list 'Fuzz.*' ./speaker/wire | grep ^Fuzz); do \
		$(GO) test -run '^$$' -fuzz "^$$t$$" -fuzztime $(FUZZTIME) ./speaker/wire || exit 1; done

clean:
	rm -rf bin
