package handler

// AlterShareGroupOffsets (key 91), v0.
//
// Sent to a share group's coordinator: sets the start offset of share
// partitions of an empty share group (a group with members is
// NON_EMPTY_GROUP; an unknown group or one of another type
// GROUP_ID_NOT_FOUND). Each partition's state is initialized again at
// the new offset under the next state epoch, so the partition's leader,
// whose cached state carries the old epoch, is fenced on its next write
// and loads the new state; a leader also checks the state epoch when a
// member opens a share session on the partition (share_partitions.go).
// Records before the new start offset are not delivered; in-flight state
// is dropped.
//
// Authorization: READ on the group (GROUP_AUTHORIZATION_FAILED at the
// top), READ on each topic (TOPIC_AUTHORIZATION_FAILED per partition).

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/rillmq/rill/coordinator/sharestate"
	"github.com/rillmq/rill/netserver/authz"
)

func (b *Broker) alterShareGroupOffsets(ctx context.Context, req *kmsg.AlterShareGroupOffsetsRequest) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.AlterShareGroupOffsetsResponse)
	ac := b.access(ctx)
	if code := b.emptyShareGroup(ac, authz.OpRead, req.GroupID); code != nil {
		resp.ErrorCode = code.Code
		return resp
	}
	for _, rt := range req.Topics {
		st := kmsg.NewAlterShareGroupOffsetsResponseTopic()
		st.Topic = rt.Topic
		answer := func(p int32, code *kerr.Error) {
			sp := kmsg.NewAlterShareGroupOffsetsResponseTopicPartition()
			sp.Partition = p
			if code != nil {
				sp.ErrorCode = code.Code
			}
			st.Partitions = append(st.Partitions, sp)
		}
		t, ok := b.topic(rt.Topic)
		for _, rp := range rt.Partitions {
			switch {
			case !ac.topic(authz.OpRead, rt.Topic):
				answer(rp.Partition, errTopicDenied)
			case !ok || rp.Partition < 0 || rp.Partition >= t.Partitions:
				answer(rp.Partition, kerr.UnknownTopicOrPartition)
			case rp.StartOffset < -1:
				answer(rp.Partition, kerr.InvalidRequest)
			default:
				st.TopicID = t.ID
				answer(rp.Partition, b.resetSharePartition(ctx, sharestate.Key{Group: req.GroupID, TopicID: t.ID, Partition: rp.Partition}, rp.StartOffset))
			}
		}
		resp.Topics = append(resp.Topics, st)
	}
	return resp
}

// resetSharePartition initializes a share partition's state again at
// start (-1: the leader picks it by share.auto.offset.reset) under the
// next state epoch.
func (b *Broker) resetSharePartition(ctx context.Context, k sharestate.Key, start int64) *kerr.Error {
	sum, err := b.shareStateSummary(ctx, k)
	if err != nil {
		return toKerr(err)
	}
	if err := b.shareStateInitialize(ctx, k, sum.StateEpoch+1, start); err != nil {
		return toKerr(err)
	}
	b.shares.dropGroup(k.Group) // this broker's cached ones, at once
	return nil
}
