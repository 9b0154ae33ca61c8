package handler

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/rillmq/rill/engine/vfs"
	"github.com/rillmq/rill/netserver/quota"
	"github.com/rillmq/rill/netserver/wire"
)

// fakeClock is the quotas' clock in these tests.
type fakeClock struct{ ms atomic.Int64 }

func (c *fakeClock) now() time.Time          { return time.UnixMilli(c.ms.Load()) }
func (c *fakeClock) advance(d time.Duration) { c.ms.Add(d.Milliseconds()) }

// quotaBroker is a single node whose quotas run on a fake clock.
func quotaBroker(t *testing.T, topics map[string]int32) (*Broker, *fakeClock) {
	t.Helper()
	clk := &fakeClock{}
	clk.ms.Store(1_700_000_000_000)
	b, closeBroker, err := NewForTestConfig(vfs.NewMemFS(), "/data", topics, func(c *Config) { c.QuotaClock = clk.now })
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { closeBroker() })
	return b, clk
}

// conn is a client connection as a transport serves it: its QuotaConn
// around each request, the request framed with its client id.
type conn struct {
	t         *testing.T
	b         *Broker
	qc        *QuotaConn
	principal string
	clientID  string
	// during, when set, runs between Begin and Handle (a clock move).
	during func()
}

func newConn(t *testing.T, b *Broker, clientID string) *conn {
	return &conn{t: t, b: b, qc: b.NewQuotaConn(), principal: AnonymousPrincipal, clientID: clientID}
}

// send answers req at version as the transport does; mute is how long
// the transport would mute the connection after the answer.
func (c *conn) send(req kmsg.Request, version int16) (resp kmsg.Response, mute time.Duration) {
	c.t.Helper()
	req.SetVersion(version)
	framed := kmsg.NewRequestFormatter(kmsg.FormatterClientID(c.clientID)).AppendRequest(nil, req, 1)
	frame := framed[4:]
	wr, err := wire.Parse(frame)
	if err != nil {
		c.t.Fatal(err)
	}
	ctx := WithQuotaConn(WithIdentity(context.Background(), Identity{Principal: c.principal, Host: "127.0.0.1"}), c.qc)
	c.qc.Begin(frame)
	if c.during != nil {
		c.during()
	}
	resp = c.b.Handle(ctx, wr)
	return resp, c.qc.End(ctx, resp)
}

func entity(parts ...string) []kmsg.AlterClientQuotasRequestEntryEntity {
	var out []kmsg.AlterClientQuotasRequestEntryEntity
	for i := 0; i < len(parts); i += 2 {
		e := kmsg.AlterClientQuotasRequestEntryEntity{Type: parts[i]}
		if parts[i+1] != "<default>" {
			e.Name = kmsg.StringPtr(parts[i+1])
		}
		out = append(out, e)
	}
	return out
}

// setQuota sets (or, v 0, removes) a key of an entity through
// AlterClientQuotas.
func setQuota(t *testing.T, b *Broker, key string, v float64, parts ...string) {
	t.Helper()
	req := kmsg.NewPtrAlterClientQuotasRequest()
	req.Entries = []kmsg.AlterClientQuotasRequestEntry{{Entity: entity(parts...),
		Ops: []kmsg.AlterClientQuotasRequestEntryOp{{Key: key, Value: v, Remove: v == 0}}}}
	resp := sendAs[*kmsg.AlterClientQuotasResponse](t, b, AnonymousPrincipal, req, 1)
	if len(resp.Entries) != 1 || resp.Entries[0].ErrorCode != 0 {
		t.Fatalf("setting %s of %v: %+v", key, parts, resp.Entries)
	}
}

// AlterClientQuotas and DescribeClientQuotas through the in-process
// controller: Kafka's refusals, validate only, the filters, and the
// quotas reaching enforcement when the answer comes.
func TestClientQuotaAPIs(t *testing.T) {
	b, _ := quotaBroker(t, nil)
	req := kmsg.NewPtrAlterClientQuotasRequest()
	req.Entries = []kmsg.AlterClientQuotasRequestEntry{
		{Entity: entity("user", "alice"), Ops: []kmsg.AlterClientQuotasRequestEntryOp{{Key: "producer_byte_rate", Value: 1024}}},
		{Entity: entity("user", "alice", "client-id", "<default>"), Ops: []kmsg.AlterClientQuotasRequestEntryOp{{Key: "consumer_byte_rate", Value: 2048}}},
		{Entity: entity("client-id", "app"), Ops: []kmsg.AlterClientQuotasRequestEntryOp{{Key: "request_percentage", Value: 50}}},
		{Entity: entity("ip", "10.0.0.1"), Ops: []kmsg.AlterClientQuotasRequestEntryOp{{Key: "connection_creation_rate", Value: 5}}},
		{Entity: entity("user", "bob"), Ops: []kmsg.AlterClientQuotasRequestEntryOp{{Key: "producer_byte_rate", Value: 1.5}}},
		{Entity: entity("group", "g"), Ops: []kmsg.AlterClientQuotasRequestEntryOp{{Key: "producer_byte_rate", Value: 1}}},
	}
	resp := sendAs[*kmsg.AlterClientQuotasResponse](t, b, AnonymousPrincipal, req, 1)
	if len(resp.Entries) != 6 {
		t.Fatalf("entries %+v", resp.Entries)
	}
	for i, want := range []string{"", "", "", "", "producer_byte_rate cannot be a fractional value.", "Unhandled client quota entity type: group"} {
		e := resp.Entries[i]
		if want == "" && e.ErrorCode != 0 || want != "" && (e.ErrorCode != kerr.InvalidRequest.Code || !strings.Contains(*e.ErrorMessage, want)) {
			t.Errorf("entry %d: %d %v, want %q", i, e.ErrorCode, e.ErrorMessage, want)
		}
	}
	if !b.cfg.Quotas.Active(quota.Produce) || !b.cfg.Quotas.Active(quota.Fetch) || !b.cfg.Quotas.Active(quota.Request) || b.cfg.Quotas.Active(quota.ControllerMutation) {
		t.Fatal("the quotas had not reached enforcement when AlterClientQuotas answered")
	}
	// Validate only: answered, not applied.
	req.ValidateOnly = true
	req.Entries = []kmsg.AlterClientQuotasRequestEntry{{Entity: entity("user", "carol"), Ops: []kmsg.AlterClientQuotasRequestEntryOp{{Key: "controller_mutation_rate", Value: 1}}}}
	if resp := sendAs[*kmsg.AlterClientQuotasResponse](t, b, AnonymousPrincipal, req, 0); resp.Entries[0].ErrorCode != 0 || b.cfg.Quotas.Active(quota.ControllerMutation) {
		t.Fatalf("validate only: %+v", resp.Entries)
	}

	describe := func(strict bool, comps ...kmsg.DescribeClientQuotasRequestComponent) *kmsg.DescribeClientQuotasResponse {
		r := kmsg.NewPtrDescribeClientQuotasRequest()
		r.Components, r.Strict = comps, strict
		return sendAs[*kmsg.DescribeClientQuotasResponse](t, b, AnonymousPrincipal, r, 1)
	}
	comp := func(typ string, match kmsg.QuotasMatchType, name *string) kmsg.DescribeClientQuotasRequestComponent {
		return kmsg.DescribeClientQuotasRequestComponent{EntityType: typ, MatchType: match, Match: name}
	}
	render := func(r *kmsg.DescribeClientQuotasResponse) string {
		var out []string
		for _, e := range r.Entries {
			var s []string
			for _, p := range e.Entity {
				name := "<default>"
				if p.Name != nil {
					name = *p.Name
				}
				s = append(s, p.Type+"="+name)
			}
			for _, v := range e.Values {
				s = append(s, v.Key)
			}
			out = append(out, strings.Join(s, ","))
		}
		return strings.Join(out, " ")
	}
	if got := render(describe(false)); got != "ip=10.0.0.1,connection_creation_rate client-id=app,request_percentage user=alice,producer_byte_rate user=alice,client-id=<default>,consumer_byte_rate" {
		t.Errorf("everything: %s", got)
	}
	if got := render(describe(false, comp("user", kmsg.QuotasMatchTypeExact, kmsg.StringPtr("alice")))); got != "user=alice,producer_byte_rate user=alice,client-id=<default>,consumer_byte_rate" {
		t.Errorf("user alice: %s", got)
	}
	if got := render(describe(true, comp("user", kmsg.QuotasMatchTypeExact, kmsg.StringPtr("alice")))); got != "user=alice,producer_byte_rate" {
		t.Errorf("user alice strict: %s", got)
	}
	if got := render(describe(false, comp("user", kmsg.QuotasMatchTypeExact, kmsg.StringPtr("alice")), comp("client-id", kmsg.QuotasMatchTypeDefault, nil))); got != "user=alice,client-id=<default>,consumer_byte_rate" {
		t.Errorf("alice's default client: %s", got)
	}
	if got := render(describe(false, comp("client-id", kmsg.QuotasMatchTypeAny, nil))); got != "client-id=app,request_percentage user=alice,client-id=<default>,consumer_byte_rate" {
		t.Errorf("any client id: %s", got)
	}
	if r := describe(false, comp("group", kmsg.QuotasMatchTypeAny, nil)); r.ErrorCode != kerr.UnsupportedVersion.Code {
		t.Errorf("unknown type: %d", r.ErrorCode)
	}
	if r := describe(false, comp("user", kmsg.QuotasMatchTypeExact, nil)); r.ErrorCode != kerr.InvalidRequest.Code ||
		*r.ErrorMessage != "Request specified MATCH_TYPE_EXACT, but set match string to null." {
		t.Errorf("exact without a name: %d %v", r.ErrorCode, r.ErrorMessage)
	}
	// Removing every quota makes enforcement inactive.
	setQuota(t, b, "producer_byte_rate", 0, "user", "alice")
	setQuota(t, b, "consumer_byte_rate", 0, "user", "alice", "client-id", "<default>")
	setQuota(t, b, "request_percentage", 0, "client-id", "app")
	if b.cfg.Quotas.AnyActive() {
		t.Fatal("quotas active after they were all removed")
	}
}

// producer_byte_rate: over the quota the answer carries the throttle time
// ((rate - Q)/Q * window span) and the connection is to be muted for it;
// another client is not slowed; acks=0 is muted without an answer.
func TestProduceQuotaThrottles(t *testing.T) {
	b, clk := quotaBroker(t, map[string]int32{"t": 1})
	setQuota(t, b, "producer_byte_rate", 1000, "client-id", "slow")
	slow, fast := newConn(t, b, "slow"), newConn(t, b, "fast")
	sent := 0
	size := len(kmsg.NewRequestFormatter(kmsg.FormatterClientID("slow")).AppendRequest(nil, withVersion(produceRequest(t, "t", 0, nil), 9), 1)) - 4
	for i := range 100 {
		resp, mute := slow.send(produceRequest(t, "t", 0, nil), 9)
		sent += size
		pr := resp.(*kmsg.ProduceResponse)
		if pr.Topics[0].Partitions[0].ErrorCode != 0 {
			t.Fatalf("produce %d: %v", i, kerr.ErrorForCode(pr.Topics[0].Partitions[0].ErrorCode))
		}
		if sent <= 10_000 { // Q * 10 windows: the first burst
			if mute != 0 || pr.ThrottleMillis != 0 {
				t.Fatalf("throttled at %d bytes: %v", sent, mute)
			}
			continue
		}
		// rate = sent / 10 s; throttle = (rate - Q)/Q * 10 s.
		want := time.Duration((float64(sent)/1000 - 10) * float64(time.Second))
		if d := time.Duration(pr.ThrottleMillis) * time.Millisecond; mute != d || (d-want).Abs() > time.Millisecond {
			t.Fatalf("after %d bytes: throttle %d ms, mute %v; want %v", sent, pr.ThrottleMillis, mute, want)
		}
		break
	}
	for range 200 {
		if resp, mute := fast.send(produceRequest(t, "t", 0, nil), 9); mute != 0 || resp.(*kmsg.ProduceResponse).ThrottleMillis != 0 {
			t.Fatalf("a client without a quota throttled %v", mute)
		}
	}
	req := produceRequest(t, "t", 0, nil)
	req.Acks = 0
	if resp, mute := slow.send(req, 9); resp != nil || mute <= 0 {
		t.Fatalf("acks=0 over the quota: %v, mute %v", resp, mute)
	}
	// The throttle waited out (and the quota's windows moved on): the
	// client is back under its quota.
	clk.advance(time.Minute)
	if _, mute := slow.send(produceRequest(t, "t", 0, nil), 9); mute != 0 {
		t.Fatalf("a minute later still throttled %v", mute)
	}
}

// consumer_byte_rate: a fetch is bounded to the quota's window; one over
// the quota gets no data and the throttle time, and is not counted.
func TestFetchQuotaThrottles(t *testing.T) {
	b, clk := quotaBroker(t, map[string]int32{"t": 1})
	producer := newConn(t, b, "producer")
	for range 200 { // 200 batches of ~70 bytes
		producer.send(produceRequest(t, "t", 0, nil), 9)
	}
	setQuota(t, b, "consumer_byte_rate", 1000, "user", "<default>") // bound: 10 windows, 10000 bytes
	consumer := newConn(t, b, "consumer")
	fetch := func(maxBytes int32) (*FetchResponse, int, time.Duration) {
		req := fetchRequest("t", 0)
		req.MaxBytes = maxBytes
		resp, mute := consumer.send(req, 11)
		fr := resp.(*FetchResponse)
		if err := fr.Materialize(); err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, rt := range fr.Topics {
			for _, rp := range rt.Partitions {
				n += len(rp.RecordBatches)
			}
		}
		return fr, n, mute
	}
	if _, n, mute := fetch(100); n == 0 || n > 200 || mute != 0 {
		t.Fatalf("a small fetch: %d bytes, mute %v", n, mute)
	}
	// Ten and a half seconds on, the rate's span is longer than the
	// bound's: a whole bound's fetch is within the quota.
	clk.advance(10500 * time.Millisecond)
	if _, n, mute := fetch(1 << 20); n < 9000 || n > 10_000+100 || mute != 0 {
		t.Fatalf("a fetch asking 1 MiB: %d bytes (want the 10000-byte bound), mute %v", n, mute)
	}
	fr, n, mute := fetch(1 << 20)
	if mute <= 0 || n != 0 || len(fr.Topics) != 0 || time.Duration(fr.ThrottleMillis)*time.Millisecond != mute {
		t.Fatalf("over the quota: %d bytes, mute %v, throttle %d", n, mute, fr.ThrottleMillis)
	}
	// The throttled answer was taken back: the rate is what was sent.
	before := b.cfg.Quotas.Rate(quota.Fetch, "ANONYMOUS", "consumer", b.now())
	fetch(1 << 20)
	if after := b.cfg.Quotas.Rate(quota.Fetch, "ANONYMOUS", "consumer", b.now()); after != before {
		t.Fatalf("a throttled fetch counted: %v → %v", before, after)
	}
	// A follower's fetch is exempt.
	req := fetchRequest("t", 0)
	req.ReplicaID = 1
	if _, mute := consumer.send(req, 11); mute != 0 {
		t.Fatalf("a follower throttled %v", mute)
	}
}

// request_percentage: the request's handling time (the fake clock moved
// while it ran) over the quota throttles, at most a window; the long poll
// of a fetch does not count.
func TestRequestQuotaThrottles(t *testing.T) {
	b, clk := quotaBroker(t, map[string]int32{"t": 1})
	setQuota(t, b, "request_percentage", 10, "user", "ANONYMOUS")
	c := newConn(t, b, "busy")
	c.during = func() { clk.advance(2 * time.Second) } // 200% of a handler for this request
	resp, mute := c.send(metadataRequest("t"), 9)
	if mute != time.Second || resp.(*kmsg.MetadataResponse).ThrottleMillis != 1000 {
		t.Fatalf("metadata taking 2 s under a 10%% quota: mute %v, throttle %d; want the 1 s bound", mute, resp.(*kmsg.MetadataResponse).ThrottleMillis)
	}
	// JoinGroup is not counted (it waits for the rebalance).
	c.during = nil
	clk.advance(time.Minute)
	c.during = func() { clk.advance(time.Second) }
	if _, mute := c.send(metadataRequest("t"), 9); mute != 0 {
		t.Fatalf("100 ms/s after a minute: mute %v", mute)
	}
	c.during = nil
	// A fetch's long poll is not handling time: 300 ms waiting for data
	// under a 1% quota.
	clk.advance(time.Minute)
	setQuota(t, b, "request_percentage", 1, "user", "ANONYMOUS")
	req := fetchRequest("t", 0)
	req.MaxWaitMillis, req.MinBytes = 300, 1
	done := make(chan time.Duration, 1)
	go func() { _, mute := c.send(req, 11); done <- mute }()
	time.Sleep(50 * time.Millisecond)
	clk.advance(5 * time.Second) // while it waits
	if mute := <-done; mute != 0 {
		t.Fatalf("a long poll counted as handling time: mute %v", mute)
	}
}

// KIP-599: CreateTopics v6+ refuses a topic while the bucket is below
// zero (THROTTLING_QUOTA_EXCEEDED, with the time to wait), older versions
// go through and are throttled; DeleteTopics and CreatePartitions alike.
func TestControllerMutationQuota(t *testing.T) {
	b, clk := quotaBroker(t, nil)
	setQuota(t, b, "controller_mutation_rate", 1, "client-id", "admin") // burst 11 partitions
	admin := newConn(t, b, "admin")
	create := func(version int16, topics map[string]int32) (*kmsg.CreateTopicsResponse, time.Duration) {
		req := kmsg.NewPtrCreateTopicsRequest()
		req.TimeoutMillis = 10000
		for _, name := range []string{"a", "b", "c", "d", "e"} {
			if n, ok := topics[name]; ok {
				rt := kmsg.NewCreateTopicsRequestTopic()
				rt.Topic, rt.NumPartitions, rt.ReplicationFactor = name, n, 1
				req.Topics = append(req.Topics, rt)
			}
		}
		resp, mute := admin.send(req, version)
		return resp.(*kmsg.CreateTopicsResponse), mute
	}
	resp, mute := create(7, map[string]int32{"a": 10, "b": 5, "c": 1})
	codes := []int16{resp.Topics[0].ErrorCode, resp.Topics[1].ErrorCode, resp.Topics[2].ErrorCode}
	// a: 11 → 1; b: 1 → -4 (allowed: the bucket was not below zero); c: refused.
	if codes[0] != 0 || codes[1] != 0 || codes[2] != kerr.ThrottlingQuotaExceeded.Code || *resp.Topics[2].ErrorMessage != throttlingQuotaMessage {
		t.Fatalf("codes %v", codes)
	}
	if mute != 4*time.Second || resp.ThrottleMillis != 4000 {
		t.Fatalf("throttle %d, mute %v; want 4 s (-4 at 1/s)", resp.ThrottleMillis, mute)
	}
	// v5 is permissive: created, throttled (-4 → -6).
	resp, mute = create(5, map[string]int32{"d": 2})
	if resp.Topics[0].ErrorCode != 0 || mute != 6*time.Second {
		t.Fatalf("v5: %v, mute %v", kerr.ErrorForCode(resp.Topics[0].ErrorCode), mute)
	}
	// DeleteTopics v6 refuses below zero; after the refill it deletes.
	del := kmsg.NewPtrDeleteTopicsRequest()
	del.TimeoutMillis = 10000
	del.Topics = []kmsg.DeleteTopicsRequestTopic{{Topic: kmsg.StringPtr("a")}}
	dr, mute := admin.send(del, 6)
	if code := dr.(*kmsg.DeleteTopicsResponse).Topics[0].ErrorCode; code != kerr.ThrottlingQuotaExceeded.Code || mute != 6*time.Second {
		t.Fatalf("delete below zero: %v, mute %v", kerr.ErrorForCode(code), mute)
	}
	clk.advance(6 * time.Second)
	// Allowed at zero, it takes the bucket to -10 without a throttle: a
	// strict quota throttles only what it refuses (Kafka's).
	if dr, mute = admin.send(del, 6); dr.(*kmsg.DeleteTopicsResponse).Topics[0].ErrorCode != 0 || mute != 0 {
		t.Fatalf("delete after the refill: %+v, mute %v", dr, mute)
	}
	// CreatePartitions v3 refuses; v2 grows the topic and throttles.
	cp := kmsg.NewPtrCreatePartitionsRequest()
	cp.TimeoutMillis = 10000
	cp.Topics = []kmsg.CreatePartitionsRequestTopic{{Topic: "b", Count: 6}}
	cr, mute := admin.send(cp, 3)
	if code := cr.(*kmsg.CreatePartitionsResponse).Topics[0].ErrorCode; code != kerr.ThrottlingQuotaExceeded.Code || mute != 10*time.Second {
		t.Fatalf("create partitions v3 below zero: %v, mute %v", kerr.ErrorForCode(code), mute)
	}
	cr, mute = admin.send(cp, 2)
	if code := cr.(*kmsg.CreatePartitionsResponse).Topics[0].ErrorCode; code != 0 || mute != 11*time.Second {
		t.Fatalf("create partitions v2: %v, mute %v", kerr.ErrorForCode(code), mute)
	}
	// Another client id has no quota.
	other := newConn(t, b, "other")
	req := kmsg.NewPtrCreateTopicsRequest()
	req.Topics = []kmsg.CreateTopicsRequestTopic{{Topic: "f", NumPartitions: 50, ReplicationFactor: 1}}
	if r, mute := other.send(req, 7); r.(*kmsg.CreateTopicsResponse).Topics[0].ErrorCode != 0 || mute != 0 {
		t.Fatalf("another client: %+v %v", r, mute)
	}
}

// With no quota set, Begin and End do nothing and the answer is unchanged.
func TestNoQuotaNoThrottle(t *testing.T) {
	b, _ := quotaBroker(t, map[string]int32{"t": 1})
	c := newConn(t, b, "p")
	for range 50 {
		if resp, mute := c.send(produceRequest(t, "t", 0, nil), 9); mute != 0 || resp.(*kmsg.ProduceResponse).ThrottleMillis != 0 {
			t.Fatal("throttled without quotas")
		}
	}
	if c.qc.tracking || b.cfg.Quotas.Sensors() != 0 {
		t.Fatal("quota state kept without quotas")
	}
	var none *QuotaConn = (&Broker{}).NewQuotaConn() // a broker without Config.Quotas
	none.Begin([]byte{0, 0, 0, 9, 0, 0, 0, 1, 0, 0})
	if none.End(context.Background(), nil) != 0 {
		t.Fatal("a broker without quotas throttles")
	}
	if !errors.Is(quota.ErrThrottled, quota.ErrThrottled) {
		t.Fatal()
	}
}

// BenchmarkProduceQuota is a produce request through the handler as a
// transport serves it (Begin, Handle, End), with no quota set and under a
// producer_byte_rate quota it never exceeds.
func BenchmarkProduceQuota(b *testing.B) {
	for _, withQuota := range []bool{false, true} {
		name := "no-quota"
		if withQuota {
			name = "quota"
		}
		b.Run(name, func(b *testing.B) {
			br, closeBroker, err := NewInMemory(map[string]int32{"t": 1})
			if err != nil {
				b.Fatal(err)
			}
			defer closeBroker()
			if withQuota {
				req := kmsg.NewPtrAlterClientQuotasRequest()
				req.Entries = []kmsg.AlterClientQuotasRequestEntry{{Entity: entity("client-id", "bench"),
					Ops: []kmsg.AlterClientQuotasRequestEntryOp{{Key: "producer_byte_rate", Value: 1 << 50}}}}
				send(b, br, AnonymousPrincipal, req, 1)
			}
			req := withVersion(produceRequest(b, "t", 0, nil), 9)
			frame := kmsg.NewRequestFormatter(kmsg.FormatterClientID("bench")).AppendRequest(nil, req, 1)[4:]
			wr, err := wire.Parse(frame)
			if err != nil {
				b.Fatal(err)
			}
			qc := br.NewQuotaConn()
			ctx := WithQuotaConn(WithIdentity(context.Background(), Identity{Principal: AnonymousPrincipal, Host: "127.0.0.1"}), qc)
			b.SetBytes(int64(len(frame)))
			for b.Loop() {
				qc.Begin(frame)
				resp := br.Handle(ctx, wr)
				if qc.End(ctx, resp) != 0 {
					b.Fatal("throttled")
				}
			}
		})
	}
}
