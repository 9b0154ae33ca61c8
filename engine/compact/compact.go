// Package compact is the log cleaner: for logs with cleanup.policy
// containing compact, it keeps only the latest record per key in the closed
// segments (every segment but the active one) and drops tombstones (null
// values) once they are older than delete.retention.ms.
//
// One pass over a log:
//  1. map every key in the closed segments to its latest offset;
//  2. for each closed segment with something to drop, write a cleaned copy
//     under <log>/cleaning/ with the same base offset: whole batches are
//     copied byte for byte when every record stays; otherwise the batch is
//     rebuilt with the surviving records, its original offsets, timestamps,
//     producer fields and codec; an emptied last batch is kept with no
//     records so the segment's last offset (and the log's contiguity)
//     survives;
//  3. sync the copy and swap it in (log.SwapCleaned).
//
// Only segments wholly below the log's recovery point (fsynced data) are
// cleaned, so a crash can never take a key's newer value after its older
// one was dropped. Segments whose newest timestamp is younger than
// min.compaction.lag.ms stay as they are. Control batches are kept.
// The pass holds the log's maintenance lock but not its append lock, so
// producers keep appending to the active segment while it runs.
package compact

import (
	"errors"
	"fmt"

	"github.com/rillmq/rill/engine/format"
	"github.com/rillmq/rill/engine/log"
	"github.com/rillmq/rill/engine/segment"
)

// Stats describes one pass.
type Stats struct {
	SegmentsCleaned int
	RecordsRemoved  int64
	BytesBefore     int64
	BytesAfter      int64
}

// Clean runs one compaction pass over l at time now (Unix ms).
func Clean(l *log.Log, now int64) (Stats, error) {
	var st Stats
	cfg := l.Config()
	if !cfg.CleanupCompact {
		return st, nil
	}
	l.LockMaintenance()
	defer l.UnlockMaintenance()
	segs := l.ClosedSegments()
	if len(segs) == 0 {
		return st, nil
	}
	if segs[len(segs)-1].NextOffset() > l.RecoveryPoint() {
		// Make the closed segments durable first (Kafka flushes a segment
		// when it rolls; Rill leaves that to whoever needs it).
		if err := l.Flush(); err != nil {
			return st, err
		}
	}
	horizon := now - cfg.MinCompactionLagMs
	// Only durable data may supersede older records: a key's newer value
	// in a segment not yet fsynced could vanish in a crash after its older
	// value was compacted away. So the pass stops at the recovery point.
	durable := l.RecoveryPoint()
	var cleanable []*segment.Segment
	for _, s := range segs {
		if s.NextOffset() > durable {
			break
		}
		if ts, _ := s.MaxTimestamp(); cfg.MinCompactionLagMs > 0 && ts > horizon {
			break // this and younger segments stay as they are
		}
		if s.NextOffset() <= l.LogStartOffset() {
			continue
		}
		cleanable = append(cleanable, s)
	}
	latest, err := buildOffsetMap(cleanable)
	if err != nil {
		return st, err
	}
	tombstoneHorizon := now - cfg.DeleteRetentionMs
	keep := func(b format.Batch, r format.Record) bool {
		if r.Key == nil {
			return true
		}
		off := b.BaseOffset() + int64(r.OffsetDelta)
		if latest[string(r.Key)] != off {
			return false
		}
		if r.Value == nil {
			ts := b.BaseTimestamp() + r.TimestampDelta
			if b.IsLogAppendTime() {
				ts = b.MaxTimestamp()
			}
			return ts >= tombstoneHorizon
		}
		return true
	}
	for _, s := range cleanable {
		dirty, err := hasGarbage(s, keep)
		if err != nil {
			return st, err
		}
		if !dirty {
			continue
		}
		removed, after, err := rewrite(l, s, keep)
		if err != nil {
			return st, fmt.Errorf("compact: segment %d: %w", s.BaseOffset(), err)
		}
		before := s.Size()
		if err := l.SwapCleaned(s); err != nil {
			return st, err
		}
		st.SegmentsCleaned++
		st.RecordsRemoved += removed
		st.BytesBefore += before
		st.BytesAfter += after
	}
	return st, nil
}

// buildOffsetMap maps each key to the offset of its latest record. Keys are
// stored whole (no hash collisions can drop a live record), so memory grows
// with the number of distinct keys.
func buildOffsetMap(segs []*segment.Segment) (map[string]int64, error) {
	latest := map[string]int64{}
	for _, s := range segs {
		err := s.ForEachBatch(0, func(_ int64, b format.Batch) error {
			if b.IsControl() {
				return nil
			}
			return b.ForEachRecord(func(r format.Record) error {
				if r.Key != nil {
					latest[string(r.Key)] = b.BaseOffset() + int64(r.OffsetDelta)
				}
				return nil
			})
		})
		if err != nil {
			return nil, err
		}
	}
	return latest, nil
}

var errDirty = errors.New("dirty")

func hasGarbage(s *segment.Segment, keep func(format.Batch, format.Record) bool) (bool, error) {
	err := s.ForEachBatch(0, func(_ int64, b format.Batch) error {
		if b.IsControl() {
			return nil
		}
		return b.ForEachRecord(func(r format.Record) error {
			if !keep(b, r) {
				return errDirty
			}
			return nil
		})
	})
	if errors.Is(err, errDirty) {
		return true, nil
	}
	return false, err
}

// rewrite writes the cleaned copy of s under the log's cleaning directory,
// synced and closed, and returns the records removed and its size.
func rewrite(l *log.Log, s *segment.Segment, keep func(format.Batch, format.Record) bool) (int64, int64, error) {
	cfg := l.Config()
	dir := l.CleaningPath()
	if err := l.FS().MkdirAll(dir, 0o755); err != nil {
		return 0, 0, err
	}
	out, err := segment.Create(l.FS(), dir, s.BaseOffset(), segment.Config{
		IndexIntervalBytes: cfg.IndexIntervalBytes, MaxIndexBytes: cfg.SegmentIndexBytes})
	if err != nil {
		return 0, 0, err
	}
	var removed int64
	var lastBatchEnd int64 = -1
	wantNext := s.NextOffset()
	err = s.ForEachBatch(0, func(pos int64, b format.Batch) error {
		isLast := b.NextOffset() == wantNext
		if b.IsControl() {
			lastBatchEnd = b.NextOffset()
			return out.Append(append(format.Batch(nil), b...))
		}
		var kept []format.Record
		total := 0
		if err := b.ForEachRecord(func(r format.Record) error {
			total++
			if keep(b, r) {
				kept = append(kept, r)
			}
			return nil
		}); err != nil {
			return err
		}
		removed += int64(total - len(kept))
		switch {
		case len(kept) == total:
			lastBatchEnd = b.NextOffset()
			return out.Append(append(format.Batch(nil), b...))
		case len(kept) == 0 && !isLast:
			return nil
		}
		h := format.BatchHeader{
			BaseOffset: b.BaseOffset(), LeaderEpoch: b.LeaderEpoch(), Attributes: b.Attributes(),
			LastOffsetDelta: b.LastOffsetDelta(), BaseTimestamp: b.BaseTimestamp(), MaxTimestamp: b.MaxTimestamp(),
			ProducerID: b.ProducerID(), ProducerEpoch: b.ProducerEpoch(), BaseSequence: b.BaseSequence(),
		}
		if len(kept) == 0 {
			h.Attributes &^= format.AttrCodecMask // an empty batch needs no codec
		}
		nb, err := format.BuildBatch(h, kept)
		if err != nil {
			return err
		}
		lastBatchEnd = b.NextOffset()
		return out.Append(nb)
	})
	if err == nil && lastBatchEnd != wantNext && s.Size() > 0 {
		err = fmt.Errorf("cleaned copy ends at %d, segment at %d", lastBatchEnd, wantNext)
	}
	if err == nil {
		err = out.Flush()
	}
	size := out.Size()
	if cerr := out.Close(true); err == nil {
		err = cerr
	}
	if err == nil {
		err = l.FS().SyncDir(dir)
	}
	return removed, size, err
}
