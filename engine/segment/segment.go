package segment

import (
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"

	"github.com/rillmq/rill/engine/fdcache"
	"github.com/rillmq/rill/engine/format"
	"github.com/rillmq/rill/engine/index"
	"github.com/rillmq/rill/engine/vfs"
)

// Config sizes a segment's indexes.
type Config struct {
	// IndexIntervalBytes is how many log bytes pass between index entries
	// (index.interval.bytes, default 4096).
	IndexIntervalBytes int
	// MaxIndexBytes is the preallocated size of each index
	// (segment.index.bytes, default 10 MiB).
	MaxIndexBytes int
	// ContiguousOffsets makes recovery demand that each batch starts where
	// the previous one ended (and the first at the segment's base). True
	// for every log that is not compacted; the cleaner leaves gaps.
	ContiguousOffsets bool
}

// DefaultConfig is Kafka's defaults.
var DefaultConfig = Config{IndexIntervalBytes: 4096, MaxIndexBytes: 10 << 20}

// ErrClosed is returned by operations on a closed segment.
var ErrClosed = errors.New("segment: closed")

// FileRange is a byte range of a segment file that holds whole or (at its
// end) partial batches, for zero-copy sends. File stays open for at least
// file.delete.delay.ms after the segment is deleted. With a descriptor
// cache File is the segment's *fdcache.Handle: reads reopen an evicted file,
// and since it offers no descriptor, senders copy instead of sendfile (a
// response over thousands of partitions must not pin thousands of
// descriptors at once).
type FileRange struct {
	File vfs.File
	Pos  int64
	Len  int64
}

// Segment is one log segment.
type Segment struct {
	fs   vfs.FS
	dir  string
	base int64
	cfg  Config

	log       vfs.File
	index     *index.OffsetIndex
	timeIndex *index.TimeIndex

	// size is the number of bytes of complete, appended batches; readers
	// load it once and never read past it.
	size atomic.Int64
	// writebackFrom is where the next writeback hint starts; touched only
	// by Append, which the log serializes.
	writebackFrom int64
	// nextOffset is the offset after the last appended batch.
	nextOffset atomic.Int64
	// maxTimestamp and its offset are the largest batch max timestamp.
	mu                   sync.Mutex
	maxTimestamp         int64
	offsetOfMaxTimestamp int64
	// firstTimestamp is the max timestamp of the first batch (roll by
	// segment.ms counts from it), NoTimestamp when empty.
	firstTimestamp  int64
	bytesSinceIndex int
	closed          bool
	// suffix is appended to the file names once MarkDeleted renamed them.
	suffix string
}

// Paths returns the log, index and time index paths of the segment at base.
func Paths(dir string, base int64) (log, idx, tidx string) {
	return filepath.Join(dir, format.FileName(base, format.LogSuffix)),
		filepath.Join(dir, format.FileName(base, format.IndexSuffix)),
		filepath.Join(dir, format.FileName(base, format.TimeIndexSuffix))
}

// AllPaths returns the segment's three file paths, log first.
func AllPaths(dir string, base int64) []string {
	l, i, t := Paths(dir, base)
	return []string{l, i, t}
}

// Create makes a new, empty segment and syncs the directory so that its
// files survive a crash.
func Create(fs vfs.FS, dir string, base int64, cfg Config) (*Segment, error) {
	logPath, _, _ := Paths(dir, base)
	f, err := fs.OpenFile(logPath, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, err
	}
	s, err := open(fs, dir, base, cfg, f, true, cfg.MaxIndexBytes)
	if err != nil {
		return nil, err
	}
	if err := fs.SyncDir(dir); err != nil {
		s.Close(false)
		return nil, err
	}
	return s, nil
}

// Open opens an existing segment. Unless recover is set it trusts the file
// (a clean shutdown): size is the file size and the next offset comes from
// walking batch headers after the last index entry. With recover it runs
// Recover, validating every batch. Only an active segment gets room to grow
// its indexes. Callers that must report what recovery cut use OpenBounded.
func Open(fs vfs.FS, dir string, base int64, cfg Config, active, recover bool) (*Segment, error) {
	s, _, err := OpenBounded(fs, dir, base, cfg, active, recover, math.MaxInt64)
	return s, err
}

// OpenBounded is Open where recovery also rejects batches whose offsets
// reach limit (the next segment's base offset). It returns what recovery
// cut (the zero Cut without recover).
func OpenBounded(fs vfs.FS, dir string, base int64, cfg Config, active, recover bool, limit int64) (*Segment, Cut, error) {
	logPath, _, _ := Paths(dir, base)
	f, err := fs.OpenFile(logPath, os.O_RDWR, 0)
	if err != nil {
		return nil, Cut{}, err
	}
	indexBytes := cfg.MaxIndexBytes
	if !active {
		cfg.MaxIndexBytes = 0
	}
	if !recover {
		indexBytes = cfg.MaxIndexBytes
	}
	// Recovery rebuilds the indexes from the log, so their old content is
	// dropped unread: scanning a preallocated (sparse, 10 MiB) index for
	// its last entry faults in every page of it, which is what made an
	// unclean start with thousands of empty partitions take minutes.
	s, err := open(fs, dir, base, cfg, f, recover, indexBytes)
	if err != nil {
		return nil, Cut{}, err
	}
	var cut Cut
	if recover {
		cut, err = s.Recover(limit)
		if err == nil && !active {
			// Rebuilt with room to grow; a rolled segment's indexes
			// hold exactly their entries.
			err = s.resizeIndexes(0)
		}
	} else {
		err = s.loadTail()
		if h, ok := f.(*fdcache.Handle); ok && err == nil {
			// Opened without recovery: a clean shutdown synced it, or
			// it lies below the recovery point, which only a flush
			// advances. Evicting it needs no fdatasync.
			h.AssumeSynced()
		}
	}
	if err != nil {
		s.Close(false)
		return nil, Cut{}, err
	}
	return s, cut, nil
}

// open builds the segment over its open log file f; its indexes get room
// for indexBytes, and with freshIndexes their content is discarded.
func open(fs vfs.FS, dir string, base int64, cfg Config, f vfs.File, freshIndexes bool, indexBytes int) (*Segment, error) {
	s := &Segment{fs: fs, dir: dir, base: base, cfg: cfg, log: f,
		maxTimestamp: format.NoTimestamp, offsetOfMaxTimestamp: base, firstTimestamp: format.NoTimestamp}
	s.nextOffset.Store(base)
	if err := s.openIndexes(indexBytes, freshIndexes); err != nil {
		f.Close()
		return nil, err
	}
	return s, nil
}

// openIndexes opens both indexes with room for maxBytes; fresh discards
// their content. Empty indexes stay lazy (package index): an idle segment
// costs no descriptor and no mapping for them.
func (s *Segment) openIndexes(maxBytes int, fresh bool) error {
	_, idxPath, tidxPath := Paths(s.dir, s.base)
	idx, err := index.OpenOffsetIndexAt(s.fs, idxPath, s.base, maxBytes, fresh)
	if err != nil {
		return err
	}
	tidx, err := index.OpenTimeIndexAt(s.fs, tidxPath, s.base, maxBytes, fresh)
	if err != nil {
		idx.Close(false)
		return err
	}
	s.index, s.timeIndex = idx, tidx
	return nil
}

// loadTail sets size and next offset for a segment that was closed cleanly:
// it trusts the file size and walks batch headers from the last index entry.
func (s *Segment) loadTail() error {
	size, err := s.log.Size()
	if err != nil {
		return err
	}
	s.index.DropPastPosition(size)
	_, pos, _ := s.index.Last()
	next := s.base
	p := int64(pos)
	for p < size {
		h, err := readHead(s.log, p, size)
		if err != nil {
			// A torn tail or a stale index entry: either way the
			// segment needs recovery, so report corruption.
			return fmt.Errorf("%w: segment %s: batch at %d: %v", format.ErrCorrupt, s.log.Name(), p, err)
		}
		next = h.last + 1
		p += int64(h.size)
	}
	s.size.Store(size)
	s.nextOffset.Store(next)
	if ts, off, ok := s.timeIndex.Last(); ok {
		s.maxTimestamp, s.offsetOfMaxTimestamp = ts, off
	}
	if size > 0 {
		if h, err := s.readBatch(0); err == nil {
			s.firstTimestamp = h.MaxTimestamp()
		}
	}
	return nil
}

// readBatch reads the whole batch at pos.
func (s *Segment) readBatch(pos int64) (format.Batch, error) {
	h, err := readHead(s.log, pos, s.size.Load())
	if err != nil {
		return nil, err
	}
	buf := make([]byte, h.size)
	if _, err := s.log.ReadAt(buf, pos); err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	return format.Parse(buf)
}

// BaseOffset is the segment's first possible offset.
func (s *Segment) BaseOffset() int64 { return s.base }

// NextOffset is the offset after the last batch.
func (s *Segment) NextOffset() int64 { return s.nextOffset.Load() }

// Size is the byte size of the appended batches.
func (s *Segment) Size() int64 { return s.size.Load() }

// File is the segment's log file. With a descriptor cache (package
// fdcache) it is an *fdcache.Handle: every call reopens the file if it was
// evicted, and it offers no descriptor (vfs.FdFile); use PinFile for one.
func (s *Segment) File() vfs.File { return s.log }

// PinFile returns the log file with its descriptor held open until release
// is called, for direct descriptor use (the group committer's fsync,
// writeback hints); release(true) says the caller synced it successfully.
// Without a descriptor cache it is the file itself. It fails when an
// evicted descriptor's sync failed (the error is sticky).
func (s *Segment) PinFile() (f vfs.File, release func(synced bool), err error) {
	h, ok := s.log.(*fdcache.Handle)
	if !ok {
		return s.log, func(bool) {}, nil
	}
	f, err = h.Pin()
	if err != nil {
		return nil, nil, err
	}
	p := f.(interface {
		MarkSynced()
		Release()
	})
	return f, func(synced bool) {
		if synced {
			p.MarkSynced()
		}
		p.Release()
	}, nil
}

// Unsynced reports whether the log file may hold data no sync covered. It
// is always true without a descriptor cache, which does not track writes;
// with one, a segment whose evicted descriptor was synced (or that a flush
// synced since its last write) needs no sync.
func (s *Segment) Unsynced() bool {
	h, ok := s.log.(*fdcache.Handle)
	return !ok || h.Unsynced()
}

// MaxTimestamp is the largest batch max timestamp and the offset of the
// batch that had it.
func (s *Segment) MaxTimestamp() (ts, offset int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.maxTimestamp, s.offsetOfMaxTimestamp
}

// FirstTimestamp is the max timestamp of the first batch, or NoTimestamp.
func (s *Segment) FirstTimestamp() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.firstTimestamp
}

// IndexFull reports that an index has no room: the segment must roll.
func (s *Segment) IndexFull() bool { return s.index.IsFull() || s.timeIndex.IsFull() }

// Append writes a batch whose offsets are final at the end of the segment.
// On a write error the segment is cut back to its previous size so a
// partial batch never stays behind.
func (s *Segment) Append(b format.Batch) error {
	pos := s.size.Load()
	if pos+int64(len(b)) > int64(^uint32(0)>>1) {
		return fmt.Errorf("segment: append of %d bytes at %d overflows 2 GiB", len(b), pos)
	}
	if _, err := s.log.WriteAt(b, pos); err != nil {
		if terr := s.log.Truncate(pos); terr != nil {
			return errors.Join(err, fmt.Errorf("segment: cutting back torn append: %w", terr))
		}
		return err
	}
	s.afterAppend(b, pos)
	if end := pos + int64(len(b)); end-s.writebackFrom >= writebackChunk {
		// Only a hint: an error changes nothing that was promised.
		if f, release, err := s.PinFile(); err == nil {
			_ = vfs.StartWriteback(f, s.writebackFrom, end-s.writebackFrom)
			release(false)
		}
		s.writebackFrom = end
	}
	return nil
}

// writebackChunk is how much a segment appends before it asks the kernel
// to start writing it out (vfs.StartWriteback): steady writeback that keeps
// dirty page cache to tens of megabytes, instead of gigabytes flushed in
// one burst once vm.dirty_background_ratio is passed (bench/latency.sh
// shows both; BENCHMARKS.md).
const writebackChunk = 8 << 20

func (s *Segment) afterAppend(b format.Batch, pos int64) {
	ts := b.MaxTimestamp()
	s.mu.Lock()
	if s.firstTimestamp == format.NoTimestamp && pos == 0 {
		s.firstTimestamp = ts
	}
	if ts > s.maxTimestamp {
		s.maxTimestamp, s.offsetOfMaxTimestamp = ts, b.LastOffset()
	}
	maxTS, maxOff := s.maxTimestamp, s.offsetOfMaxTimestamp
	s.bytesSinceIndex += len(b)
	indexNow := s.bytesSinceIndex > s.cfg.IndexIntervalBytes
	if indexNow {
		s.bytesSinceIndex = 0
	}
	s.mu.Unlock()
	if indexNow {
		// An index that is full only makes the log roll; the entry is a
		// hint and the data is already written.
		_ = s.index.Append(b.LastOffset(), int32(pos))
		_ = s.timeIndex.Append(maxTS, maxOff)
	}
	s.nextOffset.Store(b.NextOffset())
	s.size.Store(pos + int64(len(b)))
}

// position finds the file position of the first batch whose last offset is
// >= offset, searching from the index and walking headers, and returns that
// batch's size too. found is false when no such batch exists below maxPos.
func (s *Segment) position(offset, maxPos int64) (pos int64, size int, found bool, err error) {
	_, p := s.index.Lookup(offset)
	pos = int64(p)
	if pos >= maxPos {
		pos = 0
	}
	for pos < maxPos {
		h, err := readHead(s.log, pos, maxPos)
		if err != nil {
			if pos != 0 && format.IsCorrupt(err) {
				// A stale index entry: fall back to a scan from the start.
				pos = 0
				continue
			}
			return 0, 0, false, err
		}
		if h.last >= offset {
			return pos, h.size, true, nil
		}
		pos += int64(h.size)
	}
	return pos, 0, false, nil
}

// Read returns the file range starting at the batch that holds offset (or
// the first batch after it) and running up to maxBytes, never past maxPos
// (the caller's visibility bound, e.g. the high watermark's position; -1
// means the segment size). With minOneBatch the range covers at least the
// whole first batch even when it is larger than maxBytes (KIP-74). The range
// is empty when offset is past the segment's data.
func (s *Segment) Read(offset int64, maxBytes int, maxPos int64, minOneBatch bool) (FileRange, error) {
	size := s.size.Load()
	if maxPos < 0 || maxPos > size {
		maxPos = size
	}
	pos, batchSize, found, err := s.position(offset, maxPos)
	if err != nil || !found {
		return FileRange{File: s.log, Pos: pos}, err
	}
	n := min(int64(maxBytes), maxPos-pos)
	if minOneBatch {
		n = max(n, int64(batchSize))
	}
	return FileRange{File: s.log, Pos: pos, Len: max(n, 0)}, nil
}

// FindOffsetByTimestamp returns the offset of the first record with
// timestamp >= ts at or after startOffset, and ok false when no record in
// this segment qualifies.
func (s *Segment) FindOffsetByTimestamp(ts, startOffset int64) (offset int64, recordTS int64, ok bool, err error) {
	size := s.size.Load()
	from := max(s.timeIndex.Lookup(ts), startOffset)
	pos, _, found, err := s.position(from, size)
	if err != nil || !found {
		return 0, 0, false, err
	}
	_, err = scan(s.log, pos, size, func(_ int64, b format.Batch) error {
		if b.MaxTimestamp() < ts {
			return nil
		}
		if b.IsLogAppendTime() {
			if b.LastOffset() >= startOffset {
				offset, recordTS, ok = max(b.BaseOffset(), startOffset), b.MaxTimestamp(), true
				return errStop
			}
			return nil
		}
		return b.ForEachRecord(func(r format.Record) error {
			o := b.BaseOffset() + int64(r.OffsetDelta)
			if t := b.BaseTimestamp() + r.TimestampDelta; t >= ts && o >= startOffset {
				offset, recordTS, ok = o, t, true
				return errStop
			}
			return nil
		})
	})
	if errors.Is(err, errStop) {
		err = nil
	}
	return offset, recordTS, ok, err
}

var errStop = errors.New("stop")

// ForEachBatch calls fn for each batch from position from to the end, with
// CRC validation. Compaction, dumping and tests use it.
func (s *Segment) ForEachBatch(from int64, fn func(pos int64, b format.Batch) error) error {
	_, err := scan(s.log, from, s.size.Load(), fn)
	return err
}

// Cut is what Recover removed from the end of a segment's log file.
type Cut struct {
	// Pos is where the file was cut: the end of the last valid batch.
	Pos int64
	// Dropped is the number of bytes removed, from Pos to the old end of
	// the file; 0 when recovery cut nothing.
	Dropped int64
	// Err is why the batch at Pos was rejected: io.ErrUnexpectedEOF for a
	// torn tail (the file ends inside the batch), otherwise an error
	// marked format.ErrCorrupt (format.ErrCRCMismatch for a bad CRC).
	Err error
}

// Torn reports a cut at an incomplete last batch, the trace of a write a
// crash interrupted, as opposed to a complete but invalid one.
func (c Cut) Torn() bool { return errors.Is(c.Err, io.ErrUnexpectedEOF) }

// Reason says in words why the cut was made, for logs.
func (c Cut) Reason() string {
	switch {
	case c.Dropped == 0:
		return "nothing cut"
	case c.Torn():
		return "torn or short batch: the file ends inside it"
	case errors.Is(c.Err, format.ErrCRCMismatch):
		return fmt.Sprintf("CRC mismatch (%v)", c.Err)
	default:
		return fmt.Sprintf("invalid batch (%v)", c.Err)
	}
}

// Recover validates every batch from the start, rebuilds both indexes, and
// truncates the file at the first invalid or incomplete batch. A batch is
// invalid when it fails Parse (length, magic, CRC), when its offsets go
// backwards, leave the segment's 32-bit relative range or reach limit, or,
// with ContiguousOffsets, when they do not follow on from the previous
// batch: baseOffset is outside the CRC, so only these checks catch a
// damaged one. It returns what it cut off.
func (s *Segment) Recover(limit int64) (Cut, error) {
	fileSize, err := s.log.Size()
	if err != nil {
		return Cut{}, err
	}
	s.index.Reset()
	s.timeIndex.Reset()
	s.mu.Lock()
	s.maxTimestamp, s.offsetOfMaxTimestamp, s.firstTimestamp, s.bytesSinceIndex = format.NoTimestamp, s.base, format.NoTimestamp, 0
	s.mu.Unlock()
	s.size.Store(0)
	s.nextOffset.Store(s.base)
	prevNext := s.base
	valid, err := scan(s.log, 0, fileSize, func(pos int64, b format.Batch) error {
		switch {
		case b.BaseOffset() < prevNext, b.LastOffset() < b.BaseOffset(),
			s.cfg.ContiguousOffsets && b.BaseOffset() != prevNext:
			return fmt.Errorf("%w: batch at %d has base offset %d after offset %d",
				format.ErrCorrupt, pos, b.BaseOffset(), prevNext)
		case b.LastOffset()-s.base > math.MaxInt32, b.LastOffset() >= limit:
			return fmt.Errorf("%w: batch at %d ends at offset %d, outside segment %d (limit %d)",
				format.ErrCorrupt, pos, b.LastOffset(), s.base, limit)
		}
		prevNext = b.NextOffset()
		s.afterAppend(b, pos)
		return nil
	})
	if err != nil && !format.IsCorrupt(err) && !errors.Is(err, io.ErrUnexpectedEOF) {
		return Cut{}, err
	}
	cut := Cut{Pos: valid}
	if valid < fileSize {
		if terr := s.log.Truncate(valid); terr != nil {
			return Cut{}, terr
		}
		cut.Dropped, cut.Err = fileSize-valid, err
	}
	s.size.Store(valid)
	return cut, nil
}

// TruncateTo cuts the log at the first batch that holds an offset >=
// offset; batches are never split, as in Kafka, so the segment's next offset
// afterwards may be below offset when offset falls inside a batch. It
// returns the bytes removed.
func (s *Segment) TruncateTo(offset int64) (int64, error) {
	size := s.size.Load()
	pos, _, found, err := s.position(offset, size)
	if err != nil {
		return 0, err
	}
	if !found {
		return 0, nil
	}
	if err := s.log.Truncate(pos); err != nil {
		return 0, err
	}
	s.index.DropPastPosition(pos)
	s.timeIndex.TruncateTo(offset)
	s.size.Store(pos)
	// A truncation must be durable before new data reuses the offsets:
	// otherwise a crash could bring the old tail back under new appends.
	if err := s.Flush(); err != nil {
		return 0, err
	}
	// Recompute the next offset and timestamps from what remains.
	next := s.base
	s.mu.Lock()
	s.maxTimestamp, s.offsetOfMaxTimestamp = format.NoTimestamp, s.base
	s.mu.Unlock()
	err = s.ForEachBatch(0, func(_ int64, b format.Batch) error {
		next = b.NextOffset()
		s.mu.Lock()
		if b.MaxTimestamp() > s.maxTimestamp {
			s.maxTimestamp, s.offsetOfMaxTimestamp = b.MaxTimestamp(), b.LastOffset()
		}
		s.mu.Unlock()
		return nil
	})
	if pos == 0 {
		s.mu.Lock()
		s.firstTimestamp = format.NoTimestamp
		s.mu.Unlock()
	}
	s.nextOffset.Store(next)
	return size - pos, err
}

// Flush makes the segment's log and indexes durable.
func (s *Segment) Flush() error {
	if err := s.log.Sync(); err != nil {
		return err
	}
	if err := s.index.Flush(); err != nil {
		return err
	}
	return s.timeIndex.Flush()
}

// OnRoll is called when the segment stops being the active one: the indexes
// shrink to their entries and take no more.
func (s *Segment) OnRoll() error {
	if ts, off := s.MaxTimestamp(); ts != format.NoTimestamp {
		_ = s.timeIndex.Append(ts, off)
	}
	return s.resizeIndexes(0)
}

// Reactivate gives a rolled segment room in its indexes again (after a
// truncation made it the active segment).
func (s *Segment) Reactivate(cfg Config) error {
	s.cfg = cfg
	return s.resizeIndexes(cfg.MaxIndexBytes)
}

func (s *Segment) resizeIndexes(maxBytes int) error {
	if err := s.index.Close(true); err != nil {
		return err
	}
	if err := s.timeIndex.Close(true); err != nil {
		return err
	}
	return s.openIndexes(maxBytes, false)
}

// Close closes the files; with trim the indexes shrink to their entries (a
// clean shutdown).
func (s *Segment) Close(trim bool) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	return errors.Join(s.index.Close(trim), s.timeIndex.Close(trim), s.log.Close())
}

// MarkDeleted renames the segment's files with the .deleted suffix and
// syncs the directory, so that a crash before Delete still drops them. Open
// handles keep working, which lets in-flight zero-copy reads finish.
func (s *Segment) MarkDeleted() error {
	logPath, idxPath, tidxPath := Paths(s.dir, s.base)
	// The indexes rename their own files: one that is unmapped (package
	// index, "Mappings") maps it again from its new name.
	for _, rename := range []func() error{
		func() error { return s.fs.Rename(logPath, logPath+format.DeletedSuffix) },
		func() error { return s.index.Rename(idxPath + format.DeletedSuffix) },
		func() error { return s.timeIndex.Rename(tidxPath + format.DeletedSuffix) },
	} {
		if err := rename(); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	s.suffix = format.DeletedSuffix
	return s.fs.SyncDir(s.dir)
}

// Delete closes and removes the segment's files.
func (s *Segment) Delete() error {
	err := s.Close(false)
	for _, p := range AllPaths(s.dir, s.base) {
		if rerr := s.fs.Remove(p + s.suffix); rerr != nil && !errors.Is(rerr, os.ErrNotExist) {
			err = errors.Join(err, rerr)
		}
	}
	return err
}
