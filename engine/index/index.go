package index

import (
	"errors"
	"io/fs"
	"os"
	"sync"

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
type file struct {
	mu     sync.RWMutex
	region *region
	// reopen names the file for lazy materialization and for trimming a
	// mapping whose descriptor was closed; nil when opened from a File.
	reopen    *opener
	maxBytes  int
	entrySize int
	entries   int
	closed    bool
}

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
		return &file{reopen: o, maxBytes: maxBytes, entrySize: entrySize}, nil
	}
	f, err := o.open(os.O_RDWR)
	if err != nil {
		return nil, err
	}
	return openRegionFile(f, o, maxBytes, entrySize, validPrefix)
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
	return nil
}

// entryBytes is the bytes of the entries (nil for a lazy index). The caller
// holds mu.
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
	if f.region == nil {
		return f.maxBytes
	}
	return f.region.capacity()
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

// Flush makes the entries durable.
func (f *file) Flush() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed || f.region == nil {
		return nil
	}
	return f.region.flush(f.entries * f.entrySize)
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
	if f.region == nil {
		return nil // the file is empty on disk already
	}
	return f.region.close(f.entries*f.entrySize, trim)
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
	x.mu.Lock()
	defer x.mu.Unlock()
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
	x.mu.RLock()
	defer x.mu.RUnlock()
	e := offsetEntries(x.entryBytes())
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
	x.mu.RLock()
	defer x.mu.RUnlock()
	if x.entries == 0 {
		return 0, 0, false
	}
	r, p := offsetEntries(x.entryBytes()).at(x.entries - 1)
	return x.base + int64(r), p, true
}

// TruncateTo drops entries whose offset is >= offset.
func (x *OffsetIndex) TruncateTo(offset int64) {
	x.mu.Lock()
	defer x.mu.Unlock()
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
	x.mu.Lock()
	defer x.mu.Unlock()
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
	x.mu.Lock()
	defer x.mu.Unlock()
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
	x.mu.RLock()
	defer x.mu.RUnlock()
	e := timeEntries(x.entryBytes())
	i := e.floor(ts)
	if i < 0 {
		return x.base
	}
	_, r := e.at(i)
	return x.base + int64(r)
}

// Last returns the largest indexed timestamp and its offset.
func (x *TimeIndex) Last() (ts, offset int64, ok bool) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	if x.entries == 0 {
		return 0, 0, false
	}
	t, r := timeEntries(x.entryBytes()).at(x.entries - 1)
	return t, x.base + int64(r), true
}

// TruncateTo drops entries whose offset is >= offset.
func (x *TimeIndex) TruncateTo(offset int64) {
	x.mu.Lock()
	defer x.mu.Unlock()
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
