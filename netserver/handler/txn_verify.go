package handler

// A partition leader's verification of a transactional produce (KIP-890
// part 1): before the first batch of a producer's transaction opens the
// transaction in a partition's log, the leader asks the transaction
// coordinator (AddPartitionsToTxn, verify only) whether the partition is
// in the producer's ongoing transaction. A batch of a transaction the
// coordinator ended, or of a partition the producer never added, would
// otherwise open a transaction no marker ever ends (a hanging
// transaction: read_committed consumers stop before it for good). The
// log's verification guard covers a marker landing between the answer and
// the append (engine/log/txnguard.go).

import (
	"context"
	"errors"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/rillmq/rill/coordinator/txn"
	"github.com/rillmq/rill/internal/kafka"
)

// txnVerifyTimeout bounds the question to the coordinator.
const txnVerifyTimeout = 5 * time.Second

// verifyTxnPartition asks the transactional id's coordinator whether tp
// is in the producer's ongoing transaction, or (add, transaction version
// 2: Produce v12 and TxnOffsetCommit v5 add their partition themselves)
// adds it. The error is what the produce answers: INVALID_TXN_STATE when
// it is not in the transaction, INVALID_PRODUCER_EPOCH for a fenced
// producer, NOT_ENOUGH_REPLICAS (which producers retry) when the
// coordinator cannot answer now, as Kafka maps them.
func (b *Broker) verifyTxnPartition(ctx context.Context, id string, pid int64, epoch int16, tp kafka.TopicPartition, add bool) *kerr.Error {
	n := b.txns.PartitionOf(id)
	cp, ok := b.cluster.Partition(TransactionStateTopic, n)
	if !ok || cp.Leader < 0 {
		return kerr.NotEnoughReplicas
	}
	if cp.Leader == b.cfg.NodeID {
		if add {
			a := b.txns.AddPartitions(txn.AddPartitions{TransactionalID: id, ProducerID: pid, ProducerEpoch: epoch,
				Partitions: []kafka.TopicPartition{tp}, Version: txn.TV2})
			return produceVerifyError(txnError(a.Err, 5, 2))
		}
		per, err := b.txns.VerifyPartitions(id, pid, epoch, []kafka.TopicPartition{tp})
		if err == nil {
			err = per[tp]
		}
		return produceVerifyError(txnError(err, 5, 2))
	}
	ctx, cancel := context.WithTimeout(ctx, txnVerifyTimeout)
	defer cancel()
	req := kmsg.NewPtrAddPartitionsToTxnRequest()
	t := kmsg.NewAddPartitionsToTxnRequestTransaction()
	// v5 and not verify only: a transaction version 2 add (the peer
	// client negotiates v5, which every Rill broker serves).
	t.TransactionalID, t.ProducerID, t.ProducerEpoch, t.VerifyOnly = id, pid, epoch, !add
	rt := kmsg.NewAddPartitionsToTxnRequestTransactionTopic()
	rt.Topic, rt.Partitions = tp.Topic, []int32{tp.Partition}
	t.Topics = append(t.Topics, rt)
	req.Transactions = append(req.Transactions, t)
	resp, err := b.peerRequest(ctx, cp.Leader, req)
	if err != nil {
		return kerr.NotEnoughReplicas
	}
	r := resp.(*kmsg.AddPartitionsToTxnResponse)
	if e := kerr.ErrorForCode(r.ErrorCode); e != nil {
		return produceVerifyError(asKerr(e))
	}
	for _, rtx := range r.Transactions {
		for _, rt := range rtx.Topics {
			for _, rp := range rt.Partitions {
				if rt.Topic == tp.Topic && rp.Partition == tp.Partition {
					return produceVerifyError(asKerr(kerr.ErrorForCode(rp.ErrorCode)))
				}
			}
		}
	}
	return kerr.InvalidTxnState // no answer for the partition
}

func asKerr(err error) *kerr.Error {
	var ke *kerr.Error
	if errors.As(err, &ke) {
		return ke
	}
	return nil
}

// produceVerifyError is a verification's outcome as a produce answers it.
func produceVerifyError(e *kerr.Error) *kerr.Error {
	switch e {
	case nil:
		return nil
	case kerr.NotCoordinator, kerr.CoordinatorNotAvailable, kerr.CoordinatorLoadInProgress, kerr.ConcurrentTransactions,
		kerr.UnknownServerError, kerr.RequestTimedOut:
		return kerr.NotEnoughReplicas
	case kerr.ProducerFenced, kerr.InvalidProducerEpoch:
		return kerr.InvalidProducerEpoch
	}
	return kerr.InvalidTxnState
}
