package handler

// WriteShareGroupState (key 85), v0-v1.
//
// Sent by a share partition's leader to its share coordinator as records
// are acknowledged, released or time out: the new start offset (-1 keeps
// it) and the batches whose state changed, merged into the stored ones
// (package coordinator/sharestate: Kafka's combiner). A leader epoch or
// state epoch below the one recorded is FENCED_LEADER_EPOCH or
// FENCED_STATE_EPOCH (-1 skips the check); a share partition never
// initialized is INVALID_REQUEST. v1 (KIP-1226) carries the leader's
// delivery-complete count, which ReadShareGroupStateSummary v1 answers; a
// v0 write leaves it unknown (-1). Otherwise as InitializeShareGroupState
// (83).
//
// Authorization: CLUSTER_ACTION on the cluster, else every partition
// answers CLUSTER_AUTHORIZATION_FAILED.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/rillmq/rill/coordinator/sharestate"
)

func (b *Broker) writeShareGroupState(ctx context.Context, req *kmsg.WriteShareGroupStateRequest) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.WriteShareGroupStateResponse)
	allowed, serve := shareStateRequestOK(ctx, b, req.GroupID, len(req.Topics), func(i int) int { return len(req.Topics[i].Partitions) })
	if !serve {
		return resp
	}
	for _, t := range req.Topics {
		rt := kmsg.NewWriteShareGroupStateResponseTopic()
		rt.TopicID = t.TopicID
		for _, p := range t.Partitions {
			rp := kmsg.NewWriteShareGroupStateResponseTopicPartition()
			rp.Partition = p.Partition
			err := error(errClusterDenied)
			if allowed {
				count := int32(-1) // v0 carries none
				if req.Version >= 1 {
					count = p.DeliveryCompleteCount
				}
				batches := make([]sharestate.Batch, 0, len(p.StateBatches))
				for _, sb := range p.StateBatches {
					batches = append(batches, sharestate.Batch{First: sb.FirstOffset, Last: sb.LastOffset, State: sb.DeliveryState, DeliveryCount: sb.DeliveryCount})
				}
				err = b.shareState.WriteWithCount(sharestate.Key{Group: req.GroupID, TopicID: t.TopicID, Partition: p.Partition},
					p.LeaderEpoch, p.StateEpoch, p.StartOffset, count, batches)
			}
			rp.ErrorCode, rp.ErrorMessage = shareStateResult(err)
			rt.Partitions = append(rt.Partitions, rp)
		}
		resp.Topics = append(resp.Topics, rt)
	}
	return resp
}
