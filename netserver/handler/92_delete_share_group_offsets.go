package handler

// DeleteShareGroupOffsets (key 92), v0.
//
// Sent to a share group's coordinator: deletes the share-partition state
// of whole topics for an empty share group (NON_EMPTY_GROUP with
// members; GROUP_ID_NOT_FOUND for an unknown group or one of another
// type). A member that later reads the topic starts it afresh, at
// share.auto.offset.reset. Leaders holding the deleted state in memory
// notice when a member next opens a share session on the partition (its
// state epoch is gone) or at their next write.
//
// Authorization: DELETE on the group (GROUP_AUTHORIZATION_FAILED at the
// top), READ on each topic (TOPIC_AUTHORIZATION_FAILED).

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/rillmq/rill/coordinator/sharestate"
	"github.com/rillmq/rill/netserver/authz"
)

func (b *Broker) deleteShareGroupOffsets(ctx context.Context, req *kmsg.DeleteShareGroupOffsetsRequest) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.DeleteShareGroupOffsetsResponse)
	ac := b.access(ctx)
	if code := b.emptyShareGroup(ac, authz.OpDelete, req.GroupID); code != nil {
		resp.ErrorCode = code.Code
		return resp
	}
	for _, rt := range req.Topics {
		st := kmsg.NewDeleteShareGroupOffsetsResponseTopic()
		st.Topic = rt.Topic
		t, ok := b.topic(rt.Topic)
		switch {
		case !ac.topic(authz.OpRead, rt.Topic):
			st.ErrorCode = errTopicDenied.Code
		case !ok:
			st.ErrorCode = kerr.UnknownTopicOrPartition.Code
		default:
			st.TopicID = t.ID
			if code := b.deleteShareTopicState(ctx, req.GroupID, t.ID, t.Partitions); code != nil {
				st.ErrorCode = code.Code
			}
		}
		resp.Topics = append(resp.Topics, st)
	}
	return resp
}

// deleteShareTopicState deletes the share state of every partition of a
// topic for group.
func (b *Broker) deleteShareTopicState(ctx context.Context, groupID string, topicID [16]byte, partitions int32) *kerr.Error {
	var first *kerr.Error
	for p := range partitions {
		if err := b.shareStateDelete(ctx, sharestate.Key{Group: groupID, TopicID: topicID, Partition: p}); err != nil && first == nil {
			first = toKerr(err)
		}
	}
	b.shares.dropGroup(groupID)
	return first
}
