package handler

// ShareGroupDescribe (key 77), v1: share groups with their group epoch,
// assignment epoch, assignor ("simple"), state (Empty or Stable) and
// members with their subscriptions and current assignments. An unknown
// group, or one of another type, is GROUP_ID_NOT_FOUND.
// Authorization: DESCRIBE on each group, else it answers
// GROUP_AUTHORIZATION_FAILED; then DESCRIBE on every topic the group's
// members are assigned, else the group answers
// TOPIC_AUTHORIZATION_FAILED and nothing else of it (Kafka's KafkaApis
// checks all or nothing, so a group shows no topic its reader may not
// see). With IncludeAuthorizedOperations a group described without error
// gets the operations the principal may perform on it; without an
// authorizer, READ, DELETE and DESCRIBE.

import (
	"context"
	"fmt"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/rillmq/rill/netserver/authz"
)

func (b *Broker) shareGroupDescribe(ctx context.Context, req *kmsg.ShareGroupDescribeRequest) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.ShareGroupDescribeResponse)
	ac := b.access(ctx)
	for _, id := range req.GroupIDs {
		rg := kmsg.NewShareGroupDescribeResponseGroup()
		rg.GroupID = id
		if !b.shareGroupsEnabled() {
			rg.ErrorCode = kerr.UnsupportedVersion.Code
			resp.Groups = append(resp.Groups, rg)
			continue
		}
		if !ac.group(authz.OpDescribe, id) {
			rg.ErrorCode = errGroupDenied.Code
			resp.Groups = append(resp.Groups, rg)
			continue
		}
		d, err := b.groups.DescribeShareGroup(id)
		if err != nil {
			rg.ErrorCode = errorCode(err)
			rg.ErrorMessage = kmsg.StringPtr(fmt.Sprintf("group %s: %v", id, err))
			resp.Groups = append(resp.Groups, rg)
			continue
		}
		denied := false
		for _, m := range d.Members {
			for tid := range m.Assignment {
				if t, ok := b.topicByID(tid); ok && !ac.topic(authz.OpDescribe, t.Name) {
					denied = true
				}
			}
		}
		if denied {
			rg.ErrorCode = errTopicDenied.Code
			resp.Groups = append(resp.Groups, rg)
			continue
		}
		rg.GroupState, rg.GroupEpoch, rg.AssignmentEpoch, rg.Assignor = string(d.State), d.Epoch, d.AssignmentEpoch, d.Assignor
		if req.IncludeAuthorizedOperations {
			rg.AuthorizedOperations = groupOperations
			if ac.enabled() {
				rg.AuthorizedOperations = ac.operations(authz.ResourceGroup, id)
			}
		}
		for _, m := range d.Members {
			rm := kmsg.NewShareGroupDescribeResponseGroupMember()
			rm.MemberID, rm.RackID, rm.MemberEpoch = m.MemberID, m.RackID, m.MemberEpoch
			rm.ClientID, rm.ClientHost, rm.SubscribedTopicNames = m.ClientID, m.ClientHost, m.SubscribedTopics
			if rm.SubscribedTopicNames == nil {
				rm.SubscribedTopicNames = []string{}
			}
			for _, a := range b.wireAssignment(m.Assignment).TopicPartitions {
				tp := kmsg.NewShareGroupDescribeResponseGroupMemberAssignmentTopicPartition()
				tp.TopicID, tp.Topic, tp.Partitions = a.TopicID, a.Topic, a.Partitions
				rm.Assignment.TopicPartitions = append(rm.Assignment.TopicPartitions, tp)
			}
			rg.Members = append(rg.Members, rm)
		}
		resp.Groups = append(resp.Groups, rg)
	}
	return resp
}
