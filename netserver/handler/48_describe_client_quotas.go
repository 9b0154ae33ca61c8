package handler

// DescribeClientQuotas (key 48), v0-v1 (KIP-546): the client quotas of
// the metadata this broker has applied, as Kafka's brokers answer from
// their metadata image. Each filter component names an entity type
// (user, client-id, ip) and matches an exact name (0), the default (1) or
// any name, the default included (2); an entity matches when it has every
// component's type with a matching name, and, when Strict, no other type.
// No component lists every quota (nothing when Strict). A malformed filter
// (an empty or repeated type, a name with match type 1 or 2 or none with
// 0, an unknown match type, ip with user or client-id) is INVALID_REQUEST;
// an unknown entity type UNSUPPORTED_VERSION, with Kafka's messages.
// Entries are sorted by entity, their values by key.
//
// Authorization: DESCRIBE_CONFIGS on the cluster (any client without an
// authorizer), else CLUSTER_AUTHORIZATION_FAILED.

import (
	"context"
	"errors"
	"maps"
	"slices"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/rillmq/rill/netserver/authz"
	"github.com/rillmq/rill/replication/controller"
)

func (b *Broker) describeClientQuotas(ctx context.Context, req *kmsg.DescribeClientQuotasRequest) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.DescribeClientQuotasResponse)
	if !b.access(ctx).cluster(authz.OpDescribeConfigs) {
		resp.ErrorCode, resp.ErrorMessage = errClusterDenied.Code, kmsg.StringPtr(errClusterDenied.Description)
		return resp
	}
	components := make([]controller.QuotaFilterComponent, len(req.Components))
	for i, c := range req.Components {
		components[i] = controller.QuotaFilterComponent{EntityType: c.EntityType, MatchType: int8(c.MatchType), Match: c.Match}
	}
	entries, err := controller.DescribeClientQuotas(b.cluster.ClientQuotas(), components, req.Strict)
	if err != nil {
		resp.ErrorCode = kerr.InvalidRequest.Code
		if errors.Is(err, controller.ErrUnsupportedQuotaFilter) {
			resp.ErrorCode = kerr.UnsupportedVersion.Code
		}
		resp.ErrorMessage = kmsg.StringPtr(err.Error())
		return resp
	}
	for _, e := range entries {
		re := kmsg.NewDescribeClientQuotasResponseEntry()
		for _, p := range e.Entity.Parts() {
			re.Entity = append(re.Entity, kmsg.DescribeClientQuotasResponseEntryEntity{Type: p.Type, Name: p.Name})
		}
		for _, k := range slices.Sorted(maps.Keys(e.Values)) {
			re.Values = append(re.Values, kmsg.DescribeClientQuotasResponseEntryValue{Key: k, Value: e.Values[k]})
		}
		resp.Entries = append(resp.Entries, re)
	}
	return resp
}
