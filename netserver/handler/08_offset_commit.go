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
//
// Authorization: READ on the group, else every partition answers
// GROUP_AUTHORIZATION_FAILED; READ on each topic, else its partitions
// answer TOPIC_AUTHORIZATION_FAILED before the topic is looked up (a v10
// topic id that names no topic is UNKNOWN_TOPIC_ID: there is no name to
// authorize).

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/rillmq/rill/coordinator/group"
	"github.com/rillmq/rill/internal/kafka"
	"github.com/rillmq/rill/netserver/authz"
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

// commitTopic and commitPartition are a topic and partition of an
// OffsetCommit or TxnOffsetCommit request (leaderEpoch -1 before the
// version that carries it).
type commitTopic struct {
	name  string
	id    [16]byte
	parts []commitPartition
}

type commitPartition struct {
	partition   int32
	offset      int64
	leaderEpoch int32
	metadata    *string
}

// resolveCommits resolves the requested topics and partitions: the commits
// to make, and for topic i partition j its error code (codes[i][j]) or the
// index of its commit (slot[i][j]; -1: none). A topic the principal may
// not READ is TOPIC_AUTHORIZATION_FAILED.
func (b *Broker) resolveCommits(ac access, topics []commitTopic, byID bool) (commits []group.OffsetCommit, codes [][]int16, slot [][]int) {
	codes = make([][]int16, len(topics))
	slot = make([][]int, len(topics))
	for i, rt := range topics {
		t, terr := b.resolveTopic(rt.name, rt.id, byID)
		if name := rt.name; terr == nil || !byID {
			if byID {
				name = t.Name
			}
			if !ac.topic(authz.OpRead, name) {
				terr = errTopicDenied
			}
		}
		for _, rp := range rt.parts {
			code, k := int16(0), -1
			switch {
			case terr != nil:
				code = terr.Code
			case rp.partition < 0 || rp.partition >= t.Partitions:
				code = kerr.UnknownTopicOrPartition.Code
			default:
				k = len(commits)
				oc := group.OffsetCommit{TopicPartition: kafka.TopicPartition{Topic: t.Name, Partition: rp.partition}, Offset: rp.offset, LeaderEpoch: rp.leaderEpoch}
				if rp.metadata != nil {
					oc.Metadata = *rp.metadata
				}
				commits = append(commits, oc)
			}
			codes[i] = append(codes[i], code)
			slot[i] = append(slot[i], k)
		}
	}
	return commits, codes, slot
}

func (b *Broker) offsetCommit(ctx context.Context, req *kmsg.OffsetCommitRequest) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.OffsetCommitResponse)
	ac := b.access(ctx)
	if !ac.group(authz.OpRead, req.Group) {
		for _, rt := range req.Topics {
			st := kmsg.NewOffsetCommitResponseTopic()
			st.Topic, st.TopicID = rt.Topic, rt.TopicID
			for _, rp := range rt.Partitions {
				sp := kmsg.NewOffsetCommitResponseTopicPartition()
				sp.Partition, sp.ErrorCode = rp.Partition, errGroupDenied.Code
				st.Partitions = append(st.Partitions, sp)
			}
			resp.Topics = append(resp.Topics, st)
		}
		return resp
	}
	byID := req.Version >= 10
	topics := make([]commitTopic, len(req.Topics))
	for i, rt := range req.Topics {
		topics[i] = commitTopic{name: rt.Topic, id: rt.TopicID}
		for _, rp := range rt.Partitions {
			epoch := int32(-1)
			if req.Version >= 6 {
				epoch = rp.LeaderEpoch
			}
			topics[i].parts = append(topics[i].parts, commitPartition{rp.Partition, rp.Offset, epoch, rp.Metadata})
		}
	}
	commits, codes, slot := b.resolveCommits(ac, topics, byID)
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
