package handler

// ListTransactions (key 66), v0-v2.
//
// The transactional ids this broker coordinates, filtered by state names
// (unknown names are listed back in UnknownStateFilters), producer ids,
// (v1+) a minimum running time: only transactions started at least
// DurationFilterMillis ago (those with a start) pass a filter >= 0, and
// (v2+, KIP-1152) TransactionalIDPattern, a regular expression the whole
// id must match (Kafka's TransactionStateManager uses Matcher.matches;
// RE2 syntax here); null or empty filters nothing, and one that does not
// compile answers INVALID_REGULAR_EXPRESSION with no transactions.
// Authorization: only the transactional ids the principal may DESCRIBE
// are listed; never an error.

import (
	"context"
	"regexp"
	"slices"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
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
	var pattern *regexp.Regexp
	if req.Version >= 2 && req.TransactionalIDPattern != nil && *req.TransactionalIDPattern != "" {
		var err error
		if pattern, err = regexp.Compile(`^(?:` + *req.TransactionalIDPattern + `)$`); err != nil {
			resp.ErrorCode = kerr.InvalidRegularExpression.Code
			return resp
		}
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
		if pattern != nil && !pattern.MatchString(m.TransactionalID) {
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
