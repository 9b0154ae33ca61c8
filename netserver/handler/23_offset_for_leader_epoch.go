package handler

// OffsetForLeaderEpoch (key 23), v0-v4.
//
// Every partition of a single broker has had one leader epoch, 0: asking
// for epoch 0 or later answers (0, log end offset); asking for an epoch
// below 0 answers UNDEFINED (-1, -1) as Kafka does for unknown epochs. A
// CurrentLeaderEpoch (v2+) above 0 is UNKNOWN_LEADER_EPOCH. Replication
// replaces this with the partition's leader epoch cache.

import (
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func (b *Broker) offsetForLeaderEpoch(req *kmsg.OffsetForLeaderEpochRequest) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.OffsetForLeaderEpochResponse)
	for _, rt := range req.Topics {
		st := kmsg.NewOffsetForLeaderEpochResponseTopic()
		st.Topic = rt.Topic
		t, ok := b.catalog.Get(rt.Topic)
		for _, rp := range rt.Partitions {
			sp := kmsg.NewOffsetForLeaderEpochResponseTopicPartition()
			sp.Partition, sp.LeaderEpoch, sp.EndOffset = rp.Partition, -1, -1
			l, code := b.partitionLog(t, ok, rp.Partition)
			switch {
			case code != nil:
				sp.ErrorCode = code.Code
			case rp.CurrentLeaderEpoch > 0:
				sp.ErrorCode = kerr.UnknownLeaderEpoch.Code
			case rp.LeaderEpoch >= 0:
				sp.LeaderEpoch, sp.EndOffset = 0, l.LogEndOffset()
			}
			st.Partitions = append(st.Partitions, sp)
		}
		resp.Topics = append(resp.Topics, st)
	}
	return resp
}
