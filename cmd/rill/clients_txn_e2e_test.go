package main

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"
	kafkago "github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Third-party clients' transactions: kcat (librdkafka), kafkajs and
// sarama produce transactionally, commit and abort; their read_committed
// consumers (and kafka-go's) read only committed records; kafkajs and
// sarama run consume-transform-produce with transactional offset commits.

// txnVals is prefix-0 .. prefix-(n-1).
func txnVals(prefix string, n int) []string {
	return fmtVals(prefix+"-%d", n)
}

// fmtVals is format applied to 0 .. n-1.
func fmtVals(format string, n int) []string {
	var out []string
	for i := range n {
		out = append(out, fmt.Sprintf(format, i))
	}
	return out
}

// requireSameValues fails unless got and want hold the same values the
// same number of times.
func requireSameValues(t *testing.T, what string, got, want []string) {
	t.Helper()
	g, w := slices.Clone(got), slices.Clone(want)
	slices.Sort(g)
	slices.Sort(w)
	if slices.Equal(g, w) {
		return
	}
	count := map[string]int{}
	for _, v := range g {
		count[v]++
	}
	for _, v := range w {
		count[v]--
	}
	var missing, extra []string
	for v, c := range count {
		for ; c < 0; c++ {
			missing = append(missing, v)
		}
		for ; c > 0; c-- {
			extra = append(extra, v)
		}
	}
	slices.Sort(missing)
	slices.Sort(extra)
	t.Fatalf("%s: read %d values, want %d; missing %v; unexpected or duplicated %v", what, len(got), len(want), missing, extra)
}

func countPrefix(vals []string, prefix string) int {
	n := 0
	for _, v := range vals {
		if strings.HasPrefix(v, prefix) {
			n++
		}
	}
	return n
}

// createTopics creates 3-partition topics with replication factor rf.
func createTopics(t *testing.T, addrs []string, rf int16, topics ...string) {
	t.Helper()
	adm := kadm.NewClient(client(t, addrs[0], kgo.SeedBrokers(addrs...)))
	for _, topic := range topics {
		if resp, err := adm.CreateTopic(context.Background(), 3, rf, nil, topic); err != nil || resp.Err != nil {
			t.Fatalf("create %s: %v %v", topic, err, resp.Err)
		}
	}
}

// waitTxnState waits until the coordinator describes txnID in state.
func waitTxnState(t *testing.T, addrs []string, txnID, state string, logs func() string) {
	t.Helper()
	adm := kadm.NewClient(client(t, addrs[0], kgo.SeedBrokers(addrs...)))
	deadline := time.Now().Add(15 * time.Second)
	for {
		d, err := adm.DescribeTransactions(context.Background(), txnID)
		if err == nil && d[txnID].Err == nil && d[txnID].State == state {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("transaction %s never reached %s: %+v %v\n%s", txnID, state, d, err, logs())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// kcatRead reads topic to its end (for read_committed: to its last
// stable offset) with kcat and returns the values.
func kcatRead(t *testing.T, brokers, topic, isolation string) []string {
	t.Helper()
	cmd := toolCommand(t, "kcat", "-C", "-b", brokers, "-t", topic, "-o", "beginning", "-e", "-q",
		"-X", "isolation.level="+isolation, "-f", "%s\n")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("kcat -C %s: %v\n%s\n%s", isolation, err, out, stderr.String())
	}
	var vals []string
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if l != "" {
			vals = append(vals, l)
		}
	}
	return vals
}

// kcatCommit runs kcat's transactional producer (lz4) over the lines
// "kI:prefix-I", I < n: librdkafka commits at the end of the input.
func kcatCommit(t *testing.T, brokers, topic, txnID, prefix string, n int, logs func() string) {
	t.Helper()
	var in strings.Builder
	for i := range n {
		fmt.Fprintf(&in, "k%d:%s-%d\n", i, prefix, i)
	}
	produce := toolCommand(t, "kcat", "-P", "-b", brokers, "-t", topic, "-K:", "-z", "lz4", "-X", "transactional.id="+txnID,
		"-X", "transaction.timeout.ms=10000", "-m", "15")
	produce.Stdin = strings.NewReader(in.String())
	if out, err := produce.CombinedOutput(); err != nil || !strings.Contains(string(out), "Transaction successfully committed") {
		t.Fatalf("kcat transactional produce (%s): %v\n%s\n%s", txnID, err, out, logs())
	}
}

// kcatKilledInTxn starts kcat's transactional producer on lines
// "kI:prefix-I", waits until some are in the log (read_uncommitted), and
// SIGKILLs it in its open transaction. (kcat cannot abort: on SIGINT
// kcat 1.7.1 exits without aborting, once its stdin closes; it buffers
// stdin until 1 KiB has accumulated, so it is given more than that.) It
// returns kcat's output.
func kcatKilledInTxn(t *testing.T, brokers, topic, txnID, prefix string, timeoutMs int, logs func() string) string {
	t.Helper()
	cmd := toolCommand(t, "kcat", "-P", "-b", brokers, "-t", topic, "-K:", "-X", "transactional.id="+txnID,
		"-X", fmt.Sprintf("transaction.timeout.ms=%d", timeoutMs))
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer stdin.Close()
	for i := range 400 {
		fmt.Fprintf(stdin, "k%d:%s-%d\n", i, prefix, i)
	}
	deadline := time.Now().Add(15 * time.Second)
	for countPrefix(kcatRead(t, brokers, topic, "read_uncommitted"), prefix+"-") == 0 {
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("kcat %s's records never reached the log\n%s\n%s", txnID, out.String(), logs())
		}
		time.Sleep(100 * time.Millisecond)
	}
	cmd.Process.Kill()
	cmd.Wait()
	return out.String()
}

// kcatTxns: kcat (librdkafka's transactional producer) commits c-0..299;
// kgo aborts a-0..9 and commits k-0..9. A kcat producing h-* is killed
// in its transaction: kcat's read_committed consumer reads c-* and k-*
// while it is open, and after the coordinator aborts it on its timeout.
// A kcat producing x-* with a long timeout is killed in its transaction
// and a new kcat with the same transactional id commits r-0..9: its
// InitProducerId fences and aborts x-*. kcat read_committed reads
// c, k and r; read_uncommitted reads the aborted a, h and x too; kgo
// read_committed agrees.
func kcatTxns(t *testing.T, addrs []string, rf int16, logs func() string) {
	brokers := strings.Join(addrs, ",")
	const topic, n = "kcat-txn", 300
	createTopics(t, addrs, rf, topic)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	kcatCommit(t, brokers, topic, "kcat-commit", "c", n, logs)
	waitTxnState(t, addrs, "kcat-commit", "CompleteCommit", logs)
	p := client(t, addrs[0], kgo.SeedBrokers(addrs...), kgo.TransactionalID("kgo-abort"), kgo.DefaultProduceTopic(topic),
		kgo.TransactionTimeout(10*time.Second), kgo.RecordPartitioner(kgo.RoundRobinPartitioner()))
	txnRound(t, ctx, p, "a", 10, false)
	txnRound(t, ctx, p, "k", 10, true)
	committed := append(txnVals("c", n), txnVals("k", 10)...)

	out := kcatKilledInTxn(t, brokers, topic, "kcat-hung", "h", 2000, logs)
	// While h-* is open, read_committed stops at its first offset in each
	// partition: before it, everything committed is read. (The coordinator
	// may abort it in 2 s: then too.)
	requireSameValues(t, "kcat read_committed with a transaction open", kcatRead(t, brokers, topic, "read_committed"), committed)
	waitTxnState(t, addrs, "kcat-hung", "CompleteAbort", func() string { return out + "\n" + logs() })
	requireSameValues(t, "kcat read_committed after the timeout abort", kcatRead(t, brokers, topic, "read_committed"), committed)

	out = kcatKilledInTxn(t, brokers, topic, "kcat-restart", "x", 60000, logs)
	kcatCommit(t, brokers, topic, "kcat-restart", "r", 10, func() string { return out + "\n" + logs() })
	waitTxnState(t, addrs, "kcat-restart", "CompleteCommit", logs)
	committed = append(committed, txnVals("r", 10)...)

	requireSameValues(t, "kcat read_committed", kcatRead(t, brokers, topic, "read_committed"), committed)
	all := kcatRead(t, brokers, topic, "read_uncommitted")
	if countPrefix(all, "a-") != 10 || countPrefix(all, "h-") == 0 || countPrefix(all, "x-") == 0 ||
		countPrefix(all, "c-") != n || countPrefix(all, "k-") != 10 || countPrefix(all, "r-") != 10 {
		t.Fatalf("kcat read_uncommitted read %d records: %d c, %d a, %d k, %d h, %d x, %d r", len(all), countPrefix(all, "c-"),
			countPrefix(all, "a-"), countPrefix(all, "k-"), countPrefix(all, "h-"), countPrefix(all, "x-"), countPrefix(all, "r-"))
	}
	requireSameValues(t, "kgo read_committed", readAll(t, addrs[0], topic, true, len(committed)), committed)
}

// kcat's transactional producer and read_committed consumer, one node.
func TestKcatTransactions(t *testing.T) {
	requireTool(t, "kcat")
	b := startBroker(t, t.TempDir(), "--set", "transaction.abort.timed.out.transaction.cleanup.interval.ms=200")
	kcatTxns(t, []string{b.addr}, 1, b.log)
	b.stop()
}

// startTxnCluster starts three nodes and waits until all are registered.
func startTxnCluster(t *testing.T, extra ...string) *cluster {
	c := startCluster(t, extra...)
	c.waitFor("three brokers", func() bool {
		bs, err := c.admin(0).ListBrokers(context.Background())
		return err == nil && len(bs) == 3
	})
	return c
}

// kcat's transactions on three nodes, replication factor 3.
func TestKcatTransactionsCluster(t *testing.T) {
	requireTool(t, "kcat")
	c := startTxnCluster(t, "--set", "transaction.abort.timed.out.transaction.cleanup.interval.ms=200")
	kcatTxns(t, c.addrs, 3, c.logs)
}

// kafkaJSTxns runs test/clients/kafkajs_txn.js: kafkajs commits c-*,
// aborts a-* and commits d-*, commits and aborts offsets-only
// transactions, reads read_committed, and runs consume-transform-produce
// from kjs-in to kjs-out with sendOffsets.
func kafkaJSTxns(t *testing.T, addrs []string, rf int16, logs func() string) {
	script, _ := filepath.Abs("../../test/clients/kafkajs_txn.js")
	requireTool(t, "node")
	requireTool(t, filepath.Join(filepath.Dir(script), "node_modules", "kafkajs"))
	const n, group = 300, "kjs-etl"
	createTopics(t, addrs, rf, "kjs-tx", "kjs-out")
	fillTopic(t, addrs, rf, "kjs-in", n)
	out, err := toolCommand(t, "node", script, strings.Join(addrs, ","), "kjs-tx", "kjs-in", "kjs-out", group, fmt.Sprint(n)).CombinedOutput()
	if err != nil {
		t.Fatalf("kafkajs: %v\n%s\n%s", err, out, logs())
	}
	var read []string
	etl := 0
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if v, ok := strings.CutPrefix(l, "read "); ok {
			read = append(read, v)
		}
		var k int
		if _, err := fmt.Sscanf(l, "etl %d", &k); err == nil {
			etl += k
		}
	}
	committed := append(txnVals("c", 10), txnVals("d", 10)...)
	requireSameValues(t, "kafkajs read_committed", read, committed)
	requireSameValues(t, "kgo read_committed of kafkajs's transactions", readAll(t, addrs[0], "kjs-tx", true, 20), committed)
	if all := readAll(t, addrs[0], "kjs-tx", false, 30); countPrefix(all, "a-") != 10 {
		t.Fatalf("read_uncommitted read %v, want the aborted a-0..9 among them", all)
	}
	if etl != n {
		t.Fatalf("kafkajs transformed %d records in committed transactions, want %d:\n%s", etl, n, out)
	}
	requireSameValues(t, "kgo read_committed of kafkajs's output", readAll(t, addrs[0], "kjs-out", true, n), fmtVals("out-v%d", n))
	requireCommittedToEnd(t, addrs[0], group)
	// The offsets-only transactions: 5 committed, 9 aborted.
	ocl := client(t, addrs[0], kgo.SeedBrokers(addrs...))
	deadline := time.Now().Add(10 * time.Second)
	for {
		got, err := fetchStableOffset(ocl, group+"-offsets", "kjs-tx", 0)
		if errors.Is(err, kerr.UnstableOffsetCommit) && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
			continue
		}
		if err != nil || got != 5 {
			t.Fatalf("kafkajs committed offset 5 of kjs-tx-0 and aborted 9 for %s-offsets: OffsetFetch (require_stable) answered %d, %v\n%s",
				group, got, err, logs())
		}
		break
	}
}

// fillTopic creates a 3-partition topic holding v0..v(n-1), gzip
// (kafkajs reads no snappy without a plugin).
func fillTopic(t *testing.T, addrs []string, rf int16, topic string, n int) {
	t.Helper()
	createTopics(t, addrs, rf, topic)
	cl := client(t, addrs[0], kgo.SeedBrokers(addrs...), kgo.DefaultProduceTopic(topic),
		kgo.RecordPartitioner(kgo.RoundRobinPartitioner()), kgo.ProducerBatchCompression(kgo.GzipCompression()))
	for i := range n {
		cl.Produce(context.Background(), kgo.StringRecord(fmt.Sprintf("v%d", i)), func(_ *kgo.Record, err error) {
			if err != nil {
				t.Errorf("produce: %v", err)
			}
		})
	}
	if err := cl.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// kafkajs transactions and consume-transform-produce, one node.
func TestKafkaJSTransactions(t *testing.T) {
	b := startBroker(t, t.TempDir(), groupBrokerFlags...)
	kafkaJSTxns(t, []string{b.addr}, 1, b.log)
	b.stop()
}

// kafkajs transactions and consume-transform-produce on three nodes.
func TestKafkaJSTransactionsCluster(t *testing.T) {
	c := startTxnCluster(t, groupBrokerFlags...)
	kafkaJSTxns(t, c.addrs, 3, c.logs)
}

func saramaTxnConfig(txnID string, version sarama.KafkaVersion) *sarama.Config {
	cfg := sarama.NewConfig()
	cfg.Version = version
	cfg.Producer.Idempotent = true
	cfg.Producer.Transaction.ID = txnID
	cfg.Producer.Transaction.Timeout = 10 * time.Second
	cfg.Producer.RequiredAcks = sarama.WaitForAll
	cfg.Producer.Return.Successes = true
	cfg.Producer.Compression = sarama.CompressionGZIP
	if version.IsAtLeast(sarama.V2_1_0_0) {
		cfg.Producer.Compression = sarama.CompressionZSTD
	}
	cfg.Net.MaxOpenRequests = 1
	return cfg
}

// fetchStableOffset fetches group's committed offset of one partition
// with OffsetFetch require_stable (v7+; kgo sends v8+ as a group).
func fetchStableOffset(cl *kgo.Client, group, topic string, partition int32) (int64, error) {
	req := kmsg.NewPtrOffsetFetchRequest()
	req.Group = group
	req.RequireStable = true
	rt := kmsg.NewOffsetFetchRequestTopic()
	rt.Topic = topic
	rt.Partitions = []int32{partition}
	req.Topics = append(req.Topics, rt)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		return 0, err
	}
	if err := kerr.ErrorForCode(resp.ErrorCode); err != nil {
		return 0, err
	}
	for _, g := range resp.Groups {
		if err := kerr.ErrorForCode(g.ErrorCode); err != nil {
			return 0, err
		}
		for _, t := range g.Topics {
			for _, p := range t.Partitions {
				if t.Topic == topic && p.Partition == partition {
					return p.Offset, kerr.ErrorForCode(p.ErrorCode)
				}
			}
		}
	}
	for _, t := range resp.Topics {
		for _, p := range t.Partitions {
			if t.Topic == topic && p.Partition == partition {
				return p.Offset, kerr.ErrorForCode(p.ErrorCode)
			}
		}
	}
	return 0, fmt.Errorf("OffsetFetch answered no %s-%d: %+v", topic, partition, resp)
}

// saramaRead reads every partition of topic from the start with sarama's
// partition consumers until it has want records and half a second more.
func saramaRead(t *testing.T, addrs []string, version sarama.KafkaVersion, topic string, committed bool, want int) []string {
	t.Helper()
	cfg := sarama.NewConfig()
	cfg.Version = version
	cfg.Consumer.MaxWaitTime = 100 * time.Millisecond
	cfg.Consumer.Return.Errors = true
	if committed {
		cfg.Consumer.IsolationLevel = sarama.ReadCommitted
	}
	c, err := sarama.NewConsumer(addrs, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	parts, err := c.Partitions(topic)
	if err != nil {
		t.Fatal(err)
	}
	msgs := make(chan string, 1024)
	errs := make(chan error, 16)
	for _, p := range parts {
		pc, err := c.ConsumePartition(topic, p, sarama.OffsetOldest)
		if err != nil {
			t.Fatal(err)
		}
		defer pc.AsyncClose()
		go func() {
			for m := range pc.Messages() {
				msgs <- string(m.Value)
			}
		}()
		go func() {
			for err := range pc.Errors() {
				errs <- err
			}
		}()
	}
	var out []string
	timeout := time.After(20 * time.Second)
	var extra <-chan time.Time
	for {
		select {
		case v := <-msgs:
			out = append(out, v)
			if len(out) == want {
				extra = time.After(500 * time.Millisecond)
			}
		case err := <-errs:
			t.Fatalf("sarama consume %s: %v", topic, err)
		case <-extra:
			return out
		case <-timeout:
			t.Fatalf("sarama (committed %v) read %d of %d records: %v", committed, len(out), want, out)
		}
	}
}

// saramaTxns: sarama's transactional producer (zstd, or gzip before
// Kafka 2.1's protocol) commits c-*,
// aborts a-*, commits d-*; sarama's read_committed consumer reads c-* and
// d-*, its read_uncommitted one all three, kgo read_committed agrees.
// Offsets-only transactions (AddOffsetsToTxn, no records) commit a
// group's offset. A second producer with the same
// transactional id fences the first in its open transaction (z-0): the
// first's send or commit fails, z-0 is aborted, the second commits f-*.
func saramaTxns(t *testing.T, addrs []string, rf int16, version sarama.KafkaVersion, logs func() string) {
	const topic = "sarama-txn"
	createTopics(t, addrs, rf, topic)
	p, err := sarama.NewSyncProducer(addrs, saramaTxnConfig("sarama-txn", version))
	if err != nil {
		t.Fatalf("sarama transactional producer: %v\n%s", err, logs())
	}
	defer p.Close()
	send := func(p sarama.SyncProducer, i int, v string) error {
		_, _, err := p.SendMessage(&sarama.ProducerMessage{Topic: topic, Key: sarama.StringEncoder(fmt.Sprintf("k%d", i)),
			Value: sarama.StringEncoder(v)})
		return err
	}
	round := func(p sarama.SyncProducer, prefix string, commit bool) {
		t.Helper()
		if err := p.BeginTxn(); err != nil {
			t.Fatalf("begin %s: %v", prefix, err)
		}
		for i, v := range txnVals(prefix, 10) {
			if err := send(p, i, v); err != nil {
				t.Fatalf("send %s: %v\n%s", v, err, logs())
			}
		}
		end := p.CommitTxn
		if !commit {
			end = p.AbortTxn
		}
		if err := end(); err != nil {
			t.Fatalf("end %s (commit %v): %v\n%s", prefix, commit, err, logs())
		}
	}
	round(p, "c", true)
	round(p, "a", false)
	round(p, "d", true)
	waitTxnState(t, addrs, "sarama-txn", "CompleteCommit", logs)
	committed := append(txnVals("c", 10), txnVals("d", 10)...)
	requireSameValues(t, "sarama read_committed", saramaRead(t, addrs, version, topic, true, 20), committed)
	requireSameValues(t, "sarama read_uncommitted", saramaRead(t, addrs, version, topic, false, 30), append(committed, txnVals("a", 10)...))
	requireSameValues(t, "kgo read_committed of sarama's transactions", readAll(t, addrs[0], topic, true, 20), committed)

	// Offsets-only transactions.
	ocl := client(t, addrs[0], kgo.SeedBrokers(addrs...))
	for _, o := range []struct {
		offset int64
		commit bool
		want   int64
	}{{5, true, 5}, {9, false, 5}, {7, true, 7}} {
		if err := p.BeginTxn(); err != nil {
			t.Fatal(err)
		}
		if err := p.AddOffsetsToTxn(map[string][]*sarama.PartitionOffsetMetadata{topic: {{Partition: 0, Offset: o.offset}}}, "sarama-offsets"); err != nil {
			t.Fatalf("AddOffsetsToTxn %d: %v\n%s", o.offset, err, logs())
		}
		end := p.CommitTxn
		if !o.commit {
			end = p.AbortTxn
		}
		if err := end(); err != nil {
			t.Fatalf("end offsets-only transaction of offset %d (commit %v): %v\n%s", o.offset, o.commit, err, logs())
		}
		// EndTxn returns once the outcome is prepared; the markers (here:
		// to __consumer_offsets) are written after. OffsetFetch with
		// require_stable answers UNSTABLE_OFFSET_COMMIT until they are,
		// never the offset from before. (sarama sends offsets at commit
		// only: an aborted offsets-only transaction sends no request.)
		deadline := time.Now().Add(10 * time.Second)
		for {
			got, err := fetchStableOffset(ocl, "sarama-offsets", topic, 0)
			if errors.Is(err, kerr.UnstableOffsetCommit) && time.Now().Before(deadline) {
				time.Sleep(20 * time.Millisecond)
				continue
			}
			if err != nil || got != o.want {
				t.Fatalf("after an offsets-only transaction of offset %d (commit %v), OffsetFetch (require_stable) of %s-0 answered offset %d, %v; want %d\n%s",
					o.offset, o.commit, topic, got, err, o.want, logs())
			}
			break
		}
	}

	// Fencing.
	if err := p.BeginTxn(); err != nil {
		t.Fatal(err)
	}
	if err := send(p, 0, "z-0"); err != nil {
		t.Fatal(err)
	}
	p2, err := sarama.NewSyncProducer(addrs, saramaTxnConfig("sarama-txn", version))
	if err != nil {
		t.Fatalf("second producer of sarama-txn: %v\n%s", err, logs())
	}
	defer p2.Close()
	round(p2, "f", true)
	err = send(p, 1, "z-1")
	if err == nil {
		err = p.CommitTxn()
	}
	// PRODUCER_FENCED (90) only to versions that know it (AddPartitionsToTxn
	// and EndTxn v2+, sarama from 2.7); INVALID_PRODUCER_EPOCH before.
	fenced := errors.Is(err, sarama.ErrInvalidProducerEpoch) ||
		(version.IsAtLeast(sarama.V2_7_0_0) && errors.Is(err, sarama.ErrProducerFenced))
	if !fenced {
		t.Fatalf("the fenced sarama producer (protocol of Kafka %s): %v (%#v), want INVALID_PRODUCER_EPOCH or, from 2.7, PRODUCER_FENCED\n%s",
			version, err, err, logs())
	}
	committed = append(committed, txnVals("f", 10)...)
	requireSameValues(t, "sarama read_committed after the fencing", saramaRead(t, addrs, version, topic, true, 30), committed)
}

// sarama's transactions and read_committed consumer, one node, with the
// protocol versions of Kafka 3.0 and of Kafka 2.0 (InitProducerId v1,
// AddPartitionsToTxn v1, EndTxn v1, TxnOffsetCommit v1, Fetch v7).
func TestSaramaTransactions(t *testing.T) {
	for _, v := range []sarama.KafkaVersion{sarama.V3_0_0_0, sarama.V2_0_0_0} {
		t.Run(v.String(), func(t *testing.T) {
			b := startBroker(t, t.TempDir())
			saramaTxns(t, []string{b.addr}, 1, v, b.log)
			b.stop()
		})
	}
}

// sarama's transactions on three nodes, replication factor 3.
func TestSaramaTransactionsCluster(t *testing.T) {
	c := startTxnCluster(t)
	saramaTxns(t, c.addrs, 3, sarama.V3_0_0_0, c.logs)
}

// saramaETL is a consumer group handler that turns each input into
// "out-"+value in its own transaction with the input's offset
// (AddMessageToTxnWithGroupMetadata, with the member's generation). The
// first input of each claim is first transformed into "junk-"+value in a
// transaction it aborts.
type saramaETL struct {
	p     sarama.SyncProducer
	txnMu *sync.Mutex // one transaction at a time across the claims
	group string
	out   string
	mu    *sync.Mutex
	done  map[string]bool
	errs  chan error
}

func (saramaETL) Setup(sarama.ConsumerGroupSession) error   { return nil }
func (saramaETL) Cleanup(sarama.ConsumerGroupSession) error { return nil }
func (h saramaETL) ConsumeClaim(s sarama.ConsumerGroupSession, c sarama.ConsumerGroupClaim) error {
	first := true
	for m := range c.Messages() {
		meta := sarama.NewConsumerGroupMetadataFromSession(s, h.group, nil)
		txn := func(prefix string, commit bool) error {
			h.txnMu.Lock()
			defer h.txnMu.Unlock()
			if err := h.p.BeginTxn(); err != nil {
				return fmt.Errorf("begin: %w", err)
			}
			if _, _, err := h.p.SendMessage(&sarama.ProducerMessage{Topic: h.out, Key: sarama.ByteEncoder(m.Key),
				Value: sarama.StringEncoder(prefix + string(m.Value))}); err != nil {
				return fmt.Errorf("send: %w", err)
			}
			if err := h.p.AddMessageToTxnWithGroupMetadata(m, meta, nil); err != nil {
				return fmt.Errorf("add offsets: %w", err)
			}
			if commit {
				if err := h.p.CommitTxn(); err != nil {
					return fmt.Errorf("commit: %w", err)
				}
			} else if err := h.p.AbortTxn(); err != nil {
				return fmt.Errorf("abort: %w", err)
			}
			return nil
		}
		if first {
			first = false
			if err := txn("junk-", false); err != nil {
				h.errs <- fmt.Errorf("aborted transaction of %s: %w", m.Value, err)
				return err
			}
		}
		if err := txn("out-", true); err != nil {
			h.errs <- fmt.Errorf("transaction of %s: %w", m.Value, err)
			return err
		}
		h.mu.Lock()
		h.done[string(m.Value)] = true
		h.mu.Unlock()
	}
	return nil
}

// saramaETLRun: a sarama consumer group member (read_committed, no
// autocommit) and a sarama transactional producer transform sarama-in
// into sarama-out, one transaction per record with its offset; the
// output read_committed holds each input once, no junk, and the group has
// committed the input's end.
func saramaETLRun(t *testing.T, addrs []string, rf int16, logs func() string) {
	const n, group = 100, "sarama-etl"
	fillTopic(t, addrs, rf, "sarama-in", n)
	createTopics(t, addrs, rf, "sarama-out")
	p, err := sarama.NewSyncProducer(addrs, saramaTxnConfig("sarama-etl", sarama.V3_0_0_0))
	if err != nil {
		t.Fatalf("sarama transactional producer: %v\n%s", err, logs())
	}
	defer p.Close()
	cfg := sarama.NewConfig()
	cfg.Version = sarama.V3_0_0_0
	cfg.Consumer.Offsets.Initial = sarama.OffsetOldest
	cfg.Consumer.Offsets.AutoCommit.Enable = false
	cfg.Consumer.IsolationLevel = sarama.ReadCommitted
	cfg.Consumer.MaxWaitTime = 100 * time.Millisecond
	cg, err := sarama.NewConsumerGroup(addrs, group, cfg)
	if err != nil {
		t.Fatal(err)
	}
	h := saramaETL{p: p, txnMu: &sync.Mutex{}, group: group, out: "sarama-out", mu: &sync.Mutex{}, done: map[string]bool{}, errs: make(chan error, 16)}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	var wg sync.WaitGroup
	// Also on failure: stop the group and wait for its handlers before
	// the deferred p.Close (a closed producer in use panics).
	var stopOnce sync.Once
	stop := func() {
		stopOnce.Do(func() {
			cancel()
			cg.Close()
			wg.Wait()
		})
	}
	defer stop()
	wg.Add(1)
	go func() {
		defer wg.Done()
		for ctx.Err() == nil {
			if err := cg.Consume(ctx, []string{"sarama-in"}, h); err != nil && ctx.Err() == nil {
				h.errs <- fmt.Errorf("consume: %w", err)
				return
			}
		}
	}()
	for {
		h.mu.Lock()
		done := len(h.done)
		h.mu.Unlock()
		if done == n {
			break
		}
		select {
		case err := <-h.errs:
			t.Fatalf("sarama ETL after %d records: %v\n%s", done, err, logs())
		case <-ctx.Done():
			t.Fatalf("sarama ETL transformed %d of %d records\n%s", done, n, logs())
		case <-time.After(50 * time.Millisecond):
		}
	}
	requireCommittedToEnd(t, addrs[0], group)
	stop()
	out := readAll(t, addrs[0], "sarama-out", true, n)
	requireSameValues(t, "kgo read_committed of sarama's output", out, fmtVals("out-v%d", n))
	if all := readAll(t, addrs[0], "sarama-out", false, n); countPrefix(all, "junk-") == 0 {
		t.Fatalf("read_uncommitted read no junk- records: the aborted transactions wrote nothing? %v", all)
	}
}

// sarama consume-transform-produce, one node.
func TestSaramaTransactionalETL(t *testing.T) {
	b := startBroker(t, t.TempDir(), groupBrokerFlags...)
	saramaETLRun(t, []string{b.addr}, 1, b.log)
	b.stop()
}

// sarama consume-transform-produce on three nodes, replication factor 3.
func TestSaramaTransactionalETLCluster(t *testing.T) {
	c := startTxnCluster(t, groupBrokerFlags...)
	saramaETLRun(t, c.addrs, 3, c.logs)
}

// kafkaGoRead reads topic from the start with a kafka-go group Reader
// for a second after the last record, and returns the values of the
// records that are not control records (kafka-go returns the markers as
// messages: its key is version 0 and type 0 (abort) or 1 (commit)).
func kafkaGoRead(t *testing.T, addr, topic, group string, iso kafkago.IsolationLevel) []string {
	t.Helper()
	r := kafkago.NewReader(kafkago.ReaderConfig{
		Brokers: []string{addr}, GroupID: group, Topic: topic, IsolationLevel: iso,
		MaxWait: 100 * time.Millisecond, SessionTimeout: 6 * time.Second, StartOffset: kafkago.FirstOffset,
	})
	defer r.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var got []string
	for {
		// The first read waits for the group; later ones a second at most.
		wait := 10 * time.Second
		if len(got) > 0 {
			wait = time.Second
		}
		rctx, c := context.WithTimeout(ctx, wait)
		m, err := r.ReadMessage(rctx)
		c()
		if err != nil {
			if ctx.Err() != nil {
				t.Fatalf("kafka-go read: %v", err)
			}
			return got
		}
		if len(m.Key) == 4 && m.Key[0] == 0 && m.Key[1] == 0 && m.Key[2] == 0 && m.Key[3] <= 1 && len(m.Value) == 6 {
			continue // a control record
		}
		got = append(got, string(m.Value))
	}
}

// kafka-go has no transactional producer, and its read_committed Reader
// neither drops aborted transactions nor control records (kafka-go issue
// #1332), but it fetches read_committed: while a transaction is open it
// reads nothing past the last stable offset. kgo writes p-0..9, opens a
// transaction with h-0..9, then writes after-0..9 outside it; kafka-go
// read_committed reads p-* only, read_uncommitted all; once the
// transaction commits, read_committed reads all.
func TestKafkaGoReadCommitted(t *testing.T) {
	b := startBroker(t, t.TempDir(), groupBrokerFlags...)
	const topic = "kafkago-txn"
	createTopics(t, []string{b.addr}, 1, topic)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	plain := client(t, b.addr, kgo.DefaultProduceTopic(topic), kgo.RecordPartitioner(kgo.RoundRobinPartitioner()))
	produce := func(cl *kgo.Client, vals []string) {
		for _, v := range vals {
			if err := cl.ProduceSync(ctx, kgo.StringRecord(v)).FirstErr(); err != nil {
				t.Fatalf("produce %s: %v", v, err)
			}
		}
	}
	produce(plain, txnVals("p", 10))
	p := client(t, b.addr, kgo.TransactionalID("kgo-for-kafkago"), kgo.DefaultProduceTopic(topic),
		kgo.TransactionTimeout(10*time.Second), kgo.RecordPartitioner(kgo.RoundRobinPartitioner()))
	if err := p.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	produce(p, txnVals("h", 10))
	produce(plain, txnVals("after", 10))
	all := append(append(txnVals("p", 10), txnVals("h", 10)...), txnVals("after", 10)...)
	requireSameValues(t, "kafka-go read_committed with a transaction open",
		kafkaGoRead(t, b.addr, topic, "kafkago-rc-open", kafkago.ReadCommitted), txnVals("p", 10))
	requireSameValues(t, "kafka-go read_uncommitted", kafkaGoRead(t, b.addr, topic, "kafkago-ru", kafkago.ReadUncommitted), all)
	if err := p.EndTransaction(ctx, kgo.TryCommit); err != nil {
		t.Fatal(err)
	}
	requireSameValues(t, "kafka-go read_committed after the commit",
		kafkaGoRead(t, b.addr, topic, "kafkago-rc", kafkago.ReadCommitted), all)
	b.stop()
}

// Read_committed consumers starting anywhere, in small fetches, around
// interleaved transactions on one partition: transaction A (aborted)
// writes a-0..4, transaction B (committed) b-0..4, a plain producer
// p-0..4, A a-5..9, B b-5..9; A aborts, B commits; A commits a2-0..4.
// kcat (librdkafka, fetches of at most 1 KiB) started at every offset, and
// sarama started at offsets inside A, read exactly the committed records
// from there: the broker's aborted-transaction list must cover A for
// fetches that start after A's first record.
func TestClientsReadCommittedInterleaved(t *testing.T) {
	b := startBroker(t, t.TempDir())
	const topic = "mix"
	adm := kadm.NewClient(client(t, b.addr))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := adm.CreateTopic(ctx, 1, 1, nil, topic); err != nil {
		t.Fatal(err)
	}
	opts := []kgo.Opt{kgo.DefaultProduceTopic(topic), kgo.TransactionTimeout(10 * time.Second)}
	a := client(t, b.addr, append(opts, kgo.TransactionalID("mix-a"))...)
	bb := client(t, b.addr, append(opts, kgo.TransactionalID("mix-b"))...)
	plain := client(t, b.addr, opts...)
	type rec struct {
		offset int64
		val    string
	}
	var committed, aborted []rec
	produce := func(cl *kgo.Client, prefix string, from, to int, ok bool) {
		for i := from; i < to; i++ {
			r, err := cl.ProduceSync(ctx, kgo.StringRecord(fmt.Sprintf("%s-%d", prefix, i))).First()
			if err != nil {
				t.Fatal(err)
			}
			if ok {
				committed = append(committed, rec{r.Offset, string(r.Value)})
			} else {
				aborted = append(aborted, rec{r.Offset, string(r.Value)})
			}
		}
	}
	for _, cl := range []*kgo.Client{a, bb} {
		if err := cl.BeginTransaction(); err != nil {
			t.Fatal(err)
		}
	}
	produce(a, "a", 0, 5, false)
	produce(bb, "b", 0, 5, true)
	produce(plain, "p", 0, 5, true)
	produce(a, "a", 5, 10, false)
	produce(bb, "b", 5, 10, true)
	if err := a.EndTransaction(ctx, kgo.TryAbort); err != nil {
		t.Fatal(err)
	}
	if err := bb.EndTransaction(ctx, kgo.TryCommit); err != nil {
		t.Fatal(err)
	}
	txnRound(t, ctx, a, "a2", 5, true)
	for i := range 5 {
		committed = append(committed, rec{-1, fmt.Sprintf("a2-%d", i)}) // after everything above
	}
	waitTxnState(t, []string{b.addr}, "mix-a", "CompleteCommit", b.log)
	waitTxnState(t, []string{b.addr}, "mix-b", "CompleteCommit", b.log)
	from := func(o int64) []string {
		var out []string
		for _, r := range committed {
			if r.offset >= o || r.offset == -1 {
				out = append(out, r.val)
			}
		}
		return out
	}
	end := aborted[len(aborted)-1].offset + 2 // past A's and B's markers
	t.Run("sarama", func(t *testing.T) {
		for _, o := range []int64{aborted[0].offset, aborted[0].offset + 1, aborted[5].offset, aborted[9].offset} {
			cfg := sarama.NewConfig()
			cfg.Version = sarama.V3_0_0_0
			cfg.Consumer.IsolationLevel = sarama.ReadCommitted
			cfg.Consumer.Fetch.Default = 200 // a batch or so per fetch
			cfg.Consumer.MaxWaitTime = 100 * time.Millisecond
			c, err := sarama.NewConsumer([]string{b.addr}, cfg)
			if err != nil {
				t.Fatal(err)
			}
			pc, err := c.ConsumePartition(topic, 0, o)
			if err != nil {
				t.Fatal(err)
			}
			want := from(o)
			var got []string
			timeout := time.After(10 * time.Second)
		read:
			for {
				select {
				case m := <-pc.Messages():
					got = append(got, string(m.Value))
				case <-time.After(300 * time.Millisecond):
					if len(got) >= len(want) {
						break read
					}
				case <-timeout:
					break read
				}
			}
			pc.Close()
			c.Close()
			requireSameValues(t, fmt.Sprintf("sarama read_committed from offset %d", o), got, want)
		}
	})
	t.Run("kcat", func(t *testing.T) {
		requireTool(t, "kcat")
		for o := int64(0); o <= end; o++ {
			out, err := toolCommand(t, "kcat", "-C", "-b", b.addr, "-t", topic, "-p", "0", "-o", fmt.Sprint(o), "-e", "-q",
				"-X", "isolation.level=read_committed", "-X", "message.max.bytes=1000", "-X", "fetch.max.bytes=1024",
				"-X", "fetch.message.max.bytes=1024", "-X", "receive.message.max.bytes=2048", "-f", "%s\n").CombinedOutput()
			if err != nil {
				t.Fatalf("kcat -o %d: %v\n%s", o, err, out)
			}
			var got []string
			for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
				if l != "" {
					got = append(got, l)
				}
			}
			requireSameValues(t, fmt.Sprintf("kcat read_committed from offset %d", o), got, from(o))
		}
	})
	b.stop()
}
