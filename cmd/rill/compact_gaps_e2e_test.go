package main

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	kafkago "github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// TestCompactedGapsRealClients is issue 17: on a compacted topic with
// segment.bytes=200 (one batch per segment) whose keys are overwritten,
// the cleaner used to keep each emptied batch, with no record, at the end
// of its segment; kafka-go's Reader cannot step over such a batch (it
// fetches the same offset again for ever). The cleaner now deletes them,
// as Kafka's, so kafka-go and kgo read from the start to the end and see
// exactly the latest value of each key; and a long poll at an offset on an
// older segment than the high watermark's answers at once instead of
// waiting out MaxWait for MinBytes (Kafka's DelayedFetch "Case F").
func TestCompactedGapsRealClients(t *testing.T) {
	dir := t.TempDir()
	b := startBroker(t, dir, "--set", "log.cleaner.backoff.ms=100")
	defer func() { b.stop() }()
	const topic, keys, rounds = "gaps", 5, 8
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cl := client(t, b.addr, kgo.DefaultProduceTopic(topic), kgo.ProducerLinger(0),
		kgo.ProducerBatchCompression(kgo.NoCompression()))
	adm := kadm.NewClient(cl)
	if _, err := adm.CreateTopic(ctx, 1, 1, map[string]*string{
		"cleanup.policy": kadm.StringPtr("compact"), "segment.bytes": kadm.StringPtr("200"),
	}, topic); err != nil {
		t.Fatal(err)
	}
	// One record per batch, each big enough to fill its own segment.
	latest := map[string]string{}
	pad := strings.Repeat("p", 100)
	for i := 0; i < keys*rounds; i++ {
		k, v := fmt.Sprintf("k%d", i%keys), fmt.Sprintf("v%d-%s", i, pad)
		if err := cl.ProduceSync(ctx, &kgo.Record{Key: []byte(k), Value: []byte(v)}).FirstErr(); err != nil {
			t.Fatal(err)
		}
		latest[k] = v
	}
	// The active segment's keys supersede nothing (Kafka cleans only
	// closed segments): one more key, so that it holds none of the others.
	if err := cl.ProduceSync(ctx, &kgo.Record{Key: []byte("last"), Value: []byte("x")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	latest["last"] = "x"
	end := int64(keys*rounds + 1)
	live := len(latest)
	segs, _ := filepath.Glob(filepath.Join(dir, "*", topic+"-0", "*.log"))
	if len(segs) == 0 {
		segs, _ = filepath.Glob(filepath.Join(dir, topic+"-0", "*.log"))
	}
	if len(segs) < keys*rounds {
		t.Fatalf("%d segments, want one per batch (%d)", len(segs), keys*rounds)
	}
	// The cleaner keeps the latest record of each key: wait for that.
	for {
		got := readAllKgo(t, b.addr, topic, end)
		if len(got) == live {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("not compacted: %d records left\n%s", len(got), b.log())
		}
		time.Sleep(200 * time.Millisecond)
	}
	check := func(who string, got map[string]string) {
		t.Helper()
		if fmt.Sprint(got) != fmt.Sprint(latest) {
			t.Fatalf("%s read\n%v\nwant\n%v", who, got, latest)
		}
	}
	kv := map[string]string{}
	for _, r := range readAllKgo(t, b.addr, topic, end) {
		kv[r.key] = r.val
	}
	check("kgo", kv)

	// kafka-go's Reader from the first offset: it must reach the end.
	r := kafkago.NewReader(kafkago.ReaderConfig{Brokers: []string{b.addr}, Topic: topic, Partition: 0,
		MaxWait: 100 * time.Millisecond})
	defer r.Close()
	if err := r.SetOffset(kafkago.FirstOffset); err != nil {
		t.Fatal(err)
	}
	kv = map[string]string{}
	rctx, rcancel := context.WithTimeout(ctx, 20*time.Second)
	defer rcancel()
	for len(kv) < live {
		m, err := r.ReadMessage(rctx)
		if err != nil {
			t.Fatalf("kafka-go stuck after %d of %d keys (%v): %v", len(kv), live, kv, err)
		}
		if m.Offset < end-int64(live) {
			t.Fatalf("kafka-go read offset %d, which compaction removed", m.Offset)
		}
		kv[string(m.Key)] = string(m.Value)
	}
	check("kafka-go", kv)

	// A long poll from offset 0, in the gap on the oldest segment: the
	// read finds one batch, less than MinBytes, on an older segment than
	// the high watermark's, so the answer comes at once, not after 5 s.
	ids, err := adm.ListTopics(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	req := kmsg.NewPtrFetchRequest()
	req.ReplicaID, req.MaxWaitMillis, req.MinBytes, req.MaxBytes = -1, 5000, 1<<20, 1<<20
	rt := kmsg.NewFetchRequestTopic()
	rt.Topic, rt.TopicID = topic, ids[topic].ID
	rp := kmsg.NewFetchRequestTopicPartition()
	rp.FetchOffset, rp.PartitionMaxBytes, rp.CurrentLeaderEpoch, rp.LogStartOffset = 0, 1<<20, -1, -1
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	start := time.Now()
	resp, err := req.RequestWith(ctx, cl)
	took := time.Since(start)
	if err != nil {
		t.Fatal(err)
	}
	p := resp.Topics[0].Partitions[0]
	if p.ErrorCode != 0 || len(p.RecordBatches) == 0 {
		t.Fatalf("long poll at 0: error %d, %d bytes", p.ErrorCode, len(p.RecordBatches))
	}
	if took > 2*time.Second {
		t.Fatalf("long poll at an offset on an older segment took %v (MaxWait 5 s)", took)
	}
	// At the high watermark itself it still waits (nothing to read).
	rt.Partitions[0].FetchOffset = end
	req.MaxWaitMillis = 500
	start = time.Now()
	if _, err := req.RequestWith(ctx, cl); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took < 400*time.Millisecond {
		t.Fatalf("long poll at the high watermark answered after %v, want about MaxWait (500 ms)", took)
	}

	// A crash (SIGKILL) and restart: the gaps survive recovery, nothing
	// is lost, and the next record takes the next offset.
	b.kill()
	b = startBroker(t, dir, "--set", "log.cleaner.backoff.ms=100")
	cl2 := client(t, b.addr, kgo.DefaultProduceTopic(topic))
	kv = map[string]string{}
	for _, r := range readAllKgo(t, b.addr, topic, end) {
		kv[r.key] = r.val
	}
	check("kgo after SIGKILL", kv)
	res := cl2.ProduceSync(ctx, kgo.StringRecord("after"))
	if rec, err := res.First(); err != nil || rec.Offset != end {
		t.Fatalf("produce after restart: offset %v, %v; want %d", rec, err, end)
	}
}

// readAllKgo reads partition 0 of topic from the start up to end
// (exclusive) with kgo.
func readAllKgo(t *testing.T, addr, topic string, end int64) []rec {
	t.Helper()
	cl := client(t, addr, kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: {0: kgo.NewOffset().AtStart()}}))
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var out []rec
	for {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("kgo read %d records and did not reach offset %d", len(out), end)
		}
		var ferr error
		fs.EachError(func(_ string, _ int32, err error) { ferr = err })
		if ferr != nil && !errors.Is(ferr, context.DeadlineExceeded) {
			t.Fatal(ferr)
		}
		done := false
		fs.EachRecord(func(r *kgo.Record) {
			out = append(out, rec{r.Partition, r.Offset, string(r.Key), string(r.Value)})
			done = done || r.Offset == end-1
		})
		if done {
			return out
		}
	}
}
