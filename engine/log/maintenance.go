package log

import (
	"fmt"
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
// the cleaner built, synced and closed under CleaningPath. The caller holds
// the maintenance lock. Crash safety: the old index files go first (a
// missing index is rebuilt at open), then the cleaned log is renamed over
// the old one (atomic), then the cleaned indexes move in, then the
// directory is synced. Readers holding the old file keep reading it until
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
		if err := l.fs.Remove(p); err != nil {
			return err
		}
	}
	for _, mv := range [][2]string{{cLog, logPath}, {cIdx, idxPath}, {cTidx, tidxPath}} {
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
	segs := append([]*segment.Segment(nil), l.mu.segments...)
	segs[idx] = seg
	l.mu.segments = segs
	l.scheduleClose(old)
	return nil
}
