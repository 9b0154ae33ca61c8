package handler

// SyncGroup (key 14), v0-v5.
//
// Members wait until the leader's SyncGroup brings the assignment, which is
// persisted in the offsets topic before anyone is answered. In a Stable
// group the member's current assignment is answered at once. v5 checks the
// protocol type and name against the group's (INCONSISTENT_GROUP_PROTOCOL)
// and returns them. A classic member of a KIP-848 group is answered its
// current partitions at once (REBALANCE_IN_PROGRESS if the group epoch
// moved past it). Errors: UNKNOWN_MEMBER_ID, ILLEGAL_GENERATION,
// FENCED_INSTANCE_ID, REBALANCE_IN_PROGRESS, COORDINATOR_NOT_AVAILABLE.
// Authorization: READ on the group, else GROUP_AUTHORIZATION_FAILED.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/rillmq/rill/coordinator/group"
	"github.com/rillmq/rill/netserver/authz"
)

func (b *Broker) syncGroup(ctx context.Context, req *kmsg.SyncGroupRequest) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.SyncGroupResponse)
	if !b.access(ctx).group(authz.OpRead, req.Group) {
		resp.ErrorCode = errGroupDenied.Code
		return resp
	}
	sr := group.SyncRequest{
		Group:        req.Group,
		Generation:   req.Generation,
		MemberID:     req.MemberID,
		InstanceID:   req.InstanceID,
		ProtocolType: req.ProtocolType,
		Protocol:     req.Protocol,
		Assignments:  make(map[string][]byte, len(req.GroupAssignment)),
	}
	for _, a := range req.GroupAssignment {
		sr.Assignments[a.MemberID] = a.MemberAssignment
	}
	r := b.groups.Sync(ctx, sr)
	resp.ErrorCode = errorCode(r.Err)
	resp.MemberAssignment = r.Assignment
	if r.Err == nil {
		resp.ProtocolType, resp.Protocol = kmsg.StringPtr(r.ProtocolType), kmsg.StringPtr(r.Protocol)
	}
	return resp
}
