# Rill — see README.md. `make run` and `make test` are the two set-up commands.
GO        ?= go
BIN       := bin/rill
DATA_DIR  ?= ./data
LISTEN    ?= 127.0.0.1:9092
FUZZTIME  ?= 30s
PKGS      := ./...

.PHONY: release build run cluster test test-short lint fuzz bench bench-compare bench-compare-replicated bench-compare-txn bench-compare-share bench-load bench-scale bench-profile stress chaos clients clean

# The version stamped into binaries (rill version; the broker logs it at
# start): the nearest tag, or the commit, marked -dirty with local changes.
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT    ?= $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
LDFLAGS   := -X github.com/rillmq/rill/internal/version.Version=$(VERSION) -X github.com/rillmq/rill/internal/version.Commit=$(COMMIT)

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/rill

# Static linux binaries for amd64 and arm64 in dist/, with SHA-256 sums.
release:
	@mkdir -p dist
	@for arch in amd64 arm64; do \
	  echo "== linux/$$arch"; \
	  CGO_ENABLED=0 GOOS=linux GOARCH=$$arch $(GO) build -trimpath -ldflags "-s -w $(LDFLAGS)" \
	    -o dist/rill-$(VERSION)-linux-$$arch ./cmd/rill || exit 1; \
	done
	cd dist && sha256sum rill-$(VERSION)-linux-* > SHA256SUMS

run: build
	$(BIN) serve --data-dir $(DATA_DIR) --listen $(LISTEN)

# Three nodes on 127.0.0.1 (Kafka on 9092-9094, controller quorum on
# 19093-19095, admin HTTP on 9644-9646), data under ./data/nodeN. They form the controller quorum;
# topics get replication factor 3 unless created with another
# (docs/design/replication.md).
VOTERS = 1@127.0.0.1:19093,2@127.0.0.1:19094,3@127.0.0.1:19095
cluster: build
	@mkdir -p data/node1 data/node2 data/node3
	@trap 'kill 0' INT TERM; \
	for i in 1 2 3; do \
	  bin/rill serve --data-dir data/node$$i --listen 127.0.0.1:909$$((i+1)) \
	    --set process.roles=broker,controller --set node.id=$$i --set controller.quorum.voters=$(VOTERS) \
	    --set default.replication.factor=3 --set admin.listeners=127.0.0.1:964$$((i+3)) & \
	done; wait

# Unit, model, crash and fuzz-corpus regression tests, with the race
# detector, plus the lint checks.
test: lint
	$(GO) test -race -count=1 -timeout 25m $(PKGS)

# Third-party clients the end-to-end tests drive (kcat comes from apt:
# `apt-get install kcat`); tests skip a missing client outside CI.
clients:
	cd test/clients && npm install --no-audit --no-fund --loglevel=error

test-short:
	$(GO) test -short -count=1 $(PKGS)

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)

# Run every fuzz target for FUZZTIME each (go test -fuzz takes one at a time).
# Keep FUZZTIME at 10s or more: with less, replaying the seed corpus of the
# slower targets can outlast it and go reports "context deadline exceeded".
FUZZ_PKGS := ./fuzz ./coordinator/sharepart ./coordinator/sharestate ./engine/format ./replication/replica
fuzz:
	@for p in $(FUZZ_PKGS); do \
	  for t in $$($(GO) test -list 'Fuzz.*' $$p | grep ^Fuzz); do \
	    echo "== $$p $$t"; $(GO) test -run '^$$' -fuzz "^$$t$$" -fuzztime $(FUZZTIME) $$p || exit 1; \
	  done; \
	done

# Micro-benchmarks of the storage engine next to the machine's limits, in one
# run; prints medians (numbers go into BENCHMARKS.md).
bench:
	$(GO) test -run '^$$' -bench 'Limits' -benchtime 1s -count 5 ./engine/wio | tee bench.out
	$(GO) test -run '^$$' -bench 'Append|Read' -benchtime 1000x -count 5 ./engine | tee -a bench.out
	$(GO) test -run '^$$' -bench 'Recovery' -benchtime 3x -count 3 ./engine | tee -a bench.out
	$(GO) test -run '^$$' -bench 'Transport' -benchtime 3s -count 5 ./netserver | tee -a bench.out
	awk -f bench/median.awk bench.out

# Rill vs franz-go's kfake vs NATS JetStream (file storage), same workloads,
# with the machine's limits, in one command (a separate module keeps the
# peers out of Rill's go.mod). Results: bench/compare/results/.
COMPARE_FLAGS ?=
bench-compare:
	cd bench/compare && $(GO) run . -out results $(COMPARE_FLAGS)

# Replicated: a three-node Rill cluster (replication factor 3,
# min.insync.replicas=2, acks=all) against a three-server JetStream
# cluster (R3), all on this host.
bench-compare-replicated:
	cd bench/compare && $(GO) run . -systems rill-rf3,jetstream-r3 -out results-replicated $(COMPARE_FLAGS)

# Plain (idempotent) vs transactional produce, Rill and kfake side by side:
# each producer commits every 1000 records or 100 ms; medians of 3 runs of
# 500,000 records of 1 KiB. Results: bench/compare/results-txn/.
TXN_COMPARE_FLAGS ?= -systems rill,kfake -runs 3 -records 500000
bench-compare-txn:
	cd bench/compare && $(GO) run . -txn -out results-txn $(TXN_COMPARE_FLAGS)

# Plain read against a share-group read (KIP-932), Rill and kfake side by
# side: 200,000 records of 1 KiB on 4 partitions read by one plain consumer,
# then by 4 kgo share consumers accepting every record; medians of 5 runs.
# Add -share-locks 10000 for a wider in-flight window per share partition.
# Results: bench/compare/results-share/.
SHARE_COMPARE_FLAGS ?= -systems rill,kfake -runs 5 -records 200000 -share-members 4
bench-compare-share:
	cd bench/compare && $(GO) run . -share -out results-share $(SHARE_COMPARE_FLAGS)

# Broker-bound load: rill bench load's loader (prebuilt batches over raw
# pipelined connections; fetches counted from batch headers) against a Rill
# process (default config, and with net.sendfile=true) and a kfake process,
# each fresh per run, with their CPU s/GB from /proc;
# JetStream beside with its own client. 1 KiB records, 4 partitions, 3 runs
# of 5 s of produce (at most 3M records) then a full read-back, with the
# loopback and buffered-write limits. Results: bench/compare/results-load/.
bench-load:
	cd bench/compare && $(GO) run . -load -runs 3 -systems rill,rill-sendfile,kfake,jetstream -out results-load $(LOAD_COMPARE_FLAGS)

# Scaling curves (issue 16): produce throughput, p99 and broker CPU per GB
# against partitions (4 to 100,000, with Metadata latency, RSS, topic
# creation and restart times), connections (10 to 10,000), consumer groups
# (10 to 10,000) and record size, each point on a fresh rill serve; about
# 20 minutes (21 on the shared 2-core VM). SCALE_FLAGS=-quick: smaller
# maxima, about a minute.
# Results: bench/scale/results/ (scale.json, scale.md, a PNG per curve).
SCALE_FLAGS ?=
bench-scale:
	$(GO) run ./bench/scale -out bench/scale/results $(SCALE_FLAGS)

# CPU profile of the broker under the produce workload (bench-produce.prof).
bench-profile:
	bench/profile.sh

clean:
	rm -rf bin bench.out

# Many more seeds of the randomized model test.
stress:
	RILL_MODEL_SEEDS=2000 $(GO) test -run RandomOps -count=1 ./engine/log/

# Every network-partition scenario of a three-node cluster in Linux network
# namespaces (root and nftables needed: cmd/rill/partition_e2e_test.go,
# internal/netns); make test runs two of them.
chaos:
	RILL_CHAOS=1 $(GO) test -race -count=1 -run 'NetworkPartition|Netns' -timeout 30m ./cmd/rill/ ./internal/netns/
