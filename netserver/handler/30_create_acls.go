package handler

// CreateAcls (key 30), v0-v3: each creation is checked by the broker
// (Kafka's AclApis and authorizer checks, authz.BindingsFromCreate:
// INVALID_REQUEST for a bad code, an empty name, a CLUSTER resource not
// named kafka-cluster, a principal not "Type:name"; UNSUPPORTED_VERSION for
// a non-LITERAL pattern at v0), and the valid ones go to the active
// controller in one request, as a Kafka broker forwards them. The answer
// comes once this broker's authorizer has them. An ACL equal to one that
// exists succeeds without a second copy, as in Kafka.
//
// As Kafka: SECURITY_DISABLED without an authorizer, then
// CLUSTER_AUTHORIZATION_FAILED for every creation without ALTER on the
// cluster.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/rillmq/rill/netserver/authz"
	"github.com/rillmq/rill/replication/controller"
)

func (b *Broker) createACLs(ctx context.Context, req *kmsg.CreateACLsRequest) kmsg.Response {
	if b.cfg.Authorizer == nil {
		return authz.SecurityDisabled(req)
	}
	errs := make([]error, len(req.Creations))
	if !b.securityAdminAllowed(ctx, authz.OpAlter) {
		for i := range errs {
			errs[i] = kerr.ClusterAuthorizationFailed
		}
		return createACLsResponse(req, errs)
	}
	bindings, errs := authz.BindingsFromCreate(req)
	var valid []controller.ACLBinding
	var at []int
	for i, bd := range bindings {
		if errs[i] == nil {
			valid, at = append(valid, controllerBinding(bd)), append(at, i)
		}
	}
	cctx, cancel := context.WithTimeout(ctx, adminTimeout)
	defer cancel()
	results, err := b.cluster.CreateACLs(cctx, valid)
	for j, i := range at {
		if err != nil {
			errs[i] = err
		} else {
			errs[i] = results[j]
		}
	}
	return createACLsResponse(req, errs)
}

// createACLsResponse answers each creation with its error's code.
func createACLsResponse(req *kmsg.CreateACLsRequest, errs []error) *kmsg.CreateACLsResponse {
	resp := authz.CreateResponse(req, nil)
	for i := range resp.Results {
		resp.Results[i].ErrorCode, resp.Results[i].ErrorMessage = securityErrorCode(errs[i])
	}
	return resp
}
