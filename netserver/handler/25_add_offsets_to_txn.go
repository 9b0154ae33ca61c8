package handler

// AddOffsetsToTxn (key 25), v0-v4.
//
// A transactional producer that will commit a group's offsets in the
// transaction (TxnOffsetCommit) first adds the group: its
// __consumer_offsets partition joins the transaction, so the markers
// commit or drop those offsets with the rest. KIP-588: a fenced producer
// gets PRODUCER_FENCED from v2, INVALID_PRODUCER_EPOCH before.

import (
	"github.com/twmb/franz-go/pkg/kmsg"
)

func (b *Broker) addOffsetsToTxn(req *kmsg.AddOffsetsToTxnRequest) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.AddOffsetsToTxnResponse)
	if err := b.ensureOffsetsTopic(); err != nil {
		b.logf("add offsets to transaction %q: %v", req.TransactionalID, err)
	}
	a := b.txns.AddOffsets(req.TransactionalID, req.ProducerID, req.ProducerEpoch, req.Group)
	resp.ErrorCode = errorCodeOf(txnError(a.Err, req.Version, 2))
	return resp
}
