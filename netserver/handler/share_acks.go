package handler

// Acknowledgements of ShareFetch and ShareAcknowledge: per partition, the
// checks (topic, authorization, types), then the share partition's
// all-or-nothing apply and write.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/rillmq/rill/coordinator/sharepart"
	"github.com/rillmq/rill/internal/kafka"
	"github.com/rillmq/rill/netserver/authz"
	"github.com/rillmq/rill/netserver/sharesession"
)

// shareAcks applies the acknowledgements of a ShareFetch or
// ShareAcknowledge, one partition at a time, and reports each
// partition's outcome to result.
func (b *Broker) shareAcks(ctx context.Context, ac access, group, member string, topics []kmsg.ShareFetchRequestTopic, renew bool, result func(sharesession.Partition, *kerr.Error)) {
	for _, t := range topics {
		for _, p := range t.Partitions {
			if len(p.AcknowledgementBatches) == 0 {
				continue
			}
			acks := make([]sharepart.AckBatch, 0, len(p.AcknowledgementBatches))
			for _, a := range p.AcknowledgementBatches {
				acks = append(acks, sharepart.AckBatch{First: a.FirstOffset, Last: a.LastOffset, Types: ackTypes(a.AcknowledgeTypes)})
			}
			part := sharesession.Partition{TopicID: t.TopicID, Partition: p.Partition}
			result(part, b.shareAckPartition(ctx, ac, group, member, part, acks, renew))
		}
	}
}

// shareAckPartition applies one partition's acknowledgement batches.
func (b *Broker) shareAckPartition(ctx context.Context, ac access, group, member string, p sharesession.Partition, acks []sharepart.AckBatch, renew bool) *kerr.Error {
	t, ok := b.topicByID(p.TopicID)
	if !ok {
		return kerr.UnknownTopicID
	}
	if !ac.topic(authz.OpRead, t.Name) {
		return errTopicDenied
	}
	for _, a := range acks {
		for _, typ := range a.Types {
			if typ < sharepart.AckGap || typ > sharepart.AckRenew || (typ == sharepart.AckRenew && !renew) {
				return kerr.InvalidRequest
			}
		}
	}
	tp := kafka.TopicPartition{Topic: t.Name, Partition: p.Partition}
	sp, code := b.shares.get(ctx, shareKey{group, p.TopicID, p.Partition}, tp, false)
	if code != nil {
		return code
	}
	return sp.acknowledge(ctx, member, acks)
}

func ackTypes(in []int8) []sharepart.AckType {
	out := make([]sharepart.AckType, len(in))
	for i, t := range in {
		out[i] = sharepart.AckType(t)
	}
	return out
}
