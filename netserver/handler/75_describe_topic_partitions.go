package handler

// DescribeTopicPartitions (key 75), v0: what Kafka 4's
// kafka-topics.sh --describe uses instead of Metadata (KIP-966), with
// pagination.
//
// An empty topic list means every topic the principal may DESCRIBE
// (others are left out); named topics that do not exist answer
// UNKNOWN_TOPIC_OR_PARTITION, named ones it may not DESCRIBE
// TOPIC_AUTHORIZATION_FAILED. Topics are answered in name order, from the
// Cursor's topic and partition on (a cursor naming a topic not in a
// non-empty list is INVALID_REQUEST on every requested topic, as Kafka's
// error answer has it). At most ResponsePartitionLimit partitions are answered,
// capped by max.request.partition.size.limit (2000); when partitions are
// left, NextCursor names the first of them. Error topics take no room.
// A partition without a leader is LEADER_NOT_AVAILABLE; Rill has no
// eligible leader replicas (KIP-966's ELR), so those lists are empty.
// Each topic's authorized operations are filled when an authorizer is
// configured.

import (
	"context"
	"slices"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/rillmq/rill/netserver/authz"
	"github.com/rillmq/rill/replication/metadata"
)

// DefaultPartitionSizeLimit is max.request.partition.size.limit's default.
const DefaultPartitionSizeLimit = 2000

func (b *Broker) describeTopicPartitions(ctx context.Context, req *kmsg.DescribeTopicPartitionsRequest) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.DescribeTopicPartitionsResponse)
	ac := b.access(ctx)
	all := len(req.Topics) == 0
	var names []string
	if all {
		for _, t := range b.topics() {
			names = append(names, t.Name)
		}
	} else {
		for _, rt := range req.Topics {
			names = append(names, rt.Topic)
		}
	}
	slices.Sort(names)
	names = slices.Compact(names)
	firstPartition := int32(0)
	if c := req.Cursor; c != nil {
		if !all && !slices.Contains(names, c.Topic) {
			// Kafka fails the request (the cursor must be one of the
			// topics asked for): its error answer gives every requested
			// topic the code.
			for _, rt := range req.Topics {
				st := kmsg.NewDescribeTopicPartitionsResponseTopic()
				st.Topic, st.ErrorCode = kmsg.StringPtr(rt.Topic), kerr.InvalidRequest.Code
				resp.Topics = append(resp.Topics, st)
			}
			return resp
		}
		i, _ := slices.BinarySearch(names, c.Topic)
		names = names[i:]
		if len(names) > 0 && names[0] == c.Topic {
			firstPartition = max(c.Partition, 0)
		}
	}
	limit := b.cfg.PartitionSizeLimit
	if limit <= 0 {
		limit = DefaultPartitionSizeLimit
	}
	if req.ResponsePartitionLimit > 0 {
		limit = min(limit, req.ResponsePartitionLimit)
	}
	left := limit
	for i, name := range names {
		from := int32(0)
		if i == 0 {
			from = firstPartition
		}
		if !ac.topic(authz.OpDescribe, name) {
			if !all {
				st := kmsg.NewDescribeTopicPartitionsResponseTopic()
				st.Topic, st.ErrorCode = kmsg.StringPtr(name), errTopicDenied.Code
				resp.Topics = append(resp.Topics, st)
			}
			continue
		}
		t, ok := b.topic(name)
		if !ok {
			st := kmsg.NewDescribeTopicPartitionsResponseTopic()
			st.Topic, st.ErrorCode = kmsg.StringPtr(name), kerr.UnknownTopicOrPartition.Code
			resp.Topics = append(resp.Topics, st)
			continue
		}
		if left == 0 {
			resp.NextCursor = &kmsg.DescribeTopicPartitionsResponseNextCursor{Topic: name, Partition: from}
			break
		}
		st, next := b.describeTopicPartitionsOf(t, from, left)
		if ac.enabled() {
			st.AuthorizedOperations = ac.operations(authz.ResourceTopic, name)
		}
		resp.Topics = append(resp.Topics, st)
		left -= next - from
		if next < t.Partitions {
			resp.NextCursor = &kmsg.DescribeTopicPartitionsResponseNextCursor{Topic: name, Partition: next}
			break
		}
	}
	return resp
}

// describeTopicPartitionsOf answers t's partitions from up to at most n of
// them, and returns the partition after the last one answered.
func (b *Broker) describeTopicPartitionsOf(t metadata.Topic, from, n int32) (kmsg.DescribeTopicPartitionsResponseTopic, int32) {
	st := kmsg.NewDescribeTopicPartitionsResponseTopic()
	st.Topic, st.TopicID, st.IsInternal = kmsg.StringPtr(t.Name), t.ID, isInternalTopic(t.Name)
	parts, _ := b.cluster.TopicPartitions(t.Name)
	end := min(t.Partitions, from+n)
	if from > end {
		from = end
	}
	st.Partitions = make([]kmsg.DescribeTopicPartitionsResponseTopicPartition, 0, end-from)
	for p := from; p < end; p++ {
		sp := kmsg.NewDescribeTopicPartitionsResponseTopicPartition()
		sp.Partition = p
		sp.EligibleLeaderReplicas, sp.LastKnownELR, sp.OfflineReplicas = []int32{}, []int32{}, []int32{}
		if int(p) >= len(parts) || parts[p].Leader < 0 {
			sp.ErrorCode, sp.LeaderID = kerr.LeaderNotAvailable.Code, -1
			if int(p) < len(parts) {
				sp.Replicas, sp.ISR = parts[p].Replicas, parts[p].ISR
			}
		} else {
			cp := parts[p]
			sp.LeaderID, sp.LeaderEpoch, sp.Replicas, sp.ISR = cp.Leader, cp.LeaderEpoch, cp.Replicas, cp.ISR
		}
		if sp.Replicas == nil {
			sp.Replicas = []int32{}
		}
		if sp.ISR == nil {
			sp.ISR = []int32{}
		}
		st.Partitions = append(st.Partitions, sp)
	}
	return st, end
}
