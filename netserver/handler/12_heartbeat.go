package handler

// Heartbeat (key 12), v0-v4.
//
// Keeps a member's session alive. REBALANCE_IN_PROGRESS tells it to rejoin;
// UNKNOWN_MEMBER_ID, ILLEGAL_GENERATION and FENCED_INSTANCE_ID (v3+) that
// it is out of the group. A classic member of a KIP-848 group is told to
// rejoin when the group epoch moved past it, it must give up partitions,
// or partitions it waits for are free. Authorization: READ on the group, else
// GROUP_AUTHORIZATION_FAILED.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/rillmq/rill/netserver/authz"
)

func (b *Broker) heartbeat(ctx context.Context, req *kmsg.HeartbeatRequest) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.HeartbeatResponse)
	if !b.access(ctx).group(authz.OpRead, req.Group) {
		resp.ErrorCode = errGroupDenied.Code
		return resp
	}
	resp.ErrorCode = errorCode(b.groups.Heartbeat(req.Group, req.Generation, req.MemberID, req.InstanceID))
	return resp
}
