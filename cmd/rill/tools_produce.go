package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kgo"
)

// newProduceCmd: rill produce --topic T reads lines from stdin, one record
// each, optionally "key<sep>value", and waits for every acknowledgement.
// With --transactional-id the invocation's records are one transaction,
// committed once all are acknowledged (aborted with --abort, or when any
// record failed).
func newProduceCmd() *cobra.Command {
	c := &cobra.Command{Use: "produce --topic T [flags] < lines", Short: "produce stdin lines, one record each (key<sep>value with --key-separator)", Args: noArgs}
	fs := c.Flags()
	var tf toolFlags
	tf.register(fs)
	topic := fs.String("topic", "", "topic to produce to")
	keySep := fs.String("key-separator", "", "split each line into key and value at the first occurrence of this")
	partitioner := fs.String("partitioner", "sticky", "murmur2 (Kafka's key hash, sticky for null keys), sticky (uniform sticky), round-robin, or manual with --partition")
	partition := fs.Int("partition", -1, "with --partitioner manual: the partition")
	compression := fs.String("compression", "none", "none, gzip, snappy, lz4 or zstd")
	acks := fs.String("acks", "all", "0, 1 or all")
	txnID := fs.String("transactional-id", "", "produce every record in one transaction of this transactional id, committed at the end")
	txnTimeout := fs.Duration("transaction-timeout", time.Minute, "with --transactional-id: the coordinator aborts the transaction if it is open longer")
	abort := fs.Bool("abort", false, "with --transactional-id: abort the transaction instead of committing it")
	var headers []string
	fs.StringArrayVar(&headers, "header", nil, "header key=value for every record (repeatable)")
	c.RunE = func(c *cobra.Command, _ []string) error {
		return produce(c.Context(), &tf, c.InOrStdin(), c.ErrOrStderr(), produceFlags{*topic, *keySep, *partitioner, *partition, *compression, *acks, *txnID, *txnTimeout, *abort, headers})
	}
	return c
}

// produceFlags are rill produce's flags.
type produceFlags struct {
	topic, keySep, partitioner string
	partition                  int
	compression, acks, txnID   string
	txnTimeout                 time.Duration
	abort                      bool
	headers                    []string
}

func produce(ctx context.Context, tf *toolFlags, in io.Reader, stderr io.Writer, f produceFlags) error {
	topic, keySep, partitioner, partition, compression, acks, txnID, txnTimeout, abort, headers :=
		f.topic, f.keySep, f.partitioner, f.partition, f.compression, f.acks, f.txnID, f.txnTimeout, f.abort, f.headers
	if topic == "" {
		return usageErrorf("produce: --topic is required")
	}
	if txnID == "" && abort {
		return usageErrorf("produce: --abort needs --transactional-id")
	}
	if txnID != "" && acks != "all" && acks != "-1" {
		return usageErrorf("produce: transactions need --acks all")
	}
	opts := []kgo.Opt{kgo.DefaultProduceTopic(topic), kgo.ProduceRequestTimeout(tf.timeout)}
	switch partitioner {
	case "murmur2":
		opts = append(opts, kgo.RecordPartitioner(kgo.StickyKeyPartitioner(nil)))
	case "sticky":
		opts = append(opts, kgo.RecordPartitioner(kgo.UniformBytesPartitioner(64<<10, true, true, nil)))
	case "round-robin":
		opts = append(opts, kgo.RecordPartitioner(kgo.RoundRobinPartitioner()))
	case "manual":
		if partition < 0 {
			return usageErrorf("produce: --partitioner manual needs --partition")
		}
		opts = append(opts, kgo.RecordPartitioner(kgo.ManualPartitioner()))
	default:
		return usageErrorf("produce: unknown partitioner %q", partitioner)
	}
	codecs := map[string]kgo.CompressionCodec{"none": kgo.NoCompression(), "gzip": kgo.GzipCompression(),
		"snappy": kgo.SnappyCompression(), "lz4": kgo.Lz4Compression(), "zstd": kgo.ZstdCompression()}
	codec, ok := codecs[compression]
	if !ok {
		return usageErrorf("produce: unknown compression %q", compression)
	}
	opts = append(opts, kgo.ProducerBatchCompression(codec))
	switch acks {
	case "all", "-1":
		opts = append(opts, kgo.RequiredAcks(kgo.AllISRAcks()))
	case "1":
		opts = append(opts, kgo.RequiredAcks(kgo.LeaderAck()), kgo.DisableIdempotentWrite())
	case "0":
		opts = append(opts, kgo.RequiredAcks(kgo.NoAck()), kgo.DisableIdempotentWrite())
	default:
		return usageErrorf("produce: --acks %q: want 0, 1 or all", acks)
	}
	var hdrs []kgo.RecordHeader
	for _, h := range headers {
		k, v, ok := strings.Cut(h, "=")
		if !ok {
			return usageErrorf("--header %q: want key=value", h)
		}
		hdrs = append(hdrs, kgo.RecordHeader{Key: k, Value: []byte(v)})
	}
	if txnID != "" {
		opts = append(opts, kgo.TransactionalID(txnID), kgo.TransactionTimeout(txnTimeout))
	}
	cl, err := tf.client(opts...)
	if err != nil {
		return err
	}
	defer cl.Close()
	if txnID != "" {
		if err := cl.BeginTransaction(); err != nil {
			return err
		}
	}
	lines, readDone := readLines(in)
	var firstErr, readErr error
	errCh := make(chan error, 1)
	n := 0
	// The records produced before a Ctrl-C are still flushed (and a
	// transaction is aborted), as kafka-console-producer closes its
	// producer on SIGINT; stdin is not read further.
	produceCtx := context.WithoutCancel(ctx)
read:
	for {
		var line string
		select {
		case <-ctx.Done():
			readErr = ctx.Err()
			break read
		case l, ok := <-lines:
			if !ok {
				readErr = <-readDone
				break read
			}
			line = l
		}
		r := &kgo.Record{Value: []byte(line), Headers: hdrs, Partition: int32(partition)}
		if keySep != "" {
			if k, v, ok := strings.Cut(line, keySep); ok {
				r.Key, r.Value = []byte(k), []byte(v)
			}
		}
		cl.Produce(produceCtx, r, func(_ *kgo.Record, err error) {
			if err != nil {
				select {
				case errCh <- err:
				default:
				}
			}
		})
		n++
	}
	flushCtx, cancel := context.WithTimeout(produceCtx, tf.timeout)
	defer cancel()
	flushErr := cl.Flush(flushCtx)
	select {
	case firstErr = <-errCh:
	default:
	}
	if txnID != "" {
		commit := !abort && readErr == nil && flushErr == nil && firstErr == nil
		if err := cl.EndTransaction(flushCtx, kgo.TransactionEndTry(commit)); err != nil {
			if commit {
				// kgo: retry a failed commit as an abort.
				cl.EndTransaction(flushCtx, kgo.TryAbort)
			}
			return fmt.Errorf("produce: ending the transaction (commit %v): %w", commit, err)
		}
		if !commit && !abort {
			fmt.Fprintf(stderr, "aborted the transaction of %s\n", txnID)
		}
	}
	switch {
	case readErr != nil:
		return readErr
	case flushErr != nil:
		return flushErr
	case firstErr != nil:
		return fmt.Errorf("produce: %w", firstErr)
	}
	switch {
	case txnID == "":
		fmt.Fprintf(stderr, "produced %d records to %s\n", n, topic)
	case abort:
		fmt.Fprintf(stderr, "produced %d records to %s in a transaction of %s, aborted\n", n, topic, txnID)
	default:
		fmt.Fprintf(stderr, "produced %d records to %s in a transaction of %s, committed\n", n, topic, txnID)
	}
	return nil
}

// readLines reads in line by line on its own goroutine, so that the
// producing loop can stop on Ctrl-C while a read of a terminal blocks.
// done has the read error once lines is closed.
func readLines(in io.Reader) (lines <-chan string, done <-chan error) {
	out, errc := make(chan string, 64), make(chan error, 1)
	go func() {
		defer close(out)
		sc := bufio.NewScanner(in)
		sc.Buffer(make([]byte, 64<<10), 16<<20)
		for sc.Scan() {
			out <- sc.Text()
		}
		errc <- sc.Err()
	}()
	return out, errc
}
