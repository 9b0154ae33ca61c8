package handler

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/rillmq/rill/internal/kafka"
	"github.com/rillmq/rill/netserver/wire"
)

func TestFetchWatchWakesOnlyItsPartitions(t *testing.T) {
	w := newFetchWatch()
	a0, a1, b0 := kafka.TopicPartition{Topic: "a", Partition: 0}, kafka.TopicPartition{Topic: "a", Partition: 1}, kafka.TopicPartition{Topic: "b", Partition: 0}
	onA := w.register([]kafka.TopicPartition{a0, a1})
	onB := w.register([]kafka.TopicPartition{b0})
	closed := func(fw *fetchWaiter) bool {
		select {
		case <-fw.ch:
			return true
		default:
			return false
		}
	}
	w.wake(kafka.TopicPartition{Topic: "c", Partition: 0})
	if closed(onA) || closed(onB) {
		t.Fatal("a wake of an unwatched partition woke a waiter")
	}
	w.wake(a1)
	if !closed(onA) || closed(onB) {
		t.Fatalf("wake of a-1: a's waiter woken %v, b's %v; want true, false", closed(onA), closed(onB))
	}
	// A woken waiter is gone from every partition it watched: waking
	// a-0 now must not close its channel twice.
	w.wake(a0)
	w.unregister(onA)
	if got := w.watched(); got != 1 {
		t.Fatalf("%d partitions watched, want 1 (b-0)", got)
	}
	w.unregister(onB)
	if got := w.watched(); got != 0 {
		t.Fatalf("%d partitions watched after unregister, want 0", got)
	}
	if closed(onB) {
		t.Fatal("unregister closed the waiter's channel")
	}
}

// A wake between register and the wait is not lost: the channel is
// already closed when the long poll selects on it.
func TestFetchWatchWakeBeforeWait(t *testing.T) {
	w := newFetchWatch()
	tp := kafka.TopicPartition{Topic: "t", Partition: 3}
	fw := w.register([]kafka.TopicPartition{tp})
	w.wake(tp)
	select {
	case <-fw.ch:
	default:
		t.Fatal("a wake after register and before the wait was lost")
	}
}

// Through the handlers: a long-polling Fetch of a-0 waits while b-0 is
// produced to (it is not even woken: the watch holds it on a-0 alone), and
// answers as soon as a-0 is.
func TestLongPollWakesOnItsPartitionOnly(t *testing.T) {
	b, closeBroker, err := NewInMemory(map[string]int32{"a": 1, "b": 1})
	if err != nil {
		t.Fatal(err)
	}
	defer closeBroker()
	fetch := fetchRequest("a", 0)
	fetch.MaxWaitMillis, fetch.MinBytes = 20_000, 1
	done := make(chan *kmsg.FetchResponse, 1)
	start := time.Now()
	go func() {
		resp := b.Handle(context.Background(), &wire.Request{Header: wire.Header{Key: 1, Version: 12, ClientID: "test"}, Msg: withVersion(fetch, 12), ClientHost: "/127.0.0.1"})
		done <- resp.(*FetchResponse).FetchResponse
	}()
	// The long poll is parked once a-0 is watched.
	a0 := kafka.TopicPartition{Topic: "a", Partition: 0}
	for !b.watchesPartition(a0) {
		if time.Since(start) > 10*time.Second {
			t.Fatal("the long poll never watched a-0")
		}
		time.Sleep(time.Millisecond)
	}
	if r := handle[*kmsg.ProduceResponse](t, b, produceRequest(t, "b", 0, nil), 9); r.Topics[0].Partitions[0].ErrorCode != 0 {
		t.Fatalf("produce to b-0: %v", r.Topics[0].Partitions[0].ErrorCode)
	}
	if !b.watchesPartition(a0) {
		t.Fatal("a produce to b-0 woke the long poll of a-0")
	}
	select {
	case <-done:
		t.Fatal("the long poll of a-0 answered after a produce to b-0")
	default:
	}
	if r := handle[*kmsg.ProduceResponse](t, b, produceRequest(t, "a", 0, nil), 9); r.Topics[0].Partitions[0].ErrorCode != 0 {
		t.Fatalf("produce to a-0: %v", r.Topics[0].Partitions[0].ErrorCode)
	}
	select {
	case resp := <-done:
		if p := resp.Topics[0].Partitions[0]; p.ErrorCode != 0 || p.HighWatermark != 1 {
			t.Fatalf("long poll answer: error %d, high watermark %d; want 0, 1", p.ErrorCode, p.HighWatermark)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the long poll of a-0 did not answer after a produce to a-0")
	}
}

// watched is the number of partitions some long poll waits on.
func (w *fetchWatch) watched() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.waiters)
}

// watchesPartition reports whether a long poll waits on tp .
func (b *Broker) watchesPartition(tp kafka.TopicPartition) bool {
	b.watch.mu.Lock()
	defer b.watch.mu.Unlock()
	return len(b.watch.waiters[tp]) > 0
}
