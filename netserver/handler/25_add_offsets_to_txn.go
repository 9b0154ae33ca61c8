package handler

// AddOffsetsToTxn (key 25), v0-v4.
//
// A transactional producer that will commit a group's offsets in the
// transaction (TxnOffsetCommit) first adds the group: its
// __consumer_offsets partition joins the transaction, so the markers
// commit or drop those offsets with the rest. KIP-588: a fenced producer
// gets PRODUCER_FENCED from v2, INVALID_PRODUCER_EPOCH before.
// Authorization: WRITE on the transactional id
// (TRANSACTIONAL_ID_AUTHORIZATION_FAILED), then READ on the group
// (GROUP_AUTHORIZATION_FAILED).

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/rillmq/rill/netserver/authz"
)

func (b *Broker) addOffsetsToTxn(ctx context.Context, req *kmsg.AddOffsetsToTxnRequest) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.AddOffsetsToTxnResponse)
	ac := b.access(ctx)
	switch {
	case !ac.transactionalID(authz.OpWrite, req.TransactionalID):
		resp.ErrorCode = errTxnIDDenied.Code
		return resp
	case !ac.group(authz.OpRead, req.Group):
		resp.ErrorCode = errGroupDenied.Code
		return resp
	}
	if err := b.ensureOffsetsTopic(); err != nil {
		b.log.Warn("add offsets to transaction: the offsets topic is not available", "transactional_id", req.TransactionalID, "err", err)
	}
	a := b.txns.AddOffsets(req.TransactionalID, req.ProducerID, req.ProducerEpoch, req.Group)
	resp.ErrorCode = errorCodeOf(txnError(a.Err, req.Version, 2))
	return resp
}
