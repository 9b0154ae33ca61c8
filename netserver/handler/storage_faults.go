package handler

// Storage faults a client cannot fix by retrying faster: a partition that
// could not be created (the descriptor limit, a full or failed disk), a
// write refused by the log. Each is answered with KAFKA_STORAGE_ERROR
// (retriable, as in Kafka) and logged at most once per partition per
// faultLogInterval, however often clients retry; the creation of a missing
// partition is retried by the next request for it (one broker) or the
// reconciler's next pass (cluster).

import (
	"fmt"
	"sync"
	"time"

	"github.com/rillmq/rill/engine"
)

// faultLogInterval is how often one partition's storage fault is logged.
const faultLogInterval = 30 * time.Second

// storageFaults remembers partitions whose creation failed, and rate
// limits fault log lines. Safe for concurrent use.
type storageFaults struct {
	mu         sync.Mutex
	missing    map[engine.TopicPartition]error // creation failed
	lastLogged map[string]time.Time
}

// logf logs a fault under key at most once per faultLogInterval,
// counting the lines it held back.
func (f *storageFaults) logf(logf func(string, ...any), key string, format string, args ...any) {
	now := time.Now()
	f.mu.Lock()
	if f.lastLogged == nil {
		f.lastLogged = map[string]time.Time{}
	}
	last, seen := f.lastLogged[key]
	if seen && now.Sub(last) < faultLogInterval {
		f.mu.Unlock()
		return
	}
	f.lastLogged[key] = now
	if len(f.lastLogged) > 10000 { // forget old keys; a burst may log again
		for k, t := range f.lastLogged {
			if now.Sub(t) >= faultLogInterval {
				delete(f.lastLogged, k)
			}
		}
	}
	f.mu.Unlock()
	logf(format+fmt.Sprintf(" (logged once per %v)", faultLogInterval), args...)
}

// failed records that tp could not be created.
func (f *storageFaults) failed(tp engine.TopicPartition, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.missing == nil {
		f.missing = map[engine.TopicPartition]error{}
	}
	f.missing[tp] = err
}

// created clears tp's creation failure.
func (f *storageFaults) created(tp engine.TopicPartition) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.missing, tp)
}

// creationFailure is why tp could not be created (nil: it did not fail).
func (f *storageFaults) creationFailure(tp engine.TopicPartition) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.missing[tp]
}
