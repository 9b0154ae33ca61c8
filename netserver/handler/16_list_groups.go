package handler

// ListGroups (key 16), v0-v5.
//
// Lists every group this broker coordinates. v4 filters by state (compared
// case-insensitively, as Kafka does), v5 by type: "classic", "consumer"
// (KIP-848) or "share" (KIP-932; a share group's protocol type is "share"
// and its state Empty or Stable). Authorization: with DESCRIBE on the cluster every group is
// listed, else only the groups the principal may DESCRIBE; never an
// error.

import (
	"context"
	"strings"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/rillmq/rill/netserver/authz"
)

func (b *Broker) listGroups(ctx context.Context, req *kmsg.ListGroupsRequest) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.ListGroupsResponse)
	ac := b.access(ctx)
	everyGroup := ac.cluster(authz.OpDescribe)
	match := func(filter []string, v string) bool {
		if len(filter) == 0 {
			return true
		}
		for _, f := range filter {
			if strings.EqualFold(f, v) {
				return true
			}
		}
		return false
	}
	for _, l := range b.groups.List() {
		if !match(req.StatesFilter, string(l.State)) || !match(req.TypesFilter, l.Type) {
			continue
		}
		if !everyGroup && !ac.group(authz.OpDescribe, l.ID) {
			continue
		}
		rg := kmsg.NewListGroupsResponseGroup()
		rg.Group, rg.ProtocolType, rg.GroupState, rg.GroupType = l.ID, l.ProtocolType, string(l.State), l.Type
		resp.Groups = append(resp.Groups, rg)
	}
	return resp
}
