package handler

// DeleteGroups (key 42), v0-v2.
//
// Deletes empty groups with their offsets (tombstones in the offsets
// topic). A group with members is NON_EMPTY_GROUP; an unknown one
// GROUP_ID_NOT_FOUND.

import (
	"github.com/twmb/franz-go/pkg/kmsg"
)

func (b *Broker) deleteGroups(req *kmsg.DeleteGroupsRequest) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.DeleteGroupsResponse)
	for _, id := range req.Groups {
		rg := kmsg.NewDeleteGroupsResponseGroup()
		rg.Group, rg.ErrorCode = id, errorCode(b.groups.Delete(id))
		resp.Groups = append(resp.Groups, rg)
	}
	return resp
}
