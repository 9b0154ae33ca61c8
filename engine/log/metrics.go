package log

import (
	"time"

	"github.com/rillmq/rill/engine/vfs"
	"github.com/rillmq/rill/internal/metrics"
)

// timedSync is s.Sync(files), timed for the log flush latency histogram
// (Kafka's LogFlushRateAndTimeMs): one observation per flush of a
// partition, however many files it syncs. Failed flushes are not
// observed: their time says nothing about the device's latency.
func timedSync(s Syncer, files []vfs.File) error {
	start := time.Now()
	err := s.Sync(files)
	if err == nil {
		metrics.Flushed(time.Since(start))
	}
	return err
}
