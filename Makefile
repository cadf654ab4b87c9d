# lienthong — make targets. A newcomer needs only `make demo` and `make test`.
SHELL := /bin/bash
GO ?= go
BIN := $(CURDIR)/bin
GOBIN := $(shell $(GO) env GOPATH)/bin

PROTOC_GEN_GO_VERSION := v1.36.12
PROTOC_GEN_GO_GRPC_VERSION := v1.6.0
BUF_VERSION := v1.75.0
STATICCHECK_VERSION := v0.8.2
GHZ_VERSION := v0.120.0

.PHONY: all build test soak edxml-large fuzz-short bench bench-verify bench-report bench-year bench-national profile-year profile ghz lint demo compose-demo proto tools clean

all: build

# -buildvcs=auto: lthub/ltnode version show the git revision when built from
# a clone, even where GOFLAGS turns VCS stamping off.
build:
	$(GO) build -buildvcs=auto -o $(BIN)/ ./cmd/lthub ./cmd/ltnode ./internal/samplepdf/cmd/samplepdf

# The README's test command: vet, then every test with the race detector,
# including the end-to-end tests through a real hub on loopback.
test:
	$(GO) vet ./...
	$(GO) test -race -timeout 15m ./...
	$(MAKE) fuzz-short

# The fault test (test/e2e/soak_test.go) for SOAK_DURATION: senders and
# receivers through the node library while the hub process is SIGKILLed
# and restarted about every SOAK_KILL_EVERY, one receiver is cut off
# mid-stream again and again, and the hub's disk (a tmpfs, when this
# machine lets the test mount one) fills up for a while. It prints
# sent / accepted / delivered / lost / duplicated / kills and fails
# unless lost and duplicated are 0. make test runs a 20 s version.
SOAK_DURATION ?= 10m
SOAK_KILL_EVERY ?= 15s
soak:
	set -o pipefail; SOAK_DURATION=$(SOAK_DURATION) SOAK_KILL_EVERY=$(SOAK_KILL_EVERY) \
		$(GO) test -run '^TestSoak$$' -count=1 -v -timeout 60m ./test/e2e/ | grep -v '^=== RUN'

# A 100 MB signed PDF inside an edXML package through the folder
# connector, a real hub and the recipient's export, with the peak live
# heap of the process (hub and both nodes) printed and held under 64 MB.
# make test runs an 8 MB version.
EDXML_MB ?= 100
edxml-large:
	LIENTHONG_EDXML_MB=$(EDXML_MB) $(GO) test -run '^TestEdxmlLargeAttachment$$' -count=1 -v -timeout 20m ./test/e2e/ | grep -v '^=== RUN'

# Each fuzz target for a short, fixed time; a crasher lands in
# testdata/fuzz and becomes a regression test of the plain run.
FUZZTIME ?= 15s
fuzz-short:
	GO=$(GO) FUZZTIME=$(FUZZTIME) bash test/fuzz-short.sh

BENCHFLAGS ?=
PROFILE_DIR ?= $(CURDIR)/profile

# A real hub (bin/lthub serve, its own process: bbolt on disk, mTLS on
# loopback, full verification) loaded by concurrent node clients in the
# ltbench process, against the raw storage limit, PAdES verification and
# the CPU floor of a document; the last line is one JSON object with the
# hub's own CPU per document and RSS.
bench: build
	$(GO) run ./bench/cmd/ltbench --lthub $(BIN)/lthub $(BENCHFLAGS)

# The same run with profiles in $(PROFILE_DIR): hub-cpu.pprof of the lthub
# process (start to stop), and cpu.pprof, allocs*.pprof and trace.out of
# the clients' measured span.
profile: build
	$(GO) run ./bench/cmd/ltbench --lthub $(BIN)/lthub --profile $(PROFILE_DIR) $(BENCHFLAGS)
	$(GO) tool pprof -top -nodecount=30 $(PROFILE_DIR)/hub-cpu.pprof

# Signature verification throughput (docs/s and MB/s) on a 1 MB PDF with two signatures.
bench-verify:
	$(GO) test -run '^$$' -bench 'Verify1MB' -benchtime 3s ./signing/pades

# One province-year through a real hub: 800,000 documents among 1,011
# agencies, then the compliance report (read after the hub stopped)
# checked against the replay's own count. The hub runs as its own process
# (ltyear serve-hub: lthub serve's code and defaults on the replay's
# simulated clock), so its CPU per document and RSS are measured apart;
# the 1,011 receivers write to /dev/shm, as if on their own machines
# (--inbox "" puts them on the hub's disk, --in-process the hub in the
# replay's process). YEARFLAGS="--docs 20000" for a shorter one, whose
# output extrapolates to the year. Not run by make test.
YEARFLAGS ?=
bench-year:
	$(GO) run ./bench/cmd/ltyear $(YEARFLAGS)

# The same with CPU profiles in $(PROFILE_DIR): hub-cpu.pprof of the hub
# process, cpu.pprof of the replay's (the clients').
profile-year:
	$(GO) run ./bench/cmd/ltyear --profile $(PROFILE_DIR) $(YEARFLAGS)
	$(GO) tool pprof -top -nodecount=30 $(PROFILE_DIR)/hub-cpu.pprof

# The compliance report of 1,000 agencies over a year with 1,000,000
# documents stored. The store is built once through Store.Accept (about 3
# minutes) and cached in ~/.cache/lienthong-bench.
bench-report:
	$(GO) test -run '^$$' -bench 'ComplianceReport' -benchtime 20x -benchmem -timeout 60m ./hub/store

# National scale: 63 generated provinces (about 110,000 agencies) in one
# hub's directory. BenchmarkNational times the directory load from the
# store, routing, group expansion, listing and the compliance report over
# a store with 20,000 declarations, and states heap and RSS; then the
# replay with a real lthub process (offline import, start, RSS, every
# ListAgencies page over gRPC, lthub report). About 3 minutes.
bench-national:
	$(GO) test -run '^$$' -bench 'National' -benchtime 5x -benchmem -timeout 30m ./hub/provision
	LIENTHONG_NATIONAL=1 $(GO) test -count=1 -run 'TestNationalScaleProcess' -v -timeout 30m ./test/e2e

# An external load tool against a real hub: lthub init + serve on
# 127.0.0.1, then ghz on ListAgencies with an agency's mutual-TLS
# certificate; prints ghz's summary (bench/ghz.sh says what to tune).
ghz: build
	@command -v ghz >/dev/null || test -x $(GOBIN)/ghz || $(GO) install github.com/bojand/ghz/cmd/ghz@$(GHZ_VERSION)
	PATH="$(GOBIN):$$PATH" BIN=$(BIN) bash bench/ghz.sh

lint:
	@fmt=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$fmt" ]; then echo "gofmt needed:"; echo "$$fmt"; exit 1; fi
	$(GO) vet ./...
	@command -v staticcheck >/dev/null || $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)
	PATH="$(GOBIN):$$PATH" staticcheck ./...

# Builds, creates a hub directory in a temp dir, starts the hub on
# loopback, sends a real PDF from a commune to its district and the
# province, receives it at both, prints the receipts, stops the hub.
demo: build
	BIN=$(BIN) bash deploy/demo.sh

# The container image and deploy/compose.yaml (a hub and three nodes):
# build, start, send a document, check it arrived, stop. Says so and
# fails when no container engine (docker or podman) is running.
compose-demo:
	bash deploy/compose-demo.sh

tools:
	$(GO) install google.golang.org/protobuf/cmd/protoc-gen-go@$(PROTOC_GEN_GO_VERSION)
	$(GO) install google.golang.org/grpc/cmd/protoc-gen-go-grpc@$(PROTOC_GEN_GO_GRPC_VERSION)
	$(GO) install github.com/bufbuild/buf/cmd/buf@$(BUF_VERSION)

# Regenerates proto/lienthong/v1/*.pb.go (committed) and lints the API.
proto: tools
	PATH="$(GOBIN):$$PATH" buf lint
	PATH="$(GOBIN):$$PATH" buf generate

clean:
	rm -rf $(BIN)
