package handler

// DeleteGroups (key 42), v0-v3 (v3 adds error messages).
//
// Deletes empty groups with their offsets (tombstones in the offsets
// topic). A group with members is NON_EMPTY_GROUP; an unknown one
// GROUP_ID_NOT_FOUND. Deleting an empty share group deletes its
// share-partition state first, as Kafka's coordinator does: a failure
// there answers the group with the error and leaves the group (a retry
// deletes both), so no state outlives its group to be found by a new
// group of the same name. (group.Config.OnShareGroupDeleted deletes it
// again once the tombstone is written, a no-op then.) Authorization:
// DELETE on each group, else it answers GROUP_AUTHORIZATION_FAILED.

import (
	"context"
	"fmt"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/rillmq/rill/coordinator/group"
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
		var err error
		if info, code := b.shareGroupInfo(id); code == nil && info.State == group.Empty {
			if code := b.deleteShareGroupStates(ctx, id, info.StateTopics); code != nil {
				err = code
			}
		}
		if err == nil {
			err = b.groups.Delete(id)
		}
		rg.Group, rg.ErrorCode = id, errorCode(err)
		if err != nil && req.Version >= 3 {
			rg.ErrorMessage = kmsg.StringPtr(fmt.Sprintf("group %s: %v", id, err))
		}
		resp.Groups = append(resp.Groups, rg)
	}
	return resp
}
