package engine

import (
	"time"

	"github.com/rillmq/rill/engine/compact"
	"github.com/rillmq/rill/engine/log"
	"github.com/rillmq/rill/internal/kafka"
)

// schedule runs background work on a one-second tick until Close.
func (e *Engine) schedule() {
	defer close(e.done)
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	var lastRetention, lastCheckpoint, lastClean int64
	start := e.clock()
	lastRetention, lastCheckpoint, lastClean = start, start, start
	for {
		select {
		case <-e.stop:
			return
		case <-tick.C:
		}
		now := e.clock()
		due := func(last *int64, interval int64) bool {
			if interval <= 0 || now-*last < interval {
				return false
			}
			*last = now
			return true
		}
		e.FlushDue(now)
		if due(&lastRetention, e.cfg.RetentionCheckIntervalMs) {
			e.ApplyRetention(now)
		}
		if due(&lastClean, e.cfg.CleanerBackoffMs) {
			e.Compact(now)
		}
		if due(&lastCheckpoint, e.cfg.CheckpointIntervalMs) {
			if err := e.Checkpoint(); err != nil {
				e.cfg.Logger.Error("checkpoint failed", "err", err)
			}
		}
		e.ReapDeleted(now)
	}
}

// FlushDue flushes the logs whose flush.ms has passed. Only active logs
// (active.go) can have unflushed data.
func (e *Engine) FlushDue(now int64) {
	for _, a := range e.activeLogs() {
		if err := a.l.MaybeFlush(now); err != nil {
			e.cfg.Logger.Error("flush failed", "partition", a.tp, "err", err)
		}
	}
}

// ApplyRetention runs retention on every log a pass could delete from
// (log.RetentionDue: the others' oldest segment is not old enough yet,
// and nothing changed since their last pass). On a single broker the high
// watermark is the log end offset; replication passes its own bound when
// it drives retention.
func (e *Engine) ApplyRetention(now int64) {
	for tp, l := range e.logsWhere(func(l *log.Log) bool { return l.RetentionDue(now) }) {
		n, reason, err := l.ApplyRetention(now, l.LogEndOffset())
		if err != nil {
			e.cfg.Logger.Warn("retention failed", "partition", tp, "err", err)
		} else if n > 0 {
			e.cfg.Logger.Info("retention deleted segments", "partition", tp, "segments", n, "reason", reason)
		}
	}
}

// Compact runs one cleaner pass over every compacted log (only those:
// active.go keeps the set).
func (e *Engine) Compact(now int64) {
	for _, a := range e.compactedLogs() {
		tp := a.tp
		st, err := compact.Clean(a.l, now)
		if err != nil {
			e.cfg.Logger.Warn("compaction failed", "partition", tp, "err", err)
		} else if st.SegmentsCleaned > 0 {
			e.cfg.Logger.Info("compacted", "partition", tp, "segments", st.SegmentsCleaned,
				"records_removed", st.RecordsRemoved, "bytes_before", st.BytesBefore, "bytes_after", st.BytesAfter)
		}
	}
}

// ReapDeleted removes files whose file.delete.delay.ms has passed. A log
// with files waiting stays active (log.Log.Idle).
func (e *Engine) ReapDeleted(now int64) {
	for _, a := range e.activeLogs() {
		if err := a.l.ReapDeleted(now); err != nil {
			e.cfg.Logger.Warn("deleting files failed", "partition", a.tp, "err", err)
		}
	}
}

// logsWhere returns the logs that match keep, a cheap check (atomics) run
// under e.mu's read lock; the pass then runs without it.
func (e *Engine) logsWhere(keep func(*log.Log) bool) map[kafka.TopicPartition]*log.Log {
	e.mu.RLock()
	defer e.mu.RUnlock()
	out := map[kafka.TopicPartition]*log.Log{}
	for tp, l := range e.mu.logs {
		if keep(l) {
			out[tp] = l
		}
	}
	return out
}
