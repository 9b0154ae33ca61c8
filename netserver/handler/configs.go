package handler

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"

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
// to the topic's logs. A refusal comes with its message for the client:
// the config at fault and why.
func (b *Broker) applyTopicConfigs(name string, validateOnly bool, edit func(map[string]string) error) (*kerr.Error, string) {
	t, ok := b.topic(name)
	if !ok {
		return kerr.UnknownTopicOrPartition, ""
	}
	overrides := map[string]string{}
	for k, v := range t.Configs {
		overrides[k] = v
	}
	if err := edit(overrides); err != nil {
		return kerr.InvalidConfig, err.Error()
	}
	lc := b.cfg.LogDefaults
	// In name order, so that of several bad values the same one is named
	// every time.
	for _, k := range slices.Sorted(maps.Keys(overrides)) {
		if err := lc.Set(k, overrides[k]); err != nil {
			return kerr.InvalidConfig, err.Error()
		}
	}
	if validateOnly {
		return nil, ""
	}
	ctx, cancel := context.WithTimeout(context.Background(), adminTimeout)
	defer cancel()
	if err := b.cluster.AlterTopicConfigs(ctx, name, overrides); err != nil {
		return toKerr(err), ""
	}
	if err := b.waitTopic(ctx, name, func(t metadata.Topic, ok bool) bool { return !ok || maps.Equal(t.Configs, overrides) }); err != nil {
		return toKerr(err), ""
	}
	b.log.Info("topic configs set", "topic", name, "configs", overrides)
	return nil, ""
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
			if b.brokerConfigSet(brokerKey) {
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
	"compression.type": "compression.type", "compression.gzip.level": "compression.gzip.level",
	"compression.lz4.level": "compression.lz4.level", "compression.zstd.level": "compression.zstd.level",
}

// BrokerConfig is one broker key as DescribeConfigs reports it.
type BrokerConfig struct {
	Name string
	// Value is nil for a key without a value (Kafka's null default) and
	// for a sensitive one.
	Value *string
	// Source is kmsg.ConfigSourceStaticBrokerConfig for a key set at
	// start (file, environment, --set) or kmsg.ConfigSourceDefaultConfig.
	Source    kmsg.ConfigSource
	Sensitive bool
	Type      kmsg.ConfigType
	Doc       string
	// Synonyms are the keys that set the same value, highest precedence
	// first, the key itself included (Kafka's order).
	Synonyms []BrokerConfigSynonym
}

// BrokerConfigSynonym is one synonym of a broker key and its source.
type BrokerConfigSynonym struct {
	Name   string
	Value  *string
	Source kmsg.ConfigSource
}

// brokerConfigSet reports whether the broker key name, or a synonym it
// falls back to (log.retention.hours for log.retention.ms), was set at
// start.
func (b *Broker) brokerConfigSet(name string) bool {
	i, ok := sort.Find(len(b.cfg.BrokerConfigs), func(i int) int { return strings.Compare(name, b.cfg.BrokerConfigs[i].Name) })
	if !ok {
		return false
	}
	bc := b.cfg.BrokerConfigs[i]
	if bc.Source == kmsg.ConfigSourceStaticBrokerConfig {
		return true
	}
	for _, s := range bc.Synonyms {
		if s.Source == kmsg.ConfigSourceStaticBrokerConfig {
			return true
		}
	}
	return false
}

// brokerConfigEntries lists the broker's keys (all of them, or names),
// each read-only: Rill has no dynamic broker configs.
func (b *Broker) brokerConfigEntries(names []string, synonyms, docs bool) []kmsg.DescribeConfigsResponseResourceConfig {
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	var out []kmsg.DescribeConfigsResponseResourceConfig
	for _, bc := range b.cfg.BrokerConfigs {
		if names != nil && !want[bc.Name] {
			continue
		}
		c := kmsg.NewDescribeConfigsResponseResourceConfig()
		c.Name, c.Value, c.ReadOnly = bc.Name, bc.Value, true
		c.Source, c.IsDefault = bc.Source, bc.Source == kmsg.ConfigSourceDefaultConfig
		c.IsSensitive, c.ConfigType = bc.Sensitive, bc.Type
		if docs && bc.Doc != "" {
			c.Documentation = kmsg.StringPtr(bc.Doc)
		}
		if synonyms {
			for _, s := range bc.Synonyms {
				cs := kmsg.NewDescribeConfigsResponseResourceConfigConfigSynonym()
				cs.Name, cs.Value, cs.Source = s.Name, s.Value, s.Source
				c.ConfigSynonyms = append(c.ConfigSynonyms, cs)
			}
		}
		out = append(out, c)
	}
	return out
}

func (b *Broker) isThisBroker(name string) bool {
	return name == "" || name == fmt.Sprint(b.cfg.NodeID)
}
