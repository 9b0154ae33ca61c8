package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/rillmq/rill/bench"
)

// newBenchCmd: rill bench produce|consume|e2e|limits, the harness of
// package bench against any Kafka-compatible broker.
func newBenchCmd() *cobra.Command {
	c := groupCmd(&cobra.Command{Use: "bench", Short: "produce, consume and end-to-end workloads against any Kafka broker; limits of this machine"})
	c.AddCommand(
		benchSubCmd("produce", "measure produce throughput and latency"),
		benchSubCmd("consume", "measure consume throughput (of records produced first)"),
		benchSubCmd("e2e", "measure end-to-end latency at a fixed --rate"),
		benchSubCmd("limits", "measure this machine's disk and loopback ceilings (no broker)"),
		benchLoadCmd(),
	)
	return c
}

func benchSubCmd(sub, short string) *cobra.Command {
	c := &cobra.Command{Use: sub, Short: short, Args: noArgs}
	fs := c.Flags()
	cfg := bench.DefaultConfig()
	var tf toolFlags
	tf.registerConn(fs)
	fs.StringVar(&cfg.Topic, "topic", cfg.Topic, "topic (created with --partitions if missing)")
	fs.IntVar(&cfg.Records, "records", cfg.Records, "records to produce or consume")
	fs.IntVar(&cfg.RecordSize, "record-size", cfg.RecordSize, "value bytes per record (at least 8)")
	partitions := fs.Int("partitions", int(cfg.Partitions), "partitions of a created topic")
	rf := fs.Int("replication-factor", int(cfg.ReplicationFactor), "replication factor of a created topic (-1: broker default)")
	fs.IntVar(&cfg.Producers, "producers", cfg.Producers, "producer clients")
	fs.StringVar(&cfg.Acks, "acks", cfg.Acks, "0, 1 or all")
	fs.BoolVar(&cfg.Idempotent, "idempotent", cfg.Idempotent, "idempotent producer (needs acks=all)")
	fs.StringVar(&cfg.Compression, "compression", cfg.Compression, "none, gzip, snappy, lz4 or zstd")
	fs.IntVar(&cfg.LingerMillis, "linger-ms", cfg.LingerMillis, "producer linger.ms")
	fs.IntVar(&cfg.BatchBytes, "batch-bytes", cfg.BatchBytes, "producer batch size in bytes")
	fs.IntVar(&cfg.Rate, "rate", cfg.Rate, "records/s over all producers (0: unbounded; e2e needs one)")
	fs.BoolVar(&cfg.Transactional, "transactional", cfg.Transactional, "produce, e2e: each producer writes in transactions (its own transactional id), committing every --txn-records records or --txn-ms ms")
	fs.IntVar(&cfg.TxnRecords, "txn-records", 1000, "with --transactional: commit after this many records per producer (0: no count bound)")
	fs.IntVar(&cfg.TxnMillis, "txn-ms", 100, "with --transactional: commit once a transaction is this old (0: no time bound)")
	fs.IntVar(&cfg.WarmupSeconds, "warmup", cfg.WarmupSeconds, "seconds of latencies left out of the percentiles")
	dir := fs.String("dir", ".", "limits: the directory whose disk is measured")
	jsonOut := fs.String("json", "", "write the result as JSON to this file")
	chartOut := fs.String("chart", "", "write a PNG of throughput and p99 latency over time to this file")
	timeout := fs.Duration("timeout", 10*time.Minute, "give up after this long")
	if sub == "limits" {
		c.Flags().VisitAll(func(f *pflag.Flag) {
			f.Hidden = !slices.Contains([]string{"dir", "json", "timeout"}, f.Name)
		})
	} else {
		fs.Lookup("dir").Hidden = true
	}
	scopeFlags(c, sub, map[string]string{"transactional": "produce,e2e"})
	c.RunE = func(c *cobra.Command, _ []string) error {
		return runBench(c.Context(), sub, &tf, &cfg, benchRun{*partitions, *rf, *dir, *jsonOut, *chartOut, *timeout}, c.OutOrStdout(), c.ErrOrStderr())
	}
	return c
}

// benchRun holds the bench flags that are not bench.Config's.
type benchRun struct {
	partitions, rf         int
	dir, jsonOut, chartOut string
	timeout                time.Duration
}

func runBench(parent context.Context, sub string, tf *toolFlags, cfg *bench.Config, f benchRun, w, stderr io.Writer) error {
	target := ""
	if sub != "limits" {
		seeds, opts, err := tf.conn()
		if err != nil {
			return err
		}
		cfg.Brokers, cfg.ClientOpts, target = seeds, opts, strings.Join(seeds, ",")
	}
	cfg.Partitions, cfg.ReplicationFactor = int32(f.partitions), int16(f.rf)
	ctx, cancel := context.WithTimeout(parent, f.timeout)
	defer cancel()
	var res bench.Result
	var err error
	switch sub {
	case "produce":
		res, err = bench.Produce(ctx, *cfg, stderr)
	case "consume":
		res, err = bench.Consume(ctx, *cfg, stderr)
	case "e2e":
		res, err = bench.EndToEnd(ctx, *cfg, stderr)
	case "limits":
		// Each limit is the median of three runs and the four take
		// seconds: print each as it is measured.
		fmt.Fprintf(stderr, "measuring the limits of %s (4 measures, 3 runs each)\n", f.dir)
		limits, err := bench.Limits(f.dir, func(l bench.Limit) {
			fmt.Fprintf(w, "%-45s %9.1f MB/s\n", l.Name, l.MBPerSec)
		})
		if err == nil && f.jsonOut != "" {
			err = bench.WriteJSON(f.jsonOut, limits)
		}
		return err
	default:
		panic("bench: no workload " + sub) // newBenchCmd registers only the above
	}
	if err != nil {
		return err
	}
	res.Target = target
	fmt.Fprintln(w, res.Summary())
	if f.jsonOut != "" {
		if err := bench.WriteJSON(f.jsonOut, res); err != nil {
			return err
		}
	}
	if f.chartOut != "" {
		return bench.WriteChart(f.chartOut, []bench.Result{res}, []string{res.Workload + " " + target})
	}
	return nil
}
