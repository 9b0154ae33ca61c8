#!/usr/bin/env bash
# Replication cost on a three-node cluster of `rill serve` processes on this
# host (all three share its 2 cores and disk): for each row, a fresh topic
# with the given replication factor and min.insync.replicas, then
#   rill bench produce --acks ACKS   (unbounded, RECORDS x 1 KiB, 4 partitions)
#   rill bench e2e --rate 20000      (paced produce-to-consume latency)
# RUNS times, rows taking turns so the machine's noise falls on all of them.
# Usage: bench/cluster.sh [RECORDS] [RUNS]   (defaults 300000 and 3)
set -euo pipefail
cd "$(dirname "$0")/.."
records=${1:-300000}
runs=${2:-3}
go build -o bin/rill ./cmd/rill
dir=$(mktemp -d)
base=$(( 20000 + RANDOM % 20000 ))
voters="1@127.0.0.1:$((base + 11)),2@127.0.0.1:$((base + 12)),3@127.0.0.1:$((base + 13))"
pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$dir"; }
trap cleanup EXIT
for i in 1 2 3; do
  bin/rill serve --data-dir "$dir/node$i" --listen "127.0.0.1:$((base + i))" --set admin.listeners= --set process.roles=broker,controller \
    --set node.id=$i --set controller.quorum.voters="$voters" 2>"$dir/node$i.log" &
  pids+=($!)
done
boot="127.0.0.1:$((base + 1)),127.0.0.1:$((base + 2)),127.0.0.1:$((base + 3))"
for _ in $(seq 100); do [ "$(grep -c 'unfenced' "$dir/node1.log" 2>/dev/null || true)" -ge 3 ] && break; sleep 0.2; done
# name rf acks min.insync.replicas
rows=("rf1-acks1 1 1 1" "rf3-acks1 3 1 1" "rf3-acksall 3 all 2")
for run in $(seq "$runs"); do
  for row in "${rows[@]}"; do
    read -r name rf acks isr <<<"$row"
    topic="$name-$run"
    idem=true; [ "$acks" = all ] || idem=false # an idempotent producer needs acks=all
    bin/rill topic create --bootstrap "$boot" --partitions 4 --replication-factor "$rf" \
      --config min.insync.replicas="$isr" "$topic" "$topic-e2e" >/dev/null
    sleep 1 # followers start fetching
    echo "== run $run $name produce"
    bin/rill bench produce --bootstrap "$boot" --topic "$topic" --acks "$acks" --idempotent="$idem" --records "$records" 2>/dev/null | grep -E 'MB/s|p99' || true
    echo "== run $run $name e2e"
    bin/rill bench e2e --bootstrap "$boot" --topic "$topic-e2e" --acks "$acks" --idempotent="$idem" --rate 20000 --records 120000 --warmup 1 2>/dev/null \
      | grep -E 'MB/s|p99|p50' || true
  done
done
