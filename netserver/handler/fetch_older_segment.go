package handler

import (
	"github.com/twmb/franz-go/pkg/kmsg"
)

// fetchOnOlderSegment reports whether a partition of a fetch that got less
// than MinBytes reads on an older segment than the end it may read up to
// (the high watermark for consumers, the last stable offset with
// read_committed, the log end for followers): the long poll then answers
// at once, as Kafka's DelayedFetch ("Case F"). A read returns one segment's
// data at most, so an offset on an older segment, past a compacted gap or
// just before a roll, would otherwise wait out MaxWait for bytes that are
// already there. Unlike Kafka, the caller asks only when the read found
// some data: with none there is nothing to answer early, and an empty
// answer at once would have the client fetch again in a tight loop. resp
// is fetchOnce's answer to req, partition by partition in request order.
func (b *Broker) fetchOnOlderSegment(req *kmsg.FetchRequest, resp *FetchResponse) bool {
	follower := req.ReplicaID >= 0
	if req.Version >= 15 {
		follower = req.ReplicaState.ID >= 0
	}
	for ti, rt := range req.Topics {
		if ti >= len(resp.Topics) {
			return false
		}
		st := resp.Topics[ti]
		t, ok := b.topic(rt.Topic)
		if req.Version >= 13 {
			t, ok = b.topicByID(rt.TopicID)
		}
		if !ok {
			continue
		}
		for pi, rp := range rt.Partitions {
			if pi >= len(st.Partitions) {
				break
			}
			sp := st.Partitions[pi]
			if sp.ErrorCode != 0 || sp.HighWatermark < 0 {
				continue
			}
			l, code := b.resolvePartition(t.Name, t, true, rp.Partition)
			if code != nil || l == nil {
				continue
			}
			end := sp.HighWatermark
			switch {
			case follower:
				end = l.LogEndOffset()
			case req.IsolationLevel == 1:
				end = sp.LastStableOffset
			}
			if l.OnOlderSegment(rp.FetchOffset, end) {
				return true
			}
		}
	}
	return false
}
