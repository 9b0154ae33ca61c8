package handler

// ShareGroupHeartbeat (key 76), v1: share groups (KIP-932), assigned by
// the coordinator with the simple assignor (see
// coordinator/group/share.go).
//
// The member names itself (a client-generated id of at most 36
// characters). Epoch 0 joins, naming the subscribed topics (a rejoin
// under an id the group still has keeps the member), a positive epoch
// heartbeats (the current one, or the previous one when the answer that
// moved the member on was lost: then the assignment comes again), -1
// leaves. A partition may be shared by several members (more members
// than partitions); there is no revocation step: a member takes its
// target assignment, and the target's epoch, at its next heartbeat. The
// answer carries the assignment (topic ids) when the member joins or its
// assignment changed. Sessions are group.share.session.timeout.ms (the
// group's share.session.timeout.ms when set), the interval
// group.share.heartbeat.interval.ms (share.heartbeat.interval.ms).
// Share groups are served while the share.version feature is 1 (a new
// cluster's level, as Kafka 4.2); at 0 this answers UNSUPPORTED_VERSION.
// Errors: INVALID_REQUEST, GROUP_ID_NOT_FOUND (no such share group at a
// positive or -1 epoch, or the id is a classic or consumer group),
// UNKNOWN_MEMBER_ID, FENCED_MEMBER_EPOCH, GROUP_MAX_SIZE_REACHED
// (group.share.max.size), NOT_COORDINATOR, COORDINATOR_LOAD_IN_PROGRESS,
// COORDINATOR_NOT_AVAILABLE. Authorization: READ on the group, else
// GROUP_AUTHORIZATION_FAILED; then, when the request names topics,
// DESCRIBE on every one of them, else TOPIC_AUTHORIZATION_FAILED for the
// whole request (Kafka's KafkaApis).

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/rillmq/rill/coordinator/group"
	"github.com/rillmq/rill/netserver/authz"
	"github.com/rillmq/rill/netserver/wire"
)

func (b *Broker) shareGroupHeartbeat(ctx context.Context, wr *wire.Request, req *kmsg.ShareGroupHeartbeatRequest) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.ShareGroupHeartbeatResponse)
	if !b.shareGroupsEnabled() {
		resp.ErrorCode = kerr.UnsupportedVersion.Code
		return resp
	}
	ac := b.access(ctx)
	if !ac.group(authz.OpRead, req.GroupID) {
		resp.ErrorCode = errGroupDenied.Code
		return resp
	}
	for _, topic := range req.SubscribedTopicNames {
		if !ac.topic(authz.OpDescribe, topic) {
			resp.ErrorCode = errTopicDenied.Code
			return resp
		}
	}
	r := b.groups.ShareGroupHeartbeat(group.ShareHeartbeat{
		Group:            req.GroupID,
		MemberID:         req.MemberID,
		MemberEpoch:      req.MemberEpoch,
		RackID:           req.RackID,
		SubscribedTopics: req.SubscribedTopicNames,
		ClientID:         wr.ClientID,
		ClientHost:       wr.ClientHost,
	})
	resp.ErrorCode = errorCode(r.Err)
	if r.Message != "" {
		resp.ErrorMessage = kmsg.StringPtr(r.Message)
	}
	if r.Err != nil {
		return resp
	}
	resp.MemberID = kmsg.StringPtr(r.MemberID)
	resp.MemberEpoch = r.MemberEpoch
	resp.HeartbeatIntervalMillis = int32(r.HeartbeatInterval.Milliseconds())
	if r.Assignment != nil {
		a := kmsg.NewShareGroupHeartbeatResponseAssignment()
		a.TopicPartitions = []kmsg.ShareGroupHeartbeatResponseAssignmentTopicPartition{}
		for _, id := range sortedTopicIDs(r.Assignment) {
			t := kmsg.NewShareGroupHeartbeatResponseAssignmentTopicPartition()
			t.TopicID, t.Partitions = id, r.Assignment[id]
			a.TopicPartitions = append(a.TopicPartitions, t)
		}
		resp.Assignment = &a
	}
	return resp
}
