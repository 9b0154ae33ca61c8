package handler

// JoinGroup (key 11), v0-v9.
//
// The request waits in the coordinator until the rebalance completes (see
// coordinator/group): all members rejoined, the rebalance timeout passed,
// or, for a group's first rebalance, group.initial.rebalance.delay.ms. From
// v4 a new member without an id is answered MEMBER_ID_REQUIRED with one and
// must join again with it. v5 adds static membership (group.instance.id),
// v7 the protocol type in the answer, v9 SkipAssignment for a static leader
// that rejoined a stable group. In a KIP-848 group with members (one a
// ConsumerGroupHeartbeat upgraded from classic) a member of protocol type
// "consumer" joins as a classic member the coordinator assigns: answered at
// once with its member epoch as the generation, its first protocol, and no
// leader. Errors: INVALID_GROUP_ID,
// INVALID_SESSION_TIMEOUT (outside group.min/max.session.timeout.ms),
// INCONSISTENT_GROUP_PROTOCOL, UNKNOWN_MEMBER_ID, FENCED_INSTANCE_ID,
// GROUP_MAX_SIZE_REACHED, REBALANCE_IN_PROGRESS, COORDINATOR_NOT_AVAILABLE.
// Authorization: READ on the group, else GROUP_AUTHORIZATION_FAILED.

import (
	"context"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/rillmq/rill/coordinator/group"
	"github.com/rillmq/rill/netserver/authz"
	"github.com/rillmq/rill/netserver/wire"
)

func (b *Broker) joinGroup(ctx context.Context, wr *wire.Request, req *kmsg.JoinGroupRequest) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.JoinGroupResponse)
	if !b.access(ctx).group(authz.OpRead, req.Group) {
		resp.ErrorCode, resp.Generation = errGroupDenied.Code, -1
		if req.Version < 7 {
			resp.Protocol = kmsg.StringPtr("")
		}
		return resp
	}
	jr := group.JoinRequest{
		Group:            req.Group,
		MemberID:         req.MemberID,
		InstanceID:       req.InstanceID,
		ClientID:         wr.ClientID,
		ClientHost:       wr.ClientHost,
		SessionTimeout:   time.Duration(req.SessionTimeoutMillis) * time.Millisecond,
		RebalanceTimeout: time.Duration(req.RebalanceTimeoutMillis) * time.Millisecond,
		ProtocolType:     req.ProtocolType,
		Version:          req.Version,
	}
	if req.Version == 0 {
		jr.RebalanceTimeout = 0 // the coordinator uses the session timeout
	}
	for _, p := range req.Protocols {
		jr.Protocols = append(jr.Protocols, group.Protocol{Name: p.Name, Metadata: p.Metadata})
	}
	r := b.groups.Join(ctx, jr)
	resp.ErrorCode = errorCode(r.Err)
	resp.Generation = r.Generation
	resp.MemberID = r.MemberID
	resp.LeaderID = r.Leader
	resp.SkipAssignment = r.SkipAssignment
	if r.Err == nil {
		resp.ProtocolType = kmsg.StringPtr(r.ProtocolType)
		resp.Protocol = kmsg.StringPtr(r.Protocol)
	}
	for _, m := range r.Members {
		rm := kmsg.NewJoinGroupResponseMember()
		rm.MemberID, rm.InstanceID, rm.ProtocolMetadata = m.MemberID, m.InstanceID, m.Metadata
		resp.Members = append(resp.Members, rm)
	}
	return resp
}
