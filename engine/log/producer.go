package log

import (
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/rillmq/rill/engine/format"
	"github.com/rillmq/rill/engine/segment"
	"github.com/rillmq/rill/engine/vfs"
)

// Idempotent-producer and transaction errors (Kafka's
// INVALID_PRODUCER_EPOCH, OUT_OF_ORDER_SEQUENCE_NUMBER,
// TRANSACTION_COORDINATOR_FENCED and INVALID_TXN_STATE).
var (
	ErrInvalidProducerEpoch = errors.New("log: producer epoch is older than the current one")
	ErrOutOfOrderSequence   = errors.New("log: out of order sequence number")
	// ErrTransactionCoordinatorFenced rejects a transaction marker whose
	// coordinator epoch is older than the last one the producer saw.
	ErrTransactionCoordinatorFenced = errors.New("log: transaction marker from a fenced coordinator epoch")
	// ErrInvalidTxnState rejects a non-transactional batch from a producer
	// whose transaction is still open.
	ErrInvalidTxnState = errors.New("log: non-transactional batch from a producer with an open transaction")
)

// errMarkerRetry is check's verdict on a transaction version 2 marker at
// the producer's epoch when the producer has no open transaction: the
// coordinator sending again a marker this log already has (a lost answer,
// or a new coordinator resending from its log), which Kafka answers as
// written (IdempotentTransactionMarkerException). Append writes nothing
// and reports a duplicate.
var errMarkerRetry = errors.New("log: transaction marker already written")

// noSequence is Kafka's NO_SEQUENCE: batches written by a coordinator
// (transaction markers, transactional offset commits) carry it and skip the
// sequence checks.
const noSequence = -1

// producerBatches is how many recent batches per producer are remembered
// for duplicate detection, as in Kafka (max.in.flight of an idempotent
// producer is at most 5).
const producerBatches = 5

// maxUnreplicatedTxns bounds the completed transactions kept for
// LastStableOffset when no caller reports a high watermark (a follower):
// past it the oldest are forgotten.
const maxUnreplicatedTxns = 1 << 16

type batchMeta struct {
	FirstSeq, LastSeq int32
	Base, Last        int64
}

// producerEntry is one producer's state, as Kafka's ProducerStateEntry. It
// is also the JSON of a producer in a snapshot; snapshots written before
// transactions lack the last three fields, which then read as "none".
type producerEntry struct {
	Epoch   int16       `json:"epoch"`
	Batches []batchMeta `json:"batches"` // oldest first, at most producerBatches
	// CoordinatorEpoch is the coordinator epoch of the last transaction
	// marker (-1: none yet).
	CoordinatorEpoch int32 `json:"coordinator_epoch"`
	// LastTimestamp is the max timestamp of the producer's last batch or
	// marker (-1: none).
	LastTimestamp int64 `json:"last_timestamp"`
	// TxnFirstOffset is the first offset of the producer's open
	// transaction (-1: none).
	TxnFirstOffset int64 `json:"txn_first_offset"`
}

func newProducerEntry(epoch int16) *producerEntry {
	return &producerEntry{Epoch: epoch, CoordinatorEpoch: -1, LastTimestamp: -1, TxnFirstOffset: -1}
}

// UnmarshalJSON reads fields an older snapshot lacks as "none".
func (e *producerEntry) UnmarshalJSON(data []byte) error {
	type plain producerEntry
	p := plain(*newProducerEntry(0))
	if err := json.Unmarshal(data, &p); err != nil {
		return err
	}
	*e = producerEntry(p)
	return nil
}

// completedTxn is a transaction a COMMIT or ABORT marker ended.
type completedTxn struct {
	ProducerID, FirstOffset, LastOffset int64
	Aborted                             bool
}

// producerState is the idempotent-producer and transaction state, as
// Kafka's ProducerStateManager. It is guarded by the log's mu.
type producerState struct {
	byID map[int64]*producerEntry
	// ongoing maps each producer with an open transaction to the
	// transaction's first offset (byID[pid].TxnFirstOffset).
	ongoing map[int64]int64
	// unreplicated holds completed transactions in marker order whose
	// marker may not be below the high watermark yet (Kafka's
	// unreplicatedTxns): until it is, they hold the last stable offset
	// back. LastStableOffset drops those below the high watermark.
	unreplicated []completedTxn
}

func newProducerState() *producerState {
	return &producerState{byID: map[int64]*producerEntry{}, ongoing: map[int64]int64{}}
}

// txnCount is how many transactions can hold the last stable offset back.
func (ps *producerState) txnCount() int { return len(ps.ongoing) + len(ps.unreplicated) }

// check validates a batch of a producer (id >= 0) on the leader against the
// state. ctrl is the decoded marker of a control batch (nil otherwise), tv
// the transaction version of a COMMIT or ABORT marker (AppendOptions). It
// returns the earlier batch when this one is a retry of it (the caller
// answers with that batch's offsets and writes nothing), and
// errMarkerRetry for a marker already written.
func (ps *producerState) check(b format.Batch, ctrl *format.ControlRecord, tv int16) (*batchMeta, error) {
	pid, epoch, first := b.ProducerID(), b.ProducerEpoch(), b.BaseSequence()
	e := ps.byID[pid]
	if e == nil {
		return nil, nil // unknown (new or expired) producer: accept any sequence, as Kafka does since KIP-360
	}
	if b.IsControl() && ctrl != nil && isEndTxn(ctrl) && tv >= 2 {
		if err := checkMarkerEpochV2(pid, epoch, e); err != nil {
			return nil, err
		}
	}
	if epoch < e.Epoch {
		return nil, fmt.Errorf("%w: producer %d epoch %d < %d", ErrInvalidProducerEpoch, pid, epoch, e.Epoch)
	}
	if b.IsControl() {
		if ctrl != nil && isEndTxn(ctrl) && ctrl.CoordinatorEpoch < e.CoordinatorEpoch {
			return nil, fmt.Errorf("%w: producer %d marker coordinator epoch %d < %d",
				ErrTransactionCoordinatorFenced, pid, ctrl.CoordinatorEpoch, e.CoordinatorEpoch)
		}
		return nil, nil
	}
	if first == noSequence {
		return nil, nil // written by a coordinator: no sequence to check
	}
	last := lastSeq(first, b.LastOffsetDelta())
	if epoch > e.Epoch {
		if first != 0 {
			return nil, fmt.Errorf("%w: producer %d bumped epoch to %d with sequence %d, not 0", ErrOutOfOrderSequence, pid, epoch, first)
		}
	} else {
		for i := range e.Batches {
			if m := &e.Batches[i]; m.FirstSeq == first && m.LastSeq == last {
				return m, nil
			}
		}
		if n := len(e.Batches); n > 0 {
			if want := e.Batches[n-1].LastSeq + 1; first != want && !(want < 0 && first == 0) {
				return nil, fmt.Errorf("%w: producer %d expected sequence %d, got %d", ErrOutOfOrderSequence, pid, want, first)
			}
		}
	}
	if e.TxnFirstOffset >= 0 && !b.IsTransactional() {
		return nil, fmt.Errorf("%w: producer %d, transaction open since offset %d", ErrInvalidTxnState, pid, e.TxnFirstOffset)
	}
	return nil, nil
}

// checkMarkerEpochV2 is the producer epoch check of a transaction version 2
// marker, as Kafka's ProducerAppendInfo.checkProducerEpoch (KIP-1228): a TV2
// coordinator bumps the epoch when it ends a transaction, so the marker's
// epoch is above that of every batch of the transaction, and a marker at or
// below the producer's epoch belongs to an earlier transaction (a late or
// duplicated one): INVALID_PRODUCER_EPOCH. One exception, as Kafka's since
// KAFKA-19999: at the producer's epoch with no transaction open, it is a
// retry of the marker that ended it (errMarkerRetry). Like Kafka it runs
// before the coordinator epoch check.
func checkMarkerEpochV2(pid int64, epoch int16, e *producerEntry) error {
	if epoch > e.Epoch {
		return nil
	}
	if epoch == e.Epoch && e.TxnFirstOffset < 0 {
		return errMarkerRetry
	}
	return fmt.Errorf("%w: producer %d transaction version 2 marker epoch %d <= %d", ErrInvalidProducerEpoch, pid, epoch, e.Epoch)
}

func isEndTxn(c *format.ControlRecord) bool {
	return c.Type == format.ControlAbort || c.Type == format.ControlCommit
}

// lastSeq is the sequence of a batch's last record; sequences wrap at
// MaxInt32 to 0.
func lastSeq(first, delta int32) int32 {
	s := int64(first) + int64(delta)
	if s > 1<<31-1 {
		s -= 1 << 31
	}
	return int32(s)
}

// ending returns the transaction the batch (appended at its base offset)
// completes, without changing the state: a COMMIT or ABORT marker of a
// producer with an open transaction. A marker for a producer without one
// (a coordinator's retry) completes nothing.
func (ps *producerState) ending(b format.Batch, ctrl *format.ControlRecord) *completedTxn {
	if !b.IsControl() || ctrl == nil || !isEndTxn(ctrl) {
		return nil
	}
	first, ok := ps.ongoing[b.ProducerID()]
	if !ok {
		return nil
	}
	return &completedTxn{ProducerID: b.ProducerID(), FirstOffset: first, LastOffset: b.BaseOffset(), Aborted: ctrl.Type == format.ControlAbort}
}

// lastStableAfter is the last stable offset once done completes, as
// Kafka's ProducerStateManager.lastStableOffset(CompletedTxn): the first
// offset of the earliest other open transaction, or the offset after the
// marker.
func (ps *producerState) lastStableAfter(done *completedTxn) int64 {
	lso := done.LastOffset + 1
	for pid, first := range ps.ongoing {
		if pid != done.ProducerID && first < lso {
			lso = first
		}
	}
	return lso
}

// update records an appended batch (leader, follower or replay alike) and
// returns the transaction it completed, if any. ctrl is the decoded marker
// of a control batch (nil when it has none or did not decode: such a batch
// changes nothing).
func (ps *producerState) update(b format.Batch, ctrl *format.ControlRecord) *completedTxn {
	pid := b.ProducerID()
	if pid < 0 {
		return nil
	}
	epoch := b.ProducerEpoch()
	e := ps.byID[pid]
	if e == nil {
		e = newProducerEntry(epoch)
		ps.byID[pid] = e
	}
	if b.IsControl() {
		if ctrl == nil || !isEndTxn(ctrl) {
			return nil
		}
		done := ps.ending(b, ctrl)
		if epoch > e.Epoch {
			e.Epoch, e.Batches = epoch, nil
		}
		e.TxnFirstOffset = -1
		delete(ps.ongoing, pid)
		e.CoordinatorEpoch = ctrl.CoordinatorEpoch
		e.LastTimestamp = b.MaxTimestamp()
		if done != nil {
			ps.unreplicated = append(ps.unreplicated, *done)
			if n := len(ps.unreplicated); n > maxUnreplicatedTxns {
				ps.unreplicated = append([]completedTxn(nil), ps.unreplicated[n-maxUnreplicatedTxns/2:]...)
			}
		}
		return done
	}
	if epoch < e.Epoch {
		return nil
	}
	if epoch > e.Epoch {
		e.Epoch, e.Batches = epoch, nil
	}
	if b.BaseSequence() != noSequence {
		m := batchMeta{FirstSeq: b.BaseSequence(), LastSeq: lastSeq(b.BaseSequence(), b.LastOffsetDelta()), Base: b.BaseOffset(), Last: b.LastOffset()}
		e.Batches = append(e.Batches, m)
		if len(e.Batches) > producerBatches {
			e.Batches = e.Batches[len(e.Batches)-producerBatches:]
		}
	}
	e.LastTimestamp = b.MaxTimestamp()
	if b.IsTransactional() && e.TxnFirstOffset < 0 {
		e.TxnFirstOffset = b.BaseOffset()
		ps.ongoing[pid] = e.TxnFirstOffset
	}
	return nil
}

// firstUnstable returns min(hw, the first offset of every open transaction
// and of every completed one whose marker is at or past hw), and whether
// some completed transaction is below hw and may be dropped.
func (ps *producerState) firstUnstable(hw int64) (int64, bool) {
	lso, prunable := hw, false
	for _, first := range ps.ongoing {
		lso = min(lso, first)
	}
	for _, t := range ps.unreplicated {
		if t.LastOffset >= hw {
			lso = min(lso, t.FirstOffset)
		} else {
			prunable = true
		}
	}
	return lso, prunable
}

// dropCompletedBelow forgets completed transactions whose marker is below
// offset (the high watermark or the log start offset).
func (ps *producerState) dropCompletedBelow(offset int64) {
	keep := ps.unreplicated[:0]
	for _, t := range ps.unreplicated {
		if t.LastOffset >= offset {
			keep = append(keep, t)
		}
	}
	ps.unreplicated = keep
}

// controlRecord decodes a control batch's marker; nil for data batches and
// for control batches that hold none or do not decode.
func controlRecord(b format.Batch) *format.ControlRecord {
	if !b.IsControl() {
		return nil
	}
	c, err := b.Control()
	if err != nil {
		return nil
	}
	return &c
}

// Producer state snapshots: <offset>.snapshot holds the state of every
// producer as of that offset (JSON), written atomically. Like Kafka's, they
// are written when a segment rolls and at clean shutdown, and let opening
// a log rebuild the state by scanning only the batches after the newest
// snapshot at or below the log end. A snapshot carries each producer's open
// transaction (its first offset) and coordinator epoch, so the transaction
// indexes of the segments below it and the snapshot agree: both hold every
// marker before the snapshot's offset.
const snapshotSuffix = ".snapshot"

type snapshot struct {
	Offset    int64                    `json:"offset"`
	Producers map[string]producerEntry `json:"producers"`
}

func (l *Log) snapshotPath(offset int64) string {
	return filepath.Join(l.dir, format.FileName(offset, snapshotSuffix))
}

// writeSnapshotLocked writes the state as of offset (the caller holds mu
// and offset is the log end) and removes older snapshots but the last two.
func (l *Log) writeSnapshotLocked(offset int64) error {
	s := snapshot{Offset: offset, Producers: map[string]producerEntry{}}
	for pid, e := range l.mu.producers.byID {
		s.Producers[strconv.FormatInt(pid, 10)] = *e
	}
	data, err := json.Marshal(s)
	if err != nil {
		return err
	}
	if err := vfs.WriteFileAtomic(l.fs, l.dir, l.snapshotPath(offset), data); err != nil {
		return err
	}
	l.mu.snapshotAt = offset
	offs := l.snapshotOffsets()
	for i := 0; i < len(offs)-2; i++ {
		l.fs.Remove(l.snapshotPath(offs[i]))
	}
	return nil
}

// snapshotOffsets lists the snapshot offsets on disk, ascending.
func (l *Log) snapshotOffsets() []int64 {
	names, _ := l.fs.ReadDir(l.dir)
	var offs []int64
	for _, n := range names {
		if o, ok := format.ParseFileName(n, snapshotSuffix); ok {
			offs = append(offs, o)
		}
	}
	sort.Slice(offs, func(i, j int) bool { return offs[i] < offs[j] })
	return offs
}

// rebuildProducersLocked loads the newest readable snapshot at or below the
// log end, drops snapshots above it, and replays batch headers from the
// snapshot's offset (or the log start) to the end.
//
// rebuild names segments (by base offset) whose transaction index recovery
// must rebuild. Then the snapshot must also be at or below the first of
// them, so that the replay knows every transaction open at its start, and
// the replay writes each ABORT marker it meets in them to their new index.
func (l *Log) rebuildProducersLocked(rebuild map[int64]bool) error {
	return l.rebuildProducersFromLocked(rebuild, l.snapshotOffsets())
}

// rebuildProducersFromLocked is rebuildProducersLocked with the snapshot
// offsets on disk (ascending) already listed.
func (l *Log) rebuildProducersFromLocked(rebuild map[int64]bool, offs []int64) error {
	leo := l.logEndOffset.Load()
	limit := leo
	for base := range rebuild {
		limit = min(limit, base)
	}
	// A snapshot below the first segment cannot be replayed from: the
	// batches between it and the segment are gone (retention,
	// DeleteRecords), markers included. Like Kafka, which drops snapshots
	// below the log start, rebuild from the first segment then.
	oldest := l.mu.segments[0].BaseOffset()
	state := newProducerState()
	from := int64(-1)
	removed := false
	for i := len(offs) - 1; i >= 0; i-- {
		o := offs[i]
		if o > leo {
			// A snapshot past the log end describes batches a
			// truncation (or a crash) took; should its removal not
			// survive a crash, a later open could replay on top of it
			// after the offsets were reused, so the removal is synced.
			l.fs.Remove(l.snapshotPath(o))
			removed = true
			continue
		}
		if from >= 0 || o > limit || o < oldest {
			continue
		}
		data, err := vfs.ReadFile(l.fs, l.snapshotPath(o))
		var s snapshot
		if err != nil || json.Unmarshal(data, &s) != nil || s.Offset != o {
			l.fs.Remove(l.snapshotPath(o)) // unreadable: fall back to an older one
			continue
		}
		for k, e := range s.Producers {
			pid, err := strconv.ParseInt(k, 10, 64)
			if err != nil || pid < 0 {
				continue
			}
			e := e
			state.byID[pid] = &e
			if e.TxnFirstOffset >= 0 {
				state.ongoing[pid] = e.TxnFirstOffset
			}
		}
		from = o
	}
	rebuilt := map[int64][]AbortedTxn{}
	err := l.forEachBatchLocked(max(from, 0), func(s *segment.Segment, b format.Batch) {
		if b.LastOffset() < from {
			return
		}
		ctrl := controlRecord(b)
		done := state.ending(b, ctrl)
		var lastStable int64
		if done != nil {
			lastStable = state.lastStableAfter(done)
		}
		state.update(b, ctrl)
		if done != nil && done.Aborted && rebuild[s.BaseOffset()] {
			rebuilt[s.BaseOffset()] = append(rebuilt[s.BaseOffset()], AbortedTxn{
				ProducerID: done.ProducerID, FirstOffset: done.FirstOffset,
				LastOffset: done.LastOffset, LastStableOffset: lastStable})
		}
	})
	if err != nil {
		return err
	}
	if removed {
		if err := l.fs.SyncDir(l.dir); err != nil {
			return err
		}
	}
	state.dropCompletedBelow(l.logStartOffset.Load())
	l.mu.producers = state
	l.mu.snapshotAt = -1
	if from == leo {
		l.mu.snapshotAt = from // nothing replayed on top of it
	}
	l.noteTxnCountLocked()
	dirChanged := false
	for base := range rebuild {
		changed, err := l.rewriteTxnIndexLocked(base, rebuilt[base])
		if err != nil {
			return err
		}
		dirChanged = dirChanged || changed
	}
	if dirChanged {
		return l.fs.SyncDir(l.dir)
	}
	return nil
}

// forEachBatchLocked walks the batch headers of the segments that reach
// past offset from, in order, as the rebuilds of producer state and leader
// epochs do. A batch cut short at a segment's end ends that segment's walk.
func (l *Log) forEachBatchLocked(from int64, fn func(*segment.Segment, format.Batch)) error {
	for _, s := range l.mu.segments {
		if s.NextOffset() <= from {
			continue
		}
		err := s.ForEachBatch(0, func(_ int64, b format.Batch) error {
			fn(s, b)
			return nil
		})
		if err != nil && !strings.Contains(err.Error(), "EOF") {
			return err
		}
	}
	return nil
}
