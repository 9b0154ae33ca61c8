package handler

// InitializeShareGroupState (key 83), v0.
//
// Sent by the group coordinator to a share partition's share coordinator
// (found with FindCoordinator key type 2): start (or restart, at a new
// state epoch) each listed share partition at a start offset, with no
// in-flight state. Per partition: FENCED_STATE_EPOCH below the state
// epoch recorded, UNKNOWN_TOPIC_OR_PARTITION for a topic partition that
// does not exist, NOT_COORDINATOR when this broker does not coordinate
// the key, COORDINATOR_LOAD_IN_PROGRESS while its partition loads,
// INVALID_REQUEST for a negative partition. An empty group id, no topics,
// or a topic with no partitions answers no results (as Kafka's
// ShareCoordinatorService).
//
// Authorization: CLUSTER_ACTION on the cluster (an inter-broker API),
// else every partition answers CLUSTER_AUTHORIZATION_FAILED.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/rillmq/rill/coordinator/sharestate"
)

func (b *Broker) initializeShareGroupState(ctx context.Context, req *kmsg.InitializeShareGroupStateRequest) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.InitializeShareGroupStateResponse)
	allowed, serve := shareStateRequestOK(ctx, b, req.GroupID, len(req.Topics), func(i int) int { return len(req.Topics[i].Partitions) })
	if !serve {
		return resp
	}
	for _, t := range req.Topics {
		rt := kmsg.NewInitializeShareGroupStateResponseTopic()
		rt.TopicID = t.TopicID
		for _, p := range t.Partitions {
			rp := kmsg.NewInitializeShareGroupStateResponseTopicPartition()
			rp.Partition = p.Partition
			err := error(errClusterDenied)
			if allowed {
				err = b.shareState.Initialize(sharestate.Key{Group: req.GroupID, TopicID: t.TopicID, Partition: p.Partition}, p.StateEpoch, p.StartOffset)
			}
			rp.ErrorCode, rp.ErrorMessage = shareStateResult(err)
			rt.Partitions = append(rt.Partitions, rp)
		}
		resp.Topics = append(resp.Topics, rt)
	}
	return resp
}
