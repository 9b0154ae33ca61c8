// Package errorfs wraps a vfs.FS and injects errors chosen by a predicate,
// so tests can show that an I/O error or a full disk fails an operation
// cleanly instead of corrupting the log.
package errorfs

import (
	"errors"
	"os"
	"strings"
	"sync/atomic"

	"github.com/rillmq/rill/engine/vfs"
)

// ErrInjected is the error returned by injected failures.
var ErrInjected = errors.New("errorfs: injected error")

// Op names the operation being attempted.
type Op string

// Operations an Injector can fail.
const (
	OpOpen     Op = "open"
	OpWrite    Op = "write"
	OpRead     Op = "read"
	OpSync     Op = "sync"
	OpTruncate Op = "truncate"
	OpRename   Op = "rename"
	OpRemove   Op = "remove"
	OpSyncDir  Op = "syncdir"
	OpLock     Op = "lock"
)

// Injector decides whether an operation on a path fails.
type Injector func(op Op, path string) error

// OnOp fails every op of kind op on paths with the given suffix while
// *enabled is true.
func OnOp(op Op, suffix string, enabled *atomic.Bool) Injector {
	return func(o Op, path string) error {
		if o == op && strings.HasSuffix(path, suffix) && enabled.Load() {
			return ErrInjected
		}
		return nil
	}
}

// FS wraps an inner vfs.FS.
type FS struct {
	Inner  vfs.FS
	Inject Injector
	// ShortWrites, when true, makes a failed write apply half of its bytes
	// first, as a disk that fills up mid-write does.
	ShortWrites bool
}

func (e *FS) check(op Op, path string) error {
	if e.Inject == nil {
		return nil
	}
	return e.Inject(op, path)
}

func (e *FS) OpenFile(name string, flag int, perm os.FileMode) (vfs.File, error) {
	if err := e.check(OpOpen, name); err != nil {
		return nil, err
	}
	f, err := e.Inner.OpenFile(name, flag, perm)
	if err != nil {
		return nil, err
	}
	return &file{File: f, fs: e}, nil
}

func (e *FS) Remove(name string) error {
	if err := e.check(OpRemove, name); err != nil {
		return err
	}
	return e.Inner.Remove(name)
}
func (e *FS) RemoveAll(name string) error { return e.Inner.RemoveAll(name) }
func (e *FS) Rename(o, n string) error {
	if err := e.check(OpRename, n); err != nil {
		return err
	}
	return e.Inner.Rename(o, n)
}
func (e *FS) MkdirAll(dir string, perm os.FileMode) error { return e.Inner.MkdirAll(dir, perm) }
func (e *FS) ReadDir(dir string) ([]string, error)        { return e.Inner.ReadDir(dir) }
func (e *FS) Stat(name string) (os.FileInfo, error)       { return e.Inner.Stat(name) }
func (e *FS) SyncDir(dir string) error {
	if err := e.check(OpSyncDir, dir); err != nil {
		return err
	}
	return e.Inner.SyncDir(dir)
}

func (e *FS) Lock(name string) (vfs.File, error) {
	if err := e.check(OpLock, name); err != nil {
		return nil, err
	}
	f, err := e.Inner.Lock(name)
	if err != nil {
		return nil, err
	}
	return &file{File: f, fs: e}, nil
}

type file struct {
	vfs.File
	fs *FS
}

func (f *file) WriteAt(p []byte, off int64) (int, error) {
	if err := f.fs.check(OpWrite, f.Name()); err != nil {
		if f.fs.ShortWrites && len(p) > 1 {
			n, _ := f.File.WriteAt(p[:len(p)/2], off)
			return n, err
		}
		return 0, err
	}
	return f.File.WriteAt(p, off)
}

func (f *file) ReadAt(p []byte, off int64) (int, error) {
	if err := f.fs.check(OpRead, f.Name()); err != nil {
		return 0, err
	}
	return f.File.ReadAt(p, off)
}

func (f *file) Sync() error {
	if err := f.fs.check(OpSync, f.Name()); err != nil {
		return err
	}
	return f.File.Sync()
}

func (f *file) Truncate(size int64) error {
	if err := f.fs.check(OpTruncate, f.Name()); err != nil {
		return err
	}
	return f.File.Truncate(size)
}
