package fdcache

import (
	"runtime"
	"sync/atomic"

	"github.com/rillmq/rill/engine/vfs"
)

// Pinned is a Handle's descriptor held open: the cache does not close it
// until Release, or until the Pinned is unreachable when its holder never
// calls Release (vfs.FdFile's rule: keep the File reachable while using
// its fd). When the underlying file has a descriptor, Pin returns a
// *PinnedFd, which is a vfs.FdFile.
type Pinned struct {
	h    *Handle
	file vfs.File
	pin  *pin
	// writes is the handle's write count when the pin was taken.
	writes uint64
}

// PinnedFd is a Pinned that offers its descriptor.
type PinnedFd struct{ Pinned }

// Fd returns the pinned descriptor.
func (p *PinnedFd) Fd() uintptr { return p.file.(vfs.FdFile).Fd() }

var (
	_ vfs.File   = (*Pinned)(nil)
	_ vfs.FdFile = (*PinnedFd)(nil)
)

// pin is released once, explicitly or by the Pinned's cleanup.
type pin struct {
	h        *Handle
	released atomic.Bool
}

func (p *pin) release() {
	if p.released.CompareAndSwap(false, true) {
		p.h.release()
	}
}

// Pin opens the descriptor if needed and holds it open; see Pinned. It
// fails with the sticky error of a failed eviction sync, so that no caller
// syncs through the descriptor that already reported (and so consumed)
// that error.
func (h *Handle) Pin() (vfs.File, error) {
	if err := h.stickyErr(); err != nil {
		return nil, err
	}
	w := h.writes.Load()
	f, err := h.acquire()
	if err != nil {
		return nil, err
	}
	pn := &pin{h: h}
	if _, ok := f.(vfs.FdFile); ok {
		p := &PinnedFd{Pinned{h: h, file: f, pin: pn, writes: w}}
		runtime.AddCleanup(p, (*pin).release, pn)
		return p, nil
	}
	p := &Pinned{h: h, file: f, pin: pn, writes: w}
	runtime.AddCleanup(p, (*pin).release, pn)
	return p, nil
}

// MarkSynced records that the caller synced the descriptor successfully
// (the group committer fsyncs by descriptor, not through Sync): every write
// made before the pin was taken is durable.
func (p *Pinned) MarkSynced() { p.h.markSynced(p.writes) }

// Release unpins the descriptor; the Pinned must not be used afterwards.
func (p *Pinned) Release() { p.pin.release() }

// ReadAt implements io.ReaderAt.
func (p *Pinned) ReadAt(b []byte, off int64) (int, error) { return p.file.ReadAt(b, off) }

// WriteAt implements io.WriterAt.
func (p *Pinned) WriteAt(b []byte, off int64) (int, error) {
	n, err := p.file.WriteAt(b, off)
	p.h.wrote() // after the write: see Handle.wrote
	return n, err
}

// Truncate sets the file's size.
func (p *Pinned) Truncate(size int64) error {
	err := p.file.Truncate(size)
	p.h.wrote() // after the truncation: see Handle.wrote
	return err
}

// Sync syncs through the handle, which reports a sticky eviction error.
func (p *Pinned) Sync() error { return p.h.Sync() }

// Size returns the file's size.
func (p *Pinned) Size() (int64, error) { return p.file.Size() }

// Name returns the file's current path.
func (p *Pinned) Name() string { return p.h.Name() }

// Close releases the pin; the descriptor belongs to the handle.
func (p *Pinned) Close() error {
	p.Release()
	return nil
}
