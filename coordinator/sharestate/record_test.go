package sharestate

import (
	"reflect"
	"testing"

	"github.com/rillmq/rill/coordinator/shard"
)

func TestRecordRoundTrip(t *testing.T) {
	k := Key{Group: "g:x", TopicID: topicA, Partition: 12}
	e := &entry{State: State{StateEpoch: 3, LeaderEpoch: 4, StartOffset: 100, Batches: []Batch{{100, 104, 0, 2}, {105, 105, 4, 5}}},
		DeliveryCompleteCount: 1, MaxLeaderEpoch: 6, MaxStateEpoch: 3}
	gk, ge, err := decode(encode(k, e))
	if err != nil || gk != k || !reflect.DeepEqual(ge, e) {
		t.Fatalf("round trip: %v %+v %v", gk, ge, err)
	}
	gk, ge, err = decode(encode(k, nil))
	if err != nil || gk != k || ge != nil {
		t.Fatalf("tombstone: %v %+v %v", gk, ge, err)
	}
}

// FuzzReplay: no record, however damaged, makes a load panic or leave a
// batch that is not a range.
func FuzzReplay(f *testing.F) {
	rec := encode(key("g", 1), &entry{State: State{StartOffset: 5, Batches: []Batch{{5, 9, 2, 1}}}})
	f.Add(rec.Key, rec.Value)
	f.Add(rec.Key, []byte(nil))
	f.Fuzz(func(t *testing.T, k, v []byte) {
		p := NewPartition(0, nil)
		p.Replay(shard.Record{Key: k, Value: v})
		for _, e := range p.keys {
			for _, b := range e.Batches {
				if b.Last < b.First {
					t.Fatalf("batch %v", b)
				}
			}
		}
	})
}
