package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/rillmq/rill/bench"
)

// runBench: rill bench produce|consume|e2e|limits, the harness of package
// bench against any Kafka-compatible broker.
func runBench(args []string, w io.Writer) error {
	if len(args) == 0 {
		return errors.New("bench: want produce, consume, e2e or limits")
	}
	sub := args[0]
	fs := flag.NewFlagSet("bench "+sub, flag.ContinueOnError)
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
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	target := ""
	if sub != "limits" {
		seeds, opts, err := tf.conn()
		if err != nil {
			return err
		}
		cfg.Brokers, cfg.ClientOpts, target = seeds, opts, strings.Join(seeds, ",")
	}
	cfg.Partitions, cfg.ReplicationFactor = int32(*partitions), int16(*rf)
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	var res bench.Result
	var err error
	switch sub {
	case "produce":
		res, err = bench.Produce(ctx, cfg, os.Stderr)
	case "consume":
		res, err = bench.Consume(ctx, cfg, os.Stderr)
	case "e2e":
		res, err = bench.EndToEnd(ctx, cfg, os.Stderr)
	case "limits":
		limits, err := bench.Limits(*dir)
		for _, l := range limits {
			fmt.Fprintf(w, "%-45s %9.1f MB/s\n", l.Name, l.MBPerSec)
		}
		if err == nil && *jsonOut != "" {
			err = bench.WriteJSON(*jsonOut, limits)
		}
		return err
	default:
		return fmt.Errorf("bench: unknown workload %q", sub)
	}
	if err != nil {
		return err
	}
	res.Target = target
	fmt.Fprintln(w, res.Summary())
	if *jsonOut != "" {
		if err := bench.WriteJSON(*jsonOut, res); err != nil {
			return err
		}
	}
	if *chartOut != "" {
		return bench.WriteChart(*chartOut, []bench.Result{res}, []string{res.Workload + " " + target})
	}
	return nil
}
