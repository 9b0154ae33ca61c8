package log

import (
	"errors"

	"github.com/rillmq/rill/engine/format"
	"github.com/rillmq/rill/engine/segment"
)

// SegmentInfo is what the retention planner knows of a segment.
type SegmentInfo struct {
	Base, Next, Size, MaxTimestamp int64
}

// Retention reasons.
const (
	ReasonNone     = ""
	ReasonTime     = "retention.ms"
	ReasonSize     = "retention.bytes"
	ReasonLogStart = "log start offset"
)

// PlanRetention returns how many of the oldest segments retention deletes,
// and why. It is a pure function of the segments (oldest first, the last one
// active), the config, the clock and the offsets:
//   - segments wholly below the log start offset go (every policy);
//   - with cleanup.policy=delete, leading segments whose newest record is
//     older than retention.ms go, and leading segments go while the log
//     stays at least retention.bytes without them;
//   - only segments wholly below highWatermark qualify.
//
// The count may include the non-empty active segment (for time and log
// start); the executor then rolls first, so a log always keeps one segment.
func PlanRetention(segs []SegmentInfo, cfg Config, now, logStart, highWatermark int64) (int, string) {
	eligible := func(i int) bool {
		s := segs[i]
		return s.Next <= highWatermark && (i < len(segs)-1 || s.Size > 0)
	}
	n := 0
	for n < len(segs) && eligible(n) && segs[n].Next <= logStart {
		n++
	}
	if n > 0 {
		return n, ReasonLogStart
	}
	if !cfg.CleanupDelete {
		return 0, ReasonNone
	}
	if cfg.RetentionMs >= 0 {
		for n < len(segs) && eligible(n) && segs[n].MaxTimestamp < now-cfg.RetentionMs {
			n++
		}
		if n > 0 {
			return n, ReasonTime
		}
	}
	if cfg.RetentionBytes >= 0 {
		var total int64
		for _, s := range segs {
			total += s.Size
		}
		excess := total - cfg.RetentionBytes
		for n < len(segs)-1 && eligible(n) && excess-segs[n].Size >= 0 {
			excess -= segs[n].Size
			n++
		}
		if n > 0 {
			return n, ReasonSize
		}
	}
	return 0, ReasonNone
}

// ApplyRetention deletes what PlanRetention selects and returns how many
// segments went and why.
func (l *Log) ApplyRetention(now, highWatermark int64) (int, string, error) {
	l.maint.Lock()
	defer l.maint.Unlock()
	var reason string
	n, err := l.deleteSegmentsLocked(func(segs []*segment.Segment) int {
		infos := make([]SegmentInfo, len(segs))
		for i, s := range segs {
			ts, _ := s.MaxTimestamp()
			if ts == format.NoTimestamp {
				// No timestamps (e.g. all batches had -1): age from now.
				ts = now
			}
			infos[i] = SegmentInfo{Base: s.BaseOffset(), Next: s.NextOffset(), Size: s.Size(), MaxTimestamp: ts}
		}
		cfg := *l.config.Load()
		var n int
		n, reason = PlanRetention(infos, cfg, now, l.logStartOffset.Load(), highWatermark)
		if n == 0 {
			// Under mu, which an append's reset takes too.
			l.retentionAt.Store(retentionDeadline(infos, cfg, highWatermark))
		}
		return n
	})
	return n, reason, err
}

// deleteSegmentsLocked removes the first pick(segments) segments, rolling
// first when that includes the active one. The caller holds maint.
func (l *Log) deleteSegmentsLocked(pick func([]*segment.Segment) int) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.mu.closed {
		return 0, ErrClosed
	}
	// As Kafka's onLogStartOffsetIncremented: completed transactions
	// below the log start no longer hold the LSO back.
	l.mu.producers.dropCompletedBelow(l.logStartOffset.Load())
	l.noteTxnCountLocked()
	n := pick(l.mu.segments)
	if n <= 0 {
		return 0, nil
	}
	l.resetRetentionLocked()
	defer l.noteChanged() // the log start offset, the files to delete
	if n >= len(l.mu.segments) {
		if err := l.rollLocked(l.logEndOffset.Load(), l.clock()); err != nil {
			return 0, err
		}
		n = len(l.mu.segments) - 1
	}
	drop := l.mu.segments[:n]
	l.mu.segments = append([]*segment.Segment(nil), l.mu.segments[n:]...)
	if start := l.mu.segments[0].BaseOffset(); start > l.logStartOffset.Load() {
		l.logStartOffset.Store(start)
	}
	l.mu.producers.dropCompletedBelow(l.logStartOffset.Load())
	l.noteTxnCountLocked()
	return n, l.scheduleDeleteLocked(drop)
}

// scheduleDeleteLocked renames segments to *.deleted now and closes and
// removes them after file.delete.delay.ms, so that reads that already hold
// a file range finish first.
func (l *Log) scheduleDeleteLocked(segs []*segment.Segment) error {
	at := l.clock() + l.config.Load().FileDeleteDelayMs
	var err error
	txns := make([]*txnIndex, len(segs))
	for i, s := range segs {
		if e := s.MarkDeleted(); e != nil {
			err = errors.Join(err, e)
		}
		// After MarkDeleted: a crash in between leaves an index whose
		// segment is gone, which the next open removes.
		t, e := l.dropTxnIndexLocked(s.BaseOffset())
		err = errors.Join(err, e)
		txns[i] = t
	}
	l.deletedMu.Lock()
	for i, s := range segs {
		l.deleted = append(l.deleted, pendingDelete{seg: s, txn: txns[i], at: at, purge: true})
	}
	l.pendingDeletes.Store(int64(len(l.deleted)))
	l.deletedMu.Unlock()
	l.noteChanged()
	return err
}

// scheduleClose closes a segment whose files were replaced in place
// (compaction) after the delete delay, without removing any file.
func (l *Log) scheduleClose(s *segment.Segment) {
	at := l.clock() + l.config.Load().FileDeleteDelayMs
	l.deletedMu.Lock()
	l.deleted = append(l.deleted, pendingDelete{seg: s, at: at})
	l.pendingDeletes.Store(int64(len(l.deleted)))
	l.deletedMu.Unlock()
	l.noteChanged()
}

// reapDeleted finishes scheduled deletions due by now (all with force).
func (l *Log) reapDeleted(now int64, force bool) error {
	l.deletedMu.Lock()
	var due, keep []pendingDelete
	for _, d := range l.deleted {
		if force || d.at <= now {
			due = append(due, d)
		} else {
			keep = append(keep, d)
		}
	}
	l.deleted = keep
	l.pendingDeletes.Store(int64(len(l.deleted)))
	l.deletedMu.Unlock()
	var err error
	for _, d := range due {
		if d.txn != nil && d.txn.f != nil {
			err = errors.Join(err, d.txn.f.Close())
		}
		if d.purge {
			err = errors.Join(err, d.seg.Delete())
		} else {
			err = errors.Join(err, d.seg.Close(false))
		}
	}
	return err
}

// ReapDeleted removes segment files whose delete delay has passed.
func (l *Log) ReapDeleted(now int64) error { return l.reapDeleted(now, false) }
