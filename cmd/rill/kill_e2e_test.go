package main

import (
	"context"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/rillmq/rill/internal/history"
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
	var h history.History
	var acked atomic.Int64
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
		seq := i
		cl.Produce(ctx, &kgo.Record{Key: []byte(fmt.Sprint(i % 5)), Value: []byte(v)}, func(r *kgo.Record, err error) {
			defer wg.Done()
			h.Sent(history.Send{Seq: seq, Value: v, Acked: err == nil, Partition: r.Partition, Offset: r.Offset})
			if err == nil {
				acked.Add(1)
			}
		})
	}
	wg.Wait()
	if acked.Load() < total/2 {
		t.Fatalf("only %d of %d records acknowledged:\n%s", acked.Load(), total, b.log())
	}
	got := consumeAll(t, addr, "chaos", int(acked.Load()))
	for _, r := range got {
		h.Saw(history.Read{Partition: r.partition, Offset: r.offset, Value: r.val})
	}
	// Lost, duplicated, reordered (one idempotent producer) or misplaced
	// records across the two SIGKILLs.
	report := h.Check()
	if !report.OK() {
		t.Fatal(report)
	}
	t.Logf("%v, %d stored, across 2 SIGKILLs", report, len(got))
	b.stop()
}
