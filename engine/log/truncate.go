package log

import (
	"fmt"

	"github.com/rillmq/rill/engine/segment"
)

// TruncateTo removes every record at or after offset (a follower whose log
// diverged from its leader's). Batches are never split: when offset falls
// inside a batch, that whole batch goes and the log end ends up below
// offset. The recovery point follows the log end down.
func (l *Log) TruncateTo(offset int64) error {
	l.maint.Lock()
	defer l.maint.Unlock()
	// A cut rewrites the epoch checkpoint at once: replica truncation is
	// rare, and a lazily written file could name epochs the log lost.
	l.epochFile.Lock()
	defer l.epochFile.Unlock()
	l.mu.Lock()
	defer l.mu.Unlock()
	if offset >= l.logEndOffset.Load() {
		return nil
	}
	if err := l.ensureEpochsLocked(); err != nil {
		return err
	}
	// New data may follow below the cleaned offset: recovery must no
	// longer take a gap there for the cleaner's (cleaned.go).
	if err := l.lowerCleanedLocked(offset); err != nil {
		return err
	}
	if offset < l.logStartOffset.Load() {
		return l.truncateFullyLocked(offset)
	}
	segs := l.mu.segments
	i := segmentFor(segs, offset)
	if i < 0 {
		return l.truncateFullyLocked(offset)
	}
	keep, drop := segs[:i+1], segs[i+1:]
	if _, err := keep[i].TruncateTo(offset); err != nil {
		l.mu.failed = true
		return fmt.Errorf("log %s: truncate: %w", l.dir, err)
	}
	// Markers at or past the new log end are gone: so are their entries.
	if err := l.truncateTxnIndexLocked(keep[i].BaseOffset(), keep[i].NextOffset()); err != nil {
		l.mu.failed = true
		return fmt.Errorf("log %s: truncate transaction index: %w", l.dir, err)
	}
	if len(drop) > 0 {
		if err := keep[i].Reactivate(l.config.Load().segmentConfig()); err != nil {
			l.mu.failed = true
			return err
		}
	}
	l.mu.segments = append([]*segment.Segment(nil), keep...)
	if err := l.scheduleDeleteLocked(drop); err != nil {
		l.mu.failed = true
		return err
	}
	leo := keep[i].NextOffset()
	l.logEndOffset.Store(leo)
	if leo < l.logStartOffset.Load() {
		// The cut fell inside the batch that holds the log start.
		l.logStartOffset.Store(leo)
	}
	if err := l.rebuildProducersLocked(nil); err != nil {
		l.mu.failed = true
		return err
	}
	if l.mu.epochs.TruncateFrom(leo) {
		l.noteEpochsChangedLocked()
		if err := l.persistEpochsLocked(); err != nil {
			l.mu.failed = true
			return err
		}
	}
	if l.recoveryPoint.Load() > leo {
		l.recoveryPoint.Store(leo)
	}
	l.resetRetentionLocked()
	l.noteChanged()
	return nil
}

// TruncateFullyAndStartAt empties the log and restarts it at offset (a
// follower far behind its leader's log start).
func (l *Log) TruncateFullyAndStartAt(offset int64) error {
	l.maint.Lock()
	defer l.maint.Unlock()
	l.epochFile.Lock()
	defer l.epochFile.Unlock()
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.truncateFullyLocked(offset)
}

func (l *Log) truncateFullyLocked(offset int64) error {
	if err := l.ensureEpochsLocked(); err != nil {
		return err
	}
	if err := l.lowerCleanedLocked(offset); err != nil {
		return err
	}
	// Rename the old files away first: a new segment may reuse a base.
	if err := l.scheduleDeleteLocked(l.mu.segments); err != nil {
		l.mu.failed = true
		return err
	}
	// Snapshots describe the old history: they go before the new segment
	// is created, whose directory sync makes their removal durable (else
	// a crash could bring one back under the new history's offsets).
	for _, o := range l.snapshotOffsets() {
		l.fs.Remove(l.snapshotPath(o))
	}
	seg, err := segment.Create(l.fs, l.dir, offset, l.config.Load().segmentConfig())
	if err != nil {
		l.mu.failed = true
		return err
	}
	l.mu.segments = []*segment.Segment{seg}
	l.mu.created = l.clock()
	l.logStartOffset.Store(offset)
	l.logEndOffset.Store(offset)
	l.recoveryPoint.Store(offset)
	l.mu.producers = newProducerState()
	l.mu.snapshotAt = -1
	l.noteTxnCountLocked()
	l.resetRetentionLocked()
	l.noteChanged()
	if l.mu.epochs.TruncateFrom(0) {
		l.noteEpochsChangedLocked()
		return l.persistEpochsLocked()
	}
	return nil
}

// DeleteRecords moves the log start offset forward to offset (which must
// not pass the high watermark; the caller checks) and drops the segments
// wholly below it. It returns the new log start offset.
func (l *Log) DeleteRecords(offset int64) (int64, error) {
	l.maint.Lock()
	defer l.maint.Unlock()
	if offset > l.logEndOffset.Load() {
		return 0, fmt.Errorf("%w: delete-records to %d past log end %d", ErrOffsetOutOfRange, offset, l.logEndOffset.Load())
	}
	for {
		cur := l.logStartOffset.Load()
		if offset <= cur || l.logStartOffset.CompareAndSwap(cur, offset) {
			break
		}
	}
	// No retention pass runs now (maint): the next one must look.
	l.retentionAt.Store(0)
	l.noteChanged()
	_, err := l.deleteSegmentsLocked(func(segs []*segment.Segment) int {
		n := 0
		for n < len(segs)-1 && segs[n].NextOffset() <= l.logStartOffset.Load() {
			n++
		}
		return n
	})
	return l.logStartOffset.Load(), err
}
