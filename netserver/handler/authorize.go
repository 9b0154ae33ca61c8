package handler

// Authorization of the Kafka APIs, as Kafka's KafkaApis asks its
// authorizer (through AuthHelper). Each handler applies the checks of its
// API's row in authz.Required: it takes the request's access once
// (b.access(ctx): the broker's authorizer and the connection's Identity)
// and asks it about the resources the request names, answering Kafka's
// codes where Kafka does (TOPIC_AUTHORIZATION_FAILED per topic,
// GROUP_AUTHORIZATION_FAILED, TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
// CLUSTER_AUTHORIZATION_FAILED for the request). Where Kafka would not
// reveal whether a topic exists, the check comes before the lookup.
//
// Without an authorizer (Config.Authorizer nil) every question is
// allowed at the cost of one nil check, and the authorized-operations
// fields keep the answers they give without ACLs. Produce calls this for
// every topic of every request: an allowed question is the authorizer's
// cached decision (a hash and an atomic load), no allocation.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/rillmq/rill/netserver/authz"
)

// access is who asks, and whom: the broker's authorizer (nil: none) and
// the request's identity. The zero value allows everything.
type access struct {
	authorizer *authz.Authorizer
	id         Identity
}

// access is the access of a request served under ctx. It and allowed
// inline to a nil check without an authorizer.
func (b *Broker) access(ctx context.Context) access {
	if b.cfg.Authorizer == nil {
		return access{}
	}
	return b.accessOf(ctx)
}

func (b *Broker) accessOf(ctx context.Context) access {
	return access{authorizer: b.cfg.Authorizer, id: IdentityOf(ctx)}
}

// enabled reports whether an authorizer decides (the authorized-operations
// fields are computed only then).
func (ac access) enabled() bool { return ac.authorizer != nil }

// allowed reports whether the principal may perform op on the resource
// (typ, name), as AuthHelper.authorize.
func (ac access) allowed(op authz.Operation, typ authz.ResourceType, name string) bool {
	return ac.authorizer == nil || ac.decide(op, typ, name)
}

// decide asks the authorizer; kept out of line so that allowed inlines.
//
//go:noinline
func (ac *access) decide(op authz.Operation, typ authz.ResourceType, name string) bool {
	return ac.authorizer.Authorize(authz.Request{Principal: ac.id.Principal, Host: ac.id.Host, Operation: op,
		Resource: authz.Resource{Type: typ, Name: name}}).Allowed
}

// cluster reports whether the principal may perform op on the cluster.
func (ac access) cluster(op authz.Operation) bool {
	return ac.allowed(op, authz.ResourceCluster, authz.ClusterName)
}

// topic reports whether the principal may perform op on the topic.
func (ac access) topic(op authz.Operation, name string) bool {
	return ac.allowed(op, authz.ResourceTopic, name)
}

// group reports whether the principal may perform op on the group.
func (ac access) group(op authz.Operation, id string) bool {
	return ac.allowed(op, authz.ResourceGroup, id)
}

// transactionalID reports whether the principal may perform op on the
// transactional id.
func (ac access) transactionalID(op authz.Operation, id string) bool {
	return ac.allowed(op, authz.ResourceTransactionalID, id)
}

// anyOfType reports whether the principal may perform op on at least one
// resource of type typ (AuthHelper.authorizeByResourceType).
func (ac access) anyOfType(op authz.Operation, typ authz.ResourceType) bool {
	if ac.authorizer == nil {
		return true
	}
	return ac.authorizer.AuthorizeAny(ac.id.Principal, ac.id.Host, op, typ).Allowed
}

// operations is the authorized-operations bit field of a resource
// (AuthHelper.authorizedOperations); only called with an authorizer.
func (ac access) operations(typ authz.ResourceType, name string) int32 {
	return ac.authorizer.AuthorizedOperations(ac.id.Principal, ac.id.Host, authz.Resource{Type: typ, Name: name})
}

// clusterOperations is the cluster_authorized_operations answer of
// Metadata (v8-v10) and DescribeCluster when asked for: the cluster's
// operations if the principal may DESCRIBE it, else 0, as Kafka answers;
// without an authorizer the schema's "unknown" value, as before ACLs
// (Kafka answers every operation there).
func (ac access) clusterOperations() int32 {
	switch {
	case !ac.enabled():
		return unknownAuthorizedOperations
	case !ac.cluster(authz.OpDescribe):
		return 0
	}
	return ac.operations(authz.ResourceCluster, authz.ClusterName)
}

// unknownAuthorizedOperations is the schemas' default of the
// authorized-operations fields: not asked for, or not known.
const unknownAuthorizedOperations int32 = -2147483648

// Kafka's authorization errors, as kerr spells them.
var (
	errTopicDenied   = kerr.TopicAuthorizationFailed
	errGroupDenied   = kerr.GroupAuthorizationFailed
	errClusterDenied = kerr.ClusterAuthorizationFailed
	errTxnIDDenied   = kerr.TransactionalIDAuthorizationFailed
)
