package index

import (
	"container/list"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"

	"github.com/rillmq/rill/engine/format"
	"github.com/rillmq/rill/engine/vfs"
)

// ErrFull means the index has no room for another entry; the segment must
// roll.
var ErrFull = errors.New("index: full")

// file is what the offset and time indexes share: a region holding
// fixed-size entries.
//
// An index opened by path (OpenOffsetIndexAt, OpenTimeIndexAt) whose file is
// empty stays lazy: region is nil, no descriptor is open and nothing is
// mapped until the first entry is appended. A broker holds mostly empty
// indexes when it has many idle partitions, and each mapping costs a
// descriptor at open, a 10 MiB sparse preallocation and a VMA (Linux allows
// 65,530 per process by default).
//
// A mapped index opened by path on an FS that carries a Cache may be
// evicted: region is nil again and evicted is set until the next use maps
// the file again (ensureMapped). Every user of the mapping holds mu (for
// reading at least) for as long as it touches the bytes, and no slice of
// them leaves the methods, so unmapping under mu (for writing) can never
// pull the pages from under a reader.
type file struct {
	mu     sync.RWMutex
	region *region
	// reopen names the file for lazy materialization, for trimming a
	// mapping whose descriptor was closed and for mapping an evicted
	// index again; nil when opened from a File.
	reopen    *opener
	maxBytes  int
	entrySize int
	entries   int
	closed    bool

	// cache bounds the mappings (nil: a mapping stays until Close).
	cache *Cache
	// evicted: the cache unmapped the region; mapBytes was its size and
	// id the file's identity, checked before mapping it again.
	evicted  bool
	mapBytes int
	id       fileID
	// gone: the file was removed or replaced while evicted (a segment the
	// cleaner swapped out): the index forgot its entries and takes no new
	// ones. Its segment reads from the segment start, which is correct
	// (an index is a hint) and lasts only until the segment is closed.
	gone bool
	// unsynced: the index was evicted with writes no sync covered; the
	// next Flush opens the file and fsyncs it (a mapping made again
	// covers them with its msync).
	unsynced bool
	// err is sticky: mapping an evicted index again failed where its
	// entries had to change (a truncation), so what the file holds is no
	// longer known to be right, or syncing an evicted index failed (a
	// second fsync could succeed without the data); Flush reports it.
	err error

	// referenced is set on each use (the cache's CLOCK bit). elem is
	// guarded by cache.mu.
	referenced atomic.Bool
	elem       *list.Element
}

// errGone is returned by an append to an index whose file went away while
// it was evicted.
var errGone = errors.New("index: file removed or replaced while unmapped")

// opener reopens an index file by path.
type opener struct {
	fs   vfs.FS
	path string
}

func (o *opener) open(flag int) (vfs.File, error) {
	return o.fs.OpenFile(o.path, flag, 0o644)
}

func openFile(f vfs.File, maxBytes, entrySize int, validPrefix func([]byte) int) (*file, error) {
	return openRegionFile(f, nil, maxBytes, entrySize, validPrefix)
}

// openFileAt opens the index at path. With fresh its content is discarded
// (the caller rebuilds it, as recovery does). An empty or missing file is
// created empty and left lazy, without reading or mapping anything.
func openFileAt(fsys vfs.FS, path string, fresh bool, maxBytes, entrySize int, validPrefix func([]byte) int) (*file, error) {
	maxBytes = maxBytes / entrySize * entrySize
	o := &opener{fs: fsys, path: path}
	cache := cacheOf(fsys)
	lazy := fresh
	if !fresh {
		st, err := fsys.Stat(path)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			lazy = true
		case err != nil:
			return nil, err
		default:
			lazy = st.Size() == 0
		}
	}
	if lazy {
		flag := os.O_RDWR | os.O_CREATE
		if fresh {
			flag |= os.O_TRUNC
		}
		f, err := o.open(flag)
		if err != nil {
			return nil, err
		}
		if err := f.Close(); err != nil {
			return nil, err
		}
		return &file{reopen: o, maxBytes: maxBytes, entrySize: entrySize, cache: cache}, nil
	}
	f, err := o.open(os.O_RDWR)
	if err != nil {
		return nil, err
	}
	x, err := openRegionFile(f, o, maxBytes, entrySize, validPrefix)
	if err != nil {
		return nil, err
	}
	x.cache = cache
	x.mu.Lock()
	x.listMapped()
	x.mu.Unlock()
	cache.evictOverCap()
	return x, nil
}

func openRegionFile(f vfs.File, o *opener, maxBytes, entrySize int, validPrefix func([]byte) int) (*file, error) {
	maxBytes = maxBytes / entrySize * entrySize
	r, used, err := openRegion(f, o, maxBytes)
	if err != nil {
		f.Close()
		return nil, err
	}
	if r.mapped && used == r.capacity() {
		// A file still preallocated (the broker did not shut down
		// cleanly): the data ends at the last nonzero byte.
		// Round up: an entry may itself end in zero bytes.
		used = (lastNonZero(r.bytes(used)) + entrySize - 1) / entrySize * entrySize
	}
	entries := validPrefix(r.bytes(used - used%entrySize))
	r.truncateTo(entries*entrySize, used)
	return &file{region: r, reopen: o, maxBytes: maxBytes, entrySize: entrySize, entries: entries}, nil
}

// listMapped puts a region just mapped in the cache, when it can be
// mapped again by path. The caller holds mu for writing and calls
// cache.evictOverCap once it let go of mu.
func (f *file) listMapped() {
	if f.region != nil && f.region.mapped && f.region.file == nil && f.reopen != nil {
		f.cache.list(f)
	}
}

// materialize opens and maps a lazy index for its first entry. The caller
// holds mu for writing.
func (f *file) materialize() error {
	h, err := f.reopen.open(os.O_RDWR | os.O_CREATE)
	if err != nil {
		return err
	}
	r, _, err := openRegion(h, f.reopen, f.maxBytes)
	if err != nil {
		h.Close()
		return err
	}
	f.region = r
	f.listMapped()
	return nil
}

// evict unmaps the region for the cache, unless the index is closed, not
// mapped, or in use (locked by anyone: the evictor never waits for an
// index's readers, nor for a Flush's fsync). Written pages stay in the
// page cache; unsynced records that the next Flush must fsync the file.
func (f *file) evict() {
	if !f.mu.TryLock() {
		return
	}
	defer f.mu.Unlock()
	r := f.region
	if f.closed || r == nil || !r.mapped || r.file != nil {
		return
	}
	size, id := len(r.buf), r.id
	dirty, err := r.unmap()
	if err != nil {
		return // munmap fails only on bad arguments; keep the mapping
	}
	f.unsynced = f.unsynced || dirty
	f.region, f.evicted, f.mapBytes, f.id = nil, true, size, id
	f.cache.unlist(f)
	f.cache.evictions.Add(1)
}

// ensureMapped maps an evicted index again. A file that is missing or is
// another file now (removed, or replaced by a cleaned segment's) makes the
// index gone. The caller holds mu for writing and calls
// cache.evictOverCap once it let go of mu.
func (f *file) ensureMapped() error {
	if !f.evicted {
		return nil
	}
	if f.gone {
		return errGone
	}
	if f.err != nil {
		return f.err
	}
	h, err := f.reopen.open(os.O_RDWR)
	if errors.Is(err, fs.ErrNotExist) {
		f.lose()
		return errGone
	}
	if err != nil {
		return fmt.Errorf("index: map %s again: %w", f.reopen.path, err)
	}
	if id, ok := identify(h); !ok || id != f.id {
		h.Close()
		f.lose()
		return errGone
	}
	r, _, err := openRegion(h, f.reopen, f.mapBytes)
	if err != nil {
		h.Close()
		return fmt.Errorf("index: map %s again: %w", f.reopen.path, err)
	}
	if !r.mapped || r.file != nil {
		// Cannot happen on the FS that mapped it before; a heap region
		// would hold a descriptor, so give it up.
		r.close(0, false)
		return fmt.Errorf("index: map %s again: not mappable", f.reopen.path)
	}
	f.region, f.evicted = r, false
	f.listMapped()
	f.cache.remaps.Add(1)
	return nil
}

// lose forgets the entries of an index whose file is gone.
func (f *file) lose() { f.gone, f.entries = true, 0 }

// identify returns a file's identity; ok is false without a descriptor.
func identify(h vfs.File) (fileID, bool) {
	fdf, ok := h.(vfs.FdFile)
	if !ok {
		return fileID{}, false
	}
	var st unix.Stat_t
	if err := unix.Fstat(int(fdf.Fd()), &st); err != nil {
		return fileID{}, false
	}
	return fileID{dev: uint64(st.Dev), ino: st.Ino}, true
}

// lockWrite locks f for writing with its entries mapped (unless mapping
// them again failed: then err says why, and a truncation must not trust
// the file any longer). unlockWrite follows.
func (f *file) lockWrite() error {
	f.mu.Lock()
	if f.cache != nil {
		f.referenced.Store(true)
	}
	return f.ensureMapped()
}

func (f *file) unlockWrite() {
	f.mu.Unlock()
	f.cache.evictOverCap()
}

// lockRead locks f with its entries readable and returns them (nil when
// there are none, or when mapping an evicted index failed: the index then
// gives no hint). excl tells unlockRead how it was locked: for reading
// when mapped, for writing when it had to be mapped again.
func (f *file) lockRead() (entries []byte, excl bool) {
	f.mu.RLock()
	if !f.evicted {
		if f.cache != nil {
			f.referenced.Store(true)
		}
		return f.entryBytes(), false
	}
	f.mu.RUnlock()
	if err := f.lockWrite(); err != nil {
		return nil, true
	}
	return f.entryBytes(), true
}

func (f *file) unlockRead(excl bool) {
	if excl {
		f.unlockWrite()
	} else {
		f.mu.RUnlock()
	}
}

// failTruncation records that a truncation could not reach the file: the
// entries are dropped and the error sticks (Flush reports it).
func (f *file) failTruncation(err error) {
	if !f.gone && f.err == nil {
		f.err = err
	}
	f.entries = 0
}

// entryBytes is the bytes of the entries (nil for a lazy or evicted
// index). The caller holds mu and must not let the slice outlive it.
func (f *file) entryBytes() []byte {
	if f.region == nil {
		return nil
	}
	return f.region.bytes(f.entries * f.entrySize)
}

// cut drops entries past n. The caller holds mu for writing.
func (f *file) cut(n int) {
	if f.region != nil {
		f.region.truncateTo(n*f.entrySize, f.entries*f.entrySize)
	}
	f.entries = n
}

// capacity is the most bytes the index can hold. The caller holds mu.
func (f *file) capacity() int {
	switch {
	case f.region != nil:
		return f.region.capacity()
	case f.evicted:
		return f.mapBytes
	}
	return f.maxBytes
}

// lastNonZero returns the length of b without its trailing zero bytes.
func lastNonZero(b []byte) int {
	n := len(b)
	for n >= 8 && b[n-1]|b[n-2]|b[n-3]|b[n-4]|b[n-5]|b[n-6]|b[n-7]|b[n-8] == 0 {
		n -= 8
	}
	for n > 0 && b[n-1] == 0 {
		n--
	}
	return n
}

// append adds entry. The caller holds mu for writing, with the entries
// mapped (lockWrite succeeded).
func (f *file) append(entry []byte) error {
	off := f.entries * f.entrySize
	if off+f.entrySize > f.capacity() {
		return ErrFull
	}
	if f.region == nil {
		if err := f.materialize(); err != nil {
			return err
		}
	}
	f.region.write(off, entry)
	f.entries++
	return nil
}

func (f *file) isFull() bool {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return (f.entries+1)*f.entrySize > f.capacity()
}

// Len returns the number of entries.
func (f *file) Len() int {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.entries
}

// SizeBytes is the number of bytes the entries occupy.
func (f *file) SizeBytes() int {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.entries * f.entrySize
}

// Flush makes the entries durable. A mapped index msyncs its mapping
// (which covers what an earlier mapping of the same file wrote); an
// evicted one with unsynced writes opens its file and fsyncs it. A failed
// sync of an evicted index sticks: Flush keeps reporting it.
func (f *file) Flush() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return f.err
	}
	if f.closed {
		return nil
	}
	if f.region == nil {
		if f.evicted && f.unsynced {
			return f.syncEvicted()
		}
		return nil
	}
	if err := f.region.flush(f.entries * f.entrySize); err != nil {
		return err
	}
	f.unsynced = false
	return nil
}

// syncEvicted fsyncs the file of an evicted index. A file that went away
// or is another one now holds nothing of this index to sync. The caller
// holds mu.
func (f *file) syncEvicted() error {
	h, err := f.reopen.open(os.O_RDWR)
	if errors.Is(err, fs.ErrNotExist) {
		f.unsynced = false
		return nil
	}
	if err != nil {
		return fmt.Errorf("index: open %s to sync it: %w", f.reopen.path, err)
	}
	defer h.Close()
	if id, ok := identify(h); !ok || id != f.id {
		f.unsynced = false
		return nil
	}
	if err := h.Sync(); err != nil {
		f.err = fmt.Errorf("index: sync %s: %w", f.reopen.path, err)
		return f.err
	}
	f.unsynced = false
	return nil
}

// Rename renames the index file to newPath on the FS it was opened on;
// an evicted index maps it from there. Only for indexes opened by path.
func (f *file) Rename(newPath string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.reopen == nil {
		return errors.New("index: Rename of an index not opened by path")
	}
	if err := f.reopen.fs.Rename(f.reopen.path, newPath); err != nil {
		return err
	}
	f.reopen.path = newPath
	return nil
}

// Close releases the mapping. With trim, the file shrinks to its entries
// (done when a segment rolls or the broker shuts down cleanly).
func (f *file) Close(trim bool) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return nil
	}
	f.closed = true
	f.cache.unlist(f)
	if f.region == nil {
		if f.evicted && trim && !f.gone {
			return f.trimEvicted()
		}
		return nil // the file is empty on disk already, or not ours
	}
	return f.region.close(f.entries*f.entrySize, trim)
}

// trimEvicted shrinks an evicted index's file to its entries, unless the
// file went away or is another one now. The caller holds mu.
func (f *file) trimEvicted() error {
	h, err := f.reopen.open(os.O_RDWR)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if id, ok := identify(h); !ok || id != f.id {
		return h.Close()
	}
	return errors.Join(h.Truncate(int64(f.entries*f.entrySize)), h.Close())
}

// OffsetIndex maps relative offsets to log file positions.
type OffsetIndex struct {
	*file
	base int64
}

// OpenOffsetIndex opens (or takes over) f as the offset index of the segment
// starting at base, with room for maxBytes.
func OpenOffsetIndex(f vfs.File, base int64, maxBytes int) (*OffsetIndex, error) {
	x, err := openFile(f, maxBytes, format.OffsetEntrySize, validOffsetPrefix)
	if err != nil {
		return nil, err
	}
	return &OffsetIndex{file: x, base: base}, nil
}

// OpenOffsetIndexAt opens the offset index at path for the segment at base,
// with room for maxBytes. With fresh the old content is discarded; an empty
// index stays lazy (no descriptor, no mapping) until its first entry.
func OpenOffsetIndexAt(fsys vfs.FS, path string, base int64, maxBytes int, fresh bool) (*OffsetIndex, error) {
	x, err := openFileAt(fsys, path, fresh, maxBytes, format.OffsetEntrySize, validOffsetPrefix)
	if err != nil {
		return nil, err
	}
	return &OffsetIndex{file: x, base: base}, nil
}

// Append adds an entry for offset at position. Entries must increase.
func (x *OffsetIndex) Append(offset int64, position int32) error {
	err := x.lockWrite()
	defer x.unlockWrite()
	if err != nil {
		return err
	}
	var e [format.OffsetEntrySize]byte
	rel := int32(offset - x.base)
	if x.entries > 0 {
		lastRel, lastPos := offsetEntries(x.entryBytes()).at(x.entries - 1)
		if rel <= lastRel || position <= lastPos {
			return nil // never write a non-increasing entry
		}
	}
	format.PutOffsetEntry(e[:], rel, position)
	return x.append(e[:])
}

// Lookup returns the largest indexed (offset, position) with offset <=
// target, or (base, 0) when there is none.
func (x *OffsetIndex) Lookup(target int64) (int64, int32) {
	b, excl := x.lockRead()
	defer x.unlockRead(excl)
	e := offsetEntries(b)
	rel := target - x.base
	if rel < 0 {
		return x.base, 0
	}
	if rel > int64(^uint32(0)>>1) {
		rel = int64(^uint32(0) >> 1)
	}
	i := e.floor(int32(rel))
	if i < 0 {
		return x.base, 0
	}
	r, p := e.at(i)
	return x.base + int64(r), p
}

// Last returns the last entry, ok false when empty.
func (x *OffsetIndex) Last() (offset int64, position int32, ok bool) {
	b, excl := x.lockRead()
	defer x.unlockRead(excl)
	e := offsetEntries(b)
	if e.len() == 0 {
		return 0, 0, false
	}
	r, p := e.at(e.len() - 1)
	return x.base + int64(r), p, true
}

// TruncateTo drops entries whose offset is >= offset.
func (x *OffsetIndex) TruncateTo(offset int64) {
	err := x.lockWrite()
	defer x.unlockWrite()
	if err != nil {
		x.failTruncation(err)
		return
	}
	e := offsetEntries(x.entryBytes())
	n := 0
	if rel := offset - x.base; rel > 0 {
		n = e.floor(int32(min(rel-1, int64(^uint32(0)>>1)))) + 1
	}
	x.cut(n)
}

// DropPastPosition drops entries pointing at or past pos (used when the log
// file turns out shorter than the index believes).
func (x *OffsetIndex) DropPastPosition(pos int64) {
	err := x.lockWrite()
	defer x.unlockWrite()
	if err != nil {
		x.failTruncation(err)
		return
	}
	e := offsetEntries(x.entryBytes())
	n := x.entries
	for n > 0 {
		if _, p := e.at(n - 1); int64(p) < pos {
			break
		}
		n--
	}
	x.cut(n)
}

// Reset drops every entry.
func (x *OffsetIndex) Reset() { x.TruncateTo(x.base) }

// IsFull reports whether no entry fits.
func (x *OffsetIndex) IsFull() bool { return x.isFull() }

// TimeIndex maps timestamps to relative offsets.
type TimeIndex struct {
	*file
	base int64
}

// OpenTimeIndex opens f as the time index of the segment at base.
func OpenTimeIndex(f vfs.File, base int64, maxBytes int) (*TimeIndex, error) {
	x, err := openFile(f, maxBytes, format.TimeEntrySize, validTimePrefix)
	if err != nil {
		return nil, err
	}
	return &TimeIndex{file: x, base: base}, nil
}

// OpenTimeIndexAt is OpenOffsetIndexAt for the time index.
func OpenTimeIndexAt(fsys vfs.FS, path string, base int64, maxBytes int, fresh bool) (*TimeIndex, error) {
	x, err := openFileAt(fsys, path, fresh, maxBytes, format.TimeEntrySize, validTimePrefix)
	if err != nil {
		return nil, err
	}
	return &TimeIndex{file: x, base: base}, nil
}

// Append adds (ts, offset) when ts is larger than the last entry's.
func (x *TimeIndex) Append(ts, offset int64) error {
	err := x.lockWrite()
	defer x.unlockWrite()
	if err != nil {
		return err
	}
	rel := int32(offset - x.base)
	if x.entries > 0 {
		lastTS, lastRel := timeEntries(x.entryBytes()).at(x.entries - 1)
		if ts <= lastTS || rel < lastRel {
			return nil
		}
	}
	var e [format.TimeEntrySize]byte
	format.PutTimeEntry(e[:], ts, rel)
	return x.append(e[:])
}

// Lookup returns the offset of the last entry with timestamp <= ts, or base.
func (x *TimeIndex) Lookup(ts int64) int64 {
	b, excl := x.lockRead()
	defer x.unlockRead(excl)
	e := timeEntries(b)
	i := e.floor(ts)
	if i < 0 {
		return x.base
	}
	_, r := e.at(i)
	return x.base + int64(r)
}

// Last returns the largest indexed timestamp and its offset.
func (x *TimeIndex) Last() (ts, offset int64, ok bool) {
	b, excl := x.lockRead()
	defer x.unlockRead(excl)
	e := timeEntries(b)
	if e.len() == 0 {
		return 0, 0, false
	}
	t, r := e.at(e.len() - 1)
	return t, x.base + int64(r), true
}

// TruncateTo drops entries whose offset is >= offset.
func (x *TimeIndex) TruncateTo(offset int64) {
	err := x.lockWrite()
	defer x.unlockWrite()
	if err != nil {
		x.failTruncation(err)
		return
	}
	e := timeEntries(x.entryBytes())
	n := x.entries
	for n > 0 {
		if _, r := e.at(n - 1); x.base+int64(r) < offset {
			break
		}
		n--
	}
	x.cut(n)
}

// Reset drops every entry.
func (x *TimeIndex) Reset() { x.TruncateTo(x.base) }

// IsFull reports whether no entry fits.
func (x *TimeIndex) IsFull() bool { return x.isFull() }
