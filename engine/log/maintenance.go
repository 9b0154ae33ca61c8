package log

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/rillmq/rill/engine/segment"
)

// LockMaintenance takes the lock that serializes retention, compaction,
// truncation and DeleteRecords; the cleaner holds it for a whole pass.
func (l *Log) LockMaintenance() { l.maint.Lock() }

// UnlockMaintenance releases LockMaintenance.
func (l *Log) UnlockMaintenance() { l.maint.Unlock() }

// ClosedSegments returns every segment but the active one, oldest first.
func (l *Log) ClosedSegments() []*segment.Segment {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return append([]*segment.Segment(nil), l.mu.segments[:len(l.mu.segments)-1]...)
}

// CleaningPath is the directory a cleaner builds replacement segments in.
func (l *Log) CleaningPath() string { return filepath.Join(l.dir, CleaningDir) }

// SwapCleaned replaces old with the segment of the same base offset that
// the cleaner built, synced and closed under CleaningPath, and its
// transaction index with the cleaned one (WriteCleanedTxnIndex; none: the
// segment's goes). The caller holds the maintenance lock. Crash safety:
// the old offset and time indexes go first and the removal is synced, so
// that from then on an open rescans the segment (a segment without its
// offset index is recovered) and rebuilds its transaction index from its
// batches, whichever .log and .txnindex a crash leaves; then the cleaned
// log is renamed over the old one (atomic) and the cleaned transaction
// index moved in, and that is synced before the cleaned offset and time
// indexes move in (which make the segment trusted again) and the directory
// is synced. Readers holding the old files keep reading them until
// file.delete.delay.ms passes.
func (l *Log) SwapCleaned(old *segment.Segment) error {
	base := old.BaseOffset()
	l.mu.Lock()
	defer l.mu.Unlock()
	idx := -1
	for i, s := range l.mu.segments[:len(l.mu.segments)-1] {
		if s == old {
			idx = i
		}
	}
	if idx < 0 {
		return fmt.Errorf("log %s: segment %d is no longer closed in this log", l.dir, base)
	}
	logPath, idxPath, tidxPath := segment.Paths(l.dir, base)
	cLog, cIdx, cTidx := segment.Paths(l.CleaningPath(), base)
	for _, p := range []string{idxPath, tidxPath} {
		if err := l.fs.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	if err := l.fs.SyncDir(l.dir); err != nil {
		return err
	}
	if err := l.fs.Rename(cLog, logPath); err != nil {
		l.mu.failed = true
		return err
	}
	if err := l.moveCleanedTxnIndexLocked(base); err != nil {
		l.mu.failed = true
		return err
	}
	if err := l.fs.SyncDir(l.dir); err != nil {
		l.mu.failed = true
		return err
	}
	for _, mv := range [][2]string{{cIdx, idxPath}, {cTidx, tidxPath}} {
		if err := l.fs.Rename(mv[0], mv[1]); err != nil {
			l.mu.failed = true
			return err
		}
	}
	if err := l.fs.SyncDir(l.dir); err != nil {
		l.mu.failed = true
		return err
	}
	seg, err := segment.Open(l.fs, l.dir, base, l.config.Load().segmentConfig(), false, false)
	if err != nil {
		l.mu.failed = true
		return err
	}
	oldTxn, err := l.reloadTxnIndexLocked(base, seg.NextOffset())
	if err != nil {
		seg.Close(false)
		l.mu.failed = true
		return err
	}
	segs := append([]*segment.Segment(nil), l.mu.segments...)
	segs[idx] = seg
	l.mu.segments = segs
	// The old files close after the delete delay (scheduleClose, with the
	// replaced transaction index, which a Flush may be syncing).
	l.deletedMu.Lock()
	l.deleted = append(l.deleted, pendingDelete{seg: old, txn: oldTxn, at: l.clock() + l.config.Load().FileDeleteDelayMs})
	l.pendingDeletes.Store(int64(len(l.deleted)))
	l.deletedMu.Unlock()
	l.resetRetentionLocked()
	l.noteChanged()
	return nil
}
