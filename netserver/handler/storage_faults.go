package handler

// Storage faults a client cannot fix by retrying faster: a partition that
// could not be created (the descriptor limit, a full or failed disk), a
// write refused by the log. Each is answered with KAFKA_STORAGE_ERROR
// (retriable, as in Kafka) and logged at most once per partition per
// faultLogInterval, however often clients retry; the creation of a missing
// partition is retried by the publisher (package broker), which reports
// the failure (Cluster.PartitionFailure) until then.

import (
	"fmt"
	"sync"
	"time"
)

// faultLogInterval is how often one partition's storage fault is logged.
const faultLogInterval = 30 * time.Second

// storageFaults rate limits fault log lines. Safe for concurrent use.
type storageFaults struct {
	mu         sync.Mutex
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
