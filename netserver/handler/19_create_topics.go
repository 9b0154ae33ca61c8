package handler

// CreateTopics (key 19), v0-v7.
//
// NumPartitions and ReplicationFactor of -1 take num.partitions and
// default.replication.factor (v4+ semantics, accepted at every version).
// A replication factor above the number of brokers (one) is
// INVALID_REPLICATION_FACTOR; manual replica assignments must name this
// broker only. Configs are validated against the topic-level names the
// engine knows (INVALID_CONFIG otherwise). ValidateOnly (v1+) checks
// everything and creates nothing. v5+ answers the partition count,
// replication factor and configs (with their sources) of the topic.

import (
	"errors"
	"fmt"
	"regexp"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/rillmq/rill/engine"
	"github.com/rillmq/rill/engine/log"
	"github.com/rillmq/rill/replication/metadata"
)

var legalTopic = regexp.MustCompile(`^[a-zA-Z0-9._-]+$`)

func validTopicName(name string) error {
	switch {
	case name == "" || name == "." || name == "..":
		return fmt.Errorf("topic name %q is illegal", name)
	case len(name) > 249:
		return fmt.Errorf("topic name is longer than 249 characters")
	case !legalTopic.MatchString(name):
		return fmt.Errorf("topic name %q has characters other than ASCII alphanumerics, '.', '_' and '-'", name)
	}
	return nil
}

// createTopic records the topic and creates its partitions.
func (b *Broker) createTopic(name string, partitions int32, configs map[string]string) (metadata.Topic, error) {
	b.topicMu.Lock()
	defer b.topicMu.Unlock()
	t, err := b.catalog.Create(name, partitions, configs)
	if err != nil {
		return t, err
	}
	// All or nothing: a partition that cannot be created (the descriptor
	// limit, a full disk) takes the ones before it and the catalog entry
	// back out, so no topic is left with partitions that have no log.
	lc := LogConfig(b.cfg.LogDefaults, t)
	for p := int32(0); p < partitions; p++ {
		tp := engine.TopicPartition{Topic: name, Partition: p}
		if _, err := b.engine.CreatePartition(tp, lc); err != nil && !errors.Is(err, engine.ErrPartitionExists) {
			b.logf("topic %s: creating partition %d of %d failed, topic not created: %v", name, p, partitions, err)
			if derr := b.deleteTopicLocked(t); derr != nil {
				b.logf("topic %s: removing the partly created topic: %v", name, derr)
			}
			return t, fmt.Errorf("%w: creating partition %d of %d: %v", kerr.KafkaStorageError, p, partitions, err)
		}
	}
	b.logf("topic %s created: %d partitions, configs %v", name, partitions, configs)
	return t, nil
}

func (b *Broker) createTopics(req *kmsg.CreateTopicsRequest) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.CreateTopicsResponse)
	seen := map[string]int{}
	for _, rt := range req.Topics {
		seen[rt.Topic]++
	}
	for _, rt := range req.Topics {
		st := kmsg.NewCreateTopicsResponseTopic()
		st.Topic = rt.Topic
		fail := func(e *kerr.Error, msg string) {
			st.ErrorCode = e.Code
			st.ErrorMessage = kmsg.StringPtr(msg)
			st.NumPartitions, st.ReplicationFactor = -1, -1
			resp.Topics = append(resp.Topics, st)
		}
		if seen[rt.Topic] > 1 {
			fail(kerr.InvalidRequest, "topic named more than once in the request")
			continue
		}
		if err := validTopicName(rt.Topic); err != nil {
			fail(kerr.InvalidTopicException, err.Error())
			continue
		}
		parts, rf := rt.NumPartitions, rt.ReplicationFactor
		if len(rt.ReplicaAssignment) > 0 {
			if parts != -1 || rf != -1 {
				fail(kerr.InvalidRequest, "both replica assignment and partition count or replication factor given")
				continue
			}
			parts = int32(len(rt.ReplicaAssignment))
			rf = int16(len(rt.ReplicaAssignment[0].Replicas))
			bad := false
			for i, a := range rt.ReplicaAssignment {
				if a.Partition != int32(i) || len(a.Replicas) != 1 || a.Replicas[0] != b.cfg.NodeID || b.clusterView() != nil {
					bad = true
				}
			}
			if bad {
				fail(kerr.InvalidReplicaAssignment, "replica assignment must name partitions 0..n-1, each on this broker alone")
				continue
			}
		}
		if parts == -1 {
			parts = b.cfg.NumPartitions
		}
		if rf == -1 {
			rf = b.cfg.DefaultReplicationFactor
		}
		if parts <= 0 {
			fail(kerr.InvalidPartitions, "number of partitions must be larger than 0")
			continue
		}
		if rf <= 0 || (rf > 1 && b.clusterView() == nil) { // a cluster's controller checks it against live brokers
			fail(kerr.InvalidReplicationFactor, fmt.Sprintf("replication factor %d is larger than the 1 available broker", rf))
			continue
		}
		configs := map[string]string{}
		lc := b.cfg.LogDefaults
		var cfgErr error
		for _, c := range rt.Configs {
			if c.Value == nil {
				continue
			}
			if err := lc.Set(c.Name, *c.Value); err != nil {
				cfgErr = err
				break
			}
			configs[c.Name] = *c.Value
		}
		if cfgErr != nil {
			fail(kerr.InvalidConfig, cfgErr.Error())
			continue
		}
		if _, exists := b.catalog.Get(rt.Topic); exists {
			fail(kerr.TopicAlreadyExists, fmt.Sprintf("topic %q already exists", rt.Topic))
			continue
		}
		if !req.ValidateOnly {
			t, err := b.createTopicAnywhere(rt.Topic, parts, rf, configs)
			if err != nil {
				fail(toKerr(err), err.Error())
				continue
			}
			st.TopicID = t.ID
		}
		st.NumPartitions, st.ReplicationFactor = parts, rf
		st.Configs = describeTopicConfigs(b.cfg.LogDefaults, configs)
		resp.Topics = append(resp.Topics, st)
	}
	return resp
}

// describeTopicConfigs lists every topic-level config with its effective
// value and source: 1 = dynamic topic config, 5 = default.
func describeTopicConfigs(defaults log.Config, overrides map[string]string) []kmsg.CreateTopicsResponseTopicConfig {
	lc := LogConfig(defaults, metadata.Topic{Configs: overrides})
	var out []kmsg.CreateTopicsResponseTopicConfig
	for _, name := range log.ConfigNames {
		v, _ := lc.Get(name)
		c := kmsg.NewCreateTopicsResponseTopicConfig()
		c.Name, c.Value = name, kmsg.StringPtr(v)
		c.Source = 5
		if _, ok := overrides[name]; ok {
			c.Source = 1
		}
		out = append(out, c)
	}
	return out
}

// Reconcile makes the engine's partitions match the catalog after a crash
// between the two: a topic's missing partitions are created (the catalog
// is written first on create), and partitions of topics the catalog no
// longer has are deleted (it is written first on delete too). Call it once
// before serving.
func (b *Broker) Reconcile() error {
	b.topicMu.Lock()
	defer b.topicMu.Unlock()
	want := map[engine.TopicPartition]metadata.Topic{}
	for _, t := range b.catalog.List() {
		for p := int32(0); p < t.Partitions; p++ {
			want[engine.TopicPartition{Topic: t.Name, Partition: p}] = t
		}
	}
	have := map[engine.TopicPartition]bool{}
	for _, tp := range b.engine.Partitions() {
		have[tp] = true
		if _, ok := want[tp]; !ok {
			b.logf("reconcile: deleting %s, which the catalog does not have", tp)
			if err := b.engine.DeletePartition(tp); err != nil {
				return err
			}
		}
	}
	for tp, t := range want {
		if !have[tp] {
			b.logf("reconcile: creating missing partition %s", tp)
			// A partition that cannot be created now does not stop the
			// broker: requests for it answer KAFKA_STORAGE_ERROR and retry
			// its creation (resolvePartition).
			if _, err := b.engine.CreatePartition(tp, LogConfig(b.cfg.LogDefaults, t)); err != nil {
				b.faults.failed(tp, err)
				b.logf("reconcile: creating %s failed, retried on its next request: %v", tp, err)
			}
		}
	}
	return nil
}
