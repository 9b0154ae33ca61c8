package handler

// DescribeTransactions (key 65), v0.
//
// Each transactional id's state as its coordinator holds it: state,
// producer id and epoch, timeout, start and partitions. An id whose
// coordinator is another broker answers NOT_COORDINATOR (the admin client
// asks each id's coordinator); an id unknown to its coordinator answers
// TRANSACTIONAL_ID_NOT_FOUND.

import (
	"sort"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/rillmq/rill/coordinator/txn"
)

func (b *Broker) describeTransactions(req *kmsg.DescribeTransactionsRequest) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.DescribeTransactionsResponse)
	for _, id := range req.TransactionalIDs {
		st := kmsg.NewDescribeTransactionsResponseTransactionState()
		st.TransactionalID, st.ProducerID, st.ProducerEpoch, st.StartTimestamp = id, -1, -1, -1
		m, err := b.txns.Describe(id)
		switch {
		case err != nil:
			st.ErrorCode = errorCodeOf(txnError(err, req.Version, 0))
		case m == nil:
			st.ErrorCode = kerr.TransactionalIDNotFound.Code
		default:
			describeTxn(&st, m)
		}
		resp.TransactionStates = append(resp.TransactionStates, st)
	}
	return resp
}

func describeTxn(st *kmsg.DescribeTransactionsResponseTransactionState, m *txn.Metadata) {
	st.State = m.State.String()
	st.TimeoutMillis = int32(m.Timeout.Milliseconds())
	st.ProducerID, st.ProducerEpoch = m.ProducerID, m.ProducerEpoch
	if !m.Start.IsZero() {
		st.StartTimestamp = m.Start.UnixMilli()
	}
	byTopic := map[string][]int32{}
	for _, tp := range m.Partitions {
		byTopic[tp.Topic] = append(byTopic[tp.Topic], tp.Partition)
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
