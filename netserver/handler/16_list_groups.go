package handler

// ListGroups (key 16), v0-v5.
//
// Lists every group this broker coordinates. v4 filters by state (compared
// case-insensitively, as Kafka does), v5 by type: "classic" or "consumer"
// (KIP-848).

import (
	"strings"

	"github.com/twmb/franz-go/pkg/kmsg"
)

func (b *Broker) listGroups(req *kmsg.ListGroupsRequest) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.ListGroupsResponse)
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
		rg := kmsg.NewListGroupsResponseGroup()
		rg.Group, rg.ProtocolType, rg.GroupState, rg.GroupType = l.ID, l.ProtocolType, string(l.State), l.Type
		resp.Groups = append(resp.Groups, rg)
	}
	return resp
}
