#!/usr/bin/env bash
# Paced produce latency on one `rill serve`: RUNS consecutive runs of
# `rill bench produce --rate RATE --records RATE*6 --warmup 1` against the
# same broker (so its dirty page cache grows run after run), printing each
# run's summary and the kernel's dirty memory after it.
# Usage: bench/latency.sh [RATE] [RUNS]   (defaults 110000 and 4)
set -euo pipefail
cd "$(dirname "$0")/.."
rate=${1:-110000}
runs=${2:-4}
go build -o bin/rill ./cmd/rill
dir=$(mktemp -d)
port=$(( 20000 + RANDOM % 20000 ))
bin/rill serve --data-dir "$dir/data" --listen "127.0.0.1:$port" 2>"$dir/serve.log" &
pid=$!
trap 'kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; rm -rf "$dir"' EXIT
for _ in $(seq 50); do grep -q "msg=listening" "$dir/serve.log" && break; sleep 0.1; done
for i in $(seq "$runs"); do
  bin/rill bench produce --bootstrap "127.0.0.1:$port" --topic "latency-$i" --rate "$rate" --records $((rate * 6)) --warmup 1 2>/dev/null
  grep -E '^Dirty:' /proc/meminfo
done
