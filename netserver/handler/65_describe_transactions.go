package handler

// DescribeTransactions (key 65), v0.
//
// Each transactional id's state as its coordinator holds it: state,
// producer id and epoch, timeout, start and partitions. An id whose
// coordinator is another broker answers NOT_COORDINATOR (the admin client
// asks each id's coordinator); an id unknown to its coordinator answers
// TRANSACTIONAL_ID_NOT_FOUND. Authorization: DESCRIBE on each
// transactional id, else it answers TRANSACTIONAL_ID_AUTHORIZATION_FAILED;
// a transaction's partitions are listed only for the topics the
// principal may DESCRIBE.

import (
	"context"
	"sort"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/rillmq/rill/coordinator/txn"
	"github.com/rillmq/rill/netserver/authz"
)

func (b *Broker) describeTransactions(ctx context.Context, req *kmsg.DescribeTransactionsRequest) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.DescribeTransactionsResponse)
	ac := b.access(ctx)
	for _, id := range req.TransactionalIDs {
		st := kmsg.NewDescribeTransactionsResponseTransactionState()
		st.TransactionalID, st.ProducerID, st.ProducerEpoch, st.StartTimestamp = id, -1, -1, -1
		if !ac.transactionalID(authz.OpDescribe, id) {
			st.ErrorCode = errTxnIDDenied.Code
			resp.TransactionStates = append(resp.TransactionStates, st)
			continue
		}
		m, err := b.txns.Describe(id)
		switch {
		case err != nil:
			st.ErrorCode = errorCodeOf(txnError(err, req.Version, 0))
		case m == nil:
			st.ErrorCode = kerr.TransactionalIDNotFound.Code
		default:
			describeTxn(&st, m, func(topic string) bool { return ac.topic(authz.OpDescribe, topic) })
		}
		resp.TransactionStates = append(resp.TransactionStates, st)
	}
	return resp
}

// describeTxn fills st from m, listing the partitions of the topics
// visible allows.
func describeTxn(st *kmsg.DescribeTransactionsResponseTransactionState, m *txn.Metadata, visible func(topic string) bool) {
	st.State = m.State.String()
	st.TimeoutMillis = int32(m.Timeout.Milliseconds())
	st.ProducerID, st.ProducerEpoch = m.ProducerID, m.ProducerEpoch
	if !m.Start.IsZero() {
		st.StartTimestamp = m.Start.UnixMilli()
	}
	byTopic := map[string][]int32{}
	for _, tp := range m.Partitions {
		if visible(tp.Topic) {
			byTopic[tp.Topic] = append(byTopic[tp.Topic], tp.Partition)
		}
	}
	names := make([]string, 0, len(byTopic))
	for name := range byTopic {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		t := kmsg.NewDescribeTransactionsResponseTransactionStateTopic()
		t.Topic, t.Partitions = name, byTopic[name]
		st.Topics = append(st.Topics, t)
	}
}
