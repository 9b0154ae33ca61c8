// Package compact is the log cleaner: for logs with cleanup.policy
// containing compact, it keeps only the latest record per key in the closed
// segments (every segment but the active one) and drops tombstones (null
// values) once they are older than delete.retention.ms.
//
// One pass over a log:
//  1. map every key in the cleanable segments to its latest offset,
//     leaving out the records of aborted transactions;
//  2. walk the cleanable segments in order, deciding for each batch what
//     stays (txn.go for transactions); for each segment with something to
//     change, write a cleaned copy under <log>/cleaning/ with the same
//     base offset: whole batches are copied byte for byte when every
//     record stays; otherwise the batch is rebuilt with the surviving
//     records, its original offsets, timestamps, producer fields and
//     codec. A batch left with no record is deleted, as Kafka's
//     BatchRetention.DELETE_EMPTY, leaving a gap in the offsets (reads,
//     indexes and recovery accept gaps in a compacted log, as Kafka's
//     do), except where Kafka keeps it empty: it is its producer's last
//     (below), or it is the last batch of the pass (KAFKA-17076, below).
//     A segment may end up with no batch at all; it stays, empty, with
//     its base offset, and the log's end and start offsets do not move;
//  3. write the copy's transaction index (the aborted transactions whose
//     ABORT marker stays), sync both and swap them in (log.SwapCleaned).
//
// The cleanable segments are the closed ones below three bounds:
//   - the recovery point: only durable data may supersede older records
//     (a key's newer value in a segment not yet fsynced could vanish in a
//     crash after its older value was compacted away);
//   - the first unstable offset (the first offset of any open transaction,
//     log.FirstUnstableOffset), as Kafka's cleaner: an open transaction
//     may still abort;
//   - min.compaction.lag.ms: segments whose newest timestamp is younger
//     stay as they are, and so do all after them.
//
// Transactions follow Kafka's cleaner (LogCleaner, CleanedTransactionMetadata):
//   - the data batches of aborted transactions (the .txnindex entries: a
//     producer's transactional batches from the transaction's first offset
//     to its ABORT marker) are removed, and never enter the key map, so an
//     aborted value never supersedes a committed one;
//   - a COMMIT or ABORT marker stays while any batch of its transaction is
//     still before it in the log (or was removed in this very pass). Once
//     none is, the pass stamps it with a delete horizon (now +
//     delete.retention.ms, in its base timestamp, with Kafka's
//     delete-horizon attribute bit 0x40), and a later pass past that
//     horizon removes it, so a consumer that read the transaction's data
//     has delete.retention.ms to read its marker;
//   - as Kafka's isBatchLastRecordOfProducer, the batch holding each known
//     producer's last sequence is kept (emptied if none of its records
//     stays), and so are the markers of a producer that has no such batch
//     at its epoch, so that its state can be rebuilt from the log alone;
//     once the producer writes a later batch (or a new epoch), the old
//     one is an ordinary batch again and goes when emptied;
//   - batches keep their order and offsets.
//
// The last batch of a pass (the last batch of its last cleanable segment)
// is kept, emptied if need be, as Kafka since 3.9 (KAFKA-17076, "retain
// the last batch in each round of cleaning", apache/kafka#17193): the
// offset after it stays in the log, so a follower copying the log, or a
// log reopened with an empty active segment, still reaches it. (Kafka
// later narrowed this to a batch whose next offset is the high watermark,
// KAFKA-20452; the engine does not know the high watermark, so it keeps
// 3.9's rule.) Only expired tombstones and aborted data can empty that
// batch: no key of the pass is newer than its records.
//
// The pass holds the log's maintenance lock but not its append lock, so
// producers keep appending to the active segment while it runs.
package compact

import (
	"errors"
	"fmt"
	"sort"

	"github.com/rillmq/rill/engine/format"
	"github.com/rillmq/rill/engine/log"
	"github.com/rillmq/rill/engine/segment"
)

// Stats describes one pass.
type Stats struct {
	SegmentsCleaned int
	// RecordsRemoved counts data records removed: superseded, expired
	// tombstones and those of aborted transactions.
	RecordsRemoved int64
	// MarkersRemoved counts transaction markers removed.
	MarkersRemoved int64
	BytesBefore    int64
	BytesAfter     int64
}

// attrDeleteHorizon is Kafka's delete-horizon attribute bit: the batch's
// base timestamp holds the time after which the cleaner may remove it.
const attrDeleteHorizon int16 = 0x40

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
	// The first unstable offset and the producers are taken before the
	// flush below: every transaction with data below the first unstable
	// offset had its marker in the log then.
	firstUnstable := l.FirstUnstableOffset()
	tails := l.ProducerTails()
	if segs[len(segs)-1].NextOffset() > l.RecoveryPoint() ||
		(len(tails) > 0 && l.LogEndOffset() > l.RecoveryPoint()) {
		// Make the closed segments durable first (Kafka flushes a segment
		// when it rolls; Rill leaves that to whoever needs it). With
		// producers, the whole log: a transaction's outcome must be
		// durable before its data is removed (aborted) or supersedes
		// older values (committed), lest a crash take the marker and
		// leave the transaction open again over what was cleaned.
		if err := l.Flush(); err != nil {
			return st, err
		}
	}
	horizon := now - cfg.MinCompactionLagMs
	// Only durable data may supersede older records, and nothing of an
	// open transaction is cleaned (the package comment says why).
	end := min(l.RecoveryPoint(), firstUnstable)
	var cleanable []*segment.Segment
	for _, s := range segs {
		if s.NextOffset() > end {
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
	if len(cleanable) == 0 {
		return st, nil
	}
	// Every aborted transaction with data in the cleanable segments: its
	// ABORT marker is at or after the first of them (data comes before
	// its marker) and it starts before their end.
	aborted, err := l.CleanerAbortedTxns(cleanable[0].BaseOffset(), cleanable[len(cleanable)-1].NextOffset())
	if err != nil {
		return st, fmt.Errorf("compact: aborted transactions: %w", err)
	}
	latest, err := buildOffsetMap(cleanable, aborted)
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
	c := &cleaner{l: l, now: now, deleteRetentionMs: cfg.DeleteRetentionMs, keep: keep,
		tails: tails, txns: newTxnTracker(aborted), aborted: aborted, passEnd: -1}
	// The pass's last batch ends where the last cleanable segment that
	// holds any batch ends.
	for i := len(cleanable) - 1; i >= 0; i-- {
		if cleanable[i].Size() > 0 {
			c.passEnd = cleanable[i].NextOffset()
			break
		}
	}
	marked := false
	for _, s := range cleanable {
		// Every segment is planned, changed or not: the transaction
		// tracker must see every batch in order.
		p, err := c.plan(s)
		if err != nil {
			return st, fmt.Errorf("compact: segment %d: %w", s.BaseOffset(), err)
		}
		if !p.dirty {
			continue
		}
		if !marked {
			// Before any copy that may end short of its segment goes
			// in: recovery then takes such gaps for the cleaner's.
			if err := l.MarkCleaned(cleanable[len(cleanable)-1].NextOffset()); err != nil {
				return st, err
			}
			marked = true
		}
		removed, markers, after, err := c.rewrite(s, p)
		if err != nil {
			return st, fmt.Errorf("compact: segment %d: %w", s.BaseOffset(), err)
		}
		if err := l.WriteCleanedTxnIndex(s.BaseOffset(), p.txnEntries); err != nil {
			return st, fmt.Errorf("compact: segment %d: transaction index: %w", s.BaseOffset(), err)
		}
		if err := l.FS().SyncDir(l.CleaningPath()); err != nil {
			return st, err
		}
		before := s.Size()
		if err := l.SwapCleaned(s); err != nil {
			return st, err
		}
		st.SegmentsCleaned++
		st.RecordsRemoved += removed
		st.MarkersRemoved += markers
		st.BytesBefore += before
		st.BytesAfter += after
	}
	return st, nil
}

// buildOffsetMap maps each key to the offset of its latest record outside
// aborted transactions. Keys are stored whole (no hash collisions can drop
// a live record), so memory grows with the number of distinct keys.
func buildOffsetMap(segs []*segment.Segment, aborted []log.AbortedTxn) (map[string]int64, error) {
	latest := map[string]int64{}
	txns := newTxnTracker(aborted)
	for _, s := range segs {
		err := s.ForEachBatch(0, func(_ int64, b format.Batch) error {
			if b.IsControl() {
				if ctrl, ok := endTxnMarker(b); ok {
					txns.marker(b, ctrl)
				}
				return nil
			}
			if txns.data(b) {
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

// endTxnMarker decodes a COMMIT or ABORT marker; ok is false for any other
// control batch (unknown types, no record, undecodable), which the cleaner
// keeps as it is.
func endTxnMarker(b format.Batch) (format.ControlRecord, bool) {
	ctrl, err := b.Control()
	if err != nil || (ctrl.Type != format.ControlAbort && ctrl.Type != format.ControlCommit) {
		return ctrl, false
	}
	return ctrl, true
}

// cleaner holds one pass's decisions.
type cleaner struct {
	l                 *log.Log
	now               int64
	deleteRetentionMs int64
	keep              func(format.Batch, format.Record) bool
	tails             map[int64]log.ProducerTail
	txns              *txnTracker
	aborted           []log.AbortedTxn
	// passEnd is the next offset of the pass's last batch (-1: no batch):
	// that batch is kept, emptied if need be (KAFKA-17076).
	passEnd int64
}

// action is what happens to one batch.
type action uint8

const (
	// copyBatch keeps the batch byte for byte.
	copyBatch action = iota
	// filterRecords keeps the records keep accepts (a data batch).
	filterRecords
	// dropRecords keeps no record (an aborted data batch).
	dropRecords
	// stampMarker rewrites a marker with a delete horizon.
	stampMarker
	// dropMarker removes a marker.
	dropMarker
)

type batchPlan struct {
	act action
	// retainEmpty keeps a data batch emptied of records: its producer's
	// last, or the pass's last.
	retainEmpty bool
}

type segmentPlan struct {
	batches []batchPlan
	dirty   bool
	// txnEntries is the cleaned segment's transaction index: the entries
	// whose ABORT marker stays, in marker order.
	txnEntries []log.AbortedTxn
}

// plan decides the fate of every batch of s, in order, advancing the
// transaction tracker.
func (c *cleaner) plan(s *segment.Segment) (segmentPlan, error) {
	var p segmentPlan
	keptAborts := map[int64]bool{}
	segNext := s.NextOffset()
	err := s.ForEachBatch(0, func(_ int64, b format.Batch) error {
		isLast := b.NextOffset() == c.passEnd
		tail, known := c.tails[b.ProducerID()]
		if b.IsControl() {
			ctrl, ok := endTxnMarker(b)
			if !ok {
				p.batches = append(p.batches, batchPlan{act: copyBatch})
				return nil
			}
			discardable := c.txns.marker(b, ctrl)
			producerTail := known && b.ProducerID() >= 0 && tail.LastDataOffset < 0 && b.ProducerEpoch() == tail.Epoch
			act := copyBatch
			switch {
			case !discardable || producerTail || isLast:
			case b.Attributes()&attrDeleteHorizon != 0:
				if b.BaseTimestamp() <= c.now {
					act = dropMarker
				}
			default:
				act = stampMarker
			}
			if act != copyBatch {
				p.dirty = true
			}
			if act != dropMarker && ctrl.Type == format.ControlAbort {
				keptAborts[b.BaseOffset()] = true
			}
			p.batches = append(p.batches, batchPlan{act: act})
			return nil
		}
		bp := batchPlan{retainEmpty: isLast || (known && b.ProducerID() >= 0 && tail.LastDataOffset == b.LastOffset())}
		if c.txns.data(b) {
			bp.act = dropRecords
			if b.RecordCount() > 0 || !bp.retainEmpty {
				p.dirty = true
			}
			p.batches = append(p.batches, bp)
			return nil
		}
		bp.act = filterRecords
		p.batches = append(p.batches, bp)
		if b.RecordCount() == 0 && !bp.retainEmpty {
			// Kept empty by an earlier pass, as its producer's last
			// or the pass's last batch, and now neither.
			p.dirty = true
		}
		if p.dirty {
			return nil // already rewritten: no need to look
		}
		return b.ForEachRecord(func(r format.Record) error {
			if !c.keep(b, r) {
				p.dirty = true
			}
			return nil
		})
	})
	if err != nil {
		return p, err
	}
	for _, e := range c.aborted {
		if e.LastOffset >= s.BaseOffset() && e.LastOffset < segNext && keptAborts[e.LastOffset] {
			p.txnEntries = append(p.txnEntries, e)
		}
	}
	sort.Slice(p.txnEntries, func(i, j int) bool { return p.txnEntries[i].LastOffset < p.txnEntries[j].LastOffset })
	return p, nil
}

var errPlan = errors.New("segment changed since it was planned")

// rewrite writes the cleaned copy of s under the log's cleaning directory
// as p says, synced and closed, and returns the data records and markers
// removed and its size.
func (c *cleaner) rewrite(s *segment.Segment, p segmentPlan) (removed, markers, size int64, err error) {
	l := c.l
	cfg := l.Config()
	dir := l.CleaningPath()
	if err := l.FS().MkdirAll(dir, 0o755); err != nil {
		return 0, 0, 0, err
	}
	out, err := segment.Create(l.FS(), dir, s.BaseOffset(), segment.Config{
		IndexIntervalBytes: cfg.IndexIntervalBytes, MaxIndexBytes: cfg.SegmentIndexBytes})
	if err != nil {
		return 0, 0, 0, err
	}
	// The copy may end before the segment (its last batches deleted) but
	// never past it, and keeps the pass's last batch.
	lastBatchEnd := s.BaseOffset()
	wantNext := s.NextOffset()
	i := 0
	err = s.ForEachBatch(0, func(_ int64, b format.Batch) error {
		if i >= len(p.batches) {
			return errPlan
		}
		bp := p.batches[i]
		i++
		switch bp.act {
		case copyBatch:
			lastBatchEnd = b.NextOffset()
			return out.Append(append(format.Batch(nil), b...))
		case dropMarker:
			markers += int64(b.RecordCount())
			return nil
		case stampMarker:
			nb, err := stamp(b, c.now+c.deleteRetentionMs)
			if err != nil {
				return err
			}
			lastBatchEnd = b.NextOffset()
			return out.Append(nb)
		}
		var kept []format.Record
		total := 0
		if err := b.ForEachRecord(func(r format.Record) error {
			total++
			if bp.act == filterRecords && c.keep(b, r) {
				kept = append(kept, r)
			}
			return nil
		}); err != nil {
			return err
		}
		removed += int64(total - len(kept))
		switch {
		case len(kept) == 0 && !bp.retainEmpty:
			return nil // an emptied batch goes (package comment)
		case len(kept) == total:
			lastBatchEnd = b.NextOffset()
			return out.Append(append(format.Batch(nil), b...))
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
	if err == nil && i != len(p.batches) {
		err = errPlan
	}
	if err == nil && (lastBatchEnd > wantNext || (wantNext == c.passEnd && lastBatchEnd != wantNext)) {
		err = fmt.Errorf("cleaned copy ends at %d, segment at %d (pass end %d)", lastBatchEnd, wantNext, c.passEnd)
	}
	if err == nil {
		err = out.Flush()
	}
	size = out.Size()
	if cerr := out.Close(true); err == nil {
		err = cerr
	}
	if err == nil {
		err = l.FS().SyncDir(dir)
	}
	return removed, markers, size, err
}

// stamp rebuilds a marker with Kafka's delete horizon: the attribute bit
// set and the base timestamp at horizon; record timestamps (base + delta)
// and the max timestamp stay.
func stamp(b format.Batch, horizon int64) ([]byte, error) {
	var recs []format.Record
	base := b.BaseTimestamp()
	if err := b.ForEachRecord(func(r format.Record) error {
		r.TimestampDelta = base + r.TimestampDelta - horizon
		recs = append(recs, r)
		return nil
	}); err != nil {
		return nil, err
	}
	return format.BuildBatch(format.BatchHeader{
		BaseOffset: b.BaseOffset(), LeaderEpoch: b.LeaderEpoch(), Attributes: b.Attributes() | attrDeleteHorizon,
		LastOffsetDelta: b.LastOffsetDelta(), BaseTimestamp: horizon, MaxTimestamp: b.MaxTimestamp(),
		ProducerID: b.ProducerID(), ProducerEpoch: b.ProducerEpoch(), BaseSequence: b.BaseSequence(),
	}, recs)
}
