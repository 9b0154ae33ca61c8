package handler

// CreatePartitions (key 37), v0-v3.
//
// Count is the new total; it must exceed the current count
// (INVALID_PARTITIONS). The active controller places the new partitions
// with the topic's replication factor, or as assigned (registered
// brokers, as many as the replication factor; INVALID_REPLICA_ASSIGNMENT
// otherwise).
// ValidateOnly creates nothing. Authorization: ALTER on each topic, else
// TOPIC_AUTHORIZATION_FAILED (before the topic is looked up).
//
// Quotas (quota.go): the partitions added count against
// controller_mutation_rate (validate-only too); from v3 a topic over the
// quota is THROTTLING_QUOTA_EXCEEDED, before v3 it grows; either way the
// answer carries the throttle time.

import (
	"context"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/rillmq/rill/netserver/authz"
	"github.com/rillmq/rill/netserver/quota"
	"github.com/rillmq/rill/replication/metadata"
)

func (b *Broker) createPartitions(ctx context.Context, req *kmsg.CreatePartitionsRequest) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.CreatePartitionsResponse)
	ac := b.access(ctx)
	mutations := b.mutationQuota(ctx, req.Version, 3)
	defer b.finishMutations(ctx, mutations, resp)
	for _, rt := range req.Topics {
		st := kmsg.NewCreatePartitionsResponseTopic()
		st.Topic = rt.Topic
		if !ac.topic(authz.OpAlter, rt.Topic) {
			st.ErrorCode = errTopicDenied.Code
		} else if e, msg := b.addPartitions(ctx, rt, req.ValidateOnly, mutations); e != nil {
			st.ErrorCode = e.Code
			st.ErrorMessage = kmsg.StringPtr(msg)
		}
		resp.Topics = append(resp.Topics, st)
	}
	return resp
}

// MaxTopicPartitions is the most partitions one topic may have. Kafka's
// controller refuses an operation of more than 10,000 records
// (POLICY_VIOLATION, "excessively large batch"), which bounds a topic
// created in one request below 10,000 partitions; Rill serves 100,000
// partitions (BENCHMARKS.md) and refuses a count past 2^20 before
// allocating anything, so a request for a billion partitions gets an
// error, not a broker out of memory.
const MaxTopicPartitions = 1 << 20

func tooManyPartitions(n int32) string {
	return fmt.Sprintf("unable to perform excessively large batch operation: %d partitions, at most %d per topic", n, MaxTopicPartitions)
}

// addPartitions grows a topic through the active controller and returns
// once this broker has applied the new count. Validation without creating
// is answered from this broker's copy of the metadata.
func (b *Broker) addPartitions(reqCtx context.Context, rt kmsg.CreatePartitionsRequestTopic, validateOnly bool, mutations *quota.Mutation) (*kerr.Error, string) {
	t, ok := b.topic(rt.Topic)
	switch {
	case !ok:
		return kerr.UnknownTopicOrPartition, "unknown topic"
	case rt.Count <= t.Partitions:
		return kerr.InvalidPartitions, fmt.Sprintf("topic has %d partitions; the new count must be larger, got %d", t.Partitions, rt.Count)
	case rt.Count > MaxTopicPartitions:
		return kerr.PolicyViolation, tooManyPartitions(rt.Count)
	case mutations.Record(float64(rt.Count-t.Partitions), b.now()) != nil:
		return kerr.ThrottlingQuotaExceeded, throttlingQuotaMessage
	case validateOnly:
		return nil, ""
	}
	qc, waitStart := quotaWaitStart(reqCtx)
	defer quotaWaited(qc, waitStart)
	var assignment [][]int32
	if rt.Assignment != nil {
		assignment = make([][]int32, len(rt.Assignment))
		for i, a := range rt.Assignment {
			assignment[i] = a.Replicas
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := b.cluster.CreatePartitions(ctx, rt.Topic, rt.Count, assignment); err != nil {
		return toKerr(err), err.Error()
	}
	if err := b.waitTopic(ctx, rt.Topic, func(t metadata.Topic, ok bool) bool { return ok && t.Partitions >= rt.Count }); err != nil {
		return toKerr(err), err.Error()
	}
	return nil, ""
}
