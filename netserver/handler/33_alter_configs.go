package handler

// AlterConfigs (key 33), v0-v2, and IncrementalAlterConfigs (key 44), v0-v1.
//
// Topic and group resources: AlterConfigs replaces the resource's whole
// override set; IncrementalAlterConfigs applies SET, DELETE, APPEND and
// SUBTRACT (the last two on list configs: cleanup.policy; no group config
// is a list). Values are validated (INVALID_CONFIG); ValidateOnly changes
// nothing. New values apply to the topic's logs at once (size and time
// settings from the next roll or retention pass). Group configs
// (group_configs.go) are stored through the active controller and hold on
// every broker once the request returns on this one. Broker resources answer INVALID_REQUEST: dynamic broker
// configs are not supported. IncrementalAlterConfigs changes broker-logger
// resources, the run-time log levels (broker_loggers.go).
//
// Authorization: ALTER_CONFIGS on the cluster for broker (and
// broker-logger, client-metrics) resources, else
// CLUSTER_AUTHORIZATION_FAILED; on the topic, else
// TOPIC_AUTHORIZATION_FAILED (before the topic is looked up); on the
// group, else GROUP_AUTHORIZATION_FAILED.

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/rillmq/rill/engine/log"
	"github.com/rillmq/rill/netserver/authz"
)

// alterResource applies edit to a topic or group resource's overrides
// and answers the per-resource error code and message; other resource
// types are refused, after the principal's ALTER_CONFIGS on the resource
// is checked.
func (b *Broker) alterResource(ac access, typ kmsg.ConfigResourceType, name string, validateOnly bool, edit func(map[string]string) error) (int16, *string) {
	if e := ac.configResourceDenied(authz.OpAlterConfigs, typ, name); e != nil {
		return e.Code, nil
	}
	switch typ {
	case kmsg.ConfigResourceTypeTopic:
	case kmsg.ConfigResourceTypeGroupConfig:
		if code, msg := b.applyGroupConfigs(name, validateOnly, edit); code != nil {
			if msg == "" {
				return code.Code, nil
			}
			return code.Code, kmsg.StringPtr(msg)
		}
		return 0, nil
	case kmsg.ConfigResourceTypeBroker:
		// Kafka answers INVALID_REQUEST for a config that cannot change
		// at run time; in Rill none can, so say where they are set.
		return kerr.InvalidRequest.Code, kmsg.StringPtr("broker configs cannot be updated dynamically in Rill: set them in the broker's properties file, KAFKA_ environment or --set, and restart it")
	default:
		return kerr.InvalidRequest.Code, kmsg.StringPtr(fmt.Sprintf("configs of resource type %v cannot be altered; only topic and group configs can", typ))
	}
	if code, msg := b.applyTopicConfigs(name, validateOnly, edit); code != nil {
		if msg == "" {
			return code.Code, nil
		}
		return code.Code, kmsg.StringPtr(msg)
	}
	return 0, nil
}

func (b *Broker) alterConfigs(ctx context.Context, req *kmsg.AlterConfigsRequest) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.AlterConfigsResponse)
	ac := b.access(ctx)
	for _, r := range req.Resources {
		rr := kmsg.NewAlterConfigsResponseResource()
		rr.ResourceType, rr.ResourceName = r.ResourceType, r.ResourceName
		rr.ErrorCode, rr.ErrorMessage = b.alterResource(ac, r.ResourceType, r.ResourceName, req.ValidateOnly, func(m map[string]string) error {
			clear(m) // AlterConfigs replaces the whole override set
			for _, c := range r.Configs {
				if c.Value != nil {
					m[c.Name] = *c.Value
				}
			}
			return nil
		})
		resp.Resources = append(resp.Resources, rr)
	}
	return resp
}

func (b *Broker) incrementalAlterConfigs(ctx context.Context, req *kmsg.IncrementalAlterConfigsRequest) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.IncrementalAlterConfigsResponse)
	ac := b.access(ctx)
	for _, r := range req.Resources {
		rr := kmsg.NewIncrementalAlterConfigsResponseResource()
		rr.ResourceType, rr.ResourceName = r.ResourceType, r.ResourceName
		if r.ResourceType == kmsg.ConfigResourceTypeBrokerLogger { // broker_loggers.go
			if e := ac.configResourceDenied(authz.OpAlterConfigs, r.ResourceType, r.ResourceName); e != nil {
				rr.ErrorCode = e.Code
			} else {
				rr.ErrorCode, rr.ErrorMessage = b.alterBrokerLoggers(r.ResourceName, r.Configs, req.ValidateOnly)
			}
			resp.Resources = append(resp.Resources, rr)
			continue
		}
		rr.ErrorCode, rr.ErrorMessage = b.alterResource(ac, r.ResourceType, r.ResourceName, req.ValidateOnly, func(m map[string]string) error {
			if r.ResourceType == kmsg.ConfigResourceTypeGroupConfig {
				return applyGroupIncremental(m, r.Configs)
			}
			return b.applyIncremental(m, r.Configs)
		})
		resp.Resources = append(resp.Resources, rr)
	}
	return resp
}

// applyIncremental applies SET, DELETE, APPEND and SUBTRACT to overrides.
func (b *Broker) applyIncremental(m map[string]string, configs []kmsg.IncrementalAlterConfigsRequestResourceConfig) error {
	for _, c := range configs {
		if _, known := log.ConfigDocs[c.Name]; !known {
			return fmt.Errorf("Unknown topic config name: %s", c.Name)
		}
		switch c.Op {
		case kmsg.IncrementalAlterConfigOpSet:
			if c.Value == nil {
				return fmt.Errorf("%s: SET without a value", c.Name)
			}
			m[c.Name] = *c.Value
		case kmsg.IncrementalAlterConfigOpDelete:
			delete(m, c.Name)
		case kmsg.IncrementalAlterConfigOpAppend, kmsg.IncrementalAlterConfigOpSubtract:
			if log.ConfigDocs[c.Name].Type != 7 {
				return fmt.Errorf("%s: APPEND and SUBTRACT apply to list configs only", c.Name)
			}
			if c.Value == nil {
				return fmt.Errorf("%s: %v without a value", c.Name, c.Op)
			}
			cur, ok := m[c.Name]
			if !ok {
				cur, _ = b.cfg.LogDefaults.Get(c.Name)
			}
			items := strings.Split(cur, ",")
			for _, v := range strings.Split(*c.Value, ",") {
				i := slices.Index(items, v)
				if c.Op == kmsg.IncrementalAlterConfigOpAppend && i < 0 {
					items = append(items, v)
				} else if c.Op == kmsg.IncrementalAlterConfigOpSubtract && i >= 0 {
					items = slices.Delete(items, i, i+1)
				}
			}
			m[c.Name] = strings.Join(items, ",")
		default:
			return fmt.Errorf("%s: unknown operation %d", c.Name, c.Op)
		}
	}
	return nil
}
