package handler

// AlterUserScramCredentials (key 51), v0 (KIP-554): deletions and
// upsertions (the salt and salted password the client computed) go to
// the active controller in one request, as a Kafka broker forwards them;
// the controller applies Kafka's rules (package controller: a user named
// once per request, else DUPLICATE_RESOURCE; UNSUPPORTED_SASL_MECHANISM;
// UNACCEPTABLE_CREDENTIAL for an empty user or iterations outside
// 4096-16384; RESOURCE_NOT_FOUND deleting a credential that does not
// exist) and stores the salt, StoredKey, ServerKey and iterations, never
// the salted password. Each user is answered once this broker has applied
// the change.
//
// Authorization: ALTER on the cluster (any client without an authorizer),
// else CLUSTER_AUTHORIZATION_FAILED for every user named, in name order
// (Kafka's error answer); a request the controller did not answer in time
// is answered likewise with its error.

import (
	"context"
	"maps"
	"slices"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/rillmq/rill/netserver/authz"
	"github.com/rillmq/rill/replication/controller"
)

func (b *Broker) alterUserSCRAMs(ctx context.Context, req *kmsg.AlterUserSCRAMCredentialsRequest) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.AlterUserSCRAMCredentialsResponse)
	var results []controller.ScramResult
	err := error(nil)
	if !b.securityAdminAllowed(ctx, authz.OpAlter) {
		err = kerr.ClusterAuthorizationFailed
	} else {
		var deletions []controller.ScramDeletion
		var upsertions []controller.ScramUpsertion
		for _, d := range req.Deletions {
			deletions = append(deletions, controller.ScramDeletion{User: d.Name, Mechanism: d.Mechanism})
		}
		for _, u := range req.Upsertions {
			upsertions = append(upsertions, controller.ScramUpsertion{User: u.Name, Mechanism: u.Mechanism, Iterations: u.Iterations,
				Salt: u.Salt, SaltedPassword: u.SaltedPassword})
		}
		cctx, cancel := context.WithTimeout(ctx, adminTimeout)
		defer cancel()
		results, err = b.cluster.AlterScramCredentials(cctx, deletions, upsertions)
	}
	if err != nil {
		users := map[string]bool{}
		for _, d := range req.Deletions {
			users[d.Name] = true
		}
		for _, u := range req.Upsertions {
			users[u.Name] = true
		}
		results = nil
		for _, user := range slices.Sorted(maps.Keys(users)) {
			results = append(results, controller.ScramResult{User: user, Err: err})
		}
	}
	for _, res := range results {
		r := kmsg.NewAlterUserSCRAMCredentialsResponseResult()
		r.User = res.User
		r.ErrorCode, r.ErrorMessage = securityErrorCode(res.Err)
		resp.Results = append(resp.Results, r)
	}
	return resp
}
