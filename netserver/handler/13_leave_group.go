package handler

// LeaveGroup (key 13), v0-v5.
//
// v0-v2 remove the one MemberID; v3+ remove a batch of members by id or
// group.instance.id, with an error per member (UNKNOWN_MEMBER_ID,
// FENCED_INSTANCE_ID) and none at the top unless the group is unavailable.
// Leaving starts a rebalance for the members that stay (in a KIP-848 group,
// whose classic members leave this way, a new group epoch). Authorization:
// READ on the group, else GROUP_AUTHORIZATION_FAILED (at the top).

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/rillmq/rill/coordinator/group"
	"github.com/rillmq/rill/netserver/authz"
)

func (b *Broker) leaveGroup(ctx context.Context, req *kmsg.LeaveGroupRequest) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.LeaveGroupResponse)
	if !b.access(ctx).group(authz.OpRead, req.Group) {
		resp.ErrorCode = errGroupDenied.Code
		return resp
	}
	var leaving []group.LeaveMember
	if req.Version < 3 {
		leaving = []group.LeaveMember{{MemberID: req.MemberID}}
	}
	for _, m := range req.Members {
		leaving = append(leaving, group.LeaveMember{MemberID: m.MemberID, InstanceID: m.InstanceID})
	}
	top, errs := b.groups.Leave(req.Group, leaving)
	resp.ErrorCode = errorCode(top)
	if req.Version < 3 {
		if top == nil {
			resp.ErrorCode = errorCode(errs[0])
		}
		return resp
	}
	for i, m := range req.Members {
		rm := kmsg.NewLeaveGroupResponseMember()
		rm.MemberID, rm.InstanceID, rm.ErrorCode = m.MemberID, m.InstanceID, errorCode(errs[i])
		resp.Members = append(resp.Members, rm)
	}
	return resp
}
