package handler

// WriteTxnMarkers (key 27), v0-v2.
//
// Sent by a transaction coordinator to a partition's leader: append a
// COMMIT or ABORT control batch for the producer to each listed partition
// this broker leads, and answer once its in-sync replicas have it (a
// marker on a __consumer_offsets partition also commits or drops the
// producer's transactional offsets there). Per partition: NOT_LEADER when
// another broker leads it, UNKNOWN_TOPIC_OR_PARTITION for a deleted
// topic, INVALID_PRODUCER_EPOCH for a marker older than the producer's
// epoch, TRANSACTION_COORDINATOR_FENCED for an older coordinator epoch.
//
// v2 (KIP-1228) gives each marker its transaction's version. A TV2
// coordinator bumps the producer epoch to end a transaction, so for a
// marker with TransactionVersion 2 or more the leader also refuses an
// epoch equal to the producer's (INVALID_PRODUCER_EPOCH: a late marker of
// an earlier transaction), except when the producer has no transaction
// open: that is the coordinator sending the written marker again, answered
// without error and not written twice (Kafka 4.2's ProducerAppendInfo,
// KAFKA-19999). Markers of v0-1 requests, and v2 markers of TV0/TV1, keep
// the legacy rule (not below the producer's epoch). The check is the
// partition log's (engine/log, AppendOptions.TransactionVersion).
//
// Authorization: ALTER or CLUSTER_ACTION on the cluster (the
// coordinator's broker), else every partition answers
// CLUSTER_AUTHORIZATION_FAILED and nothing is written.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/rillmq/rill/internal/kafka"
	"github.com/rillmq/rill/netserver/authz"
)

func (b *Broker) writeTxnMarkers(ctx context.Context, req *kmsg.WriteTxnMarkersRequest) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.WriteTxnMarkersResponse)
	ac := b.access(ctx)
	allowed := ac.cluster(authz.OpAlter) || ac.cluster(authz.OpClusterAction)
	for _, m := range req.Markers {
		var tps []kafka.TopicPartition
		for _, t := range m.Topics {
			for _, p := range t.Partitions {
				tps = append(tps, kafka.TopicPartition{Topic: t.Topic, Partition: p})
			}
		}
		var codes map[kafka.TopicPartition]*kerr.Error
		if allowed {
			var tv int16 // below v2: the legacy check
			if req.Version >= 2 {
				tv = int16(m.TransactionVersion)
			}
			codes = b.appendMarkers(m.ProducerID, m.ProducerEpoch, m.Committed, m.CoordinatorEpoch, tv, tps, coordinatorAppendTimeout)
		}
		rm := kmsg.NewWriteTxnMarkersResponseMarker()
		rm.ProducerID = m.ProducerID
		for _, t := range m.Topics {
			rt := kmsg.NewWriteTxnMarkersResponseMarkerTopic()
			rt.Topic = t.Topic
			for _, p := range t.Partitions {
				rp := kmsg.NewWriteTxnMarkersResponseMarkerTopicPartition()
				rp.Partition = p
				rp.ErrorCode = errorCodeOf(codes[kafka.TopicPartition{Topic: t.Topic, Partition: p}])
				if !allowed {
					rp.ErrorCode = errClusterDenied.Code
				}
				rt.Partitions = append(rt.Partitions, rp)
			}
			rm.Topics = append(rm.Topics, rt)
		}
		resp.Markers = append(resp.Markers, rm)
	}
	return resp
}
