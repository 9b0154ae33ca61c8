#!/usr/bin/env bash
# CPU profile of a `rill serve` process under the produce workload:
# three `rill bench produce` runs (300,000 records of 1 KiB each), then the
# top of the profile. Usage: bench/profile.sh [extra rill bench flags...]
set -euo pipefail
cd "$(dirname "$0")/.."
go build -o bin/rill ./cmd/rill
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
port=$(( 20000 + RANDOM % 20000 ))
bin/rill serve --data-dir "$dir/data" --listen "127.0.0.1:$port" --cpuprofile "$dir/rill.prof" 2>"$dir/serve.log" &
pid=$!
for _ in $(seq 50); do grep -q "msg=listening" "$dir/serve.log" && break; sleep 0.1; done
for i in 1 2 3; do
  bin/rill bench produce --bootstrap "127.0.0.1:$port" --records 300000 --topic "profile-$i" "$@" 2>/dev/null
done
kill -INT "$pid"
wait "$pid"
go tool pprof -top -nodecount 25 bin/rill "$dir/rill.prof" 2>/dev/null
cp "$dir/rill.prof" bench-produce.prof
echo "profile kept in bench-produce.prof (go tool pprof -http=127.0.0.1:0 bin/rill bench-produce.prof)"
