package handler

// ConsumerGroupHeartbeat (key 68), v0-v1: KIP-848 consumer groups, where
// the coordinator assigns (see coordinator/group/consumer.go).
//
// Epoch 0 joins (v1 members bring their own id; v0 members get one), a
// positive epoch heartbeats and reconciles, -1 leaves and -2 leaves a
// static member: it keeps its partitions and place, without a new group
// epoch, for group.consumer.session.timeout.ms from the leave, and a member
// joining (epoch 0) with its group.instance.id in that time takes them over
// (UNRELEASED_INSTANCE_ID while the instance has not left, FENCED_INSTANCE_ID
// for another member id naming it, UNKNOWN_MEMBER_ID for an unknown one).
// Kafka answers a -2 without an instance id INVALID_REQUEST; kgo v1.22
// leaves that way, so Rill takes -2 from a member id that holds an
// instance id as that static member's leave. The server-side assignors
// are uniform (sticky and balanced, the default) and range, both
// rack-aware: when members have a client.rack (RackID), partitions go to
// members on a rack (broker.rack) of one of their replicas as far as
// balance allows, and a replica's rack changing is a new group epoch. Subscriptions are topic names or a
// regex (RE2, matched against whole names). Assignments name topics by id.
// Errors: INVALID_REQUEST, UNKNOWN_MEMBER_ID, FENCED_MEMBER_EPOCH,
// UNRELEASED_INSTANCE_ID, FENCED_INSTANCE_ID, UNSUPPORTED_ASSIGNOR, INVALID_REGULAR_EXPRESSION,
// GROUP_MAX_SIZE_REACHED, GROUP_ID_NOT_FOUND (a classic group with
// members), COORDINATOR_NOT_AVAILABLE. Authorization: READ on the group,
// else GROUP_AUTHORIZATION_FAILED.

import (
	"context"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/rillmq/rill/coordinator/group"
	"github.com/rillmq/rill/netserver/authz"
	"github.com/rillmq/rill/netserver/wire"
)

func (b *Broker) consumerGroupHeartbeat(ctx context.Context, wr *wire.Request, req *kmsg.ConsumerGroupHeartbeatRequest) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.ConsumerGroupHeartbeatResponse)
	if !b.access(ctx).group(authz.OpRead, req.Group) {
		resp.ErrorCode = errGroupDenied.Code
		return resp
	}
	hb := group.ConsumerHeartbeat{
		Group:            req.Group,
		MemberID:         req.MemberID,
		MemberEpoch:      req.MemberEpoch,
		InstanceID:       req.InstanceID,
		RackID:           req.RackID,
		RebalanceTimeout: time.Duration(req.RebalanceTimeoutMillis) * time.Millisecond,
		SubscribedTopics: req.SubscribedTopicNames,
		SubscribedRegex:  req.SubscribedTopicRegex,
		ServerAssignor:   req.ServerAssignor,
		ClientID:         wr.ClientID,
		ClientHost:       wr.ClientHost,
	}
	if req.Topics != nil {
		hb.Owned = map[[16]byte][]int32{}
		for _, t := range req.Topics {
			hb.Owned[t.TopicID] = append(hb.Owned[t.TopicID], t.Partitions...)
		}
	}
	r := b.groups.ConsumerHeartbeat(hb)
	resp.ErrorCode = errorCode(r.Err)
	if r.Message != "" {
		resp.ErrorMessage = kmsg.StringPtr(r.Message)
	}
	resp.MemberID = kmsg.StringPtr(r.MemberID)
	resp.MemberEpoch = r.MemberEpoch
	resp.HeartbeatIntervalMillis = int32(r.HeartbeatInterval.Milliseconds())
	if r.Err == nil && r.Assignment != nil {
		a := kmsg.NewConsumerGroupHeartbeatResponseAssignment()
		a.Topics = []kmsg.ConsumerGroupHeartbeatResponseAssignmentTopic{}
		for _, id := range sortedTopicIDs(r.Assignment) {
			t := kmsg.NewConsumerGroupHeartbeatResponseAssignmentTopic()
			t.TopicID, t.Partitions = id, r.Assignment[id]
			a.Topics = append(a.Topics, t)
		}
		resp.Assignment = &a
	}
	return resp
}
