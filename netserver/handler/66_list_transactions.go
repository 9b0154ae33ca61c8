package handler

// ListTransactions (key 66), v0-v1.
//
// The transactional ids this broker coordinates, filtered by state names
// (unknown names are listed back in UnknownStateFilters), producer ids,
// and (v1+) a minimum running time: only transactions started at least
// DurationFilterMillis ago (those with a start) pass a filter >= 0.
// Authorization: only the transactional ids the principal may DESCRIBE
// are listed; never an error.

import (
	"context"
	"slices"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/rillmq/rill/coordinator/txn"
	"github.com/rillmq/rill/netserver/authz"
)

func (b *Broker) listTransactions(ctx context.Context, req *kmsg.ListTransactionsRequest) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.ListTransactionsResponse)
	ac := b.access(ctx)
	states := map[txn.State]bool{}
	for _, name := range req.StateFilters {
		s, ok := txn.ParseState(name)
		if !ok {
			resp.UnknownStateFilters = append(resp.UnknownStateFilters, name)
			continue
		}
		states[s] = true
	}
	if len(resp.UnknownStateFilters) > 0 && len(states) == 0 {
		return resp // only unknown states: nothing matches
	}
	duration := int64(-1)
	if req.Version >= 1 {
		duration = req.DurationFilterMillis
	}
	now := time.Now()
	for _, m := range b.txns.All() {
		if len(states) > 0 && !states[m.State] {
			continue
		}
		if len(req.ProducerIDFilters) > 0 && !slices.Contains(req.ProducerIDFilters, m.ProducerID) {
			continue
		}
		if duration >= 0 && (m.Start.IsZero() || now.Sub(m.Start).Milliseconds() < duration) {
			continue
		}
		if !ac.transactionalID(authz.OpDescribe, m.TransactionalID) {
			continue
		}
		st := kmsg.NewListTransactionsResponseTransactionState()
		st.TransactionalID, st.ProducerID, st.TransactionState = m.TransactionalID, m.ProducerID, m.State.String()
		resp.TransactionStates = append(resp.TransactionStates, st)
	}
	return resp
}
