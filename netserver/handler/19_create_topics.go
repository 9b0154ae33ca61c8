package handler

// CreateTopics (key 19), v0-v7.
//
// NumPartitions and ReplicationFactor of -1 take num.partitions and
// default.replication.factor (v4+ semantics, accepted at every version).
// The active controller places the replicas: a replication factor above
// the number of live brokers is INVALID_REPLICATION_FACTOR; a manual
// replica assignment must name partitions 0..n-1 in order, each with the
// same number of distinct registered brokers (INVALID_REPLICA_ASSIGNMENT).
// Configs are validated against the topic-level names the engine knows
// (INVALID_CONFIG otherwise). ValidateOnly (v1+) checks everything and
// creates nothing. The answer comes once this broker has applied the new
// topic; when this broker cannot create its partitions of it (descriptor
// limit, disk), the topic is deleted again and the answer is
// KAFKA_STORAGE_ERROR with the reason. v5+ answers the partition count,
// replication factor and configs (with their sources) of the topic.
//
// Authorization, as Kafka's controller: CREATE on the cluster, or on the
// topic, else TOPIC_AUTHORIZATION_FAILED (checked after the duplicate
// check, before any other); the answer's partition count, replication
// factor and configs need DESCRIBE_CONFIGS on the topic, else they are
// left out and ConfigErrorCode (v5+) is TOPIC_AUTHORIZATION_FAILED.
//
// Quotas (quota.go): each topic's partitions count against
// controller_mutation_rate after its other checks (validate-only too);
// from v6 a topic over the quota is THROTTLING_QUOTA_EXCEEDED, before v6
// it is created; either way the answer carries the throttle time.

import (
	"context"
	"fmt"
	"regexp"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/rillmq/rill/engine/log"
	"github.com/rillmq/rill/netserver/authz"
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

func (b *Broker) createTopics(ctx context.Context, req *kmsg.CreateTopicsRequest) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.CreateTopicsResponse)
	ac := b.access(ctx)
	anyTopic := ac.cluster(authz.OpCreate)
	mutations := b.mutationQuota(ctx, req.Version, 6)
	defer b.finishMutations(ctx, mutations, resp)
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
		if !anyTopic && !ac.topic(authz.OpCreate, rt.Topic) {
			fail(errTopicDenied, "Authorization failed.")
			continue
		}
		if err := validTopicName(rt.Topic); err != nil {
			fail(kerr.InvalidTopicException, err.Error())
			continue
		}
		parts, rf := rt.NumPartitions, rt.ReplicationFactor
		var assignment [][]int32
		if len(rt.ReplicaAssignment) > 0 {
			if parts != -1 || rf != -1 {
				fail(kerr.InvalidRequest, "both replica assignment and partition count or replication factor given")
				continue
			}
			parts = int32(len(rt.ReplicaAssignment))
			rf = int16(len(rt.ReplicaAssignment[0].Replicas))
			bad := false
			for i, a := range rt.ReplicaAssignment {
				if a.Partition != int32(i) || len(a.Replicas) != int(rf) {
					bad = true
				}
				assignment = append(assignment, a.Replicas)
			}
			if bad {
				fail(kerr.InvalidReplicaAssignment, "replica assignment must name partitions 0..n-1 in order, each with the same number of replicas")
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
		if parts > MaxTopicPartitions {
			fail(kerr.PolicyViolation, tooManyPartitions(parts))
			continue
		}
		if live := len(b.cluster.Brokers()); rf <= 0 || int(rf) > live {
			fail(kerr.InvalidReplicationFactor, fmt.Sprintf("replication factor %d with %d live brokers", rf, live))
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
		if _, exists := b.topic(rt.Topic); exists {
			fail(kerr.TopicAlreadyExists, fmt.Sprintf("topic %q already exists", rt.Topic))
			continue
		}
		if err := mutations.Record(float64(parts), b.now()); err != nil {
			fail(kerr.ThrottlingQuotaExceeded, throttlingQuotaMessage)
			continue
		}
		if !req.ValidateOnly {
			qc, waitStart := quotaWaitStart(ctx)
			t, err := b.createTopicAnywhere(rt.Topic, parts, rf, configs, assignment)
			quotaWaited(qc, waitStart)
			if err != nil {
				fail(toKerr(err), err.Error())
				continue
			}
			st.TopicID = t.ID
		}
		if ac.topic(authz.OpDescribeConfigs, rt.Topic) {
			st.NumPartitions, st.ReplicationFactor = parts, rf
			st.Configs = describeTopicConfigs(b.cfg.LogDefaults, configs)
		} else {
			st.ConfigErrorCode = errTopicDenied.Code
		}
		resp.Topics = append(resp.Topics, st)
	}
	return resp
}

// describeTopicConfigs lists every topic-level config with its effective
// value and source: 1 = dynamic topic config, 5 = default.
func describeTopicConfigs(defaults log.Config, overrides map[string]string) []kmsg.CreateTopicsResponseTopicConfig {
	lc := metadata.LogConfig(defaults, metadata.Topic{Configs: overrides})
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
