package handler

// AlterPartitionReassignments (key 45, v0-1) and ListPartitionReassignments
// (key 46, v0).
//
// In a cluster the active controller moves a partition to the replicas
// asked for: the new ones join as followers, copy the log and enter the
// ISR; once every target replica is in the ISR the old ones are dropped
// (and delete their copy) and leadership moves into the target set if it
// was outside. Null replicas cancel a move in progress
// (NO_REASSIGNMENT_IN_PROGRESS when there is none). Replicas must be
// registered brokers, named once (INVALID_REPLICA_ASSIGNMENT); with
// AllowReplicationFactorChange false (v1) the count must stay the same.
// ListPartitionReassignments answers from this broker's copy of the
// metadata: the moving partitions with their replicas, adding and removing
// ones; null topics lists all. A single node has nowhere to move a
// partition: INVALID_REPLICA_ASSIGNMENT from the controller.
//
// Authorization: AlterPartitionReassignments needs ALTER on the cluster,
// else CLUSTER_AUTHORIZATION_FAILED at the top and on every requested
// partition; ListPartitionReassignments DESCRIBE on the cluster, else
// CLUSTER_AUTHORIZATION_FAILED at the top (the requested partitions
// listed back, as Kafka's error answer does).

import (
	"context"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/rillmq/rill/internal/kafka"
	"github.com/rillmq/rill/netserver/authz"
)

func (b *Broker) alterPartitionReassignments(ctx context.Context, req *kmsg.AlterPartitionAssignmentsRequest) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.AlterPartitionAssignmentsResponse)
	resp.AllowReplicationFactorChange = req.AllowReplicationFactorChange
	if !b.access(ctx).cluster(authz.OpAlter) {
		e := errClusterDenied
		resp.ErrorCode, resp.ErrorMessage = e.Code, kmsg.StringPtr(e.Description)
		for _, rt := range req.Topics {
			st := kmsg.NewAlterPartitionAssignmentsResponseTopic()
			st.Topic = rt.Topic
			for _, rp := range rt.Partitions {
				sp := kmsg.NewAlterPartitionAssignmentsResponseTopicPartition()
				sp.Partition, sp.ErrorCode, sp.ErrorMessage = rp.Partition, e.Code, kmsg.StringPtr(e.Description)
				st.Partitions = append(st.Partitions, sp)
			}
			resp.Topics = append(resp.Topics, st)
		}
		return resp
	}
	c := b.cluster
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(max(req.TimeoutMillis, 1000))*time.Millisecond)
	defer cancel()
	for _, rt := range req.Topics {
		st := kmsg.NewAlterPartitionAssignmentsResponseTopic()
		st.Topic = rt.Topic
		for _, rp := range rt.Partitions {
			sp := kmsg.NewAlterPartitionAssignmentsResponseTopicPartition()
			sp.Partition = rp.Partition
			err := func() error {
				cur, ok := c.Partition(rt.Topic, rp.Partition)
				if !ok {
					return kerr.UnknownTopicOrPartition
				}
				if req.Version >= 1 && !req.AllowReplicationFactorChange && rp.Replicas != nil &&
					len(rp.Replicas) != len(cur.Replicas)-len(cur.Removing) {
					return kerr.InvalidReplicationFactor
				}
				return c.Reassign(ctx, rt.Topic, rp.Partition, rp.Replicas)
			}()
			if err != nil {
				ke := toKerr(err)
				sp.ErrorCode, sp.ErrorMessage = ke.Code, kmsg.StringPtr(err.Error())
			}
			st.Partitions = append(st.Partitions, sp)
		}
		resp.Topics = append(resp.Topics, st)
	}
	return resp
}

func (b *Broker) listPartitionReassignments(ctx context.Context, req *kmsg.ListPartitionReassignmentsRequest) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.ListPartitionReassignmentsResponse)
	if !b.access(ctx).cluster(authz.OpDescribe) {
		e := errClusterDenied
		resp.ErrorCode, resp.ErrorMessage = e.Code, kmsg.StringPtr(e.Description)
		for _, t := range req.Topics {
			rt := kmsg.NewListPartitionReassignmentsResponseTopic()
			rt.Topic = t.Topic
			for _, p := range t.Partitions {
				rp := kmsg.NewListPartitionReassignmentsResponseTopicPartition()
				rp.Partition = p
				rt.Partitions = append(rt.Partitions, rp)
			}
			resp.Topics = append(resp.Topics, rt)
		}
		return resp
	}
	moving := b.cluster.Reassignments()
	want := func(kafka.TopicPartition) bool { return true }
	if req.Topics != nil {
		asked := map[kafka.TopicPartition]bool{}
		for _, t := range req.Topics {
			for _, p := range t.Partitions {
				asked[kafka.TopicPartition{Topic: t.Topic, Partition: p}] = true
			}
		}
		want = func(r kafka.TopicPartition) bool { return asked[r] }
	}
	refs := make([]kafka.TopicPartition, 0, len(moving))
	for ref := range moving {
		if want(ref) {
			refs = append(refs, ref)
		}
	}
	sortRefs(refs)
	for _, ref := range refs {
		if n := len(resp.Topics); n == 0 || resp.Topics[n-1].Topic != ref.Topic {
			t := kmsg.NewListPartitionReassignmentsResponseTopic()
			t.Topic = ref.Topic
			resp.Topics = append(resp.Topics, t)
		}
		m := moving[ref]
		p := kmsg.NewListPartitionReassignmentsResponseTopicPartition()
		p.Partition, p.Replicas, p.AddingReplicas, p.RemovingReplicas = ref.Partition, m.Replicas, m.Adding, m.Removing
		t := &resp.Topics[len(resp.Topics)-1]
		t.Partitions = append(t.Partitions, p)
	}
	return resp
}
