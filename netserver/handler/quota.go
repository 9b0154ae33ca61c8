package handler

// Client quota enforcement (KIP-13, KIP-124, KIP-219, KIP-599), with
// Kafka's semantics; the bookkeeping is package quota, fed the metadata
// log's quotas (SetClientQuotas, the broker runtime's QuotaSink).
//
//   - Produce (producer_byte_rate): the request's size is recorded once it
//     is answered; over the quota, the answer carries the throttle time.
//     Produce with acks=0 is throttled the same way (nothing is answered,
//     the connection is muted).
//   - Fetch (consumer_byte_rate): a consumer's fetch is bounded to the
//     quota's window (quota * (samples-1) * window bytes); the answer's
//     size is recorded, and over the quota it is taken back and an empty
//     answer carries the throttle time (Kafka's throttled fetch response).
//     Followers' fetches are exempt (they have replication quotas).
//   - request_percentage: the time a request is handled, less the time
//     it waits on purpose (a fetch's long poll, acks=all, the controller),
//     is recorded as a percentage of one handler; over the quota the
//     answer carries a throttle time of at most a window. JoinGroup and
//     SyncGroup (whose handlers wait for the rebalance), follower fetches,
//     WriteTxnMarkers, transaction verification (AddPartitionsToTxn v4+)
//     and acks=0 produce are not recorded.
//   - controller_mutation_rate (KIP-599): the partitions CreateTopics,
//     DeleteTopics and CreatePartitions create or delete, per topic after
//     its other checks (validate-only ones too, as Kafka's controller
//     does); strict from CreateTopics v6, DeleteTopics v5 and
//     CreatePartitions v3 (a topic over the quota is
//     THROTTLING_QUOTA_EXCEEDED), permissive before (throttled only). Rill
//     keeps this quota per broker: Kafka's active controller keeps one for
//     the cluster.
//
// KIP-219: the answer goes out at once with throttle_time_ms, and the
// connection is then muted (its next request not read) for that time. The
// transports (package netserver) keep a QuotaConn per connection, call
// Begin and End around each request and mute for what End returns. The
// user is the principal's name (ANONYMOUS without authentication), the
// client id the request header's.

import (
	"context"
	"encoding/binary"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/rillmq/rill/netserver/quota"
	"github.com/rillmq/rill/replication/controller"
)

// SetClientQuotas gives the quota enforcement (Config.Quotas) the
// metadata log's client quotas: the broker runtime's QuotaSink, called
// before the broker serves and on every change. Entities with an ip are
// kept for DescribeClientQuotas only: connection_creation_rate is not
// enforced.
func (b *Broker) SetClientQuotas(quotas map[controller.QuotaEntity]map[string]float64) {
	if b.cfg.Quotas == nil {
		return
	}
	out := make(map[quota.Entity]quota.Limits, len(quotas))
	name := func(n controller.QuotaName) quota.Name {
		return quota.Name{Set: n.Set, Default: n.Default, Name: n.Name}
	}
	for e, values := range quotas {
		if e.IP.Set {
			continue
		}
		var l quota.Limits
		for key, v := range values {
			switch key {
			case controller.QuotaProducerByteRate:
				l[quota.Produce] = v
			case controller.QuotaConsumerByteRate:
				l[quota.Fetch] = v
			case controller.QuotaRequestPercentage:
				l[quota.Request] = v
			case controller.QuotaControllerMutationRate:
				l[quota.ControllerMutation] = v
			}
		}
		out[quota.Entity{User: name(e.User), Client: name(e.ClientID)}] = l
	}
	b.cfg.Quotas.SetQuotas(out)
}

// now is the quota enforcement's clock.
func (b *Broker) now() time.Time {
	if b.cfg.QuotaClock != nil {
		return b.cfg.QuotaClock()
	}
	return time.Now()
}

// QuotaConn is one connection's quota state: the request being handled
// (its client id, size and start) and the throttle its handler asked
// for. The transport makes one per connection (NewQuotaConn), puts it in
// the connection's context (WithQuotaConn) and calls Begin and End around
// each request, from the one goroutine that serves the connection's
// requests in turn.
type QuotaConn struct {
	b *Broker
	// tracking: quotas were active when the request began; the fields
	// below describe it only then.
	tracking bool
	key      int16
	clientID string
	size     int
	start    time.Time
	// waited is time the handler waited on purpose; recorded says the
	// handler recorded the request time itself (Produce, Fetch), exempt
	// that it is not recorded; throttle is the longest throttle the
	// handler asked for.
	waited   time.Duration
	recorded bool
	exempt   bool
	throttle time.Duration
}

// NewQuotaConn is a connection's quota state.
func (b *Broker) NewQuotaConn() *QuotaConn { return &QuotaConn{b: b} }

type quotaConnKey struct{}

// WithQuotaConn returns ctx carrying qc.
func WithQuotaConn(ctx context.Context, qc *QuotaConn) context.Context {
	return context.WithValue(ctx, quotaConnKey{}, qc)
}

// quotaConnOf is the QuotaConn of a request's context, nil when quotas
// were not active as it began (or there is none: a test calling Handle).
func quotaConnOf(ctx context.Context) *QuotaConn {
	if qc, ok := ctx.Value(quotaConnKey{}).(*QuotaConn); ok && qc.tracking {
		return qc
	}
	return nil
}

// Begin starts a request (frame: header and body, no size prefix). With
// no quota set it costs one atomic load.
func (qc *QuotaConn) Begin(frame []byte) {
	if !qc.b.cfg.Quotas.AnyActive() {
		qc.tracking = false
		return
	}
	qc.tracking, qc.size, qc.start = true, len(frame), qc.b.now()
	qc.waited, qc.recorded, qc.exempt, qc.throttle = 0, false, false, 0
	qc.key = -1
	if len(frame) >= 10 {
		qc.key = int16(binary.BigEndian.Uint16(frame))
		if n := int(int16(binary.BigEndian.Uint16(frame[8:]))); n >= 0 && 10+n <= len(frame) {
			if id := frame[10 : 10+n]; string(id) != qc.clientID {
				qc.clientID = string(id)
			}
		} else {
			qc.clientID = ""
		}
	}
}

// End finishes the request answered with resp (nil: none, acks=0) under
// ctx: it records the request's time against request_percentage unless
// its handler did, or it is exempt, sets resp's throttle_time_ms to the
// longest throttle, and returns it: how long the transport mutes the
// connection after sending resp.
func (qc *QuotaConn) End(ctx context.Context, resp kmsg.Response) time.Duration {
	if !qc.tracking {
		return 0
	}
	qc.tracking = false
	d := qc.throttle
	if !qc.recorded && !qc.exempt && !requestQuotaExempt(qc.key) {
		d = max(d, qc.recordRequest(ctx, qc.b.now()))
	}
	if d <= 0 {
		return 0
	}
	setThrottle(resp, d)
	return d
}

// requestQuotaExempt are the keys whose time is not recorded:
// JoinGroup and SyncGroup, whose handlers wait for the rebalance, and
// WriteTxnMarkers, a broker's.
func requestQuotaExempt(key int16) bool {
	return key == int16(kmsg.JoinGroup) || key == int16(kmsg.SyncGroup) || key == int16(kmsg.WriteTxnMarkers)
}

// recordRequest records the request's handler time so far against
// request_percentage and returns its throttle.
func (qc *QuotaConn) recordRequest(ctx context.Context, now time.Time) time.Duration {
	qc.recorded = true
	if !qc.b.cfg.Quotas.Active(quota.Request) {
		return 0
	}
	busy := now.Sub(qc.start) - qc.waited
	if busy <= 0 {
		return 0
	}
	// Kafka's unit: percent of one thread per second.
	return qc.b.cfg.Quotas.Record(quota.Request, quotaUser(ctx), qc.clientID, float64(busy)*100/float64(time.Second), now)
}

// throttleFor makes the connection wait at least d.
func (qc *QuotaConn) throttleFor(d time.Duration) { qc.throttle = max(qc.throttle, d) }

// setThrottle raises resp's throttle_time_ms to d.
func setThrottle(resp kmsg.Response, d time.Duration) {
	if resp == nil {
		return
	}
	if tr, ok := resp.(interface {
		Throttle() (int32, bool)
		SetThrottle(int32)
	}); ok {
		ms := int32(min(d.Milliseconds(), 1<<31-1))
		if cur, _ := tr.Throttle(); cur < ms {
			tr.SetThrottle(ms)
		}
	}
}

// quotaUser is the user quotas know a request's principal by: its name
// ("User:alice" is alice).
func quotaUser(ctx context.Context) string {
	p := IdentityOf(ctx).Principal
	if i := strings.IndexByte(p, ':'); i >= 0 {
		return p[i+1:]
	}
	return p
}

// quotaWaitStart and quotaWaited bracket a wait a handler makes on
// purpose (a long poll, acks=all, the controller), which is not its
// request's handling time.
func quotaWaitStart(ctx context.Context) (*QuotaConn, time.Time) {
	qc := quotaConnOf(ctx)
	if qc == nil || !qc.b.cfg.Quotas.Active(quota.Request) {
		return nil, time.Time{}
	}
	return qc, qc.b.now()
}

func quotaWaited(qc *QuotaConn, start time.Time) {
	if qc != nil {
		qc.waited += qc.b.now().Sub(start)
	}
}

// throttleProduce records a produce request against producer_byte_rate
// and its time against request_percentage (not for acks=0, as Kafka),
// and sets the answer's throttle time (resp nil: acks=0).
func (b *Broker) throttleProduce(ctx context.Context, req *kmsg.ProduceRequest, resp *kmsg.ProduceResponse) {
	qc := quotaConnOf(ctx)
	if qc == nil {
		return
	}
	now := b.now()
	user := quotaUser(ctx)
	d := b.cfg.Quotas.Record(quota.Produce, user, qc.clientID, float64(qc.size), now)
	if req.Acks == 0 {
		qc.exempt = true
	} else {
		d = max(d, qc.recordRequest(ctx, now))
	}
	qc.throttleFor(d)
	if resp != nil && d > 0 {
		resp.ThrottleMillis = int32(d.Milliseconds())
	}
}

// fetchQuotaBytes is the most a consumer's fetch may return under its
// consumer_byte_rate (ok false: no bound).
func (b *Broker) fetchQuotaBytes(ctx context.Context, follower bool) (int, bool) {
	qc := quotaConnOf(ctx)
	if qc == nil || follower {
		return 0, false
	}
	v, ok := b.cfg.Quotas.MaxValueInWindow(quota.Fetch, quotaUser(ctx), qc.clientID)
	return int(min(v, float64(1<<31-1))), ok
}

// throttleFetch records a consumer's fetch answer against
// consumer_byte_rate and its time against request_percentage; throttled,
// the answer is taken back and an empty one with the throttle time is
// returned instead (Kafka's getThrottledResponse). A follower's fetch is
// exempt.
func (b *Broker) throttleFetch(ctx context.Context, req *kmsg.FetchRequest, resp *FetchResponse, follower bool) *FetchResponse {
	qc := quotaConnOf(ctx)
	if qc == nil {
		return resp
	}
	if follower {
		qc.exempt = true
		return resp
	}
	now := b.now()
	user := quotaUser(ctx)
	requestThrottle := qc.recordRequest(ctx, now)
	if !b.cfg.Quotas.Active(quota.Fetch) && requestThrottle == 0 {
		return resp
	}
	size := fetchResponseSize(resp)
	d := b.cfg.Quotas.Record(quota.Fetch, user, qc.clientID, float64(size), now)
	if d = max(d, requestThrottle); d <= 0 {
		return resp
	}
	b.cfg.Quotas.Unrecord(quota.Fetch, user, qc.clientID, float64(size), now)
	qc.throttleFor(d)
	throttled := req.ResponseKind().(*kmsg.FetchResponse)
	throttled.ThrottleMillis = int32(d.Milliseconds())
	return &FetchResponse{FetchResponse: throttled}
}

// fetchResponseSize is the encoded size of a fetch answer (its record
// data still in file ranges counted by length).
func fetchResponseSize(resp *FetchResponse) int {
	n := len(resp.FetchResponse.AppendTo(nil))
	for _, r := range resp.Ranges {
		n += int(r.Len)
	}
	return n
}

// mutationQuota is the controller_mutation_rate quota of an admin
// request of version v, strict from strictSince (nil: none applies).
func (b *Broker) mutationQuota(ctx context.Context, v, strictSince int16) *quota.Mutation {
	qc := quotaConnOf(ctx)
	if qc == nil {
		return nil
	}
	return b.cfg.Quotas.Mutation(quotaUser(ctx), qc.clientID, v >= strictSince, b.now())
}

// throttlingQuotaMessage is Kafka's THROTTLING_QUOTA_EXCEEDED message.
const throttlingQuotaMessage = "The throttling quota has been exceeded."

// finishMutations sets an admin answer's throttle time from its mutation
// quota and the connection's mute.
func (b *Broker) finishMutations(ctx context.Context, q *quota.Mutation, resp kmsg.Response) {
	d := q.Throttle()
	if d <= 0 {
		return
	}
	if qc := quotaConnOf(ctx); qc != nil {
		qc.throttleFor(d)
	}
	setThrottle(resp, d)
}
