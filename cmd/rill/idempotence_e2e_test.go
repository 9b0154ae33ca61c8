package main

import (
	"context"
	"testing"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/rillmq/rill/engine/format"
)

// A producer's retried batch is answered with its original offset and not
// written twice; gaps and fenced epochs get Kafka's error codes; producer
// IDs and state survive a restart.
func TestIdempotentProduceRetry(t *testing.T) {
	dir := t.TempDir()
	b := startBroker(t, dir)
	cl := client(t, b.addr)
	ctx := context.Background()
	if _, err := kadm.NewClient(cl).CreateTopic(ctx, 1, 1, nil, "idem"); err != nil {
		t.Fatal(err)
	}
	ipr := kmsg.NewPtrInitProducerIDRequest()
	ipResp, err := ipr.RequestWith(ctx, cl)
	if err != nil || ipResp.ErrorCode != 0 || ipResp.ProducerID < 0 {
		t.Fatalf("init producer id: %v %+v", err, ipResp)
	}
	pid, epoch := ipResp.ProducerID, ipResp.ProducerEpoch
	produce := func(seq int32) (int64, int16) {
		recs := []format.Record{{OffsetDelta: 0, Value: []byte("a")}, {OffsetDelta: 1, Value: []byte("b")}}
		batch, _ := format.BuildBatch(format.BatchHeader{ProducerID: pid, ProducerEpoch: epoch, BaseSequence: seq, BaseTimestamp: 1, MaxTimestamp: 1}, recs)
		resp, err := produceOne(ctx, cl, "idem", 0, nil, 5000, batch).RequestWith(ctx, cl)
		if err != nil {
			t.Fatal(err)
		}
		p := resp.Topics[0].Partitions[0]
		return p.BaseOffset, p.ErrorCode
	}
	if off, code := produce(0); code != 0 || off != 0 {
		t.Fatalf("first: %d %d", off, code)
	}
	if off, code := produce(2); code != 0 || off != 2 {
		t.Fatalf("second: %d %d", off, code)
	}
	if off, code := produce(0); code != 0 || off != 0 {
		t.Fatalf("retry of the first: offset %d code %d", off, code)
	}
	if _, code := produce(7); code != kerr.OutOfOrderSequenceNumber.Code {
		t.Fatalf("gap: code %d", code)
	}
	b.stop()
	b = startBroker(t, dir)
	cl = client(t, b.addr)
	if off, code := produce(2); code != 0 || off != 2 {
		t.Fatalf("retry after restart: %d %d", off, code)
	}
	if resp, err := kmsg.NewPtrInitProducerIDRequest().RequestWith(ctx, cl); err != nil || resp.ProducerID == pid {
		t.Fatalf("producer id reused after restart: %v %+v", err, resp)
	}
	ends, _ := kadm.NewClient(cl).ListEndOffsets(ctx, "idem")
	if o, _ := ends.Lookup("idem", 0); o.Offset != 4 {
		t.Fatalf("log end %d, want 4 (no duplicates written)", o.Offset)
	}
	b.stop()
}
