package index

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

	"golang.org/x/sys/unix"

	"github.com/rillmq/rill/engine/vfs"
)

// region is the byte storage behind an index file: a shared mmap of the
// file when the FS offers a descriptor, otherwise a heap buffer that Flush
// writes back. Callers hold the owning index's lock.
//
// A mapping does not need its descriptor (msync and munmap work on the
// mapping), so a region that can reopen its file by path closes it right
// after mmap: an index then costs no descriptor, only when it is trimmed.
type region struct {
	// file is the open file; nil for a mapping whose descriptor was
	// closed (reopen then names it).
	file   vfs.File
	reopen *opener
	name   string
	// buf is the mapping (len == mapped size) or the heap buffer.
	buf    []byte
	mapped bool
	// limit is the heap buffer's maximum size; it grows on demand so an
	// index that holds a few entries costs a few bytes.
	limit int
	// synced is how many bytes the heap buffer has written back.
	synced int
	// dirty: the mapping was written since it was mapped or last synced.
	dirty bool
	// id is the mapped file's identity, checked when an evicted index
	// maps its file again.
	id fileID
}

// fileID identifies a file (its device and inode), whatever its name.
type fileID struct{ dev, ino uint64 }

// mmapAllowed can be turned off (tests exercise the heap path on the OS FS).
var mmapAllowed = true

// openRegion maps file with room for maxBytes; used is the number of bytes
// already holding data. With reopen, a mapped file's descriptor is closed
// once mapped; the region owns file either way.
func openRegion(file vfs.File, reopen *opener, maxBytes int) (*region, int, error) {
	size, err := file.Size()
	if err != nil {
		return nil, 0, err
	}
	used := int(size)
	if used > maxBytes {
		maxBytes = used
	}
	r := &region{file: file, reopen: reopen, name: file.Name()}
	if fdf, ok := file.(vfs.FdFile); ok && mmapAllowed && maxBytes > 0 {
		if int64(maxBytes) != size {
			// Preallocate: a sparse extension costs no blocks.
			if err := file.Truncate(int64(maxBytes)); err != nil {
				return nil, 0, err
			}
		}
		buf, err := unix.Mmap(int(fdf.Fd()), 0, maxBytes, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
		if err != nil {
			return nil, 0, fmt.Errorf("index: mmap %s: %w", file.Name(), err)
		}
		// Index reads are binary searches and writes land at the end:
		// no read-ahead. Without this the first write into a fresh,
		// sparse 10 MiB mapping faults in the file around it (2.5-3.7
		// ms on this VM's ext4, 8 µs with MADV_RANDOM), which was most
		// of a partition's first append.
		if err := unix.Madvise(buf, unix.MADV_RANDOM); err != nil {
			unix.Munmap(buf)
			return nil, 0, fmt.Errorf("index: madvise %s: %w", file.Name(), err)
		}
		r.buf, r.mapped = buf, true
		var st unix.Stat_t
		if err := unix.Fstat(int(fdf.Fd()), &st); err == nil {
			r.id = fileID{dev: uint64(st.Dev), ino: st.Ino}
		}
		if reopen != nil {
			r.file = nil
			if err := file.Close(); err != nil {
				unix.Munmap(buf)
				return nil, 0, err
			}
		}
		return r, used, nil
	}
	r.buf, r.limit = make([]byte, used), maxBytes
	if used > 0 {
		if _, err := file.ReadAt(r.buf, 0); err != nil && err != io.EOF {
			return nil, 0, err
		}
	}
	r.synced = used
	return r, used, nil
}

// capacity is the most bytes the region can hold.
func (r *region) capacity() int {
	if r.mapped {
		return len(r.buf)
	}
	return r.limit
}

// write stores b at off; off+len(b) must be within capacity.
func (r *region) write(off int, b []byte) {
	if !r.mapped && off+len(b) > len(r.buf) {
		r.buf = append(r.buf[:off], b...)
		return
	}
	copy(r.buf[off:], b)
	r.dirty = true
}

// bytes returns the first n bytes.
func (r *region) bytes(n int) []byte { return r.buf[:n] }

// truncateTo drops bytes past n (heap: also from the write-back state). A
// mapping zeroes the dropped bytes up to old, so that a later open's scan for
// the valid prefix cannot bring dropped entries back.
func (r *region) truncateTo(n, old int) {
	if r.mapped {
		if n < old {
			clear(r.buf[n:old])
			r.dirty = true
		}
	} else {
		r.buf = r.buf[:n]
		if r.synced > n {
			r.synced = n
		}
	}
}

// flush makes the first used bytes durable.
func (r *region) flush(used int) error {
	if r.mapped {
		if err := unix.Msync(r.buf, unix.MS_SYNC); err != nil {
			return fmt.Errorf("index: msync %s: %w", r.name, err)
		}
		r.dirty = false
		return nil
	}
	if _, err := r.file.WriteAt(r.buf[:used], 0); err != nil {
		return err
	}
	if sz, err := r.file.Size(); err == nil && sz > int64(used) {
		if err := r.file.Truncate(int64(used)); err != nil {
			return err
		}
	}
	r.synced = used
	return r.file.Sync()
}

// unmap drops a mapping whose descriptor is closed (an eviction). Its
// written pages stay dirty in the page cache: the owner syncs the file
// later if dirty says so.
func (r *region) unmap() (dirty bool, err error) {
	if err := unix.Munmap(r.buf); err != nil {
		return false, fmt.Errorf("index: munmap %s: %w", r.name, err)
	}
	dirty = r.dirty
	r.buf, r.mapped, r.dirty = nil, false, false
	return dirty, nil
}

// close unmaps the region and closes its file; with trim it first shrinks
// the file to the used bytes (the preallocated tail goes). A mapping whose
// descriptor was closed reopens the file to trim it; a file renamed away
// meanwhile (a segment marked for deletion) is left as it is.
func (r *region) close(used int, trim bool) error {
	var firstErr error
	if r.mapped {
		if err := unix.Munmap(r.buf); err != nil {
			firstErr = err
		}
		r.buf, r.mapped = nil, false
	} else if trim && used != r.synced {
		if _, err := r.file.WriteAt(r.buf[:used], 0); err != nil {
			firstErr = err
		}
	}
	if trim && r.file == nil {
		f, err := r.reopen.open(os.O_RDWR)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			trim = false
		case err != nil:
			return errors.Join(firstErr, err)
		default:
			r.file = f
		}
	}
	if trim {
		if err := r.file.Truncate(int64(used)); err != nil && firstErr == nil {
			firstErr = err
		}
	}
	if r.file != nil {
		if err := r.file.Close(); err != nil && firstErr == nil {
			firstErr = err
		}
	}
	return firstErr
}
