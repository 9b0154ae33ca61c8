package handler

// Heartbeat (key 12), v0-v4.
//
// Keeps a member's session alive. REBALANCE_IN_PROGRESS tells it to rejoin;
// UNKNOWN_MEMBER_ID, ILLEGAL_GENERATION and FENCED_INSTANCE_ID (v3+) that
// it is out of the group.

import (
	"github.com/twmb/franz-go/pkg/kmsg"
)

func (b *Broker) heartbeat(req *kmsg.HeartbeatRequest) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.HeartbeatResponse)
	resp.ErrorCode = errorCode(b.groups.Heartbeat(req.Group, req.Generation, req.MemberID, req.InstanceID))
	return resp
}
