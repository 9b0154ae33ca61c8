package vfs

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path"
	"sort"
	"strings"
	"sync"
	"time"
)

// MemFS is an in-memory FS that models what survives a power failure: a
// file's data is durable only up to its last Sync, and a directory entry
// (creation, rename, removal) only after SyncDir on its directory.
// CrashClone returns the file system a machine would see after a crash at
// this instant. Paths are cleaned with path.Clean; "/" is the root.
type MemFS struct {
	mu   sync.Mutex
	root *memNode
	// locked holds the files Lock holds. A crash releases every lock, so
	// CrashClone starts with none.
	locked map[*memNode]bool
}

type memNode struct {
	isDir bool
	// file state
	data   []byte
	synced []byte
	// directory state
	children       map[string]*memNode
	syncedChildren map[string]*memNode
	modTime        time.Time
}

func newDir() *memNode {
	return &memNode{isDir: true, children: map[string]*memNode{}, syncedChildren: map[string]*memNode{}}
}

// NewMemFS returns an empty MemFS.
func NewMemFS() *MemFS { return &MemFS{root: newDir()} }

func splitPath(name string) []string {
	name = path.Clean("/" + name)
	if name == "/" {
		return nil
	}
	return strings.Split(strings.TrimPrefix(name, "/"), "/")
}

// walk returns the node at parts, or nil.
func (m *MemFS) walk(parts []string) *memNode {
	n := m.root
	for _, p := range parts {
		if !n.isDir {
			return nil
		}
		n = n.children[p]
		if n == nil {
			return nil
		}
	}
	return n
}

func (m *MemFS) parent(name string) (*memNode, string, error) {
	parts := splitPath(name)
	if len(parts) == 0 {
		return nil, "", &fs.PathError{Op: "open", Path: name, Err: fs.ErrInvalid}
	}
	dir := m.walk(parts[:len(parts)-1])
	if dir == nil || !dir.isDir {
		return nil, "", &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	}
	return dir, parts[len(parts)-1], nil
}

func (m *MemFS) OpenFile(name string, flag int, perm os.FileMode) (File, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	dir, base, err := m.parent(name)
	if err != nil {
		return nil, err
	}
	n := dir.children[base]
	switch {
	case n == nil && flag&os.O_CREATE == 0:
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	case n == nil:
		n = &memNode{modTime: time.Now()}
		dir.children[base] = n
	case n.isDir:
		return nil, &fs.PathError{Op: "open", Path: name, Err: errors.New("is a directory")}
	case flag&os.O_EXCL != 0 && flag&os.O_CREATE != 0:
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrExist}
	}
	if flag&os.O_TRUNC != 0 {
		n.data = n.data[:0:0]
	}
	return &memFile{fs: m, node: n, name: name, readOnly: flag&(os.O_WRONLY|os.O_RDWR) == 0}, nil
}

// Lock locks the file (not its name), like flock: within one MemFS a
// second Lock of the file fails with ErrLocked until the first is closed.
func (m *MemFS) Lock(name string) (File, error) {
	f, err := m.OpenFile(name, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	mf := f.(*memFile)
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.locked[mf.node] {
		mf.closed = true
		return nil, &fs.PathError{Op: "lock", Path: name, Err: ErrLocked}
	}
	if m.locked == nil {
		m.locked = map[*memNode]bool{}
	}
	m.locked[mf.node] = true
	mf.holdsLock = true
	return mf, nil
}

func (m *MemFS) Remove(name string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	dir, base, err := m.parent(name)
	if err != nil {
		return err
	}
	n := dir.children[base]
	if n == nil {
		return &fs.PathError{Op: "remove", Path: name, Err: fs.ErrNotExist}
	}
	if n.isDir && len(n.children) > 0 {
		return &fs.PathError{Op: "remove", Path: name, Err: errors.New("directory not empty")}
	}
	delete(dir.children, base)
	return nil
}

func (m *MemFS) RemoveAll(name string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	dir, base, err := m.parent(name)
	if err != nil {
		return nil
	}
	delete(dir.children, base)
	return nil
}

func (m *MemFS) Rename(oldname, newname string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	odir, obase, err := m.parent(oldname)
	if err != nil {
		return err
	}
	n := odir.children[obase]
	if n == nil {
		return &os.LinkError{Op: "rename", Old: oldname, New: newname, Err: fs.ErrNotExist}
	}
	ndir, nbase, err := m.parent(newname)
	if err != nil {
		return err
	}
	delete(odir.children, obase)
	ndir.children[nbase] = n
	return nil
}

func (m *MemFS) MkdirAll(dir string, perm os.FileMode) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := m.root
	for _, p := range splitPath(dir) {
		c := n.children[p]
		if c == nil {
			c = newDir()
			n.children[p] = c
		} else if !c.isDir {
			return &fs.PathError{Op: "mkdir", Path: dir, Err: errors.New("not a directory")}
		}
		n = c
	}
	return nil
}

func (m *MemFS) ReadDir(dir string) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := m.walk(splitPath(dir))
	if n == nil || !n.isDir {
		return nil, &fs.PathError{Op: "readdir", Path: dir, Err: fs.ErrNotExist}
	}
	names := make([]string, 0, len(n.children))
	for name := range n.children {
		names = append(names, name)
	}
	sort.Strings(names)
	return names, nil
}

func (m *MemFS) Stat(name string) (os.FileInfo, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := m.walk(splitPath(name))
	if n == nil {
		return nil, &fs.PathError{Op: "stat", Path: name, Err: fs.ErrNotExist}
	}
	return memInfo{name: path.Base(name), size: int64(len(n.data)), dir: n.isDir, mod: n.modTime}, nil
}

// SyncDir makes dir's current entries durable. Like a real file system
// that has created a directory, the directories on the path to dir are
// made durable too.
func (m *MemFS) SyncDir(dir string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := m.root
	for _, p := range splitPath(dir) {
		c := n.children[p]
		if c == nil || !c.isDir {
			return &fs.PathError{Op: "sync", Path: dir, Err: fs.ErrNotExist}
		}
		n.syncedChildren[p] = c
		n = c
	}
	n.syncedChildren = make(map[string]*memNode, len(n.children))
	for k, v := range n.children {
		n.syncedChildren[k] = v
	}
	return nil
}

// CrashClone returns a new MemFS holding only what was durable: synced
// directory entries and synced file data.
func (m *MemFS) CrashClone() *MemFS {
	m.mu.Lock()
	defer m.mu.Unlock()
	seen := map[*memNode]*memNode{}
	var clone func(n *memNode) *memNode
	clone = func(n *memNode) *memNode {
		if c, ok := seen[n]; ok {
			return c
		}
		if !n.isDir {
			c := &memNode{data: append([]byte(nil), n.synced...), modTime: n.modTime}
			c.synced = append([]byte(nil), n.synced...)
			seen[n] = c
			return c
		}
		c := newDir()
		seen[n] = c
		for k, v := range n.syncedChildren {
			cc := clone(v)
			c.children[k] = cc
			c.syncedChildren[k] = cc
		}
		return c
	}
	return &MemFS{root: clone(m.root)}
}

type memInfo struct {
	name string
	size int64
	dir  bool
	mod  time.Time
}

func (i memInfo) Name() string { return i.name }
func (i memInfo) Size() int64  { return i.size }
func (i memInfo) Mode() os.FileMode {
	if i.dir {
		return os.ModeDir | 0o755
	}
	return 0o644
}
func (i memInfo) ModTime() time.Time { return i.mod }
func (i memInfo) IsDir() bool        { return i.dir }
func (i memInfo) Sys() any           { return nil }

type memFile struct {
	fs       *MemFS
	node     *memNode
	name     string
	readOnly bool
	closed   bool
	// holdsLock is set on a File that Lock returned; Close releases it.
	holdsLock bool
}

var errClosed = errors.New("vfs: file closed")

func (f *memFile) ReadAt(p []byte, off int64) (int, error) {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if f.closed {
		return 0, errClosed
	}
	if off < 0 {
		return 0, fs.ErrInvalid
	}
	if off >= int64(len(f.node.data)) {
		return 0, io.EOF
	}
	n := copy(p, f.node.data[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

func (f *memFile) WriteAt(p []byte, off int64) (int, error) {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if f.closed {
		return 0, errClosed
	}
	if f.readOnly {
		return 0, &fs.PathError{Op: "write", Path: f.name, Err: fs.ErrPermission}
	}
	end := off + int64(len(p))
	if end > int64(len(f.node.data)) {
		if end > int64(cap(f.node.data)) {
			grown := make([]byte, end, end*5/4+4096)
			copy(grown, f.node.data)
			f.node.data = grown
		} else {
			f.node.data = f.node.data[:end]
		}
	}
	copy(f.node.data[off:], p)
	f.node.modTime = time.Now()
	return len(p), nil
}

func (f *memFile) Truncate(size int64) error {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if f.closed {
		return errClosed
	}
	if size <= int64(len(f.node.data)) {
		f.node.data = f.node.data[:size]
		return nil
	}
	grown := make([]byte, size)
	copy(grown, f.node.data)
	f.node.data = grown
	return nil
}

func (f *memFile) Sync() error {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if f.closed {
		return errClosed
	}
	f.node.synced = append(f.node.synced[:0:0], f.node.data...)
	return nil
}

func (f *memFile) Size() (int64, error) {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	return int64(len(f.node.data)), nil
}

func (f *memFile) Name() string { return f.name }

func (f *memFile) Close() error {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if f.closed {
		return errClosed
	}
	f.closed = true
	if f.holdsLock {
		delete(f.fs.locked, f.node)
	}
	return nil
}
