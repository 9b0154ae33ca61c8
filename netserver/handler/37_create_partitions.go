package handler

// CreatePartitions (key 37), v0-v3.
//
// Count is the new total; it must exceed the current count
// (INVALID_PARTITIONS). On a single broker manual assignments must name
// this broker alone (INVALID_REPLICA_ASSIGNMENT); in a cluster the active
// controller places the new partitions with the topic's replication factor,
// or as assigned (registered brokers, as many as the replication factor).
// ValidateOnly creates nothing.

import (
	"context"
	"errors"
	"fmt"
	"time"

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
	if c := b.clusterView(); c != nil {
		return b.addPartitionsInCluster(c, rt, validateOnly)
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

// addPartitionsInCluster grows a topic through the active controller and
// returns once this broker knows the new count. Validation without
// creating is answered from this broker's copy of the metadata.
func (b *Broker) addPartitionsInCluster(c Cluster, rt kmsg.CreatePartitionsRequestTopic, validateOnly bool) (*kerr.Error, string) {
	t, ok := b.catalog.Get(rt.Topic)
	switch {
	case !ok:
		return kerr.UnknownTopicOrPartition, "unknown topic"
	case rt.Count <= t.Partitions:
		return kerr.InvalidPartitions, fmt.Sprintf("topic has %d partitions; the new count must be larger, got %d", t.Partitions, rt.Count)
	case validateOnly:
		return nil, ""
	}
	var assignment [][]int32
	if rt.Assignment != nil {
		assignment = make([][]int32, len(rt.Assignment))
		for i, a := range rt.Assignment {
			assignment[i] = a.Replicas
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := c.CreatePartitions(ctx, rt.Topic, rt.Count, assignment); err != nil {
		return toKerr(err), err.Error()
	}
	if err := b.waitCatalog(ctx, rt.Topic, func(t metadata.Topic, ok bool) bool { return ok && t.Partitions >= rt.Count }); err != nil {
		return toKerr(err), err.Error()
	}
	return nil, ""
}
