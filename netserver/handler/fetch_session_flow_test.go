package handler

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/rillmq/rill/engine/format"
)

// The Fetch handler through a session's life, at v12 (topic names) and
// v16 (topic ids): a full request opens it, an incremental one with
// nothing new is answered empty, one after an append carries only the
// partition appended to, a replayed epoch and an unknown id are session
// errors, and kafka-go's id -1 epoch -1 is sessionless with data.
func TestFetchSessionFlow(t *testing.T) {
	for _, version := range []int16{12, 16} {
		b, closeBroker, err := NewInMemory(map[string]int32{"t": 3})
		if err != nil {
			t.Fatal(err)
		}
		defer closeBroker()
		topicID := mustTopic(t, b, "t").ID
		produce := func(partition int32) {
			pr := kmsg.NewPtrProduceRequest()
			pr.Acks = -1
			pr.Topics = []kmsg.ProduceRequestTopic{{Topic: "t", Partitions: []kmsg.ProduceRequestTopicPartition{{Partition: partition,
				Records: format.SimpleBatch(format.CodecNone, 1, nil, [][]byte{[]byte("x")})}}}}
			if r := handle[*kmsg.ProduceResponse](t, b, pr, 9); r.Topics[0].Partitions[0].ErrorCode != 0 {
				t.Fatalf("produce: %+v", r.Topics[0].Partitions[0])
			}
		}
		// fetch names partitions at their offsets in at (default 0).
		at := map[int32]int64{}
		fetch := func(id, epoch int32, partitions ...int32) *FetchResponse {
			req := kmsg.NewPtrFetchRequest()
			req.ReplicaID, req.ReplicaState.ID = -1, -1
			req.MaxBytes, req.MinBytes, req.MaxWaitMillis = 1<<20, 0, 0
			req.SessionID, req.SessionEpoch = id, epoch
			if len(partitions) > 0 {
				rt := kmsg.NewFetchRequestTopic()
				rt.Topic, rt.TopicID = "t", topicID
				for _, p := range partitions {
					rp := kmsg.NewFetchRequestTopicPartition()
					rp.Partition, rp.PartitionMaxBytes, rp.FetchOffset = p, 1<<20, at[p]
					rt.Partitions = append(rt.Partitions, rp)
				}
				req.Topics = append(req.Topics, rt)
			}
			resp := handle[*FetchResponse](t, b, req, version)
			if err := resp.Materialize(); err != nil {
				t.Fatal(err)
			}
			return resp
		}
		// carried lists the partitions an answer carries.
		carried := func(r *FetchResponse) []int32 {
			var out []int32
			for _, rt := range r.Topics {
				for _, p := range rt.Partitions {
					out = append(out, p.Partition)
				}
			}
			return out
		}
		produce(0)

		full := fetch(0, 0, 0, 1, 2)
		if full.ErrorCode != 0 || full.SessionID == 0 || len(carried(full)) != 3 {
			t.Fatalf("v%d full: err %d session %d partitions %v", version, full.ErrorCode, full.SessionID, carried(full))
		}
		id := full.SessionID
		// The client read partition 0's record: the incremental request
		// names it at its new offset, and nothing else is new.
		at[0] = 1
		if r := fetch(id, 1, 0); r.ErrorCode != 0 || r.SessionID != id || len(carried(r)) != 0 {
			t.Errorf("v%d nothing new: err %d session %d partitions %v", version, r.ErrorCode, r.SessionID, carried(r))
		}
		produce(2)
		r := fetch(id, 2)
		if got := carried(r); r.ErrorCode != 0 || len(got) != 1 || got[0] != 2 || len(r.Topics[0].Partitions[0].RecordBatches) == 0 {
			t.Errorf("v%d after an append to 2: err %d partitions %v", version, r.ErrorCode, got)
		}
		if r := fetch(id, 2); r.ErrorCode != kerr.InvalidFetchSessionEpoch.Code {
			t.Errorf("v%d replayed epoch: err %d", version, r.ErrorCode)
		}
		if r := fetch(id+1, 1); r.ErrorCode != kerr.FetchSessionIDNotFound.Code || r.SessionID != 0 {
			t.Errorf("v%d unknown id: err %d session %d", version, r.ErrorCode, r.SessionID)
		}
		at[0] = 0
		r = fetch(-1, -1, 0)
		if got := carried(r); r.ErrorCode != 0 || r.SessionID != 0 || len(got) != 1 || len(r.Topics[0].Partitions[0].RecordBatches) == 0 {
			t.Errorf("v%d sessionless (-1, -1): err %d session %d partitions %v", version, r.ErrorCode, r.SessionID, got)
		}
		if st := b.FetchSessionStats(); st.Sessions != 1 || st.Partitions != 3 {
			t.Errorf("v%d stats %+v", version, st)
		}
		// A final-epoch request naming the session closes it.
		fetch(id, -1, 0)
		if st := b.FetchSessionStats(); st.Sessions != 0 {
			t.Errorf("v%d after closing: stats %+v", version, st)
		}
	}
}
