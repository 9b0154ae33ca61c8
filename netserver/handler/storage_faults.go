package handler

// Storage faults a client cannot fix by retrying faster: a partition that
// could not be created (the descriptor limit, a full or failed disk), a
// write refused by the log. Each is answered with KAFKA_STORAGE_ERROR
// (retriable, as in Kafka) and logged at most once per partition per
// faultLogInterval, however often clients retry; the creation of a missing
// partition is retried by the publisher (package broker), which reports
// the failure (Cluster.PartitionFailure) until then.

import (
	"log/slog"
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

// log logs a fault under key at Error at most once per faultLogInterval:
// a refused write or a partition without a log is data a client could
// not store.
func (f *storageFaults) log(log *slog.Logger, key string, msg string, args ...any) {
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
	log.Error(msg, append(args, "logged_once_per", faultLogInterval)...)
}
