package handler

// ListConfigResources (key 74), v0-v1 (KIP-1142; v0 was
// ListClientMetricsResources).
//
// The config resources there are, by type: v0 lists client-metrics
// resources only; v1 takes ResourceTypes (none: every type it supports:
// topic 2, broker 4, broker logger 8, client metrics 16, group 32) and
// lists the topics, the brokers (by id, once as BROKER and once as
// BROKER_LOGGER), and the groups with config overrides. Rill has no
// client-metrics resources (no telemetry receiver, KIP-714), so that type
// lists none. A type outside the version's set answers UNSUPPORTED_VERSION
// with nothing listed, as Kafka's.
//
// Authorization: DESCRIBE_CONFIGS on the cluster, else
// CLUSTER_AUTHORIZATION_FAILED.

import (
	"context"
	"slices"
	"strconv"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/rillmq/rill/netserver/authz"
)

func (b *Broker) listConfigResources(ctx context.Context, req *kmsg.ListConfigResourcesRequest) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.ListConfigResourcesResponse)
	if !b.access(ctx).cluster(authz.OpDescribeConfigs) {
		resp.ErrorCode = kerr.ClusterAuthorizationFailed.Code
		return resp
	}
	supported := []int8{int8(kmsg.ConfigResourceTypeClientMetrics)}
	if req.Version >= 1 {
		supported = []int8{int8(kmsg.ConfigResourceTypeTopic), int8(kmsg.ConfigResourceTypeBroker), int8(kmsg.ConfigResourceTypeBrokerLogger),
			int8(kmsg.ConfigResourceTypeClientMetrics), int8(kmsg.ConfigResourceTypeGroupConfig)}
	}
	types := req.ResourceTypes
	if len(types) == 0 {
		types = supported
	}
	for _, t := range types {
		if !slices.Contains(supported, t) {
			resp.ErrorCode = kerr.UnsupportedVersion.Code
			return resp
		}
	}
	add := func(name string, typ kmsg.ConfigResourceType) {
		r := kmsg.NewListConfigResourcesResponseConfigResource()
		r.Name, r.Type = name, int8(typ)
		resp.ConfigResources = append(resp.ConfigResources, r)
	}
	wants := func(typ kmsg.ConfigResourceType) bool { return slices.Contains(types, int8(typ)) }
	if wants(kmsg.ConfigResourceTypeGroupConfig) {
		for _, g := range b.cluster.GroupConfigGroups() {
			add(g, kmsg.ConfigResourceTypeGroupConfig)
		}
	}
	listener := ListenerOf(ctx)
	for _, typ := range []kmsg.ConfigResourceType{kmsg.ConfigResourceTypeBrokerLogger, kmsg.ConfigResourceTypeBroker} {
		if !wants(typ) {
			continue
		}
		for _, br := range b.cluster.Brokers() {
			if _, _, ok := b.address(listener, br); ok {
				add(strconv.Itoa(int(br.ID)), typ)
			}
		}
	}
	if wants(kmsg.ConfigResourceTypeTopic) {
		for _, t := range b.topics() {
			add(t.Name, kmsg.ConfigResourceTypeTopic)
		}
	}
	return resp
}
