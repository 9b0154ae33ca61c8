package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// runProduce: rill produce --topic T reads lines from stdin, one record
// each, optionally "key<sep>value", and waits for every acknowledgement.
// With --transactional-id the invocation's records are one transaction,
// committed once all are acknowledged (aborted with --abort, or when any
// record failed).
func runProduce(args []string, in io.Reader, w io.Writer) error {
	fs := flag.NewFlagSet("produce", flag.ContinueOnError)
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
	var headers multiFlag
	fs.Var(&headers, "header", "header key=value for every record (repeatable)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *topic == "" {
		return errors.New("produce: --topic is required")
	}
	if *txnID == "" && *abort {
		return errors.New("produce: --abort needs --transactional-id")
	}
	if *txnID != "" && *acks != "all" && *acks != "-1" {
		return errors.New("produce: transactions need --acks all")
	}
	opts := []kgo.Opt{kgo.DefaultProduceTopic(*topic), kgo.ProduceRequestTimeout(tf.timeout)}
	switch *partitioner {
	case "murmur2":
		opts = append(opts, kgo.RecordPartitioner(kgo.StickyKeyPartitioner(nil)))
	case "sticky":
		opts = append(opts, kgo.RecordPartitioner(kgo.UniformBytesPartitioner(64<<10, true, true, nil)))
	case "round-robin":
		opts = append(opts, kgo.RecordPartitioner(kgo.RoundRobinPartitioner()))
	case "manual":
		if *partition < 0 {
			return errors.New("produce: --partitioner manual needs --partition")
		}
		opts = append(opts, kgo.RecordPartitioner(kgo.ManualPartitioner()))
	default:
		return fmt.Errorf("produce: unknown partitioner %q", *partitioner)
	}
	codecs := map[string]kgo.CompressionCodec{"none": kgo.NoCompression(), "gzip": kgo.GzipCompression(),
		"snappy": kgo.SnappyCompression(), "lz4": kgo.Lz4Compression(), "zstd": kgo.ZstdCompression()}
	codec, ok := codecs[*compression]
	if !ok {
		return fmt.Errorf("produce: unknown compression %q", *compression)
	}
	opts = append(opts, kgo.ProducerBatchCompression(codec))
	switch *acks {
	case "all", "-1":
		opts = append(opts, kgo.RequiredAcks(kgo.AllISRAcks()))
	case "1":
		opts = append(opts, kgo.RequiredAcks(kgo.LeaderAck()), kgo.DisableIdempotentWrite())
	case "0":
		opts = append(opts, kgo.RequiredAcks(kgo.NoAck()), kgo.DisableIdempotentWrite())
	default:
		return fmt.Errorf("produce: --acks %q: want 0, 1 or all", *acks)
	}
	var hdrs []kgo.RecordHeader
	for _, h := range headers {
		k, v, ok := strings.Cut(h, "=")
		if !ok {
			return fmt.Errorf("--header %q: want key=value", h)
		}
		hdrs = append(hdrs, kgo.RecordHeader{Key: k, Value: []byte(v)})
	}
	if *txnID != "" {
		opts = append(opts, kgo.TransactionalID(*txnID), kgo.TransactionTimeout(*txnTimeout))
	}
	cl, err := tf.client(opts...)
	if err != nil {
		return err
	}
	defer cl.Close()
	ctx := context.Background()
	if *txnID != "" {
		if err := cl.BeginTransaction(); err != nil {
			return err
		}
	}
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	var firstErr error
	errCh := make(chan error, 1)
	n := 0
	for sc.Scan() {
		line := sc.Text()
		r := &kgo.Record{Value: []byte(line), Headers: hdrs, Partition: int32(*partition)}
		if *keySep != "" {
			if k, v, ok := strings.Cut(line, *keySep); ok {
				r.Key, r.Value = []byte(k), []byte(v)
			}
		}
		cl.Produce(ctx, r, func(_ *kgo.Record, err error) {
			if err != nil {
				select {
				case errCh <- err:
				default:
				}
			}
		})
		n++
	}
	readErr := sc.Err()
	flushCtx, cancel := context.WithTimeout(ctx, tf.timeout)
	defer cancel()
	flushErr := cl.Flush(flushCtx)
	select {
	case firstErr = <-errCh:
	default:
	}
	if *txnID != "" {
		commit := !*abort && readErr == nil && flushErr == nil && firstErr == nil
		if err := cl.EndTransaction(flushCtx, kgo.TransactionEndTry(commit)); err != nil {
			if commit {
				// kgo: retry a failed commit as an abort.
				cl.EndTransaction(flushCtx, kgo.TryAbort)
			}
			return fmt.Errorf("produce: ending the transaction (commit %v): %w", commit, err)
		}
		if !commit && !*abort {
			fmt.Fprintf(os.Stderr, "aborted the transaction of %s\n", *txnID)
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
	case *txnID == "":
		fmt.Fprintf(os.Stderr, "produced %d records to %s\n", n, *topic)
	case *abort:
		fmt.Fprintf(os.Stderr, "produced %d records to %s in a transaction of %s, aborted\n", n, *topic, *txnID)
	default:
		fmt.Fprintf(os.Stderr, "produced %d records to %s in a transaction of %s, committed\n", n, *topic, *txnID)
	}
	return nil
}

// runConsume: rill consume --topic T prints records of every partition
// (or one) from a starting point. With --group it consumes as a member of
// that consumer group: --from applies only to partitions the group has no
// offset for, and offsets are committed after the records are written out,
// so a consumer that dies is resumed from what it had printed (at least
// once).
func runConsume(args []string, w io.Writer) error {
	fs := flag.NewFlagSet("consume", flag.ContinueOnError)
	var tf toolFlags
	tf.register(fs)
	topic := fs.String("topic", "", "topic to consume")
	from := fs.String("from", "earliest", "earliest, latest, an offset, or @UNIX_MS for the first record at or after that time")
	partition := fs.Int("partition", -1, "only this partition")
	count := fs.Int("count", 0, "stop after this many records (0 = run until --idle)")
	idle := fs.Duration("idle", 0, "stop once no record arrived for this long (0 = never, unless --count)")
	groupID := fs.String("group", "", "consume as a member of this consumer group, committing what was printed")
	session := fs.Duration("session-timeout", 45*time.Second, "with --group: the member's session timeout")
	balancer := fs.String("balancer", "cooperative-sticky", "with --group: range, roundrobin, sticky or cooperative-sticky (classic); range or uniform (consumer)")
	groupProtocol := fs.String("group-protocol", "classic", "with --group: classic (client-side assignment) or consumer (KIP-848, the broker assigns)")
	isolation := fs.String("isolation", "read_uncommitted", "read_uncommitted (every record) or read_committed (only committed transactions' records and non-transactional ones, up to the last stable offset)")
	format := fs.String("format", "%v\n", "output: %t topic, %p partition, %o offset, %k key, %v value, %T timestamp (ms), %h headers; \\n \\t")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *topic == "" {
		return errors.New("consume: --topic is required")
	}
	start := kgo.NewOffset()
	switch {
	case *from == "earliest":
		start = start.AtStart()
	case *from == "latest":
		start = start.AtEnd()
	case strings.HasPrefix(*from, "@"):
		ms, err := strconv.ParseInt((*from)[1:], 10, 64)
		if err != nil {
			return fmt.Errorf("consume: --from %q", *from)
		}
		start = start.AfterMilli(ms)
	default:
		o, err := strconv.ParseInt(*from, 10, 64)
		if err != nil {
			return fmt.Errorf("consume: --from %q: want earliest, latest, an offset or @ms", *from)
		}
		start = start.At(o)
	}
	iso, err := isolationLevel(*isolation)
	if err != nil {
		return fmt.Errorf("consume: %w", err)
	}
	opts := []kgo.Opt{kgo.FetchIsolationLevel(iso)}
	if *groupID != "" {
		if *partition >= 0 {
			return errors.New("consume: --group and --partition exclude each other")
		}
		balancers := map[string]kgo.GroupBalancer{"range": kgo.RangeBalancer(), "roundrobin": kgo.RoundRobinBalancer(),
			"sticky": kgo.StickyBalancer(), "cooperative-sticky": kgo.CooperativeStickyBalancer()}
		switch *groupProtocol {
		case "classic":
		case "consumer":
			// kgo asks the broker for "uniform" when given the sticky
			// balancer and for "range" with the range balancer.
			balancers = map[string]kgo.GroupBalancer{"range": kgo.RangeBalancer(), "uniform": kgo.StickyBalancer()}
			if *balancer == "cooperative-sticky" {
				*balancer = "uniform"
			}
			opts = append(opts, kgo.ServerSideBalancer())
		default:
			return fmt.Errorf("consume: --group-protocol %q: want classic or consumer", *groupProtocol)
		}
		b, ok := balancers[*balancer]
		if !ok {
			return fmt.Errorf("consume: --balancer %q is not one of the %s protocol's", *balancer, *groupProtocol)
		}
		opts = append(opts, kgo.ConsumerGroup(*groupID), kgo.Balancers(b), kgo.DisableAutoCommit(), kgo.SessionTimeout(*session),
			kgo.HeartbeatInterval(min(3*time.Second, *session/3)),
			// No rebalance between a poll and its commit, so the commit is
			// for partitions this member still owns.
			kgo.BlockRebalanceOnPoll())
	}
	if *partition >= 0 {
		opts = append(opts, kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{*topic: {int32(*partition): start}}))
	} else {
		opts = append(opts, kgo.ConsumeTopics(*topic), kgo.ConsumeResetOffset(start))
	}
	cl, err := tf.client(opts...)
	if err != nil {
		return err
	}
	defer cl.Close()
	out := bufio.NewWriter(w)
	defer out.Flush()
	layout := strings.NewReplacer(`\n`, "\n", `\t`, "\t").Replace(*format)
	seen := 0
	for *count == 0 || seen < *count {
		ctx, cancel := context.Background(), context.CancelFunc(func() {})
		if *idle > 0 {
			ctx, cancel = context.WithTimeout(ctx, *idle)
		}
		fetches := cl.PollRecords(ctx, *count-seen)
		cancel()
		if ctx.Err() != nil && fetches.NumRecords() == 0 {
			return nil // idle
		}
		if err := fetches.Err0(); err != nil && !errors.Is(err, context.DeadlineExceeded) {
			return err
		}
		recs := fetches.Records()
		for _, r := range recs {
			out.WriteString(formatRecord(layout, r))
			seen++
		}
		if err := out.Flush(); err != nil {
			return err
		}
		if *groupID != "" {
			if len(recs) > 0 {
				if err := cl.CommitRecords(context.Background(), recs...); err != nil {
					// The records are delivered again to whoever owns
					// their partition next: at least once.
					fmt.Fprintf(os.Stderr, "rill consume: commit failed: %v\n", err)
				}
			}
			cl.AllowRebalance()
		}
	}
	return nil
}

// isolationLevel parses --isolation.
func isolationLevel(s string) (kgo.IsolationLevel, error) {
	switch s {
	case "read_uncommitted":
		return kgo.ReadUncommitted(), nil
	case "read_committed":
		return kgo.ReadCommitted(), nil
	}
	return kgo.ReadUncommitted(), fmt.Errorf("--isolation %q: want read_uncommitted or read_committed", s)
}

func formatRecord(layout string, r *kgo.Record) string {
	var b strings.Builder
	for i := 0; i < len(layout); i++ {
		c := layout[i]
		if c != '%' || i+1 == len(layout) {
			b.WriteByte(c)
			continue
		}
		i++
		switch layout[i] {
		case 't':
			b.WriteString(r.Topic)
		case 'p':
			b.WriteString(strconv.Itoa(int(r.Partition)))
		case 'o':
			b.WriteString(strconv.FormatInt(r.Offset, 10))
		case 'k':
			b.Write(r.Key)
		case 'v':
			b.Write(r.Value)
		case 'T':
			b.WriteString(strconv.FormatInt(r.Timestamp.UnixMilli(), 10))
		case 'h':
			for j, h := range r.Headers {
				if j > 0 {
					b.WriteByte(',')
				}
				b.WriteString(h.Key + "=" + string(h.Value))
			}
		case '%':
			b.WriteByte('%')
		default:
			b.WriteByte('%')
			b.WriteByte(layout[i])
		}
	}
	return b.String()
}
