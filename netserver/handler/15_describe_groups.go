package handler

// DescribeGroups (key 15), v0-v6.
//
// An unknown group is described as Dead with no error before v6, and is
// GROUP_ID_NOT_FOUND (with a message) from v6, as in Kafka. Member metadata
// and assignments are given only for Stable groups. KIP-848 groups are
// described too, their assignments in the consumer protocol's encoding, so
// lag tools that only speak this API keep working (Kafka answers v6 with
// GROUP_ID_NOT_FOUND for them). A share group is described as Kafka
// describes a group that is not classic: Dead, and GROUP_ID_NOT_FOUND
// from v6.
// Authorization: DESCRIBE on each group, else it answers
// GROUP_AUTHORIZATION_FAILED. With IncludeAuthorizedOperations (v3+) a
// group described without error gets the operations the principal may
// perform on it; without an authorizer, READ, DELETE and DESCRIBE.

import (
	"context"
	"fmt"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/rillmq/rill/netserver/authz"
)

// groupOperations is READ, DELETE and DESCRIBE (ACL operation codes 3, 6
// and 8), the operations a group has.
const groupOperations = 1<<3 | 1<<6 | 1<<8

func (b *Broker) describeGroups(ctx context.Context, req *kmsg.DescribeGroupsRequest) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.DescribeGroupsResponse)
	ac := b.access(ctx)
	for _, id := range req.Groups {
		if !ac.group(authz.OpDescribe, id) {
			rg := kmsg.NewDescribeGroupsResponseGroup()
			rg.Group, rg.ErrorCode = id, errGroupDenied.Code
			resp.Groups = append(resp.Groups, rg)
			continue
		}
		d, ok := b.groups.Describe(id)
		rg := kmsg.NewDescribeGroupsResponseGroup()
		rg.Group, rg.State, rg.ProtocolType, rg.Protocol = id, string(d.State), d.ProtocolType, d.Protocol
		if !b.groups.Owns(id) {
			rg.ErrorCode, rg.State = kerr.NotCoordinator.Code, ""
		} else if !ok && req.Version >= 6 {
			rg.ErrorCode = kerr.GroupIDNotFound.Code
			rg.ErrorMessage = kmsg.StringPtr(fmt.Sprintf("group %s not found", id))
		}
		if req.IncludeAuthorizedOperations {
			rg.AuthorizedOperations = groupOperations
			if ac.enabled() && rg.ErrorCode == 0 {
				rg.AuthorizedOperations = ac.operations(authz.ResourceGroup, id)
			}
		}
		for _, m := range d.Members {
			rm := kmsg.NewDescribeGroupsResponseGroupMember()
			rm.MemberID, rm.InstanceID, rm.ClientID, rm.ClientHost = m.MemberID, m.InstanceID, m.ClientID, m.ClientHost
			rm.ProtocolMetadata, rm.MemberAssignment = m.Metadata, m.Assignment
			rg.Members = append(rg.Members, rm)
		}
		resp.Groups = append(resp.Groups, rg)
	}
	return resp
}
