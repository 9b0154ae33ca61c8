package handler

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/rillmq/rill/engine/format"
	"github.com/rillmq/rill/replication/metadata"
)

// OffsetForLeaderEpoch answers from the log's leader epochs.
func TestOffsetForLeaderEpoch(t *testing.T) {
	b, closeBroker, err := NewInMemory(map[string]int32{"t": 1})
	if err != nil {
		t.Fatal(err)
	}
	defer closeBroker()
	pr := kmsg.NewPtrProduceRequest()
	pr.Acks = -1
	pr.Topics = []kmsg.ProduceRequestTopic{{Topic: "t", Partitions: []kmsg.ProduceRequestTopicPartition{{Partition: 0,
		Records: format.SimpleBatch(format.CodecNone, 1, nil, [][]byte{[]byte("a"), []byte("b"), []byte("c")})}}}}
	if r := handle[*kmsg.ProduceResponse](t, b, pr, 9); r.Topics[0].Partitions[0].ErrorCode != 0 {
		t.Fatalf("produce: %+v", r.Topics[0].Partitions[0])
	}
	ask := func(epoch, current int32) kmsg.OffsetForLeaderEpochResponseTopicPartition {
		req := kmsg.NewPtrOffsetForLeaderEpochRequest()
		req.Topics = []kmsg.OffsetForLeaderEpochRequestTopic{{Topic: "t", Partitions: []kmsg.OffsetForLeaderEpochRequestTopicPartition{
			{Partition: 0, LeaderEpoch: epoch, CurrentLeaderEpoch: current}}}}
		return handle[*kmsg.OffsetForLeaderEpochResponse](t, b, req, 3).Topics[0].Partitions[0]
	}
	if p := ask(0, -1); p.ErrorCode != 0 || p.LeaderEpoch != 0 || p.EndOffset != 3 {
		t.Fatalf("epoch 0: %+v", p)
	}
	if p := ask(-1, -1); p.LeaderEpoch != -1 || p.EndOffset != -1 {
		t.Fatalf("an epoch older than the log: %+v", p)
	}
	if p := ask(0, 2); p.ErrorCode != kerr.UnknownLeaderEpoch.Code {
		t.Fatalf("a current epoch from the future: %+v", p)
	}
	l, _ := b.partitionLog("t", mustTopic(t, b, "t"), true, 0)
	if got := l.LeaderEpochs(); len(got) != 1 || got[0].Epoch != 0 || got[0].StartOffset != 0 {
		t.Fatalf("the log's epochs: %+v", got)
	}
}

func mustTopic(t *testing.T, b *Broker, name string) metadata.Topic {
	t.Helper()
	tp, ok := b.topic(name)
	if !ok {
		t.Fatalf("no topic %s", name)
	}
	return tp
}
