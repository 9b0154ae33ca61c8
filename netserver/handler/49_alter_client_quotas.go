package handler

// AlterClientQuotas (key 49), v0-v1 (KIP-546): each entry sets and
// removes quota keys of an entity (user and client-id components, or an
// ip, each a name or the default); the entries go to the active
// controller in one request, as a Kafka broker forwards them, and are
// decided with the rules of Kafka's ClientQuotaControlManager (package
// controller): INVALID_REQUEST, with Kafka's message, for an empty or
// unknown entity, an empty name, an ip combined with a user or client id
// or not an address, a key the entity cannot hold
// (producer_byte_rate, consumer_byte_rate, request_percentage,
// controller_mutation_rate for users and client ids;
// connection_creation_rate for ips), a value not above 0 or fractional
// for an integral key, a key twice, an entity twice. ValidateOnly decides
// and changes nothing. Each entity is answered once this broker has
// applied the change; every broker enforces it once it has too.
//
// Authorization: ALTER_CONFIGS on the cluster (any client without an
// authorizer), else CLUSTER_AUTHORIZATION_FAILED for every entry, as
// named (Kafka's error answer); a request the controller did not answer
// in time is answered likewise with its error.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/rillmq/rill/netserver/authz"
	"github.com/rillmq/rill/replication/controller"
)

func (b *Broker) alterClientQuotas(ctx context.Context, req *kmsg.AlterClientQuotasRequest) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.AlterClientQuotasResponse)
	alterations := make([]controller.QuotaAlteration, len(req.Entries))
	for i, e := range req.Entries {
		for _, p := range e.Entity {
			alterations[i].Entity = append(alterations[i].Entity, controller.QuotaEntityPart{Type: p.Type, Name: p.Name})
		}
		for _, op := range e.Ops {
			alterations[i].Ops = append(alterations[i].Ops, controller.QuotaOp{Key: op.Key, Value: op.Value, Remove: op.Remove})
		}
	}
	var results []controller.QuotaResult
	var err error
	if !b.access(ctx).cluster(authz.OpAlterConfigs) {
		err = kerr.ClusterAuthorizationFailed
	} else {
		cctx, cancel := context.WithTimeout(ctx, adminTimeout)
		defer cancel()
		qc, waitStart := quotaWaitStart(ctx)
		results, err = b.cluster.AlterClientQuotas(cctx, alterations, req.ValidateOnly)
		quotaWaited(qc, waitStart)
	}
	if err != nil {
		results = nil
		for _, a := range alterations {
			results = append(results, controller.QuotaResult{Entity: a.Entity, Err: err})
		}
	}
	for _, res := range results {
		e := kmsg.NewAlterClientQuotasResponseEntry()
		e.ErrorCode, e.ErrorMessage = securityErrorCode(res.Err)
		for _, p := range res.Entity {
			e.Entity = append(e.Entity, kmsg.AlterClientQuotasResponseEntryEntity{Type: p.Type, Name: p.Name})
		}
		resp.Entries = append(resp.Entries, e)
	}
	return resp
}
