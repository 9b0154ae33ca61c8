package handler

// DeleteGroups (key 42), v0-v3 (v3 adds error messages).
//
// Deletes empty groups with their offsets (tombstones in the offsets
// topic). A group with members is NON_EMPTY_GROUP; an unknown one
// GROUP_ID_NOT_FOUND. Deleting a share group also deletes its
// share-partition state (group.Config.OnShareGroupDeleted, once the
// group's tombstone is written). Authorization: DELETE on each group, else it
// answers GROUP_AUTHORIZATION_FAILED.

import (
	"context"
	"fmt"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/rillmq/rill/netserver/authz"
)

func (b *Broker) deleteGroups(ctx context.Context, req *kmsg.DeleteGroupsRequest) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.DeleteGroupsResponse)
	ac := b.access(ctx)
	for _, id := range req.Groups {
		rg := kmsg.NewDeleteGroupsResponseGroup()
		if !ac.group(authz.OpDelete, id) {
			rg.Group, rg.ErrorCode = id, errGroupDenied.Code
			resp.Groups = append(resp.Groups, rg)
			continue
		}
		err := b.groups.Delete(id)
		rg.Group, rg.ErrorCode = id, errorCode(err)
		if err != nil && req.Version >= 3 {
			rg.ErrorMessage = kmsg.StringPtr(fmt.Sprintf("group %s: %v", id, err))
		}
		resp.Groups = append(resp.Groups, rg)
	}
	return resp
}
