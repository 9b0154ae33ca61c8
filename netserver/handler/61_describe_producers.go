package handler

// DescribeProducers (key 61), v0.
//
// The producers a partition's leader knows (kafka-transactions.sh
// describe-producers, and finding hanging transactions): each producer's
// id, epoch, last sequence and timestamp, the coordinator epoch of its
// last marker and the first offset of its open transaction (-1: none).
// Partitions led elsewhere answer NOT_LEADER_OR_FOLLOWER. Authorization:
// READ on each topic, else its partitions answer
// TOPIC_AUTHORIZATION_FAILED (before the topic is looked up).

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/rillmq/rill/netserver/authz"
)

func (b *Broker) describeProducers(ctx context.Context, req *kmsg.DescribeProducersRequest) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.DescribeProducersResponse)
	ac := b.access(ctx)
	for _, rt := range req.Topics {
		st := kmsg.NewDescribeProducersResponseTopic()
		st.Topic = rt.Topic
		if !ac.topic(authz.OpRead, rt.Topic) {
			for _, p := range rt.Partitions {
				sp := kmsg.NewDescribeProducersResponseTopicPartition()
				sp.Partition, sp.ErrorCode = p, errTopicDenied.Code
				st.Partitions = append(st.Partitions, sp)
			}
			resp.Topics = append(resp.Topics, st)
			continue
		}
		t, ok := b.topic(rt.Topic)
		for _, p := range rt.Partitions {
			sp := kmsg.NewDescribeProducersResponseTopicPartition()
			sp.Partition = p
			l, code := b.partitionLog(rt.Topic, t, ok, p)
			if code == nil {
				code = b.leaderHere(rt.Topic, p)
			}
			if code != nil {
				sp.ErrorCode = code.Code
				st.Partitions = append(st.Partitions, sp)
				continue
			}
			for _, pi := range l.Producers() {
				ap := kmsg.NewDescribeProducersResponseTopicPartitionActiveProducer()
				ap.ProducerID, ap.ProducerEpoch, ap.LastSequence = pi.ProducerID, int32(pi.Epoch), pi.LastSequence
				ap.LastTimestamp, ap.CoordinatorEpoch, ap.CurrentTxnStartOffset = pi.LastTimestamp, pi.CoordinatorEpoch, pi.TxnStartOffset
				sp.ActiveProducers = append(sp.ActiveProducers, ap)
			}
			st.Partitions = append(st.Partitions, sp)
		}
		resp.Topics = append(resp.Topics, st)
	}
	return resp
}
