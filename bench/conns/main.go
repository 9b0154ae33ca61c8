// Command conns measures what connections cost a Rill broker: the memory
// of idle client connections and the throughput and CPU of many active
// producers (issue 16, "Scale"). It starts its own `rill serve` on a
// loopback ephemeral port per run, so it reads the broker's memory and CPU
// from /proc (Linux only).
//
//	go run ./bench/conns -mode idle -conns 10000 -runs 3
//	go run ./bench/conns -mode produce -producers 1000 -duration 10s -runs 3
//
// Idle: every connection does what a client does on connecting
// (ApiVersions, then Metadata for the bench topic), with -idle-batch one
// Produce of that many bytes, and then stays open and silent. The result is (RSS after − RSS before) / connections, and
// the same for anonymous memory (RssAnon: the heap and stacks, without
// mapped files), read 2 s after the last connection is up.
//
// Produce: every producer connection sends one small batch (-records of
// -record-size bytes, acks=1) and waits for its answer, round-robin over
// the topic's partitions, for -duration. The result is records/s, the
// request latency's median and 99th percentile, and the broker's CPU time
// per second of wall time over the run.
//
// Both are bounded: by -conns or -producers, and by -duration. The tool
// needs a descriptor per connection (the broker too): raise ulimit -n
// above -conns.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"time"

	"github.com/rillmq/rill/bench"
)

func main() {
	mode := flag.String("mode", "idle", "idle, produce or both")
	conns := flag.Int("conns", 10000, "idle connections to open")
	idleBatch := flag.Int("idle-batch", 0, "bytes each idle connection produces once before going idle (0: none)")
	producers := flag.Int("producers", 1000, "producer connections")
	duration := flag.Duration("duration", 10*time.Second, "how long the producers produce")
	records := flag.Int("records", 10, "records per produce batch")
	recordSize := flag.Int("record-size", 100, "bytes per record value")
	partitions := flag.Int("partitions", 16, "partitions of the bench topic")
	runs := flag.Int("runs", 3, "runs per mode, each on a fresh broker; medians are reported")
	transport := flag.String("transport", "netconn", "the broker's net.transport")
	bin := flag.String("rill", "", "rill binary (default: build ./cmd/rill)")
	cpuProfile := flag.String("broker-cpuprofile", "", "have each broker write a CPU profile here (rill serve --cpuprofile; the last run's stays)")
	brokerLog := flag.String("broker-log", "", "file to append the brokers' logs to (default: discarded)")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if *bin == "" {
		var err error
		if *bin, err = bench.BuildRill(ctx, "conns"); err != nil {
			log.Fatal(err)
		}
		// The binary's directory goes at exit, failures included.
		defer os.RemoveAll(filepath.Dir(*bin))
		fatalf = func(format string, args ...any) {
			os.RemoveAll(filepath.Dir(*bin))
			log.Fatalf(format, args...)
		}
	}
	var logw io.Writer = io.Discard
	if *brokerLog != "" {
		f, err := os.OpenFile(*brokerLog, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
		if err != nil {
			fatalf("%v", err)
		}
		defer f.Close()
		logw = f
	}
	setup := setup{bin: *bin, transport: *transport, partitions: int32(*partitions), logw: logw}
	if *cpuProfile != "" {
		setup.brokerArgs = []string{"--cpuprofile", *cpuProfile}
	}

	if *mode == "idle" || *mode == "both" {
		var rss, anon []float64
		for i := range *runs {
			r, err := runIdle(ctx, setup, *conns, *idleBatch)
			if err != nil {
				fatalf("idle run %d: %v", i+1, err)
			}
			fmt.Printf("idle run %d: %d connections, RSS %+.1f MiB (%.1f KiB/conn), anon %+.1f MiB (%.1f KiB/conn), open in %v\n",
				i+1, *conns, mib(r.rss), kib(r.rss/float64(*conns)), mib(r.anon), kib(r.anon/float64(*conns)), r.openIn.Round(time.Millisecond))
			rss, anon = append(rss, r.rss/float64(*conns)), append(anon, r.anon/float64(*conns))
		}
		fmt.Printf("idle median (%s, %d conns, idle-batch %d, %d runs): RSS %.1f KiB/conn, anon %.1f KiB/conn\n", *transport, *conns, *idleBatch, *runs, kib(median(rss)), kib(median(anon)))
	}
	if *mode == "produce" || *mode == "both" {
		var rate, cpu, p50, p99 []float64
		for i := range *runs {
			r, err := runProduce(ctx, setup, produceOpts{producers: *producers, duration: *duration, records: *records, recordSize: *recordSize})
			if err != nil {
				fatalf("produce run %d: %v", i+1, err)
			}
			fmt.Printf("produce run %d: %d producers, %.0f records/s (%.1f MB/s), latency p50 %v p99 %v, broker CPU %.2f cores, %d errors\n",
				i+1, *producers, r.recordsPerSec, r.recordsPerSec*float64(*recordSize)/1e6, r.p50, r.p99, r.cpuCores, r.errors)
			rate, cpu = append(rate, r.recordsPerSec), append(cpu, r.cpuCores)
			p50, p99 = append(p50, float64(r.p50)), append(p99, float64(r.p99))
		}
		fmt.Printf("produce median (%s, %d producers, %d×%d B batches, acks=1, %d runs of %v): %.0f records/s, p50 %v, p99 %v, broker CPU %.2f cores\n",
			*transport, *producers, *records, *recordSize, *runs, *duration, median(rate),
			time.Duration(median(p50)).Round(time.Microsecond), time.Duration(median(p99)).Round(time.Microsecond), median(cpu))
	}
}

// fatalf ends the tool; main makes it remove the rill it built first.
var fatalf = log.Fatalf

// setup is what every run starts its broker with.
type setup struct {
	bin, transport string
	partitions     int32
	logw           io.Writer
	brokerArgs     []string // more rill serve arguments
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func mib(b float64) float64 { return b / (1 << 20) }
func kib(b float64) float64 { return b / (1 << 10) }
