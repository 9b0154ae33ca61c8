package handler

// InitProducerId (key 22), v0-v5, for idempotent producers.
//
// Without a transactional ID: a fresh producer ID at epoch 0, from a block
// the active controller gave this broker (committed to the metadata log
// first), so IDs are never reused or shared. With
// ProducerID and ProducerEpoch set (v3+, KIP-360), the same ID at the next
// epoch, which lets a producer reset its sequences after an error; at the
// largest epoch a fresh ID is handed out instead. A transactional ID is
// refused with TRANSACTIONAL_ID_AUTHORIZATION_FAILED: transactions are not
// built yet.
//
// Per-partition producer state (last five batches per producer, for
// deduplication) lives in the engine's logs (engine/log/producer.go).

import (
	"math"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func (b *Broker) initProducerID(req *kmsg.InitProducerIDRequest) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.InitProducerIDResponse)
	resp.ProducerID, resp.ProducerEpoch = -1, -1
	if req.TransactionalID != nil {
		resp.ErrorCode = kerr.TransactionalIDAuthorizationFailed.Code
		return resp
	}
	if req.Version >= 3 && req.ProducerID >= 0 && req.ProducerEpoch >= 0 && req.ProducerEpoch < math.MaxInt16-1 {
		resp.ProducerID, resp.ProducerEpoch = req.ProducerID, req.ProducerEpoch+1
		return resp
	}
	id, err := b.producerID()
	if err != nil {
		b.logf("init producer id: %v", err)
		resp.ErrorCode = kerr.CoordinatorNotAvailable.Code
		return resp
	}
	resp.ProducerID, resp.ProducerEpoch = id, 0
	return resp
}
