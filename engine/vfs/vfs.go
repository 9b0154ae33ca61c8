// Package vfs is the file-system seam of the storage engine. Every disk
// operation the engine performs goes through an FS, so tests can swap the
// operating system for a crash-simulating in-memory file system (MemFS) or
// an error injector (package errorfs).
//
// Contract:
//   - File.WriteAt/ReadAt follow io.WriterAt/io.ReaderAt.
//   - File.Sync makes the file's data durable (fdatasync on the OS FS). It
//     does not make the file's directory entry durable: after creating,
//     renaming or removing a file, call FS.SyncDir on its parent.
//   - FS.Lock takes an exclusive, non-blocking lock on a file (flock on the
//     OS FS). It guards a directory against a second process, and against a
//     second Lock of the same file in this one (package engine/dirlock).
//   - Capabilities beyond that (raw fd for io_uring, sendfile or mmap) are
//     optional: a File that can offer them implements FdFile. Callers must
//     keep a portable path for Files that do not.
//
// Concurrency: an FS is safe for concurrent use. A File supports
// concurrent ReadAt/WriteAt on disjoint ranges, like a pwrite/pread fd.
package vfs

import (
	"errors"
	"io"
	"os"
)

// ErrLocked is returned (inside an *os.PathError) by FS.Lock when another
// holder has the lock.
var ErrLocked = errors.New("vfs: file is locked")

// File is an open file.
type File interface {
	io.ReaderAt
	io.WriterAt
	io.Closer
	// Sync makes written data durable.
	Sync() error
	// Truncate sets the file's size.
	Truncate(size int64) error
	// Size returns the current size of the file.
	Size() (int64, error)
	// Name returns the path the file was opened with.
	Name() string
}

// FdFile is a File backed by an operating-system descriptor. The fd is only
// valid while the File is open; callers must keep the File reachable for as
// long as they use the fd.
type FdFile interface {
	File
	Fd() uintptr
}

// FS is a file system.
type FS interface {
	// OpenFile opens name with os.O_* flags; perm applies to creation.
	OpenFile(name string, flag int, perm os.FileMode) (File, error)
	Remove(name string) error
	// RemoveAll removes a directory tree; a missing path is not an error.
	RemoveAll(name string) error
	Rename(oldname, newname string) error
	MkdirAll(dir string, perm os.FileMode) error
	// ReadDir lists the names in dir, sorted.
	ReadDir(dir string) ([]string, error)
	Stat(name string) (os.FileInfo, error)
	// SyncDir makes the directory's entries (creations, renames, removals)
	// durable.
	SyncDir(dir string) error
	// Lock creates name if it is missing, opens it read-write and takes an
	// exclusive lock on it without waiting: when anyone else holds the
	// lock (another process, or another Lock of the same file in this
	// process) it fails at once with an error matching ErrLocked. The lock
	// is held until the returned File is closed, and goes with the
	// process: a crash releases it. It locks the file, not its name; do
	// not remove or rename a lock file.
	Lock(name string) (File, error)
}

// Open opens a file read-only.
func Open(fs FS, name string) (File, error) { return fs.OpenFile(name, os.O_RDONLY, 0) }

// Create creates or truncates a file for read and write.
func Create(fs FS, name string) (File, error) {
	return fs.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
}

// Exists reports whether name exists.
func Exists(fs FS, name string) bool {
	_, err := fs.Stat(name)
	return err == nil
}

// ReadFile reads a whole file.
func ReadFile(fs FS, name string) ([]byte, error) {
	f, err := Open(fs, name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	size, err := f.Size()
	if err != nil {
		return nil, err
	}
	buf := make([]byte, size)
	n, err := f.ReadAt(buf, 0)
	if err != nil && err != io.EOF {
		return nil, err
	}
	return buf[:n], nil
}

// WriteFileAtomic replaces name with data durably: it writes a temporary
// file, syncs it, renames it over name and syncs the directory. After a
// crash, name holds either the old or the new content, never a mix.
func WriteFileAtomic(fs FS, dir, name string, data []byte) error {
	tmp := name + ".tmp"
	f, err := Create(fs, tmp)
	if err != nil {
		return err
	}
	if _, err := f.WriteAt(data, 0); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := fs.Rename(tmp, name); err != nil {
		return err
	}
	return fs.SyncDir(dir)
}
