package handler

// ReadShareGroupStateSummary (key 87), v0-v1.
//
// Sent by the group coordinator for DescribeShareGroupOffsets: each share
// partition's state epoch, leader epoch and start offset, and (v1,
// KIP-1226) the delivery-complete count the leader last wrote (-1 when
// unknown), from which the lag is computed. A share partition never
// initialized answers start offset -1, epochs 0 and count -1, with no
// error. The request's leader epoch is not checked (as Kafka 4.2).
// Otherwise as InitializeShareGroupState (83).
//
// Authorization: CLUSTER_ACTION on the cluster, else every partition
// answers CLUSTER_AUTHORIZATION_FAILED.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/rillmq/rill/coordinator/sharestate"
)

func (b *Broker) readShareGroupStateSummary(ctx context.Context, req *kmsg.ReadShareGroupStateSummaryRequest) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.ReadShareGroupStateSummaryResponse)
	allowed, serve := shareStateRequestOK(ctx, b, req.GroupID, len(req.Topics), func(i int) int { return len(req.Topics[i].Partitions) })
	if !serve {
		return resp
	}
	for _, t := range req.Topics {
		rt := kmsg.NewReadShareGroupStateSummaryResponseTopic()
		rt.TopicID = t.TopicID
		for _, p := range t.Partitions {
			rp := kmsg.NewReadShareGroupStateSummaryResponseTopicPartition()
			rp.Partition = p.Partition
			err := error(errClusterDenied)
			var s sharestate.Summary
			if allowed {
				s, err = b.shareState.ReadSummary(sharestate.Key{Group: req.GroupID, TopicID: t.TopicID, Partition: p.Partition}, p.LeaderEpoch)
			}
			rp.ErrorCode, rp.ErrorMessage = shareStateResult(err)
			if err == nil {
				rp.StateEpoch, rp.LeaderEpoch, rp.StartOffset, rp.DeliveryCompleteCount = s.StateEpoch, s.LeaderEpoch, s.StartOffset, s.DeliveryCompleteCount
			}
			rt.Partitions = append(rt.Partitions, rp)
		}
		resp.Topics = append(resp.Topics, rt)
	}
	return resp
}
