package handler

// OffsetCommit (key 8), v2-v10.
//
// Commits are appended to the offsets topic (fsynced, see groups.go) before
// the answer. Members commit with their generation; a generation of -1
// commits for a group without coordinator membership (admin tools, manual
// assignment) while it has no members. Per-partition errors:
// UNKNOWN_TOPIC_OR_PARTITION (and UNKNOWN_TOPIC_ID at v10, which names
// topics by id), OFFSET_METADATA_TOO_LARGE (offset.metadata.max.bytes), and
// the group's UNKNOWN_MEMBER_ID, ILLEGAL_GENERATION, FENCED_INSTANCE_ID,
// REBALANCE_IN_PROGRESS, COORDINATOR_NOT_AVAILABLE. The v2-v4 retention
// time is ignored, as Kafka ignores it since 2.1: offsets.retention.minutes
// applies.

import (
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/rillmq/rill/coordinator/group"
	"github.com/rillmq/rill/internal/kafka"
	"github.com/rillmq/rill/replication/metadata"
)

// resolveTopic finds a request's topic by name, or by id from v10-style
// requests (byID); the error is the code for every partition of a topic
// that is not found.
func (b *Broker) resolveTopic(name string, id [16]byte, byID bool) (metadata.Topic, *kerr.Error) {
	if byID {
		if t, ok := b.topicByID(id); ok {
			return t, nil
		}
		return metadata.Topic{}, kerr.UnknownTopicID
	}
	if t, ok := b.topic(name); ok {
		return t, nil
	}
	return metadata.Topic{}, kerr.UnknownTopicOrPartition
}

func (b *Broker) offsetCommit(req *kmsg.OffsetCommitRequest) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.OffsetCommitResponse)
	byID := req.Version >= 10
	var commits []group.OffsetCommit
	// codes[i][j] is topic i partition j's code; slot[i][j] its index in
	// commits, or -1.
	codes := make([][]int16, len(req.Topics))
	slot := make([][]int, len(req.Topics))
	for i, rt := range req.Topics {
		t, terr := b.resolveTopic(rt.Topic, rt.TopicID, byID)
		for _, rp := range rt.Partitions {
			code, k := int16(0), -1
			switch {
			case terr != nil:
				code = terr.Code
			case rp.Partition < 0 || rp.Partition >= t.Partitions:
				code = kerr.UnknownTopicOrPartition.Code
			default:
				k = len(commits)
				oc := group.OffsetCommit{TopicPartition: kafka.TopicPartition{Topic: t.Name, Partition: rp.Partition}, Offset: rp.Offset, LeaderEpoch: -1}
				if req.Version >= 6 {
					oc.LeaderEpoch = rp.LeaderEpoch
				}
				if rp.Metadata != nil {
					oc.Metadata = *rp.Metadata
				}
				commits = append(commits, oc)
			}
			codes[i] = append(codes[i], code)
			slot[i] = append(slot[i], k)
		}
	}
	var errs []error
	if len(commits) > 0 {
		errs = b.groups.CommitOffsets(req.Group, req.Generation, req.MemberID, req.InstanceID, commits)
	}
	for i, rt := range req.Topics {
		st := kmsg.NewOffsetCommitResponseTopic()
		st.Topic, st.TopicID = rt.Topic, rt.TopicID
		for j, rp := range rt.Partitions {
			sp := kmsg.NewOffsetCommitResponseTopicPartition()
			sp.Partition, sp.ErrorCode = rp.Partition, codes[i][j]
			if k := slot[i][j]; k >= 0 {
				sp.ErrorCode = errorCode(errs[k])
			}
			st.Partitions = append(st.Partitions, sp)
		}
		resp.Topics = append(resp.Topics, st)
	}
	return resp
}
