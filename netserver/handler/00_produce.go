package handler

// Produce (key 0), v3-v13.
//
// v13 names topics by id (KIP-516): an id that names no topic answers
// UNKNOWN_TOPIC_ID on each of its partitions, before authorization (there
// is no name to authorize), as Kafka's KafkaApis does; the answer carries
// the ids back.
//
// Each partition's records must be exactly one RecordBatch v2 (Kafka's rule
// since v3); below v7 a zstd one is UNSUPPORTED_COMPRESSION_TYPE (KIP-110,
// compression.go). The engine validates it (length, magic, CRC-32C, record
// framing, offset deltas, max.message.bytes), assigns offsets in place and
// appends it as received: compressed batches stay compressed. acks must be
// 0, 1 or -1 (INVALID_REQUIRED_ACKS); 1 answers after the leader's append
// (and after the fsync when flush.messages=1); -1 answers once the ISR has
// the batch (on a single node, at once: its ISR is itself) (package replica:
// NOT_ENOUGH_REPLICAS below min.insync.replicas,
// NOT_ENOUGH_REPLICAS_AFTER_APPEND, REQUEST_TIMED_OUT at the request's
// timeout) and a partition led elsewhere is NOT_LEADER_OR_FOLLOWER. acks=0
// gets no response at all. Per-partition errors: UNKNOWN_TOPIC_OR_PARTITION,
// CORRUPT_MESSAGE, INVALID_RECORD (several batches), MESSAGE_TOO_LARGE,
// KAFKA_STORAGE_ERROR, and for idempotent producers OUT_OF_ORDER_SEQUENCE_NUMBER
// and INVALID_PRODUCER_EPOCH; a retried batch (same producer, epoch and
// sequences as one of its last five) is answered with the original offsets
// and no error, and not written again. LogAppendTime (v2+) and
// LogStartOffset (v5+) are filled in. Internal topics (__consumer_offsets)
// answer INVALID_TOPIC_EXCEPTION: only the coordinators write them.
//
// Transactional batches (a request with a transactional id, a batch with
// the transactional bit and a producer id) are appended like idempotent
// ones; the log opens the producer's transaction at the first one, and
// the partition's last stable offset stays below it until the
// coordinator's COMMIT or ABORT marker. A batch of an epoch older than
// the producer's (a zombie fenced by InitProducerId or a coordinator
// abort) is INVALID_PRODUCER_EPOCH. Control batches from clients are
// INVALID_RECORD. The first batch of a transaction in a partition is
// verified with the transaction coordinator first (KIP-890 part 1,
// txn_verify.go): INVALID_TXN_STATE when the partition is not in the
// producer's ongoing transaction. From v12 under transaction version 2
// (KIP-890 part 2) the leader adds the partition to the transaction
// instead: the client sends no AddPartitionsToTxn.
//
// Authorization (authorize.go): a request with transactional records
// needs WRITE on its transactional id, else every partition answers
// TRANSACTIONAL_ID_AUTHORIZATION_FAILED; each topic needs WRITE, else its
// partitions answer TOPIC_AUTHORIZATION_FAILED before any other check
// (existence included), as Kafka's KafkaApis does.
//
// Quotas (quota.go): the request's size counts against
// producer_byte_rate once answered, its time (less the acks=all wait)
// against request_percentage; over either, ThrottleMillis is set and the
// connection muted for it (acks=0 too, which gets no answer).

import (
	"context"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/rillmq/rill/engine/format"
	"github.com/rillmq/rill/engine/log"
	"github.com/rillmq/rill/internal/kafka"
	"github.com/rillmq/rill/internal/metrics"
	"github.com/rillmq/rill/netserver/authz"
	"github.com/rillmq/rill/replication/metadata"
)

func (b *Broker) produce(ctx context.Context, req *kmsg.ProduceRequest) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.ProduceResponse)
	ac := b.access(ctx)
	if req.TransactionID != nil && !ac.transactionalID(authz.OpWrite, *req.TransactionID) && hasTransactionalRecords(req) {
		return produceError(req, resp, errTxnIDDenied)
	}
	var appended []kafka.TopicPartition
	var waits []ackWait
	for _, rt := range req.Topics {
		st := kmsg.NewProduceResponseTopic()
		st.Topic, st.TopicID = rt.Topic, rt.TopicID
		name, t, topicOK, unknownID := b.produceTopic(req.Version, rt)
		allowed := unknownID || ac.topic(authz.OpWrite, name)
		for _, rp := range rt.Partitions {
			sp := kmsg.NewProduceResponseTopicPartition()
			sp.Partition = rp.Partition
			sp.BaseOffset, sp.LogAppendTime, sp.LogStartOffset = -1, -1, -1
			code := func() *kerr.Error {
				if unknownID {
					return kerr.UnknownTopicID
				}
				if !allowed {
					return errTopicDenied
				}
				if req.Acks != 0 && req.Acks != 1 && req.Acks != -1 {
					return kerr.InvalidRequiredAcks
				}
				if isInternalTopic(name) {
					return kerr.InvalidTopicException // written by the coordinator only
				}
				l, code := b.partitionLog(name, t, topicOK, rp.Partition)
				if code != nil {
					return code
				}
				if zstdRefused(req.Version, rp.Records) {
					return kerr.UnsupportedCompressionType // compression.go
				}
				batch, err := format.Parse(rp.Records)
				if err != nil {
					return kerr.CorruptMessage
				}
				if len(batch) != len(rp.Records) {
					return kerr.InvalidRecord
				}
				if batch.IsControl() {
					return kerr.InvalidRecord // markers come from transaction coordinators only
				}
				if batch.Attributes()&format.AttrTransactional != 0 && (batch.ProducerID() < 0 || req.TransactionID == nil) {
					return kerr.InvalidRecord
				}
				rep, code := b.replicaOf(name, rp.Partition)
				if code != nil {
					return code
				}
				timeout := time.Duration(max(req.TimeoutMillis, 0)) * time.Millisecond
				var res log.AppendResult
				var wait <-chan error
				if batch.IsTransactional() {
					guard := l.StartTxnVerification(batch.ProducerID())
					if guard != nil {
						tp := kafka.TopicPartition{Topic: name, Partition: rp.Partition}
						add := req.Version >= 12 && b.txnV2()
						if code := b.verifyTxnPartition(ctx, *req.TransactionID, batch.ProducerID(), batch.ProducerEpoch(), tp, add); code != nil {
							l.AbandonTxnVerification(guard)
							return code
						}
					}
					res, wait, err = rep.AppendVerified(rp.Records, req.Acks == -1, timeout, guard)
				} else {
					res, wait, err = rep.Append(rp.Records, req.Acks == -1, timeout)
				}
				if wait != nil {
					waits = append(waits, ackWait{topic: len(resp.Topics), index: len(st.Partitions), done: wait})
				}
				if err != nil {
					if ke := toKerr(err); ke == kerr.KafkaStorageError {
						b.faults.log(b.log, fmt.Sprintf("produce %s-%d", name, rp.Partition), "produce refused by storage", "topic", name, "partition", rp.Partition, "err", err)
					}
					return toKerr(err)
				}
				appended = append(appended, kafka.TopicPartition{Topic: name, Partition: rp.Partition})
				metrics.Produced(name, len(rp.Records), int(batch.RecordCount()))
				sp.BaseOffset, sp.LogAppendTime, sp.LogStartOffset = res.BaseOffset, res.LogAppendTime, l.LogStartOffset()
				return nil
			}()
			if code != nil {
				sp.ErrorCode = code.Code
			}
			st.Partitions = append(st.Partitions, sp)
		}
		resp.Topics = append(resp.Topics, st)
	}
	for _, tp := range appended {
		b.watch.wake(tp) // followers long-polling this partition
	}
	// acks=all: answer once the ISR has every batch. The
	// replica times each wait out at the request's timeout.
	quotas := b.cfg.Quotas.AnyActive() // one atomic load without quotas
	var qc *QuotaConn
	var waitStart time.Time
	if quotas && len(waits) > 0 {
		qc, waitStart = quotaWaitStart(ctx)
	}
	parked := parkIf(ctx, metrics.ProducePurgatory, len(waits) > 0)
	for _, w := range waits {
		if err := <-w.done; err != nil {
			sp := &resp.Topics[w.topic].Partitions[w.index]
			sp.ErrorCode = toKerr(err).Code
		}
	}
	parked()
	if quotas {
		quotaWaited(qc, waitStart)
		b.throttleProduce(ctx, req, resp)
	}
	if req.Acks == 0 {
		return nil
	}
	return resp
}

// produceTopic resolves a request topic: by name before v13, by id from
// v13 (unknownID: the id names no topic, so there is no name either).
func (b *Broker) produceTopic(version int16, rt kmsg.ProduceRequestTopic) (name string, t metadata.Topic, ok, unknownID bool) {
	if version < 13 {
		t, ok = b.topic(rt.Topic)
		return rt.Topic, t, ok, false
	}
	t, ok = b.topicByID(rt.TopicID)
	return t.Name, t, ok, !ok
}

// hasTransactionalRecords reports whether a partition's records are a
// transactional batch (Kafka's RequestUtils.hasTransactionalRecords).
func hasTransactionalRecords(req *kmsg.ProduceRequest) bool {
	for _, rt := range req.Topics {
		for _, rp := range rt.Partitions {
			if len(rp.Records) >= format.HeaderSize && format.Batch(rp.Records).IsTransactional() {
				return true
			}
		}
	}
	return false
}

// produceError answers every partition of req with e (nothing for
// acks=0), as Kafka's ProduceRequest.getErrorResponse.
func produceError(req *kmsg.ProduceRequest, resp *kmsg.ProduceResponse, e *kerr.Error) kmsg.Response {
	if req.Acks == 0 {
		return nil
	}
	for _, rt := range req.Topics {
		st := kmsg.NewProduceResponseTopic()
		st.Topic, st.TopicID = rt.Topic, rt.TopicID
		for _, rp := range rt.Partitions {
			sp := kmsg.NewProduceResponseTopicPartition()
			sp.Partition, sp.ErrorCode = rp.Partition, e.Code
			sp.BaseOffset, sp.LogAppendTime, sp.LogStartOffset = -1, -1, -1
			st.Partitions = append(st.Partitions, sp)
		}
		resp.Topics = append(resp.Topics, st)
	}
	return resp
}

// ackWait is a partition's acks=all wait: resp.Topics[topic].Partitions[index].
type ackWait struct {
	topic, index int
	done         <-chan error
}
