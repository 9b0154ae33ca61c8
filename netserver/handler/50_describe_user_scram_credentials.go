package handler

// DescribeUserScramCredentials (key 50), v0 (KIP-554): the SCRAM
// mechanisms and iteration counts of users, from the metadata this broker
// has applied (as Kafka's brokers answer from their metadata image; salts
// and keys are never given). No users (or null) describes every user with
// a credential, sorted by name; named users are answered in the order
// named, RESOURCE_NOT_FOUND for one without credentials and
// DUPLICATE_RESOURCE, once, for one named twice (Kafka's messages).
//
// Authorization: DESCRIBE on the cluster (any client without an
// authorizer), else CLUSTER_AUTHORIZATION_FAILED for the request and each
// named user.

import (
	"context"
	"maps"
	"slices"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/rillmq/rill/netserver/authz"
)

func (b *Broker) describeUserSCRAMs(ctx context.Context, req *kmsg.DescribeUserSCRAMCredentialsRequest) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.DescribeUserSCRAMCredentialsResponse)
	if !b.securityAdminAllowed(ctx, authz.OpDescribe) {
		resp.ErrorCode, resp.ErrorMessage = securityErrorCode(kerr.ClusterAuthorizationFailed)
		for _, u := range req.Users {
			r := kmsg.NewDescribeUserSCRAMCredentialsResponseResult()
			r.User, r.ErrorCode, r.ErrorMessage = u.Name, resp.ErrorCode, resp.ErrorMessage
			resp.Results = append(resp.Results, r)
		}
		return resp
	}
	creds := b.cluster.ScramCredentials()
	var users []string
	twice := map[string]bool{}
	if len(req.Users) == 0 {
		users = slices.Sorted(maps.Keys(creds))
	} else {
		seen := map[string]bool{}
		for _, u := range req.Users {
			if seen[u.Name] {
				twice[u.Name] = true
				continue
			}
			seen[u.Name] = true
			users = append(users, u.Name)
		}
	}
	for _, user := range users {
		r := kmsg.NewDescribeUserSCRAMCredentialsResponseResult()
		r.User = user
		switch cs := creds[user]; {
		case twice[user]:
			r.ErrorCode = kerr.DuplicateResource.Code
			r.ErrorMessage = kmsg.StringPtr("Cannot describe SCRAM credentials for the same user twice in a single request: " + user)
		case len(cs) == 0:
			r.ErrorCode = kerr.ResourceNotFound.Code
			r.ErrorMessage = kmsg.StringPtr("Attempt to describe a user credential that does not exist: " + user)
		default:
			for _, c := range cs {
				info := kmsg.NewDescribeUserSCRAMCredentialsResponseResultCredentialInfo()
				info.Mechanism, info.Iterations = c.Mechanism, c.Iterations
				r.CredentialInfos = append(r.CredentialInfos, info)
			}
		}
		resp.Results = append(resp.Results, r)
	}
	return resp
}
