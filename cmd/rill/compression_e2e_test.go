package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/rillmq/rill/engine/format"
)

// storedBatches reads a partition's batches as the broker serves them,
// with a raw Fetch (no client decoding), from offset 0.
func storedBatches(t *testing.T, cl *kgo.Client, topic string) []format.Batch {
	t.Helper()
	ctx := context.Background()
	td, err := kadm.NewClient(cl).ListTopics(ctx, topic)
	if err != nil || td[topic].Err != nil {
		t.Fatalf("list %s: %v %v", topic, err, td[topic].Err)
	}
	var out []format.Batch
	for offset := int64(0); ; {
		req := kmsg.NewPtrFetchRequest()
		req.ReplicaID, req.MaxWaitMillis, req.MaxBytes = -1, 0, 64<<20
		ft := kmsg.NewFetchRequestTopic()
		ft.Topic, ft.TopicID = topic, td[topic].ID
		fp := kmsg.NewFetchRequestTopicPartition()
		fp.Partition, fp.FetchOffset, fp.PartitionMaxBytes, fp.CurrentLeaderEpoch, fp.LogStartOffset = 0, offset, 64<<20, -1, -1
		ft.Partitions = append(ft.Partitions, fp)
		req.Topics = append(req.Topics, ft)
		resp, err := req.RequestWith(ctx, cl)
		if err != nil || resp.ErrorCode != 0 {
			t.Fatalf("fetch %s: %v %+v", topic, err, resp)
		}
		p := resp.Topics[0].Partitions[0]
		if p.ErrorCode != 0 {
			t.Fatalf("fetch %s: %v", topic, kerr.ErrorForCode(p.ErrorCode))
		}
		n := len(out)
		if _, err := format.Iterate(p.RecordBatches, func(_ int, b format.Batch) error {
			out = append(out, append(format.Batch(nil), b...))
			offset = b.NextOffset()
			return nil
		}); err != nil {
			t.Fatalf("fetched batches of %s: %v", topic, err)
		}
		if len(out) == n || offset >= p.HighWatermark {
			return out
		}
	}
}

// testBatch is an uncompressed-then-codec batch of n records with keys,
// headers and distinct timestamps, prefixed so values are unique.
func testBatch(t *testing.T, codec format.Codec, prefix string, n int) []byte {
	t.Helper()
	recs := make([]format.Record, n)
	for i := range recs {
		recs[i] = format.Record{OffsetDelta: int32(i), TimestampDelta: int64(i),
			Key: []byte(fmt.Sprintf("k%d", i%5)), Value: []byte(fmt.Sprintf("%s-%04d %s", prefix, i, strings.Repeat("payload ", 20))),
			Headers: []format.Header{{Key: "codec", Value: []byte(codec.String())}}}
	}
	b, err := format.BuildBatch(format.BatchHeader{Attributes: int16(codec), BaseTimestamp: 1700000000000,
		MaxTimestamp: 1700000000000 + int64(n-1), ProducerID: -1, ProducerEpoch: -1, BaseSequence: -1}, recs)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func produceRaw(t *testing.T, cl *kgo.Client, topic string, batch []byte) error {
	t.Helper()
	resp, err := produceOne(context.Background(), cl, topic, 0, nil, 5000, batch).RequestWith(context.Background(), cl)
	if err != nil {
		t.Fatal(err)
	}
	return kerr.ErrorForCode(resp.Topics[0].Partitions[0].ErrorCode)
}

var producerCodecs = []format.Codec{format.CodecNone, format.CodecGzip, format.CodecSnappy, format.CodecLZ4, format.CodecZstd}

// compression.type as a topic override and as the broker default:
// batches of every producer codec are stored in the topic's codec (or
// kept byte for byte with producer), and clients read every record back.
func TestCompressionTypeStorage(t *testing.T) {
	b := startBroker(t, t.TempDir(), "--set", "compression.type=lz4")
	cl := client(t, b.addr)
	adm := kadm.NewClient(cl)
	ctx := context.Background()
	s := func(v string) *string { return &v }
	topics := map[string]map[string]*string{
		"c-zstd":     {"compression.type": s("zstd"), "compression.zstd.level": s("19")},
		"c-producer": {"compression.type": s("producer")},
		"c-none":     {"compression.type": s("uncompressed")},
		"c-default":  nil, // the broker's lz4
	}
	want := map[string]format.Codec{"c-zstd": format.CodecZstd, "c-none": format.CodecNone, "c-default": format.CodecLZ4}
	for topic, cfg := range topics {
		if _, err := adm.CreateTopic(ctx, 1, 1, cfg, topic); err != nil {
			t.Fatal(err)
		}
		var sent [][]byte
		for _, c := range producerCodecs {
			batch := testBatch(t, c, topic+"-"+c.String(), 30)
			sent = append(sent, append([]byte(nil), batch...))
			if err := produceRaw(t, cl, topic, batch); err != nil {
				t.Fatalf("%s: produce %v: %v", topic, c, err)
			}
		}
		stored := storedBatches(t, cl, topic)
		if len(stored) != len(sent) {
			t.Fatalf("%s: %d batches stored, want %d", topic, len(stored), len(sent))
		}
		for i, sb := range stored {
			src := format.Batch(sent[i])
			if _, err := format.Validate(sb); err != nil {
				t.Fatalf("%s batch %d: %v", topic, i, err)
			}
			if sb.BaseOffset() != int64(30*i) || sb.RecordCount() != 30 || sb.MaxTimestamp() != src.MaxTimestamp() || sb.BaseTimestamp() != src.BaseTimestamp() {
				t.Fatalf("%s batch %d: base %d count %d timestamps %d/%d", topic, i, sb.BaseOffset(), sb.RecordCount(), sb.BaseTimestamp(), sb.MaxTimestamp())
			}
			codec, ok := want[topic]
			if !ok {
				// producer: the batch as sent, from the magic byte on
				// (base offset and leader epoch are the broker's).
				if !bytes.Equal(sb[16:], src[16:]) {
					t.Fatalf("%s batch %d (%v): stored bytes differ from the producer's", topic, i, src.Codec())
				}
				continue
			}
			if sb.Codec() != codec {
				t.Fatalf("%s batch %d: stored %v (produced %v), want %v", topic, i, sb.Codec(), src.Codec(), codec)
			}
			var got, exp []string
			sb.ForEachRecord(func(r format.Record) error {
				got = append(got, fmt.Sprintf("%d %d %s %s %s", r.OffsetDelta, r.TimestampDelta, r.Key, r.Value, r.Headers[0].Value))
				return nil
			})
			src.ForEachRecord(func(r format.Record) error {
				exp = append(exp, fmt.Sprintf("%d %d %s %s %s", r.OffsetDelta, r.TimestampDelta, r.Key, r.Value, r.Headers[0].Value))
				return nil
			})
			if strings.Join(got, "\n") != strings.Join(exp, "\n") {
				t.Fatalf("%s batch %d: records changed", topic, i)
			}
		}
		// Real clients read every record: kgo, and librdkafka via kcat.
		recs := consumeAll(t, b.addr, topic, 30*len(producerCodecs))
		for i, r := range recs {
			if r.offset != int64(i) || !strings.HasPrefix(r.val, fmt.Sprintf("%s-%s-%04d ", topic, producerCodecs[i/30], i%30)) {
				t.Fatalf("%s: kgo record %d: offset %d value %.40q", topic, i, r.offset, r.val)
			}
		}
		requireTool(t, "kcat")
		out, err := toolCommand(t, "kcat", "-C", "-b", b.addr, "-t", topic, "-o", "beginning", "-e", "-q", "-f", "%o %h %s\n").CombinedOutput()
		if err != nil {
			t.Fatalf("kcat consume %s: %v\n%s", topic, err, out)
		}
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		if len(lines) != 30*len(producerCodecs) {
			t.Fatalf("kcat read %d records of %s, want %d", len(lines), topic, 30*len(producerCodecs))
		}
		for i, l := range lines {
			c := producerCodecs[i/30]
			if !strings.HasPrefix(l, fmt.Sprintf("%d codec=%s %s-%s-%04d ", i, c, topic, c, i%30)) {
				t.Fatalf("kcat %s line %d: %.60q", topic, i, l)
			}
		}
	}
	// DescribeConfigs shows the override and the inherited default.
	rc, err := adm.DescribeTopicConfigs(ctx, "c-zstd", "c-default")
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rc {
		for _, c := range r.Configs {
			if c.Key != "compression.type" {
				continue
			}
			if wantV := map[string]string{"c-zstd": "zstd", "c-default": "lz4"}[r.Name]; c.Value == nil || *c.Value != wantV {
				t.Fatalf("%s: compression.type %q, want %s", r.Name, valueOf(c.Value), wantV)
			}
		}
	}
	b.stop()
}

// kgo and kcat producers of every codec into a zstd topic, idempotent
// and transactional ones included: no duplicates, read_committed sees
// only committed records, and everything is stored as zstd.
func TestCompressionClientsIdempotentTransactional(t *testing.T) {
	requireTool(t, "kcat")
	// The broker default does not reach the internal topics: Kafka
	// creates them with compression.type=producer.
	b := startBroker(t, t.TempDir(), "--set", "compression.type=gzip")
	cl := client(t, b.addr)
	ctx := context.Background()
	zstd := "zstd"
	if _, err := kadm.NewClient(cl).CreateTopic(ctx, 1, 1, map[string]*string{"compression.type": &zstd}, "z"); err != nil {
		t.Fatal(err)
	}
	codecs := map[string]kgo.CompressionCodec{"none": kgo.NoCompression(), "gzip": kgo.GzipCompression(),
		"snappy": kgo.SnappyCompression(), "lz4": kgo.Lz4Compression()}
	const perCodec = 3000
	total := 0
	for name, codec := range codecs {
		// kgo producers are idempotent by default.
		p := client(t, b.addr, kgo.ProducerBatchCompression(codec), kgo.DefaultProduceTopic("z"), kgo.ProducerLinger(5*time.Millisecond))
		var wg sync.WaitGroup
		var mu sync.Mutex
		var firstErr error
		for i := 0; i < perCodec; i++ {
			wg.Add(1)
			p.Produce(ctx, &kgo.Record{Key: []byte(fmt.Sprintf("k%d", i%10)), Value: []byte(fmt.Sprintf("idem-%s-%08d", name, i))}, func(_ *kgo.Record, err error) {
				defer wg.Done()
				if err != nil {
					mu.Lock()
					firstErr = err
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		if firstErr != nil {
			t.Fatalf("%s: %v", name, firstErr)
		}
		total += perCodec
	}
	// Transactions: gzip batches, one committed and one aborted.
	for i, commit := range []bool{true, false, true} {
		tx := client(t, b.addr, kgo.TransactionalID(fmt.Sprintf("tx-%d", i)), kgo.ProducerBatchCompression(kgo.GzipCompression()), kgo.DefaultProduceTopic("z"))
		if err := tx.BeginTransaction(); err != nil {
			t.Fatal(err)
		}
		for j := 0; j < 500; j++ {
			if err := tx.ProduceSync(ctx, &kgo.Record{Value: []byte(fmt.Sprintf("txn-%v-%d-%08d", commit, i, j))}).FirstErr(); err != nil {
				t.Fatal(err)
			}
		}
		if err := tx.EndTransaction(ctx, kgo.TransactionEndTry(commit)); err != nil {
			t.Fatal(err)
		}
		if commit {
			total += 500
		}
	}
	// librdkafka producing snappy.
	var in bytes.Buffer
	for i := 0; i < 1000; i++ {
		fmt.Fprintf(&in, "kcat-snappy-%08d\n", i)
	}
	produce := toolCommand(t, "kcat", "-P", "-b", b.addr, "-t", "z", "-z", "snappy", "-X", "enable.idempotence=true")
	produce.Stdin = &in
	if out, err := produce.CombinedOutput(); err != nil {
		t.Fatalf("kcat produce: %v\n%s\n%s", err, out, b.log())
	}
	total += 1000

	rc := client(t, b.addr, kgo.ConsumeTopics("z"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	seen := map[string]bool{}
	cctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	for len(seen) < total {
		fs := rc.PollFetches(cctx)
		if cctx.Err() != nil {
			t.Fatalf("read %d of %d committed records", len(seen), total)
		}
		fs.EachError(func(_ string, _ int32, err error) { t.Fatal(err) })
		fs.EachRecord(func(r *kgo.Record) {
			v := string(r.Value)
			if seen[v] {
				t.Fatalf("duplicate %s", v)
			}
			if strings.HasPrefix(v, "txn-false") {
				t.Fatalf("read_committed returned aborted %s", v)
			}
			seen[v] = true
		})
	}
	var data, control int
	for _, sb := range storedBatches(t, cl, "z") {
		if sb.IsControl() {
			control++
			if sb.Codec() != format.CodecNone {
				t.Fatalf("control batch stored as %v", sb.Codec())
			}
			continue
		}
		data++
		if sb.Codec() != format.CodecZstd {
			t.Fatalf("batch at %d stored as %v", sb.BaseOffset(), sb.Codec())
		}
	}
	if control != 3 || data == 0 {
		t.Fatalf("%d data and %d control batches", data, control)
	}
	rc2, err := kadm.NewClient(cl).DescribeTopicConfigs(ctx, "__transaction_state")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range rc2[0].Configs {
		if c.Key == "compression.type" && (c.Value == nil || *c.Value != "producer") {
			t.Fatalf("__transaction_state compression.type %q, want producer", valueOf(c.Value))
		}
	}
	b.stop()
}

// A raw idempotent retry of a recompressed batch is a duplicate, and
// AlterConfigs switches the codec for later batches only.
func TestCompressionRetryAndAlter(t *testing.T) {
	b := startBroker(t, t.TempDir())
	cl := client(t, b.addr)
	adm := kadm.NewClient(cl)
	ctx := context.Background()
	gz := "gzip"
	if _, err := adm.CreateTopic(ctx, 1, 1, map[string]*string{"compression.type": &gz, "compression.gzip.level": ptr("9")}, "alter"); err != nil {
		t.Fatal(err)
	}
	ipResp, err := kmsg.NewPtrInitProducerIDRequest().RequestWith(ctx, cl)
	if err != nil || ipResp.ErrorCode != 0 {
		t.Fatalf("init producer id: %v %+v", err, ipResp)
	}
	idem := func(seq int32) []byte {
		recs := []format.Record{{OffsetDelta: 0, Value: []byte("a")}, {OffsetDelta: 1, Value: []byte("b")}}
		batch, _ := format.BuildBatch(format.BatchHeader{Attributes: int16(format.CodecLZ4), ProducerID: ipResp.ProducerID,
			ProducerEpoch: ipResp.ProducerEpoch, BaseSequence: seq, BaseTimestamp: 1, MaxTimestamp: 1}, recs)
		return batch
	}
	for _, seq := range []int32{0, 0, 2, 2} {
		resp, err := produceOne(ctx, cl, "alter", 0, nil, 5000, idem(seq)).RequestWith(ctx, cl)
		if err != nil {
			t.Fatal(err)
		}
		if p := resp.Topics[0].Partitions[0]; p.ErrorCode != 0 || p.BaseOffset != int64(seq) {
			t.Fatalf("seq %d: offset %d error %v", seq, p.BaseOffset, kerr.ErrorForCode(p.ErrorCode))
		}
	}
	if _, err := adm.AlterTopicConfigs(ctx, []kadm.AlterConfig{{Name: "compression.type", Value: ptr("snappy")}}, "alter"); err != nil {
		t.Fatal(err)
	}
	if err := produceRaw(t, cl, "alter", testBatch(t, format.CodecNone, "after", 3)); err != nil {
		t.Fatal(err)
	}
	var codecs []format.Codec
	for _, sb := range storedBatches(t, cl, "alter") {
		codecs = append(codecs, sb.Codec())
		if sb.ProducerID() >= 0 && (sb.ProducerID() != ipResp.ProducerID || sb.ProducerEpoch() != ipResp.ProducerEpoch) {
			t.Fatalf("producer fields lost: %d/%d", sb.ProducerID(), sb.ProducerEpoch())
		}
	}
	if fmt.Sprint(codecs) != "[gzip gzip snappy]" {
		t.Fatalf("stored codecs %v, want [gzip gzip snappy]: retries stored once, the altered codec for later batches", codecs)
	}
	b.stop()
}

func ptr(s string) *string { return &s }

func valueOf(s *string) string {
	if s == nil {
		return "<null>"
	}
	return *s
}

// Bad values get INVALID_CONFIG, and max.message.bytes applies to the
// batch as written: a small gzip batch that is too large uncompressed is
// refused with MESSAGE_TOO_LARGE on an uncompressed topic.
func TestCompressionConfigErrors(t *testing.T) {
	b := startBroker(t, t.TempDir())
	cl := client(t, b.addr)
	adm := kadm.NewClient(cl)
	ctx := context.Background()
	for _, cfg := range []map[string]*string{
		{"compression.type": ptr("brotli")},
		{"compression.type": ptr("none")},
		{"compression.zstd.level": ptr("23")},
		{"compression.gzip.level": ptr("0")},
		{"compression.lz4.level": ptr("18")},
		{"compression.lz4.level": ptr("x")},
	} {
		resp, err := adm.CreateTopic(ctx, 1, 1, cfg, "bad")
		if err == nil {
			err = resp.Err
		}
		if !errors.Is(err, kerr.InvalidConfig) {
			t.Fatalf("create with %v: %v, want INVALID_CONFIG", *cfg[firstKey(cfg)], err)
		}
	}
	if _, err := adm.CreateTopic(ctx, 1, 1, map[string]*string{"compression.type": ptr("UNCOMPRESSED"), "max.message.bytes": ptr("4000")}, "small"); err != nil {
		t.Fatal(err)
	}
	big := testBatch(t, format.CodecGzip, "big", 40) // about 7 KiB of records
	if len(big) >= 4000 {
		t.Fatalf("test batch of %d bytes is not small compressed", len(big))
	}
	if err := produceRaw(t, cl, "small", big); !errors.Is(err, kerr.MessageTooLarge) {
		t.Fatalf("batch too large once decompressed: %v, want MESSAGE_TOO_LARGE", err)
	}
	if err := produceRaw(t, cl, "small", testBatch(t, format.CodecGzip, "fits", 5)); err != nil {
		t.Fatal(err)
	}
	// And to the batch as sent: Kafka refuses an oversized batch before
	// recompressing it, even when zstd would shrink it below the limit.
	if _, err := adm.CreateTopic(ctx, 1, 1, map[string]*string{"compression.type": ptr("zstd"), "max.message.bytes": ptr("4000")}, "small-zstd"); err != nil {
		t.Fatal(err)
	}
	if err := produceRaw(t, cl, "small-zstd", testBatch(t, format.CodecNone, "big", 40)); !errors.Is(err, kerr.MessageTooLarge) {
		t.Fatalf("batch too large as sent: %v, want MESSAGE_TOO_LARGE", err)
	}
	b.stop()
}

func firstKey(m map[string]*string) string {
	for k := range m {
		return k
	}
	return ""
}

// In a three-node cluster the leader recompresses and the followers copy
// its bytes: every replica's segment holds the same zstd batches.
func TestCompressionReplicatedZeroCopy(t *testing.T) {
	c := startCluster(t, "--set", "broker.heartbeat.interval.ms=200", "--set", "compression.type=zstd")
	ctx := context.Background()
	c.waitFor("three brokers", func() bool {
		m, err := c.admin(0).BrokerMetadata(ctx)
		return err == nil && len(m.Brokers) == 3
	})
	if res, err := c.admin(0).CreateTopic(ctx, 1, 3, nil, "zr"); err != nil || res.Err != nil {
		t.Fatalf("create: %v %v", err, res.Err)
	}
	c.waitFor("full ISR", func() bool { return c.fullISR("zr", 1, 0) })
	cl := client(t, c.addrs[0])
	// kgo sends an undirected request to any broker: send these to the
	// partition's leader.
	md, err := c.admin(0).Metadata(ctx, "zr")
	if err != nil {
		t.Fatal(err)
	}
	leaderBroker := cl.Broker(int(md.Topics["zr"].Partitions[0].Leader))
	var sent int64
	for i, codec := range producerCodecs {
		resp, err := produceOne(ctx, cl, "zr", 0, nil, 5000, testBatch(t, codec, fmt.Sprintf("r%d", i), 50)).RequestWith(ctx, leaderBroker)
		if err == nil {
			err = kerr.ErrorForCode(resp.Topics[0].Partitions[0].ErrorCode)
		}
		if err != nil {
			t.Fatalf("produce %v: %v\n%s", codec, err, c.logs())
		}
		sent += 50
	}
	segment := func(i int) []byte {
		b, _ := os.ReadFile(filepath.Join(c.dirs[i], "zr-0", "00000000000000000000.log"))
		n, _ := format.Iterate(b, func(int, format.Batch) error { return nil })
		return b[:n]
	}
	c.waitFor("followers to copy every batch", func() bool {
		for i := range c.bs {
			var last int64
			format.Iterate(segment(i), func(_ int, b format.Batch) error { last = b.NextOffset(); return nil })
			if last != sent {
				return false
			}
		}
		return true
	})
	leader := segment(0)
	n := 0
	format.Iterate(leader, func(_ int, b format.Batch) error {
		if b.Codec() != format.CodecZstd {
			t.Fatalf("batch at %d stored as %v", b.BaseOffset(), b.Codec())
		}
		n++
		return nil
	})
	if n != len(producerCodecs) {
		t.Fatalf("%d batches, want %d", n, len(producerCodecs))
	}
	for i := 1; i < 3; i++ {
		if !bytes.Equal(segment(i), leader) {
			t.Fatalf("node %d's segment differs from node 1's", i+1)
		}
	}
}
