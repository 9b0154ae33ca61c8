package handler

// OffsetDelete (key 47), v0.
//
// Deletes a group's committed offsets for some partitions. Offsets of
// topics that members of a live consumer group subscribe to stay
// (GROUP_SUBSCRIBED_TO_TOPIC per partition); a live group of another
// protocol type is NON_EMPTY_GROUP; an unknown group GROUP_ID_NOT_FOUND.
// Unknown topics are UNKNOWN_TOPIC_OR_PARTITION.
//
// Authorization: DELETE on the group, else GROUP_AUTHORIZATION_FAILED at
// the top; READ on each topic, else its partitions answer
// TOPIC_AUTHORIZATION_FAILED (before the topic is looked up).

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/rillmq/rill/internal/kafka"
	"github.com/rillmq/rill/netserver/authz"
)

func (b *Broker) offsetDelete(ctx context.Context, req *kmsg.OffsetDeleteRequest) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.OffsetDeleteResponse)
	ac := b.access(ctx)
	if !ac.group(authz.OpDelete, req.Group) {
		resp.ErrorCode = errGroupDenied.Code
		return resp
	}
	var tps []kafka.TopicPartition
	// slot[i][j] is the index of topic i partition j in tps, or -1 when
	// the partition does not exist, -2 when the topic is denied.
	slot := make([][]int, len(req.Topics))
	for i, rt := range req.Topics {
		t, ok := b.topic(rt.Topic)
		allowed := ac.topic(authz.OpRead, rt.Topic)
		for _, rp := range rt.Partitions {
			if !allowed {
				slot[i] = append(slot[i], -2)
				continue
			}
			if !ok || rp.Partition < 0 || rp.Partition >= t.Partitions {
				slot[i] = append(slot[i], -1)
				continue
			}
			slot[i] = append(slot[i], len(tps))
			tps = append(tps, kafka.TopicPartition{Topic: rt.Topic, Partition: rp.Partition})
		}
	}
	top, errs := b.groups.DeleteOffsets(req.Group, tps)
	resp.ErrorCode = errorCode(top)
	for i, rt := range req.Topics {
		st := kmsg.NewOffsetDeleteResponseTopic()
		st.Topic = rt.Topic
		for j, rp := range rt.Partitions {
			sp := kmsg.NewOffsetDeleteResponseTopicPartition()
			sp.Partition = rp.Partition
			switch k := slot[i][j]; {
			case k == -2:
				sp.ErrorCode = errTopicDenied.Code
			case k < 0:
				sp.ErrorCode = kerr.UnknownTopicOrPartition.Code
			case top == nil:
				sp.ErrorCode = errorCode(errs[k])
			}
			st.Partitions = append(st.Partitions, sp)
		}
		resp.Topics = append(resp.Topics, st)
	}
	return resp
}
