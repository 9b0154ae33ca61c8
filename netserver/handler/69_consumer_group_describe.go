package handler

// ConsumerGroupDescribe (key 69), v0-v1: KIP-848 groups with their epochs,
// assignor, and each member's current and target assignment; v1's
// MemberType tells classic members of an upgraded group (0) from
// consumer-protocol ones (1). A classic or
// unknown group is GROUP_ID_NOT_FOUND. Authorization: DESCRIBE on each
// group (Kafka's KafkaApis; its protocol table says READ), else it
// answers GROUP_AUTHORIZATION_FAILED. With IncludeAuthorizedOperations a
// group described without error gets the operations the principal may
// perform on it; without an authorizer, READ, DELETE and DESCRIBE.

import (
	"bytes"
	"context"
	"sort"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/rillmq/rill/netserver/authz"
)

func sortedTopicIDs(m map[[16]byte][]int32) [][16]byte {
	ids := make([][16]byte, 0, len(m))
	for id := range m {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return bytes.Compare(ids[i][:], ids[j][:]) < 0 })
	return ids
}

// wireAssignment names a by-id assignment's topics for the wire.
func (b *Broker) wireAssignment(a map[[16]byte][]int32) kmsg.Assignment {
	out := kmsg.NewAssignment()
	for _, id := range sortedTopicIDs(a) {
		tp := kmsg.NewAssignmentTopicPartition()
		tp.TopicID, tp.Partitions = id, a[id]
		if t, ok := b.topicByID(id); ok {
			tp.Topic = t.Name
		}
		out.TopicPartitions = append(out.TopicPartitions, tp)
	}
	return out
}

func (b *Broker) consumerGroupDescribe(ctx context.Context, req *kmsg.ConsumerGroupDescribeRequest) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.ConsumerGroupDescribeResponse)
	ac := b.access(ctx)
	for _, id := range req.Groups {
		rg := kmsg.NewConsumerGroupDescribeResponseGroup()
		rg.Group = id
		if !ac.group(authz.OpDescribe, id) {
			rg.ErrorCode = errGroupDenied.Code
			resp.Groups = append(resp.Groups, rg)
			continue
		}
		d, err := b.groups.DescribeConsumerGroup(id)
		if err != nil {
			rg.ErrorCode = errorCode(err)
			resp.Groups = append(resp.Groups, rg)
			continue
		}
		rg.State, rg.Epoch, rg.AssignmentEpoch, rg.AssignorName = string(d.State), d.Epoch, d.AssignmentEpoch, d.Assignor
		if req.IncludeAuthorizedOperations {
			rg.AuthorizedOperations = groupOperations
			if ac.enabled() {
				rg.AuthorizedOperations = ac.operations(authz.ResourceGroup, id)
			}
		}
		for _, m := range d.Members {
			rm := kmsg.NewConsumerGroupDescribeResponseGroupMember()
			rm.MemberID, rm.InstanceID, rm.RackID, rm.MemberEpoch = m.MemberID, m.InstanceID, m.RackID, m.MemberEpoch
			rm.ClientID, rm.ClientHost, rm.SubscribedTopics, rm.SubscribedTopicRegex = m.ClientID, m.ClientHost, m.SubscribedTopics, m.SubscribedRegex
			rm.Assignment, rm.TargetAssignment = b.wireAssignment(m.Assignment), b.wireAssignment(m.TargetAssignment)
			rm.MemberType = 1 // consumer protocol
			if m.Classic {
				rm.MemberType = 0 // classic protocol, in a group upgraded to the consumer protocol (KIP-1099)
			}
			rg.Members = append(rg.Members, rm)
		}
		resp.Groups = append(resp.Groups, rg)
	}
	return resp
}
