package handler

// DescribeConfigs (key 32), v0-v4.
//
// Topic resources list every topic-level config with its effective value
// and source (dynamic topic override, static broker default, or Kafka
// default), synonyms when asked (v1+), types and documentation (v3+).
// Broker resources (this broker's node id, or "") list every key of the
// broker's table (internal/brokerconf), read-only: its value (null for a
// sensitive key), source (STATIC_BROKER_CONFIG when set at start by the
// file, environment or --set, else DEFAULT_CONFIG), synonyms (v1+; the
// key, then the keys it overrides, such as log.retention.hours under
// log.retention.ms) and documentation (v3+). Rill has no dynamic broker
// configs. Broker-logger resources (this broker's node id) list the run-time
// log levels (broker_loggers.go). Group resources (GROUP, 32; any group
// id, existing or not) list every group config with its value: the
// group's override (source DYNAMIC_GROUP_CONFIG) or the broker's default
// (DEFAULT_CONFIG), with types, synonyms and documentation
// (group_configs.go); an empty group id is INVALID_REQUEST.
//
// Authorization: DESCRIBE_CONFIGS on the cluster for broker (and
// broker-logger, client-metrics) resources, else
// CLUSTER_AUTHORIZATION_FAILED; on the topic for topic resources, else
// TOPIC_AUTHORIZATION_FAILED (before the topic is looked up); on the
// group for group resources, else GROUP_AUTHORIZATION_FAILED.

import (
	"context"
	"fmt"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/rillmq/rill/netserver/authz"
)

func (b *Broker) describeConfigs(ctx context.Context, req *kmsg.DescribeConfigsRequest) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.DescribeConfigsResponse)
	ac := b.access(ctx)
	for _, r := range req.Resources {
		rr := kmsg.NewDescribeConfigsResponseResource()
		rr.ResourceType, rr.ResourceName = r.ResourceType, r.ResourceName
		if e := ac.configResourceDenied(authz.OpDescribeConfigs, r.ResourceType, r.ResourceName); e != nil {
			rr.ErrorCode, rr.ErrorMessage = e.Code, kmsg.StringPtr(e.Description)
			resp.Resources = append(resp.Resources, rr)
			continue
		}
		switch r.ResourceType {
		case kmsg.ConfigResourceTypeTopic:
			t, ok := b.topic(r.ResourceName)
			if !ok {
				rr.ErrorCode = kerr.UnknownTopicOrPartition.Code
				break
			}
			rr.Configs = b.topicConfigEntries(t, r.ConfigNames, req.IncludeSynonyms, req.IncludeDocumentation)
		case kmsg.ConfigResourceTypeBroker:
			if !b.isThisBroker(r.ResourceName) {
				rr.ErrorCode = kerr.InvalidRequest.Code
				rr.ErrorMessage = kmsg.StringPtr("unknown broker " + r.ResourceName)
				break
			}
			rr.Configs = b.brokerConfigEntries(r.ConfigNames, req.IncludeSynonyms, req.IncludeDocumentation)
		case kmsg.ConfigResourceTypeGroupConfig: // group_configs.go
			if r.ResourceName == "" {
				rr.ErrorCode = kerr.InvalidRequest.Code
				rr.ErrorMessage = kmsg.StringPtr("Group name must not be empty")
				break
			}
			rr.Configs = b.groupConfigEntries(r.ResourceName, r.ConfigNames, req.IncludeSynonyms, req.IncludeDocumentation)
		case kmsg.ConfigResourceTypeBrokerLogger: // broker_loggers.go
			if r.ResourceName != fmt.Sprint(b.cfg.NodeID) || b.cfg.Loggers == nil {
				rr.ErrorCode = kerr.InvalidRequest.Code
				rr.ErrorMessage = kmsg.StringPtr(fmt.Sprintf("Unexpected broker id, expected %d but received %q", b.cfg.NodeID, r.ResourceName))
				break
			}
			rr.Configs = b.brokerLoggerEntries(r.ConfigNames)
		default:
			rr.ErrorCode = kerr.InvalidRequest.Code
			rr.ErrorMessage = kmsg.StringPtr("unsupported resource type")
		}
		resp.Resources = append(resp.Resources, rr)
	}
	return resp
}
