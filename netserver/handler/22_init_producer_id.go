package handler

// InitProducerId (key 22), v0-v5, for idempotent producers.
//
// Without a transactional ID: a fresh producer ID at epoch 0, from a block
// the active controller gave this broker (committed to the metadata log
// first), so IDs are never reused or shared. With
// ProducerID and ProducerEpoch set (v3+, KIP-360), the same ID at the next
// epoch, which lets a producer reset its sequences after an error; at the
// largest epoch a fresh ID is handed out instead.
//
// With a transactional ID the transaction coordinator answers (this
// broker must lead the id's __transaction_state partition, else
// NOT_COORDINATOR): the id's producer id at its next epoch, which fences
// older producers of the id (coordinator/txn's InitProducerID). KIP-588:
// a fenced producer gets PRODUCER_FENCED from v4, INVALID_PRODUCER_EPOCH
// before.
//
// Per-partition producer state (last five batches per producer, for
// deduplication) lives in the engine's logs (engine/log/producer.go).
//
// Authorization: with a transactional id, WRITE on it, else
// TRANSACTIONAL_ID_AUTHORIZATION_FAILED; without, IDEMPOTENT_WRITE on the
// cluster or WRITE on some topic (KIP-679), else
// CLUSTER_AUTHORIZATION_FAILED.

import (
	"context"
	"math"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/rillmq/rill/coordinator/txn"
	"github.com/rillmq/rill/netserver/authz"
)

func (b *Broker) initProducerID(ctx context.Context, req *kmsg.InitProducerIDRequest) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.InitProducerIDResponse)
	resp.ProducerID, resp.ProducerEpoch = -1, -1
	ac := b.access(ctx)
	switch {
	case req.TransactionalID != nil && !ac.transactionalID(authz.OpWrite, *req.TransactionalID):
		resp.ErrorCode = errTxnIDDenied.Code
		return resp
	case req.TransactionalID == nil && !ac.cluster(authz.OpIdempotentWrite) && !ac.anyOfType(authz.OpWrite, authz.ResourceTopic):
		resp.ErrorCode = errClusterDenied.Code
		return resp
	}
	if req.TransactionalID != nil {
		return b.initTransactionalProducerID(req, resp)
	}
	if req.Version >= 3 && req.ProducerID >= 0 && req.ProducerEpoch >= 0 && req.ProducerEpoch < math.MaxInt16-1 {
		resp.ProducerID, resp.ProducerEpoch = req.ProducerID, req.ProducerEpoch+1
		return resp
	}
	id, err := b.producerID()
	if err != nil {
		b.log.Warn("allocating a producer id failed", "err", err)
		resp.ErrorCode = kerr.CoordinatorNotAvailable.Code
		return resp
	}
	resp.ProducerID, resp.ProducerEpoch = id, 0
	return resp
}

func (b *Broker) initTransactionalProducerID(req *kmsg.InitProducerIDRequest, resp *kmsg.InitProducerIDResponse) kmsg.Response {
	r := txn.InitProducerID{TransactionalID: *req.TransactionalID, Timeout: time.Duration(req.TransactionTimeoutMillis) * time.Millisecond}
	if req.Version >= 3 {
		switch {
		case req.ProducerID >= 0 && req.ProducerEpoch >= 0:
			r.Current = &txn.Producer{ID: req.ProducerID, Epoch: req.ProducerEpoch}
		case req.ProducerID >= 0 || req.ProducerEpoch >= 0:
			resp.ErrorCode = kerr.InvalidRequest.Code
			return resp
		}
	}
	a := b.txns.InitProducerID(r)
	if e := txnError(a.Err, req.Version, 4); e != nil {
		if e == kerr.UnknownServerError {
			b.log.Warn("init producer id failed", "transactional_id", r.TransactionalID, "err", a.Err)
		}
		resp.ErrorCode = e.Code
		return resp
	}
	resp.ProducerID, resp.ProducerEpoch = a.ProducerID, a.ProducerEpoch
	return resp
}
