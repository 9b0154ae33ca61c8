package handler

// OffsetForLeaderEpoch (key 23), v0-v4.
//
// Answered from the partition's leader epochs (engine/log.EpochCache, the
// leader-epoch-checkpoint): the largest epoch at or below the asked one and
// where it ended; the current epoch (the controller's) or later ends at the log end offset; an epoch
// older than any the log has answers UNDEFINED (-1, -1) as Kafka does. A
// CurrentLeaderEpoch (v2+) below the current one is FENCED_LEADER_EPOCH,
// above it UNKNOWN_LEADER_EPOCH.
//
// Authorization: CLUSTER_ACTION on the cluster (followers), or else
// DESCRIBE on each topic (consumers, KIP-320), else the topic's
// partitions answer TOPIC_AUTHORIZATION_FAILED.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/rillmq/rill/netserver/authz"
)

func (b *Broker) offsetForLeaderEpoch(ctx context.Context, req *kmsg.OffsetForLeaderEpochRequest) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.OffsetForLeaderEpochResponse)
	ac := b.access(ctx)
	everyTopic := ac.cluster(authz.OpClusterAction)
	for _, rt := range req.Topics {
		st := kmsg.NewOffsetForLeaderEpochResponseTopic()
		st.Topic = rt.Topic
		if !everyTopic && !ac.topic(authz.OpDescribe, rt.Topic) {
			for _, rp := range rt.Partitions {
				sp := kmsg.NewOffsetForLeaderEpochResponseTopicPartition()
				sp.Partition, sp.LeaderEpoch, sp.EndOffset, sp.ErrorCode = rp.Partition, -1, -1, errTopicDenied.Code
				st.Partitions = append(st.Partitions, sp)
			}
			resp.Topics = append(resp.Topics, st)
			continue
		}
		t, ok := b.topic(rt.Topic)
		for _, rp := range rt.Partitions {
			sp := kmsg.NewOffsetForLeaderEpochResponseTopicPartition()
			sp.Partition, sp.LeaderEpoch, sp.EndOffset = rp.Partition, -1, -1
			l, code := b.partitionLog(rt.Topic, t, ok, rp.Partition)
			current := b.leaderEpoch(rt.Topic, rp.Partition)
			switch {
			case code != nil:
				sp.ErrorCode = code.Code
			case rp.CurrentLeaderEpoch >= 0 && rp.CurrentLeaderEpoch < current:
				sp.ErrorCode = kerr.FencedLeaderEpoch.Code
			case rp.CurrentLeaderEpoch > current:
				sp.ErrorCode = kerr.UnknownLeaderEpoch.Code
			case rp.LeaderEpoch >= current:
				sp.LeaderEpoch, sp.EndOffset = current, l.LogEndOffset()
			default:
				sp.LeaderEpoch, sp.EndOffset = l.EndOffsetForEpoch(rp.LeaderEpoch)
			}
			st.Partitions = append(st.Partitions, sp)
		}
		resp.Topics = append(resp.Topics, st)
	}
	return resp
}
