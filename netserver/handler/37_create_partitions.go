package handler

// CreatePartitions (key 37), v0-v3.
//
// Count is the new total; it must exceed the current count
// (INVALID_PARTITIONS). Manual assignments must name this broker alone
// (INVALID_REPLICA_ASSIGNMENT). ValidateOnly creates nothing.

import (
	"errors"
	"fmt"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/rillmq/rill/engine"
	"github.com/rillmq/rill/replication/metadata"
)

func (b *Broker) createPartitions(req *kmsg.CreatePartitionsRequest) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.CreatePartitionsResponse)
	for _, rt := range req.Topics {
		st := kmsg.NewCreatePartitionsResponseTopic()
		st.Topic = rt.Topic
		if e, msg := b.addPartitions(rt, req.ValidateOnly); e != nil {
			st.ErrorCode = e.Code
			st.ErrorMessage = kmsg.StringPtr(msg)
		}
		resp.Topics = append(resp.Topics, st)
	}
	return resp
}

func (b *Broker) addPartitions(rt kmsg.CreatePartitionsRequestTopic, validateOnly bool) (*kerr.Error, string) {
	if e := b.refuseInCluster(); e != nil {
		return e, "adding partitions does not go through the cluster controller yet"
	}
	b.topicMu.Lock()
	defer b.topicMu.Unlock()
	t, ok := b.catalog.Get(rt.Topic)
	if !ok {
		return kerr.UnknownTopicOrPartition, "unknown topic"
	}
	if rt.Count <= t.Partitions {
		return kerr.InvalidPartitions, fmt.Sprintf("topic has %d partitions; the new count must be larger, got %d", t.Partitions, rt.Count)
	}
	if rt.Assignment != nil {
		if int32(len(rt.Assignment)) != rt.Count-t.Partitions {
			return kerr.InvalidReplicaAssignment, "one assignment per new partition is required"
		}
		for _, a := range rt.Assignment {
			if len(a.Replicas) != 1 || a.Replicas[0] != b.cfg.NodeID {
				return kerr.InvalidReplicaAssignment, "replicas must be this broker alone"
			}
		}
	}
	if validateOnly {
		return nil, ""
	}
	lc := LogConfig(b.cfg.LogDefaults, t)
	for p := t.Partitions; p < rt.Count; p++ {
		if _, err := b.engine.CreatePartition(engine.TopicPartition{Topic: rt.Topic, Partition: p}, lc); err != nil && !errors.Is(err, engine.ErrPartitionExists) {
			return toKerr(err), err.Error()
		}
	}
	if _, err := b.catalog.Update(rt.Topic, func(t *metadata.Topic) error { t.Partitions = rt.Count; return nil }); err != nil {
		return toKerr(err), err.Error()
	}
	return nil, ""
}
