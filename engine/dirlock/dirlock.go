// Package dirlock keeps a data directory to one owner at a time, as Kafka's
// log-directory ".lock" does.
//
// Two processes serving one data directory destroy it: both write the same
// segments, one truncates index files that the other has mapped (SIGBUS on
// the next append), and the one that shuts down first writes the
// clean-shutdown marker under the other, so the next start skips recovery.
// Acquire takes an exclusive, non-blocking lock on <dir>/.lock before
// anything else in the directory is opened; a second Acquire, from another
// process or from this one, fails at once with an *InUseError naming the
// directory and the holder's pid.
//
//	<dir>/.lock   "<pid>\n" of the holder; the lock is flock(LOCK_EX|LOCK_NB)
//
// The lock is on the file (vfs.FS.Lock): it lasts until Close or until the
// process exits, crash included, so a stale .lock never blocks a restart.
// The file is never removed: removing it would let a new Acquire lock a new
// file while an old holder still holds the unlinked one. The pid is written
// after the lock is taken and only informs the message; a loser that reads
// in between sees the previous holder's pid or none.
//
// Concurrency: a Lock is safe for concurrent use.
package dirlock

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"github.com/rillmq/rill/engine/vfs"
)

// FileName is the lock file's name in the directory.
const FileName = ".lock"

// ErrInUse matches an *InUseError: another owner holds the directory.
var ErrInUse = errors.New("dirlock: directory in use")

// ErrReleased is returned by Check after Close.
var ErrReleased = errors.New("dirlock: lock released")

// InUseError is Acquire's error when the directory is locked.
type InUseError struct {
	Dir  string // the directory
	Path string // its lock file
	PID  int    // the holder's pid as its lock file says; 0 when unknown
}

func (e *InUseError) Error() string {
	holder := "another rill process"
	if e.PID == os.Getpid() {
		holder = "this process (opened twice)"
	}
	pid := "pid unknown"
	if e.PID > 0 {
		pid = fmt.Sprintf("pid %d", e.PID)
	}
	return fmt.Sprintf("data directory %s is in use by %s (%s; lock file %s)", e.Dir, holder, pid, e.Path)
}

// Is makes errors.Is(err, ErrInUse) true.
func (e *InUseError) Is(target error) bool { return target == ErrInUse }

// Lock is a held directory lock.
type Lock struct {
	dir, path string

	mu struct {
		sync.Mutex
		file vfs.File // nil once released
	}
}

// Acquire creates dir if needed and locks it for this process. It fails
// with an *InUseError (errors.Is ErrInUse) when another owner holds it.
func Acquire(fs vfs.FS, dir string) (*Lock, error) {
	dir = filepath.Clean(dir)
	if err := fs.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	path := filepath.Join(dir, FileName)
	f, err := fs.Lock(path)
	if errors.Is(err, vfs.ErrLocked) {
		return nil, &InUseError{Dir: dir, Path: path, PID: readPID(fs, path)}
	}
	if err != nil {
		return nil, fmt.Errorf("dirlock: locking %s: %w", path, err)
	}
	// Best effort: the pid only makes a loser's message useful, and a
	// broker must not refuse to start because a full disk took 8 bytes.
	if f.Truncate(0) == nil {
		f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	l := &Lock{dir: dir, path: path}
	l.mu.file = f
	return l, nil
}

func readPID(fs vfs.FS, path string) int {
	b, err := vfs.ReadFile(fs, path)
	if err != nil {
		return 0
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return 0
	}
	return pid
}

// Dir is the locked directory (cleaned).
func (l *Lock) Dir() string { return l.dir }

// Path is the lock file.
func (l *Lock) Path() string { return l.path }

// Check returns nil while the lock is held and ErrReleased after Close.
// Whoever writes a file that vouches for the whole directory (the engine's
// clean-shutdown marker) checks it first.
func (l *Lock) Check() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.mu.file == nil {
		return fmt.Errorf("%w: %s", ErrReleased, l.path)
	}
	return nil
}

// Close releases the lock. Later calls do nothing.
func (l *Lock) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.mu.file == nil {
		return nil
	}
	err := l.mu.file.Close()
	l.mu.file = nil
	return err
}
