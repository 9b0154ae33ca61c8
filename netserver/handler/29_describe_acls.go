package handler

// DescribeAcls (key 29), v0-v3: the ACLs the filter matches, from this
// broker's authorizer (fed from the metadata log, so every broker answers
// alike once it has applied the same metadata), grouped by resource
// pattern. As Kafka: SECURITY_DISABLED without an authorizer;
// CLUSTER_AUTHORIZATION_FAILED without DESCRIBE on the cluster;
// INVALID_REQUEST for a filter with an unknown code; v0 knows only
// LITERAL patterns (ANY reads as LITERAL), others are UNSUPPORTED_VERSION.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/rillmq/rill/netserver/authz"
)

func (b *Broker) describeACLs(ctx context.Context, req *kmsg.DescribeACLsRequest) kmsg.Response {
	a := b.cfg.Authorizer
	if a == nil {
		return authz.SecurityDisabled(req)
	}
	if !b.securityAdminAllowed(ctx, authz.OpDescribe) {
		resp := authz.DescribeResponse(req, nil, nil)
		resp.ErrorCode, resp.ErrorMessage = securityErrorCode(kerr.ClusterAuthorizationFailed)
		return resp
	}
	f, err := authz.FilterFromDescribe(req)
	if err != nil {
		return authz.DescribeResponse(req, nil, err)
	}
	return authz.DescribeResponse(req, a.ACLs(f), nil)
}
