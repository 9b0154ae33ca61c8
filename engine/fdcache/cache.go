package fdcache

import (
	"container/list"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"

	"github.com/rillmq/rill/engine/vfs"
)

// ErrClosed is returned by operations on a closed Handle.
var ErrClosed = errors.New("fdcache: file closed")

// FS is a vfs.FS whose covered files are *Handle, sharing one descriptor
// budget.
type FS struct {
	vfs.FS
	cache  *cache
	covers func(name string) bool
}

var _ vfs.FS = (*FS)(nil)

// New wraps fs: files for which covers(name) is true are opened as handles
// of a cache that keeps at most limit descriptors open (at least 1).
func New(fs vfs.FS, limit int, covers func(name string) bool) *FS {
	return &FS{FS: fs, covers: covers, cache: &cache{max: max(limit, 1), lru: list.New(), byPath: map[string]*Handle{}}}
}

// Unwrap returns the FS the cache wraps (for the layers below that look
// for their own wrapper, such as package index's mapping cache).
func (f *FS) Unwrap() vfs.FS { return f.FS }

// Stats is what the cache holds now.
type Stats struct {
	Open      int    // descriptors open
	Max       int    // the cap
	Evictions uint64 // descriptors closed to stay under the cap
	Reopens   uint64 // descriptors opened again after an eviction
}

// Stats reports the cache's counters.
func (f *FS) Stats() Stats {
	c := f.cache
	c.mu.Lock()
	defer c.mu.Unlock()
	return Stats{Open: c.open, Max: c.max, Evictions: c.evictions.Load(), Reopens: c.reopens.Load()}
}

// OpenFile opens name; a covered file comes back as a *Handle holding the
// descriptor just opened (so a missing file fails here, as without the
// cache).
func (f *FS) OpenFile(name string, flag int, perm os.FileMode) (vfs.File, error) {
	if !f.covers(name) {
		return f.FS.OpenFile(name, flag, perm)
	}
	file, err := f.FS.OpenFile(name, flag, perm)
	if err != nil {
		return nil, err
	}
	h := &Handle{c: f.cache, fs: f.FS, flag: flag &^ (os.O_CREATE | os.O_TRUNC | os.O_EXCL), perm: perm}
	h.file, h.gen = file, 1
	h.referenced.Store(true)
	// What this process did not write may still be unsynced (recovery
	// reads the page cache a crash left): the first Sync must reach the
	// disk.
	h.writes.Store(1)
	c := f.cache
	c.mu.Lock()
	h.path = name
	c.byPath[name] = h
	c.listLocked(h, 1)
	c.mu.Unlock()
	c.evictOverCap()
	return h, nil
}

// Rename renames a file; an open handle of oldname follows it. A handle
// of newname, whose file the rename replaces (the cleaner swapping a
// segment), is detached first: see detach.
func (f *FS) Rename(oldname, newname string) error {
	c := f.cache
	c.mu.Lock()
	h, replaced := c.byPath[oldname], c.byPath[newname]
	c.mu.Unlock()
	if replaced != nil && replaced != h {
		if err := replaced.detach(); err != nil {
			return err
		}
	}
	if h == nil {
		return f.FS.Rename(oldname, newname)
	}
	// Under the handle's lock no reopen can use the old name after the
	// file has left it.
	h.mu.Lock()
	defer h.mu.Unlock()
	if err := f.FS.Rename(oldname, newname); err != nil {
		return err
	}
	c.mu.Lock()
	if c.byPath[oldname] == h {
		delete(c.byPath, oldname)
	}
	h.path = newname
	c.byPath[newname] = h
	c.mu.Unlock()
	return nil
}

// Remove removes a file; a handle still open on it is detached first.
func (f *FS) Remove(name string) error {
	c := f.cache
	c.mu.Lock()
	h := c.byPath[name]
	c.mu.Unlock()
	if h != nil {
		if err := h.detach(); err != nil {
			return err
		}
	}
	return f.FS.Remove(name)
}

// cache is the descriptor budget: an LRU list (with a referenced bit, the
// CLOCK approximation, so that a hit needs no global lock) of the handles
// that have a descriptor open.
type cache struct {
	max       int
	evictions atomic.Uint64
	reopens   atomic.Uint64
	// over is set while open > max, so releases know to evict without
	// taking mu.
	over atomic.Bool

	mu     sync.Mutex
	open   int
	lru    *list.List // of *Handle, most recent at the front
	byPath map[string]*Handle
}

// listLocked records that h opened descriptor generation gen. The caller
// holds mu.
func (c *cache) listLocked(h *Handle, gen uint64) {
	switch {
	case h.elem == nil:
		h.elem = c.lru.PushFront(h)
		c.open++
	case h.listedGen != gen:
		// Reopened while an eviction of the previous descriptor is
		// still to be recorded: that eviction's decrement and this
		// open's increment cancel (unlistLocked sees the new gen).
		c.lru.MoveToFront(h.elem)
	}
	h.listedGen = gen
	c.over.Store(c.open > c.max)
}

// unlistLocked records that h closed descriptor generation gen. The caller
// holds mu.
func (c *cache) unlistLocked(h *Handle, gen uint64) {
	if h.elem != nil && h.listedGen == gen {
		c.lru.Remove(h.elem)
		h.elem = nil
		c.open--
	}
	c.over.Store(c.open > c.max)
}

// evictOverCap closes least recently used, unpinned descriptors until at
// most max are open (or none can be closed). The choice is made under mu;
// the closing happens outside it.
func (c *cache) evictOverCap() {
	if !c.over.Load() {
		return
	}
	c.mu.Lock()
	excess := c.open - c.max
	var victims []*Handle
	// Two sweeps clear every referenced bit, so a victim is found if one
	// is unpinned.
	for e, n := c.lru.Back(), 2*c.lru.Len(); e != nil && len(victims) < excess && n > 0; n-- {
		h := e.Value.(*Handle)
		prev := e.Prev()
		switch {
		case h.pins.Load() > 0:
		case h.referenced.Swap(false):
			c.lru.MoveToFront(e) // second chance
		default:
			victims = append(victims, h)
		}
		e = prev
		if e == nil {
			e = c.lru.Back()
		}
	}
	c.mu.Unlock()
	for _, h := range victims {
		h.evict()
	}
}

// Handle is a file whose descriptor the cache may close while it is idle
// and reopens on demand. It implements vfs.File; it is not a vfs.FdFile
// (its descriptor may change): use Pin for a descriptor.
type Handle struct {
	c    *cache
	fs   vfs.FS
	flag int
	perm os.FileMode

	pins       atomic.Int32
	referenced atomic.Bool
	// writes counts writes and truncations; synced is the count the last
	// successful Sync covered. They differ while data is unsynced.
	writes, synced atomic.Uint64

	mu     sync.Mutex
	file   vfs.File // nil while evicted
	gen    uint64   // bumped at every open of a descriptor
	closed bool
	// err is a failed eviction sync: sticky, reported by every Sync.
	err error
	// detached: the name leads elsewhere now; the descriptor stays pinned.
	detached bool

	// Guarded by cache.mu.
	path      string
	elem      *list.Element
	listedGen uint64
}

var _ vfs.File = (*Handle)(nil)

// acquire returns the open file, pinned; release must follow.
func (h *Handle) acquire() (vfs.File, error) {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return nil, ErrClosed
	}
	h.pins.Add(1)
	h.referenced.Store(true)
	if h.file != nil {
		f := h.file
		h.mu.Unlock()
		return f, nil
	}
	h.c.mu.Lock()
	path := h.path
	h.c.mu.Unlock()
	f, err := h.fs.OpenFile(path, h.flag, h.perm)
	if err != nil {
		h.pins.Add(-1)
		h.mu.Unlock()
		return nil, fmt.Errorf("fdcache: reopen: %w", err)
	}
	h.file = f
	h.gen++
	gen := h.gen
	h.c.mu.Lock()
	h.c.listLocked(h, gen)
	h.c.mu.Unlock()
	h.mu.Unlock()
	h.c.reopens.Add(1)
	h.c.evictOverCap()
	return f, nil
}

// detach is for a handle whose name is about to lead to another file (or
// none): its readers must keep the file they had (a replaced segment is
// read until file.delete.delay.ms passes, as without the cache), and a
// reopen by name would give them the new one. So the handle opens its
// descriptor if it was evicted and keeps it pinned until Close, and the
// name no longer maps to it.
func (h *Handle) detach() error {
	h.mu.Lock()
	done := h.detached || h.closed
	h.mu.Unlock()
	if done {
		return nil
	}
	if _, err := h.acquire(); err != nil { // the pin is never released
		return err
	}
	h.mu.Lock()
	h.detached = true
	h.mu.Unlock()
	h.c.mu.Lock()
	if h.c.byPath[h.path] == h {
		delete(h.c.byPath, h.path)
	}
	h.c.mu.Unlock()
	return nil
}

func (h *Handle) release() {
	h.pins.Add(-1)
	h.c.evictOverCap()
}

// evict closes the descriptor unless it is pinned, syncing unsynced writes
// first (see the package doc).
func (h *Handle) evict() {
	h.mu.Lock()
	if h.file == nil || h.closed || h.pins.Load() > 0 || h.err != nil {
		h.mu.Unlock()
		return
	}
	if w := h.writes.Load(); w != h.synced.Load() {
		if err := h.file.Sync(); err != nil {
			h.err = fmt.Errorf("fdcache: sync before closing an idle descriptor: %w", err)
			h.mu.Unlock()
			return
		}
		h.markSynced(w)
	}
	err := h.file.Close()
	h.file = nil
	gen := h.gen
	h.c.mu.Lock()
	h.c.unlistLocked(h, gen)
	h.c.mu.Unlock()
	h.mu.Unlock()
	if err == nil {
		h.c.evictions.Add(1)
	}
}

// markSynced records that writes up to count w are durable.
func (h *Handle) markSynced(w uint64) {
	for {
		s := h.synced.Load()
		if s >= w || h.synced.CompareAndSwap(s, w) {
			return
		}
	}
}

// ReadAt implements io.ReaderAt.
func (h *Handle) ReadAt(p []byte, off int64) (int, error) {
	f, err := h.acquire()
	if err != nil {
		return 0, err
	}
	defer h.release()
	return f.ReadAt(p, off)
}

// WriteAt implements io.WriterAt.
func (h *Handle) WriteAt(p []byte, off int64) (int, error) {
	f, err := h.acquire()
	if err != nil {
		return 0, err
	}
	defer h.release()
	n, err := f.WriteAt(p, off)
	h.wrote()
	return n, err
}

// Truncate sets the file's size.
func (h *Handle) Truncate(size int64) error {
	f, err := h.acquire()
	if err != nil {
		return err
	}
	defer h.release()
	err = f.Truncate(size)
	h.wrote()
	return err
}

// wrote counts a write (or truncation) once it has returned, never
// before: a Sync or Pin that loads the count takes every write it counts
// as in the page cache already, so its fsync makes them durable. Counting
// before the write would let a concurrent flush mark a write that has not
// landed yet as synced, and the writer's own flush would then skip the
// file. The count rises even when the write failed: a partial write may
// have reached the page cache. Callers count while they still hold their
// pin, so an eviction (which needs no pins) never sees a write uncounted.
func (h *Handle) wrote() { h.writes.Add(1) }

// Sync makes written data durable. A descriptor that was closed since the
// last write was synced before it closed, so an evicted handle syncs only
// if it was reopened and written to.
func (h *Handle) Sync() error {
	if err := h.stickyErr(); err != nil {
		return err
	}
	w := h.writes.Load()
	if w == h.synced.Load() {
		return nil
	}
	f, err := h.acquire()
	if err != nil {
		return err
	}
	defer h.release()
	if err := f.Sync(); err != nil {
		return err
	}
	h.markSynced(w)
	return nil
}

// AssumeSynced records that the file's current content is durable, as
// the caller knows for a file a clean shutdown closed or one entirely
// below a log's recovery point: evicting it then costs no fdatasync.
// (Without it, a cache over its cap at start-up would fsync every file it
// closes: 92 s for 100,000 partitions.)
func (h *Handle) AssumeSynced() { h.markSynced(h.writes.Load()) }

// Unsynced reports whether the handle may hold writes that no successful
// sync covered (always true after a failed eviction sync). A file opened in
// this process counts as unsynced until its first sync: what it held
// before may be a crash's unsynced page cache.
func (h *Handle) Unsynced() bool {
	return h.writes.Load() != h.synced.Load() || h.stickyErr() != nil
}

func (h *Handle) stickyErr() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.err
}

// Size returns the file's size.
func (h *Handle) Size() (int64, error) {
	f, err := h.acquire()
	if err != nil {
		return 0, err
	}
	defer h.release()
	return f.Size()
}

// Name returns the file's current path.
func (h *Handle) Name() string {
	h.c.mu.Lock()
	defer h.c.mu.Unlock()
	return h.path
}

// Close closes the descriptor (whether or not pinned: the owner closes a
// file only once no one reads it, as without the cache) and forgets the
// handle.
func (h *Handle) Close() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil
	}
	h.closed = true
	var err error
	if h.file != nil {
		err = h.file.Close()
		h.file = nil
	}
	h.c.mu.Lock()
	h.c.unlistLocked(h, h.gen)
	if h.c.byPath[h.path] == h {
		delete(h.c.byPath, h.path)
	}
	h.c.mu.Unlock()
	return err
}
