package handler

// DeleteShareGroupState (key 86), v0.
//
// Sent by the group coordinator when a share group, or its offsets on a
// topic, are deleted: the share partitions' state is removed (a
// tombstone); deleting one that does not exist succeeds. Otherwise as
// InitializeShareGroupState (83).
//
// Authorization: CLUSTER_ACTION on the cluster, else every partition
// answers CLUSTER_AUTHORIZATION_FAILED.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/rillmq/rill/coordinator/sharestate"
)

func (b *Broker) deleteShareGroupState(ctx context.Context, req *kmsg.DeleteShareGroupStateRequest) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.DeleteShareGroupStateResponse)
	allowed, serve := shareStateRequestOK(ctx, b, req.GroupID, len(req.Topics), func(i int) int { return len(req.Topics[i].Partitions) })
	if !serve {
		return resp
	}
	for _, t := range req.Topics {
		rt := kmsg.NewDeleteShareGroupStateResponseTopic()
		rt.TopicID = t.TopicID
		for _, p := range t.Partitions {
			rp := kmsg.NewDeleteShareGroupStateResponseTopicPartition()
			rp.Partition = p.Partition
			err := error(errClusterDenied)
			if allowed {
				err = b.shareState.Delete(sharestate.Key{Group: req.GroupID, TopicID: t.TopicID, Partition: p.Partition})
			}
			rp.ErrorCode, rp.ErrorMessage = shareStateResult(err)
			rt.Partitions = append(rt.Partitions, rp)
		}
		resp.Topics = append(resp.Topics, rt)
	}
	return resp
}
