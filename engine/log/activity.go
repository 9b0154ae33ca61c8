package log

import "math"

// Activity: what a caller that runs background passes over many logs (the
// engine's scheduler) needs to visit only the logs that changed (issue 16:
// 100,000 partitions, background work O(partitions with changes)).
//
// A log reports through Options.OnChange the first time something changes
// after the caller rearmed it (Rearm): an append, a flush that moves the
// recovery point, a move of the log start offset, a truncation, a segment
// scheduled for deletion, a config change. The caller keeps the log in its
// set of active logs until a pass finds it Idle and its offsets recorded,
// then calls Rearm and checks once more (a change between its check and
// Rearm reported nothing). The recovery point, log start and log end are
// atomics, so that check is ordered after Rearm.

// noteChanged reports the log to OnChange once per Rearm. The caller may
// hold mu: OnChange must take no lock of this log.
func (l *Log) noteChanged() {
	if l.onChange != nil && !l.reported.Load() && l.reported.CompareAndSwap(false, true) {
		l.onChange(l)
	}
}

// Rearm makes the next change call Options.OnChange again.
func (l *Log) Rearm() { l.reported.Store(false) }

// Idle reports whether the log has nothing for the flush or file-deletion
// passes: everything appended is flushed and no deleted segment waits for
// file.delete.delay.ms.
func (l *Log) Idle() bool {
	return l.recoveryPoint.Load() >= l.logEndOffset.Load() && l.pendingDeletes.Load() == 0
}

// RetentionDue reports whether a retention pass at now could delete
// anything. A pass that deletes nothing records when, with no append,
// config change or log start move in between, the next one could (the
// oldest segment's newest timestamp plus retention.ms); until then the
// scheduler skips the log.
func (l *Log) RetentionDue(now int64) bool { return now >= l.retentionAt.Load() }

// resetRetentionLocked makes the next retention pass run; the caller holds
// mu (a pass stores its deadline under mu, so a reset is never lost).
func (l *Log) resetRetentionLocked() {
	if l.retentionAt.Load() != 0 {
		l.retentionAt.Store(0)
	}
}

// retentionDeadline is when PlanRetention, which selected nothing for segs
// at the given high watermark, could first select something if only the
// clock moves: 0 when it depends on more than the clock (size retention,
// or a high watermark that may move), MaxInt64 when never.
func retentionDeadline(segs []SegmentInfo, cfg Config, highWatermark int64) int64 {
	if !cfg.CleanupDelete || cfg.RetentionMs < 0 {
		return math.MaxInt64 // only log start moves delete, and they reset
	}
	if cfg.RetentionBytes >= 0 {
		return 0
	}
	s := segs[0]
	if len(segs) == 1 && s.Size == 0 {
		return math.MaxInt64 // an empty active segment: an append resets
	}
	if s.Next > highWatermark {
		return 0
	}
	// PlanRetention deletes the first segment once MaxTimestamp < now -
	// retention.ms.
	if s.MaxTimestamp > math.MaxInt64-cfg.RetentionMs-1 {
		return math.MaxInt64
	}
	return s.MaxTimestamp + cfg.RetentionMs + 1
}
