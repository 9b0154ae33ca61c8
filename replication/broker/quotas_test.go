package broker

import (
	"context"
	"errors"
	"maps"
	"sync"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/rillmq/rill/engine/vfs"
	"github.com/rillmq/rill/internal/logging/logtest"
	"github.com/rillmq/rill/internal/signal"
	"github.com/rillmq/rill/replication/controller"
)

// quotaSink records what the publisher feeds it.
type quotaSink struct {
	mu    sync.Mutex
	calls int
	last  map[controller.QuotaEntity]map[string]float64
}

func (s *quotaSink) SetClientQuotas(q map[controller.QuotaEntity]map[string]float64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	s.last = q
}

func (s *quotaSink) get() (map[controller.QuotaEntity]map[string]float64, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.last, s.calls
}

func userQuota(user string, key string, v float64) controller.QuotaAlteration {
	return controller.QuotaAlteration{Entity: []controller.QuotaEntityPart{{Type: controller.QuotaUser, Name: &user}},
		Ops: []controller.QuotaOp{{Key: key, Value: v}}}
}

// Through the in-process controller: the sink and ClientQuotas have every
// change when the request returns, validate only changes nothing, and a
// restarted broker has them again before it is ready.
func TestClientQuotasAppliedBeforeAnswerAndRestart(t *testing.T) {
	fs := vfs.NewMemFS()
	s := startSingle(t, fs, false)
	if q, calls := s.quotas.get(); calls == 0 || len(q) != 0 {
		t.Fatalf("the sink was not fed before ready: %v after %d calls", q, calls)
	}
	ctx := context.Background()
	res, err := s.rt.AlterClientQuotas(ctx, []controller.QuotaAlteration{
		userQuota("alice", controller.QuotaProducerByteRate, 1024), userQuota("bob", "bogus", 1)}, false)
	if err != nil || len(res) != 2 || res[0].Err != nil || !errors.Is(res[1].Err, kerr.InvalidRequest) {
		t.Fatalf("alter: %v %+v", err, res)
	}
	want := map[controller.QuotaEntity]map[string]float64{{User: controller.Named("alice")}: {controller.QuotaProducerByteRate: 1024}}
	eq := func(a, b map[controller.QuotaEntity]map[string]float64) bool {
		return maps.EqualFunc(a, b, func(x, y map[string]float64) bool { return maps.Equal(x, y) })
	}
	if q, _ := s.quotas.get(); !eq(q, want) || !eq(s.rt.ClientQuotas(), want) {
		t.Fatalf("sink %v, ClientQuotas %v when AlterClientQuotas returned", q, s.rt.ClientQuotas())
	}
	if res, err := s.rt.AlterClientQuotas(ctx, []controller.QuotaAlteration{userQuota("carol", controller.QuotaConsumerByteRate, 1)}, true); err != nil || res[0].Err != nil {
		t.Fatalf("validate only: %v %+v", err, res)
	}
	if !eq(s.rt.ClientQuotas(), want) {
		t.Fatalf("validate only changed the quotas: %v", s.rt.ClientQuotas())
	}
	s.close()

	s = startSingle(t, fs, false)
	if q, _ := s.quotas.get(); !eq(q, want) || !eq(s.rt.ClientQuotas(), want) {
		t.Fatalf("after a restart: sink %v, ClientQuotas %v", q, s.rt.ClientQuotas())
	}
}

// The sink is called when the quotas change, not on every index, and
// again when it is replaced.
func TestSyncQuotasFeedsChanges(t *testing.T) {
	src := &imageSource{}
	sink := &quotaSink{}
	r := &Runtime{source: src, cfg: Config{Logger: logtest.Logger(t)}, passes: signal.New()}
	r.SetQuotaSink(sink)
	set := func(index uint64, q map[controller.QuotaEntity]map[string]float64) {
		im := controller.NewImage()
		im.ClientQuotas = q
		src.mu.Lock()
		src.image, src.index = im, index
		src.mu.Unlock()
	}
	alice := controller.QuotaEntity{User: controller.Named("alice")}
	set(3, map[controller.QuotaEntity]map[string]float64{alice: {controller.QuotaProducerByteRate: 10}})
	r.syncQuotas()
	set(4, map[controller.QuotaEntity]map[string]float64{alice: {controller.QuotaProducerByteRate: 10}}) // another record
	r.syncQuotas()
	if q, calls := sink.get(); calls != 1 || q[alice][controller.QuotaProducerByteRate] != 10 {
		t.Fatalf("after an unchanged index: %v in %d calls", q, calls)
	}
	set(5, nil)
	r.syncQuotas()
	if q, calls := sink.get(); calls != 2 || len(q) != 0 || len(r.ClientQuotas()) != 0 {
		t.Fatalf("after the quota went: %v in %d calls", q, calls)
	}
	other := &quotaSink{}
	r.SetQuotaSink(other)
	r.syncQuotas()
	if _, calls := other.get(); calls != 1 || r.quotas.applied.Load() != 5 {
		t.Fatalf("a new sink was fed %d times (applied %d)", calls, r.quotas.applied.Load())
	}
}
