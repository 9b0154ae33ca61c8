package handler

// EndTxn (key 26), v0-v5.
//
// A transactional producer commits or aborts its transaction: the
// coordinator writes PrepareCommit or PrepareAbort to __transaction_state,
// the COMMIT or ABORT markers then go to every partition of the
// transaction (the marker sender, txns.go), and the transaction
// completes; the answer waits for the completion, up to 2 s (Kafka
// answers after the prepare, and the producer's next transaction then
// retries on CONCURRENT_TRANSACTIONS). A retry of an end already complete is answered again, one of
// an end still writing its markers CONCURRENT_TRANSACTIONS. KIP-588: a
// fenced producer gets PRODUCER_FENCED from v2, INVALID_PRODUCER_EPOCH
// before. v5 is transaction version 2 (KIP-890 part 2): every end bumps
// the producer's epoch (a new producer id once it is exhausted), and the
// answer carries the id and epoch the producer goes on with.
// Authorization: WRITE on the transactional id, else
// TRANSACTIONAL_ID_AUTHORIZATION_FAILED.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/rillmq/rill/coordinator/txn"
	"github.com/rillmq/rill/netserver/authz"
)

func (b *Broker) endTxn(ctx context.Context, req *kmsg.EndTxnRequest) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.EndTxnResponse)
	resp.ProducerID, resp.ProducerEpoch = -1, -1
	if !b.access(ctx).transactionalID(authz.OpWrite, req.TransactionalID) {
		resp.ErrorCode = errTxnIDDenied.Code
		return resp
	}
	v := txn.TV0
	if req.Version >= 5 && b.txnV2() {
		v = txn.TV2
	}
	a := b.txns.EndTxn(txn.EndTxn{TransactionalID: req.TransactionalID, ProducerID: req.ProducerID, ProducerEpoch: req.ProducerEpoch,
		Commit: req.Commit, Version: v})
	if e := txnError(a.Err, req.Version, 2); e != nil {
		if e == kerr.UnknownServerError {
			b.log.Warn("ending a transaction failed", "transactional_id", req.TransactionalID, "err", a.Err)
		}
		resp.ErrorCode = e.Code
		return resp
	}
	if req.Version >= 5 {
		resp.ProducerID, resp.ProducerEpoch = a.ProducerID, a.ProducerEpoch
	}
	return resp
}
