package main

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/rillmq/rill/bench"
)

// benchLoadCmd: rill bench load, the broker-bound load generator of
// bench.Load (prebuilt batches over raw connections, fetches counted from
// batch headers), with the broker's CPU per GB. Its flags are its own, not
// the other workloads': it takes no --command-config, as it speaks
// plaintext to one broker without a client.
func benchLoadCmd() *cobra.Command {
	c := &cobra.Command{Use: "load", Short: "measure the broker, not the client: prebuilt batches, undecoded fetches, broker CPU per GB", Args: noArgs,
		Long: "load --mode produce sends prebuilt record batches (built once: --batches distinct ones of --records-per-batch records of --record-size bytes)\n" +
			"over --connections raw connections with --in-flight requests queued on each, for --duration or --records records.\n" +
			"load --mode consume reads the topic from its start to its high watermark with --connections x --in-flight fetches in flight,\n" +
			"counting batch bytes from the batch headers without decoding records. One broker, plaintext.\n" +
			"--broker-pid (a pid, or auto: the process listening on the bootstrap port) adds the broker's CPU seconds per GB."}
	fs := c.Flags()
	cfg := bench.DefaultLoadConfig()
	mode := fs.String("mode", "produce", "produce or consume")
	fs.StringVar(&cfg.Broker, "bootstrap", defaultBootstrap, "broker address (plaintext; the leader of every partition)")
	fs.StringVar(&cfg.Topic, "topic", cfg.Topic, "topic (created with --partitions if missing)")
	fs.Int32Var(&cfg.Partitions, "partitions", cfg.Partitions, "partitions of a created topic")
	rf := fs.Int("replication-factor", int(cfg.ReplicationFactor), "replication factor of a created topic (-1: broker default)")
	fs.IntVar(&cfg.RecordSize, "record-size", cfg.RecordSize, "value bytes per record")
	fs.IntVar(&cfg.RecordsPerBatch, "records-per-batch", cfg.RecordsPerBatch, "records per prebuilt batch")
	fs.IntVar(&cfg.Batches, "batches", cfg.Batches, "distinct prebuilt batches")
	fs.StringVar(&cfg.Compression, "compression", cfg.Compression, "none, gzip, snappy, lz4 or zstd (done once, up front)")
	fs.IntVar(&cfg.Connections, "connections", cfg.Connections, "connections to the broker")
	fs.IntVar(&cfg.InFlight, "in-flight", cfg.InFlight, "requests queued per connection")
	acks := fs.String("acks", "1", "1 or all")
	fs.DurationVar(&cfg.Duration, "duration", cfg.Duration, "stop after this long")
	fs.Int64Var(&cfg.Records, "records", 0, "produce: stop after this many records (0: --duration only)")
	fs.Int32Var(&cfg.FetchBytes, "fetch-bytes", cfg.FetchBytes, "consume: bytes per fetch")
	pid := fs.String("broker-pid", "", "broker process whose CPU is measured: a pid, or auto (the process listening on the bootstrap port)")
	fs.IntVar(&cfg.WarmupSeconds, "warmup", 0, "seconds of latencies left out of the percentiles")
	jsonOut := fs.String("json", "", "write the result as JSON to this file")
	timeout := fs.Duration("timeout", 2*time.Minute, "give up after this long")
	c.RunE = func(c *cobra.Command, _ []string) error {
		cfg.ReplicationFactor = int16(*rf)
		switch *acks {
		case "1":
			cfg.Acks = 1
		case "all", "-1":
			cfg.Acks = -1
		default:
			return usageErrorf("bench load: --acks %q: want 1 or all", *acks)
		}
		var err error
		if cfg.BrokerPID, err = brokerPID(*pid, cfg.Broker); err != nil {
			return err
		}
		ctx, cancel := context.WithTimeout(c.Context(), *timeout)
		defer cancel()
		res, err := bench.Load(ctx, *mode, cfg, c.ErrOrStderr())
		if err != nil {
			return err
		}
		fmt.Fprintln(c.OutOrStdout(), res.Summary())
		if *jsonOut != "" {
			return bench.WriteJSON(*jsonOut, res)
		}
		return nil
	}
	return c
}

// brokerPID resolves --broker-pid: empty (no broker CPU), a pid, or auto.
func brokerPID(flag, bootstrap string) (int, error) {
	switch flag {
	case "":
		return 0, nil
	case "auto":
		_, port, err := net.SplitHostPort(bootstrap)
		if err != nil {
			return 0, err
		}
		n, err := strconv.Atoi(port)
		if err != nil {
			return 0, err
		}
		return bench.ListenerPID(n)
	}
	n, err := strconv.Atoi(flag)
	if err != nil || n <= 0 {
		return 0, usageErrorf("bench load: --broker-pid %q: want a pid or auto", flag)
	}
	return n, nil
}
