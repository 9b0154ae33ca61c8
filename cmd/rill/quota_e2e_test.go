package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/spf13/pflag"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// throttleHook counts the throttles a client is told of (KIP-219: after
// the response).
type throttleHook struct {
	mu      sync.Mutex
	count   int
	after   bool
	first   time.Time
	longest time.Duration
}

func (h *throttleHook) OnBrokerThrottle(_ kgo.BrokerMetadata, d time.Duration, afterResponse bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.count == 0 {
		h.first = time.Now()
	}
	h.count++
	h.after = afterResponse
	h.longest = max(h.longest, d)
}

func (h *throttleHook) get() (count int, first time.Time, after bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.count, h.first, h.after
}

// meter counts a client's bytes (record values) as they are acknowledged
// or consumed.
type meter struct{ bytes atomic.Int64 }

// rateOver is the meter's rate over d from now.
func (m *meter) rateOver(d time.Duration) float64 {
	before := m.bytes.Load()
	time.Sleep(d)
	return float64(m.bytes.Load()-before) / d.Seconds()
}

// waitThrottled waits until h has seen a throttle.
func waitThrottled(t *testing.T, what string, h *throttleHook, within time.Duration) {
	t.Helper()
	for deadline := time.Now().Add(within); ; time.Sleep(20 * time.Millisecond) {
		if n, _, _ := h.get(); n > 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: never throttled within %v", what, within)
		}
	}
}

// produceFlat produces 1 KiB records as fast as the client is let until
// ctx ends, counting acknowledged bytes.
func produceFlat(ctx context.Context, cl *kgo.Client, topic string, m *meter) {
	value := bytes.Repeat([]byte("q"), 1024)
	for ctx.Err() == nil {
		cl.Produce(ctx, &kgo.Record{Topic: topic, Value: value}, func(r *kgo.Record, err error) {
			if err == nil {
				m.bytes.Add(int64(len(r.Value)))
			}
		})
	}
}

// producePaced produces perSecond 1 KiB records a second until ctx ends,
// counting acknowledged bytes.
func producePaced(ctx context.Context, cl *kgo.Client, topic string, perSecond int, m *meter) {
	value := bytes.Repeat([]byte("f"), 1024)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		for range perSecond / 100 {
			cl.Produce(ctx, &kgo.Record{Topic: topic, Value: value}, func(r *kgo.Record, err error) {
				if err == nil {
					m.bytes.Add(int64(len(r.Value)))
				}
			})
		}
	}
}

func quotaClient(t *testing.T, addr, clientID string, hook *throttleHook, opts ...kgo.Opt) *kgo.Client {
	// Produce requests of at most 64 KiB: each throttle is short
	// against the measurement.
	return client(t, addr, append([]kgo.Opt{kgo.ClientID(clientID), kgo.WithHooks(hook), kgo.ProducerBatchCompression(kgo.NoCompression()),
		kgo.ProducerLinger(5 * time.Millisecond), kgo.ProducerBatchMaxBytes(64 << 10), kgo.MaxBufferedRecords(1000)}, opts...)...)
}

func within(got, want, tolerance float64) bool { return math.Abs(got-want)/want <= tolerance }

// One broker (Kafka's windows: 11 of a second): kgo producers and a
// consumer under producer_byte_rate and consumer_byte_rate quotas (set by
// `rill quota alter`) are told throttle_time_ms (kgo's HookBrokerThrottle,
// after the response) and run within 20% of their quota over Kafka's
// measuring span (10.5 s from their first request; see below); a producer
// without a quota on the same broker is not slowed; removing a quota ends
// its throttling; the quotas survive a restart and are enforced again.
func TestQuotasThrottleClients(t *testing.T) {
	dir := t.TempDir()
	b := startBroker(t, dir)
	bs := "--bootstrap=" + b.addr
	const produceQuota, consumeQuota = 512 << 10, 768 << 10
	rill(t, "", "topic", "create", bs, "--partitions", "1", "quota")
	rill(t, "", "quota", "alter", bs, "--entity-type", "clients", "--entity-name", "slow-producer",
		"--add-config", fmt.Sprintf("producer_byte_rate=%d", produceQuota))
	rill(t, "", "quota", "alter", bs, "--user", "ANONYMOUS", "--client", "slow-consumer",
		"--add-config", fmt.Sprintf("consumer_byte_rate=%d,request_percentage=400", consumeQuota))
	if out := rill(t, "", "quota", "describe", bs, "--entity-type", "clients"); !strings.Contains(out,
		"Quota configs for client-id 'slow-producer' are producer_byte_rate=524288.0") || strings.Contains(out, "slow-consumer") {
		t.Fatalf("describe clients (strict):\n%s", out)
	}
	if out := rill(t, "", "quota", "describe", bs, "--all"); !strings.Contains(out,
		"Quota configs for user-principal 'ANONYMOUS', client-id 'slow-consumer' are consumer_byte_rate=786432.0, request_percentage=400.0") {
		t.Fatalf("describe --all:\n%s", out)
	}
	var quotas []quotaJSON
	rillJSON(t, &quotas, "quota", "describe", bs, "--client", "slow-producer")
	if len(quotas) != 1 || quotas[0].Values["producer_byte_rate"] != produceQuota || len(quotas[0].Entity) != 1 || *quotas[0].Entity[0].Name != "slow-producer" {
		t.Fatalf("quota describe --format json: %+v", quotas)
	}

	// Data for the consumer: 24 MiB, produced without a quota.
	rill(t, "", "topic", "create", bs, "--partitions", "1", "quota-data")
	fill := client(t, b.addr, kgo.ProducerBatchCompression(kgo.NoCompression()))
	value := bytes.Repeat([]byte("d"), 1024)
	for range 24 << 10 {
		fill.Produce(context.Background(), &kgo.Record{Topic: "quota-data", Value: value}, nil)
	}
	if err := fill.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}

	// Producers with and without a quota, and the quota'd consumer, at
	// once. Kafka's rate is measured over 10 windows or more: a client
	// that always has more to send takes 10 windows' quota at once, then
	// is throttled (a fetch over its quota is answered empty) until its
	// rate over the windows comes back under the quota, and so on in
	// cycles of about 11 s. Both are measured over 10.5 s from their
	// first request, which holds one burst and its wait. The producer
	// without a quota offers 4 MiB/s (8 times the other's quota): it is
	// not slowed if it is acknowledged that fast.
	const span = 10500 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var slow, free, consumed meter
	slowHook, freeHook, consumeHook := &throttleHook{}, &throttleHook{}, &throttleHook{}
	consumer := quotaClient(t, b.addr, "slow-consumer", consumeHook, kgo.ConsumeTopics("quota-data"), kgo.FetchMaxPartitionBytes(256<<10))
	producer := quotaClient(t, b.addr, "slow-producer", slowHook)
	for _, cl := range []*kgo.Client{consumer, producer} { // connected before the clock starts
		if err := cl.Ping(ctx); err != nil {
			t.Fatal(err)
		}
	}
	consumeRates, produceRates := make(chan float64, 1), make(chan float64, 1)
	go func() { consumeRates <- consumed.rateOver(span) }()
	go func() {
		for ctx.Err() == nil {
			consumer.PollFetches(ctx).EachRecord(func(r *kgo.Record) { consumed.bytes.Add(int64(len(r.Value))) })
		}
	}()
	go func() { produceRates <- slow.rateOver(span) }()
	go produceFlat(ctx, producer, "quota", &slow)
	go producePaced(ctx, quotaClient(t, b.addr, "free-producer", freeHook), "quota", 4<<10, &free)
	time.Sleep(time.Second)
	freeRate := free.rateOver(5 * time.Second)
	consumeRate, slowRate := <-consumeRates, <-produceRates
	cancel()
	n, _, after := slowHook.get()
	t.Logf("producer_byte_rate %d B/s: quota'd producer %.0f B/s over %v (%+.1f%%, %d throttles, longest %v); producer without quota %.0f B/s",
		produceQuota, slowRate, span, 100*(slowRate/produceQuota-1), n, slowHook.longest, freeRate)
	if !within(slowRate, produceQuota, 0.2) || !after {
		t.Errorf("quota'd producer: %.0f B/s, want %d ±20%% (throttled after the response: %v)", slowRate, produceQuota, after)
	}
	// Not throttled at all; its rate only has to be well above the
	// quota'd one (the paced 4 MiB/s can fall short on a loaded machine
	// under -race).
	if n, _, _ := freeHook.get(); n > 0 || freeRate < 4*produceQuota {
		t.Errorf("producer without a quota: %.0f B/s of the 4 MiB/s it offers, %d throttles", freeRate, n)
	}
	n, _, after = consumeHook.get()
	t.Logf("consumer_byte_rate %d B/s: consumer %.0f B/s over %v (%+.1f%%, %d throttles, longest %v)", consumeQuota, consumeRate, span,
		100*(consumeRate/consumeQuota-1), n, consumeHook.longest)
	if !within(consumeRate, consumeQuota, 0.2) || n == 0 || !after {
		t.Errorf("quota'd consumer: %.0f B/s, want %d ±20%% (%d throttles, after the response: %v)", consumeRate, consumeQuota, n, after)
	}

	// Removed, the producer's quota stops throttling it.
	rill(t, "", "quota", "alter", bs, "--entity-type", "clients", "--entity-name", "slow-producer", "--delete-config", "producer_byte_rate")
	if out := rill(t, "", "quota", "describe", bs, "--entity-type", "clients"); strings.Contains(out, "slow-producer") {
		t.Fatalf("describe after the removal:\n%s", out)
	}
	time.Sleep(slowHook.longest) // a client throttled just before waits that out
	again := &throttleHook{}
	var unthrottled meter
	actx, acancel := context.WithCancel(context.Background())
	go produceFlat(actx, quotaClient(t, b.addr, "slow-producer", again), "quota", &unthrottled)
	if rate := unthrottled.rateOver(2 * time.Second); rate < 2*produceQuota {
		t.Errorf("after the quota's removal: %.0f B/s", rate)
	}
	acancel()
	if n, _, _ := again.get(); n > 0 {
		t.Errorf("after the quota's removal: %d throttles", n)
	}

	// A restart keeps the quotas, enforced before the broker serves.
	rill(t, "", "quota", "alter", bs, "--client-defaults", "--add-config", "producer_byte_rate=65536")
	b.stop()
	b = startBroker(t, dir)
	bs = "--bootstrap=" + b.addr
	if out := rill(t, "", "quota", "describe", bs, "--client-defaults"); !strings.Contains(out,
		"Quota configs for the default client-id are producer_byte_rate=65536.0") {
		t.Fatalf("describe after a restart:\n%s", out)
	}
	restarted := &throttleHook{}
	rctx, rcancel := context.WithCancel(context.Background())
	defer rcancel()
	go produceFlat(rctx, quotaClient(t, b.addr, "any-client", restarted), "quota", &meter{})
	waitThrottled(t, "a client under the default quota after a restart", restarted, 20*time.Second)
	rcancel()
	b.stop()
}

// describeQuotasAt is every quota as the broker at addr answers
// DescribeClientQuotas itself, one line per entity.
func describeQuotasAt(t *testing.T, ctx context.Context, addr string) (string, error) {
	t.Helper()
	req := kmsg.NewPtrDescribeClientQuotasRequest()
	resp, err := client(t, addr).SeedBrokers()[0].Request(ctx, req)
	if err != nil {
		return "", err
	}
	r := resp.(*kmsg.DescribeClientQuotasResponse)
	if err := kerr.ErrorForCode(r.ErrorCode); err != nil {
		return "", err
	}
	var lines []string
	for _, e := range r.Entries {
		var entity kadm.ClientQuotaEntity
		for _, p := range e.Entity {
			entity = append(entity, kadm.ClientQuotaEntityComponent{Type: p.Type, Name: p.Name})
		}
		var values []string
		for _, v := range e.Values {
			values = append(values, fmt.Sprintf("%s=%v", v.Key, v.Value))
		}
		lines = append(lines, entity.String()+" "+strings.Join(values, ","))
	}
	return strings.Join(lines, "; "), nil
}

// Three combined nodes: a quota set through one broker is answered and
// enforced by every broker.
func TestQuotasOnEveryBroker(t *testing.T) {
	c := startCluster(t, "--set", "broker.heartbeat.interval.ms=200")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c.waitFor("three brokers", func() bool {
		m, err := c.admin(0).BrokerMetadata(ctx)
		return err == nil && len(m.Brokers) == 3
	})
	rill(t, "", "quota", "alter", "--bootstrap="+c.addrs[1], "--user", "ANONYMOUS", "--client-defaults",
		"--add-config", "controller_mutation_rate=1,producer_byte_rate=1048576")
	want := "{user=ANONYMOUS, client-id=<default>} controller_mutation_rate=1,producer_byte_rate=1.048576e+06"
	for i, addr := range c.addrs {
		c.waitFor(fmt.Sprintf("broker %d's quotas", i+1), func() bool {
			got, err := describeQuotasAt(t, ctx, addr)
			return err == nil && got == want
		})
	}
	// Each broker enforces the mutation quota it applied (burst: 11
	// partitions): CreateTopics v7 through broker 3 is refused past it.
	req := kmsg.NewPtrCreateTopicsRequest()
	for i := range 3 {
		req.Topics = append(req.Topics, kmsg.CreateTopicsRequestTopic{Topic: fmt.Sprint("m", i), NumPartitions: 6, ReplicationFactor: 1})
	}
	req.TimeoutMillis = 30000
	resp, err := client(t, c.addrs[2], kgo.ClientID("admin")).SeedBrokers()[0].Request(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	r := resp.(*kmsg.CreateTopicsResponse)
	if r.Topics[0].ErrorCode != 0 || r.Topics[1].ErrorCode != 0 || r.Topics[2].ErrorCode != kerr.ThrottlingQuotaExceeded.Code || r.ThrottleMillis <= 0 {
		t.Fatalf("create topics over the mutation quota: %+v", r)
	}
	for _, b := range c.bs {
		b.stop()
	}
}

// kafka-configs.sh's entity flags pair in order: each --entity-type with
// the --entity-name or --entity-default after it; the short forms mix in.
func TestQuotaEntityFlags(t *testing.T) {
	parse := func(args ...string) (string, error) {
		fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
		fs.SetOutput(io.Discard)
		var q quotaEntityFlags
		q.register(fs)
		if err := fs.Parse(args); err != nil {
			return "", err
		}
		types, names, named, err := q.components()
		if err != nil {
			return "", err
		}
		var out []string
		for i, typ := range types {
			switch {
			case !named[i]:
				out = append(out, typ+"=*")
			case names[i] == nil:
				out = append(out, typ+"=<default>")
			default:
				out = append(out, typ+"="+*names[i])
			}
		}
		return strings.Join(out, ","), nil
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--entity-type", "users", "--entity-name", "alice", "--entity-type", "clients", "--entity-default"}, "user=alice,client-id=<default>"},
		{[]string{"--entity-type", "clients", "--entity-type", "users"}, "client-id=*,user=*"},
		{[]string{"--user-defaults", "--client", "app"}, "user=<default>,client-id=app"},
		{[]string{"--ip", "10.0.0.1"}, "ip=10.0.0.1"},
		{[]string{"--entity-type", "ips", "--entity-default"}, "ip=<default>"},
	} {
		if got, err := parse(c.args...); err != nil || got != c.want {
			t.Errorf("%v: %q %v, want %q", c.args, got, err, c.want)
		}
	}
	for _, bad := range [][]string{
		{"--entity-name", "alice"},
		{"--entity-type", "topics"},
		{"--entity-type", "users", "--entity-name", ""},
		{"--user", "a", "--entity-type", "users", "--entity-name", "b"},
	} {
		if got, err := parse(bad...); err == nil {
			t.Errorf("%v: accepted as %q", bad, got)
		}
	}
	if _, err := quotaOps("producer_byte_rate=1k", ""); err == nil {
		t.Error("a value that is not a number accepted")
	}
	if ops, err := quotaOps("producer_byte_rate=1024, request_percentage=12.5", "consumer_byte_rate"); err != nil || len(ops) != 3 ||
		ops[1].Value != 12.5 || !ops[2].Remove {
		t.Errorf("ops %+v %v", ops, err)
	}
	if javaDouble(1024) != "1024.0" || javaDouble(12.5) != "12.5" {
		t.Error("values print unlike Java's doubles")
	}
}
