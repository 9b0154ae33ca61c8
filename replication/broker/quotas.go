package broker

// The cluster's client quotas as this broker applies them: the publisher
// hands every change of the image's quotas to a QuotaSink (the handlers'
// quota enforcement, netserver/quota) before the pass that makes the
// broker Ready, and keeps them for DescribeClientQuotas (ClientQuotas).
// Changes go to the active controller as the AlterClientQuotas request a
// Kafka broker forwards, and return once this broker has applied the
// metadata offset the controller answered with.
//
// Concurrency: the publisher's goroutine alone syncs and calls the sink;
// ClientQuotas reads an immutable map through an atomic pointer, from any
// goroutine, with no lock.

import (
	"context"
	"fmt"
	"maps"
	"sync/atomic"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/rillmq/rill/replication/controller"
	"github.com/rillmq/rill/replication/node"
)

// QuotaSink receives the image's client quotas, whole, each time they
// change (and once at the first pass, even when there are none), in the
// publisher's goroutine. It must not change the map.
type QuotaSink interface {
	SetClientQuotas(quotas map[controller.QuotaEntity]map[string]float64)
}

// quotas is the runtime's applied client quotas.
type quotas struct {
	// sink is where changes go (SetQuotaSink); fed is the sink the last
	// sync fed (the publisher owns fed, at and synced).
	sink   atomic.Pointer[QuotaSink]
	fed    QuotaSink
	at     uint64
	synced bool
	// current are the quotas DescribeClientQuotas answers from; applied
	// is the index (at least) of the image the last sync read.
	current atomic.Pointer[map[controller.QuotaEntity]map[string]float64]
	applied atomic.Uint64
}

// SetQuotaSink makes sink receive the client quotas: the handlers call it
// when given the runtime (Config.Attach, before the publisher runs); set
// later, the sink gets the quotas at the next pass.
func (r *Runtime) SetQuotaSink(sink QuotaSink) { r.quotas.sink.Store(&sink) }

// syncQuotas brings the quota sink and ClientQuotas to the image; the
// publisher calls it on each pass. The image is read only when its index
// moved, and the sink called only when the quotas changed.
func (r *Runtime) syncQuotas() {
	q := &r.quotas
	var sink QuotaSink
	if p := q.sink.Load(); p != nil {
		sink = *p
	}
	index := r.source.Applied() // before the view: the image is at least this new
	if q.synced && index == q.at && sink == q.fed {
		return
	}
	var next map[controller.QuotaEntity]map[string]float64
	r.source.View(func(im *controller.Image) {
		next = make(map[controller.QuotaEntity]map[string]float64, len(im.ClientQuotas))
		for e, values := range im.ClientQuotas {
			next[e] = maps.Clone(values)
		}
	})
	prev := q.current.Load()
	changed := prev == nil || !maps.EqualFunc(*prev, next, func(a, b map[string]float64) bool { return maps.Equal(a, b) })
	if changed {
		q.current.Store(&next)
	}
	if sink != nil && (changed || sink != q.fed) {
		sink.SetClientQuotas(*q.current.Load())
	}
	q.fed, q.at, q.synced = sink, index, true
	q.applied.Store(index)
}

// ClientQuotas are the client quotas this broker has applied, by entity;
// the map is shared and must not be changed.
func (r *Runtime) ClientQuotas() map[controller.QuotaEntity]map[string]float64 {
	if p := r.quotas.current.Load(); p != nil {
		return *p
	}
	return nil
}

// AlterClientQuotas asks the active controller to alter client quotas and
// returns each entity's outcome (Err a *node.Error with its Kafka code),
// once this broker has applied them. validateOnly changes nothing.
func (r *Runtime) AlterClientQuotas(ctx context.Context, alterations []controller.QuotaAlteration, validateOnly bool) ([]controller.QuotaResult, error) {
	if len(alterations) == 0 {
		return nil, nil
	}
	req := kmsg.NewPtrAlterClientQuotasRequest()
	req.ValidateOnly = validateOnly
	for _, a := range alterations {
		e := kmsg.NewAlterClientQuotasRequestEntry()
		for _, p := range a.Entity {
			e.Entity = append(e.Entity, kmsg.AlterClientQuotasRequestEntryEntity{Type: p.Type, Name: p.Name})
		}
		for _, op := range a.Ops {
			e.Ops = append(e.Ops, kmsg.AlterClientQuotasRequestEntryOp{Key: op.Key, Value: op.Value, Remove: op.Remove})
		}
		req.Entries = append(req.Entries, e)
	}
	resp, err := r.ask(ctx, req)
	if err != nil {
		return nil, err
	}
	entries := resp.(*kmsg.AlterClientQuotasResponse).Entries
	if len(entries) > len(alterations) {
		return nil, fmt.Errorf("broker: the controller answered %d entities for %d alterations", len(entries), len(alterations))
	}
	out := make([]controller.QuotaResult, len(entries))
	for i, e := range entries {
		out[i].Err = node.AnswerError(e.ErrorCode, e.ErrorMessage)
		for _, p := range e.Entity {
			out[i].Entity = append(out[i].Entity, controller.QuotaEntityPart{Type: p.Type, Name: p.Name})
		}
	}
	r.awaitApplied(ctx, resp, &r.quotas.applied)
	return out, nil
}
