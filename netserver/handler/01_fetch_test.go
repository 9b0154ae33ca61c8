package handler

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Fetch v17 and v18 only add KRaft voters' tagged fields
// (ReplicaDirectoryId, the follower's HighWatermark): a consumer's fetch
// carrying them, by topic id, reads the records as at v16, and an unknown
// id is still UNKNOWN_TOPIC_ID.
func TestFetchV18ByTopicID(t *testing.T) {
	b, closeBroker, err := NewInMemory(map[string]int32{"t": 1})
	if err != nil {
		t.Fatal(err)
	}
	defer closeBroker()
	for range 2 {
		if resp := sendAs[*kmsg.ProduceResponse](t, b, superUser, produceRequest(t, "t", 0, nil), 12); resp.Topics[0].Partitions[0].ErrorCode != 0 {
			t.Fatalf("produce: %+v", resp)
		}
	}
	id := mustTopic(t, b, "t").ID
	for _, v := range []int16{16, 17, 18} {
		requireServed(t, 1, v)
		for _, c := range []struct {
			id   [16]byte
			code int16
			hw   int64
		}{{id, 0, 2}, {[16]byte{1}, kerr.UnknownTopicID.Code, -1}} {
			req := fetchRequest("", 0)
			req.Topics[0].TopicID = c.id
			req.Topics[0].Partitions[0].ReplicaDirectoryID = [16]byte{9}
			req.Topics[0].Partitions[0].HighWatermark = 1
			resp := sendAs[*FetchResponse](t, b, superUser, req, v)
			if err := resp.Materialize(); err != nil {
				t.Fatal(err)
			}
			sp := resp.Topics[0].Partitions[0]
			if resp.Topics[0].TopicID != c.id || sp.ErrorCode != c.code || sp.HighWatermark != c.hw {
				t.Errorf("v%d id %x: topic id %x code %d high watermark %d, want code %d high watermark %d", v, c.id[:1], resp.Topics[0].TopicID[:1], sp.ErrorCode, sp.HighWatermark, c.code, c.hw)
			}
			if c.code == 0 && len(sp.RecordBatches) == 0 {
				t.Errorf("v%d: no records", v)
			}
		}
	}
}
