package handler

import (
	"sync"

	"github.com/rillmq/rill/internal/kafka"
)

// fetchWatch wakes long-polling Fetch requests when one of the partitions
// they read may have more to answer: an append to it (new data for a
// follower, and for a consumer on one broker) or its high watermark moving
// (new data for consumers, a last stable offset past a marker). It is
// Kafka's fetch purgatory keyed by partition (DelayedFetch's watch keys):
// an append wakes only the fetches that read its partition, so a broker
// with many long-polling consumers does not re-read every consumer's
// partitions on every produce.
//
// A long poll registers on its partitions before it reads them, and waits
// on the channel register returns: an append between the read and the
// wait has already closed the channel, so none is missed. A channel is
// closed once; the waiter registers anew for each read.
type fetchWatch struct {
	mu      sync.Mutex
	waiters map[kafka.TopicPartition]map[*fetchWaiter]struct{}
}

// fetchWaiter is one long poll's registration.
type fetchWaiter struct {
	ch  chan struct{}
	tps []kafka.TopicPartition
}

func newFetchWatch() *fetchWatch {
	return &fetchWatch{waiters: map[kafka.TopicPartition]map[*fetchWaiter]struct{}{}}
}

// register watches tps; the waiter's channel closes at the first wake of
// any of them. Call unregister when done waiting.
func (w *fetchWatch) register(tps []kafka.TopicPartition) *fetchWaiter {
	fw := &fetchWaiter{ch: make(chan struct{}), tps: tps}
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, tp := range tps {
		set := w.waiters[tp]
		if set == nil {
			set = map[*fetchWaiter]struct{}{}
			w.waiters[tp] = set
		}
		set[fw] = struct{}{}
	}
	return fw
}

// unregister stops watching; a woken waiter is already gone.
func (w *fetchWatch) unregister(fw *fetchWaiter) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.removeLocked(fw)
}

func (w *fetchWatch) removeLocked(fw *fetchWaiter) {
	for _, tp := range fw.tps {
		if set := w.waiters[tp]; set != nil {
			delete(set, fw)
			if len(set) == 0 {
				delete(w.waiters, tp)
			}
		}
	}
}

// wake wakes every waiter watching tp.
func (w *fetchWatch) wake(tp kafka.TopicPartition) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for fw := range w.waiters[tp] {
		w.removeLocked(fw)
		close(fw.ch)
	}
}
