// Command scale draws Rill's scaling curves (issue 16): throughput, p99
// latency and broker CPU against partitions, connections, consumer groups
// and record size, each point on a fresh `rill serve` (built from this
// module, loopback ephemeral port, admin listener off, data in a temporary
// directory removed after).
//
//	go run ./bench/scale -out bench/scale/results   # make bench-scale, ~20 min
//	go run ./bench/scale -quick -out /tmp/scale      # smaller maxima, ~1 min
//
// Load is raw Kafka requests over pipelined connections (kmsg-encoded,
// batches built once up front), not a client library, so the client costs
// little beside the broker on a small machine:
//
//   - partitions P (4 … 100,000): a topic of P partitions is created
//     (CreateTopics, then CreatePartitions, 1,000 partitions a request;
//     timed), then 4 connections with 4 Produce requests in flight each,
//     acks=all, write it for -duration: each request carries 256 KiB of
//     1 KiB records, one batch for each of up to 16 of the connection's
//     partitions in turn (256 records per batch at 4 partitions, 16 at 64
//     or more). The topic is fresh, so this is also "produce to a fresh
//     topic". Also measured: Metadata for all topics (v12, one connection,
//     median of 5 after one unmeasured), the broker's RSS and RssAnon
//     (/proc/PID/status) after creation and after the load, its start-up
//     (exec to listening, fresh and again after a clean shutdown) and its
//     shutdown. At 100,000 partitions the broker runs with
//     log.open.files.max=4096.
//   - connections N (10 … 10,000): N connections, each a producer with one
//     request in flight (one batch of 10 records of 1 KiB, acks=all) to one
//     of 16 partitions.
//   - consumer groups G (10 … 10,000): G KIP-848 groups of one member each
//     over 4 connections (16 requests in flight each): all join, then each
//     connection cycles through its groups, a ConsumerGroupHeartbeat and an
//     OffsetCommit for each in turn. Throughput is requests/s, CPU per
//     request. The broker's group.consumer.session.timeout.ms is 10
//     minutes, so that no member expires while the others join.
//   - record size (100 B, 1 KiB, 16 KiB) at 4 partitions: as the partitions
//     curve's 4-partition point, 256 KiB batches.
//
// p99 is per request, send to answer, from an HDR histogram. Broker CPU is
// utime+stime from /proc/PID/stat over the load, per GB of record batches
// (per request for groups). Output in -out: scale.json (every run),
// scale.md (a table of medians per curve) and a PNG per curve.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/rillmq/rill/bench"
)

// config is one invocation's plan.
type config struct {
	bin         string
	logw        io.Writer
	duration    time.Duration
	runs        int // runs of cheap points
	bigRuns     int // runs of points at 10,000 and above
	partitions  []int
	connections []int
	groups      []int
	sizes       []int
	curves      map[string]bool
}

func ints(s string) []int {
	var out []int
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		v, err := strconv.Atoi(f)
		if err != nil || v <= 0 {
			log.Fatalf("scale: %q is not a positive integer", f)
		}
		out = append(out, v)
	}
	return out
}

func main() {
	quick := flag.Bool("quick", false, "a quick subset: maxima 1,000 partitions, 100 connections, 100 groups; 1 run of 2 s each")
	out := flag.String("out", "bench/scale/results", "directory for scale.json, scale.md and the PNGs")
	duration := flag.Duration("duration", 4*time.Second, "load per point")
	runs := flag.Int("runs", 3, "runs per point below 10,000 (medians reported)")
	bigRuns := flag.Int("big-runs", 1, "runs per point at 10,000 partitions, connections or groups and above")
	partitions := flag.String("partitions", "4,100,1000,10000,100000", "partition counts")
	connections := flag.String("connections", "10,1000,10000", "connection counts")
	groups := flag.String("groups", "10,1000,10000", "consumer group counts")
	sizes := flag.String("record-sizes", "100,1024,16384", "record sizes (bytes)")
	curves := flag.String("curves", "partitions,connections,groups,record-size", "curves to run")
	bin := flag.String("rill", "", "rill binary (default: build ./cmd/rill)")
	brokerLog := flag.String("broker-log", "", "file to append the brokers' logs to (default: discarded)")
	cpuProfile := flag.String("broker-cpuprofile", "", "have each broker write a CPU profile to this path with .N added, N counting broker starts (rill serve --cpuprofile)")
	replot := flag.String("replot", "", "only rewrite scale.md and the PNGs in -out from this scale.json")
	verbose := flag.Bool("v", false, "print the loads' per-second lines")
	flag.Parse()
	if *verbose {
		progress = os.Stderr
	}

	if *replot != "" {
		var rep report
		raw, err := os.ReadFile(*replot)
		if err == nil {
			err = json.Unmarshal(raw, &rep)
		}
		if err == nil {
			err = rep.write(*out)
		}
		if err != nil {
			log.Fatal(err)
		}
		return
	}
	cfg := config{duration: *duration, runs: *runs, bigRuns: *bigRuns, partitions: ints(*partitions),
		connections: ints(*connections), groups: ints(*groups), sizes: ints(*sizes), curves: map[string]bool{}}
	for _, c := range strings.Split(*curves, ",") {
		cfg.curves[strings.TrimSpace(c)] = true
	}
	if *quick {
		cfg.duration, cfg.runs, cfg.bigRuns = 2*time.Second, 1, 1
		cfg.partitions, cfg.connections, cfg.groups = []int{4, 100, 1000}, []int{10, 100}, []int{10, 100}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	cfg.bin = *bin
	if cfg.bin == "" {
		var err error
		if cfg.bin, err = bench.BuildRill(ctx, "scale"); err != nil {
			log.Fatal(err)
		}
		defer os.RemoveAll(filepath.Dir(cfg.bin))
	}
	if *cpuProfile != "" {
		brokerArgs = []string{"--cpuprofile", *cpuProfile}
	}
	cfg.logw = io.Discard
	if *brokerLog != "" {
		f, err := os.OpenFile(*brokerLog, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
		if err != nil {
			log.Fatal(err)
		}
		defer f.Close()
		cfg.logw = f
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		log.Fatal(err)
	}
	t0 := time.Now()
	rep := report{Started: t0.UTC().Format(time.RFC3339), Quick: *quick, DurationSeconds: cfg.duration.Seconds()}
	err := run(ctx, cfg, &rep)
	rep.WallSeconds = time.Since(t0).Seconds()
	if werr := rep.write(*out); werr != nil {
		log.Print(werr)
	}
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("scale: done in %s; results in %s\n", time.Since(t0).Round(time.Second), *out)
}

// runsOf is how many runs a point gets: fewer for 10,000 partitions,
// connections or groups and more (record sizes are all cheap).
func (c config) runsOf(curve string, x int) int {
	if curve != "record-size" && x >= 10_000 {
		return c.bigRuns
	}
	return c.runs
}

// run measures every point of the chosen curves, runs interleaved: run 1
// of every point of a curve, then run 2, and so on.
func run(ctx context.Context, cfg config, rep *report) error {
	type curve struct {
		name string
		xs   []int
		one  func(ctx context.Context, x int) (point, error)
	}
	all := []curve{
		{"partitions", cfg.partitions, func(ctx context.Context, x int) (point, error) { return partitionsPoint(ctx, cfg, x) }},
		{"connections", cfg.connections, func(ctx context.Context, x int) (point, error) { return connectionsPoint(ctx, cfg, x) }},
		{"groups", cfg.groups, func(ctx context.Context, x int) (point, error) { return groupsPoint(ctx, cfg, x) }},
		{"record-size", cfg.sizes, func(ctx context.Context, x int) (point, error) { return sizePoint(ctx, cfg, x) }},
	}
	for _, c := range all {
		if !cfg.curves[c.name] {
			continue
		}
		maxRuns := 0
		for _, x := range c.xs {
			maxRuns = max(maxRuns, cfg.runsOf(c.name, x))
		}
		for r := range maxRuns {
			for _, x := range c.xs {
				if r >= cfg.runsOf(c.name, x) {
					continue
				}
				t0 := time.Now()
				p, err := c.one(ctx, x)
				p.Curve, p.X, p.Run, p.Seconds = c.name, x, r+1, time.Since(t0).Seconds()
				if err != nil {
					p.Error = err.Error()
				}
				rep.Points = append(rep.Points, p)
				fmt.Fprintf(os.Stderr, "%s=%d run %d (%.1fs): %s\n", c.name, x, r+1, p.Seconds, p.summary())
				if ctx.Err() != nil {
					return ctx.Err()
				}
			}
		}
	}
	return nil
}
