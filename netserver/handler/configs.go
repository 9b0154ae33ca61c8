package handler

import (
	"context"
	"fmt"
	"maps"
	"sort"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/rillmq/rill/engine/log"
	"github.com/rillmq/rill/netserver/authz"
	"github.com/rillmq/rill/replication/metadata"
)

// configResourceDenied checks op (DESCRIBE_CONFIGS or ALTER_CONFIGS) on a
// config resource as Kafka's ConfigHelper and KafkaApis do: on the
// cluster for broker, broker-logger and client-metrics resources, on the
// topic or the group for theirs. It returns the denial's error, or nil;
// other resource types are not checked (the handlers refuse them).
func (ac access) configResourceDenied(op authz.Operation, typ kmsg.ConfigResourceType, name string) *kerr.Error {
	switch typ {
	case kmsg.ConfigResourceTypeBroker, kmsg.ConfigResourceTypeBrokerLogger, kmsg.ConfigResourceTypeClientMetrics:
		if !ac.cluster(op) {
			return errClusterDenied
		}
	case kmsg.ConfigResourceTypeTopic:
		if !ac.topic(op, name) {
			return errTopicDenied
		}
	case kmsg.ConfigResourceTypeGroupConfig:
		if !ac.group(op, name) {
			return errGroupDenied
		}
	}
	return nil
}

// applyTopicConfigs validates a topic's new override set and records it
// through the active controller, returning once this broker has applied it
// to the topic's logs.
func (b *Broker) applyTopicConfigs(name string, validateOnly bool, edit func(map[string]string) error) *kerr.Error {
	t, ok := b.topic(name)
	if !ok {
		return kerr.UnknownTopicOrPartition
	}
	overrides := map[string]string{}
	for k, v := range t.Configs {
		overrides[k] = v
	}
	if err := edit(overrides); err != nil {
		return kerr.InvalidConfig
	}
	lc := b.cfg.LogDefaults
	for k, v := range overrides {
		if err := lc.Set(k, v); err != nil {
			return kerr.InvalidConfig
		}
	}
	if validateOnly {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), adminTimeout)
	defer cancel()
	if err := b.cluster.AlterTopicConfigs(ctx, name, overrides); err != nil {
		return toKerr(err)
	}
	if err := b.waitTopic(ctx, name, func(t metadata.Topic, ok bool) bool { return !ok || maps.Equal(t.Configs, overrides) }); err != nil {
		return toKerr(err)
	}
	b.log.Info("topic configs set", "topic", name, "configs", overrides)
	return nil
}

// topicConfigEntries lists a topic's configs: overrides as dynamic topic
// configs (source 1), the rest as defaults (source 5), or static broker
// configs (source 4) where the broker's properties set them.
func (b *Broker) topicConfigEntries(t metadata.Topic, names []string, synonyms, docs bool) []kmsg.DescribeConfigsResponseResourceConfig {
	lc := metadata.LogConfig(b.cfg.LogDefaults, t)
	if names == nil {
		names = log.ConfigNames
	}
	var out []kmsg.DescribeConfigsResponseResourceConfig
	for _, name := range names {
		v, ok := lc.Get(name)
		if !ok {
			continue
		}
		c := kmsg.NewDescribeConfigsResponseResourceConfig()
		c.Name, c.Value = name, kmsg.StringPtr(v)
		c.Source = kmsg.ConfigSourceDefaultConfig
		c.IsDefault = true
		if brokerKey, ok := topicToBroker[name]; ok {
			if _, set := b.cfg.BrokerConfigs[brokerKey]; set {
				c.Source, c.IsDefault = kmsg.ConfigSourceStaticBrokerConfig, false
			}
		}
		if ov, ok := t.Configs[name]; ok {
			// The override as the user wrote it (list order kept).
			c.Value = kmsg.StringPtr(ov)
			c.Source, c.IsDefault = kmsg.ConfigSourceDynamicTopicConfig, false
			if synonyms {
				s := kmsg.NewDescribeConfigsResponseResourceConfigConfigSynonym()
				s.Name, s.Value, s.Source = name, kmsg.StringPtr(ov), kmsg.ConfigSourceDynamicTopicConfig
				c.ConfigSynonyms = append(c.ConfigSynonyms, s)
			}
		}
		if d, ok := log.ConfigDocs[name]; ok {
			c.ConfigType = kmsg.ConfigType(d.Type)
			if docs {
				c.Documentation = kmsg.StringPtr(d.Doc)
			}
		}
		out = append(out, c)
	}
	return out
}

// topicToBroker maps topic-level names to the broker defaults that set them.
var topicToBroker = map[string]string{
	"segment.bytes": "log.segment.bytes", "segment.ms": "log.roll.ms", "index.interval.bytes": "log.index.interval.bytes",
	"segment.index.bytes": "log.index.size.max.bytes", "retention.ms": "log.retention.ms", "retention.bytes": "log.retention.bytes",
	"cleanup.policy": "log.cleanup.policy", "delete.retention.ms": "log.cleaner.delete.retention.ms",
	"min.compaction.lag.ms": "log.cleaner.min.compaction.lag.ms", "flush.messages": "log.flush.interval.messages",
	"flush.ms": "log.flush.interval.ms", "file.delete.delay.ms": "log.segment.delete.delay.ms",
	"max.message.bytes": "message.max.bytes", "message.timestamp.type": "log.message.timestamp.type",
	"min.insync.replicas": "min.insync.replicas", "unclean.leader.election.enable": "unclean.leader.election.enable",
}

func (b *Broker) brokerConfigEntries(names []string) []kmsg.DescribeConfigsResponseResourceConfig {
	if names == nil {
		for k := range b.cfg.BrokerConfigs {
			names = append(names, k)
		}
		sort.Strings(names)
	}
	var out []kmsg.DescribeConfigsResponseResourceConfig
	for _, name := range names {
		v, ok := b.cfg.BrokerConfigs[name]
		if !ok {
			continue
		}
		c := kmsg.NewDescribeConfigsResponseResourceConfig()
		c.Name, c.Value, c.ReadOnly = name, kmsg.StringPtr(v), true
		c.Source = kmsg.ConfigSourceStaticBrokerConfig
		c.ConfigType = kmsg.ConfigTypeString
		out = append(out, c)
	}
	return out
}

func (b *Broker) isThisBroker(name string) bool {
	return name == "" || name == fmt.Sprint(b.cfg.NodeID)
}
