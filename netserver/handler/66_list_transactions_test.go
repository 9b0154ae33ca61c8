package handler

import (
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// ListTransactions v2 filters by TransactionalIDPattern: the whole id must
// match (a pattern matching only part of an id lists nothing), null or
// empty lists every id, a pattern that does not compile is
// INVALID_REGULAR_EXPRESSION, and below v2 the field is not on the wire.
func TestListTransactionsPattern(t *testing.T) {
	requireServed(t, 66, 2)
	b, closeBroker, err := NewInMemory(map[string]int32{"t": 1})
	if err != nil {
		t.Fatal(err)
	}
	defer closeBroker()
	ids := []string{"my-special-0", "your-special-1", "plain"}
	for _, id := range ids {
		fc := kmsg.NewPtrFindCoordinatorRequest()
		fc.CoordinatorKey, fc.CoordinatorType = id, 1
		handle[*kmsg.FindCoordinatorResponse](t, b, fc, 3)
		for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
			init := kmsg.NewPtrInitProducerIDRequest()
			init.TransactionalID, init.TransactionTimeoutMillis = kmsg.StringPtr(id), 60000
			ir := handle[*kmsg.InitProducerIDResponse](t, b, init, 4)
			if ir.ErrorCode == 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("init %s: %v", id, kerr.ErrorForCode(ir.ErrorCode))
			}
		}
	}
	list := func(version int16, pattern *string) (int16, []string) {
		req := kmsg.NewPtrListTransactionsRequest()
		req.DurationFilterMillis, req.TransactionalIDPattern = -1, pattern
		resp := handle[*kmsg.ListTransactionsResponse](t, b, req, version)
		var got []string
		for _, s := range resp.TransactionStates {
			got = append(got, s.TransactionalID)
		}
		slices.Sort(got)
		return resp.ErrorCode, got
	}
	all := []string{"my-special-0", "plain", "your-special-1"}
	for _, c := range []struct {
		version int16
		pattern *string
		code    int16
		want    []string
	}{
		{2, nil, 0, all},
		{2, kmsg.StringPtr(""), 0, all},
		{2, kmsg.StringPtr(".*special-.*"), 0, []string{"my-special-0", "your-special-1"}},
		{2, kmsg.StringPtr("special"), 0, nil}, // only part of the ids
		{2, kmsg.StringPtr("plain|my-.*"), 0, []string{"my-special-0", "plain"}},
		{2, kmsg.StringPtr("nothing"), 0, nil},
		{2, kmsg.StringPtr("(ab(cd"), kerr.InvalidRegularExpression.Code, nil},
		{1, kmsg.StringPtr("nothing"), 0, all}, // not sent below v2
	} {
		code, got := list(c.version, c.pattern)
		if code != c.code || !slices.Equal(got, c.want) {
			p := "<nil>"
			if c.pattern != nil {
				p = *c.pattern
			}
			t.Errorf("v%d pattern %q: code %d ids %v, want code %d ids %v", c.version, p, code, got, c.code, c.want)
		}
	}
}
