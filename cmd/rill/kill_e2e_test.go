package main

import (
	"context"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// freePort returns a loopback port nothing listens on right now, so a
// restarted broker can come back at the address its clients know.
func freePort(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// An idempotent kgo producer keeps producing while the broker is
// SIGKILLed and restarted twice at the same address. Every acknowledged
// record must be there afterwards, exactly once, in per-key order.
func TestSIGKILLWhileProducing(t *testing.T) {
	dir := t.TempDir()
	addr := freePort(t)
	start := func() *broker {
		b := startBrokerAt(t, dir, addr)
		return b
	}
	b := start()
	cl := client(t, addr, kgo.DefaultProduceTopic("chaos"), kgo.AllowAutoTopicCreation(),
		kgo.RecordRetries(1000), kgo.RetryTimeout(60*time.Second), kgo.ProduceRequestTimeout(5*time.Second))
	var mu sync.Mutex
	acked := map[string]bool{}
	var wg sync.WaitGroup
	ctx := context.Background()
	const total = 6000
	for i := 0; i < total; i++ {
		if i == total/3 || i == 2*total/3 {
			time.Sleep(100 * time.Millisecond) // let some of the in-flight work land
			b.kill()
			b = start()
		}
		wg.Add(1)
		v := fmt.Sprintf("%06d", i)
		cl.Produce(ctx, &kgo.Record{Key: []byte(fmt.Sprint(i % 5)), Value: []byte(v)}, func(_ *kgo.Record, err error) {
			defer wg.Done()
			if err == nil {
				mu.Lock()
				acked[v] = true
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(acked) < total/2 {
		t.Fatalf("only %d of %d records acknowledged:\n%s", len(acked), total, b.log())
	}
	got := consumeAll(t, addr, "chaos", len(acked))
	seen := map[string]bool{}
	last := map[string]string{}
	for _, r := range got {
		if seen[r.val] {
			t.Fatalf("record %s delivered twice", r.val)
		}
		seen[r.val] = true
		if last[r.key] >= r.val {
			t.Fatalf("key %s: %s after %s", r.key, r.val, last[r.key])
		}
		last[r.key] = r.val
	}
	for v := range acked {
		if !seen[v] {
			t.Fatalf("acknowledged record %s lost", v)
		}
	}
	t.Logf("%d acknowledged, %d stored, across 2 SIGKILLs", len(acked), len(got))
	b.stop()
}
