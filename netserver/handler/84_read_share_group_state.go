package handler

// ReadShareGroupState (key 84), v0.
//
// Sent by a share partition's leader to its share coordinator when it
// loads the share partition: the state epoch, start offset and in-flight
// batches. A leader epoch above the one recorded is recorded (written
// before the answer); one below is FENCED_LEADER_EPOCH. A share partition
// never initialized is INVALID_REQUEST (Kafka 4.2). Otherwise as
// InitializeShareGroupState (83): UNKNOWN_TOPIC_OR_PARTITION,
// NOT_COORDINATOR, COORDINATOR_LOAD_IN_PROGRESS per partition, no results
// for an empty group id.
//
// Authorization: CLUSTER_ACTION on the cluster, else every partition
// answers CLUSTER_AUTHORIZATION_FAILED.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/rillmq/rill/coordinator/sharestate"
)

func (b *Broker) readShareGroupState(ctx context.Context, req *kmsg.ReadShareGroupStateRequest) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.ReadShareGroupStateResponse)
	allowed, serve := shareStateRequestOK(ctx, b, req.GroupID, len(req.Topics), func(i int) int { return len(req.Topics[i].Partitions) })
	if !serve {
		return resp
	}
	for _, t := range req.Topics {
		rt := kmsg.NewReadShareGroupStateResponseTopic()
		rt.TopicID = t.TopicID
		for _, p := range t.Partitions {
			rp := kmsg.NewReadShareGroupStateResponseTopicPartition()
			rp.Partition = p.Partition
			err := error(errClusterDenied)
			var st sharestate.State
			if allowed {
				st, err = b.shareState.Read(sharestate.Key{Group: req.GroupID, TopicID: t.TopicID, Partition: p.Partition}, p.LeaderEpoch)
			}
			rp.ErrorCode, rp.ErrorMessage = shareStateResult(err)
			if err == nil {
				rp.StateEpoch, rp.StartOffset = st.StateEpoch, st.StartOffset
				rp.StateBatches = []kmsg.ReadShareGroupStateResponseTopicPartitionStateBatch{}
				for _, sb := range st.Batches {
					rb := kmsg.NewReadShareGroupStateResponseTopicPartitionStateBatch()
					rb.FirstOffset, rb.LastOffset, rb.DeliveryState, rb.DeliveryCount = sb.First, sb.Last, sb.State, sb.DeliveryCount
					rp.StateBatches = append(rp.StateBatches, rb)
				}
			}
			rt.Partitions = append(rt.Partitions, rp)
		}
		resp.Topics = append(resp.Topics, rt)
	}
	return resp
}
