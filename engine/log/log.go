package log

import (
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"sync/atomic"

	"github.com/rillmq/rill/engine/format"
	"github.com/rillmq/rill/engine/segment"
	"github.com/rillmq/rill/engine/vfs"
)

// Errors callers map to protocol error codes.
var (
	ErrOffsetOutOfRange = errors.New("log: offset out of range")
	ErrBatchTooLarge    = errors.New("log: batch larger than max.message.bytes")
	ErrClosed           = errors.New("log: closed")
	// ErrFailed means an earlier I/O error left the log in a state it
	// could not repair; it takes no more writes until reopened.
	ErrFailed = errors.New("log: failed after an unrecoverable I/O error")
)

// Clock returns the current time in Unix milliseconds.
type Clock func() int64

// Syncer makes files durable. Implementations batch concurrent calls from
// many logs into one group commit.
type Syncer interface {
	Sync(files []vfs.File) error
}

// directSyncer syncs files one by one; for tools and tests.
type directSyncer struct{}

func (directSyncer) Sync(files []vfs.File) error {
	for _, f := range files {
		if err := f.Sync(); err != nil {
			return err
		}
	}
	return nil
}

// DirectSyncer is a Syncer without batching.
var DirectSyncer Syncer = directSyncer{}

// Options configures Open.
type Options struct {
	FS     vfs.FS
	Dir    string
	Config Config
	Clock  Clock
	Syncer Syncer
	// RecoveryPoint is where recovery starts when NeedsRecovery; offsets
	// below it were durable at the last checkpoint.
	RecoveryPoint int64
	// NeedsRecovery is true after an unclean shutdown.
	NeedsRecovery bool
	// LogStartOffset from the checkpoint (0 when unknown).
	LogStartOffset int64
	// Logger receives one Warn record for each cut or dropped segment
	// recovery makes at open (nil: no logging).
	Logger *slog.Logger
	// OnChange, when set, is called the first time the log changes after
	// Rearm (activity.go); it may be called with the log's locks held and
	// must not call back into the log.
	OnChange func(*Log)
}

// Log is one partition's log.
type Log struct {
	fs     vfs.FS
	dir    string
	clock  Clock
	syncer Syncer
	config atomic.Pointer[Config]

	// mu guards segments, the append path and rolling.
	mu struct {
		sync.RWMutex
		segments []*segment.Segment // sorted by base offset; last is active
		// created is when the active segment was created (segment.ms
		// counts from its first timestamp or from this).
		created int64
		// unflushed counts records appended since the last flush.
		unflushed int64
		failed    bool
		closed    bool
		// producers is the idempotent-producer and transaction state
		// (producer.go).
		producers *producerState
		// snapshotAt is the offset of the snapshot on disk that holds
		// producers as they are (-1: none does); a clean Close does not
		// rewrite it.
		snapshotAt int64
		// txnIndexes are the segments' transaction indexes by base
		// offset (txnindex.go); txnEntries counts their entries.
		txnIndexes map[int64]*txnIndex
		txnEntries int
		// txnDirUnsynced is set when a transaction index file was
		// created since the directory was last synced.
		txnDirUnsynced bool
		// epochs is the leader epoch cache (epochs.go); epochsVersion
		// counts its changes, for epochFile.persisted.
		epochs        EpochCache
		epochsVersion uint64
		// epochsLoaded is false after a clean open until the epochs
		// are first needed (ensureEpochsLocked).
		epochsLoaded bool
		// guards are the pending transaction verifications, by
		// producer id (txnguard.go).
		guards map[int64]*VerificationGuard
	}
	// maint serializes retention, compaction, truncation, DeleteRecords.
	maint sync.Mutex

	// epochFile serializes writes of the leader epoch checkpoint, so an
	// older cache never lands over a newer one; persisted is the
	// mu.epochsVersion the file holds. Lock order: maint, epochFile, mu.
	epochFile struct {
		sync.Mutex
		persisted uint64
	}

	// txnCount mirrors mu.producers.txnCount(), so that LastStableOffset
	// answers without a lock when no transaction is in flight.
	txnCount atomic.Int64

	logStartOffset atomic.Int64
	logEndOffset   atomic.Int64
	recoveryPoint  atomic.Int64
	lastFlush      atomic.Int64
	// cleaned mirrors the log's CleanedFile (cleaned.go).
	cleaned atomic.Int64

	// onChange and reported implement Options.OnChange (activity.go).
	onChange func(*Log)
	reported atomic.Bool
	// retentionAt is when a retention pass could next delete something
	// (0: now; RetentionDue).
	retentionAt atomic.Int64
	// pendingDeletes mirrors len(deleted), read without deletedMu.
	pendingDeletes atomic.Int64

	// deleted holds segments removed from the log whose files close after
	// file.delete.delay.ms.
	deletedMu sync.Mutex
	deleted   []pendingDelete
}

type pendingDelete struct {
	seg   *segment.Segment
	txn   *txnIndex // the segment's transaction index (nil: none)
	at    int64
	purge bool // remove the files too (false: files were replaced in place)
}

// Open opens or creates the log in opts.Dir, recovering it when needed.
func Open(opts Options) (*Log, error) {
	if opts.Syncer == nil {
		opts.Syncer = DirectSyncer
	}
	l := &Log{fs: opts.FS, dir: opts.Dir, clock: opts.Clock, syncer: opts.Syncer, onChange: opts.OnChange}
	l.mu.producers = newProducerState()
	l.mu.snapshotAt = -1
	l.mu.txnIndexes = map[int64]*txnIndex{}
	cfg := opts.Config
	l.config.Store(&cfg)
	if err := l.fs.MkdirAll(opts.Dir, 0o755); err != nil {
		return nil, err
	}
	if err := l.load(opts); err != nil {
		l.closeSegments(false)
		return nil, fmt.Errorf("log %s: %w", opts.Dir, err)
	}
	l.lastFlush.Store(l.clock())
	return l, nil
}

// Dir is the log's directory.
func (l *Log) Dir() string { return l.dir }

// Config returns the current configuration.
func (l *Log) Config() Config { return *l.config.Load() }

// SetConfig replaces the configuration; it applies to later appends, rolls
// and maintenance passes.
func (l *Log) SetConfig(c Config) {
	l.mu.Lock()
	l.config.Store(&c)
	l.resetRetentionLocked()
	l.mu.Unlock()
	l.noteChanged()
}

// CleanupCompact reports cleanup.policy=compact, without copying the
// config.
func (l *Log) CleanupCompact() bool { return l.config.Load().CleanupCompact }

// LogStartOffset is the first readable offset.
func (l *Log) LogStartOffset() int64 { return l.logStartOffset.Load() }

// LogEndOffset is the offset the next record will get.
func (l *Log) LogEndOffset() int64 { return l.logEndOffset.Load() }

// RecoveryPoint is the offset below which data is durable.
func (l *Log) RecoveryPoint() int64 { return l.recoveryPoint.Load() }

// Size is the total bytes of all segments.
func (l *Log) Size() int64 {
	l.mu.RLock()
	defer l.mu.RUnlock()
	var n int64
	for _, s := range l.mu.segments {
		n += s.Size()
	}
	return n
}

// Segments returns a snapshot of the segments, oldest first.
func (l *Log) Segments() []*segment.Segment {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return append([]*segment.Segment(nil), l.mu.segments...)
}

func (l *Log) active() *segment.Segment { return l.mu.segments[len(l.mu.segments)-1] }

// AppendOptions are per-append settings from the caller (the partition
// leader).
type AppendOptions struct {
	LeaderEpoch int32
	// AssignOffsets is true for produced data (leader); false for
	// replicated batches that already carry offsets (follower).
	AssignOffsets bool
	// Guard, for a transactional batch a leader verified with the
	// transaction coordinator (KIP-890), must still be registered when
	// the batch opens the producer's transaction (txnguard.go).
	Guard *VerificationGuard
	// Verify makes a transactional data batch that would open a
	// transaction require Guard.
	Verify bool
	// TransactionVersion is, for a COMMIT or ABORT marker, the version
	// of the transaction it ends (WriteTxnMarkers v2, KIP-1228; 0 when
	// unknown). From 2 the marker's producer epoch must be above the
	// producer's (checkMarkerEpochV2 in producer.go).
	TransactionVersion int16
}

// AppendResult describes an appended batch.
type AppendResult struct {
	BaseOffset    int64
	LastOffset    int64
	LogAppendTime int64 // -1 unless the topic uses LogAppendTime
	// Duplicate is true when an idempotent producer retried a batch that
	// is already in the log: nothing was written and the offsets are the
	// original batch's. For a transaction version 2 marker retried after
	// its transaction ended, both are the log's last offset (at or after
	// the first marker), so waiting for them waits for that marker.
	Duplicate bool
}

// Append validates one record batch, assigns offsets (rewriting baseOffset
// and leader epoch in place; LogAppendTime rewrites maxTimestamp and the
// CRC) and writes it. The batch bytes are modified in place. When
// flush.messages is reached, Append returns after the data is fsynced.
func (l *Log) Append(batch []byte, opts AppendOptions) (AppendResult, error) {
	cfg := l.config.Load()
	if cfg.MaxMessageBytes > 0 && len(batch) > cfg.MaxMessageBytes {
		return AppendResult{}, ErrBatchTooLarge
	}
	var b format.Batch
	var err error
	if opts.AssignOffsets {
		b, err = format.Validate(batch)
	} else {
		b, err = format.Parse(batch)
	}
	if err != nil {
		return AppendResult{}, err
	}
	if len(b) != len(batch) {
		return AppendResult{}, fmt.Errorf("%w: %d trailing bytes after batch", format.ErrCorrupt, len(batch)-len(b))
	}
	res := AppendResult{LogAppendTime: -1}

	l.mu.Lock()
	if l.mu.closed {
		l.mu.Unlock()
		return res, ErrClosed
	}
	if l.mu.failed {
		l.mu.Unlock()
		return res, ErrFailed
	}
	if err := l.ensureEpochsLocked(); err != nil {
		l.mu.Unlock()
		return res, err
	}
	now := l.clock()
	leo := l.logEndOffset.Load()
	var ctrl *format.ControlRecord
	if b.IsControl() {
		c, err := b.Control()
		switch {
		case err == nil:
			ctrl = &c
		case opts.AssignOffsets:
			// The leader takes only markers it can read; a follower
			// copies what its leader wrote.
			l.mu.Unlock()
			return res, fmt.Errorf("log: control batch: %w", err)
		}
	}
	if opts.AssignOffsets && b.ProducerID() >= 0 {
		dup, err := l.mu.producers.check(b, ctrl, opts.TransactionVersion)
		if errors.Is(err, errMarkerRetry) {
			l.mu.Unlock()
			res.BaseOffset, res.LastOffset, res.Duplicate = leo-1, leo-1, true
			return res, nil
		}
		if err != nil {
			l.mu.Unlock()
			return res, err
		}
		if dup != nil {
			l.mu.Unlock()
			res.BaseOffset, res.LastOffset, res.Duplicate = dup.Base, dup.Last, true
			return res, nil
		}
		if opts.Verify && b.IsTransactional() && ctrl == nil && !b.IsControl() {
			if err := l.checkGuardLocked(b.ProducerID(), opts.Guard); err != nil {
				l.mu.Unlock()
				return res, err
			}
		}
	}
	if opts.AssignOffsets {
		b.SetBaseOffset(leo)
		b.SetLeaderEpoch(opts.LeaderEpoch)
		if cfg.LogAppendTime {
			b.SetLogAppendTime(now)
			res.LogAppendTime = now
		}
	} else if b.BaseOffset() < leo || (!cfg.CleanupCompact && b.BaseOffset() != leo) {
		// Only a compacted leader's log has gaps a follower may copy.
		l.mu.Unlock()
		return res, fmt.Errorf("%w: replicated batch at %d does not follow log end %d", ErrOffsetOutOfRange, b.BaseOffset(), leo)
	}
	if err := l.maybeRollLocked(len(b), b.BaseOffset(), b.LastOffset(), b.MaxTimestamp(), now); err != nil {
		l.mu.Unlock()
		return res, err
	}
	// An ABORT marker's transaction index entry is written before the
	// marker, and counted only once the marker is in the log.
	var aborted *AbortedTxn
	if done := l.mu.producers.ending(b, ctrl); done != nil && done.Aborted {
		aborted = &AbortedTxn{ProducerID: done.ProducerID, FirstOffset: done.FirstOffset,
			LastOffset: done.LastOffset, LastStableOffset: l.mu.producers.lastStableAfter(done)}
		if err := l.writeTxnEntryLocked(l.active().BaseOffset(), *aborted); err != nil {
			l.mu.Unlock()
			return res, err
		}
	}
	if err := l.active().Append(b); err != nil {
		if !errors.Is(err, ErrFailed) && l.active().Size() != l.sizeOnDisk() {
			l.mu.failed = true
		}
		l.mu.Unlock()
		return res, err
	}
	l.logEndOffset.Store(b.NextOffset())
	if aborted != nil {
		l.commitTxnEntryLocked(l.active().BaseOffset(), *aborted)
	}
	if b.ProducerID() >= 0 {
		l.mu.producers.update(b, ctrl)
		l.noteTxnCountLocked()
		if b.IsTransactional() && len(l.mu.guards) > 0 {
			l.dropGuardLocked(b.ProducerID()) // opened, or ended by a marker
		}
	}
	l.noteEpochLocked(b)
	l.mu.unflushed += int64(b.LastOffsetDelta()) + 1
	needFlush := l.mu.unflushed >= cfg.FlushMessages
	l.resetRetentionLocked()
	l.noteChanged()
	l.mu.Unlock()

	res.BaseOffset, res.LastOffset = b.BaseOffset(), b.LastOffset()
	if needFlush {
		if err := l.Flush(); err != nil {
			return res, err
		}
	}
	return res, nil
}

// sizeOnDisk returns the active file's size, or -1 when it cannot be read.
func (l *Log) sizeOnDisk() int64 {
	n, err := l.active().File().Size()
	if err != nil {
		return -1
	}
	return n
}

// maybeRollLocked starts a new segment when the batch would overflow the
// active one (segment.bytes, index room, 32-bit relative offsets) or the
// active one is older than segment.ms.
func (l *Log) maybeRollLocked(size int, base, last, batchTS, now int64) error {
	cfg := l.config.Load()
	act := l.active()
	if act.Size() == 0 {
		return nil
	}
	// segment.ms counts as Kafka does: from the first batch's timestamp to
	// the new batch's, or by the wall clock from the segment's creation
	// when timestamps are missing.
	waited := now - l.mu.created
	if first := act.FirstTimestamp(); first >= 0 && batchTS >= 0 {
		waited = batchTS - first
	}
	roll := act.Size()+int64(size) > cfg.SegmentBytes ||
		waited > cfg.SegmentMs ||
		act.IndexFull() ||
		last-act.BaseOffset() > int64(^uint32(0)>>1)
	if !roll {
		return nil
	}
	// A follower's batch may start past the log end, after a gap its
	// compacted leader's cleaner left. The new segment starts at the log
	// end all the same (while the batch stays in the segment's 32-bit
	// relative range), so the gap lies inside it, where recovery takes it
	// for the compacted log's, and segments stay contiguous: a segment
	// that ends short of the next one is then a crash's trace (load.go).
	if leo := l.logEndOffset.Load(); base > leo && last-leo <= int64(^uint32(0)>>1) {
		base = leo
	}
	return l.rollLocked(base, now)
}

// Roll forces a new active segment (a no-op when the active one is empty).
func (l *Log) Roll() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.active().Size() == 0 {
		return nil
	}
	return l.rollLocked(l.logEndOffset.Load(), l.clock())
}

func (l *Log) rollLocked(base int64, now int64) error {
	old := l.active()
	seg, err := segment.Create(l.fs, l.dir, base, l.config.Load().segmentConfig())
	if err != nil {
		return err
	}
	if err := old.OnRoll(); err != nil {
		seg.Delete()
		return err
	}
	l.mu.segments = append(l.mu.segments, seg)
	l.mu.created = now
	if len(l.mu.producers.byID) > 0 {
		// Best effort: a missing snapshot only lengthens the next open's scan.
		_ = l.writeSnapshotLocked(base)
	}
	return nil
}

// segmentFor returns the last segment whose base is <= offset, and its
// index, from a snapshot.
func segmentFor(segs []*segment.Segment, offset int64) int {
	i := sort.Search(len(segs), func(i int) bool { return segs[i].BaseOffset() > offset })
	return i - 1
}

// Read returns a file range starting at the batch holding offset, at most
// maxBytes long (at least one whole batch when minOneBatch), and never past
// maxOffset (exclusive; the high watermark, or -1 for the log end). An
// offset equal to the bound yields an empty range; offsets outside
// [LogStartOffset, LogEndOffset] fail with ErrOffsetOutOfRange.
func (l *Log) Read(offset int64, maxBytes int, maxOffset int64, minOneBatch bool) (segment.FileRange, error) {
	l.mu.RLock()
	segs := l.mu.segments
	l.mu.RUnlock()
	leo := l.logEndOffset.Load()
	if maxOffset < 0 || maxOffset > leo {
		maxOffset = leo
	}
	if offset < l.logStartOffset.Load() || offset > leo {
		return segment.FileRange{}, fmt.Errorf("%w: %d not in [%d, %d]", ErrOffsetOutOfRange, offset, l.logStartOffset.Load(), leo)
	}
	if offset >= maxOffset {
		return segment.FileRange{}, nil
	}
	for i := max(segmentFor(segs, offset), 0); i < len(segs); i++ {
		s := segs[i]
		if s.BaseOffset() >= maxOffset {
			break
		}
		maxPos := int64(-1)
		if maxOffset < s.NextOffset() {
			r, err := s.Read(maxOffset, 0, -1, false)
			if err != nil {
				return segment.FileRange{}, err
			}
			maxPos = r.Pos
		}
		r, err := s.Read(offset, maxBytes, maxPos, minOneBatch)
		if err != nil {
			return segment.FileRange{}, err
		}
		if r.Len > 0 {
			return r, nil
		}
	}
	return segment.FileRange{}, nil
}

// OffsetForTimestamp returns the first offset whose record timestamp is >=
// ts, and that timestamp; ok is false when no record qualifies (Kafka then
// answers the log end offset with timestamp -1).
func (l *Log) OffsetForTimestamp(ts int64) (offset, recordTS int64, ok bool, err error) {
	segs := l.Segments()
	start := l.logStartOffset.Load()
	for _, s := range segs {
		if maxTS, _ := s.MaxTimestamp(); maxTS < ts || s.NextOffset() <= start {
			continue
		}
		o, t, found, err := s.FindOffsetByTimestamp(ts, start)
		if err != nil {
			return 0, 0, false, err
		}
		if found {
			return o, t, true, nil
		}
	}
	return 0, 0, false, nil
}

// MaxTimestamp returns the largest record timestamp and its offset (the
// offset of the batch's last record, as Kafka reports for MAX_TIMESTAMP).
func (l *Log) MaxTimestamp() (ts, offset int64) {
	ts, offset = format.NoTimestamp, -1
	for _, s := range l.Segments() {
		if t, o := s.MaxTimestamp(); t > ts && s.Size() > 0 {
			ts, offset = t, o
		}
	}
	return ts, offset
}

// Flush fsyncs everything appended so far, then the leader epoch
// checkpoint when an append changed the epochs, and advances the recovery
// point: the checkpoint on disk covers every batch below the recovery
// point.
func (l *Log) Flush() error {
	l.mu.Lock()
	target := l.logEndOffset.Load()
	segs := l.mu.segments
	l.mu.unflushed = 0
	rp := l.recoveryPoint.Load()
	epochs := l.mu.epochsVersion
	if rp >= target {
		l.mu.Unlock()
		return l.persistEpochs(epochs)
	}
	// Transaction index entries are written before their marker, so every
	// entry of a marker below target is in these files.
	files, txns, txnDir := l.unsyncedTxnFilesLocked()
	l.mu.Unlock()
	// With a descriptor cache, segments whose evicted descriptor was
	// synced are skipped, and the rest are pinned only while the sync
	// runs: a flush of every log at once holds no more than its files.
	var releases []func(synced bool)
	var err error
	for i := max(segmentFor(segs, rp), 0); i < len(segs) && err == nil; i++ {
		if !segs[i].Unsynced() {
			continue
		}
		var f vfs.File
		var release func(bool)
		if f, release, err = segs[i].PinFile(); err == nil {
			files = append(files, f)
			releases = append(releases, release)
		}
	}
	if err == nil {
		err = timedSync(l.syncer, files)
	}
	for _, release := range releases {
		release(err == nil)
	}
	if err == nil && txnDir {
		err = l.fs.SyncDir(l.dir)
	}
	if err == nil {
		err = l.persistEpochs(epochs)
	}
	if err != nil {
		l.mu.Lock()
		for _, t := range txns {
			t.unsynced = true
		}
		l.mu.txnDirUnsynced = l.mu.txnDirUnsynced || txnDir
		l.mu.Unlock()
		return fmt.Errorf("log %s: flush: %w", l.dir, err)
	}
	for {
		cur := l.recoveryPoint.Load()
		if cur >= target || l.recoveryPoint.CompareAndSwap(cur, target) {
			break
		}
	}
	l.lastFlush.Store(l.clock())
	l.noteChanged() // the recovery point to checkpoint
	return nil
}

// MaybeFlush flushes when flush.ms has passed since the last flush.
func (l *Log) MaybeFlush(now int64) error {
	if now-l.lastFlush.Load() < l.config.Load().FlushMs {
		return nil
	}
	return l.Flush()
}

// Close flushes and closes the log. With clean, indexes are trimmed (the
// engine then writes its clean-shutdown marker).
func (l *Log) Close(clean bool) error {
	var err error
	if clean {
		err = l.Flush()
		if err == nil {
			l.mu.RLock()
			for _, s := range l.mu.segments {
				err = errors.Join(err, s.Flush())
			}
			l.mu.RUnlock()
		}
	}
	l.mu.Lock()
	// A snapshot at the log end written since the last append (at a
	// roll, or by the previous clean Close) already holds the state.
	if leo := l.logEndOffset.Load(); clean && err == nil && len(l.mu.producers.byID) > 0 && l.mu.snapshotAt != leo {
		err = l.writeSnapshotLocked(leo)
	}
	l.mu.closed = true
	l.mu.Unlock()
	l.reapDeleted(0, true)
	return errors.Join(err, l.closeSegments(clean))
}

func (l *Log) closeSegments(trim bool) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	var err error
	for _, s := range l.mu.segments {
		err = errors.Join(err, s.Close(trim))
	}
	for _, t := range l.mu.txnIndexes {
		if t.f != nil {
			err = errors.Join(err, t.f.Close())
			t.f = nil
		}
	}
	return err
}

// FS is the file system the log lives on.
func (l *Log) FS() vfs.FS { return l.fs }
