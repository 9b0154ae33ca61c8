package handler

// DeleteAcls (key 31), v0-v3: each filter is checked by the broker
// (INVALID_REQUEST for an unknown code; v0 knows only LITERAL patterns,
// ANY reading as LITERAL, others UNSUPPORTED_VERSION), and the valid ones
// go to the active controller in one request, which removes every ACL
// they match (Kafka's controller matches them, so an ACL this broker has
// not applied yet is deleted too). Each filter is answered with the ACLs
// it matched, once this broker's authorizer no longer has them.
//
// As Kafka: SECURITY_DISABLED without an authorizer, then
// CLUSTER_AUTHORIZATION_FAILED for every filter without ALTER on the
// cluster.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/rillmq/rill/netserver/authz"
	"github.com/rillmq/rill/replication/controller"
)

func (b *Broker) deleteACLs(ctx context.Context, req *kmsg.DeleteACLsRequest) kmsg.Response {
	if b.cfg.Authorizer == nil {
		return authz.SecurityDisabled(req)
	}
	errs := make([]error, len(req.Filters))
	matched := make([][]authz.ACL, len(req.Filters))
	if !b.securityAdminAllowed(ctx, authz.OpAlter) {
		for i := range errs {
			errs[i] = kerr.ClusterAuthorizationFailed
		}
		return deleteACLsResponse(req, matched, errs)
	}
	filters, errs := authz.FiltersFromDelete(req)
	var valid []controller.ACLFilter
	var at []int
	for i, f := range filters {
		if errs[i] == nil {
			valid = append(valid, controller.ACLFilter{ResourceType: int8(f.Type), ResourceName: f.Name, PatternType: int8(f.PatternType),
				Principal: f.Principal, Host: f.Host, Operation: int8(f.Operation), Permission: int8(f.Permission)})
			at = append(at, i)
		}
	}
	cctx, cancel := context.WithTimeout(ctx, adminTimeout)
	defer cancel()
	deleted, results, err := b.cluster.DeleteACLs(cctx, valid)
	for j, i := range at {
		if err != nil {
			errs[i] = err
			continue
		}
		if errs[i] = results[j]; errs[i] == nil {
			for _, d := range deleted[j] {
				matched[i] = append(matched[i], authz.ACL{Binding: authzBinding(d)})
			}
		}
	}
	return deleteACLsResponse(req, matched, errs)
}

// deleteACLsResponse answers each filter with what it matched, or its
// error's code.
func deleteACLsResponse(req *kmsg.DeleteACLsRequest, matched [][]authz.ACL, errs []error) *kmsg.DeleteACLsResponse {
	resp := authz.DeleteResponse(req, matched, nil)
	for i := range resp.Results {
		if errs[i] != nil {
			resp.Results[i].MatchingACLs = nil
			resp.Results[i].ErrorCode, resp.Results[i].ErrorMessage = securityErrorCode(errs[i])
		}
	}
	return resp
}
